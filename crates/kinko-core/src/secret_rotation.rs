//! A secret's rotation by a rotation function: RotateSecret's stored part (the function's ARN,
//! the schedule from RotationRules, RotationEnabled), the outcome of a run (LastRotatedDate,
//! NextRotationDate, the failure), CancelRotateSecret, and the rotations the scheduler finds
//! due. Calling the function (the four steps over HTTP) is the server's part.

use crate::actions::Action;
use crate::secret_model::{AWSCURRENT, AWSPENDING, Secret, SecretRotation};
use crate::secret_schedule::{Cron, window_ms};
use crate::secrets::{marked_for_deletion, secret_conflict};
use crate::secrets_seal::SecretsAudit;
use crate::{AuditDraft, Caller, Error, Kms, UnixMillis};

const HOUR_MS: i64 = 3_600_000;

/// AWS's answer to RotateSecret while AWSPENDING marks an unfinished rotation (InvalidRequestException).
pub const ROTATION_IN_PROGRESS: &str =
    "A previous rotation isn't complete. That rotation will be reattempted.";
const DAY_MS: i64 = 24 * HOUR_MS;

/// RotateSecret's parameters, as given.
#[derive(Debug, Default, Clone)]
pub struct RotationRequest {
    /// RotationLambdaARN.
    pub lambda_arn: Option<String>,
    /// RotationRules.AutomaticallyAfterDays.
    pub after_days: Option<i64>,
    /// RotationRules.ScheduleExpression.
    pub schedule: Option<String>,
    /// RotationRules.Duration (`Nh`: checked against the schedule and shown by
    /// DescribeSecret; a rotation starts when its window opens).
    pub duration: Option<String>,
}

/// The interval a RotationRules gives, in milliseconds.
pub fn rotation_interval(after_days: Option<i64>, schedule: Option<&str>) -> Result<i64, Error> {
    match (after_days, schedule) {
        (Some(_), Some(_)) => Err(Error::Validation(
            "You can't specify both AutomaticallyAfterDays and ScheduleExpression.".into(),
        )),
        (Some(days), None) => {
            if !(1..=1000).contains(&days) {
                return Err(Error::Validation(
                    "AutomaticallyAfterDays must be between 1 and 1000.".into(),
                ));
            }
            Ok(days * DAY_MS)
        }
        (None, Some(expr)) => schedule_interval(expr),
        (None, None) => Err(Error::Validation(
            "RotationRules must have AutomaticallyAfterDays or ScheduleExpression.".into(),
        )),
    }
}

/// `rate(N days)` / `rate(N hours)`, or for `cron(…)` the smallest gap between rotations.
fn schedule_interval(expr: &str) -> Result<i64, Error> {
    let expr = expr.trim();
    if expr.starts_with("cron(") {
        return Cron::parse(expr)?.check(None);
    }
    let inner = expr
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| {
            Error::Validation("ScheduleExpression must be rate(N days) or rate(N hours).".into())
        })?;
    let (n, unit) = inner.trim().split_once(' ').ok_or_else(|| {
        Error::Validation("ScheduleExpression must be rate(N days) or rate(N hours).".into())
    })?;
    let n: i64 = n.parse().map_err(|_| {
        Error::Validation("The rate in ScheduleExpression must be a number.".into())
    })?;
    let (unit_ms, max) = match unit.trim() {
        "day" | "days" => (DAY_MS, 1000),
        "hour" | "hours" => (HOUR_MS, 1000 * 24),
        _ => {
            return Err(Error::Validation(
                "ScheduleExpression must be rate(N days) or rate(N hours).".into(),
            ));
        }
    };
    if unit_ms == HOUR_MS && !(4..=max).contains(&n) || unit_ms == DAY_MS && !(1..=max).contains(&n)
    {
        return Err(Error::Validation(
            "The rate in ScheduleExpression is out of range (4 hours to 1000 days).".into(),
        ));
    }
    Ok(n * unit_ms)
}

/// When the next rotation is due: a `cron()` schedule's next window after `now`, else
/// `base` (the last rotation, or now) plus the interval.
fn next_due(
    schedule: Option<&str>,
    interval_ms: i64,
    base: UnixMillis,
    now: UnixMillis,
) -> UnixMillis {
    match schedule.filter(|s| s.trim().starts_with("cron(")) {
        Some(expr) => Cron::parse(expr)
            .ok()
            .and_then(|c| c.next_after(now.0))
            .map_or(UnixMillis(now.0 + interval_ms), UnixMillis),
        None => UnixMillis(base.0 + interval_ms),
    }
}

