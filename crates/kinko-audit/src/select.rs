//! Which events `query`, `tail` and `export` take: the operator's selection (`--from`, `--to`,
//! `--key`, ...) parsed into the store's [`AuditFilter`], and that filter applied in memory to
//! events read by sequence number.

use kinko_core::{AuditEvent, AuditFilter, KeyId, UnixMillis};

/// Why an operator's selection is malformed; names the flag and echoes what was typed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SelectionError {
    /// `--key` is neither a key id nor a key ARN.
    #[error("--key {0:?}: expected a key id or key ARN (aliases are not resolved)")]
    Key(String),
    /// A time beyond what a timestamp holds.
    #[error("{flag}: {text} is out of range")]
    OutOfRange {
        /// `--from` or `--to`.
        flag: &'static str,
        /// What was typed.
        text: String,
    },
    /// Neither RFC 3339 nor epoch seconds.
    #[error("{flag}: {text:?} is neither RFC 3339 (2026-01-31T12:00:00Z) nor epoch seconds")]
    NotATime {
        /// `--from` or `--to`.
        flag: &'static str,
        /// What was typed.
        text: String,
        /// Why it is not RFC 3339.
        #[source]
        source: time::error::Parse,
    },
}

/// Which events `query`, `tail` and `export` take, as the operator typed it.
#[derive(Debug, Clone, Default)]
pub struct AuditSelection {
    /// Events at or after this time (RFC 3339, or seconds since the epoch).
    pub from: Option<String>,
    /// Events at or before this time (a whole second is included when no fraction is given).
    pub to: Option<String>,
    /// Events about this key (key id or key ARN).
    pub key: Option<String>,
    /// Events by this principal ARN.
    pub principal: Option<String>,
    /// Events of this operation (`eventName`).
    pub operation: Option<String>,
    /// `Some(true)`: failures only; `Some(false)`: successes only.
    pub failed: Option<bool>,
}

impl AuditSelection {
    /// The store filter, or why an argument is malformed.
    pub fn to_filter(&self) -> Result<AuditFilter, SelectionError> {
        let key_id = match &self.key {
            None => None,
            Some(k) => {
                let id = k.rsplit_once(":key/").map_or(k.as_str(), |(_, id)| id);
                Some(KeyId::parse(id).ok_or_else(|| SelectionError::Key(k.clone()))?)
            }
        };
        Ok(AuditFilter {
            from: self
                .from
                .as_deref()
                .map(|t| parse_time("--from", t, false))
                .transpose()?,
            to: self
                .to
                .as_deref()
                .map(|t| parse_time("--to", t, true))
                .transpose()?,
            key_id,
            principal_arn: self.principal.clone(),
            event_name: self.operation.clone(),
            failed: self.failed,
            ..AuditFilter::default()
        })
    }
}

/// RFC 3339 or epoch seconds; `end` extends a whole-second time to the end of that second.
fn parse_time(flag: &'static str, text: &str, end: bool) -> Result<UnixMillis, SelectionError> {
    let extra = if end { 999 } else { 0 };
    let out_of_range = || SelectionError::OutOfRange {
        flag,
        text: text.to_owned(),
    };
    if let Ok(secs) = text.parse::<i64>() {
        return secs
            .checked_mul(1000)
            .and_then(|ms| ms.checked_add(extra))
            .map(UnixMillis)
            .ok_or_else(out_of_range);
    }
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|source| SelectionError::NotATime {
            flag,
            text: text.to_owned(),
            source,
        })?;
    let ms = i64::try_from(t.unix_timestamp_nanos() / 1_000_000).map_err(|_| out_of_range())?;
    let whole_second = t.nanosecond() == 0;
    Ok(UnixMillis(if whole_second { ms + extra } else { ms }))
}

/// True when `e` matches every field `filter` sets (the store's query semantics, in memory).
pub(crate) fn matches(filter: &AuditFilter, e: &AuditEvent) -> bool {
    let d = &e.draft;
    filter.from.is_none_or(|f| d.time.0 >= f.0)
        && filter.to.is_none_or(|t| d.time.0 <= t.0)
        && filter.key_id.is_none_or(|k| d.key_id == Some(k))
        && filter
            .principal_arn
            .as_ref()
            .is_none_or(|p| d.principal_arn.as_ref() == Some(p))
        && filter
            .access_key_id
            .as_ref()
            .is_none_or(|a| d.access_key_id.as_ref() == Some(a))
        && filter
            .event_name
            .as_ref()
            .is_none_or(|n| d.event_name == *n)
        && filter.event_id.as_ref().is_none_or(|i| d.event_id == *i)
        && filter.failed.is_none_or(|f| d.error_code.is_some() == f)
        && filter.read_only.is_none_or(|r| d.read_only == r)
        && filter
            .account
            .as_ref()
            .is_none_or(|a| d.account.as_ref() == Some(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_rfc3339_or_epoch_seconds() {
        let parsed = |t: &str, end: bool| parse_time("--from", t, end).map(|m| m.0).ok();
        assert_eq!(parsed("1700000000", false), Some(1_700_000_000_000));
        assert_eq!(parsed("1700000000", true), Some(1_700_000_000_999));
        assert_eq!(
            parsed("2023-11-14T22:13:20Z", false),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            parsed("2023-11-14T22:13:20Z", true),
            Some(1_700_000_000_999)
        );
        assert_eq!(
            parsed("2023-11-14T22:13:20.250Z", true),
            Some(1_700_000_000_250)
        );
        assert_eq!(parsed("yesterday", false), None);
    }

    #[test]
    fn selection_accepts_key_ids_and_arns_only() {
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        for key in [
            id.to_owned(),
            format!("arn:aws:kms:us-east-1:111122223333:key/{id}"),
        ] {
            let filter = AuditSelection {
                key: Some(key),
                ..AuditSelection::default()
            }
            .to_filter()
            .ok()
            .and_then(|f| f.key_id);
            assert_eq!(filter.map(|k| k.to_string()), Some(id.to_owned()));
        }
        let alias = AuditSelection {
            key: Some("alias/x".into()),
            ..AuditSelection::default()
        };
        assert!(alias.to_filter().is_err());
    }
}
