//! The bare HTTP server that sets the ceiling: axum on tokio's default multi-thread runtime, doing
//! nothing but parse the JSON request body and answer a fixed 64-byte JSON body.
//!
//! This is the server of dependencies.md §3, run as its own process (`kinko-bench baseline-server`) so
//! it shares the machine with the client exactly as Kinko does. It checks no signature: the ceiling
//! is what HTTP and JSON parsing alone cost, and everything Kinko does on top is what the ratio shows.

use std::net::SocketAddr;

use anyhow::{Context as _, Result};
use axum::Router;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse as _, Response};
use axum::routing::post;
use axum::serve::ListenerExt as _;
use bytes::Bytes;

use crate::client::AMZ_JSON;

/// The answer to every request: 64 bytes of JSON.
pub(crate) const ANSWER: &[u8] =
    br#"{"KeyId":"alias/bench-key-01","Plaintext":"aGVsbG8gd29ybGQhIQ="}"#;

const _: () = assert!(ANSWER.len() == 64);

/// Serves `POST /` on `listen` until the process is killed.
pub(crate) async fn serve(listen: SocketAddr) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?
        // Best case for the ceiling: replies are never held back by Nagle's algorithm.
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    axum::serve(listener, app())
        .await
        .context("the baseline server failed")
}

fn app() -> Router {
    Router::new().route("/", post(answer))
}

async fn answer(body: Bytes) -> Response {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(_) => ([(CONTENT_TYPE, AMZ_JSON)], ANSWER).into_response(),
        Err(_) => (
            StatusCode::BAD_REQUEST,
            [(CONTENT_TYPE, AMZ_JSON)],
            r#"{"__type":"SerializationException"}"#,
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_is_json() -> Result<()> {
        let v: serde_json::Value = serde_json::from_slice(ANSWER)?;
        assert!(v.is_object());
        Ok(())
    }
}
