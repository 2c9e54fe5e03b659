//! Secrets Manager's operations that read or write a secret's value: CreateSecret,
//! GetSecretValue, BatchGetSecretValue, PutSecretValue and UpdateSecret; finding a secret by
//! name, partial ARN or full ARN; and authorizing a `secretsmanager:` action with its
//! condition keys (`secretsmanager:SecretId`, `secretsmanager:ResourceTag/…`) through the same
//! engine as every other action. The rest is in `secrets_admin.rs`, sealing in
//! `secrets_seal.rs`.

use kinko_crypto::random_array;
use kinko_policy::ContextValue;

use crate::actions::Action;
use crate::secret_model::{AWSCURRENT, AWSPREVIOUS, Secret, SecretValue, SecretVersion};
use crate::secrets_seal::SecretsAudit;
use crate::{Caller, Error, Kms, RequestFacts, StoreError, Tag, UnixMillis};

/// Largest SecretString or SecretBinary, in bytes.
pub const MAX_SECRET_VALUE_BYTES: usize = 65_536;
/// Most tags on a secret.
pub const MAX_SECRET_TAGS: usize = 50;

/// CreateSecret's request, validated for shape by the server.
#[derive(Debug)]
pub struct CreateSecretRequest {
    /// The name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// KmsKeyId: key id, key ARN, alias name or alias ARN.
    pub kms_key_id: Option<String>,
    /// The first value, if any.
    pub value: Option<SecretValue>,
    /// ClientRequestToken: the first version's id.
    pub token: Option<String>,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// A value read: the secret, the version and its value.
#[derive(Debug)]
pub struct SecretRead {
    /// The secret.
    pub secret: Secret,
    /// The version read.
    pub version: SecretVersion,
    /// Its value.
    pub value: SecretValue,
}

/// What a write produced: the secret after it and the version made, if any.
#[derive(Debug)]
pub struct SecretWrite {
    /// The secret after the change.
    pub secret: Secret,
    /// The version made (or found again, for a repeated ClientRequestToken).
    pub version_id: Option<String>,
    /// Its staging labels.
    pub stages: Vec<String>,
}

pub(crate) fn not_found() -> Error {
    Error::NotFound("Secrets Manager can't find the specified secret.".into())
}

pub(crate) fn marked_for_deletion() -> Error {
    Error::InvalidState(
        "You can't perform this operation on the secret because it was marked for deletion.".into(),
    )
}

/// A new version id: a random UUID (version 4).
pub(crate) fn new_version_id() -> Result<String, Error> {
    Ok(uuid::Builder::from_random_bytes(random_array()?)
        .into_uuid()
        .hyphenated()
        .to_string())
}

/// Six random characters of `[A-Za-z0-9]`, the suffix of a secret's ARN.
fn arn_suffix() -> Result<String, Error> {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(6);
    while out.len() < 6 {
        let [b] = random_array::<1>()?;
        // 248 = 4 × 62: rejection keeps the characters uniform.
        if b < 248 {
            out.push(char::from(CHARS[usize::from(b) % CHARS.len()]));
        }
    }
    Ok(out)
}

/// A secret name: 1–512 characters of `[A-Za-z0-9/_+=.@-]`.
pub(crate) fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 512
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::Validation(
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!".into(),
        ))
    }
}

/// A ClientRequestToken: 32–64 characters.
pub(crate) fn check_token(token: &str) -> Result<(), Error> {
    if (32..=64).contains(&token.chars().count()) {
        Ok(())
    } else {
        Err(Error::Validation(
            "ClientRequestToken must be 32-64 characters long.".into(),
        ))
    }
}

pub(crate) fn check_value(value: &SecretValue) -> Result<(), Error> {
    if value.bytes().len() > MAX_SECRET_VALUE_BYTES {
        return Err(Error::Validation(format!(
            "The secret value can't be larger than {MAX_SECRET_VALUE_BYTES} bytes."
        )));
    }
    Ok(())
}