/// The rotation window against its schedule, as AWS checks it: a `cron()` window stays within
/// its UTC day and before the next rotation; a `rate()` (or AutomaticallyAfterDays) window
/// opens at midnight, so it is at most a day, and at most the rate in hours.
fn check_window(schedule: Option<&str>, interval_ms: i64, window: i64) -> Result<(), Error> {
    match schedule.filter(|s| s.trim().starts_with("cron(")) {
        Some(expr) => Cron::parse(expr)?.check(Some(window)).map(|_| ()),
        None if window > interval_ms.min(DAY_MS) => Err(Error::Validation(
            "The rotation window (Duration) extends into the next UTC day or the next rotation window.".into(),
        )),
        None => Ok(()),
    }
}

impl Kms {
    /// RotateSecret's stored part: records the function and schedule and turns rotation on.
    /// `known` says whether the server can reach a function ARN.
    pub async fn configure_secret_rotation(
        &self,
        caller: &Caller,
        id: &str,
        req: RotationRequest,
        known: &(dyn Fn(&str) -> bool + Send + Sync),
        audit: &SecretsAudit<'_>,
    ) -> Result<Secret, Error> {
        let mut secret = self.find_secret(caller, id, Action::SmRotateSecret).await?;
        if secret.deletion_date.is_some() {
            return Err(marked_for_deletion());
        }
        // AWSPENDING on a version that is not AWSCURRENT: a rotation stopped part way. AWS
        // refuses a new one; the scheduler (or CancelRotateSecret) settles the old one first.
        let versions = self.store().secret_versions(&secret.arn).await?;
        if versions
            .iter()
            .any(|v| v.has(AWSPENDING) && !v.has(AWSCURRENT))
        {
            return Err(Error::InvalidState(ROTATION_IN_PROGRESS.into()));
        }
        let previous = secret.rotation.clone();
        let lambda_arn = match (req.lambda_arn, &previous) {
            (Some(arn), _) => arn,
            (None, Some(p)) => p.lambda_arn.clone(),
            (None, None) => {
                return Err(Error::InvalidState(
                    "No Lambda rotation function ARN is associated with this secret.".into(),
                ));
            }
        };
        if !known(&lambda_arn) {
            return Err(Error::InvalidState(format!(
                "Secrets Manager cannot invoke the specified Lambda function {lambda_arn}: it is not configured (kinko serve --rotation-function ARN=URL)."
            )));
        }
        let rules_given = req.after_days.is_some() || req.schedule.is_some();
        let (after_days, schedule, interval_ms) = match (req.after_days, req.schedule, &previous) {
            (None, None, Some(p)) => (p.after_days, p.schedule.clone(), p.interval_ms),
            (None, None, None) => {
                return Err(Error::Validation(
                    "You must provide RotationRules to turn on rotation.".into(),
                ));
            }
            (days, schedule, _) => {
                let interval = rotation_interval(days, schedule.as_deref())?;
                (days, schedule, interval)
            }
        };
        let duration = match (req.duration, &previous) {
            (Some(d), _) => Some(d),
            (None, Some(p)) if !rules_given => p.duration.clone(),
            (None, _) => None,
        };
        if let Some(d) = &duration {
            check_window(schedule.as_deref(), interval_ms, window_ms(d)?)?;
        }
        let now = self.clock().now();
        let last_rotated = previous.as_ref().and_then(|p| p.last_rotated);
        let base = last_rotated.unwrap_or(now);
        secret.rotation = Some(SecretRotation {
            enabled: true,
            lambda_arn,
            after_days,
            next_rotation: Some(next_due(schedule.as_deref(), interval_ms, base, now)),
            schedule,
            duration,
            interval_ms,
            last_rotated,
            last_failure: previous.and_then(|p| p.last_failure),
        });
        self.store_rotation(secret, audit.change).await
    }

    /// Records how the rotation of `arn` with `token` went: a success sets LastRotatedDate and
    /// the next date, and takes AWSPENDING off the version `token` once it is AWSCURRENT (as
    /// Secrets Manager does when finishSecret has moved the label); a failure keeps the versions as they are (AWSPENDING stays) and records `failure`
    /// (retried by the scheduler an hour later at the earliest). `draft` is the audit record.
    pub async fn record_secret_rotation(
        &self,
        arn: &str,
        token: &str,
        failure: Option<String>,
        draft: &AuditDraft,
    ) -> Result<Secret, Error> {
        let mut secret =
            self.store().get_secret(arn).await?.ok_or_else(|| {
                Error::NotFound("The secret was deleted during its rotation.".into())
            })?;
        let now = self.clock().now();
        let Some(rotation) = secret.rotation.as_mut() else {
            return Ok(secret);
        };
        let mut versions = Vec::new();
        match failure {
            None => {
                versions = self.store().secret_versions(arn).await?;
                versions
                    .retain(|v| v.version_id == token && v.has(AWSCURRENT) && v.has(AWSPENDING));
                for v in versions.iter_mut() {
                    v.stages.retain(|s| s != AWSPENDING);
                }
                rotation.last_rotated = Some(now);
                rotation.next_rotation = Some(next_due(
                    rotation.schedule.as_deref(),
                    rotation.interval_ms,
                    now,
                    now,
                ));
                rotation.last_failure = None;
            }
            Some(why) => {
                rotation.next_rotation =
                    Some(UnixMillis(now.0 + rotation.interval_ms.min(HOUR_MS)));
                rotation.last_failure = Some(why);
            }
        }
        secret.version += 1;
        self.store()
            .update_secret(&secret, &versions, &[], self.append(draft))
            .await
            .map_err(secret_conflict)?;
        Ok(secret)
    }

