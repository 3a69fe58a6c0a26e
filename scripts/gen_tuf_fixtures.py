#!/usr/bin/env python3
"""Builds TUF repositories with python-tuf's Metadata API, as fixtures for our client.

Writes tests/fixtures/tuf/python-tuf/<repo>/{metadata,targets}/ and expected.json (what a
correct client must conclude: each target's signing role, length, hashes and custom field).
The repositories use every key type python-tuf signs with (ECDSA P-256, the securesystemslib
default; Ed25519; RSA-PSS; RSA PKCS#1 v1.5), a root rotation (1 -> 2 with new keys and
threshold), consistent snapshots, delegations (terminating, path patterns, path_hash_prefixes,
nested), succinct hash delegations, and targets with a `custom` model card. Expiry: 2099.

Then it checks python-tuf's own ngclient accepts each repository (scripts/tuf_ngclient_check.py).

Usage: pip install -r scripts/requirements-tuf.txt && python3 scripts/gen_tuf_fixtures.py
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    SuccinctRoles,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "tuf", "python-tuf")
EXPIRES = datetime(2099, 1, 1, tzinfo=timezone.utc)
PRETTY = JSONSerializer(compact=False)


class Repo:
    def __init__(self, name, consistent_snapshot=True):
        self.dir = os.path.join(OUT, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(os.path.join(self.dir, "metadata"))
        os.makedirs(os.path.join(self.dir, "targets"))
        self.consistent = consistent_snapshot
        self.targets_md = {}  # role -> Metadata[Targets]
        self.signers = {}  # role -> [signers]
        self.contents = {}  # target path -> bytes
        self.expected = {}

    def write_md(self, md, name):
        md.to_file(os.path.join(self.dir, "metadata", name), PRETTY)

    def add_target(self, role, path, data, custom=None, algs=("sha256",)):
        tf = TargetFile.from_data(path, data, list(algs))
        if custom is not None:
            tf.unrecognized_fields["custom"] = custom
        self.targets_md[role].signed.targets[path] = tf
        self.contents[path] = data
        self.expected[path] = {
            "role": role,
            "length": len(data),
            "hashes": dict(tf.hashes),
            "custom": custom,
        }
        directory, _, base = path.rpartition("/")
        for h in tf.hashes.values():
            name = f"{directory}/{h}.{base}" if directory else f"{h}.{base}"
            full = os.path.join(self.dir, "targets", name)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(data)
        full = os.path.join(self.dir, "targets", path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)

    def publish(self, snapshot_signers, timestamp_signers):
        snapshot = Metadata(Snapshot(expires=EXPIRES))
        for role, md in self.targets_md.items():
            md.signed.expires = EXPIRES
            for s in self.signers[role]:
                md.sign(s, append=True)
            data = md.to_bytes(PRETTY)
            version = md.signed.version
            name = f"{role}.json"
            snapshot.signed.meta[name] = MetaFile(
                version=version,
                length=len(data),
                hashes={"sha256": hashlib.sha256(data).hexdigest()},
            )
            fname = f"{version}.{name}" if self.consistent else name
            with open(os.path.join(self.dir, "metadata", fname), "wb") as f:
                f.write(data)
        for s in snapshot_signers:
            snapshot.sign(s, append=True)
        snap_bytes = snapshot.to_bytes(PRETTY)
        fname = "1.snapshot.json" if self.consistent else "snapshot.json"
        with open(os.path.join(self.dir, "metadata", fname), "wb") as f:
            f.write(snap_bytes)
        timestamp = Metadata(Timestamp(expires=EXPIRES))
        timestamp.signed.snapshot_meta = MetaFile(
            version=1,
            length=len(snap_bytes),
            hashes={"sha256": hashlib.sha256(snap_bytes).hexdigest()},
        )
        for s in timestamp_signers:
            timestamp.sign(s, append=True)
        self.write_md(timestamp, "timestamp.json")
        with open(os.path.join(self.dir, "expected.json"), "w") as f:
            json.dump({"consistent_snapshot": self.consistent, "targets": self.expected}, f, indent=2, sort_keys=True)
            f.write("\n")


def model_card(name, version):
    return {
        "name": name,
        "version": version,
        "format": "onnx",
        "inputs": [{"name": "x", "dtype": "float32", "shape": ["N", 4]}],
        "outputs": [{"name": "y", "dtype": "int64", "shape": ["N"]}],
        "labels": ["setosa", "versicolor", "virginica"],
        "metrics": {"accuracy": 97, "f1_macro_permille": 968},
        "created": "2026-01-01T00:00:00Z",
        "license": "MIT",
        "description": "fixture model card; numbers are integers because TUF metadata is canonical JSON",
    }


def build_main():
    """Root rotation, all key types, consistent snapshots, delegations."""
    repo = Repo("rotation-delegations")
    ecdsa_root = CryptoSigner.generate_ecdsa()
    ed_root = CryptoSigner.generate_ed25519()
    pss_root = CryptoSigner.generate_rsa(scheme="rsassa-pss-sha256", size=2048)
    ts = CryptoSigner.generate_ed25519()
    sn = CryptoSigner.generate_rsa(scheme="rsassa-pss-sha256", size=2048)
    tg = CryptoSigner.generate_rsa(scheme="rsa-pkcs1v15-sha256", size=2048)
    tg_ecdsa = CryptoSigner.generate_ecdsa()
    team = CryptoSigner.generate_ed25519()
    term = CryptoSigner.generate_ecdsa()
    hashed = CryptoSigner.generate_ed25519()
    nested = CryptoSigner.generate_rsa(scheme="rsa-pkcs1v15-sha256", size=2048)

    # Root v1: one ECDSA root key, threshold 1.
    root = Metadata(Root(expires=EXPIRES, consistent_snapshot=True))
    root.signed.add_key(ecdsa_root.public_key, "root")
    root.signed.add_key(ts.public_key, "timestamp")
    root.signed.add_key(sn.public_key, "snapshot")
    root.signed.add_key(tg.public_key, "targets")
    root.signed.add_key(tg_ecdsa.public_key, "targets")
    root.signed.roles["targets"].threshold = 2
    root.sign(ecdsa_root)
    repo.write_md(root, "1.root.json")

    # Root v2: root keys become Ed25519 + RSA-PSS with threshold 2, signed by the old key too.
    root.signed.version = 2
    root.signed.revoke_key(ecdsa_root.public_key.keyid, "root")
    root.signed.add_key(ed_root.public_key, "root")
    root.signed.add_key(pss_root.public_key, "root")
    root.signed.roles["root"].threshold = 2
    root.signatures.clear()
    for s in (ecdsa_root, ed_root, pss_root):
        root.sign(s, append=True)
    repo.write_md(root, "2.root.json")

    targets = Metadata(Targets(expires=EXPIRES))
    repo.targets_md["targets"] = targets
    repo.signers["targets"] = [tg, tg_ecdsa]
    repo.add_target("targets", "README.txt", b"python-tuf fixture repository\n")
    repo.add_target(
        "targets",
        "models/iris/1/model.onnx",
        b"not really onnx, but signed bytes\x00\x01\x02",
        custom=model_card("iris", "1"),
        algs=("sha256", "sha512"),
    )

    roles = {
        "team-vision": DelegatedRole("team-vision", [team.public_key.keyid], 1, False, paths=["models/team-vision-*/*/*"]),
        "frozen": DelegatedRole("frozen", [term.public_key.keyid], 1, True, paths=["releases/*"]),
        "hashed": DelegatedRole("hashed", [hashed.public_key.keyid], 1, False, path_hash_prefixes=[
            hashlib.sha256(b"bins/a.bin").hexdigest()[:2],
            hashlib.sha256(b"bins/b.bin").hexdigest()[:2],
        ]),
    }
    keys = {s.public_key.keyid: s.public_key for s in (team, term, hashed)}
    targets.signed.delegations = Delegations(keys=keys, roles=roles)

    vision = Metadata(Targets(expires=EXPIRES))
    repo.targets_md["team-vision"] = vision
    repo.signers["team-vision"] = [team]
    repo.add_target("team-vision", "models/team-vision-detector/2/model.onnx", b"detector v2", custom=model_card("team-vision-detector", "2"))
    # Nested delegation: team-vision -> team-vision-nested (RSA PKCS#1 v1.5).
    vision.signed.delegations = Delegations(
        keys={nested.public_key.keyid: nested.public_key},
        roles={"team-vision-nested": DelegatedRole("team-vision-nested", [nested.public_key.keyid], 1, False, paths=["models/team-vision-*/*/*"])},
    )
    nested_md = Metadata(Targets(expires=EXPIRES))
    repo.targets_md["team-vision-nested"] = nested_md
    repo.signers["team-vision-nested"] = [nested]
    repo.add_target("team-vision-nested", "models/team-vision-segmenter/1/model.onnx", b"segmenter v1")

    frozen = Metadata(Targets(expires=EXPIRES))
    repo.targets_md["frozen"] = frozen
    repo.signers["frozen"] = [term]
    repo.add_target("frozen", "releases/1.0.txt", b"release 1.0\n")

    hashed_md = Metadata(Targets(expires=EXPIRES))
    repo.targets_md["hashed"] = hashed_md
    repo.signers["hashed"] = [hashed]
    repo.add_target("hashed", "bins/a.bin", b"a" * 100)
    repo.add_target("hashed", "bins/b.bin", b"b" * 200)

    repo.publish([sn], [ts])
    return repo


def build_succinct():
    """Succinct hash bin delegations (TAP 15), no consistent snapshots, ECDSA everywhere."""
    repo = Repo("succinct-bins", consistent_snapshot=False)
    signers = {r: CryptoSigner.generate_ecdsa() for r in ("root", "timestamp", "snapshot", "targets", "bins")}
    root = Metadata(Root(expires=EXPIRES, consistent_snapshot=False))
    for r in ("root", "timestamp", "snapshot", "targets"):
        root.signed.add_key(signers[r].public_key, r)
    root.sign(signers["root"])
    repo.write_md(root, "1.root.json")
    repo.write_md(root, "root.json")

    targets = Metadata(Targets(expires=EXPIRES))
    repo.targets_md["targets"] = targets
    repo.signers["targets"] = [signers["targets"]]
    succinct = SuccinctRoles([signers["bins"].public_key.keyid], 1, 3, "bin")
    targets.signed.delegations = Delegations(
        keys={signers["bins"].public_key.keyid: signers["bins"].public_key},
        succinct_roles=succinct,
    )
    for name in succinct.get_roles():
        md = Metadata(Targets(expires=EXPIRES))
        repo.targets_md[name] = md
        repo.signers[name] = [signers["bins"]]
    for i in range(6):
        path = f"files/file-{i}.txt"
        repo.add_target(succinct.get_role_for_target(path), path, f"file {i}\n".encode())
    repo.publish([signers["snapshot"]], [signers["timestamp"]])
    return repo


def write_key_vectors():
    """Signatures made directly with pyca/cryptography in every scheme we verify, including
    variants securesystemslib's own signer does not produce but its verifier accepts (RSA-PSS
    with other salt lengths, as other TUF implementations sign; ECDSA with a high S value)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

    def pem(pub):
        return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    msg = b'{"_type":"targets","version":1}'
    vectors = []

    def add(name, keytype, scheme, public, sig):
        vectors.append({"name": name, "key": {"keytype": keytype, "scheme": scheme, "keyval": {"public": public}},
                        "message": msg.decode(), "sig": sig.hex()})

    rk = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for alg, h in (("sha256", hashes.SHA256()), ("sha384", hashes.SHA384()), ("sha512", hashes.SHA512())):
        for salt_name, salt in (("digest", padding.PSS.DIGEST_LENGTH), ("max", padding.PSS.MAX_LENGTH), ("zero", 0)):
            sig = rk.sign(msg, padding.PSS(mgf=padding.MGF1(h), salt_length=salt), h)
            add(f"rsa-pss-{alg}-salt-{salt_name}", "rsa", f"rsassa-pss-{alg}", pem(rk.public_key()), sig)
        sig = rk.sign(msg, padding.PKCS1v15(), h)
        add(f"rsa-pkcs1v15-{alg}", "rsa", f"rsa-pkcs1v15-{alg}", pem(rk.public_key()), sig)
    pkcs1 = rk.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()
    add("rsa-pkcs1v15-sha256-pkcs1-pem", "rsa", "rsa-pkcs1v15-sha256", pkcs1, rk.sign(msg, padding.PKCS1v15(), hashes.SHA256()))

    ek = ec.generate_private_key(ec.SECP256R1())
    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    sig = ek.sign(msg, ec.ECDSA(hashes.SHA256()))
    r, s_ = decode_dss_signature(sig)
    low, high = min(s_, n - s_), max(s_, n - s_)
    for keytype in ("ecdsa", "ecdsa-sha2-nistp256"):
        add(f"{keytype}-low-s", keytype, "ecdsa-sha2-nistp256", pem(ek.public_key()), encode_dss_signature(r, low))
    add("ecdsa-high-s", "ecdsa", "ecdsa-sha2-nistp256", pem(ek.public_key()), encode_dss_signature(r, high))

    dk = ed25519.Ed25519PrivateKey.generate()
    raw = dk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    add("ed25519", "ed25519", "ed25519", raw.hex(), dk.sign(msg))

    with open(os.path.join(OUT, "key-vectors.json"), "w") as f:
        json.dump(vectors, f, indent=2)
        f.write("\n")


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    write_key_vectors()
    checks = [
        (build_main(), "1.root.json"),
        (build_succinct(), "1.root.json"),
    ]
    for repo, root in checks:
        targets = sorted(repo.expected)
        subprocess.run(
            [sys.executable, os.path.join(HERE, "tuf_ngclient_check.py"), repo.dir,
             os.path.join(repo.dir, "metadata", root), *targets],
            check=True,
        )
    write_index()
    print(f"wrote {OUT}")


def write_index():
    """files.rs: every fixture file embedded with include_bytes!, because wasm tests cannot read
    files at run time. Paths are relative to files.rs."""
    entries = []
    for dirpath, _, files in os.walk(OUT):
        for name in files:
            if name == "files.rs":
                continue
            rel = os.path.relpath(os.path.join(dirpath, name), OUT).replace(os.sep, "/")
            entries.append(rel)
    lines = ["// Generated by scripts/gen_tuf_fixtures.py: every python-tuf fixture file, embedded.",
             "pub const PYTHON_TUF_FILES: &[(&str, &[u8])] = &["]
    for rel in sorted(entries):
        lines.append(f'    ("{rel}", include_bytes!("{rel}")),')
    lines.append("];")
    with open(os.path.join(OUT, "files.rs"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
