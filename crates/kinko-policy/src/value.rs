//! Typed readings of condition values: exact decimals, instants, CIDR ranges, booleans and base64.
//!
//! Every parser here accepts text from a policy author or a request and returns `None` instead of
//! panicking. Numbers compare exactly (no floating point), so `9007199254740993` and
//! `9007199254740992` stay different.

use std::cmp::Ordering;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

/// An exact decimal number: sign, integer digits without leading zeros, fraction digits without
/// trailing zeros. Zero is always non-negative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    negative: bool,
    int: String,
    frac: String,
}

impl Decimal {
    /// Parses `[+-]digits[.digits]` (also `.5` and `5.`). No exponents, no spaces.
    pub(crate) fn parse(text: &str) -> Option<Decimal> {
        let (negative, body) = match text.as_bytes().first() {
            Some(b'-') => (true, text.get(1..)?),
            Some(b'+') => (false, text.get(1..)?),
            _ => (false, text),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let int = int.trim_start_matches('0').to_owned();
        let frac = frac.trim_end_matches('0').to_owned();
        let negative = negative && !(int.is_empty() && frac.is_empty());
        Some(Decimal {
            negative,
            int,
            frac,
        })
    }

    pub(crate) fn from_i64(n: i64) -> Decimal {
        // Cannot fail: the decimal rendering of an i64 is always a valid decimal.
        Decimal::parse(&n.to_string()).unwrap_or(Decimal {
            negative: false,
            int: String::new(),
            frac: String::new(),
        })
    }

    fn cmp_magnitude(&self, other: &Decimal) -> Ordering {
        self.int
            .len()
            .cmp(&other.int.len())
            .then_with(|| self.int.cmp(&other.int))
            .then_with(|| self.frac.cmp(&other.frac))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Nanoseconds since 1970-01-01T00:00:00Z (negative before it).
pub(crate) type Instant = i128;

const NANOS: i128 = 1_000_000_000;

/// Parses an epoch time (`1546257599`, `1546257599.5`) or a W3C profile of ISO 8601:
/// `YYYY-MM`, `YYYY-MM-DD`, `YYYY-MM-DDThh:mm[:ss[.fff]][TZD]` with `TZD` one of `Z`, `±hh:mm`,
/// `±hhmm`, `±hh` (no designator means UTC). A bare four-digit year is read as epoch seconds.
pub(crate) fn parse_instant(text: &str) -> Option<Instant> {
    if text.is_empty() {
        return None;
    }
    if text
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+')
        && !text.get(1..).unwrap_or("").contains(['-', '+'])
    {
        return parse_epoch(text);
    }
    parse_iso8601(text)
}

fn parse_epoch(text: &str) -> Option<Instant> {
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..)?),
        Some(b'+') => (false, text.get(1..)?),
        _ => (false, text),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() || int.len() > 15 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds: i128 = int.parse().ok()?;
    let nanos = fraction_nanos(frac)?;
    let total = seconds * NANOS + nanos;
    Some(if negative { -total } else { total })
}

/// The first nine digits of a fraction as nanoseconds (further digits are dropped).
fn fraction_nanos(frac: &str) -> Option<i128> {
    let mut nanos: i128 = 0;
    let mut scale: i128 = NANOS / 10;
    for b in frac.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        nanos += i128::from(b - b'0') * scale;
        scale /= 10;
    }
    Some(nanos)
}

fn digits(text: &str, len: usize) -> Option<(u32, &str)> {
    let head = text.get(..len)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, text.get(len..)?))
}

fn expect_char(text: &str, c: char) -> Option<&str> {
    text.strip_prefix(c)
}

