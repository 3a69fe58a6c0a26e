//! TUF expiry times: RFC 3339 `YYYY-MM-DDTHH:MM:SSZ` in UTC (spec 4.2 "expires"; python-tuf
//! parses them with `strptime("%Y-%m-%dT%H:%M:%SZ")`), converted to and from Unix seconds
//! exactly, with no panics on bad input.

use crate::clock::UnixSeconds;

/// Parses `YYYY-MM-DDTHH:MM:SSZ` (exactly that shape, UTC) to Unix seconds.
pub fn parse_expires(text: &str) -> Option<UnixSeconds> {
    let &[y0, y1, y2, y3, b'-', mo0, mo1, b'-', d0, d1, b'T', h0, h1, b':', mi0, mi1, b':', s0, s1, b'Z'] =
        text.as_bytes()
    else {
        return None;
    };
    let num = |digits: &[u8]| -> Option<i64> {
        digits.iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let year = num(&[y0, y1, y2, y3])?;
    let month = num(&[mo0, mo1])?;
    let day = num(&[d0, d1])?;
    let hour = num(&[h0, h1])?;
    let minute = num(&[mi0, mi1])?;
    let second = num(&[s0, s1])?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`. Years outside 0..=9999 are clamped to the
/// range so the output always has the required shape.
pub fn format_expires(t: UnixSeconds) -> String {
    let min = days_from_civil(0, 1, 1) * 86_400;
    let max = days_from_civil(9999, 12, 31) * 86_400 + 86_399;
    let t = t.clamp(min, max);
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian calendar).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // Values from Python: int(datetime(..., tzinfo=timezone.utc).timestamp()).
        assert_eq!(parse_expires("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_expires("2000-02-29T12:34:56Z"), Some(951_827_696));
        assert_eq!(parse_expires("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        assert_eq!(parse_expires("2038-01-19T03:14:08Z"), Some(2_147_483_648));
        assert_eq!(parse_expires("2099-12-31T23:59:59Z"), Some(4_102_444_799));
        assert_eq!(parse_expires("1969-12-31T23:59:59Z"), Some(-1));
    }

    #[test]
    fn refuses_bad_shapes_and_dates() {
        for bad in [
            "",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-00-01T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:60Z",
            "2024-01-01T00:00:00",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00+00:00",
            "2024-01-01T00:00:00.5Z",
            "+024-01-01T00:00:00Z",
            "２024-01-01T00:00:00Z",
            "2024-1-01T00:00:00Z",
        ] {
            assert_eq!(parse_expires(bad), None, "{bad}");
        }
        assert_eq!(parse_expires("2000-02-29T00:00:00Z"), Some(951_782_400));
    }

    #[test]
    fn format_round_trips() {
        for t in [
            0,
            951_827_696,
            1_709_164_800,
            4_102_444_799,
            -1,
            253_402_300_799,
        ] {
            assert_eq!(parse_expires(&format_expires(t)), Some(t), "{t}");
        }
        assert_eq!(format_expires(i64::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(format_expires(i64::MIN), "0000-01-01T00:00:00Z");
    }
}
