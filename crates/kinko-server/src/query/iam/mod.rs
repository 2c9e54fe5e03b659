//! The IAM subset Kinko serves (AWS Query protocol, SigV4 service `iam`), as data: one
//! [`Descriptor`] and one handler per action, by family (`users`, `access_keys`, `roles`,
//! `policies`): users, their access keys and inline policies, roles with their trust and inline
//! policies, and tags.
//!
//! Who may call: the account's root, or a principal whose identity policies allow the `iam:`
//! action on the target user or role (a pattern for listings); anyone else gets `AccessDenied`.
//! The check is the core operation's own, made before the request's members past the target's
//! name are looked at. Changes commit their audit record with the change (the draft is built
//! before the call, for a success); failures are recorded by the caller of
//! [`super::dispatch`] through the writer.

mod access_keys;
mod paging;
mod policies;
mod roles;
mod users;

use super::op::Descriptor;

/// The IAM XML namespace.
pub const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// The API version, as errors name it.
pub const VERSION: &str = "2010-05-08";

/// Every family's actions.
const FAMILIES: &[&[Descriptor]] = &[
    users::OPERATIONS,
    access_keys::OPERATIONS,
    roles::OPERATIONS,
    policies::OPERATIONS,
];

/// The descriptor of IAM action `name`, if Kinko serves it.
pub(crate) fn lookup(name: &str) -> Option<&'static Descriptor> {
    FAMILIES
        .iter()
        .flat_map(|f| f.iter())
        .find(|d| d.name == name)
}

/// Every IAM action Kinko serves.
#[cfg(test)]
pub(crate) fn operations() -> impl Iterator<Item = &'static Descriptor> {
    FAMILIES.iter().flat_map(|f| f.iter())
}
