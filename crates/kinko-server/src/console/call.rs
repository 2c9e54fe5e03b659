//! A console action is the API call it stands for: served by the same handlers (through
//! [`crate::dispatch`]) as the signed-in principal, authorized and audited exactly like a SigV4
//! request, with `kinko-console/<version>` as the record's user agent.

use kinko_api::ErrorCode;
use serde_json::Value;

use super::session::Session;
use crate::audit::RequestInfo;
use crate::dispatch::{record, serve_authenticated};
use crate::errors::ApiError;
use crate::state::AppState;
use crate::util::new_uuid;

/// The user agent of every console action's audit record.
pub const USER_AGENT: &str = concat!("kinko-console/", env!("CARGO_PKG_VERSION"));

/// Where a console request came from.
#[derive(Debug, Clone)]
pub(crate) struct Conn {
    /// The peer's address.
    pub source_ip: String,
    /// What its TLS connection negotiated, if it came over TLS.
    pub tls: Option<crate::audit::TlsDetails>,
}

impl Conn {
    /// The start of an audit record for `operation` of `event_source`.
    pub(crate) fn info(
        &self,
        app: &AppState,
        event_source: &'static str,
        operation: &str,
        read_only: bool,
    ) -> RequestInfo {
        RequestInfo {
            request_id: new_uuid(),
            time: app.kms.clock().now(),
            source_ip: self.source_ip.clone(),
            secure_transport: self.tls.is_some(),
            tls_details: self.tls.clone(),
            user_agent: Some(USER_AGENT.to_owned()),
            event_source,
            operation: operation.to_owned(),
            read_only,
            region: app.default_region.clone(),
            access_key_id: None,
            caller: None,
            request_parameters: None,
            invoked_by: None,
        }
    }
}

/// An API error as the console shows it.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    /// The error code (`AccessDeniedException`, ...).
    pub code: String,
    /// AWS's message.
    pub message: String,
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        let message = if e.code.says_nothing() {
            String::new()
        } else {
            e.message
        };
        Refusal {
            code: e.code.as_str().to_owned(),
            message,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// Calls KMS operation `operation` with JSON `body` as the session's principal.
pub(crate) async fn kms(
    app: &AppState,
    session: &Session,
    conn: &Conn,
    operation: &str,
    body: Value,
) -> Result<Value, Refusal> {
    json_call(app, session, conn, "kms", operation, body).await
}

/// Calls CloudTrail operation `operation` with JSON `body` as the session's principal.
pub(crate) async fn cloudtrail(
    app: &AppState,
    session: &Session,
    conn: &Conn,
    operation: &str,
    body: Value,
) -> Result<Value, Refusal> {
    json_call(app, session, conn, "cloudtrail", operation, body).await
}

async fn json_call(
    app: &AppState,
    session: &Session,
    conn: &Conn,
    service: &str,
    operation: &str,
    body: Value,
) -> Result<Value, Refusal> {
    let descriptor = if service == "kms" {
        crate::kms::lookup(operation)
    } else {
        None
    };
    let source = if service == "kms" {
        "kms.amazonaws.com"
    } else {
        "cloudtrail.amazonaws.com"
    };
    let mut info = conn.info(
        app,
        source,
        operation,
        !descriptor.is_some_and(|d| d.mutates),
    );
    let body = serde_json::to_vec(&body).map_err(|_| internal())?;
    let served = serve_authenticated(
        app,
        session.caller.clone(),
        session.access_key_id.clone(),
        service,
        operation,
        descriptor,
        None,
        &body,
        &mut info,
    )
    .await;
    let out = record(app, served, &info).await?;
    let value: Value = serde_json::from_slice(&out).map_err(|_| internal())?;
    drop(kinko_crypto::SecretBytes::new(out));
    Ok(value)
}

/// Calls Secrets Manager operation `operation` with JSON `body` as the session's principal;
/// the answer's bytes are wiped once read. The request body is wiped after the call (it may
/// hold a value being stored).
pub(crate) async fn secretsmanager(
    app: &AppState,
    session: &Session,
    conn: &Conn,
    operation: &str,
    body: &Value,
) -> Result<Value, Refusal> {
    let out = secretsmanager_raw(app, session, conn, operation, body).await?;
    serde_json::from_slice(out.expose()).map_err(|_| internal())
}

/// [`secretsmanager`], answering the response's bytes as they came (GetSecretValue's value is in
/// them, so they stay in a [`kinko_crypto::SecretBytes`]).
pub(crate) async fn secretsmanager_raw(
    app: &AppState,
    session: &Session,
    conn: &Conn,
    operation: &str,
    body: &Value,
) -> Result<kinko_crypto::SecretBytes, Refusal> {
    let read_only = !crate::secretsmanager::lookup(operation).is_some_and(|d| d.mutates);
    let mut info = conn.info(
        app,
        crate::secretsmanager::EVENT_SOURCE,
        operation,
        read_only,
    );
    let body = kinko_crypto::SecretBytes::new(serde_json::to_vec(body).map_err(|_| internal())?);
    let served = serve_authenticated(
        app,
        session.caller.clone(),
        session.access_key_id.clone(),
        "secretsmanager",
        operation,
        None,
        None,
        body.expose(),
        &mut info,
    )
    .await;
    let out = record(app, served, &info).await?;
    Ok(kinko_crypto::SecretBytes::new(out))
}

/// Calls IAM action `action` with `params` as the session's principal; the answer is IAM's XML.
pub(crate) async fn iam(
    app: &AppState,
    session: &Session,
    conn: &Conn,
    action: &str,
    params: &[(&str, &str)],
) -> Result<String, Refusal> {
    let mut form = format!("Action={}&Version=2010-05-08", super::html::url(action));
    for (k, v) in params {
        form.push_str(&format!("&{}={}", super::html::url(k), super::html::url(v)));
    }
    let mut info = conn.info(
        app,
        "iam.amazonaws.com",
        action,
        !crate::query::mutates("iam", action),
    );
    let parsed = crate::query::Params::parse(form.as_bytes());
    let served = serve_authenticated(
        app,
        session.caller.clone(),
        session.access_key_id.clone(),
        "iam",
        "",
        None,
        Some(parsed),
        form.as_bytes(),
        &mut info,
    )
    .await;
    let out = record(app, served, &info).await?;
    String::from_utf8(out).map_err(|_| internal())
}

/// Records a read the console made through the core directly (the overview's counts, an
/// authorization explanation), in the same shape as the handler's record of that call.
pub(crate) async fn record_direct(
    app: &AppState,
    session: &Session,
    conn: &Conn,
    source: &'static str,
    operation: &str,
    error: Option<&ApiError>,
) {
    let mut info = conn.info(app, source, operation, true);
    info.caller = Some(session.caller.clone());
    info.access_key_id = Some(session.access_key_id.clone());
    info.region = session.caller.region.to_string();
    let draft = info.draft(&crate::audit::Recorded {
        key: None,
        source_key: None,
        response_elements: None,
        error,
    });
    if let Err(e) = app.audit.append(draft).await {
        tracing::warn!(error = %e.0, "console: audit record not written");
    }
}

fn internal() -> Refusal {
    Refusal {
        code: ErrorCode::KMSInternalException.as_str().to_owned(),
        message: String::new(),
    }
}