pub(crate) fn check_tags(tags: &[Tag]) -> Result<(), Error> {
    for t in tags {
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(Error::Validation(
                "Invalid tag key: tag keys beginning with aws: are reserved.".into(),
            ));
        }
        if t.key.is_empty() || t.key.chars().count() > 128 || t.value.chars().count() > 256 {
            return Err(Error::Validation(
                "Invalid tag: keys are 1-128 characters, values at most 256.".into(),
            ));
        }
    }
    if tags.len() > MAX_SECRET_TAGS {
        return Err(Error::LimitExceeded(format!(
            "A secret can have at most {MAX_SECRET_TAGS} tags."
        )));
    }
    Ok(())
}

/// Moves `label` onto `to` and off every other version; moving AWSCURRENT puts AWSPREVIOUS on
/// the version that had it. Returns the versions that changed.
pub(crate) fn move_label(versions: &mut [SecretVersion], label: &str, to: &str) {
    let previous = versions
        .iter()
        .find(|v| v.has(label) && v.version_id != to)
        .map(|v| v.version_id.clone());
    for v in versions.iter_mut() {
        if v.version_id == to {
            if !v.has(label) {
                v.stages.push(label.to_owned());
            }
        } else {
            v.stages.retain(|s| s != label);
        }
    }
    if label == AWSCURRENT
        && let Some(previous) = previous
    {
        for v in versions.iter_mut() {
            if v.version_id == previous {
                if !v.has(AWSPREVIOUS) {
                    v.stages.push(AWSPREVIOUS.to_owned());
                }
            } else {
                v.stages.retain(|s| s != AWSPREVIOUS);
            }
        }
    }
}

impl Kms {
    /// Checks a `secretsmanager:` action on `resource` (the secret's ARN, or what the request
    /// named when no secret was found, or `*`), with the secret's condition keys.
    pub(crate) async fn authorize_secret(
        &self,
        caller: &Caller,
        action: Action,
        secret: Option<&Secret>,
        resource: &str,
    ) -> Result<(), Error> {
        let Some(secret) = secret else {
            return self.authorize_in_account(caller, action, resource).await;
        };
        let with_secret = with_secret_keys(caller, secret);
        match &secret.resource_policy {
            None => {
                self.authorize_in_account(&with_secret, action, &secret.arn)
                    .await
            }
            Some(policy) => {
                let policy = crate::resource_policy::parse(policy)?;
                self.authorize_with_resource_policy(&with_secret, action, &secret.arn, &policy)
                    .await
            }
        }
    }
}

/// `caller` with the secret's condition keys: `secretsmanager:SecretId` and its tags as
/// `secretsmanager:ResourceTag/…` and `aws:ResourceTag/…`.
pub(crate) fn with_secret_keys(caller: &Caller, secret: &Secret) -> Caller {
    let mut facts = RequestFacts {
        source_ip: caller.facts.source_ip,
        secure_transport: caller.facts.secure_transport,
        keys: caller.facts.keys.clone(),
        dry_run: caller.facts.dry_run,
    };
    facts.keys.insert(
        "secretsmanager:SecretId",
        ContextValue::String(secret.arn.clone()),
    );
    for t in &secret.tags {
        for prefix in ["secretsmanager:ResourceTag/", "aws:ResourceTag/"] {
            facts.keys.insert(
                &format!("{prefix}{}", t.key),
                ContextValue::String(t.value.clone()),
            );
        }
    }
    caller.clone().with_facts(facts)
}

impl Kms {
    /// The secret `id` names (name, partial ARN or full ARN) in the caller's account and
    /// region, authorized for `action`. A missing secret is NotFound only to a caller that may
    /// perform `action` on what it named.
    pub(crate) async fn find_secret(
        &self,
        caller: &Caller,
        id: &str,
        action: Action,
    ) -> Result<Secret, Error> {
        let found = self.lookup_secret(caller, id).await?;
        match found {
            Some(secret) => {
                self.authorize_secret(caller, action, Some(&secret), &secret.arn)
                    .await?;
                Ok(secret)
            }
            None => {
                self.authorize_secret(caller, action, None, id).await?;
                Err(not_found())
            }
        }
    }

