//! A [`Store`] on the file system: key `a/b.json` is the file `<root>/a/b.json`.
//!
//! Keys are checked segment by segment (no empty, `.` or `..` segments, no backslash, NUL or
//! `:`, not absolute), so no key names a file outside the root. Every value is written to a
//! temporary file in the same directory, flushed to disk, then renamed over the key's file.
//!
//! **Crash atomicity.** A single key is always either its old or its new value (rename is
//! atomic on POSIX file systems). A batch is applied in two phases: every new value is first
//! written and synced to its temporary file, then the renames and deletions run in batch order.
//! A crash in the second phase can leave a prefix of the batch applied; a crash in the first
//! leaves the old state plus stray temporary files (names ending in `.edge-tmp`, ignored by
//! [`Store::keys`] and overwritten by the next write). Callers that need all-or-nothing across
//! keys (the TUF updater) order their batches so that any prefix is safe: the TUF updater
//! re-verifies stored metadata on every refresh and treats an inconsistent prefix as stale.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Op, Store, StoreError};

const TMP_SUFFIX: &str = ".edge-tmp";

/// A directory-backed store.
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
    private: bool,
}

fn io(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    if e.raw_os_error() == Some(28) {
        return StoreError::Quota(format!("{what} {}: {e}", path.display()));
    }
    StoreError::Backend(format!("{what} {}: {e}", path.display()))
}

