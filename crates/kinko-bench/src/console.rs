//! The web console's pages, timed: sign in with the root's access key (a form POST), then GET a
//! console page with the session cookie and time the whole answer.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{CONTENT_TYPE, COOKIE, HOST, SET_COOKIE};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::client::{Credentials, Endpoint};

async fn send(
    endpoint: &Endpoint,
    request: Request<Full<Bytes>>,
) -> Result<hyper::Response<Bytes>> {
    let stream = TcpStream::connect(endpoint.addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let response = sender.send_request(request).await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(hyper::Response::from_parts(parts, body))
}

fn form_value(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Signs in to the console; returns the session cookie (`name=value`).
pub(crate) async fn sign_in(endpoint: &Endpoint, creds: &Credentials) -> Result<String> {
    let body = format!(
        "access_key_id={}&secret_access_key={}",
        form_value(&creds.access_key_id),
        form_value(&creds.secret_access_key)
    );
    let request = Request::builder()
        .method(Method::POST)
        .uri("/console/signin")
        .header(HOST, &endpoint.host)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body)))?;
    let response = send(endpoint, request).await?;
    if response.status() != StatusCode::SEE_OTHER {
        bail!("console sign-in answered {}", response.status());
    }
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("console sign-in set no cookie")?;
    Ok(cookie.to_owned())
}

/// GETs a console page; returns how long the whole answer took and its size.
pub(crate) async fn timed_page(
    endpoint: &Endpoint,
    cookie: &str,
    path: &str,
) -> Result<(Duration, usize)> {
    let request = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(HOST, &endpoint.host)
        .header(COOKIE, cookie)
        .body(Full::new(Bytes::new()))?;
    let started = Instant::now();
    let response = send(endpoint, request).await?;
    let took = started.elapsed();
    if response.status() != StatusCode::OK {
        bail!("GET {path} answered {}", response.status());
    }
    Ok((took, response.body().len()))
}
