//! Secrets Manager's operations on a secret's metadata and lifecycle: DescribeSecret,
//! ListSecrets (filters, sorting, paging), ListSecretVersionIds, UpdateSecretVersionStage,
//! DeleteSecret (a recovery window of 7–30 days, or at once), RestoreSecret, TagResource,
//! UntagResource, BatchGetSecretValue, GetRandomPassword, and the scheduler's deletion of
//! secrets whose recovery window has ended.

use kinko_crypto::{SecretBytes, random_array};

use crate::actions::Action;
use crate::rules::{decode_marker, encode_marker};
use crate::secret_model::{AWSCURRENT, Secret, SecretVersion};
use crate::secrets::{
    SecretRead, check_tags, deletion_date, marked_for_deletion, move_label, secret_conflict,
};
use crate::secrets_seal::SecretsAudit;
use crate::{AuditDraft, Caller, Error, Kms, Tag, ViaLog};

/// One ListSecrets filter: `description`, `name`, `tag-key`, `tag-value`, `primary-region`,
/// `owning-service` or `all`, with values matched as prefixes (a leading `!` negates).
#[derive(Debug, Clone)]
pub struct SecretFilter {
    /// The filter key.
    pub key: String,
    /// Its values (any may match).
    pub values: Vec<String>,
}

/// A page of secrets.
#[derive(Debug)]
pub struct SecretPage<T> {
    /// The items.
    pub items: Vec<T>,
    /// The token of the next page.
    pub next_token: Option<String>,
}

/// GetRandomPassword's options.
#[derive(Debug, Clone)]
pub struct PasswordRules {
    /// Length, 1–4096 (default 32).
    pub length: usize,
    /// Characters never used.
    pub exclude: String,
    /// No digits.
    pub exclude_numbers: bool,
    /// No punctuation.
    pub exclude_punctuation: bool,
    /// No upper case letters.
    pub exclude_uppercase: bool,
    /// No lower case letters.
    pub exclude_lowercase: bool,
    /// The space character may be used.
    pub include_space: bool,
    /// At least one character of every included type.
    pub require_each_type: bool,
}

impl Default for PasswordRules {
    fn default() -> Self {
        PasswordRules {
            length: 32,
            exclude: String::new(),
            exclude_numbers: false,
            exclude_punctuation: false,
            exclude_uppercase: false,
            exclude_lowercase: false,
            include_space: false,
            require_each_type: true,
        }
    }
}

/// An item of BatchGetSecretValue: the value read, or the error for that secret.
#[derive(Debug)]
pub enum BatchItem {
    /// Read.
    Value(Box<SecretRead>),
    /// Not read: the SecretId asked for and why.
    Error(String, Error),
}

const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

fn matches_filter(secret: &Secret, f: &SecretFilter) -> bool {
    let test = |field: &str, value: &str| field.starts_with(value);
    f.values.iter().any(|raw| {
        let (negate, value) = match raw.strip_prefix('!') {
            Some(v) => (true, v),
            None => (false, raw.as_str()),
        };
        let hit = match f.key.as_str() {
            "name" => test(&secret.name, value),
            "description" => test(&secret.description, value),
            "tag-key" => secret.tags.iter().any(|t| test(&t.key, value)),
            "tag-value" => secret.tags.iter().any(|t| test(&t.value, value)),
            "primary-region" => test(secret.region.as_str(), value),
            "owning-service" => false,
            _ => {
                test(&secret.name, value)
                    || test(&secret.description, value)
                    || secret
                        .tags
                        .iter()
                        .any(|t| test(&t.key, value) || test(&t.value, value))
            }
        };
        hit != negate
    })
}

fn page_of<T: Clone>(items: &[T], max: usize, token: Option<&str>) -> Result<SecretPage<T>, Error> {
    let start = match token {
        Some(t) => decode_marker(t)
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(|| Error::InvalidMarker("The NextToken is not valid.".into()))?,
        None => 0,
    };
    let end = (start + max).min(items.len());
    Ok(SecretPage {
        items: items[start..end].to_vec(),
        next_token: (end < items.len()).then(|| encode_marker(&end.to_string())),
    })
}

