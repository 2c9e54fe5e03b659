//! Runs a secret's rotation function: POSTs Lambda's rotation event
//! `{"SecretId", "ClientRequestToken", "Step"}` for createSecret, setSecret, testSecret and
//! finishSecret in turn to the function's URL (plain `http://`, from `--rotation-function`),
//! stopping at the first step that does not answer 2xx in time. The function does the work
//! through Secrets Manager's API with its own credentials; nothing here sees a secret value.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// How long one step may take: four of them stay under the SDKs' 60-second read timeout, as
/// RotateSecret waits for the function.
pub(crate) const STEP_TIMEOUT: Duration = Duration::from_secs(12);

/// The steps, in order.
pub(crate) const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

/// Runs the four steps for `secret_arn` with `token` against `url`; `Err` names the step that
/// failed and how (never the function's answer body, which could carry a secret).
pub(crate) async fn run_steps(url: &str, secret_arn: &str, token: &str) -> Result<(), String> {
    for step in STEPS {
        let event = serde_json::json!({
            "SecretId": secret_arn,
            "ClientRequestToken": token,
            "Step": step,
        });
        match tokio::time::timeout(STEP_TIMEOUT, post(url, event.to_string())).await {
            Ok(Ok(status)) if (200..300).contains(&status) => {}
            Ok(Ok(status)) => {
                return Err(format!(
                    "The rotation function failed at step {step}: HTTP status {status}."
                ));
            }
            Ok(Err(why)) => {
                return Err(format!(
                    "The rotation function failed at step {step}: {why}."
                ));
            }
            Err(_) => {
                return Err(format!(
                    "The rotation function timed out at step {step} after {} seconds.",
                    STEP_TIMEOUT.as_secs()
                ));
            }
        }
    }
    Ok(())
}

/// POSTs `body` to `url`; the response's status.
async fn post(url: &str, body: String) -> Result<u16, String> {
    let uri: hyper::Uri = url.parse().map_err(|_| "its URL is malformed".to_owned())?;
    if uri.scheme_str() != Some("http") {
        return Err("its URL is not http://".to_owned());
    }
    let host = uri.host().ok_or("its URL has no host")?.to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("connecting failed ({})", e.kind()))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| "the HTTP handshake failed".to_owned())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let request = http::Request::post(path)
        .header(http::header::HOST, format!("{host}:{port}"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|_| "the request could not be built".to_owned())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|_| "the function closed the connection".to_owned())?;
    let status = response.status().as_u16();
    // Drain the body so the connection ends cleanly; its content is not used.
    let _ = response.into_body().collect().await;
    Ok(status)
}