fn parse_iso8601(text: &str) -> Option<Instant> {
    let (year, rest) = digits(text, 4)?;
    let rest = expect_char(rest, '-')?;
    let (month, rest) = digits(rest, 2)?;
    let (day, rest) = if rest.is_empty() {
        (1, rest)
    } else {
        digits(expect_char(rest, '-')?, 2)?
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut seconds = days_from_civil(i64::from(year), month, day) * 86_400;
    let mut nanos: i128 = 0;
    let rest = match rest.chars().next() {
        None => "",
        Some('T' | 't') => {
            let rest = rest.get(1..)?;
            let (hour, rest) = digits(rest, 2)?;
            let (minute, mut rest) = digits(expect_char(rest, ':')?, 2)?;
            let mut second = 0;
            if let Some(after) = rest.strip_prefix(':') {
                let (s, after) = digits(after, 2)?;
                second = s;
                rest = after;
                if let Some(after) = rest.strip_prefix('.') {
                    let end = after
                        .find(|c: char| !c.is_ascii_digit())
                        .unwrap_or(after.len());
                    if end == 0 {
                        return None;
                    }
                    nanos = fraction_nanos(after.get(..end)?)?;
                    rest = after.get(end..)?;
                }
            }
            // 24:00:00 is not accepted; a leap second (60) rolls into the next minute.
            if hour > 23 || minute > 59 || second > 60 {
                return None;
            }
            seconds += i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
            rest
        }
        Some(_) => return None,
    };
    let offset = parse_offset(rest)?;
    Some(i128::from(seconds - offset) * NANOS + nanos)
}

/// A time-zone designator as seconds east of UTC; empty means UTC.
fn parse_offset(text: &str) -> Option<i64> {
    match text.chars().next() {
        None => Some(0),
        Some('Z' | 'z') if text.len() == 1 => Some(0),
        Some(sign @ ('+' | '-')) => {
            let rest = text.get(1..)?;
            let (hours, rest) = digits(rest, 2)?;
            let rest = rest.strip_prefix(':').unwrap_or(rest);
            let (minutes, rest) = if rest.is_empty() {
                (0, rest)
            } else {
                digits(rest, 2)?
            };
            if !rest.is_empty() || hours > 23 || minutes > 59 {
                return None;
            }
            let offset = i64::from(hours) * 3600 + i64::from(minutes) * 60;
            Some(if sign == '-' { -offset } else { offset })
        }
        Some(_) => None,
    }
}

fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = (if y >= 0 { y } else { y - 399 }) / 400;
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = (if z >= 0 { z } else { z - 146_096 }) / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// A `SystemTime` as an [`Instant`].
pub(crate) fn instant_of(time: SystemTime) -> Instant {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => -i128::try_from(before.duration().as_nanos()).unwrap_or(i128::MAX),
    }
}

/// Renders an instant as `YYYY-MM-DDThh:mm:ssZ` (the form of `aws:CurrentTime`).
pub(crate) fn format_instant(instant: Instant) -> String {
    let seconds = instant.div_euclid(NANOS);
    let days = i64::try_from(seconds.div_euclid(86_400)).unwrap_or(0);
    let secs_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs_of_day / 3600,
        (secs_of_day / 60) % 60,
        secs_of_day % 60
    )
}

/// An IPv4 or IPv6 network, stored with its host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `address/prefix` or a bare address (a single host).
    pub(crate) fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 3 {
                    return None;
                }
                let p: u8 = p.parse().ok()?;
                if p > max {
                    return None;
                }
                p
            }
        };
        Some(Cidr {
            network: mask(addr, prefix),
            prefix,
        })
    }

    /// Whether `addr` is inside the network. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`)
    /// counts as the IPv4 address it carries.
    pub(crate) fn contains(&self, addr: IpAddr) -> bool {
        let addr = match (self.network, addr) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            _ => addr,
        };
        if self.network.is_ipv4() != addr.is_ipv4() {
            return false;
        }
        mask(addr, self.prefix) == self.network
    }
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((bits & m).into())
        }
    }
}

/// Reads `true`/`false` in any letter case.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Decodes standard base64 (RFC 4648 §4); padding is optional, whitespace is not allowed.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let body = text.trim_end_matches('=');
    if text.len() - body.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for b in body.bytes() {
        let v = BASE64.iter().position(|c| *c == b)?;
        acc = (acc << 6) | u32::try_from(v).ok()?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    // Leftover bits must be zero padding, and a single leftover symbol is never valid.
    if bits >= 6 || acc & ((1 << bits) - 1) != 0 {
        return None;
    }
    Some(out)
}

