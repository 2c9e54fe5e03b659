//! AWS's request quotas per account and region ([`table`] lists them): a token bucket per quota
//! and (account, region), refilled at the quota's rate, holding at most one second's worth of
//! requests. A request over its quota gets KMS's `ThrottlingException` (HTTP 400, which every
//! SDK retries with back-off) and changes nothing; it is audited like any failed request.
//!
//! The quota is charged after SigV4 authentication, with the caller's account and the region
//! it signed for: requests that fail authentication never reach a bucket, so nobody without
//! an account's credentials can use up its quota. (Overload from unauthenticated clients is the
//! in-flight limit's business, `inflight.rs`.)

pub(crate) mod table;

use std::hash::{BuildHasher, Hash, Hasher};
use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota as Rate, RateLimiter};
use kinko_api::ErrorCode;
use kinko_core::Caller;
use serde::Deserialize;

use crate::errors::ApiError;
use crate::facts::Parameters;
use table::{QUOTAS, SYMMETRIC};

/// KMS's text for a throttled request.
pub const THROTTLED_MESSAGE: &str =
    "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.";

/// Secrets Manager's text for a throttled request (AWS's generic throttling answer of its
/// JSON services: `ThrottlingException`, "Rate exceeded", HTTP 400).
pub const SECRETS_THROTTLED_MESSAGE: &str = "Rate exceeded";

/// The name that sets every quota at once (`--quota all=off`).
pub const ALL: &str = "all";

/// A configured rate: requests per second, or no limit.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum QuotaRate {
    /// Requests per second (fractions allowed: 0.5 is one request every two seconds).
    PerSecond(f64),
    /// `"off"`: no limit.
    Off(Off),
}

/// The word `off`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Off {
    /// No limit.
    Off,
}

/// A quota setting that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum QuotaError {
    /// No quota has this name.
    #[error("unknown quota {0:?}; the names are listed in the README (\"Quotas\"), or `all`")]
    UnknownName(String),
    /// Not a positive number of requests per second, nor `off`.
    #[error(
        "quota {name}: {value:?} is not a rate (a positive number of requests per second, or off)"
    )]
    BadRate {
        /// The quota.
        name: String,
        /// What was given.
        value: String,
    },
    /// A `--quota` flag without `=`.
    #[error("--quota {0:?}: expected NAME=RATE, for example cryptographic-symmetric=500")]
    NotAPair(String),
}

impl std::str::FromStr for QuotaRate {
    type Err = ();

    fn from_str(s: &str) -> Result<QuotaRate, ()> {
        if s.eq_ignore_ascii_case("off") {
            return Ok(QuotaRate::Off(Off::Off));
        }
        s.parse::<f64>().map(QuotaRate::PerSecond).map_err(|_| ())
    }
}

/// Parses one `--quota NAME=RATE` flag.
pub fn parse_flag(flag: &str) -> Result<(String, QuotaRate), QuotaError> {
    let (name, rate) = flag
        .split_once('=')
        .ok_or_else(|| QuotaError::NotAPair(flag.to_owned()))?;
    let parsed = rate.trim().parse().map_err(|()| QuotaError::BadRate {
        name: name.to_owned(),
        value: rate.to_owned(),
    })?;
    Ok((name.trim().to_owned(), parsed))
}

/// The quotas as configured: AWS's defaults with the overrides applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuotaSettings {
    /// `(index in the table, rate)`; `None` is no limit. Later entries win.
    overrides: Vec<(usize, Option<f64>)>,
}

impl QuotaSettings {
    /// Every quota off (tests that are not about quotas).
    pub fn off() -> QuotaSettings {
        QuotaSettings {
            overrides: (0..QUOTAS.len()).map(|i| (i, None)).collect(),
        }
    }

    /// AWS's defaults with `entries` applied in order; the name `all` sets every quota.
    pub fn from_entries<'a>(
        entries: impl IntoIterator<Item = (&'a str, QuotaRate)>,
    ) -> Result<QuotaSettings, QuotaError> {
        let mut overrides = Vec::new();
        for (name, rate) in entries {
            let rate = match rate {
                QuotaRate::Off(_) => None,
                QuotaRate::PerSecond(r) if r.is_finite() && r > 0.0 && r <= 1e9 => Some(r),
                QuotaRate::PerSecond(r) => {
                    return Err(QuotaError::BadRate {
                        name: name.to_owned(),
                        value: r.to_string(),
                    });
                }
            };
            if name == ALL {
                overrides.extend((0..QUOTAS.len()).map(|i| (i, rate)));
            } else {
                let index = table::index_of(name)
                    .ok_or_else(|| QuotaError::UnknownName(name.to_owned()))?;
                overrides.push((index, rate));
            }
        }
        Ok(QuotaSettings { overrides })
    }

