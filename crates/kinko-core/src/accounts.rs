//! Accounts and their credentials: the default account created on first start, new accounts
//! (`kinko account create`), and the long-term access keys SigV4 verification looks up.

use kinko_crypto::{SecretBytes, random_array, random_secret};

use crate::aad::access_key_aad;
use crate::bootstrap::{self, NewAccessKey};
use crate::identity::root_arn;
use crate::{AccessKey, AccessKeyId, Account, AccountId, Error, Kms, StoreError};

/// Setting that names the default account, claimed by the first node to start.
const DEFAULT_ACCOUNT_SETTING: &str = "default_account";

impl Kms {
    /// Creates the default account and its root access key if no account exists yet.
    /// Returns the new access key (with its secret) only when it was created now.
    ///
    /// Several nodes may start at once on one empty database: the account id is claimed through
    /// the `default_account` setting (insert-or-ignore, then read back), so they all agree on
    /// one account, and only the node whose claim won creates the root access key (and returns
    /// it); the others return `None`.
    pub async fn ensure_default_account(&self) -> Result<Option<NewAccessKey>, Error> {
        if !self.store().list_accounts().await?.is_empty() {
            return Ok(None);
        }
        let proposed = bootstrap::account_id(random_array()?)
            .ok_or_else(|| Error::Internal("account id generation".into()))?;
        let claimed = self
            .store()
            .put_setting_if_absent(DEFAULT_ACCOUNT_SETTING, proposed.as_str())
            .await?;
        let account = AccountId::parse(&claimed).ok_or_else(|| {
            Error::Internal(format!("malformed {DEFAULT_ACCOUNT_SETTING} setting"))
        })?;
        let created_here = match self
            .store()
            .create_account(&Account {
                id: account.clone(),
                created_at: self.clock().now(),
            })
            .await
        {
            Ok(()) => true,
            // Another node claimed and created it first.
            Err(StoreError::Conflict(_)) => false,
            Err(e) => return Err(e.into()),
        };
        // The claim's winner makes the access key; so does a node that found the claim but no
        // account (its winner stopped in between), lest the installation have no credentials.
        if account != proposed && !created_here {
            return Ok(None);
        }
        let principal = format!("arn:aws:iam::{account}:root");
        self.create_access_key(&account, &principal).await.map(Some)
    }

    /// Creates an access key for `principal_arn` in `account`.
    pub async fn create_access_key(
        &self,
        account: &AccountId,
        principal_arn: &str,
    ) -> Result<NewAccessKey, Error> {
        let id = bootstrap::access_key_id(random_array()?)
            .ok_or_else(|| Error::Internal("access key id generation".into()))?;
        let secret = bootstrap::secret_access_key(&random_secret(40)?);
        let wrapped_secret = self.root().wrap(&secret, access_key_aad(&id).as_bytes())?;
        self.store()
            .create_access_key(&AccessKey {
                id: id.clone(),
                account: account.clone(),
                principal_arn: principal_arn.to_owned(),
                wrapped_secret,
                root_id: self.root().id(),
                active: true,
                created_at: self.clock().now(),
            })
            .await?;
        Ok(NewAccessKey {
            account: account.clone(),
            principal_arn: principal_arn.to_owned(),
            id,
            secret,
        })
    }

    /// Looks up an active access key and unwraps its secret, for SigV4 verification.
    pub async fn access_key_secret(
        &self,
        id: &AccessKeyId,
    ) -> Result<Option<(AccessKey, SecretBytes)>, Error> {
        let Some(record) = self.store().get_access_key(id).await? else {
            return Ok(None);
        };
        if !record.active {
            return Ok(None);
        }
        let secret = self
            .root()
            .unwrap(&record.wrapped_secret, access_key_aad(id).as_bytes())
            .map_err(|e| {
                Error::failed(
                    format!("access key {id} does not unwrap under the root key"),
                    e,
                )
            })?;
        Ok(Some((record, secret)))
    }

    /// Creates a new account and its root access key (`kinko account create`).
    pub async fn create_account(&self) -> Result<NewAccessKey, Error> {
        let id = bootstrap::account_id(random_array()?)
            .ok_or_else(|| Error::Internal("account id generation".into()))?;
        self.store()
            .create_account(&Account {
                id: id.clone(),
                created_at: self.clock().now(),
            })
            .await
            .map_err(|e| match e {
                e @ StoreError::Conflict(_) => Error::failed("account id collision; retry", e),
                other => other.into(),
            })?;
        let principal = root_arn(&id);
        self.create_access_key(&id, &principal).await
    }

    /// Whether an access key still authenticates (exists and is active), for the signing-key
    /// cache's periodic recheck.
    pub async fn access_key_active(&self, id: &AccessKeyId) -> Result<bool, Error> {
        Ok(self
            .store()
            .get_access_key(id)
            .await?
            .is_some_and(|k| k.active))
    }
}
