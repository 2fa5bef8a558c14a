//! FHIR `date` / `dateTime` / `instant` values as points in time, to compare resources by how
//! recent their data is (`ResourceMeta::date`). A partial date stands for its first instant
//! (`2024` → 2024-01-01T00:00:00Z, `2024-03` → 2024-03-01T00:00:00Z), a date without a time for
//! midnight UTC, and a `dateTime` is moved to UTC by its offset.

/// Seconds since 1970-01-01T00:00:00Z of a FHIR date of any precision (`YYYY`, `YYYY-MM`,
/// `YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)`); `None` when it is not one.
pub fn unix_seconds(date: &str) -> Option<i64> {
    let (day, time) = match date.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (date, None),
    };
    let mut parts = day.split('-');
    let year = number(parts.next()?, 4)?;
    let month = parts.next().map(|m| number(m, 2)).unwrap_or(Some(1))?;
    let dom = parts.next().map(|d| number(d, 2)).unwrap_or(Some(1))?;
    if parts.next().is_some()
        || !(1..=12).contains(&month)
        || dom < 1
        || dom > days_in_month(year, month)
    {
        return None;
    }
    // A time needs the full date before it.
    if time.is_some() && day.len() != 10 {
        return None;
    }
    let midnight = days_from_civil(year, month, dom) * 86_400;
    match time {
        None => Some(midnight),
        Some(t) => Some(midnight + seconds_of_day_utc(t)?),
    }
}

/// `hh:mm:ss[.fff](Z|±hh:mm)` as seconds from midnight UTC of the same date (may be negative
/// or past a day once the offset is applied).
fn seconds_of_day_utc(t: &str) -> Option<i64> {
    let zone_at = t.find(['Z', '+', '-'])?;
    let (clock, zone) = t.split_at(zone_at);
    let clock = match clock.split_once('.') {
        Some((hms, frac)) if !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit()) => hms,
        Some(_) => return None,
        None => clock,
    };
    let mut hms = clock.split(':');
    let h = number(hms.next()?, 2)?;
    let m = number(hms.next()?, 2)?;
    let s = number(hms.next()?, 2)?;
    // 60 seconds allows a leap second; 24:00:00 is not FHIR.
    if hms.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let offset = match zone {
        "Z" => 0,
        _ => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (oh, om) = zone[1..].split_once(':')?;
            let (oh, om) = (number(oh, 2)?, number(om, 2)?);
            if oh > 14 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    Some(h * 3600 + m * 60 + s - offset)
}

/// Exactly `len` ASCII digits.
fn number(s: &str, len: usize) -> Option<i64> {
    if s.len() != len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days-from-civil).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::unix_seconds;

    #[test]
    fn every_precision() {
        assert_eq!(unix_seconds("1970"), Some(0));
        assert_eq!(unix_seconds("2024"), Some(1_704_067_200));
        assert_eq!(unix_seconds("2024-03"), Some(1_709_251_200));
        assert_eq!(unix_seconds("2024-02-29"), Some(1_709_164_800));
        assert_eq!(unix_seconds("2026-11-23T12:00:00Z"), Some(1_795_435_200));
        assert_eq!(unix_seconds("1969-12-31"), Some(-86_400));
    }

    #[test]
    fn offsets_move_to_utc() {
        // 12:00 at +01:00 is 11:00 UTC; 23:30 at -02:00 is 01:30 UTC the next day.
        assert_eq!(
            unix_seconds("2020-04-24T12:00:00+01:00"),
            unix_seconds("2020-04-24T11:00:00Z")
        );
        assert_eq!(
            unix_seconds("2020-12-31T23:30:00-02:00"),
            unix_seconds("2021-01-01T01:30:00Z")
        );
        assert_eq!(
            unix_seconds("2020-04-24T12:00:00.250+00:00"),
            unix_seconds("2020-04-24T12:00:00Z")
        );
    }

    #[test]
    fn not_dates() {
        for bad in [
            "",
            "24",
            "2024-13",
            "2023-02-29",
            "2024-3-01",
            "2024-03-01T12:00:00",
            "2024-03-01T12:00Z",
            "2024-03-01T24:00:00Z",
            "2024-03-01T12:00:00+15:00",
            "2024-03-01T12:00:00.Z",
            "2024-03T12:00:00Z",
            "2024-03-01-02",
            "20240301",
            "2024-03-01 12:00:00Z",
        ] {
            assert_eq!(unix_seconds(bad), None, "{bad}");
        }
    }
}
