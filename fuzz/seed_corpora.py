#!/usr/bin/env python3
"""Writes the seed corpora of every fuzz target into fuzz/corpus/<target>/ from the committed
fixtures (tests/fixtures, tests/vectors) and the regression fixtures (tests/fixtures/regressions).

Each target's input layout is documented in its source (fuzz/fuzz_targets/*.rs); this script
builds inputs in those layouts around the fixture bytes. Standard library only; idempotent
(file names are content hashes, so re-running adds nothing new and the fuzzer's own corpus
entries are kept).

    python3 fuzz/seed_corpora.py [--corpus fuzz/corpus]
"""

import argparse
import csv
import hashlib
import io
import json
import math
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"


def u16(n):
    return struct.pack("<H", min(n, 0xFFFF))


def blob(b):
    b = b[:0xFFFF]
    return u16(len(b)) + b


def add(corpus, target, data):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def head_lines(path, n):
    with open(path, "rb") as f:
        return b"".join(f.readline() for _ in range(n))


def csv_fixtures():
    return sorted(FIX.glob("models/*/test.csv")) + sorted(FIX.glob("models/*/train.csv"))


def regressions(target):
    d = FIX / "regressions" / target
    return sorted(p for p in d.glob("*") if p.is_file()) if d.is_dir() else []


def seed_digest(corpus):
    bodies = [b"", b"a", b"hello world", head_lines(FIX / "models/iris/test.csv", 5)]
    for i, body in enumerate(bodies):
        for mode in range(6):
            pattern = bytes([1, 0, 7, 64][: (i + mode) % 5])
            add(corpus, "digest_stream", bytes([mode, i * 3, len(pattern)]) + pattern + body)


def seed_paths(corpus):
    paths, patterns = set(), set()
    for exp in FIX.glob("tuf/python-tuf/*/expected.json"):
        paths.update(json.loads(exp.read_text())["targets"].keys())
    for meta in FIX.glob("tuf/python-tuf/*/metadata/*.json"):
        signed = json.loads(meta.read_text()).get("signed", {})
        for role in (signed.get("delegations") or {}).get("roles", []) or []:
            patterns.update(role.get("paths") or [])
            patterns.update(role.get("path_hash_prefixes") or [])
    paths.update(["models/iris/1/model.onnx", "models/iris/aliases.json", "../x", "a//b", "c:x"])
    patterns.update(["models/team-*/*/*", "[!a-c]?*", "*", "[]]"])
    for i, (pat, path) in enumerate(zip(sorted(patterns) * 4, sorted(paths))):
        add(corpus, "tuf_path", bytes([i % 256]) + blob(pat.encode()) + path.encode())


def seed_metadata(corpus):
    roles = {"root": 0, "timestamp": 1, "snapshot": 2, "targets": 3}
    for meta in sorted(FIX.glob("tuf/python-tuf/*/metadata/*.json")):
        raw = meta.read_bytes()
        doc = json.loads(raw)
        role = roles.get(doc.get("signed", {}).get("_type"), 4)
        if doc.get("signed", {}).get("_type") == "targets" and "targets" not in meta.name:
            role = 4
        add(corpus, "tuf_metadata", bytes([role]) + raw)
        signed = json.dumps(doc["signed"], indent=1).encode()
        for flags in (0x80, 0xC0):
            add(corpus, "tuf_metadata", bytes([role | flags]) + signed)
    # Canonical-JSON edge cases, in raw mode as any role.
    for text in ['{"a":"\\u0000\\"\\\\","b":[1,-9223372036854775808,18446744073709551615]}',
                 '{"\\u00e9":1,"z":2,"Z":3,"\\ud83d\\ude00":4}', '[[[[[]]]]]', '{"x":1.0}', '"\\u2028"']:
        add(corpus, "tuf_metadata", bytes([1]) + text.encode())


