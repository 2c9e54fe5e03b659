//! AWS managed keys: `alias/aws/<service>`, made on a service's first use in an account and
//! region, with KeyManager `AWS`, AWS's description and AWS's key policy. That policy lets the
//! account's principals use the key only through the service (`kms:ViaService` and
//! `kms:CallerAccount`) and read its metadata directly; it allows no management at all, so
//! nobody can change the policy, disable the key, schedule its deletion, tag it or turn off its
//! rotation (each attempt is refused as AWS refuses it, by the policy). Its alias is reserved
//! (`alias/aws/` cannot be created, re-pointed or deleted by anyone). It rotates every year.

use std::sync::Arc;

use kinko_crypto::random_array;

use crate::aad::material_aad;
use crate::lifecycle::{ServiceAuditFn, ServiceEvent};
use crate::material::{self, Prepared};
use crate::via::ViaService;
use crate::{
    AccountId, Alias, AliasName, Caller, DEFAULT_ROTATION_PERIOD_DAYS, Error, Key, KeyArn, KeyId,
    KeyManager, KeySpec, KeyState, KeyUsage, Kms, Material, MaterialId, Origin, Region, StoreError,
};

/// AWS's description of a service's managed key.
pub fn managed_key_description(service: ViaService) -> &'static str {
    match service {
        ViaService::SecretsManager => {
            "Default key that protects my Secrets Manager data when no other key is defined"
        }
    }
}

/// The key policy AWS gives a service's managed key, formatted as AWS formats it.
pub fn managed_key_policy(service: ViaService, account: &AccountId, region: &Region) -> String {
    let via = service.condition_value(region);
    let name = service.name();
    format!(
        r#"{{
  "Version" : "2012-10-17",
  "Id" : "auto-{name}-2",
  "Statement" : [ {{
    "Sid" : "Allow access through AWS Secrets Manager for all principals in the account that are authorized to use AWS Secrets Manager",
    "Effect" : "Allow",
    "Principal" : {{
      "AWS" : "*"
    }},
    "Action" : [ "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:CreateGrant", "kms:DescribeKey" ],
    "Resource" : "*",
    "Condition" : {{
      "StringEquals" : {{
        "kms:CallerAccount" : "{account}",
        "kms:ViaService" : "{via}"
      }}
    }}
  }}, {{
    "Sid" : "Allow access through AWS Secrets Manager for all principals in the account that are authorized to use AWS Secrets Manager",
    "Effect" : "Allow",
    "Principal" : {{
      "AWS" : "*"
    }},
    "Action" : "kms:GenerateDataKey*",
    "Resource" : "*",
    "Condition" : {{
      "StringEquals" : {{
        "kms:CallerAccount" : "{account}"
      }},
      "StringLike" : {{
        "kms:ViaService" : "{via}"
      }}
    }}
  }}, {{
    "Sid" : "Allow direct access to key metadata to the account",
    "Effect" : "Allow",
    "Principal" : {{
      "AWS" : "arn:aws:iam::{account}:root"
    }},
    "Action" : [ "kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant" ],
    "Resource" : "*"
  }} ]
}}"#
    )
}

/// The id of `service`'s managed key in `account` and `region`: derived from them, not random,
/// so that first uses at once (on one node or several) make the same key, which the store keeps
/// once; the others find it. A key id is not a secret (it is in every ARN); access is decided by
/// the key policy.
fn managed_key_id(service: ViaService, account: &AccountId, region: &Region) -> KeyId {
    let digest = kinko_crypto::sha256_parts(&[
        b"kinko aws managed key\0",
        service.name().as_bytes(),
        b"\0",
        account.as_str().as_bytes(),
        b"\0",
        region.as_str().as_bytes(),
    ]);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    KeyId::from_random(bytes)
}

/// `alias/aws/<service>`.
pub fn managed_alias(service: ViaService) -> AliasName {
    AliasName::parse(&format!("alias/aws/{}", service.name()))
        .unwrap_or_else(|_| unreachable!("alias/aws/<service> is a valid alias name"))
}

