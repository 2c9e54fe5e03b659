//! The console's server-side sessions, kept in the store (schema step 17, table
//! `console_sessions`) so that they survive a restart and every node of a shared store honours
//! them. The browser holds a random session id in an HttpOnly, SameSite=Strict cookie (Secure
//! under TLS); the store keeps only the id's SHA-256, the signed-in principal, its access key id,
//! the SHA-256 of the session's CSRF token and the session's expiries. The CSRF token is derived
//! from the id (SHA-256 under a label), so it needs no storing and only the cookie's holder can
//! know it. A session ends after [`IDLE_MS`] without a request, [`ABSOLUTE_MS`] after sign-in,
//! when a role session's credentials expire, or on sign-out (its row is deleted); ended rows are
//! removed when next presented and at each sign-in. Nothing here holds a secret access key.
//!
//! The outcome of the last change (the flash shown on the next page) stays in this node's memory:
//! with several nodes, a page served by another node just does not show it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kinko_core::{AccountId, Caller, ConsoleSessionRecord, Principal, Region, Store, UnixMillis};
use kinko_crypto::{constant_time_eq, hex, random_array, sha256};

/// A session ends after 15 minutes without a request.
pub const IDLE_MS: i64 = 15 * 60 * 1000;
/// A session ends 8 hours after sign-in, however active.
pub const ABSOLUTE_MS: i64 = 8 * 60 * 60 * 1000;
/// The idle expiry is written back at most this often (a request within it reads only).
const TOUCH_MS: i64 = 60 * 1000;
/// The most flash messages kept in memory; beyond it they are dropped.
const MAX_FLASHES: usize = 10_000;

/// What a signed-in browser stands for.
#[derive(Clone)]
pub(crate) struct Session {
    /// The principal, as SigV4 would have named it.
    pub caller: Caller,
    /// The access key id the principal signed in with (the audit's `accessKeyId`).
    pub access_key_id: String,
    /// The token every change must carry.
    pub csrf: String,
    /// When a role session's credentials expire.
    pub expires: Option<UnixMillis>,
    /// A message for the next page (outcome of the last change).
    pub flash: Option<Flash>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("principal", &self.caller.principal.arn())
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The outcome of a change, shown once.
#[derive(Debug, Clone)]
pub(crate) struct Flash {
    /// Whether it succeeded.
    pub ok: bool,
    /// What to say.
    pub text: String,
}

impl Session {
    /// Whether `token` is this session's CSRF token (constant time).
    pub(crate) fn csrf_ok(&self, token: Option<&str>) -> bool {
        token.is_some_and(|t| constant_time_eq(t.as_bytes(), self.csrf.as_bytes()))
    }
}

/// Whether the stored session has ended at `now`.
fn ended(r: &ConsoleSessionRecord, now: UnixMillis) -> bool {
    now.0 >= r.idle_expires_ms
        || now.0 >= r.absolute_expires_ms
        || r.credentials_expire_ms.is_some_and(|e| now.0 >= e)
}

/// The hex SHA-256 of a session id: the row's key.
fn id_hash(id: &str) -> String {
    hex::encode(&sha256(id.as_bytes()))
}

/// The CSRF token of session `id`.
fn csrf_of(id: &str) -> String {
    let mut input = b"kinko-console-csrf\0".to_vec();
    input.extend_from_slice(id.as_bytes());
    hex::encode(&sha256(&input))
}

/// The console's sessions: rows of the store, and this node's flash messages.
pub(crate) struct Sessions {
    store: Arc<dyn Store>,
    flashes: Mutex<HashMap<String, Flash>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sessions(store)")
    }
}

impl Sessions {
    /// Sessions kept in `store`.
    pub(crate) fn new(store: Arc<dyn Store>) -> Sessions {
        Sessions {
            store,
            flashes: Mutex::new(HashMap::new()),
        }
    }

    /// Starts a session for `caller` (ended rows are swept first); returns the id for the
    /// cookie.
    pub(crate) async fn start(
        &self,
        caller: Caller,
        access_key_id: String,
        now: UnixMillis,
        expires: Option<UnixMillis>,
    ) -> Option<String> {
        if let Err(e) = self.store.delete_expired_console_sessions(now.0).await {
            tracing::warn!(error = %e, "console: ended sessions not swept");
        }
        let id = hex::encode(&random_array::<32>().ok()?);
        let mut absolute = now.0.saturating_add(ABSOLUTE_MS);
        if let Some(e) = expires {
            absolute = absolute.min(e.0);
        }
        let record = ConsoleSessionRecord {
            id_hash: id_hash(&id),
            account_id: caller.account.to_string(),
            region: caller.region.to_string(),
            principal_arn: caller.principal.arn(),
            access_key_id,
            csrf_hash: hex::encode(&sha256(csrf_of(&id).as_bytes())),
            created_ms: now.0,
            idle_expires_ms: now.0.saturating_add(IDLE_MS).min(absolute),
            absolute_expires_ms: absolute,
            credentials_expire_ms: expires.map(|e| e.0),
        };
        match self.store.put_console_session(&record).await {
            Ok(()) => Some(id),
            Err(e) => {
                tracing::warn!(error = %e, "console: session not stored");
                None
            }
        }
    }

