//! The request context: plain data that the caller fills before asking for a decision.
//!
//! Condition keys are case-insensitive, so [`ConditionKeys`] stores them lower-cased; values keep
//! their case. A key that is not in the map is *absent*, which is not the same as an empty string.
//! A handful of global keys are derived from the principal when the caller has not set them
//! (`aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:username`,
//! `aws:PrincipalTag/<key>`, `aws:PrincipalIsAWSService`, `aws:PrincipalServiceName`), so the
//! principal is written down once. Policy variables (`${aws:username}`) are read from the same
//! keys, as AWS does: a variable is just a single-valued condition key.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::SystemTime;

use crate::value::{self, Decimal, Instant};

/// What kind of identity made the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// The account itself (`arn:aws:iam::<account>:root`).
    Root,
    /// An IAM user.
    User,
    /// A role acting directly under its own ARN.
    Role,
    /// A session of a role (`arn:aws:sts::<account>:assumed-role/<role>/<session>`); a policy that
    /// names the role ARN applies to its sessions.
    AssumedRole {
        /// The ARN of the role the session belongs to.
        role_arn: String,
    },
    /// A service principal such as `cloudtrail.amazonaws.com`; [`RequestPrincipal::arn`] holds
    /// the service name.
    Service,
}

/// The identity that made the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPrincipal {
    /// The principal's ARN (for a service principal: its name).
    pub arn: String,
    /// The 12-digit account the principal belongs to (empty for service principals).
    pub account: String,
    /// The kind of principal.
    pub kind: PrincipalKind,
    /// Principal tags, readable as `aws:PrincipalTag/<key>` (keys match case-insensitively).
    pub tags: BTreeMap<String, String>,
}

impl RequestPrincipal {
    /// The root identity of `account`.
    pub fn root(account: &str) -> Self {
        RequestPrincipal {
            arn: format!("arn:aws:iam::{account}:root"),
            account: account.to_owned(),
            kind: PrincipalKind::Root,
            tags: BTreeMap::new(),
        }
    }

    /// A service principal such as `logs.amazonaws.com`.
    pub fn service(name: &str) -> Self {
        RequestPrincipal {
            arn: name.to_owned(),
            account: String::new(),
            kind: PrincipalKind::Service,
            tags: BTreeMap::new(),
        }
    }

    /// Reads the account and kind from an IAM or STS ARN: `...:root`, `...:user/...`,
    /// `...:role/...` or `arn:<partition>:sts::<account>:assumed-role/<role>/<session>` (the role
    /// ARN of a session is assumed to have no path). `None` for anything else.
    pub fn from_arn(arn: &str) -> Option<Self> {
        let parts = ArnParts::split(arn)?;
        if parts.account.len() != 12 || !parts.account.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let kind = match (parts.service, parts.resource) {
            ("iam", "root") => PrincipalKind::Root,
            ("iam", r) if r.starts_with("user/") => PrincipalKind::User,
            ("iam", r) if r.starts_with("role/") => PrincipalKind::Role,
            ("sts", r) if r.starts_with("assumed-role/") => {
                let mut pieces = r.split('/');
                let role = pieces.nth(1).filter(|s| !s.is_empty())?;
                pieces.next().filter(|s| !s.is_empty())?;
                PrincipalKind::AssumedRole {
                    role_arn: format!("arn:{}:iam::{}:role/{role}", parts.partition, parts.account),
                }
            }
            _ => return None,
        };
        Some(RequestPrincipal {
            arn: arn.to_owned(),
            account: parts.account.to_owned(),
            kind,
            tags: BTreeMap::new(),
        })
    }

    /// Adds a principal tag.
    pub fn with_tag(mut self, key: &str, value: &str) -> Self {
        self.tags.insert(key.to_owned(), value.to_owned());
        self
    }
}

/// The six colon-separated parts of an ARN (the resource part may itself contain colons).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArnParts<'a> {
    pub(crate) partition: &'a str,
    pub(crate) service: &'a str,
    pub(crate) region: &'a str,
    pub(crate) account: &'a str,
    pub(crate) resource: &'a str,
}

