//! Target paths and role names: delegation pattern matching, path safety, and the
//! percent-encoding that turns untrusted names into single file names.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::TufError;

/// Everything but `A-Z a-z 0-9 _ . - ~`: what Python's `urllib.parse.quote(name, safe="")`
/// encodes, the way python-tuf's ngclient names role files and downloaded targets.
const QUOTE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

/// Percent-encodes `name` so it is one path segment with no `/`, `\`, `%`-ambiguity or NUL
/// (python-tuf: `parse.quote(name, "")`).
pub fn quote(name: &str) -> String {
    utf8_percent_encode(name, QUOTE).to_string()
}

/// [`quote`], and every upper-case ASCII letter percent-encoded as well: the name of a role's
/// file in a local store. Role names are case-sensitive in TUF (`Root` is a valid delegated
/// role, distinct from `root`), but file systems on macOS and Windows are not; with upper-case
/// letters encoded, two distinct names never fold to the same file name (the only letters
/// left in the output are lower-case ones and the hex digits of escapes, and `%` itself is
/// always escaped).
pub fn key_segment(name: &str) -> String {
    utf8_percent_encode(name, KEY_SEGMENT).to_string()
}

/// [`QUOTE`] plus `A-Z`.
const KEY_SEGMENT: &AsciiSet = &QUOTE
    .add(b'A')
    .add(b'B')
    .add(b'C')
    .add(b'D')
    .add(b'E')
    .add(b'F')
    .add(b'G')
    .add(b'H')
    .add(b'I')
    .add(b'J')
    .add(b'K')
    .add(b'L')
    .add(b'M')
    .add(b'N')
    .add(b'O')
    .add(b'P')
    .add(b'Q')
    .add(b'R')
    .add(b'S')
    .add(b'T')
    .add(b'U')
    .add(b'V')
    .add(b'W')
    .add(b'X')
    .add(b'Y')
    .add(b'Z');

/// Whether a delegation's path pattern matches `target_path` (spec 4.5 "paths"; python-tuf
/// `DelegatedRole._is_target_in_pathpattern`): both are split on `/`, must have the same number
/// of segments, and each segment matches with shell-style wildcards (Python `fnmatch` on POSIX:
/// `*`, `?`, `[seq]`, `[!seq]`, case-sensitive; `*` never crosses a `/`).
pub fn path_matches(pattern: &str, target_path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let t: Vec<&str> = target_path.split('/').collect();
    p.len() == t.len() && p.iter().zip(&t).all(|(p, t)| fnmatch(p, t))
}

#[derive(Debug)]
enum Token {
    Star,
    Any,
    Char(char),
    Class {
        negate: bool,
        items: Vec<(char, char)>,
    },
}

fn tokenize(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut rest: &[char] = &chars;
    while let Some((&c, tail)) = rest.split_first() {
        rest = tail;
        match c {
            '*' => {
                if !matches!(out.last(), Some(Token::Star)) {
                    out.push(Token::Star);
                }
            }
            '?' => out.push(Token::Any),
            '[' => {
                // Python fnmatch.translate: find the closing `]`; a `]` right after `[` or `[!`
                // is literal; with no closing `]` the `[` itself is literal.
                let mut skip = usize::from(rest.first() == Some(&'!'));
                if rest.get(skip) == Some(&']') {
                    skip += 1;
                }
                let close = rest
                    .iter()
                    .skip(skip)
                    .position(|&c| c == ']')
                    .map(|p| p + skip);
                let Some((body, after)) = close.and_then(|at| rest.split_at_checked(at)) else {
                    out.push(Token::Char('['));
                    continue;
                };
                // `after` starts with the closing `]`.
                rest = after.split_first().map_or(&[], |(_, tail)| tail);
                let (negate, mut body) = match body.split_first() {
                    Some(('!', tail)) => (true, tail),
                    _ => (false, body),
                };
                let mut items = Vec::new();
                loop {
                    match body {
                        [lo, '-', hi, tail @ ..] => {
                            // Python 3.9+ drops empty ranges such as z-a.
                            if lo <= hi {
                                items.push((*lo, *hi));
                            }
                            body = tail;
                        }
                        [c, tail @ ..] => {
                            items.push((*c, *c));
                            body = tail;
                        }
                        [] => break,
                    }
                }
                out.push(Token::Class { negate, items });
            }
            c => out.push(Token::Char(c)),
        }
    }
    out
}

fn token_matches(t: &Token, c: char) -> bool {
    match t {
        Token::Star => true,
        Token::Any => true,
        Token::Char(x) => *x == c,
        Token::Class { negate, items } => {
            items.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != *negate
        }
    }
}

