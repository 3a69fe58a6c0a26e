//! Version order (`docs/registry-format.md`, "Versions"). Owns [`compare_versions`]; imports
//! nothing from the crate.
//!
//! A version `MAJOR[.MINOR[.PATCH...]][-PRERELEASE]` (dot-separated digit runs, then optionally
//! `-` and a pre-release) orders as SemVer 2.0 does: the numeric parts as numbers (`1.10 > 1.9`,
//! `10 > 9`), a pre-release before its release (`2.0.0-rc1 < 2.0.0`), pre-releases by SemVer's
//! rule 11 (dot-separated identifiers, numeric ones as numbers and before alphanumeric ones,
//! `alpha < alpha.1 < beta`). Any other tag (`v2`, `1.a`, `latest`) has no pre-release part and
//! orders by the natural order: runs of digits as numbers, other runs byte-wise, a digit run
//! before a text run. Versions equal under these rules (`01` and `1`) are ordered byte-wise, so
//! the order is total and every client sorts the same way.

use std::cmp::Ordering;

/// The order of two versions (see the module documentation).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (ra, pa) = split_prerelease(a);
    let (rb, pb) = split_prerelease(b);
    natural(ra, rb)
        .then_with(|| match (pa, pb) {
            (None, None) => Ordering::Equal,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) => prerelease(x, y),
        })
        .then_with(|| a.cmp(b))
}

/// `("2.0.0", Some("rc1"))` for `2.0.0-rc1`; the whole tag and `None` when the part before the
/// first `-` is not dot-separated digit runs.
fn split_prerelease(v: &str) -> (&str, Option<&str>) {
    match v.split_once('-') {
        Some((release, pre))
            if release
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            (release, Some(pre))
        }
        _ => (v, None),
    }
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
}

/// Two digit runs as numbers, whatever their length.
fn numeric(x: &str, y: &str) -> Ordering {
    let xt = x.trim_start_matches('0');
    let yt = y.trim_start_matches('0');
    xt.len().cmp(&yt.len()).then_with(|| xt.cmp(yt))
}

/// SemVer 2.0 rule 11 over the identifiers of two pre-releases.
fn prerelease(a: &str, b: &str) -> Ordering {
    let (xs, ys): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    pieces(&xs, &ys)
}

/// Two sequences of pieces, piece by piece: digit pieces as numbers and before other pieces,
/// other pieces byte-wise; a sequence that is a prefix of the other comes first.
fn pieces(xs: &[&str], ys: &[&str]) -> Ordering {
    for (x, y) in xs.iter().zip(ys) {
        let ord = match (is_number(x), is_number(y)) {
            (true, true) => numeric(x, y),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    xs.len().cmp(&ys.len())
}

/// Runs of digits and of other bytes: `1.10a` is `1`, `.`, `10`, `a`.
fn runs(s: &str) -> Vec<&str> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=bytes.len() {
        let boundary = i == bytes.len()
            || bytes.get(i).map(u8::is_ascii_digit) != bytes.get(i - 1).map(u8::is_ascii_digit);
        if boundary {
            if let Some(r) = s.get(start..i) {
                out.push(r);
            }
            start = i;
        }
    }
    out
}

/// The natural order, without the byte-wise tie break.
fn natural(a: &str, b: &str) -> Ordering {
    pieces(&runs(a), &runs(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    fn sorted(mut v: Vec<&str>) -> Vec<&str> {
        v.sort_by(|a, b| compare_versions(a, b));
        v
    }

    #[test]
    fn natural_order_for_plain_versions() {
        assert_eq!(compare_versions("10", "9"), Greater);
        assert_eq!(compare_versions("1.10", "1.9"), Greater);
        assert_eq!(compare_versions("1.2", "1.2.1"), Less);
        assert_eq!(compare_versions("2", "2"), Equal);
        assert_eq!(compare_versions("01", "1"), Less);
        assert_eq!(compare_versions("1", "a"), Less);
        assert_eq!(compare_versions("v2", "v10"), Less);
        assert_eq!(
            sorted(vec![
                "10", "9", "1.10", "1.9", "1.a", "1.0", "2", "01", "1", "b", "a"
            ]),
            ["01", "1", "1.0", "1.9", "1.10", "1.a", "2", "9", "10", "a", "b"]
        );
        assert_eq!(
            compare_versions("99999999999999999999999", "100000000000000000000000"),
            Less
        );
    }

    #[test]
    fn semver_prereleases_come_before_their_release() {
        assert_eq!(compare_versions("2.0.0-rc1", "2.0.0"), Less);
        assert_eq!(compare_versions("2.0.0-rc1", "1.9.9"), Greater);
        assert_eq!(compare_versions("2.0.0-rc.2", "2.0.0-rc.10"), Less);
        // SemVer 2.0's own example of rule 11.
        let spec = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        let mut shuffled = spec.to_vec();
        shuffled.reverse();
        shuffled.swap(1, 5);
        assert_eq!(sorted(shuffled), spec);
        // Not a numeric release before the `-`: the natural order of the whole tag.
        assert_eq!(compare_versions("v2-rc1", "v2"), Greater);
        // Equal precedence is still a total order.
        assert_eq!(compare_versions("1.0-rc", "01.0-rc"), Greater);
        assert_eq!(compare_versions("1.0-rc", "1.0-rc"), Equal);
    }
}