impl FsStore {
    /// A store rooted at `root` (created if missing).
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| io("create", &root, e))?;
        Ok(FsStore {
            root,
            private: false,
        })
    }

    /// A store for one user's cache (the CLI's verified-model cache): `root` is created with
    /// mode 0700 (and so is every directory the store creates in it), and refused when it is
    /// a symbolic link, not a directory, or writable by its group or by others (on Unix).
    /// Every read and write refuses to follow a symbolic link anywhere below `root`: another
    /// user who could plant one could otherwise redirect the store's writes or reads. What the
    /// store holds is still untrusted input; these checks keep other users from writing it.
    pub fn private(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        create_private_dir(&root)?;
        let meta = fs::symlink_metadata(&root).map_err(|e| io("stat", &root, e))?;
        let refuse = |why: &str| {
            Err(StoreError::Backend(format!(
                "refusing the cache directory {}: {why}",
                root.display()
            )))
        };
        if meta.file_type().is_symlink() {
            return refuse("it is a symbolic link");
        }
        if !meta.is_dir() {
            return refuse("it is not a directory");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode();
            if mode & 0o022 != 0 {
                return refuse(&format!(
                    "it is writable by its group or by others (mode {:o}); chmod go-w it or \
                     choose another",
                    mode & 0o777
                ));
            }
        }
        Ok(FsStore {
            root,
            private: true,
        })
    }

    /// In a private store, refuses `path` when it or a directory between the root and it is a
    /// symbolic link (a missing component is fine: it is about to be created).
    fn check_no_symlink(&self, path: &Path) -> Result<(), StoreError> {
        if !self.private {
            return Ok(());
        }
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return Ok(());
        };
        let mut at = self.root.clone();
        for c in rel.components() {
            at.push(c);
            match fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(StoreError::Backend(format!(
                        "refusing to follow the symbolic link {} in the cache",
                        at.display()
                    )))
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok(())
    }

    fn create_dirs(&self, dir: &Path) -> Result<(), StoreError> {
        if self.private {
            create_private_dir(dir)
        } else {
            fs::create_dir_all(dir).map_err(|e| io("create", dir, e))
        }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file a key maps to, after checking the key cannot escape the root.
    pub fn path_for(&self, key: &str) -> Result<PathBuf, StoreError> {
        let bad = |why: &str| {
            Err(StoreError::Backend(format!(
                "invalid store key {key:?}: {why}"
            )))
        };
        if key.is_empty() {
            return bad("empty");
        }
        if key.ends_with(TMP_SUFFIX) {
            return bad("reserved suffix");
        }
        let mut path = self.root.clone();
        for seg in key.split('/') {
            if seg.is_empty() || seg == "." || seg == ".." {
                return bad("empty or dot segment");
            }
            if seg.contains(['\\', '\0', ':']) {
                return bad("backslash, NUL or colon");
            }
            path.push(seg);
        }
        Ok(path)
    }

    fn collect(&self, dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<(), StoreError> {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io("list", dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| io("list", dir, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let key = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let ft = entry
                .file_type()
                .map_err(|e| io("stat", &entry.path(), e))?;
            if ft.is_dir() {
                self.collect(&entry.path(), &key, out)?;
            } else if ft.is_file() && !name.ends_with(TMP_SUFFIX) {
                out.push(key);
            }
        }
        Ok(())
    }
}

/// `create_dir_all` with mode 0700 for every directory it creates (on Unix).
fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(|e| io("create", dir, e))
}

impl Store for FsStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path_for(key)?;
        self.check_no_symlink(&path)?;
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("read", &path, e)),
        }
    }

    async fn commit(&self, ops: &[Op<'_>]) -> Result<(), StoreError> {
        // Phase 1: check every key and write every new value to a synced temporary file.
        let mut staged: Vec<(PathBuf, Option<PathBuf>)> = Vec::with_capacity(ops.len());
        let cleanup = |staged: &[(PathBuf, Option<PathBuf>)]| {
            for (_, tmp) in staged {
                if let Some(t) = tmp {
                    let _ = fs::remove_file(t);
                }
            }
        };
        for (i, op) in ops.iter().enumerate() {
            let result = match *op {
                Op::Put(key, value) => self.path_for(key).and_then(|path| {
                    self.check_no_symlink(&path)?;
                    let parent = path.parent().unwrap_or(&self.root).to_path_buf();
                    self.create_dirs(&parent)?;
                    // One temporary file per op, so a batch may put the same key twice.
                    let mut tmp = path.clone().into_os_string();
                    tmp.push(format!(".{i}{TMP_SUFFIX}"));
                    let tmp = PathBuf::from(tmp);
                    let mut f = fs::File::create(&tmp).map_err(|e| io("create", &tmp, e))?;
                    f.write_all(value).map_err(|e| io("write", &tmp, e))?;
                    f.sync_all().map_err(|e| io("sync", &tmp, e))?;
                    Ok((path, Some(tmp)))
                }),
                Op::Delete(key) => self.path_for(key).and_then(|p| {
                    self.check_no_symlink(&p)?;
                    Ok((p, None))
                }),
            };
            match result {
                Ok(s) => staged.push(s),
                Err(e) => {
                    cleanup(&staged);
                    return Err(e);
                }
            }
        }
        // Phase 2: rename and delete in batch order.
        for (i, (path, tmp)) in staged.iter().enumerate() {
            let result = match tmp {
                Some(t) => fs::rename(t, path).map_err(|e| io("rename", path, e)),
                None => match fs::remove_file(path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        Err(io("delete", path, e))
                    }
                    _ => Ok(()),
                },
            };
            if let Err(e) = result {
                cleanup(staged.get(i + 1..).unwrap_or(&[]));
                return Err(e);
            }
        }
        // Make the renames durable (best effort: not every platform can sync a directory).
        let mut dirs: Vec<&Path> = staged.iter().filter_map(|(p, _)| p.parent()).collect();
        dirs.sort();
        dirs.dedup();
        for d in dirs {
            if let Ok(f) = fs::File::open(d) {
                let _ = f.sync_all();
            }
        }
        Ok(())
    }

    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        self.collect(&self.root.clone(), "", &mut out)?;
        out.retain(|k| k.starts_with(prefix));
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use pollster::block_on;

    #[cfg(unix)]
    #[test]
    fn a_private_store_is_0700_and_follows_no_symbolic_link() {
        use std::os::unix::fs::{symlink, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cache/edge-registry");
        let s = FsStore::private(&root).unwrap();
        block_on(s.put("r/ns/tuf/root.json", b"x")).unwrap();
        for d in [root.clone(), root.join("r"), root.join("r/ns/tuf")] {
            let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", d.display());
        }
        // A symbolic link planted inside (a directory or the file itself) is never followed.
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::fs::write(elsewhere.join("root.json"), b"planted").unwrap();
        symlink(&elsewhere, root.join("r/ns/blob")).unwrap();
        symlink(
            elsewhere.join("root.json"),
            root.join("r/ns/tuf/timestamp.json"),
        )
        .unwrap();
        for key in ["r/ns/blob/root.json", "r/ns/tuf/timestamp.json"] {
            assert_eq!(block_on(s.get(key)).unwrap_err().code(), "STORE", "{key}");
            assert_eq!(
                block_on(s.put(key, b"y")).unwrap_err().code(),
                "STORE",
                "{key}"
            );
            assert_eq!(
                block_on(s.delete(key)).unwrap_err().code(),
                "STORE",
                "{key}"
            );
        }
        assert_eq!(
            std::fs::read(elsewhere.join("root.json")).unwrap(),
            b"planted"
        );
        // The directory itself: not a symbolic link, not writable by others.
        let link = dir.path().join("link");
        symlink(&root, &link).unwrap();
        assert_eq!(FsStore::private(&link).unwrap_err().code(), "STORE");
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = FsStore::private(&open).unwrap_err();
        assert!(err.to_string().contains("writable"), "{err}");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        FsStore::private(&open).unwrap();
    }

    #[test]
    fn batches_keys_and_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let s = FsStore::new(dir.path().join("store")).unwrap();
        block_on(s.commit(&[
            Op::Put("m/a.json", b"1"),
            Op::Put("b", b"22"),
            Op::Put("m/c%2Fd.json", b"3"),
        ]))
        .unwrap();
        assert_eq!(
            block_on(s.keys("")).unwrap(),
            vec!["b", "m/a.json", "m/c%2Fd.json"]
        );
        assert_eq!(
            block_on(s.keys("m/")).unwrap(),
            vec!["m/a.json", "m/c%2Fd.json"]
        );
        assert_eq!(block_on(s.get("b")).unwrap().as_deref(), Some(&b"22"[..]));
        block_on(s.commit(&[
            Op::Delete("b"),
            Op::Put("m/a.json", b"x"),
            Op::Delete("nope"),
        ]))
        .unwrap();
        assert_eq!(block_on(s.get("b")).unwrap(), None);
        assert_eq!(
            block_on(s.get("m/a.json")).unwrap().as_deref(),
            Some(&b"x"[..])
        );
        for bad in [
            "",
            "../x",
            "a/../../x",
            "/abs",
            "a//b",
            "a\\b",
            "c:x",
            "a/.",
            "x.edge-tmp",
        ] {
            let err = block_on(s.put(bad, b"no")).unwrap_err();
            assert_eq!(err.code(), "STORE", "{bad:?}");
        }
        // A batch with a bad key writes nothing.
        let err = block_on(s.commit(&[Op::Put("ok", b"1"), Op::Put("../bad", b"2")])).unwrap_err();
        assert_eq!(err.code(), "STORE");
        assert_eq!(block_on(s.get("ok")).unwrap(), None);
        assert!(!dir.path().join("bad").exists());
        assert_eq!(
            block_on(s.keys("")).unwrap(),
            vec!["m/a.json", "m/c%2Fd.json"]
        );
        // The same key twice in one batch: the last write wins, no temporary file is left.
        block_on(s.commit(&[Op::Put("twice", b"1"), Op::Put("twice", b"2")])).unwrap();
        assert_eq!(
            block_on(s.get("twice")).unwrap().as_deref(),
            Some(&b"2"[..])
        );
        let names: Vec<_> = std::fs::read_dir(s.root())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| !n.to_string_lossy().ends_with(TMP_SUFFIX)),
            "{names:?}"
        );
    }
}