def seed_refresh(corpus):
    add(corpus, "tuf_refresh", b"")
    for flags in (0, 1, 2, 3, 4, 7, 0x40, 0x80):
        add(corpus, "tuf_refresh", bytes([flags, 0]))
    patches = [
        {"version": 2}, {"expires": "2020-01-01T00:00:00Z"}, {"spec_version": "2.0.0"},
        {"meta": {"targets.json": {"version": 2}}}, {"meta": {"snapshot.json": {"version": 5}}},
        {"targets": {"a/b": {"length": 1, "hashes": {"sha512": "00"}}}},
        {"delegations": {"roles": [{"name": "x", "keyids": [], "threshold": 1, "paths": ["*"]}]}},
        {"delegations": {"succinct_roles": {"keyids": [], "threshold": 1, "bit_length": 3,
                                            "name_prefix": "bin"}, "roles": None}},
        {"consistent_snapshot": False}, {"roles": {"timestamp": {"threshold": 2}}},
    ]
    for i, p in enumerate(patches):
        body = json.dumps(p).encode()
        for op in (1, 1 | 0x40, 7):
            add(corpus, "tuf_refresh", bytes([(i * 5) % 256, i]) + bytes([op, i * 3]) + blob(body))
    # Store tampering, removed files, target lookups and replaced target bytes.
    add(corpus, "tuf_refresh", bytes([0, 0, 3, 5]) + blob(b"{}") + bytes([4, 7]) + blob(b""))
    add(corpus, "tuf_refresh", bytes([4, 1, 2, 9]) + blob(b"") + bytes([5, 0]) + blob(b"models/team-a-x/1/model.onnx"))
    add(corpus, "tuf_refresh", bytes([1, 3, 6, 1]) + blob(b"tampered") + bytes([5, 0]) + blob(b"README.txt"))
    # python-tuf's signed bodies as patches (other keys, other names: a different repository).
    for meta in sorted(FIX.glob("tuf/python-tuf/*/metadata/*.json"))[:12]:
        signed = json.dumps(json.loads(meta.read_bytes())["signed"]).encode()
        add(corpus, "tuf_refresh", bytes([3, 0, 1, len(meta.name)]) + blob(signed))


def seed_onnx(corpus):
    for p in sorted(FIX.glob("**/*.onnx")):
        add(corpus, "onnx_model", p.read_bytes())


def eval_prefix(a, b, pattern=b"", options=b""):
    return bytes([a, b, len(pattern)]) + pattern + blob(options)


def seed_eval(corpus):
    for i, path in enumerate(csv_fixtures()):
        body = head_lines(path, 24)
        for a, b in ((0, 0), (2, 0), (1, 0), (3, 0x10), (0x40, 2), (4, 1), (0x82, 0x34)):
            add(corpus, "eval_csv", eval_prefix(a, b, bytes([1, 7][: i % 3])) + body)
    # Prediction columns, as the CLI's `eval --predictions` reads them.
    rows = ["y,p_0,p_1,p_2,pred,s", "0,0.9,0.05,0.05,0,a", "1,0.1,0.8,0.1,1,b", "2,0.2,0.2,0.6,2,a",
            "1,NA,,0.3,1,\"q,\"\"x\"\"\"", "0,1e308,-1,nan,7,b"]
    body = ("\n".join(rows) + "\n").encode()
    for a, b in ((0, 0), (0, 4), (0, 0xC), (0x80, 0x2), (0x40, 0x30)):
        add(corpus, "eval_csv", eval_prefix(a, b) + body)
    add(corpus, "eval_csv", eval_prefix(0, 0, b"", b'{"metrics":{"calibration_bins":1000000000}}') + body)
    add(corpus, "eval_csv", eval_prefix(0, 0, b"", b'{"slices":{"quantile_bins":4}, "batch_size": 2}') + body)

    names = ["f0", "f1", "f2", "f3", "s", "p_0", "p_1", "p_2", "pred", "value", "y"]
    with open(FIX / "models/iris/test.csv", newline="") as f:
        data = list(csv.reader(f))[1:20]
    objs = []
    for r in data:
        feats = [float(x) for x in r[:4]]
        label = int(float(r[4]))
        p = [0.1, 0.1, 0.1]
        p[label] = 0.8
        objs.append(dict(zip(names, feats + ["ab"[label % 2]] + p + [label, feats[0], label])))
    objs.append({"f0": None, "f1": "x", "y": [1, {"a": [2]}], "s": True})
    rows_doc = json.dumps(objs).encode()
    cols_doc = json.dumps({k: [o.get(k) for o in objs] for k in names}).encode()
    for doc in (rows_doc, cols_doc, b"[]", b"{}", b"[{\"y\":1}]"):
        for a, b in ((0, 0), (2, 0), (1, 0), (3, 0x10), (0x40, 1)):
            add(corpus, "eval_json", eval_prefix(a, b, bytes([3])) + doc)

    for target in ("eval_csv", "eval_json"):
        for p in regressions(target):
            add(corpus, target, p.read_bytes())