    /// CancelRotateSecret: turns rotation off and takes AWSPENDING off a version that is not
    /// also AWSCURRENT (a rotation stopped part way).
    pub async fn cancel_secret_rotation(
        &self,
        caller: &Caller,
        id: &str,
        audit: &SecretsAudit<'_>,
    ) -> Result<Secret, Error> {
        let mut secret = self
            .find_secret(caller, id, Action::SmCancelRotateSecret)
            .await?;
        if secret.deletion_date.is_some() {
            return Err(marked_for_deletion());
        }
        if let Some(r) = secret.rotation.as_mut() {
            r.enabled = false;
            r.next_rotation = None;
        }
        let mut versions = self.store().secret_versions(&secret.arn).await?;
        versions.retain(|v| v.has(AWSPENDING) && !v.has(AWSCURRENT));
        for v in versions.iter_mut() {
            v.stages.retain(|s| s != AWSPENDING);
        }
        secret.version += 1;
        let draft = (audit.change)(&secret);
        self.store()
            .update_secret(&secret, &versions, &[], self.append(&draft))
            .await
            .map_err(secret_conflict)?;
        Ok(secret)
    }

    /// Runs `rotate` on each secret whose rotation is enabled and due at `now` (at most 100 a
    /// pass), while this node holds the store's job lock (one node at a time).
    pub async fn rotate_due_secrets<F, Fut>(&self, rotate: F) -> Result<Vec<String>, Error>
    where
        F: Fn(Secret) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let Some(lock) = self.store().try_job_lock().await? else {
            return Ok(Vec::new());
        };
        let now = self.clock().now();
        let due = match self.store().secrets_rotating(10_000).await {
            Ok(all) => all,
            Err(e) => {
                lock.release().await;
                return Err(e.into());
            }
        };
        let mut done = Vec::new();
        for secret in due
            .into_iter()
            .filter(|s| {
                s.rotation
                    .as_ref()
                    .is_some_and(|r| r.enabled && r.next_rotation.is_some_and(|n| n <= now))
            })
            .take(100)
        {
            done.push(secret.arn.clone());
            rotate(secret).await;
        }
        lock.release().await;
        Ok(done)
    }

    async fn store_rotation(
        &self,
        mut secret: Secret,
        change: &(dyn Fn(&Secret) -> AuditDraft + Send + Sync),
    ) -> Result<Secret, Error> {
        secret.version += 1;
        let draft = change(&secret);
        self.store()
            .update_secret(&secret, &[], &[], self.append(&draft))
            .await
            .map_err(secret_conflict)?;
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_give_intervals() {
        assert_eq!(rotation_interval(Some(30), None).ok(), Some(30 * DAY_MS));
        assert_eq!(
            rotation_interval(None, Some("rate(10 days)")).ok(),
            Some(10 * DAY_MS)
        );
        assert_eq!(
            rotation_interval(None, Some("rate(6 hours)")).ok(),
            Some(6 * HOUR_MS)
        );
        assert!(rotation_interval(None, Some("rate(1 hours)")).is_err());
        assert!(rotation_interval(Some(0), None).is_err());
        assert!(rotation_interval(Some(1), Some("rate(1 days)")).is_err());
        assert_eq!(
            rotation_interval(None, Some("cron(0 4/12 * * ? *)")).ok(),
            Some(12 * HOUR_MS)
        );
        assert!(rotation_interval(None, Some("cron(0 0/2 * * ? *)")).is_err());
        assert!(check_window(Some("rate(6 hours)"), 6 * HOUR_MS, 6 * HOUR_MS).is_ok());
        assert!(check_window(Some("rate(6 hours)"), 6 * HOUR_MS, 7 * HOUR_MS).is_err());
        assert!(check_window(None, 30 * DAY_MS, DAY_MS).is_ok());
        assert!(check_window(Some("cron(0 20 * * ? *)"), DAY_MS, 5 * HOUR_MS).is_err());
        // A cron() schedule is due at its next window, not after an interval.
        let wed = UnixMillis(1_736_936_400_000); // 2025-01-15 10:20 UTC
        assert_eq!(
            next_due(Some("cron(0 16 * * ? *)"), DAY_MS, UnixMillis(0), wed),
            UnixMillis(1_736_956_800_000) // 2025-01-15 16:00 UTC
        );
        assert!(rotation_interval(None, Some("every day")).is_err());
        assert!(rotation_interval(None, None).is_err());
    }
}
