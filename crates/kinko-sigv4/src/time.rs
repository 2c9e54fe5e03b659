//! UTC timestamps in the two forms SigV4 uses: `YYYYMMDDTHHMMSSZ` and the HTTP `Date` form.
//!
//! This is about 60 lines of civil-date arithmetic (Howard Hinnant's `days_from_civil`), written here
//! so the crate needs no date library. Parsing is strict and never panics: anything odd gives `None`.

const SECS_PER_DAY: i64 = 86_400;

/// Formats Unix seconds as `YYYYMMDDTHHMMSSZ` in UTC, e.g. `1440938160` → `20150830T123600Z`.
pub fn format_amz_date(epoch_secs: i64) -> String {
    let days = epoch_secs.div_euclid(SECS_PER_DAY);
    let secs = epoch_secs.rem_euclid(SECS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Parses `YYYYMMDDTHHMMSSZ` (ISO 8601 basic format, UTC) into Unix seconds.
pub(crate) fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let (date, time) = (s.get(..8)?, s.get(9..15)?);
    let y = digits(date.get(..4)?)?;
    let (m, d) = (digits(date.get(4..6)?)?, digits(date.get(6..8)?)?);
    let (hh, mm, ss) = (
        digits(time.get(..2)?)?,
        digits(time.get(2..4)?)?,
        digits(time.get(4..6)?)?,
    );
    epoch(y, m, d, hh, mm, ss)
}

/// Parses the HTTP date form `Mon, 09 Sep 2011 23:36:00 GMT` (RFC 7231 IMF-fixdate) into Unix seconds.
pub(crate) fn parse_http_date(s: &str) -> Option<i64> {
    let mut parts = s.split_ascii_whitespace();
    let _weekday = parts.next()?.strip_suffix(',')?;
    let d = digits(parts.next()?)?;
    let month = parts.next()?;
    let m = MONTHS.iter().position(|name| *name == month)? as i64 + 1;
    let y = digits(parts.next()?)?;
    let mut hms = parts.next()?.split(':');
    let (hh, mm, ss) = (
        digits(hms.next()?)?,
        digits(hms.next()?)?,
        digits(hms.next()?)?,
    );
    let zone = parts.next()?;
    if hms.next().is_some() || parts.next().is_some() {
        return None;
    }
    // RFC 1123 §5.2.14 allows numeric zones; botocore's own signer sends "-0000".
    let offset = match zone {
        "GMT" | "UT" | "UTC" | "Z" => 0,
        _ => {
            let (sign, hhmm) = match zone.split_at_checked(1)? {
                ("+", rest) => (1, rest),
                ("-", rest) => (-1, rest),
                _ => return None,
            };
            if hhmm.len() != 4 {
                return None;
            }
            let (zh, zm) = (digits(hhmm.get(..2)?)?, digits(hhmm.get(2..)?)?);
            if zh > 23 || zm > 59 {
                return None;
            }
            sign * (zh * 3600 + zm * 60)
        }
    };
    Some(epoch(y, m, d, hh, mm, ss)? - offset)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A short run of ASCII digits as a number; `None` for anything else (signs, spaces, empty).
fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Validates the fields and converts them to Unix seconds.
fn epoch(y: i64, m: i64, d: i64, hh: i64, mm: i64, ss: i64) -> Option<i64> {
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_len = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if !(1..=month_len).contains(&d) || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    Some(days_from_civil(y, m, d) * SECS_PER_DAY + hh * 3600 + mm * 60 + ss)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month, day).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_amz_date(0), "19700101T000000Z");
        assert_eq!(format_amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(format_amz_date(951_782_400), "20000229T000000Z");
        assert_eq!(format_amz_date(-1), "19691231T235959Z");
    }

    #[test]
    fn parse_inverts_format_over_many_days() {
        // Every 7h13m over ~60 years, which crosses leap days and century rules.
        let mut t = -86_400 * 365;
        while t < 86_400 * 365 * 60 {
            assert_eq!(parse_amz_date(&format_amz_date(t)), Some(t), "at {t}");
            t += 7 * 3600 + 13 * 60 + 17;
        }
    }

    #[test]
    fn rejects_malformed_amz_dates() {
        for bad in [
            "",
            "20150830T123600",
            "20150830 123600Z",
            "2015083OT123600Z",
            "20150230T123600Z",
            "20150830T243600Z",
            "20150830T126000Z",
            "+0150830T123600Z",
            "20150830T123600Zx",
            "2015-08-30T12:36:00Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parses_http_dates() {
        assert_eq!(
            parse_http_date("Mon, 09 Sep 2011 23:36:00 GMT"),
            Some(1_315_611_360)
        );
        assert_eq!(
            parse_http_date("Mon, 09 Sep 2011 23:36:00 -0000"),
            Some(1_315_611_360)
        );
        assert_eq!(
            parse_http_date("Tue, 10 Sep 2011 01:36:00 +0200"),
            Some(1_315_611_360)
        );
        assert_eq!(parse_http_date("Mon, 09 Sep 2011 23:36:00 +2400"), None);
        assert_eq!(parse_http_date("Mon, 09 Sep 2011 23:36:00 PST"), None);
        assert_eq!(parse_http_date("Mon, 09 Sept 2011 23:36:00 GMT"), None);
        assert_eq!(parse_http_date("09 Sep 2011 23:36:00 GMT"), None);
    }
}