def profile_of(path, limit=200):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1 : limit + 1]
    cols = []
    for j, name in enumerate(header[:8]):
        vals = []
        for r in rows:
            try:
                vals.append(float(r[j]))
            except (ValueError, IndexError):
                pass
        vals.sort()
        n = len(vals)
        if not n:
            continue
        mean = sum(vals) / n
        std = math.sqrt(sum((v - mean) ** 2 for v in vals) / n)
        lo, hi = vals[0], vals[-1]
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        edges = [lo + (hi - lo) * k / 10 for k in range(11)]
        counts = [0] * 10
        for v in vals:
            counts[min(9, int((v - lo) / (hi - lo) * 10))] += 1

        def q(level):
            pos = level * (n - 1)
            i = int(pos)
            return vals[i] + (vals[min(i + 1, n - 1)] - vals[i]) * (pos - i)

        levels = [0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0]
        cols.append({"name": name, "kind": "numeric", "count": n, "missing": len(rows) - n,
                     "numeric": {"min": vals[0], "max": vals[-1], "mean": mean, "std": std,
                                 "quantiles": [{"q": l, "value": q(l)} for l in levels],
                                 "histogram": {"edges": edges, "counts": counts},
                                 "distinct": len(set(vals)), "sample": vals[:50],
                                 "sample_is_complete": n <= 50}})
    cols.append({"name": "city", "kind": "categorical", "count": 10, "missing": 0,
                 "categorical": {"categories": [{"value": "Paris", "count": 6}, {"value": "Oslo", "count": 4}],
                                 "other": 0, "distinct": 2}})
    return {"format": "edge-registry-profile", "version": 1, "rows": len(rows), "columns": cols}


def seed_profile(corpus):
    for path in sorted(FIX.glob("models/*/train.csv")):
        add(corpus, "eval_profile", json.dumps(profile_of(path), indent=1).encode())
    for p in regressions("eval_profile"):
        add(corpus, "eval_profile", p.read_bytes())


def seed_cards(corpus):
    for i, card in enumerate(sorted(FIX.glob("models/*/card.json"))):
        body = card.read_bytes()
        doc = json.loads(body)
        selector = {"iris": 0, "digits": 1}.get(doc.get("name"), 3) | (0 if doc.get("version") == "1" else 4)
        add(corpus, "catalog_card", bytes([selector]) + body)
        add(corpus, "catalog_card", bytes([selector | 0x10]) + body)
    for exp in FIX.glob("tuf/python-tuf/*/expected.json"):
        for path, t in json.loads(exp.read_text())["targets"].items():
            if t.get("custom"):
                add(corpus, "catalog_card", bytes([0x20]) + json.dumps(t["custom"]).encode())
    add(corpus, "catalog_card", b"\x00" + b'{"name":"iris","aliases":{"production":"1","staging":"2"}}')
    add(corpus, "catalog_card", b"\x01" + b'{"name":"digits","aliases":{"bad alias":"1"}}')


def seed_model_signature(corpus):
    base = FIX / "model-signing"
    for b in sorted((base / "bundles").rglob("*.sig")):
        body = b.read_bytes()
        for selector in (0x00, 0x01, 0x04, 0x05, 0x08):
            add(corpus, "model_signature", bytes([selector]) + body)
        try:
            import base64
            payload = base64.b64decode(json.loads(body)["dsseEnvelope"]["payload"])
            add(corpus, "model_signature", b"\x02" + payload)
        except (ValueError, KeyError, TypeError):
            pass
    for t in sorted((base / "sigstore").rglob("trusted_root.json")):
        add(corpus, "model_signature", b"\x03" + t.read_bytes())
    for pem in sorted((base / "ca").rglob("*.pem")) + sorted((base / "keys").glob("*.pub.pem")):
        add(corpus, "model_signature", b"\x03" + pem.read_bytes())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(ROOT / "fuzz" / "corpus"))
    corpus = Path(ap.parse_args().corpus)
    for seed in (seed_digest, seed_paths, seed_metadata, seed_refresh, seed_onnx, seed_eval,
                 seed_profile, seed_cards, seed_model_signature):
        seed(corpus)
    for target in ("digest_stream", "tuf_path", "tuf_metadata", "tuf_refresh", "onnx_model"):
        for p in regressions(target):
            add(corpus, target, p.read_bytes())
    for d in sorted(corpus.iterdir()):
        print(f"{d.name}: {sum(1 for _ in d.iterdir())} inputs")


if __name__ == "__main__":
    main()