impl<'a> ArnParts<'a> {
    pub(crate) fn split(arn: &'a str) -> Option<Self> {
        let mut it = arn.splitn(6, ':');
        if it.next()? != "arn" {
            return None;
        }
        Some(ArnParts {
            partition: it.next()?,
            service: it.next()?,
            region: it.next()?,
            account: it.next()?,
            resource: it.next()?,
        })
    }
}

/// One value of a condition key in the request.
#[derive(Debug, Clone, PartialEq)]
pub enum ContextValue {
    /// Text; numeric, date, IP, boolean and ARN operators parse it when they need to.
    String(String),
    /// A boolean (`aws:SecureTransport`, `kms:GrantIsForAWSResource`).
    Bool(bool),
    /// An integer (`aws:EpochTime`, `kms:ScheduleKeyDeletionPendingWindowInDays`).
    Integer(i64),
    /// An IP address (`aws:SourceIp`).
    Ip(IpAddr),
    /// An instant (`aws:CurrentTime`); string operators see it as `YYYY-MM-DDThh:mm:ssZ`.
    Time(SystemTime),
    /// Raw bytes for `BinaryEquals`; string operators see them base64-encoded.
    Binary(Vec<u8>),
}

/// The value(s) of one condition key: single-valued keys hold one value, multivalued keys
/// (`kms:EncryptionContextKeys`, `aws:TagKeys`) hold a list, which may be empty.
#[derive(Debug, Clone, PartialEq)]
pub enum ContextValues {
    /// A single-valued key.
    One(ContextValue),
    /// A multivalued key. An empty list counts as absent, as in AWS.
    Many(Vec<ContextValue>),
}

impl From<ContextValue> for ContextValues {
    fn from(v: ContextValue) -> Self {
        ContextValues::One(v)
    }
}

impl From<&str> for ContextValue {
    fn from(v: &str) -> Self {
        ContextValue::String(v.to_owned())
    }
}

impl From<String> for ContextValue {
    fn from(v: String) -> Self {
        ContextValue::String(v)
    }
}

impl From<bool> for ContextValue {
    fn from(v: bool) -> Self {
        ContextValue::Bool(v)
    }
}

impl From<i64> for ContextValue {
    fn from(v: i64) -> Self {
        ContextValue::Integer(v)
    }
}

impl From<IpAddr> for ContextValue {
    fn from(v: IpAddr) -> Self {
        ContextValue::Ip(v)
    }
}

impl From<SystemTime> for ContextValue {
    fn from(v: SystemTime) -> Self {
        ContextValue::Time(v)
    }
}

impl From<&str> for ContextValues {
    fn from(v: &str) -> Self {
        ContextValues::One(v.into())
    }
}

impl From<String> for ContextValues {
    fn from(v: String) -> Self {
        ContextValues::One(v.into())
    }
}

impl From<bool> for ContextValues {
    fn from(v: bool) -> Self {
        ContextValues::One(v.into())
    }
}

impl From<i64> for ContextValues {
    fn from(v: i64) -> Self {
        ContextValues::One(v.into())
    }
}

impl From<IpAddr> for ContextValues {
    fn from(v: IpAddr) -> Self {
        ContextValues::One(v.into())
    }
}

impl From<SystemTime> for ContextValues {
    fn from(v: SystemTime) -> Self {
        ContextValues::One(v.into())
    }
}

impl<T: Into<ContextValue>> From<Vec<T>> for ContextValues {
    fn from(v: Vec<T>) -> Self {
        ContextValues::Many(v.into_iter().map(Into::into).collect())
    }
}

/// Condition keys of a request, looked up case-insensitively.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConditionKeys {
    map: BTreeMap<String, ContextValues>,
}

impl ConditionKeys {
    /// An empty set of keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a key (its name is lower-cased), returning the previous value.
    pub fn insert(&mut self, key: &str, value: impl Into<ContextValues>) -> Option<ContextValues> {
        self.map.insert(key.to_lowercase(), value.into())
    }