    /// The live session of cookie value `id` at `now` (its idle expiry moved on, its flash
    /// taken); an ended session's row is deleted.
    pub(crate) async fn get(&self, id: &str, now: UnixMillis) -> Option<Session> {
        let key = id_hash(id);
        let record = match self.store.get_console_session(&key).await {
            Ok(r) => r?,
            Err(e) => {
                tracing::warn!(error = %e, "console: session not read");
                return None;
            }
        };
        if ended(&record, now) {
            self.end(id).await;
            return None;
        }
        let csrf = csrf_of(id);
        let csrf_hash = hex::encode(&sha256(csrf.as_bytes()));
        if !constant_time_eq(csrf_hash.as_bytes(), record.csrf_hash.as_bytes()) {
            return None;
        }
        let caller = Caller::new(
            AccountId::parse(&record.account_id)?,
            Region::parse(&record.region)?,
            Principal::parse(&record.principal_arn)?,
        );
        let idle = now.0.saturating_add(IDLE_MS);
        if idle - record.idle_expires_ms >= TOUCH_MS
            && let Err(e) = self.store.touch_console_session(&key, idle).await
        {
            tracing::warn!(error = %e, "console: session not touched");
        }
        let flash = self.flashes.lock().ok().and_then(|mut f| f.remove(&key));
        Some(Session {
            caller,
            access_key_id: record.access_key_id,
            csrf,
            expires: record.credentials_expire_ms.map(UnixMillis),
            flash,
        })
    }

    /// Leaves a message for the session's next page (on this node).
    pub(crate) fn flash(&self, id: &str, flash: Flash) {
        if let Ok(mut map) = self.flashes.lock() {
            if map.len() >= MAX_FLASHES {
                map.clear();
            }
            map.insert(id_hash(id), flash);
        }
    }

    /// Ends the session of cookie value `id`: its row is deleted.
    pub(crate) async fn end(&self, id: &str) {
        let key = id_hash(id);
        if let Ok(mut map) = self.flashes.lock() {
            map.remove(&key);
        }
        if let Err(e) = self.store.delete_console_session(&key).await {
            tracing::warn!(error = %e, "console: session not deleted");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        let account = AccountId::parse("111122223333").expect("account");
        let principal = Principal::parse("arn:aws:iam::111122223333:root").expect("root");
        Caller::new(
            account,
            Region::parse("us-east-1").expect("region"),
            principal,
        )
    }

    async fn store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
        let store = kinko_store::SqliteStore::open(&dir.path().join("kinko.db"))
            .await
            .expect("open");
        Arc::new(store)
    }

    #[tokio::test]
    async fn sessions_end_idle_absolute_and_at_credential_expiry() {
        let dir = tempfile::tempdir().expect("dir");
        let sessions = Sessions::new(store(&dir).await);
        let t0 = UnixMillis(1_000_000);
        let id = sessions
            .start(caller(), "AKIA".into(), t0, None)
            .await
            .expect("started");
        assert!(sessions.get("not-the-id", t0).await.is_none());
        // Kept alive by use, for up to the absolute limit.
        let mut t = t0.0;
        while t + IDLE_MS - 1 < t0.0 + ABSOLUTE_MS {
            t += IDLE_MS - 1;
            let alive = sessions.get(&id, UnixMillis(t)).await.is_some();
            assert_eq!(alive, t < t0.0 + ABSOLUTE_MS, "at {t}");
        }
        let id = sessions
            .start(caller(), "AKIA".into(), t0, None)
            .await
            .expect("started");
        assert!(
            sessions
                .get(&id, UnixMillis(t0.0 + IDLE_MS))
                .await
                .is_none()
        );
        let id = sessions
            .start(caller(), "ASIA".into(), t0, Some(UnixMillis(t0.0 + 60_000)))
            .await
            .expect("started");
        let s = sessions
            .get(&id, UnixMillis(t0.0 + 59_999))
            .await
            .expect("live");
        assert_eq!(s.expires, Some(UnixMillis(t0.0 + 60_000)));
        assert_eq!(s.caller.principal.arn(), "arn:aws:iam::111122223333:root");
        assert!(sessions.get(&id, UnixMillis(t0.0 + 60_000)).await.is_none());
    }

    #[tokio::test]
    async fn only_hashes_are_stored_csrf_is_checked_and_sign_out_deletes_the_row() {
        let dir = tempfile::tempdir().expect("dir");
        let store = store(&dir).await;
        let sessions = Sessions::new(store.clone());
        let t0 = UnixMillis(5);
        let id = sessions
            .start(caller(), "AKIA".into(), t0, None)
            .await
            .expect("started");
        let s = sessions.get(&id, t0).await.expect("live");
        let row = store
            .get_console_session(&id_hash(&id))
            .await
            .expect("read")
            .expect("row");
        assert_ne!(row.id_hash, id);
        assert_ne!(row.csrf_hash, s.csrf);
        assert!(!format!("{row:?}").contains(&id) && !format!("{row:?}").contains(&s.csrf));
        assert!(s.csrf_ok(Some(&s.csrf)));
        assert!(!s.csrf_ok(Some("x")));
        assert!(!s.csrf_ok(None));
        // Another Sessions over the same store (a restart, another node) knows the session.
        let other = Sessions::new(store.clone());
        assert_eq!(other.get(&id, t0).await.expect("live").csrf, s.csrf);
        sessions.flash(
            &id,
            Flash {
                ok: true,
                text: "done".into(),
            },
        );
        assert_eq!(
            sessions
                .get(&id, t0)
                .await
                .and_then(|s| s.flash)
                .map(|f| f.text),
            Some("done".into())
        );
        assert!(sessions.get(&id, t0).await.expect("live").flash.is_none());
        sessions.end(&id).await;
        assert!(sessions.get(&id, t0).await.is_none());
        assert!(
            store
                .get_console_session(&id_hash(&id))
                .await
                .expect("read")
                .is_none()
        );
    }
}
