//! Target path handling: path safety, delegation pattern matching (fnmatch per segment, hash
//! prefixes, succinct hash bins), role-name encoding and the catalogue's path convention, on
//! arbitrary strings. Besides "no panic", checks the properties callers rely on.
#![no_main]

use edge_registry::catalogue::{
    self, check_alias, check_file_name, check_model_name, check_team, check_version,
    compare_versions, CataloguePath,
};
use edge_registry::tuf::metadata::{DelegatedRole, SuccinctRoles};
use edge_registry::tuf::path::{check_target_path, path_matches, quote};
use edge_registry::tuf::updater::metadata_key;
use edge_registry_fuzz::Input;
use libfuzzer_sys::fuzz_target;

/// Python's fnmatch for patterns with only `*`, `?` and literals, by dynamic programming over
/// (pattern prefix, text prefix): a different algorithm from the library's backtracking
/// matcher, and polynomial (plain recursion is exponential in the number of `*`, which the
/// fuzzer found as a 30 s timeout of this harness).
fn reference(p: &[char], t: &[char]) -> bool {
    // m[j]: the pattern prefix read so far matches t[..j].
    let mut m = vec![false; t.len() + 1];
    m[0] = true;
    for &c in p {
        let mut next = vec![false; t.len() + 1];
        if c == '*' {
            let mut any = false;
            for j in 0..=t.len() {
                any |= m[j];
                next[j] = any;
            }
        } else {
            for j in 1..=t.len() {
                next[j] = m[j - 1] && (c == '?' || t[j - 1] == c);
            }
        }
        m = next;
    }
    m[t.len()]
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let selector = input.u8();
    let pattern = String::from_utf8_lossy(input.blob()).into_owned();
    let path = String::from_utf8_lossy(input.rest()).into_owned();

    // Path safety: an accepted path is relative, has no empty/dot segments, no backslash, no
    // control character, no colon in its first segment.
    if check_target_path("targets", &path).is_ok() {
        assert!(!path.is_empty() && !path.starts_with('/'));
        assert!(!path.contains('\\') && !path.chars().any(char::is_control));
        assert!(path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".."));
        assert!(!path.split('/').next().unwrap_or("").contains(':'));
    }

    // Pattern matching never panics; patterns without `[` agree with the reference.
    let m = path_matches(&pattern, &path);
    if pattern.len() <= 24 && path.len() <= 24 && !pattern.contains('[') {
        let ps: Vec<&str> = pattern.split('/').collect();
        let ts: Vec<&str> = path.split('/').collect();
        let want = ps.len() == ts.len()
            && ps.iter().zip(&ts).all(|(p, t)| {
                reference(
                    &p.chars().collect::<Vec<_>>(),
                    &t.chars().collect::<Vec<_>>(),
                )
            });
        assert_eq!(m, want, "{pattern:?} vs {path:?}");
    }
    if !pattern.contains(['*', '?', '[']) {
        assert_eq!(m, pattern == path, "literal {pattern:?} vs {path:?}");
    }

    let role = DelegatedRole {
        name: pattern.clone(),
        keyids: vec![],
        threshold: 1,
        terminating: selector & 1 == 1,
        paths: (selector & 2 == 0).then(|| vec![pattern.clone()]),
        path_hash_prefixes: (selector & 2 != 0).then(|| vec![pattern.clone()]),
    };
    let _ = role.matches(&path);

    // Succinct hash bins: the bin chosen for a path is one of the bins.
    let bins = SuccinctRoles {
        keyids: vec![],
        threshold: 1,
        bit_length: u32::from(selector >> 2) % 34,
        name_prefix: pattern.clone(),
    };
    let bin = bins.role_for_target(&path);
    if (1..=32).contains(&bins.bit_length) {
        assert!(bins.is_bin(&bin), "{bin:?} is not a bin of {bins:?}");
        assert!(!bins.is_bin(&bins.bin_name(bins.bin_count())));
    }
    let _ = bins.is_bin(&path);

    // Role names become single, reversible file names.
    let q = quote(&path);
    assert!(q
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_.-~%".contains(&b)));
    let key = metadata_key("prefix/", &path);
    assert!(key.starts_with("prefix/") && !key["prefix/".len()..].contains('/'));

    // The catalogue convention: parsed paths are rebuilt exactly; name checks never panic.
    match catalogue::parse_path(&path) {
        Some(CataloguePath::Model { name, version }) => {
            assert_eq!(catalogue::model_path(&name, &version), path);
            assert!(check_target_path("targets", &path).is_ok(), "{path:?}");
        }
        Some(CataloguePath::File {
            name,
            version,
            file,
        }) => {
            assert_eq!(catalogue::file_path(&name, &version, &file), path);
            assert!(check_target_path("targets", &path).is_ok(), "{path:?}");
        }
        Some(CataloguePath::Aliases { name }) => {
            assert_eq!(catalogue::aliases_path(&name), path);
            assert!(check_target_path("targets", &path).is_ok(), "{path:?}");
        }
        None => {}
    }
    for check in [
        check_model_name,
        check_version,
        check_alias,
        check_team,
        check_file_name,
    ] {
        let _ = check(&pattern);
    }
    if check_team(&pattern).is_ok() {
        for p in catalogue::team_patterns(&pattern) {
            let _ = path_matches(&p, &path);
        }
    }
    // Version order is a total order: antisymmetric and reflexive.
    assert_eq!(
        compare_versions(&pattern, &pattern),
        std::cmp::Ordering::Equal
    );
    assert_eq!(
        compare_versions(&pattern, &path),
        compare_versions(&path, &pattern).reverse()
    );
});
