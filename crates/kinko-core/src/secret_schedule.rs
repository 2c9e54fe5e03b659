//! Secrets Manager's `cron()` rotation schedules, as AWS documents them ("Rotation schedules",
//! Secrets Manager User Guide): `cron(Minutes Hours Day-of-month Month Day-of-week Year)` in
//! UTC, with Minutes `0` (windows open on the hour), Hours 0–23 (`, - * /`), Day-of-month 1–31
//! (`, - * ? / L W`), Month 1–12 or JAN–DEC (`, - * /`), Day-of-week 1–7 or SUN–SAT, 1 = SUN
//! (`, - * ? / L #`) and Year `*`. One of the two day fields is `?`. Increments of hours reset
//! each day (`0 4/12` is 4:00 and 16:00). Rotations are at least four hours apart; the window
//! (`Duration`, `Nh`) must not reach into the next UTC day or the next window.
//!
//! Hand-written: no maintained Rust crate parses AWS's dialect (its `?`, 1 = SUN numbering,
//! `L`/`W`/`#` and the year field) as AWS does.

use crate::Error;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// How far ahead an occurrence is looked for (a 29 February needs up to eight years).
const SEARCH_DAYS: i64 = 9 * 366;

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The day-of-month field.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MonthDay {
    /// `?`: the day-of-week field decides.
    Any,
    /// Days 1–31 (bit n = day n).
    Days(u32),
    /// `L`: the last day of the month.
    Last,
    /// `nW`: the weekday (Monday–Friday) nearest day n, within the month.
    NearestWeekday(u32),
    /// `LW`: the last weekday of the month.
    LastWeekday,
}

/// The day-of-week field (1 = Sunday … 7 = Saturday).
#[derive(Debug, Clone, PartialEq, Eq)]
enum WeekDay {
    /// `?`: the day-of-month field decides.
    Any,
    /// Days 1–7 (bit n = day n).
    Days(u32),
    /// `nL`: the last such day of the month.
    Last(u32),
    /// `d#n`: the n-th such day of the month.
    Nth(u32, u32),
}

/// A parsed `cron()` schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cron {
    hours: u32,
    month_day: MonthDay,
    months: u32,
    week_day: WeekDay,
}

fn invalid(why: &str) -> Error {
    Error::Validation(format!(
        "Invalid cron expression in ScheduleExpression: {why}"
    ))
}

/// A number or a name (`names[i]` is `i + first`) within `lo..=hi`.
fn value(text: &str, lo: u32, hi: u32, names: &[&str], first: u32) -> Result<u32, Error> {
    let upper = text.to_ascii_uppercase();
    let n = match names.iter().position(|n| *n == upper) {
        Some(i) => u32::try_from(i).unwrap_or(u32::MAX) + first,
        None => text
            .parse::<u32>()
            .map_err(|_| invalid(&format!("{text:?} is not a value of its field")))?,
    };
    if (lo..=hi).contains(&n) {
        Ok(n)
    } else {
        Err(invalid(&format!("{n} is outside {lo}-{hi}")))
    }
}

/// A list of `*`, `v`, `a-b`, each optionally `/step`, as a bit set over `lo..=hi`.
fn set(field: &str, lo: u32, hi: u32, names: &[&str], first: u32) -> Result<u32, Error> {
    let mut bits = 0u32;
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .ok()
                    .filter(|s| *s >= 1)
                    .ok_or_else(|| invalid(&format!("bad increment in {item:?}")))?;
                (r, step)
            }
            None => (item, 1),
        };
        let (start, end) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (
                value(a, lo, hi, names, first)?,
                value(b, lo, hi, names, first)?,
            );
            if a > b {
                return Err(invalid(&format!("the range {range:?} runs backwards")));
            }
            (a, b)
        } else {
            let a = value(range, lo, hi, names, first)?;
            // `a/step` runs to the end of the field; a single value stays one value.
            (a, if item.contains('/') { hi } else { a })
        };
        let mut n = start;
        while n <= end {
            bits |= 1 << n;
            n += step;
        }
    }
    Ok(bits)
}