    /// The configured rate of quota `index`: `Some(None)` off, `None` the default.
    fn configured(&self, index: usize) -> Option<Option<f64>> {
        self.overrides
            .iter()
            .rev()
            .find(|(i, _)| *i == index)
            .map(|(_, rate)| *rate)
    }
}

type Bucket = DefaultKeyedRateLimiter<u64>;

/// The buckets of one quota.
#[derive(Debug)]
enum Limit {
    /// No limit.
    Off,
    /// One rate in every region.
    Everywhere(Bucket),
    /// The symmetric default: a rate per tier of regions (10,000, 20,000, 100,000).
    ByRegion(Box<[Bucket; 3]>),
}

fn bucket(rate: f64) -> Bucket {
    let period = Duration::from_secs_f64(1.0 / rate).max(Duration::from_nanos(1));
    let burst = NonZeroU32::new(rate.floor().clamp(1.0, f64::from(u32::MAX)) as u32)
        .unwrap_or(NonZeroU32::MIN);
    let quota = Rate::with_period(period)
        .unwrap_or_else(|| Rate::per_second(NonZeroU32::MIN))
        .allow_burst(burst);
    RateLimiter::keyed(quota)
}

/// Every quota's buckets, keyed by (account, region).
#[derive(Debug)]
pub struct Quotas {
    limits: Vec<Limit>,
    /// Hashes (account, region) into a bucket key, with a per-process random seed.
    hasher: std::collections::hash_map::RandomState,
}

impl Quotas {
    /// The buckets for `settings`.
    pub fn new(settings: &QuotaSettings) -> Quotas {
        let limits = QUOTAS
            .iter()
            .enumerate()
            .map(|(i, quota)| match settings.configured(i) {
                Some(None) => Limit::Off,
                Some(Some(rate)) => Limit::Everywhere(bucket(rate)),
                None => match quota.default {
                    table::Default::Fixed(rate) => Limit::Everywhere(bucket(rate)),
                    table::Default::Symmetric => {
                        Limit::ByRegion(Box::new([10_000.0, 20_000.0, 100_000.0].map(bucket)))
                    }
                },
            })
            .collect();
        Quotas {
            limits,
            hasher: Default::default(),
        }
    }

    /// Charges one request of operation `op` by `caller` to its quota; over it,
    /// `ThrottlingException`.
    pub(crate) fn admit(
        &self,
        op: &str,
        facts: &Parameters<'_>,
        caller: &Caller,
    ) -> Result<(), ApiError> {
        let Some(index) = table::quota_of(op, facts) else {
            return Ok(());
        };
        self.charge(index, caller, THROTTLED_MESSAGE)
    }

    /// Charges one request of Secrets Manager operation `op` by `caller` to its quota; over
    /// it, Secrets Manager's `ThrottlingException` ("Rate exceeded").
    pub(crate) fn admit_secrets(&self, op: &str, caller: &Caller) -> Result<(), ApiError> {
        let Some(index) = table::secrets_quota_of(op) else {
            return Ok(());
        };
        self.charge(index, caller, SECRETS_THROTTLED_MESSAGE)
    }

    fn charge(&self, index: usize, caller: &Caller, message: &str) -> Result<(), ApiError> {
        let region = caller.region.as_str();
        let bucket = match &self.limits[index] {
            Limit::Off => return Ok(()),
            Limit::Everywhere(b) => b,
            Limit::ByRegion(tiers) => {
                debug_assert_eq!(index, SYMMETRIC);
                let rate = table::symmetric_rate(region);
                &tiers[if rate >= 100_000.0 {
                    2
                } else if rate >= 20_000.0 {
                    1
                } else {
                    0
                }]
            }
        };
        let mut h = self.hasher.build_hasher();
        caller.account.as_str().hash(&mut h);
        region.hash(&mut h);
        if bucket.check_key(&h.finish()).is_ok() {
            return Ok(());
        }
        crate::metrics::quota_refused(QUOTAS[index].name);
        Err(ApiError::new(ErrorCode::ThrottlingException, message))
    }

    /// Forgets the buckets of (account, region) pairs that are full again, so that the
    /// callers seen once do not hold memory (run now and then).
    pub fn forget_idle(&self) {
        for limit in &self.limits {
            let buckets: &[Bucket] = match limit {
                Limit::Off => &[],
                Limit::Everywhere(b) => std::slice::from_ref(b),
                Limit::ByRegion(tiers) => &tiers[..],
            };
            for b in buckets {
                b.retain_recent();
                b.shrink_to_fit();
            }
        }
    }
}

