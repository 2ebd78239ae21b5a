#!/usr/bin/env python3
"""Benchmark: Verity's engine (tract) against onnxruntime, same inputs, one thread.

Run by scripts/bench-engine, which builds the engine's bench binary first:

    scripts/bench_engine.py BENCH_BINARY OUT.md [--quick]

For each model (the `onnx` wheel's "light" architectures with generated
weights, plus Verity's bundled models) it draws one input (seeded), runs
onnxruntime (intra- and inter-op threads = 1) and the engine (single-threaded,
in-process) on it, and reports each one's median latency over the same number
of timed runs after a warm-up, their ratio, and the largest difference between
the two outputs. The table goes to OUT.md (and stdout).
"""
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort

ROOT = pathlib.Path(__file__).resolve().parent.parent
LIGHT = pathlib.Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"

# (label, path, runs)
MODELS = [
    ("squeezenet", LIGHT / "light_squeezenet.onnx", 20),
    ("shufflenet", LIGHT / "light_shufflenet.onnx", 20),
    ("inception_v1", LIGHT / "light_inception_v1.onnx", 10),
    ("inception_v2", LIGHT / "light_inception_v2.onnx", 10),
    ("resnet50", LIGHT / "light_resnet50.onnx", 10),
    ("densenet121", LIGHT / "light_densenet121.onnx", 10),
    ("bvlc_alexnet", LIGHT / "light_bvlc_alexnet.onnx", 10),
    ("zfnet512", LIGHT / "light_zfnet512.onnx", 10),
    ("vgg19", LIGHT / "light_vgg19.onnx", 5),
    ("digits-mlp (batch 1)", ROOT / "models" / "digits-mlp.onnx", 200),
    ("digits-mlp (batch 32)", ROOT / "models" / "digits-mlp.onnx", 200),
    ("iris-forest (batch 32)", ROOT / "models" / "iris-forest.onnx", 200),
    # Tree ensembles of realistic size, made by tree_models() below.
    ("forest-100x10 (batch 64)", "forest-100x10", 50),
    ("forest-regressor-100x10 (batch 64)", "forest-regressor-100x10", 50),
    ("boosting-200x8 (batch 64)", "boosting-200x8", 50),
    ("slow-matmul (batch 1)", ROOT / "models" / "slow-matmul.onnx", 20),
]

DTYPES = {1: np.float32, 7: np.int64, 6: np.int32, 11: np.float64, 2: np.uint8, 9: np.bool_}
NAMES = {np.float32: "float32", np.int64: "int64", np.int32: "int32", np.float64: "float64",
         np.uint8: "uint8", np.bool_: "bool"}


def tree_models(out_dir):
    """Exports tree ensembles the size real ones are (100-200 trees, depth 8-10,
    20 features) with skl2onnx, seeded: a random forest classifier (3 classes),
    a random forest regressor and a two-class gradient boosting classifier.
    Returns {name: path}."""
    from skl2onnx import to_onnx
    from sklearn.datasets import make_classification, make_regression
    from sklearn.ensemble import (GradientBoostingClassifier, RandomForestClassifier,
                                  RandomForestRegressor)
    xc, yc = make_classification(n_samples=4000, n_features=20, n_informative=12,
                                 n_classes=3, random_state=0)
    xb, yb = make_classification(n_samples=4000, n_features=20, n_informative=12,
                                 random_state=1)
    xr, yr = make_regression(n_samples=4000, n_features=20, n_informative=12, random_state=2)
    made = {
        "forest-100x10": (RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0), xc, yc),
        "forest-regressor-100x10": (RandomForestRegressor(n_estimators=100, max_depth=10, random_state=0), xr, yr),
        "boosting-200x8": (GradientBoostingClassifier(n_estimators=200, max_depth=8, random_state=0), xb, yb),
    }
    paths = {}
    for name, (model, x, y) in made.items():
        path = out_dir / f"{name}.onnx"
        if not path.exists():
            x = x.astype(np.float32)
            model.fit(x, y)
            options = {id(model): {"zipmap": False}} if hasattr(model, "predict_proba") else None
            path.write_bytes(to_onnx(model, x[:1], options=options, target_opset=17).SerializeToString())
        paths[name] = path
    return paths


def declared_inputs(model):
    inits = {i.name for i in model.graph.initializer}
    return [v for v in model.graph.input if v.name not in inits]


