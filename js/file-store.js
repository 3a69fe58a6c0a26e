// A registry store on the file system, for Node and Deno (node:fs): a server or a CLI-like
// tool restarts warm, with its trusted metadata and verified models where it left them.
//
//   import { Registry, fileStore } from "edge-registry";   // Node and Deno entries
//   const registry = await Registry.open({ url, trustedRoot, cache: fileStore("/var/cache/models") });
//
// The layout is the native CLI's (src/store/fs.rs): key `a/b` is the file `<dir>/a/b`, models
// in chunks named by content. Nothing read back is trusted: the registry checks every chunk's
// SHA-256 and every metadata signature again when it reads them, so a file another process
// changed is refused and fetched again (`cacheRepaired`), never served.
//
// Each value is written to a temporary file (`.edge-tmp`) beside its key's file, then renamed
// over it, so a key is always its old or its new value, even across a crash. Keys are checked
// segment by segment (no empty, `.` or `..` segment, no backslash, NUL or `:`), so no key names
// a file outside `dir`. `{ private: true }` creates `dir` with mode 0700 and refuses one that is
// a symbolic link or writable by others (for a per-user cache on a shared machine).
import { mkdir, readFile, writeFile, rename, rm, readdir, lstat, open } from "node:fs/promises";
import { join } from "node:path";

const TMP = ".edge-tmp";

function storeError(what, e) {
  const err = new Error(`${what}: ${e?.message ?? e}`, { cause: e });
  if (e?.code === "ENOSPC" || e?.code === "EDQUOT") err.code = "QUOTA";
  return err;
}

function checkKey(key) {
  if (typeof key !== "string" || key === "" || key.startsWith("/")) throw new Error(`bad store key ${JSON.stringify(key)}`);
  for (const seg of key.split("/")) {
    if (seg === "" || seg === "." || seg === ".." || /[\\\0:]/.test(seg) || seg.endsWith(TMP)) {
      throw new Error(`bad store key ${JSON.stringify(key)}`);
    }
  }
  return key;
}

/** A store object for `Registry.open({ cache })` over the directory `dir`. */
export function fileStore(dir, { private: isPrivate = false } = {}) {
  if (typeof dir !== "string" && !(dir instanceof URL)) throw new TypeError("fileStore(dir): dir must be a path or a file: URL");
  const rootDir = dir instanceof URL ? decodeURIComponent(dir.pathname) : dir;
  const mode = isPrivate ? 0o700 : 0o777;
  const ready = (async () => {
    await mkdir(rootDir, { recursive: true, mode });
    const st = await lstat(rootDir);
    if (st.isSymbolicLink() || !st.isDirectory()) throw new Error(`${rootDir} is not a directory`);
    if (isPrivate && process.platform !== "win32" && (st.mode & 0o022)) {
      throw new Error(`${rootDir} is writable by other users (mode ${(st.mode & 0o777).toString(8)}): refusing it as a private cache`);
    }
  })();
  const path = (key) => join(rootDir, ...checkKey(key).split("/"));
  let tmpCount = 0;
  return {
    async get(key) {
      await ready;
      try {
        return new Uint8Array(await readFile(path(key)));
      } catch (e) {
        if (e?.code === "ENOENT" || e?.code === "ENOTDIR") return undefined;
        throw storeError(`read ${key}`, e);
      }
    },
    async put(key, bytes) {
      await ready;
      const file = path(key);
      const tmp = `${file}.${process.pid}.${tmpCount++}${TMP}`;
      try {
        await mkdir(join(file, ".."), { recursive: true, mode });
        await writeFile(tmp, bytes, { mode: isPrivate ? 0o600 : 0o666 });
        const fh = await open(tmp, "r");
        try { await fh.sync(); } finally { await fh.close(); }
        await rename(tmp, file);
      } catch (e) {
        await rm(tmp, { force: true }).catch(() => {});
        throw storeError(`write ${key}`, e);
      }
    },
    async delete(key) {
      await ready;
      try {
        await rm(path(key), { force: true });
      } catch (e) {
        throw storeError(`delete ${key}`, e);
      }
    },
    async keys(prefix) {
      await ready;
      const out = [];
      const walk = async (d, rel) => {
        let entries;
        try {
          entries = await readdir(d, { withFileTypes: true });
        } catch (e) {
          if (e?.code === "ENOENT") return;
          throw storeError(`list ${d}`, e);
        }
        for (const e of entries) {
          const key = rel ? `${rel}/${e.name}` : e.name;
          if (e.isDirectory()) await walk(join(d, e.name), key);
          else if (e.isFile() && !e.name.endsWith(TMP) && key.startsWith(prefix)) out.push(key);
        }
      };
      // Start at the deepest directory the prefix names whole.
      const cut = prefix.lastIndexOf("/");
      const start = cut < 0 ? "" : prefix.slice(0, cut);
      if (start && start.split("/").some((s) => s === "" || s === "." || s === "..")) return [];
      await walk(start ? join(rootDir, ...start.split("/")) : rootDir, start);
      return out.sort();
    },
    /** The directory. */
    dir: rootDir,
  };
}