/// Encodes bytes as standard base64 with padding.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b0 = u32::from(chunk.first().copied().unwrap_or(0));
        let b1 = u32::from(chunk.get(1).copied().unwrap_or(0));
        let b2 = u32::from(chunk.get(2).copied().unwrap_or(0));
        let n = (b0 << 16) | (b1 << 8) | b2;
        let symbols = chunk.len() + 1;
        for i in 0..4 {
            if i < symbols {
                let idx = usize::try_from((n >> (18 - 6 * i)) & 63).unwrap_or(0);
                out.push(char::from(BASE64.get(idx).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_compare_exactly() {
        let d = |s: &str| Decimal::parse(s).expect("a decimal");
        assert_eq!(d("1.0"), d("1"));
        assert_eq!(d("-0"), d("0.000"));
        assert_eq!(d("007"), d("7"));
        assert!(d("9007199254740993") > d("9007199254740992"));
        assert!(d("-2") < d("-1.5"));
        assert!(d("0.1") < d("0.10001"));
        assert!(d(".5") == d("0.5"));
        assert!(Decimal::parse("1e3").is_none());
        assert!(Decimal::parse("").is_none());
        assert!(Decimal::parse("-").is_none());
        assert!(Decimal::parse(" 1").is_none());
        assert_eq!(Decimal::from_i64(i64::MIN), d("-9223372036854775808"));
    }

    #[test]
    fn instants() {
        assert_eq!(parse_instant("0"), Some(0));
        assert_eq!(parse_instant("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_instant("1970-01-01"), Some(0));
        assert_eq!(parse_instant("1970-01"), Some(0));
        assert_eq!(
            parse_instant("2018-12-31T23:59:59Z"),
            parse_instant("1546300799")
        );
        assert_eq!(
            parse_instant("2019-01-01T01:00:00+01:00"),
            parse_instant("2019-01-01T00:00:00Z")
        );
        assert_eq!(
            parse_instant("2019-01-01T00:00:00.5Z"),
            parse_instant("1546300800.5")
        );
        assert!(parse_instant("2019-02-29").is_none());
        assert!(parse_instant("2020-02-29").is_some());
        assert!(parse_instant("2019-13-01").is_none());
        assert!(parse_instant("yesterday").is_none());
        assert!(parse_instant("2019-01-01T25:00Z").is_none());
        assert_eq!(format_instant(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_instant(parse_instant("2024-02-29T12:34:56Z").unwrap_or(0)),
            "2024-02-29T12:34:56Z"
        );
        assert_eq!(format_instant(-NANOS), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn cidrs() {
        let c = Cidr::parse("203.0.113.0/24").expect("a cidr");
        assert!(c.contains("203.0.113.9".parse().expect("an ip")));
        assert!(!c.contains("203.0.114.9".parse().expect("an ip")));
        assert!(c.contains("::ffff:203.0.113.9".parse().expect("an ip")));
        let c6 = Cidr::parse("2001:DB8:1234:5678::/64").expect("a cidr");
        assert!(c6.contains("2001:db8:1234:5678::1".parse().expect("an ip")));
        assert!(!c6.contains("2001:db8:1234:5679::1".parse().expect("an ip")));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("10.0.0/8").is_none());
        assert!(
            Cidr::parse("0.0.0.0/0").is_some_and(|c| c.contains("8.8.8.8".parse().expect("an ip")))
        );
    }

    #[test]
    fn base64_round_trip() {
        for input in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar"] {
            let encoded = base64_encode(input);
            assert_eq!(base64_decode(&encoded).as_deref(), Some(input));
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_decode("Zm9vYg").as_deref(), Some(&b"foob"[..]));
        assert!(base64_decode("Zm9v!").is_none());
        assert!(base64_decode("Z").is_none());
        assert!(base64_decode("Zh==").is_none());
    }
}