impl Kms {
    /// DescribeSecret: the secret and its versions' labels.
    pub async fn describe_secret(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<(Secret, Vec<SecretVersion>), Error> {
        let secret = self
            .find_secret(caller, id, Action::SmDescribeSecret)
            .await?;
        let versions = self.store().secret_versions(&secret.arn).await?;
        Ok((secret, versions))
    }

    /// ListSecrets, with the labels of each secret's versions.
    pub async fn list_secrets(
        &self,
        caller: &Caller,
        filters: &[SecretFilter],
        include_planned_deletion: bool,
        descending: bool,
        max: usize,
        token: Option<&str>,
    ) -> Result<SecretPage<(Secret, Vec<SecretVersion>)>, Error> {
        self.authorize_secret(caller, Action::SmListSecrets, None, "*")
            .await?;
        for f in filters {
            if !matches!(
                f.key.as_str(),
                "description"
                    | "name"
                    | "tag-key"
                    | "tag-value"
                    | "primary-region"
                    | "owning-service"
                    | "all"
            ) {
                return Err(Error::Validation(format!(
                    "Invalid filter key {}: expected description, name, tag-key, tag-value, primary-region, owning-service or all.",
                    f.key
                )));
            }
        }
        let mut secrets: Vec<Secret> = self
            .store()
            .list_secrets(&caller.account, &caller.region)
            .await?
            .into_iter()
            .filter(|s| include_planned_deletion || s.deletion_date.is_none())
            .filter(|s| filters.iter().all(|f| matches_filter(s, f)))
            .collect();
        secrets.sort_by(|a, b| {
            (a.created_at, &a.name)
                .cmp(&(b.created_at, &b.name))
                .then(std::cmp::Ordering::Equal)
        });
        if descending {
            secrets.reverse();
        }
        let page = page_of(&secrets, max, token)?;
        let mut items = Vec::with_capacity(page.items.len());
        for s in page.items {
            let versions = self.store().secret_versions(&s.arn).await?;
            items.push((s, versions));
        }
        Ok(SecretPage {
            items,
            next_token: page.next_token,
        })
    }

    /// ListSecretVersionIds (versions without labels only with `include_deprecated`).
    pub async fn list_secret_version_ids(
        &self,
        caller: &Caller,
        id: &str,
        include_deprecated: bool,
        max: usize,
        token: Option<&str>,
    ) -> Result<(Secret, SecretPage<SecretVersion>), Error> {
        let secret = self
            .find_secret(caller, id, Action::SmListSecretVersionIds)
            .await?;
        let mut versions = self.store().secret_versions(&secret.arn).await?;
        versions.retain(|v| include_deprecated || !v.stages.is_empty());
        versions.reverse();
        let page = page_of(&versions, max, token)?;
        Ok((secret, page))
    }

    /// UpdateSecretVersionStage: moves (or removes) a staging label.
    pub async fn update_secret_version_stage(
        &self,
        caller: &Caller,
        id: &str,
        stage: &str,
        remove_from: Option<&str>,
        move_to: Option<&str>,
        audit: &SecretsAudit<'_>,
    ) -> Result<Secret, Error> {
        let mut secret = self
            .find_secret(caller, id, Action::SmUpdateSecretVersionStage)
            .await?;
        if secret.deletion_date.is_some() {
            return Err(marked_for_deletion());
        }
        if stage.is_empty() || stage.len() > 256 {
            return Err(Error::Validation(
                "VersionStage must be 1-256 characters.".into(),
            ));
        }
        let mut versions = self.store().secret_versions(&secret.arn).await?;
        let holder = versions
            .iter()
            .find(|v| v.has(stage))
            .map(|v| v.version_id.clone());
        for named in [remove_from, move_to].into_iter().flatten() {
            if !versions.iter().any(|v| v.version_id == named) {
                return Err(Error::Validation(format!(
                    "The version {named} does not exist for this secret."
                )));
            }
        }
        if let Some(from) = remove_from
            && holder.as_deref() != Some(from)
        {
            return Err(Error::Validation(format!(
                "The staging label {stage} is not attached to version {from}."
            )));
        }
        if let (Some(holder), Some(to)) = (&holder, move_to)
            && holder != to
            && remove_from != Some(holder.as_str())
        {
            return Err(Error::Validation(format!(
                "The parameter RemoveFromVersionId can't be empty. Staging label {stage} is currently attached to version {holder}, so you must explicitly reference that version in RemoveFromVersionId."
            )));
        }
        match move_to {
            Some(to) => move_label(&mut versions, stage, to),
            None => {
                if stage == AWSCURRENT {
                    return Err(Error::Validation(
                        "You can only move staging label AWSCURRENT to a different secret version. It can't be completely removed.".into(),
                    ));
                }
                for v in versions.iter_mut() {
                    v.stages.retain(|s| s != stage);
                }
            }
        }
        secret.last_changed_at = self.clock().now();
        secret.version += 1;
        let draft = (audit.change)(&secret);
        self.store()
            .update_secret(&secret, &versions, &[], self.append(&draft))
            .await
            .map_err(secret_conflict)?;
        Ok(secret)
    }

    /// DeleteSecret: scheduled `window_days` (7–30, default 30) ahead, or at once with
    /// `force`. Returns the secret and when it is (or was) deleted.
    pub async fn delete_secret(
        &self,
        caller: &Caller,
        id: &str,
        window_days: Option<i64>,
        force: bool,
        audit: &SecretsAudit<'_>,
    ) -> Result<Secret, Error> {
        if force && window_days.is_some() {
            return Err(Error::Validation(
                "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.".into(),
            ));
        }
        let days = match window_days {
            None => 30,
            Some(d @ 7..=30) => d as u32,
            Some(_) => {
                return Err(Error::Validation(
                    "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
                        .into(),
                ));
            }
        };
        let mut secret = self.find_secret(caller, id, Action::SmDeleteSecret).await?;
        let now = self.clock().now();
        if force {
            secret.deletion_date = Some(now);
            let draft = (audit.change)(&secret);
            let mut stored = secret.clone();
            stored.deletion_date = None;
            // The stored row's version is what the delete checks.
            self.store()
                .delete_secret(&stored, self.append(&draft))
                .await
                .map_err(secret_conflict)?;
            return Ok(secret);
        }
        if secret.deletion_date.is_some() {
            return Err(marked_for_deletion());
        }
        secret.deletion_date = Some(deletion_date(now, days));
        secret.version += 1;
        let draft = (audit.change)(&secret);
        self.store()
            .update_secret(&secret, &[], &[], self.append(&draft))
            .await
            .map_err(secret_conflict)?;
        Ok(secret)
    }

    /// RestoreSecret: cancels a scheduled deletion.
    pub async fn restore_secret(
        &self,
        caller: &Caller,
        id: &str,
        audit: &SecretsAudit<'_>,
    ) -> Result<Secret, Error> {
        let mut secret = self
            .find_secret(caller, id, Action::SmRestoreSecret)
            .await?;
        if secret.deletion_date.is_none() {
            self.touch_secret(&mut secret, audit).await?;
            return Ok(secret);
        }
        secret.deletion_date = None;
        secret.version += 1;
        let draft = (audit.change)(&secret);
        self.store()
            .update_secret(&secret, &[], &[], self.append(&draft))
            .await
            .map_err(secret_conflict)?;
        Ok(secret)
    }

    /// TagResource (`tags` added or overwritten) and UntagResource (`remove` keys dropped).
    pub async fn tag_secret(
        &self,
        caller: &Caller,
        id: &str,
        tags: Vec<Tag>,
        remove: Vec<String>,
        audit: &SecretsAudit<'_>,
    ) -> Result<Secret, Error> {
        let action = if remove.is_empty() {
            Action::SmTagResource
        } else {
            Action::SmUntagResource
        };
        let mut secret = self.find_secret(caller, id, action).await?;
        if secret.deletion_date.is_some() {
            return Err(marked_for_deletion());
        }
        check_tags(&tags)?;
        for t in tags {
            match secret.tags.iter_mut().find(|e| e.key == t.key) {
                Some(existing) => existing.value = t.value,
                None => secret.tags.push(t),
            }
        }
        secret.tags.retain(|t| !remove.contains(&t.key));
        check_tags(&secret.tags)?;
        secret.version += 1;
        let draft = (audit.change)(&secret);
        self.store()
            .update_secret(&secret, &[], &[], self.append(&draft))
            .await
            .map_err(secret_conflict)?;
        Ok(secret)
    }

    /// BatchGetSecretValue over a list of SecretIds (each read as GetSecretValue would, its
    /// error reported beside the others), or over the secrets `filters` select.
    pub async fn batch_get_secret_value(
        &self,
        caller: &Caller,
        ids: Option<&[String]>,
        filters: &[SecretFilter],
        max: usize,
        token: Option<&str>,
        via: ViaLog<'_>,
    ) -> Result<SecretPage<BatchItem>, Error> {
        self.authorize_secret(caller, Action::SmBatchGetSecretValue, None, "*")
            .await?;
        let (names, next_token) = match ids {
            Some(ids) => (ids.to_vec(), None),
            None => {
                let page = self
                    .list_secrets(caller, filters, false, false, max, token)
                    .await?;
                (
                    page.items.into_iter().map(|(s, _)| s.arn).collect(),
                    page.next_token,
                )
            }
        };
        let mut items = Vec::with_capacity(names.len());
        for id in names {
            match self
                .read_secret(caller, &id, None, None, Action::SmGetSecretValue, via)
                .await
            {
                Ok(read) => items.push(BatchItem::Value(Box::new(read))),
                Err(e) => items.push(BatchItem::Error(id, e)),
            }
        }
        Ok(SecretPage { items, next_token })
    }

    /// GetRandomPassword.
    pub async fn get_random_password(
        &self,
        caller: &Caller,
        rules: &PasswordRules,
    ) -> Result<SecretBytes, Error> {
        self.authorize_secret(caller, Action::SmGetRandomPassword, None, "*")
            .await?;
        if !(1..=4096).contains(&rules.length) {
            return Err(Error::Validation(
                "PasswordLength must be between 1 and 4096.".into(),
            ));
        }
        let mut classes: Vec<Vec<u8>> = Vec::new();
        let allowed = |set: &str| -> Vec<u8> {
            set.bytes()
                .filter(|b| !rules.exclude.as_bytes().contains(b))
                .collect()
        };
        if !rules.exclude_lowercase {
            classes.push(allowed("abcdefghijklmnopqrstuvwxyz"));
        }
        if !rules.exclude_uppercase {
            classes.push(allowed("ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
        }
        if !rules.exclude_numbers {
            classes.push(allowed("0123456789"));
        }
        if !rules.exclude_punctuation {
            classes.push(allowed(PUNCTUATION));
        }
        if rules.include_space {
            classes.push(allowed(" "));
        }
        classes.retain(|c| !c.is_empty());
        let all: Vec<u8> = classes.iter().flatten().copied().collect();
        if all.is_empty() || (rules.require_each_type && classes.len() > rules.length) {
            return Err(Error::Validation(
                "The password can't be made: the options exclude every character, or the length is too short for one character of each included type.".into(),
            ));
        }
        loop {
            let mut out = Vec::with_capacity(rules.length);
            while out.len() < rules.length {
                let [b] = random_array::<1>()?;
                let n = all.len();
                // Rejection sampling keeps the choice uniform.
                if usize::from(b) < 256 - 256 % n {
                    out.push(all[usize::from(b) % n]);
                }
            }
            let ok = !rules.require_each_type
                || classes.iter().all(|c| out.iter().any(|b| c.contains(b)));
            if ok {
                return Ok(SecretBytes::new(out));
            }
        }
    }

    /// Deletes the secrets whose recovery window has ended; each deletion recorded by
    /// `record`. Runs only while this node holds the store's job lock (one node at a time).
    /// Returns their ARNs.
    pub async fn delete_due_secrets(
        &self,
        record: &(dyn Fn(&Secret) -> AuditDraft + Send + Sync),
    ) -> Result<Vec<String>, Error> {
        let Some(lock) = self.store().try_job_lock().await? else {
            return Ok(Vec::new());
        };
        let result = self.delete_due_secrets_locked(record).await;
        lock.release().await;
        result
    }

    async fn delete_due_secrets_locked(
        &self,
        record: &(dyn Fn(&Secret) -> AuditDraft + Send + Sync),
    ) -> Result<Vec<String>, Error> {
        let now = self.clock().now();
        let mut done = Vec::new();
        for secret in self.store().secrets_due(now, 100).await? {
            let draft = record(&secret);
            match self
                .store()
                .delete_secret(&secret, self.append(&draft))
                .await
            {
                Ok(()) => done.push(secret.arn),
                Err(crate::StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(done)
    }

    /// The secret `id` names, if any, without authorization (for the server's records).
    pub async fn peek_secret(&self, caller: &Caller, id: &str) -> Option<Secret> {
        self.lookup_secret(caller, id).await.ok().flatten()
    }
}