    pub(crate) async fn lookup_secret(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Option<Secret>, Error> {
        if id.is_empty() || id.len() > 2048 {
            return Err(Error::Validation(
                "SecretId must be 1-2048 characters.".into(),
            ));
        }
        let Some(rest) = id.strip_prefix("arn:aws:secretsmanager:") else {
            return Ok(self
                .store()
                .get_secret_by_name(&caller.account, &caller.region, id)
                .await?);
        };
        let mut parts = rest.splitn(4, ':');
        let (region, account, kind, name) =
            (parts.next(), parts.next(), parts.next(), parts.next());
        if region != Some(caller.region.as_str())
            || account != Some(caller.account.as_str())
            || kind != Some("secret")
        {
            return Ok(None);
        }
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return Ok(None);
        };
        if let Some(secret) = self.store().get_secret(id).await? {
            return Ok(Some(secret));
        }
        // A partial ARN: the name without the random suffix.
        Ok(self
            .store()
            .get_secret_by_name(&caller.account, &caller.region, name)
            .await?)
    }

    /// CreateSecret.
    pub async fn create_secret(
        &self,
        caller: &Caller,
        req: CreateSecretRequest,
        audit: &SecretsAudit<'_>,
    ) -> Result<SecretWrite, Error> {
        check_name(&req.name)?;
        check_tags(&req.tags)?;
        if let Some(v) = &req.value {
            check_value(v)?;
        }
        if let Some(t) = &req.token {
            check_token(t)?;
        }
        let now = self.clock().now();
        let arn = format!(
            "arn:aws:secretsmanager:{}:{}:secret:{}-{}",
            caller.region,
            caller.account,
            req.name,
            arn_suffix()?
        );
        let probe = Secret {
            arn: arn.clone(),
            account: caller.account.clone(),
            region: caller.region.clone(),
            name: req.name.clone(),
            description: req.description.unwrap_or_default(),
            kms_key_id: req.kms_key_id,
            created_at: now,
            last_changed_at: now,
            deletion_date: None,
            tags: req.tags,
            resource_policy: None,
            rotation: None,
            version: 1,
        };
        self.authorize_secret(caller, Action::SmCreateSecret, Some(&probe), &arn)
            .await?;
        if let Some(existing) = self
            .store()
            .get_secret_by_name(&caller.account, &caller.region, &probe.name)
            .await?
        {
            return Err(if existing.deletion_date.is_some() {
                Error::InvalidState(
                    "You can't create this secret because a secret with this name is already scheduled for deletion.".into(),
                )
            } else {
                already_exists(&probe.name)
            });
        }
        let version = match &req.value {
            Some(value) => {
                let id = match req.token {
                    Some(t) => t,
                    None => new_version_id()?,
                };
                let key = self
                    .secret_key(caller, probe.kms_key_id.as_deref(), audit)
                    .await?;
                Some(
                    self.seal_secret(
                        caller,
                        &key,
                        &arn,
                        &id,
                        value,
                        vec![AWSCURRENT.to_owned()],
                        now,
                        audit,
                    )
                    .await?,
                )
            }
            None => None,
        };
        let draft = (audit.change)(&probe);
        match self
            .store()
            .create_secret(&probe, version.as_ref(), self.append(&draft))
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(already_exists(&probe.name)),
            Err(e) => return Err(e.into()),
        }
        Ok(SecretWrite {
            secret: probe,
            stages: version
                .as_ref()
                .map(|v| v.stages.clone())
                .unwrap_or_default(),
            version_id: version.map(|v| v.version_id),
        })
    }

    /// GetSecretValue: the version `version_id` names, or the one with `stage` (AWSCURRENT
    /// when neither is given; both must name the same version).
    pub async fn get_secret_value(
        &self,
        caller: &Caller,
        id: &str,
        version_id: Option<&str>,
        stage: Option<&str>,
        via: crate::ViaLog<'_>,
    ) -> Result<SecretRead, Error> {
        self.read_secret(caller, id, version_id, stage, Action::SmGetSecretValue, via)
            .await
    }

    pub(crate) async fn read_secret(
        &self,
        caller: &Caller,
        id: &str,
        version_id: Option<&str>,
        stage: Option<&str>,
        action: Action,
        via: crate::ViaLog<'_>,
    ) -> Result<SecretRead, Error> {
        let secret = self.find_secret(caller, id, action).await?;
        if secret.deletion_date.is_some() {
            return Err(marked_for_deletion());
        }
        let versions = self.store().secret_versions(&secret.arn).await?;
        let stage = match (version_id, stage) {
            (None, None) => Some(AWSCURRENT),
            (_, s) => s,
        };
        let version = versions
            .into_iter()
            .find(|v| {
                version_id.is_none_or(|id| v.version_id == id) && stage.is_none_or(|s| v.has(s))
            })
            .ok_or_else(|| {
                Error::NotFound(match (version_id, stage) {
                    (Some(id), _) => format!(
                        "Secrets Manager can't find the specified secret value for VersionId: {id}"
                    ),
                    (None, s) => format!(
                        "Secrets Manager can't find the specified secret value for staging label: {}",
                        s.unwrap_or(AWSCURRENT)
                    ),
                })
            })?;
        let value = self.open_secret(caller, &version, via).await?;
        Ok(SecretRead {
            secret,
            version,
            value,
        })
    }

    /// PutSecretValue: a new version with `stages` (AWSCURRENT when none are given). A
    /// repeated ClientRequestToken with the same value changes nothing; with another value it
    /// is ResourceExistsException.
    pub async fn put_secret_value(
        &self,
        caller: &Caller,
        id: &str,
        value: SecretValue,
        token: Option<String>,
        stages: Option<Vec<String>>,
        audit: &SecretsAudit<'_>,
    ) -> Result<SecretWrite, Error> {
        let secret = self
            .find_secret(caller, id, Action::SmPutSecretValue)
            .await?;
        self.new_version(
            caller,
            secret,
            value,
            token,
            stages,
            None,
            Vec::new(),
            audit,
        )
        .await
    }

    /// Adds a version to `secret`, moving its labels; `changed` also updates the secret's
    /// description or key in the same write.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn new_version(
        &self,
        caller: &Caller,
        mut secret: Secret,
        value: SecretValue,
        token: Option<String>,
        stages: Option<Vec<String>>,
        changed: Option<&(dyn Fn(&mut Secret) + Send + Sync)>,
        rewrapped: Vec<SecretVersion>,
        audit: &SecretsAudit<'_>,
    ) -> Result<SecretWrite, Error> {
        if secret.deletion_date.is_some() {
            return Err(marked_for_deletion());
        }
        check_value(&value)?;
        if let Some(t) = &token {
            check_token(t)?;
        }
        let stages = stages.unwrap_or_else(|| vec![AWSCURRENT.to_owned()]);
        if stages.len() > 20 || stages.iter().any(|s| s.is_empty() || s.len() > 256) {
            return Err(Error::Validation(
                "VersionStages: at most 20 labels of 1-256 characters.".into(),
            ));
        }
        let mut versions = self.store().secret_versions(&secret.arn).await?;
        for r in rewrapped {
            if let Some(v) = versions.iter_mut().find(|v| v.version_id == r.version_id) {
                *v = r;
            }
        }
        let version_id = match token {
            Some(t) => t,
            None => new_version_id()?,
        };
        if let Some(existing) = versions.iter().find(|v| v.version_id == version_id) {
            let stored = self.open_secret(caller, existing, audit.via).await?;
            let same = stored.is_binary() == value.is_binary()
                && kinko_crypto::constant_time_eq(stored.bytes().expose(), value.bytes().expose());
            if same && changed.is_none() {
                // Nothing changes, but the request is recorded like every other.
                self.touch_secret(&mut secret, audit).await?;
                return Ok(SecretWrite {
                    stages: existing.stages.clone(),
                    version_id: Some(version_id),
                    secret,
                });
            }
            return Err(Error::AlreadyExists(
                "You can't modify an existing version, you can only create a new version.".into(),
            ));
        }
        let now = self.clock().now();
        if let Some(change) = changed {
            change(&mut secret);
        }
        let key = self
            .secret_key(caller, secret.kms_key_id.as_deref(), audit)
            .await?;
        let sealed = self
            .seal_secret(
                caller,
                &key,
                &secret.arn,
                &version_id,
                &value,
                Vec::new(),
                now,
                audit,
            )
            .await?;
        versions.push(sealed);
        for label in &stages {
            move_label(&mut versions, label, &version_id);
        }
        secret.last_changed_at = now;
        secret.version += 1;
        let draft = (audit.change)(&secret);
        self.store()
            .update_secret(&secret, &versions, &[], self.append(&draft))
            .await
            .map_err(secret_conflict)?;
        Ok(SecretWrite {
            stages,
            version_id: Some(version_id),
            secret,
        })
    }

    /// UpdateSecret: description, KMS key (re-encrypting every labelled version under the new
    /// key) and optionally a new value (a new AWSCURRENT version).
    #[allow(clippy::too_many_arguments)]
    pub async fn update_secret(
        &self,
        caller: &Caller,
        id: &str,
        description: Option<String>,
        kms_key_id: Option<String>,
        value: Option<SecretValue>,
        token: Option<String>,
        audit: &SecretsAudit<'_>,
    ) -> Result<SecretWrite, Error> {
        let mut secret = self.find_secret(caller, id, Action::SmUpdateSecret).await?;
        if secret.deletion_date.is_some() {
            return Err(marked_for_deletion());
        }
        let new_key = kms_key_id.filter(|k| Some(k) != secret.kms_key_id.as_ref());
        let rewrapped = match &new_key {
            Some(k) => self.rewrap_versions(caller, &secret, k, audit).await?,
            None => Vec::new(),
        };
        let apply = |s: &mut Secret| {
            if let Some(d) = &description {
                s.description = d.clone();
            }
            if let Some(k) = &new_key {
                s.kms_key_id = Some(k.clone());
            }
        };
        if let Some(value) = value {
            return self
                .new_version(
                    caller,
                    secret,
                    value,
                    token,
                    None,
                    Some(&apply),
                    rewrapped,
                    audit,
                )
                .await;
        }
        apply(&mut secret);
        secret.last_changed_at = self.clock().now();
        secret.version += 1;
        let draft = (audit.change)(&secret);
        self.store()
            .update_secret(&secret, &rewrapped, &[], self.append(&draft))
            .await
            .map_err(secret_conflict)?;
        Ok(SecretWrite {
            secret,
            version_id: None,
            stages: Vec::new(),
        })
    }

    /// Every labelled version of `secret` sealed again under `key_id` (same version ids, same
    /// encryption context), for the UpdateSecret that names the new key to write.
    async fn rewrap_versions(
        &self,
        caller: &Caller,
        secret: &Secret,
        key_id: &str,
        audit: &SecretsAudit<'_>,
    ) -> Result<Vec<SecretVersion>, Error> {
        let key = self.secret_key(caller, Some(key_id), audit).await?;
        let mut rewrapped = Vec::new();
        for v in self.store().secret_versions(&secret.arn).await? {
            if v.stages.is_empty() {
                continue;
            }
            let value = self.open_secret(caller, &v, audit.via).await?;
            rewrapped.push(
                self.seal_secret(
                    caller,
                    &key,
                    &secret.arn,
                    &v.version_id,
                    &value,
                    v.stages.clone(),
                    v.created_at,
                    audit,
                )
                .await?,
            );
        }
        Ok(rewrapped)
    }
}