    /// The value of a key, by any capitalisation of its name.
    pub fn get(&self, key: &str) -> Option<&ContextValues> {
        self.map.get(&key.to_lowercase())
    }

    /// Removes a key.
    pub fn remove(&mut self, key: &str) -> Option<ContextValues> {
        self.map.remove(&key.to_lowercase())
    }

    /// All keys (lower-cased names) and values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ContextValues)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// How many keys are set.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn get_lower(&self, key_lower: &str) -> Option<&ContextValues> {
        self.map.get(key_lower)
    }
}

/// Everything a policy decision depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestContext {
    /// Who is asking.
    pub principal: RequestPrincipal,
    /// The action, such as `kms:Encrypt` (matched case-insensitively).
    pub action: String,
    /// The resource ARN, such as the key ARN (matched case-sensitively).
    pub resource: String,
    /// The condition keys of the request (and the values of policy variables).
    pub keys: ConditionKeys,
}

impl RequestContext {
    /// A context with no explicit condition keys.
    pub fn new(principal: RequestPrincipal, action: &str, resource: &str) -> Self {
        RequestContext {
            principal,
            action: action.to_owned(),
            resource: resource.to_owned(),
            keys: ConditionKeys::new(),
        }
    }

    /// Builder form of [`ConditionKeys::insert`].
    pub fn with_key(mut self, key: &str, value: impl Into<ContextValues>) -> Self {
        self.keys.insert(key, value);
        self
    }

    /// Sets `kms:EncryptionContext:<key>` for every pair and `kms:EncryptionContextKeys` to the
    /// list of keys. With no pairs nothing is set, so both keys stay absent.
    pub fn set_encryption_context<K, V>(&mut self, pairs: impl IntoIterator<Item = (K, V)>)
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut names = Vec::new();
        for (k, v) in pairs {
            let k = k.as_ref();
            self.keys
                .insert(&format!("kms:EncryptionContext:{k}"), v.as_ref());
            names.push(ContextValue::String(k.to_owned()));
        }
        if !names.is_empty() {
            self.keys
                .insert("kms:EncryptionContextKeys", ContextValues::Many(names));
        }
    }

    /// The value(s) of a lower-cased key: explicit keys first, then those derived from the
    /// principal.
    pub(crate) fn lookup(&self, key_lower: &str) -> Option<Found<'_>> {
        if let Some(v) = self.keys.get_lower(key_lower) {
            return Some(match v {
                ContextValues::One(one) => Found::One(Val::Value(one)),
                ContextValues::Many(many) => Found::Many(many),
            });
        }
        self.derived(key_lower).map(Found::One)
    }

    fn derived(&self, key_lower: &str) -> Option<Val<'_>> {
        let p = &self.principal;
        let is_service = p.kind == PrincipalKind::Service;
        match key_lower {
            "aws:principalarn" if !is_service => Some(Val::Str(match &p.kind {
                PrincipalKind::AssumedRole { role_arn } => role_arn,
                _ => &p.arn,
            })),
            "aws:principalaccount" if !is_service && !p.account.is_empty() => {
                Some(Val::Str(&p.account))
            }
            "aws:principaltype" => match p.kind {
                PrincipalKind::Root => Some(Val::Str("Account")),
                PrincipalKind::User => Some(Val::Str("User")),
                PrincipalKind::Role | PrincipalKind::AssumedRole { .. } => {
                    Some(Val::Str("AssumedRole"))
                }
                PrincipalKind::Service => None,
            },
            "aws:username" if p.kind == PrincipalKind::User => {
                let resource = ArnParts::split(&p.arn)?.resource;
                resource.rsplit('/').next().map(Val::Str)
            }
            "aws:principalisawsservice" => Some(Val::Bool(is_service)),
            "aws:principalservicename" if is_service => Some(Val::Str(&p.arn)),
            _ => {
                let tag = key_lower.strip_prefix("aws:principaltag/")?;
                p.tags
                    .iter()
                    .find(|(k, _)| k.to_lowercase() == tag)
                    .map(|(_, v)| Val::Str(v))
            }
        }
    }

    /// The text of a single-valued key, for a policy variable. Multivalued keys cannot be used
    /// as variables.
    pub(crate) fn variable(&self, key_lower: &str) -> Option<Cow<'_, str>> {
        match self.lookup(key_lower)? {
            Found::One(v) => Some(v.text()),
            Found::Many(_) => None,
        }
    }
}