def make_input(label, model, rng):
    """One input per declared input: standard normal floats; batch dims from the label."""
    batch = int(label.split("batch ")[1].rstrip(")")) if "batch " in label else 1
    feeds = {}
    for v in declared_inputs(model):
        t = v.type.tensor_type
        dtype = DTYPES[t.elem_type]
        shape = [d.dim_value if d.HasField("dim_value") else batch for d in t.shape.dim]
        if dtype == np.float32 and "digits" in label:
            feeds[v.name] = rng.integers(0, 17, size=shape).astype(np.float32)
        else:
            feeds[v.name] = rng.standard_normal(shape).astype(dtype)
    return feeds


def to_json(feeds):
    return {"tensors": [
        {"name": n, "dtype": NAMES[a.dtype.type], "shape": list(a.shape),
         "data": a.reshape(-1).tolist()} for n, a in feeds.items()]}


def time_ort(path, feeds, runs):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    start = time.perf_counter()
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - start) * 1e3
    outputs = session.run(None, feeds)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - start) * 1e3)
    names = [o.name for o in session.get_outputs()]
    return load_ms, statistics.median(times), dict(zip(names, outputs))


def max_diff(ours, theirs):
    worst = 0.0
    for t in ours["tensors"]:
        a = np.asarray(t["data"], dtype=np.float64)
        b = np.asarray(theirs[t["name"]], dtype=np.float64).reshape(-1)
        if a.shape != b.shape:
            return float("inf")
        scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
        worst = max(worst, float(np.max(np.abs(a - b))) / scale if a.size else 0.0)
    return worst


def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    bench, out_md = sys.argv[1], pathlib.Path(sys.argv[2])
    quick = "--quick" in sys.argv
    # --only SUBSTRING: just the models whose label contains it.
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""
    rng = np.random.default_rng(2026)
    rows = []
    trees = tree_models(out_md.parent)
    with tempfile.TemporaryDirectory() as tmp:
        for label, path, runs in MODELS:
            if only not in label:
                continue
            path = trees.get(path, path)
            if quick:
                runs = min(runs, 3)
            model = onnx.load(str(path))
            feeds = make_input(label, model, rng)
            inp = pathlib.Path(tmp) / "input.json"
            outp = pathlib.Path(tmp) / "output.json"
            inp.write_text(json.dumps(to_json(feeds)))
            ort_load, ort_ms, ort_out = time_ort(path, feeds, runs)
            res = subprocess.run([bench, str(path), str(inp), str(runs), str(outp)],
                                 capture_output=True, text=True)
            if res.returncode != 0:
                rows.append((label, feeds, ort_ms, None, None, None, res.stderr.strip()))
                print(f"{label}: engine failed: {res.stderr.strip()}", file=sys.stderr)
                continue
            ours = json.loads(res.stdout)
            diff = max_diff(json.loads(outp.read_text()), ort_out)
            rows.append((label, feeds, ort_ms, ours["median_ms"], ours["load_ms"], diff, None))
            print(f"{label}: onnxruntime {ort_ms:.2f} ms, engine {ours['median_ms']:.2f} ms, "
                  f"ratio {ours['median_ms'] / ort_ms:.2f}, max rel diff {diff:.1e}", file=sys.stderr)

    lines = [
        "| model | input | onnxruntime median (ms) | engine median (ms) | engine / onnxruntime | "
        "engine load (ms) | max output difference |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for label, feeds, ort_ms, ms, load, diff, err in rows:
        shape = ", ".join(f"{n} {list(a.shape)}" for n, a in feeds.items())
        if err:
            lines.append(f"| {label} | {shape} | {ort_ms:.2f} | fails: {err[:80]} | | | |")
        else:
            lines.append(f"| {label} | {shape} | {ort_ms:.2f} | {ms:.2f} | {ms / ort_ms:.2f} | "
                         f"{load:.0f} | {diff:.1e} |")
    ok = [(r[2], r[3]) for r in rows if r[3] is not None]
    geo = float(np.exp(np.mean([np.log(ms / o) for o, ms in ok]))) if ok else float("nan")
    header = (
        f"Measured {time.strftime('%Y-%m-%d')} on {cpu()} ({os.cpu_count()} cores), one thread each: "
        f"onnxruntime {ort.__version__} (CPU provider, intra/inter-op threads 1, default graph "
        f"optimizations) vs the engine (tract-onnx 0.23.9, release build, in-process). Median of "
        f"the timed runs after one warm-up run; the same seeded input for both. "
        f"Geometric mean of engine / onnxruntime: **{geo:.2f}**. "
        f"\"max output difference\" is the largest absolute difference, divided by "
        f"max(1, largest |onnxruntime output|).\n"
    )
    table = header + "\n" + "\n".join(lines) + "\n"
    print(table)
    out_md.write_text(table)


if __name__ == "__main__":
    main()
