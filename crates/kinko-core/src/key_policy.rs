//! The key policy operations: GetKeyPolicy, PutKeyPolicy (with the lockout safety check),
//! ListKeyPolicies. A key has exactly one policy, named `default`.

use crate::actions::Action;
use crate::ops::AuditFn;
use crate::rules::Need;
use crate::{Caller, DEFAULT_POLICY_NAME, Error, KeyRef, Kms};

impl Kms {
    /// GetKeyPolicy: the stored `default` policy.
    pub async fn get_key_policy(&self, caller: &Caller, key: &KeyRef) -> Result<String, Error> {
        let key = self
            .resolve_for_management(caller, key, Action::KmsGetKeyPolicy)
            .await?;
        Ok(key.policy.to_string())
    }

    /// PutKeyPolicy: replaces the `default` policy (validated by the caller).
    pub async fn put_key_policy(
        &self,
        caller: &Caller,
        key: &KeyRef,
        policy: String,
        bypass_lockout_check: bool,
        audit: AuditFn<'_>,
    ) -> Result<(), Error> {
        if !bypass_lockout_check {
            let current = self
                .resolve_for_management(caller, key, Action::KmsPutKeyPolicy)
                .await?;
            self.check_lockout(caller, &current, &policy).await?;
        }
        self.modify_key(
            audit,
            caller,
            key,
            Action::KmsPutKeyPolicy,
            Need::Any,
            move |k| {
                k.policy = policy.as_str().into();
                Ok(())
            },
        )
        .await
        .map(|_| ())
    }

    /// ListKeyPolicies: a key has exactly one policy, `default`.
    pub async fn list_key_policies(
        &self,
        caller: &Caller,
        key: &KeyRef,
    ) -> Result<Vec<String>, Error> {
        self.resolve_for_management(caller, key, Action::KmsListKeyPolicies)
            .await?;
        Ok(vec![DEFAULT_POLICY_NAME.to_owned()])
    }
}