/// Shell-style matching of one segment, linear-time backtracking over the last `*` (no
/// exponential blow-up on hostile patterns).
fn fnmatch(pattern: &str, text: &str) -> bool {
    let tokens = tokenize(pattern);
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while let Some(&ch) = text.get(t) {
        match tokens.get(p) {
            Some(Token::Star) => {
                star = Some((p, t));
                p += 1;
            }
            Some(tok) if token_matches(tok, ch) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    tokens
        .get(p..)
        .unwrap_or_default()
        .iter()
        .all(|t| matches!(t, Token::Star))
}

/// Checks that a target path can be used as a relative path under a download directory or a
/// base URL without leaving it: not empty, not absolute, no empty, `.` or `..` segments, no
/// backslash, no NUL, no control characters, no `:` in the first segment (Windows drives, URL
/// schemes).
pub fn check_target_path(role: &str, path: &str) -> Result<(), TufError> {
    let fail = |reason: &str| {
        Err(TufError::BadTargetPath {
            role: role.to_string(),
            path: path.to_string(),
            reason: reason.to_string(),
        })
    };
    if path.is_empty() {
        return fail("empty path");
    }
    if path.starts_with('/') {
        return fail("absolute path");
    }
    if path.contains('\\') {
        return fail("backslash");
    }
    if path.chars().any(|c| c == '\0' || c.is_control()) {
        return fail("NUL or control character");
    }
    if path.split('/').next().is_some_and(|s| s.contains(':')) {
        return fail("colon in the first segment");
    }
    for seg in path.split('/') {
        match seg {
            "" => return fail("empty segment"),
            "." | ".." => return fail("dot segment"),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_segments_never_collide_when_case_is_folded() {
        assert_eq!(key_segment("root"), "root");
        assert_eq!(key_segment("Root"), "%52oot");
        assert_eq!(key_segment("a/B%"), "a%2F%42%25");
        let names = [
            "root",
            "Root",
            "ROOT",
            "targets",
            "Targets",
            "timestamp",
            "TimeStamp",
            "snapshot",
            "sNapshot",
            "%52oot",
            "%2f",
            "%2F",
            "a/b",
            "A/B",
            "é",
            "É",
        ];
        let mut folded = std::collections::BTreeSet::new();
        for n in names {
            let k = key_segment(n);
            assert!(!k.contains(['/', '\\']), "{k}");
            assert!(folded.insert(k.to_lowercase()), "{n} collides as {k}");
        }
    }

    #[test]
    fn fnmatch_follows_python() {
        let cases = [
            ("*", "", true),
            ("*", "abc", true),
            ("*.onnx", "model.onnx", true),
            ("*.onnx", "model.onnxx", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("[ab]*", "bcd", true),
            ("[!ab]*", "bcd", false),
            ("[a-c]x", "bx", true),
            ("[z-a]x", "bx", false),
            ("[]]", "]", true),
            ("[!]]", "a", true),
            ("[", "[", true),
            ("a[", "a[", true),
            ("team-*", "team-vision", true),
            ("*a*a*a*a*a*a*a*a*b", &"a".repeat(200), false),
            ("ab*", "AB", false),
        ];
        for (p, t, want) in cases {
            assert_eq!(fnmatch(p, t), want, "{p} vs {t}");
        }
    }

    #[test]
    fn many_stars_match_in_polynomial_time() {
        // Backtracking that retries every split per `*` would take exponential time here
        // (a delegation pattern is signed metadata, but a delegated role's key is not the root's).
        let pattern = "*a".repeat(200) + "b";
        let text = "a".repeat(2000);
        let t0 = std::time::Instant::now();
        assert!(!fnmatch(&pattern, &text));
        assert!(fnmatch(&("*a".repeat(200) + "*"), &text));
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            t0.elapsed()
        );
    }

    #[test]
    fn patterns_match_segment_by_segment() {
        assert!(path_matches("models/team-*/*", "models/team-a/x.onnx"));
        assert!(!path_matches("models/*", "models/team-a/x.onnx"));
        assert!(!path_matches("*", "a/b"));
        assert!(path_matches("*/*", "a/b"));
    }

    #[test]
    fn quote_matches_urllib() {
        // urllib.parse.quote("a/b c%..~é", safe="") == "a%2Fb%20c%25..~%C3%A9"
        assert_eq!(quote("a/b c%..~é"), "a%2Fb%20c%25..~%C3%A9");
        assert_eq!(quote("role1"), "role1");
    }

    #[test]
    fn unsafe_paths_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a/./b",
            "a//b",
            "a/",
            "a\\b",
            "a\0b",
            "c:x",
            "http://x/y",
            "..",
            ".",
        ] {
            assert_eq!(
                crate::error::ErrorCode::code(&check_target_path("targets", bad).unwrap_err()),
                "BAD_TARGET_PATH",
                "{bad:?}"
            );
        }
        for good in ["a", "models/m/1/model.onnx", "a..b", "...", ".hidden/x"] {
            assert!(check_target_path("targets", good).is_ok(), "{good}");
        }
    }
}