impl Cron {
    /// Parses `cron(…)`; anything else AWS would refuse is InvalidParameterException.
    pub(crate) fn parse(expr: &str) -> Result<Self, Error> {
        let inner = expr
            .trim()
            .strip_prefix("cron(")
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(|| {
                invalid("expected cron(Minutes Hours Day-of-month Month Day-of-week Year)")
            })?;
        let fields: Vec<&str> = inner.split_whitespace().collect();
        let [minutes, hours, dom, month, dow, year] = fields[..] else {
            return Err(invalid(
                "expected six fields: Minutes Hours Day-of-month Month Day-of-week Year",
            ));
        };
        if minutes != "0" {
            return Err(invalid(
                "the Minutes field must be 0: rotation windows open on the hour",
            ));
        }
        if year != "*" {
            return Err(invalid("the Year field must be *"));
        }
        let hours = set(hours, 0, 23, &[], 0)?;
        let months = set(month, 1, 12, &MONTHS, 1)?;
        let month_day = match dom.to_ascii_uppercase().as_str() {
            "?" => MonthDay::Any,
            "L" => MonthDay::Last,
            "LW" => MonthDay::LastWeekday,
            d if d.ends_with('W') => {
                MonthDay::NearestWeekday(value(&d[..d.len() - 1], 1, 31, &[], 1)?)
            }
            d => MonthDay::Days(set(d, 1, 31, &[], 1)?),
        };
        let week_day = match dow.to_ascii_uppercase().as_str() {
            "?" => WeekDay::Any,
            "L" => WeekDay::Days(1 << 7),
            d if d.ends_with('L') => WeekDay::Last(value(&d[..d.len() - 1], 1, 7, &WEEKDAYS, 1)?),
            d => match d.split_once('#') {
                Some((day, nth)) => {
                    let day = value(day, 1, 7, &WEEKDAYS, 1)?;
                    let nth = value(nth, 1, 5, &[], 1)?;
                    WeekDay::Nth(day, nth)
                }
                None => WeekDay::Days(set(d, 1, 7, &WEEKDAYS, 1)?),
            },
        };
        if (month_day == MonthDay::Any) == (week_day == WeekDay::Any) {
            return Err(invalid(
                "one of Day-of-month and Day-of-week must be ?, and only one",
            ));
        }
        Ok(Self {
            hours,
            month_day,
            months,
            week_day,
        })
    }

    /// Whether the schedule fires on the day `days` (days since 1970-01-01).
    fn on_day(&self, days: i64) -> bool {
        let (y, m, d) = civil(days);
        if self.months & (1 << m) == 0 {
            return false;
        }
        let last = month_length(y, m);
        let weekday = weekday(days);
        let day_ok = match &self.month_day {
            MonthDay::Any => true,
            MonthDay::Days(bits) => bits & (1 << d) != 0,
            MonthDay::Last => d == last,
            MonthDay::NearestWeekday(n) => {
                d == nearest_weekday(
                    (*n).min(last),
                    last,
                    days - i64::from(d) + i64::from((*n).min(last)),
                )
            }
            MonthDay::LastWeekday => {
                d == nearest_weekday(last, last, days - i64::from(d) + i64::from(last))
            }
        };
        let week_ok = match &self.week_day {
            WeekDay::Any => true,
            WeekDay::Days(bits) => bits & (1 << weekday) != 0,
            WeekDay::Last(w) => weekday == *w && d + 7 > last,
            WeekDay::Nth(w, n) => weekday == *w && (d - 1) / 7 + 1 == *n,
        };
        day_ok && week_ok
    }

    /// The first time strictly after `after_ms` (Unix milliseconds) the schedule fires, if any
    /// within the search horizon.
    pub(crate) fn next_after(&self, after_ms: i64) -> Option<i64> {
        let first_day = after_ms.div_euclid(DAY_MS);
        for day in first_day..first_day + SEARCH_DAYS {
            if !self.on_day(day) {
                continue;
            }
            for hour in 0..24 {
                let t = day * DAY_MS + hour * HOUR_MS;
                if self.hours & (1 << hour) != 0 && t > after_ms {
                    return Some(t);
                }
            }
        }
        None
    }

    /// The fire times over eight years from 2024-01-01 (a span with two leap years).
    fn sample(&self) -> Vec<i64> {
        let start = days_from_civil(2024, 1, 1);
        let mut times = Vec::new();
        for day in start..start + 8 * 366 {
            if self.on_day(day) {
                for hour in 0..24 {
                    if self.hours & (1 << hour) != 0 {
                        times.push(day * DAY_MS + hour * HOUR_MS);
                    }
                }
            }
        }
        times
    }

