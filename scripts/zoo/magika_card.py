#!/usr/bin/env python3
"""Prints the model card of Magika's content-type classifier for the sample registry: its labels,
licence, provenance, and the byte-feature parameters a client needs (from the wheel's own
config.min.json). The wheel is the one scripts/zoo/models.json pins (fetch it first with
`scripts/zoo/zoo.py fetch --only magika-v3-3`). Standard library only."""
import hashlib
import json
import pathlib
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
NAME = "magika-v3-3"


def main() -> None:
    manifest = json.loads((ROOT / "scripts/zoo/models.json").read_text())
    entry = next(m for m in manifest["models"] if m["name"] == NAME)
    src = entry["source"]
    wheel = ROOT / "target/zoo/cache/pypi" / src["artifact"]
    if hashlib.sha256(wheel.read_bytes()).hexdigest() != src["sha256"]:
        sys.exit(f"{wheel}: sha256 differs from scripts/zoo/models.json")
    config_path = str(pathlib.PurePosixPath(entry["path"]).parent / "config.min.json")
    with zipfile.ZipFile(wheel) as z:
        config = json.loads(z.read(config_path))
    card = {
        "description": "Magika (Google) standard_v3_3: the content type of a file from its first "
                       "and last bytes, 214 types. Drop any file: it is read in this page only.",
        "license": entry["licence"],
        "labels": config["target_labels_space"],
        "source": f"{src['package']} {src['version']} ({src['registry']} package {src['artifact']}, "
                  f"sha256 {src['sha256']}), {entry['path']}",
        "input_features": {
            "kind": "magika-bytes",
            **{k: config[k] for k in ("beg_size", "mid_size", "end_size", "block_size",
                                      "padding_token", "min_file_size_for_dl",
                                      "medium_confidence_threshold")},
        },
    }
    print(json.dumps(card, indent=1))


if __name__ == "__main__":
    main()
