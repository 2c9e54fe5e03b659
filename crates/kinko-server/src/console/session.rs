//! The console's server-side sessions. The browser holds a random session id in an HttpOnly,
//! SameSite=Strict cookie (Secure under TLS); the server keeps only the id's SHA-256, mapped to
//! the signed-in principal, its access key id, the session's CSRF token and its clocks. A
//! session ends after [`IDLE_MS`] without a request, [`ABSOLUTE_MS`] after sign-in, when a role
//! session's credentials expire, or on sign-out. Nothing here holds a secret access key.

use std::collections::HashMap;
use std::sync::Mutex;

use kinko_core::{Caller, UnixMillis};
use kinko_crypto::{constant_time_eq, hex, random_array, sha256};

/// A session ends after 15 minutes without a request.
pub const IDLE_MS: i64 = 15 * 60 * 1000;
/// A session ends 8 hours after sign-in, however active.
pub const ABSOLUTE_MS: i64 = 8 * 60 * 60 * 1000;
/// The most sessions kept; beyond it, ended sessions are dropped, then the oldest.
const MAX_SESSIONS: usize = 10_000;

/// What a signed-in browser stands for.
#[derive(Clone)]
pub(crate) struct Session {
    /// The principal, as SigV4 would have named it.
    pub caller: Caller,
    /// The access key id the principal signed in with (the audit's `accessKeyId`).
    pub access_key_id: String,
    /// The token every change must carry.
    pub csrf: String,
    /// When the session began.
    pub created: UnixMillis,
    /// When it was last used.
    pub last: UnixMillis,
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
    /// Whether the session has ended at `now`.
    fn ended(&self, now: UnixMillis) -> bool {
        now.0.saturating_sub(self.last.0) >= IDLE_MS
            || now.0.saturating_sub(self.created.0) >= ABSOLUTE_MS
            || self.expires.is_some_and(|e| now.0 >= e.0)
    }

    /// Whether `token` is this session's CSRF token (constant time).
    pub(crate) fn csrf_ok(&self, token: Option<&str>) -> bool {
        token.is_some_and(|t| constant_time_eq(t.as_bytes(), self.csrf.as_bytes()))
    }
}

/// The sessions of one server, by the SHA-256 of their ids.
#[derive(Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.map.lock().map(|m| m.len()).unwrap_or(0);
        write!(f, "Sessions({n})")
    }
}

fn random_token() -> Option<String> {
    random_array::<32>().ok().map(|b| hex::encode(&b))
}

impl Sessions {
    /// Starts a session for `caller`; returns the id for the cookie.
    pub(crate) fn start(
        &self,
        caller: Caller,
        access_key_id: String,
        now: UnixMillis,
        expires: Option<UnixMillis>,
    ) -> Option<String> {
        let id = random_token()?;
        let session = Session {
            caller,
            access_key_id,
            csrf: random_token()?,
            created: now,
            last: now,
            expires,
            flash: None,
        };
        let mut map = self.map.lock().ok()?;
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| !s.ended(now));
            if map.len() >= MAX_SESSIONS
                && let Some(oldest) = map.iter().min_by_key(|(_, s)| s.created.0).map(|(k, _)| *k)
            {
                map.remove(&oldest);
            }
        }
        map.insert(sha256(id.as_bytes()), session);
        Some(id)
    }

    /// The live session of cookie value `id`, touched at `now` (its flash taken); an ended
    /// session is dropped.
    pub(crate) fn get(&self, id: &str, now: UnixMillis) -> Option<Session> {
        let key = sha256(id.as_bytes());
        let mut map = self.map.lock().ok()?;
        let session = map.get_mut(&key)?;
        if session.ended(now) {
            map.remove(&key);
            return None;
        }
        session.last = now;
        let out = session.clone();
        session.flash = None;
        Some(out)
    }

    /// Leaves a message for the session's next page.
    pub(crate) fn flash(&self, id: &str, flash: Flash) {
        if let Ok(mut map) = self.map.lock()
            && let Some(s) = map.get_mut(&sha256(id.as_bytes()))
        {
            s.flash = Some(flash);
        }
    }

    /// Ends the session of cookie value `id`.
    pub(crate) fn end(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(&sha256(id.as_bytes()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kinko_core::{AccountId, Principal, Region};

    fn caller() -> Caller {
        let account = AccountId::parse("111122223333").expect("account");
        let principal = Principal::parse("arn:aws:iam::111122223333:root").expect("root");
        Caller::new(
            account,
            Region::parse("us-east-1").expect("region"),
            principal,
        )
    }

    #[test]
    fn sessions_end_idle_absolute_and_at_credential_expiry() {
        let sessions = Sessions::default();
        let t0 = UnixMillis(1_000_000);
        let id = sessions
            .start(caller(), "AKIA".into(), t0, None)
            .expect("started");
        assert!(sessions.get("not-the-id", t0).is_none());
        // Kept alive by use, for up to the absolute limit.
        let mut t = t0.0;
        while t + IDLE_MS - 1 < t0.0 + ABSOLUTE_MS {
            t += IDLE_MS - 1;
            let alive = sessions.get(&id, UnixMillis(t)).is_some();
            assert_eq!(alive, t < t0.0 + ABSOLUTE_MS, "at {t}");
        }
        let id = sessions
            .start(caller(), "AKIA".into(), t0, None)
            .expect("started");
        assert!(sessions.get(&id, UnixMillis(t0.0 + IDLE_MS)).is_none());
        let id = sessions
            .start(caller(), "ASIA".into(), t0, Some(UnixMillis(t0.0 + 60_000)))
            .expect("started");
        assert!(sessions.get(&id, UnixMillis(t0.0 + 59_999)).is_some());
        assert!(sessions.get(&id, UnixMillis(t0.0 + 60_000)).is_none());
    }

    #[test]
    fn only_a_hash_of_the_id_is_kept_and_csrf_is_checked() {
        let sessions = Sessions::default();
        let t0 = UnixMillis(5);
        let id = sessions
            .start(caller(), "AKIA".into(), t0, None)
            .expect("started");
        let map = sessions.map.lock().expect("lock");
        assert!(map.contains_key(&sha256(id.as_bytes())));
        assert!(map.keys().all(|k| k.as_slice() != id.as_bytes()));
        let s = map.values().next().expect("one").clone();
        drop(map);
        assert!(s.csrf_ok(Some(&s.csrf)));
        assert!(!s.csrf_ok(Some("x")));
        assert!(!s.csrf_ok(None));
        sessions.end(&id);
        assert!(sessions.get(&id, t0).is_none());
    }
}
