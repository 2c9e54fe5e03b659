//! Who a caller is, typed: [`Principal`], parsed once from the ARN its credential names (at
//! authentication) and used from then on by authorization, the audit record's `userIdentity`
//! and the IAM and STS operations, so nothing re-reads an ARN string to learn what it names.

use std::fmt;

use kinko_policy::{PrincipalKind, RequestPrincipal};

use crate::AccountId;

/// An IAM or STS principal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// An account's root: `arn:aws:iam::<account>:root`.
    Root {
        /// The account.
        account: AccountId,
    },
    /// An IAM user: `arn:aws:iam::<account>:user<path><name>`.
    User {
        /// The account.
        account: AccountId,
        /// `/`, or `/a/b/`.
        path: String,
        /// The user name.
        name: String,
    },
    /// An IAM role (a principal only in policies and `kinko authz explain`):
    /// `arn:aws:iam::<account>:role<path><name>`.
    Role {
        /// The account.
        account: AccountId,
        /// `/`, or `/a/b/`.
        path: String,
        /// The role name.
        name: String,
    },
    /// A role session: `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    AssumedRole {
        /// The account.
        account: AccountId,
        /// The role's name.
        role: String,
        /// The session name.
        session: String,
    },
}

/// `/` or `/a/b/` and the name after it, from `<path><name>`.
fn path_and_name(rest: &str) -> Option<(String, String)> {
    if !rest.starts_with('/') {
        return None;
    }
    let cut = rest.rfind('/')? + 1;
    let (path, name) = rest.split_at(cut);
    (!name.is_empty()).then(|| (path.to_owned(), name.to_owned()))
}

impl Principal {
    /// Parses a principal ARN; `None` for anything that is not one of the four forms (or would
    /// not print back as the same text).
    pub fn parse(arn: &str) -> Option<Principal> {
        let (service, rest) = if let Some(rest) = arn.strip_prefix("arn:aws:iam::") {
            ("iam", rest)
        } else {
            ("sts", arn.strip_prefix("arn:aws:sts::")?)
        };
        let (account, resource) = rest.split_once(':')?;
        let account = AccountId::parse(account)?;
        let principal = match service {
            "iam" if resource == "root" => Principal::Root { account },
            "iam" => {
                if let Some(rest) = resource.strip_prefix("user") {
                    let (path, name) = path_and_name(rest)?;
                    Principal::User {
                        account,
                        path,
                        name,
                    }
                } else {
                    let (path, name) = path_and_name(resource.strip_prefix("role")?)?;
                    Principal::Role {
                        account,
                        path,
                        name,
                    }
                }
            }
            _ => {
                let rest = resource.strip_prefix("assumed-role/")?;
                let (role, session) = rest.split_once('/')?;
                if role.is_empty() || session.is_empty() || session.contains('/') {
                    return None;
                }
                Principal::AssumedRole {
                    account,
                    role: role.to_owned(),
                    session: session.to_owned(),
                }
            }
        };
        (principal.to_string() == arn).then_some(principal)
    }

    /// The principal's ARN.
    pub fn arn(&self) -> String {
        self.to_string()
    }

    /// The account it belongs to.
    pub fn account(&self) -> &AccountId {
        match self {
            Principal::Root { account }
            | Principal::User { account, .. }
            | Principal::Role { account, .. }
            | Principal::AssumedRole { account, .. } => account,
        }
    }

    /// The principal as `kinko-policy` matches it (without tags).
    pub fn request_principal(&self) -> RequestPrincipal {
        let kind = match self {
            Principal::Root { .. } => PrincipalKind::Root,
            Principal::User { .. } => PrincipalKind::User,
            Principal::Role { .. } => PrincipalKind::Role,
            Principal::AssumedRole { account, role, .. } => PrincipalKind::AssumedRole {
                role_arn: format!("arn:aws:iam::{account}:role/{role}"),
            },
        };
        RequestPrincipal {
            arn: self.arn(),
            account: self.account().to_string(),
            kind,
            tags: Default::default(),
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Root { account } => write!(f, "arn:aws:iam::{account}:root"),
            Principal::User {
                account,
                path,
                name,
            } => write!(f, "arn:aws:iam::{account}:user{path}{name}"),
            Principal::Role {
                account,
                path,
                name,
            } => write!(f, "arn:aws:iam::{account}:role{path}{name}"),
            Principal::AssumedRole {
                account,
                role,
                session,
            } => write!(f, "arn:aws:sts::{account}:assumed-role/{role}/{session}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_four_forms_and_prints_them_back() {
        for arn in [
            "arn:aws:iam::111122223333:root",
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::111122223333:user/division/team/alice",
            "arn:aws:iam::111122223333:role/ops",
            "arn:aws:sts::111122223333:assumed-role/ops/session-1",
        ] {
            let p = Principal::parse(arn).expect(arn);
            assert_eq!(p.arn(), arn);
            assert_eq!(p.account().as_str(), "111122223333");
            assert_eq!(
                p.request_principal(),
                RequestPrincipal::from_arn(arn).expect("kinko-policy reads it")
            );
        }
        assert_eq!(
            Principal::parse("arn:aws:iam::111122223333:user/team/alice"),
            Some(Principal::User {
                account: AccountId::parse("111122223333").expect("an account"),
                path: "/team/".into(),
                name: "alice".into(),
            })
        );
    }

    #[test]
    fn refuses_what_is_not_a_principal() {
        for arn in [
            "",
            "arn:aws:iam::11112222333:root",
            "arn:aws:iam::111122223333:root/x",
            "arn:aws:iam::111122223333:user/",
            "arn:aws:iam::111122223333:userx",
            "arn:aws:iam::111122223333:group/g",
            "arn:aws:sts::111122223333:assumed-role/ops",
            "arn:aws:sts::111122223333:assumed-role/ops/s/x",
            "arn:aws:kms:us-east-1:111122223333:key/abc",
            "arn:aws-cn:iam::111122223333:root",
        ] {
            assert_eq!(Principal::parse(arn), None, "{arn}");
        }
    }
}