/// A borrowed view of one request value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val<'a> {
    Str(&'a str),
    Bool(bool),
    Value(&'a ContextValue),
}

impl<'a> Val<'a> {
    /// The value as text, the way string operators see it.
    pub(crate) fn text(self) -> Cow<'a, str> {
        match self {
            Val::Str(s) => Cow::Borrowed(s),
            Val::Bool(b) => Cow::Borrowed(if b { "true" } else { "false" }),
            Val::Value(v) => match v {
                ContextValue::String(s) => Cow::Borrowed(s),
                ContextValue::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
                ContextValue::Integer(n) => Cow::Owned(n.to_string()),
                ContextValue::Ip(ip) => Cow::Owned(ip.to_string()),
                ContextValue::Time(t) => Cow::Owned(value::format_instant(value::instant_of(*t))),
                ContextValue::Binary(b) => Cow::Owned(value::base64_encode(b)),
            },
        }
    }

    pub(crate) fn number(self) -> Option<Decimal> {
        match self {
            Val::Value(ContextValue::Integer(n)) => Some(Decimal::from_i64(*n)),
            Val::Value(ContextValue::String(s)) => Decimal::parse(s),
            Val::Str(s) => Decimal::parse(s),
            _ => None,
        }
    }

    pub(crate) fn instant(self) -> Option<Instant> {
        match self {
            Val::Value(ContextValue::Time(t)) => Some(value::instant_of(*t)),
            Val::Value(ContextValue::Integer(n)) => Some(i128::from(*n) * 1_000_000_000),
            Val::Value(ContextValue::String(s)) => value::parse_instant(s),
            Val::Str(s) => value::parse_instant(s),
            _ => None,
        }
    }

    pub(crate) fn ip(self) -> Option<IpAddr> {
        match self {
            Val::Value(ContextValue::Ip(ip)) => Some(*ip),
            Val::Value(ContextValue::String(s)) => s.trim().parse().ok(),
            Val::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub(crate) fn boolean(self) -> Option<bool> {
        match self {
            Val::Bool(b) => Some(b),
            Val::Value(ContextValue::Bool(b)) => Some(*b),
            Val::Value(ContextValue::String(s)) => value::parse_bool(s),
            Val::Str(s) => value::parse_bool(s),
            _ => None,
        }
    }

    pub(crate) fn bytes(self) -> Option<Cow<'a, [u8]>> {
        match self {
            Val::Value(ContextValue::Binary(b)) => Some(Cow::Borrowed(b)),
            Val::Value(ContextValue::String(s)) => value::base64_decode(s).map(Cow::Owned),
            Val::Str(s) => value::base64_decode(s).map(Cow::Owned),
            _ => None,
        }
    }
}

/// The value(s) found for a key.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Found<'a> {
    One(Val<'a>),
    Many(&'a [ContextValue]),
}

impl<'a> Found<'a> {
    /// An empty multivalued key counts as absent.
    pub(crate) fn is_empty(self) -> bool {
        matches!(self, Found::Many([]))
    }

    pub(crate) fn any(self, mut f: impl FnMut(Val<'a>) -> bool) -> bool {
        match self {
            Found::One(v) => f(v),
            Found::Many(vs) => vs.iter().any(|v| f(Val::Value(v))),
        }
    }

    pub(crate) fn all(self, mut f: impl FnMut(Val<'a>) -> bool) -> bool {
        match self {
            Found::One(v) => f(v),
            Found::Many(vs) => vs.iter().all(|v| f(Val::Value(v))),
        }
    }
}
