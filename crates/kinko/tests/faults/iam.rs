//! IAM Query requests for the fault campaign, signed with `kinko-sigv4` and sent over a plain
//! socket: the tree has no IAM SDK, and the campaign needs only CreateUser and GetUser.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Access key id and secret.
pub type Credentials = (String, String);

/// Sends the IAM action `form` (`Action=...&...`) to `addr`; the response body on HTTP 200,
/// else the status and body.
pub async fn call(addr: SocketAddr, creds: &Credentials, form: &str) -> Result<String, String> {
    let body = format!("{form}&Version=2010-05-08");
    let host = addr.to_string();
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    #[allow(
        clippy::disallowed_methods,
        reason = "a signature needs the wall clock"
    )]
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let signed = kinko_sigv4::sign(
        "POST",
        "/",
        "",
        &[("host", &host), ("content-type", content_type)],
        body.as_bytes(),
        &kinko_sigv4::SignParams {
            access_key_id: &creds.0,
            secret_access_key: &creds.1,
            session_token: None,
            region: "us-east-1",
            service: "iam",
            now_epoch_secs: i64::try_from(now).map_err(|e| e.to_string())?,
        },
    );
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in signed {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split(' ').nth(1).unwrap_or_default();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    if status == "200" {
        Ok(body)
    } else {
        Err(format!("HTTP {status}: {body}"))
    }
}

/// The `<RequestId>` of a Query response body.
pub fn request_id(body: &str) -> Option<String> {
    let start = body.find("<RequestId>")? + "<RequestId>".len();
    let len = body[start..].find("</RequestId>")?;
    Some(body[start..start + len].to_owned())
}