impl Kms {
    /// Records a request that succeeded without changing the secret (a repeated
    /// ClientRequestToken, a restore of a secret not pending deletion): the record commits
    /// with a version bump, as every successful change's does.
    pub(crate) async fn touch_secret(
        &self,
        secret: &mut Secret,
        audit: &SecretsAudit<'_>,
    ) -> Result<(), Error> {
        secret.version += 1;
        let draft = (audit.change)(secret);
        self.store()
            .update_secret(secret, &[], &[], self.append(&draft))
            .await
            .map_err(secret_conflict)
    }
}

fn already_exists(name: &str) -> Error {
    Error::AlreadyExists(format!(
        "The operation failed because the secret {name} already exists."
    ))
}

/// A concurrent change of the same secret.
pub(crate) fn secret_conflict(e: StoreError) -> Error {
    match e {
        StoreError::Conflict(_) => Error::InvalidState(
            "The secret was changed by another request at the same time; retry.".into(),
        ),
        other => other.into(),
    }
}

/// When a secret pending deletion is deleted, `days` after `now`.
pub(crate) fn deletion_date(now: UnixMillis, days: u32) -> UnixMillis {
    now.plus_days(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: &str, stages: &[&str]) -> SecretVersion {
        SecretVersion {
            secret_arn: "arn".into(),
            version_id: id.into(),
            created_at: UnixMillis(0),
            stages: stages.iter().map(|s| (*s).to_owned()).collect(),
            key_arn: String::new(),
            wrapped_key: Vec::new(),
            sealed: Vec::new(),
            is_binary: false,
        }
    }

    fn stages(versions: &[SecretVersion]) -> Vec<(String, Vec<String>)> {
        versions
            .iter()
            .map(|v| (v.version_id.clone(), v.stages.clone()))
            .collect()
    }

    #[test]
    fn moving_awscurrent_gives_its_old_holder_awsprevious() {
        let mut vs = vec![
            version("a", &["AWSPREVIOUS"]),
            version("b", &["AWSCURRENT", "mine"]),
            version("c", &["AWSPENDING"]),
        ];
        move_label(&mut vs, AWSCURRENT, "c");
        assert_eq!(
            stages(&vs),
            vec![
                ("a".into(), vec![]),
                ("b".into(), vec!["mine".into(), "AWSPREVIOUS".into()]),
                ("c".into(), vec!["AWSPENDING".into(), "AWSCURRENT".into()]),
            ]
        );
        // Moving another label moves only that label.
        move_label(&mut vs, "mine", "a");
        assert_eq!(vs[0].stages, vec!["mine".to_owned()]);
        assert_eq!(vs[1].stages, vec!["AWSPREVIOUS".to_owned()]);
        // Moving AWSCURRENT onto the version that has it changes nothing.
        let before = stages(&vs);
        move_label(&mut vs, AWSCURRENT, "c");
        assert_eq!(stages(&vs), before);
    }

    #[test]
    fn names_tokens_and_suffixes() {
        assert!(check_name("prod/db/password_1+=.@-").is_ok());
        for bad in ["", "has space", "semi;colon", &"x".repeat(513)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_token(&"t".repeat(32)).is_ok());
        assert!(check_token(&"t".repeat(31)).is_err());
        assert!(check_token(&"t".repeat(65)).is_err());
        let a = arn_suffix().expect("random");
        assert_eq!(a.len(), 6);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        let id = new_version_id().expect("random");
        assert_eq!(id.len(), 36);
        assert_ne!(id, new_version_id().expect("random"));
    }

    #[test]
    fn values_over_64_kib_and_reserved_tags_are_refused() {
        let big = SecretValue::String(kinko_crypto::SecretBytes::new(vec![b'x'; 65_537]));
        assert!(matches!(check_value(&big), Err(Error::Validation(_))));
        let max = SecretValue::Binary(kinko_crypto::SecretBytes::new(vec![0; 65_536]));
        assert!(check_value(&max).is_ok());
        let reserved = [Tag {
            key: "AWS:x".into(),
            value: String::new(),
        }];
        assert!(check_tags(&reserved).is_err());
        let many: Vec<Tag> = (0..51)
            .map(|i| Tag {
                key: format!("k{i}"),
                value: String::new(),
            })
            .collect();
        assert!(matches!(check_tags(&many), Err(Error::LimitExceeded(_))));
    }
}
