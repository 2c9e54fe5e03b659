//! The documents of secrets' resource-based policies, pure: parsing (the key-policy grammar
//! of `kinko-policy`: every statement names a principal), BlockPublicPolicy's test of broad
//! access, and ValidateResourcePolicy's checks.

use kinko_policy::{Policy, PolicyKind};

use crate::Error;

/// The longest resource policy Secrets Manager takes, in characters.
const MAX_POLICY_CHARS: usize = 20_480;

/// Condition keys that confine a wildcard principal to known callers: a statement that tests
/// one of them is not public.
const CONFINING_KEYS: &[&str] = &[
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceowner",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:userid",
];

/// ValidateResourcePolicy's answer: no entry means the policy passed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyCheck {
    /// `(CheckName, ErrorMessage)` of each failed check.
    pub errors: Vec<(String, String)>,
}

/// Parses a resource policy; a document that is not a policy is MalformedPolicyDocument.
pub(crate) fn parse(text: &str) -> Result<Policy, Error> {
    if text.is_empty() || text.chars().count() > MAX_POLICY_CHARS {
        return Err(Error::Validation(format!(
            "ResourcePolicy must be 1-{MAX_POLICY_CHARS} characters."
        )));
    }
    Policy::parse(text, PolicyKind::Key).map_err(|e| {
        Error::MalformedPolicyDocument(format!("This resource policy contains an error: {e}"))
    })
}

/// Whether a policy grants broad access: an `Allow` statement for every principal (`"*"`,
/// or any principal through `NotPrincipal`) that no condition confines to known callers.
pub(crate) fn is_public(policy: &Policy) -> bool {
    policy.allows_everyone_unless(CONFINING_KEYS)
}

/// ValidateResourcePolicy's checks of `text`.
pub(crate) fn check(text: &str) -> Result<PolicyCheck, Error> {
    let mut out = PolicyCheck::default();
    match parse(text) {
        // kinko-policy prefixes the errors of text that is not a JSON object so.
        Err(Error::MalformedPolicyDocument(m)) if m.contains("Syntax errors in policy") => {
            return Err(Error::MalformedPolicyDocument(m));
        }
        Err(Error::MalformedPolicyDocument(m)) => {
            out.errors.push(("IAM_POLICY_VALIDATION".into(), m));
        }
        Err(other) => return Err(other),
        Ok(policy) => {
            if is_public(&policy) {
                out.errors.push((
                    "BLOCK_PUBLIC_POLICY".into(),
                    "The policy grants broad access to the secret: a statement allows every principal without a condition that confines it to your account or organization.".into(),
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(principal: &str, condition: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"secretsmanager:GetSecretValue","Resource":"*"{condition}}}]}}"#
        )
    }

    #[test]
    fn wildcard_principals_without_confining_conditions_are_public() {
        let is_public = |text: &str| is_public(&parse(text).expect("a policy"));
        assert!(is_public(&policy(r#""*""#, "")));
        assert!(is_public(&policy(r#"{"AWS":"*"}"#, "")));
        assert!(is_public(&policy(
            r#"{"AWS":["arn:aws:iam::111122223333:root","*"]}"#,
            ""
        )));
        assert!(is_public(&policy(
            r#""*""#,
            r#","Condition":{"Bool":{"aws:SecureTransport":"true"}}"#
        )));
        assert!(!is_public(&policy(
            r#""*""#,
            r#","Condition":{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}"#
        )));
        assert!(!is_public(&policy(
            r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#,
            ""
        )));
    }

    #[test]
    fn validation_separates_bad_json_from_bad_policies() {
        assert!(matches!(
            check("{not json"),
            Err(Error::MalformedPolicyDocument(_))
        ));
        let no_principal = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]}"#;
        assert_eq!(check(no_principal).map(|c| c.errors.len()).ok(), Some(1));
        let fine = policy(r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#, "");
        assert_eq!(check(&fine).ok(), Some(PolicyCheck::default()));
        assert_eq!(
            check(&policy(r#""*""#, ""))
                .ok()
                .map(|c| c.errors[0].0.clone()),
            Some("BLOCK_PUBLIC_POLICY".to_owned())
        );
    }
}
