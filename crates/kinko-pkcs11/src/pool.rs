//! A bounded pool of logged-in sessions on one token.
//!
//! A cryptoki `Session` is `Send` but not `Sync`, and PKCS#11 allows one operation at a time per
//! session, while the server wraps and unwraps from several threads. Sessions are opened on
//! demand up to a limit, kept open while idle (which also keeps the token logged in: the login
//! ends when the application's last session on the token closes), and dropped when the token
//! reports them broken so that a fresh one replaces them.

use std::ops::Deref;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error, RvError};
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::RawAuthPin;

pub(crate) struct SessionPool {
    ctx: Pkcs11,
    slot: Slot,
    pin: RawAuthPin,
    max: usize,
    state: Mutex<State>,
    returned: Condvar,
}

struct State {
    idle: Vec<Session>,
    /// Sessions that exist: idle plus leased plus being opened.
    open: usize,
}

impl SessionPool {
    pub(crate) fn new(ctx: Pkcs11, slot: Slot, pin: RawAuthPin, max: usize) -> Self {
        SessionPool {
            ctx,
            slot,
            pin,
            max: max.max(1),
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a list and a counter, consistent after every statement: a panic elsewhere
        // while holding the lock leaves nothing half-done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A logged-in session, waiting while `max` sessions are in use.
    pub(crate) fn acquire(&self) -> Result<Lease<'_>, Error> {
        let mut state = self.lock();
        loop {
            if let Some(session) = state.idle.pop() {
                return Ok(Lease::new(self, session));
            }
            if state.open < self.max {
                state.open += 1;
                break;
            }
            state = self
                .returned
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        drop(state);
        match self.open_session() {
            Ok(session) => Ok(Lease::new(self, session)),
            Err(e) => {
                self.forget(1);
                Err(e)
            }
        }
    }

    fn open_session(&self) -> Result<Session, Error> {
        let session = self.ctx.open_ro_session(self.slot)?;
        login(&session, &self.pin)?;
        Ok(session)
    }

    /// A read-write session for creating the root key (not pooled, not counted).
    pub(crate) fn open_rw(&self) -> Result<Session, Error> {
        let session = self.ctx.open_rw_session(self.slot)?;
        login(&session, &self.pin)?;
        Ok(session)
    }

    /// Closes every idle session: after one session was found broken (token reset, device
    /// removed) the others are most likely broken too.
    pub(crate) fn discard_idle(&self) {
        let idle = {
            let mut state = self.lock();
            let idle = std::mem::take(&mut state.idle);
            state.open = state.open.saturating_sub(idle.len());
            idle
        };
        self.returned.notify_all();
        // Closing may fail on a broken session; cryptoki logs it and moves on.
        drop(idle);
    }

    fn forget(&self, n: usize) {
        {
            let mut state = self.lock();
            state.open = state.open.saturating_sub(n);
        }
        self.returned.notify_one();
    }

    fn give_back(&self, session: Session) {
        self.lock().idle.push(session);
        self.returned.notify_one();
    }

    /// Sessions currently open (for tests and diagnostics).
    pub(crate) fn open_count(&self) -> usize {
        self.lock().open
    }
}

/// Logs `session` in as the user unless the token already is: login state belongs to the
/// application and token, not to one session, so every later session starts logged in and
/// `C_Login` would answer `CKR_USER_ALREADY_LOGGED_IN`.
pub(crate) fn login(session: &Session, pin: &RawAuthPin) -> Result<(), Error> {
    let state = session.get_session_info()?.session_state();
    if matches!(state, SessionState::RoUser | SessionState::RwUser) {
        return Ok(());
    }
    match session.login_with_raw(UserType::User, pin) {
        Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A session borrowed from the pool; returned on drop unless [`Lease::discard`]ed.
pub(crate) struct Lease<'a> {
    pool: &'a SessionPool,
    session: Option<Session>,
}

impl<'a> Lease<'a> {
    fn new(pool: &'a SessionPool, session: Session) -> Self {
        Lease {
            pool,
            session: Some(session),
        }
    }

    /// Closes the session instead of returning it.
    pub(crate) fn discard(mut self) {
        if let Some(session) = self.session.take() {
            drop(session);
            self.pool.forget(1);
        }
    }
}

impl Deref for Lease<'_> {
    type Target = Session;

    fn deref(&self) -> &Session {
        // `session` is `None` only inside `discard` and `drop`, which consume the lease.
        match &self.session {
            Some(session) => session,
            None => unreachable!("lease used after its session was taken"),
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            self.pool.give_back(session);
        }
    }
}

impl std::fmt::Debug for SessionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionPool")
            .field("slot", &self.slot.id())
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}