impl Kms {
    /// The AWS managed key of `service` in the caller's account and region, made now if it does
    /// not exist yet (its creation and its alias recorded by `events`). Not authorized here:
    /// every use of it is, as the caller, through the service.
    pub async fn managed_key(
        &self,
        caller: &Caller,
        service: ViaService,
        events: ServiceAuditFn<'_>,
    ) -> Result<Arc<Key>, Error> {
        let name = managed_alias(service);
        let (account, region) = (&caller.account, &caller.region);
        if let Some(key) = self.managed_key_named(account, region, &name).await? {
            return Ok(key);
        }
        let now = self.clock().now();
        let arn = KeyArn {
            region: region.clone(),
            account: account.clone(),
            key_id: managed_key_id(service, account, region),
        };
        let material_id = MaterialId(random_array()?);
        let spec = KeySpec::SymmetricDefault;
        let secret = material::generate(spec)?;
        let prepared = Prepared::new(spec, &secret)?;
        let wrapped = self
            .root()
            .wrap(&secret, &material_aad(&arn, &material_id, spec))?;
        let key = Key {
            arn: arn.clone(),
            created_at: now,
            description: managed_key_description(service).to_owned(),
            spec,
            usage: KeyUsage::EncryptDecrypt,
            origin: Origin::AwsKms,
            state: KeyState::Enabled,
            deletion_date: None,
            pending_window_days: None,
            current_material: material_id,
            policy: managed_key_policy(service, account, region).into(),
            version: 1,
            rotation_period_days: Some(DEFAULT_ROTATION_PERIOD_DAYS),
            next_rotation: Some(now.plus_days(DEFAULT_ROTATION_PERIOD_DAYS)),
            on_demand_rotations: 0,
            valid_to: None,
            expiration_model: None,
            manager: KeyManager::Aws,
            primary_region: None,
        };
        let material = Material::generated(
            arn.key_id,
            material_id,
            wrapped,
            self.root().id(),
            now,
            None,
        );
        let draft = events(ServiceEvent::CreateManagedKey, &key);
        match self
            .store()
            .create_key(&key, &material, &[], self.append(&draft))
            .await
        {
            Ok(()) => {
                self.caches()
                    .put_material(arn.key_id, material_id, prepared);
            }
            // Another request (on this node or another) made the same key first: use it. Its
            // alias may not be there yet (that request is about to make it, or stopped before
            // it): made below if missing.
            Err(StoreError::Conflict(_)) => {
                drop(prepared);
                let made = self
                    .key_in_account(account, region, &arn.key_id)
                    .await?
                    .ok_or_else(|| {
                        Error::Internal(format!("the managed key {} vanished", arn.key_id))
                    })?;
                return self.ensure_managed_alias(made, name, events).await;
            }
            Err(e) => return Err(e.into()),
        }
        self.ensure_managed_alias(Arc::new(key), name, events).await
    }

    /// Points `alias/aws/<service>` at `key` unless it exists already (made by the request that
    /// made the key), and caches both.
    async fn ensure_managed_alias(
        &self,
        key: Arc<Key>,
        name: AliasName,
        events: ServiceAuditFn<'_>,
    ) -> Result<Arc<Key>, Error> {
        let (account, region) = (&key.arn.account, &key.arn.region);
        let now = self.clock().now();
        let alias = Alias {
            account: account.clone(),
            region: region.clone(),
            name: name.clone(),
            target: key.id(),
            created_at: now,
            updated_at: now,
        };
        let draft = events(ServiceEvent::CreateManagedAlias, &key);
        match self.store().create_alias(&alias, self.append(&draft)).await {
            // Made here, or by the request that made the key (reserved names point nowhere
            // else: nobody can create or re-point `alias/aws/…`).
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        self.caches().put_alias(account, region, &name, key.id());
        Ok(self.caches().put_key(Key::clone(&key)))
    }

    async fn managed_key_named(
        &self,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
    ) -> Result<Option<Arc<Key>>, Error> {
        let target = match self.caches().alias(account, region, name) {
            Some(id) => id,
            None => match self.store().get_alias(account, region, name).await? {
                Some(alias) => {
                    self.caches().put_alias(account, region, name, alias.target);
                    alias.target
                }
                None => return Ok(None),
            },
        };
        self.key_in_account(account, region, &target).await
    }
}
