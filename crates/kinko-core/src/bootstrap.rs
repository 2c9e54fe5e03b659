//! First start: the default account and its root principal's access key.

use kinko_crypto::SecretBytes;

use crate::{AccessKeyId, AccountId};

/// A freshly created access key: the only moment its secret exists outside the root-key
/// wrapping. The caller writes it where the operator asked and drops it.
#[derive(Debug)]
pub struct NewAccessKey {
    /// The account it belongs to.
    pub account: AccountId,
    /// The principal it authenticates.
    pub principal_arn: String,
    /// The access key id.
    pub id: AccessKeyId,
    /// The 40-character secret access key (redacted in `Debug`).
    pub secret: SecretBytes,
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// One character of `[A-Z2-7]` from a random byte (byte % 32 is unbiased).
pub(crate) fn base32_char(b: u8) -> char {
    char::from(BASE32[usize::from(b % 32)])
}

/// `AKIA` + 16 characters of `[A-Z2-7]` from 16 random bytes (byte % 32 is unbiased).
pub(crate) fn access_key_id(random: [u8; 16]) -> Option<AccessKeyId> {
    let mut s = String::from("AKIA");
    s.extend(
        random
            .iter()
            .map(|b| char::from(BASE32[usize::from(b % 32)])),
    );
    AccessKeyId::parse(&s)
}

/// 40 characters of `[A-Za-z0-9+/]` from 40 random bytes (byte % 64 is unbiased).
pub(crate) fn secret_access_key(random: &SecretBytes) -> SecretBytes {
    SecretBytes::new(
        random
            .expose()
            .iter()
            .map(|b| BASE64[usize::from(b % 64)])
            .collect(),
    )
}

/// A 12-digit account id from random bytes (first digit non-zero, as AWS's look).
pub(crate) fn account_id(random: [u8; 12]) -> Option<AccountId> {
    let digits: String = random
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let d = if i == 0 { 1 + b % 9 } else { b % 10 };
            char::from(b'0' + d)
        })
        .collect();
    AccountId::parse(&digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let id = access_key_id([255; 16])
            .map(|a| a.to_string())
            .unwrap_or_default();
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("AKIA"));
        let secret = secret_access_key(&SecretBytes::new((0..40).collect()));
        assert_eq!(secret.len(), 40);
        let acct = account_id([0; 12])
            .map(|a| a.to_string())
            .unwrap_or_default();
        assert_eq!(acct, "100000000000");
    }
}