    /// Checks AWS's limits: the schedule fires, at least four hours apart, and a window of
    /// `window_ms` stays within its UTC day and before the next rotation. The smallest gap
    /// between rotations is the answer.
    pub(crate) fn check(&self, window_ms: Option<i64>) -> Result<i64, Error> {
        let times = self.sample();
        if times.is_empty() {
            return Err(invalid("the schedule never occurs"));
        }
        let mut smallest = i64::MAX;
        for pair in times.windows(2) {
            smallest = smallest.min(pair[1] - pair[0]);
        }
        if smallest < 4 * HOUR_MS {
            return Err(Error::Validation(
                "The schedule expression rotates more often than every four hours.".into(),
            ));
        }
        if let Some(window) = window_ms {
            for (i, t) in times.iter().enumerate() {
                let day_end = (t.div_euclid(DAY_MS) + 1) * DAY_MS;
                let next = times.get(i + 1).copied().unwrap_or(i64::MAX);
                if t + window > day_end || t + window > next {
                    return Err(Error::Validation(
                        "The rotation window (Duration) extends into the next UTC day or the next rotation window.".into(),
                    ));
                }
            }
        }
        Ok(smallest.min(1000 * DAY_MS))
    }
}

/// `Duration` (`Nh`, 1–24 hours) in milliseconds.
pub(crate) fn window_ms(duration: &str) -> Result<i64, Error> {
    duration
        .strip_suffix('h')
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| (1..=24).contains(n))
        .map(|n| n * HOUR_MS)
        .ok_or_else(|| {
            Error::Validation("Duration must be a number of hours from 1h to 24h.".into())
        })
}

/// The weekday (Monday–Friday) nearest day `n` of a month of `last` days, never leaving the
/// month; `n_days` is day `n` in days since 1970-01-01.
fn nearest_weekday(n: u32, last: u32, n_days: i64) -> u32 {
    match weekday(n_days) {
        // Saturday: the Friday before, or the Monday after on the 1st.
        7 if n == 1 => 3,
        7 => n - 1,
        // Sunday: the Monday after, or the Friday before on the last day.
        1 if n == last => n - 2,
        1 => n + 1,
        _ => n,
    }
}