/// How often [`Quotas::forget_idle`] runs.
const UPKEEP_EVERY: Duration = Duration::from_secs(60);

/// Runs [`Quotas::forget_idle`] every minute for as long as the server serves.
pub(crate) fn spawn_upkeep(quotas: std::sync::Arc<Quotas>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            quotas.forget_idle();
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(region: &str) -> Caller {
        let account = kinko_core::AccountId::parse("111122223333").expect("an account");
        Caller::new(
            account.clone(),
            kinko_core::Region::parse(region).expect("a region"),
            kinko_core::Principal::Root { account },
        )
    }

    #[test]
    fn each_account_region_and_quota_has_its_own_bucket() {
        // One request, then none for 100 s: nothing here depends on timing.
        let settings =
            QuotaSettings::from_entries([("create-key", QuotaRate::PerSecond(0.01))]).expect("ok");
        let quotas = Quotas::new(&settings);
        let none = Parameters::default();
        let east = caller("us-east-1");
        assert!(quotas.admit("CreateKey", &none, &east).is_ok());
        let refused = quotas
            .admit("CreateKey", &none, &east)
            .expect_err("over quota");
        assert_eq!(refused.code, ErrorCode::ThrottlingException);
        assert_eq!(refused.message, THROTTLED_MESSAGE);
        // Another quota, another region, another account: their own buckets.
        assert!(quotas.admit("CreateAlias", &none, &east).is_ok());
        assert!(
            quotas
                .admit("CreateKey", &none, &caller("eu-west-1"))
                .is_ok()
        );
        let account = kinko_core::AccountId::parse("444455556666").expect("an account");
        let other = Caller::new(
            account.clone(),
            east.region.clone(),
            kinko_core::Principal::Root { account },
        );
        assert!(quotas.admit("CreateKey", &none, &other).is_ok());
        // IAM and the like count against nothing.
        assert!(quotas.admit("ListUsers", &none, &east).is_ok());
        // Secrets Manager's: DescribeSecret shares GetSecretValue's bucket, with its text.
        let quotas = Quotas::new(
            &QuotaSettings::from_entries([(
                "secretsmanager-get-secret-value",
                QuotaRate::PerSecond(0.01),
            )])
            .expect("ok"),
        );
        assert!(quotas.admit_secrets("GetSecretValue", &east).is_ok());
        let refused = quotas
            .admit_secrets("DescribeSecret", &east)
            .expect_err("over quota");
        assert_eq!(refused.code, ErrorCode::ThrottlingException);
        assert_eq!(refused.message, SECRETS_THROTTLED_MESSAGE);
        assert!(quotas.admit_secrets("ListSecrets", &east).is_ok());
    }

    #[test]
    fn off_and_all() {
        let quotas = Quotas::new(
            &QuotaSettings::from_entries([
                ("all", QuotaRate::PerSecond(0.01)),
                ("create-key", QuotaRate::Off(Off::Off)),
            ])
            .expect("ok"),
        );
        let none = Parameters::default();
        let east = caller("us-east-1");
        for _ in 0..10 {
            assert!(quotas.admit("CreateKey", &none, &east).is_ok());
        }
        assert!(quotas.admit("Encrypt", &none, &east).is_ok());
        assert!(quotas.admit("Encrypt", &none, &east).is_err());
        quotas.forget_idle();
    }

    #[test]
    fn bad_settings_are_refused_by_name() {
        assert_eq!(
            QuotaSettings::from_entries([("create-keys", QuotaRate::PerSecond(1.0))]),
            Err(QuotaError::UnknownName("create-keys".into()))
        );
        assert!(QuotaSettings::from_entries([("create-key", QuotaRate::PerSecond(0.0))]).is_err());
        assert!(
            QuotaSettings::from_entries([("create-key", QuotaRate::PerSecond(f64::NAN))]).is_err()
        );
        assert_eq!(
            parse_flag("cryptographic-symmetric=500"),
            Ok((
                "cryptographic-symmetric".into(),
                QuotaRate::PerSecond(500.0)
            ))
        );
        assert_eq!(
            parse_flag("all=off"),
            Ok(("all".into(), QuotaRate::Off(Off::Off)))
        );
        assert!(parse_flag("create-key").is_err());
        assert!(parse_flag("create-key=fast").is_err());
    }
}
