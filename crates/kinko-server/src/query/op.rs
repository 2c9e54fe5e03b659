//! What an IAM or STS action is: its [`Descriptor`] (the data the Query protocol's routing and
//! the audit record derive from) and the [`Call`] its handler works with. The family files
//! (`iam/users`, `iam/access_keys`, `iam/roles`, `iam/policies`, `sts`) hold one descriptor and
//! one handler per action; this file holds what they share, and imports none of them.

use std::future::Future;
use std::pin::Pin;

use kinko_core::{Action, AuditDraft, Caller, Member};

use super::errors::from_core;
use super::form::Params;
use super::xml::Xml;
use crate::audit::{Recorded, RequestInfo};
use crate::errors::ApiError;
use crate::state::AppState;

/// What a handler answers: the result element's content (none for an action that returns only
/// its metadata), or the error.
pub(crate) type Reply = Result<Option<Xml>, ApiError>;

/// Runs one action's handler.
pub(crate) type Run = for<'a> fn(Call<'a>) -> Pin<Box<dyn Future<Output = Reply> + Send + 'a>>;

/// Everything the server knows about one IAM or STS action.
#[derive(Debug)]
pub(crate) struct Descriptor {
    /// The action name (`Action=`, `eventName`).
    pub name: &'static str,
    /// The action the core authorizes it as; `None` for one anyone may call
    /// (GetCallerIdentity). The core operation checks it itself (nothing here can skip it);
    /// the table states it, and `query`'s test holds the two names together.
    #[cfg_attr(
        not(test),
        allow(
            dead_code,
            reason = "stated for the reader and the test; the core checks it"
        )
    )]
    pub action: Option<Action>,
    /// Whether it changes state (`readOnly: false`).
    pub mutates: bool,
    /// Whether the record of a success commits in the core, with what it stores (every
    /// change, and AssumeRole's session).
    pub commits: bool,
    /// The handler.
    pub run: Run,
}

impl Descriptor {
    /// An action that changes nothing.
    pub(crate) const fn reads(name: &'static str, action: Option<Action>, run: Run) -> Descriptor {
        Descriptor {
            name,
            action,
            mutates: false,
            commits: false,
            run,
        }
    }

    /// An action that changes state: its record is `readOnly: false` and commits with the
    /// change.
    pub(crate) const fn changes(name: &'static str, action: Action, run: Run) -> Descriptor {
        Descriptor {
            mutates: true,
            commits: true,
            ..Descriptor::reads(name, Some(action), run)
        }
    }

    /// The same action, its record of a success committed with what it stores though it
    /// changes no IAM state (`readOnly` stays `true`).
    pub(crate) const fn committing(self) -> Descriptor {
        Descriptor {
            commits: true,
            ..self
        }
    }
}

/// The [`Run`] of a handler.
macro_rules! handler {
    ($f:path) => {
        |call| Box::pin($f(call))
    };
}
pub(crate) use handler;

/// What a handler works with.
pub(crate) struct Call<'a> {
    /// The server.
    pub state: &'a AppState,
    /// The authenticated caller.
    pub caller: &'a Caller,
    /// The request's members.
    pub params: &'a Params,
    /// The request as the audit records it.
    pub info: &'a RequestInfo,
}

impl<'a> Call<'a> {
    /// Maps a core error to IAM's codes.
    pub(crate) fn core(&self) -> impl Fn(kinko_core::Error) -> ApiError + 'a {
        let request_id = self.info.request_id.as_str();
        move |e| from_core(e, request_id)
    }

    /// The record of a success, for the core to commit with the change.
    pub(crate) fn draft(&self) -> AuditDraft {
        self.info.draft(&Recorded::default())
    }
}

/// A member read from the request, handed to the core, which reports a reading error only once
/// the caller is authorized. Every error of [`Params`] is a `ValidationError`; the core's
/// `Validation` goes out as the same code and message.
pub(crate) fn member<T>(read: Result<T, ApiError>) -> Member<T> {
    read.map_err(|e| kinko_core::Error::Validation(e.message))
}

/// What serving an IAM or STS request produced.
#[derive(Debug)]
pub struct QueryOutcome {
    /// The XML body, or the error.
    pub result: Result<Vec<u8>, ApiError>,
    /// The audit record was committed with the change.
    pub committed: bool,
}