/// 1 = Sunday … 7 = Saturday (1970-01-01 was a Thursday).
fn weekday(days: i64) -> u32 {
    u32::try_from((days + 4).rem_euclid(7)).unwrap_or(0) + 1
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn month_length(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// (year, month, day) of `days` since 1970-01-01 (H. Hinnant's civil_from_days).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i64, m: u32, d: u32, h: i64) -> i64 {
        days_from_civil(y, m, d) * DAY_MS + h * HOUR_MS
    }

    fn next(expr: &str, from: i64) -> i64 {
        Cron::parse(expr)
            .and_then(|c| c.check(None).map(|_| c))
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
            .next_after(from)
            .unwrap_or_else(|| panic!("{expr} never fires"))
    }

    #[test]
    fn calendar_arithmetic() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(civil(days_from_civil(2100, 3, 1) - 1), (2100, 2, 28));
        assert_eq!(weekday(0), 5); // Thursday
        assert_eq!(weekday(days_from_civil(2026, 12, 7)), 2); // a Monday
    }

    // The examples of AWS's "Rotation schedules" page, from Wednesday 2025-01-15 10:30 UTC.
    #[test]
    fn aws_documented_examples() {
        let from = at(2025, 1, 15, 10) + 30 * 60_000;
        // cron(0 4/12 * * ? *): 4:00 and 16:00 each day.
        assert_eq!(next("cron(0 4/12 * * ? *)", from), at(2025, 1, 15, 16));
        assert_eq!(
            next("cron(0 4/12 * * ? *)", at(2025, 1, 15, 16)),
            at(2025, 1, 16, 4)
        );
        // cron(0 8/8 * * ? *): 8:00 and 16:00 (increments reset each day).
        assert_eq!(
            next("cron(0 8/8 * * ? *)", at(2025, 1, 15, 16)),
            at(2025, 1, 16, 8)
        );
        // cron(0 10 * * ? *): every day at 10:00.
        assert_eq!(next("cron(0 10 * * ? *)", from), at(2025, 1, 16, 10));
        // cron(0 8 1/7 * ? *): days 1, 8, 15, 22, 29 at 8:00.
        assert_eq!(next("cron(0 8 1/7 * ? *)", from), at(2025, 1, 22, 8));
        // cron(0 16 L * ? *): the last day of each month at 16:00.
        assert_eq!(next("cron(0 16 L * ? *)", from), at(2025, 1, 31, 16));
        assert_eq!(
            next("cron(0 16 L * ? *)", at(2025, 1, 31, 16)),
            at(2025, 2, 28, 16)
        );
        // cron(0 0 ? * SUN#1 *): the first Sunday of the month at midnight.
        assert_eq!(next("cron(0 0 ? * SUN#1 *)", from), at(2025, 2, 2, 0));
        // cron(0 9 ? * 2-6 *) and MON-FRI: weekdays at 9:00 (1 = SUN).
        assert_eq!(next("cron(0 9 ? * 2-6 *)", from), at(2025, 1, 16, 9));
        assert_eq!(
            next("cron(0 9 ? * MON-FRI *)", at(2025, 1, 17, 9)),
            at(2025, 1, 20, 9)
        );
        // cron(0 0 ? * 6L *): the last Friday of the month.
        assert_eq!(next("cron(0 0 ? * 6L *)", from), at(2025, 1, 31, 0));
        // cron(0 8 15W * ? *): the weekday nearest the 15th (2025-02-15 is a Saturday).
        assert_eq!(
            next("cron(0 8 15W * ? *)", at(2025, 1, 16, 0)),
            at(2025, 2, 14, 8)
        );
        // LW: the last weekday (2025-05-31 is a Saturday).
        assert_eq!(
            next("cron(0 8 LW * ? *)", at(2025, 5, 1, 0)),
            at(2025, 5, 30, 8)
        );
        // Months by name and a list; a leap day waits for its year.
        assert_eq!(next("cron(0 6 1 JAN,JUL ? *)", from), at(2025, 7, 1, 6));
        assert_eq!(next("cron(0 0 29 2 ? *)", from), at(2028, 2, 29, 0));
    }

    #[test]
    fn what_aws_refuses() {
        for bad in [
            "cron(15 10 * * ? *)",    // minutes must be 0
            "cron(0 10 * * ? 2026)",  // year must be *
            "cron(0 10 * * * *)",     // neither day field is ?
            "cron(0 10 ? * ? *)",     // both are
            "cron(0 24 * * ? *)",     // hour out of range
            "cron(0 10 32 * ? *)",    // day out of range
            "cron(0 10 ? * 8 *)",     // weekday out of range
            "cron(0 10 ? * MON#6 *)", // no sixth Monday
            "cron(0 10 * 13 ? *)",
            "cron(0 10 * * ?)", // five fields
            "cron(0 10/0 * * ? *)",
            "cron(0 5-2 * * ? *)",
            "rate(1 day)",
        ] {
            assert!(
                matches!(Cron::parse(bad), Err(Error::Validation(_))),
                "{bad} parsed"
            );
        }
        // Parses, but AWS's limits refuse it.
        let often = Cron::parse("cron(0 0/2 * * ? *)").expect("parses");
        assert!(often.check(None).is_err(), "every two hours");
        let wraps = Cron::parse("cron(0 0,22 * * ? *)").expect("parses");
        assert!(wraps.check(None).is_err(), "22:00 then 0:00 is two hours");
        let never = Cron::parse("cron(0 0 30 2 ? *)").expect("parses");
        assert!(never.check(None).is_err(), "30 February");
    }

    #[test]
    fn windows_and_gaps() {
        let twice = Cron::parse("cron(0 4/12 * * ? *)").expect("parses");
        assert_eq!(twice.check(None).ok(), Some(12 * HOUR_MS));
        assert!(twice.check(Some(window_ms("8h").unwrap_or(0))).is_ok());
        // 16:00 + 9h reaches into the next day.
        assert!(twice.check(Some(9 * HOUR_MS)).is_err());
        let daily = Cron::parse("cron(0 20 * * ? *)").expect("parses");
        assert!(daily.check(Some(4 * HOUR_MS)).is_ok());
        assert!(daily.check(Some(5 * HOUR_MS)).is_err());
        assert!(window_ms("0h").is_err() && window_ms("25h").is_err() && window_ms("3").is_err());
        assert_eq!(window_ms("24h").ok(), Some(DAY_MS));
    }
}
