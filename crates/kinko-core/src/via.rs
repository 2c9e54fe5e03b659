//! KMS calls a service makes on a caller's behalf (`kms:ViaService`): Secrets Manager's
//! GenerateDataKey and Decrypt are authorized as the calling principal, with
//! `kms:ViaService = <service>.<region>.amazonaws.com` and `kms:CallerAccount` set, through the
//! same key-policy, identity-policy and grant evaluation as a direct call. The request's own
//! condition keys (the service's parameters) do not reach the KMS call; its transport facts do
//! not either (the service, not the client, calls KMS).
//!
//! Each such call is audited by the server as a KMS event of its own (`invokedBy`).

use crate::ops::{DataKeySize, DecryptOutput, GenerateDataKeyOutput};
use crate::{
    Caller, EncryptionAlgorithmSpec, EncryptionContext, Error, KeyArn, KeyRef, Kms, RequestFacts,
};

/// An AWS service that calls KMS for its callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViaService {
    /// AWS Secrets Manager.
    SecretsManager,
}

impl ViaService {
    /// The service's short name (`secretsmanager`), as in `alias/aws/<name>`.
    pub fn name(self) -> &'static str {
        match self {
            ViaService::SecretsManager => "secretsmanager",
        }
    }

    /// The service principal CloudTrail names (`invokedBy`, `sourceIPAddress`, `userAgent`).
    pub fn principal(self) -> &'static str {
        match self {
            ViaService::SecretsManager => "secretsmanager.amazonaws.com",
        }
    }

    /// The value of `kms:ViaService` for a call in `region`.
    pub fn condition_value(self, region: &crate::Region) -> String {
        format!("{}.{region}.amazonaws.com", self.name())
    }
}

impl Caller {
    /// The caller as a KMS call made by `service` on its behalf sees it: the same account,
    /// region and principal, with `kms:ViaService` set (`kms:CallerAccount` is the caller's
    /// account, as for every call).
    pub fn via(&self, service: ViaService) -> Caller {
        let mut facts = RequestFacts {
            secure_transport: true,
            ..RequestFacts::default()
        };
        facts
            .keys
            .insert("kms:ViaService", service.condition_value(&self.region));
        Caller {
            account: self.account.clone(),
            region: self.region.clone(),
            principal: self.principal.clone(),
            facts: std::sync::Arc::new(facts),
        }
    }
}

/// One KMS call a service made for a caller, as its audit record needs it.
#[derive(Debug)]
pub struct ViaCall<'a> {
    /// The service that made it.
    pub service: ViaService,
    /// `GenerateDataKey` or `Decrypt`.
    pub operation: &'static str,
    /// The caller it was made for.
    pub caller: &'a Caller,
    /// The KeyId the service passed (GenerateDataKey), if any.
    pub key_id: Option<&'a str>,
    /// The key that served it, when known.
    pub key: Option<&'a KeyArn>,
    /// The encryption context it used.
    pub context: &'a EncryptionContext,
    /// Why it failed, if it did.
    pub error: Option<&'a Error>,
}

/// Receives every KMS call a service makes for a caller (the server records each one).
pub type ViaLog<'a> = &'a (dyn Fn(ViaCall<'_>) + Send + Sync);

impl Kms {
    /// GenerateDataKey (256-bit) on `key` made by `service` for `caller`, reported to `log`.
    pub async fn generate_data_key_via(
        &self,
        caller: &Caller,
        service: ViaService,
        key: &KeyRef,
        key_id: &str,
        context: &EncryptionContext,
        log: ViaLog<'_>,
    ) -> Result<GenerateDataKeyOutput, Error> {
        let result = self
            .generate_data_key(
                &caller.via(service),
                key,
                DataKeySize::Aes256,
                context,
                true,
            )
            .await;
        log(ViaCall {
            service,
            operation: "GenerateDataKey",
            caller,
            key_id: Some(key_id),
            key: result.as_ref().ok().map(|o| &o.key_arn),
            context,
            error: result.as_ref().err(),
        });
        result
    }

    /// Decrypt of a data key made by `service` for `caller`, reported to `log`.
    pub async fn decrypt_via(
        &self,
        caller: &Caller,
        service: ViaService,
        ciphertext: &[u8],
        context: &EncryptionContext,
        log: ViaLog<'_>,
    ) -> Result<DecryptOutput, Error> {
        let result = self
            .decrypt(
                &caller.via(service),
                ciphertext,
                context,
                None,
                EncryptionAlgorithmSpec::SymmetricDefault,
            )
            .await;
        // The key named in the blob's header, for the record of a refused call.
        let named = kinko_crypto::parse_header(ciphertext).ok().map(|h| KeyArn {
            region: caller.region.clone(),
            account: caller.account.clone(),
            key_id: crate::KeyId::from_bytes(h.key_id),
        });
        log(ViaCall {
            service,
            operation: "Decrypt",
            caller,
            key_id: None,
            key: result.as_ref().ok().map(|o| &o.key_arn).or(named.as_ref()),
            context,
            error: result.as_ref().err(),
        });
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountId, Principal, Region};

    #[test]
    fn a_call_through_the_service_carries_kms_via_service_and_nothing_else() {
        let account = AccountId::parse("111122223333").expect("account");
        let region = Region::parse("eu-west-1").expect("region");
        let mut facts = RequestFacts::default();
        facts.keys.insert("secretsmanager:Name", "db");
        let caller = Caller::new(
            account.clone(),
            region,
            Principal::Root {
                account: account.clone(),
            },
        )
        .with_facts(facts);
        let via = caller.via(ViaService::SecretsManager);
        assert_eq!(via.principal, caller.principal);
        assert_eq!(via.account, account);
        assert_eq!(
            via.facts.keys.get("kms:ViaService"),
            Some(&"secretsmanager.eu-west-1.amazonaws.com".into())
        );
        assert!(via.facts.keys.get("secretsmanager:Name").is_none());
        assert_eq!(via.facts.keys.len(), 1);
    }

    #[test]
    fn the_managed_key_policy_parses_and_names_the_service() {
        let account = AccountId::parse("111122223333").expect("account");
        let region = Region::parse("us-east-1").expect("region");
        let doc = crate::managed_key_policy(ViaService::SecretsManager, &account, &region);
        let parsed = kinko_policy::Policy::parse(&doc, kinko_policy::PolicyKind::Key);
        assert!(parsed.is_ok(), "{parsed:?}");
        assert!(doc.contains("\"kms:ViaService\" : \"secretsmanager.us-east-1.amazonaws.com\""));
        assert!(doc.contains("\"kms:CallerAccount\" : \"111122223333\""));
        assert_eq!(
            crate::managed_alias(ViaService::SecretsManager).as_str(),
            "alias/aws/secretsmanager"
        );
    }
}
