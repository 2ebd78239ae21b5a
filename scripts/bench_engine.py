#!/usr/bin/env python3
"""Benchmark: Verity's engine (tract) against onnxruntime, same inputs, one thread.

Run by scripts/bench-engine, which builds the engine's bench binary first:

    scripts/bench_engine.py BENCH_BINARY OUT.md [--quick]

For each model it draws one input (seeded), runs onnxruntime (intra- and
inter-op threads = 1) and the engine (single-threaded, in-process) on it, and
reports each one's median latency over the same number of timed runs after a
warm-up, their ratio, and the largest difference between the two outputs; then
the engine again on two threads (its own column, with whether its output is
byte-identical to the one-thread output). The table goes to OUT.md (and stdout).

The models: the `onnx` wheel's "light" architectures with real weights (the
wheel's files build every weight at run time with `ConstantOfShape`, which
mis-measures weight-heavy models: `real_weights` replaces each with a seeded
random initializer of the same shape), a tiny attention block, Verity's
bundled models and tree ensembles of realistic size.
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

# (label, path, runs). "light:NAME" is the wheel's light model NAME with real
# weights (real_weights); "attention" the block made by attention_model().
MODELS = [
    ("squeezenet", "light:squeezenet", 20),
    ("shufflenet", "light:shufflenet", 20),
    ("inception_v1", "light:inception_v1", 10),
    ("inception_v2", "light:inception_v2", 10),
    ("resnet50", "light:resnet50", 10),
    ("densenet121", "light:densenet121", 10),
    ("bvlc_alexnet", "light:bvlc_alexnet", 10),
    ("tiny-attention (batch 8)", "attention", 50),
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


def real_weights(name, out_dir):
    """The wheel's light model NAME with each generated weight (a float
    `ConstantOfShape` of a constant shape) replaced by a seeded random
    initializer of that shape: He-normal for kernels (fan-in = product of the
    trailing dimensions), uniform [0.5, 1.5) for what BatchNormalization takes
    as scale or variance and what a Mul scales by, N(0, 0.1) for the other
    vectors (biases, means). Returns the path of the converted model."""
    path = out_dir / f"{name}-real.onnx"
    if path.exists():
        return path
    model = onnx.load(str(LIGHT / f"light_{name}.onnx"))
    rng = np.random.default_rng(sum(map(ord, name)))
    inits = {i.name: i for i in model.graph.initializer}
    uses = {}
    for n in model.graph.node:
        for k, i in enumerate(n.input):
            uses.setdefault(i, []).append((n.op_type, k))
    keep = []
    for n in model.graph.node:
        value = next((a.t for a in n.attribute if a.name == "value"), None)
        if (n.op_type != "ConstantOfShape" or n.input[0] not in inits
                or (value is not None and value.data_type != onnx.TensorProto.FLOAT)):
            keep.append(n)
            continue
        shape = [int(d) for d in onnx.numpy_helper.to_array(inits[n.input[0]])]
        consumers = uses.get(n.output[0], [])
        if len(shape) >= 2:
            fan_in = max(1, int(np.prod(shape[1:])))
            w = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
        elif any((op == "BatchNormalization" and k in (1, 4)) or op == "Mul" for op, k in consumers):
            w = rng.uniform(0.5, 1.5, shape)
        else:
            w = rng.standard_normal(shape) * 0.1
        model.graph.initializer.append(onnx.numpy_helper.from_array(w.astype(np.float32), n.output[0]))
    del model.graph.node[:]
    model.graph.node.extend(keep)
    used = {i for n in model.graph.node for i in n.input}
    shapes = [i for i in model.graph.initializer if i.name.endswith("__SHAPE") and i.name not in used]
    for i in shapes:
        model.graph.initializer.remove(i)
    for v in [v for v in model.graph.input if v.name.endswith("__SHAPE") and v.name not in used]:
        model.graph.input.remove(v)
    onnx.save(model, str(path))
    return path


def attention_model(out_dir):
    """A tiny self-attention block as a PyTorch export writes one: batch and
    sequence free, Q/K/V projections, scaled dot-product attention with
    softmax, output projection, residual; d_model 64, 4 heads, sequence 16 in
    the benchmark. Seeded weights."""
    from onnx import TensorProto, helper, numpy_helper
    path = out_dir / "tiny-attention.onnx"
    if path.exists():
        return path
    rng = np.random.default_rng(64)
    d, heads = 64, 4
    inits = [numpy_helper.from_array((rng.standard_normal((d, d)) / np.sqrt(d)).astype(np.float32), n)
             for n in ("wq", "wk", "wv", "wo")]
    inits += [
        numpy_helper.from_array(np.array([0, 0, heads, d // heads], dtype=np.int64), "split_heads"),
        numpy_helper.from_array(np.array([0, 0, d], dtype=np.int64), "merge_heads"),
        numpy_helper.from_array(np.array(1.0 / np.sqrt(d // heads), dtype=np.float32), "scale"),
    ]
    nodes = []
    for n in ("q", "k", "v"):
        nodes += [
            helper.make_node("MatMul", ["x", f"w{n}"], [f"{n}_flat"]),
            helper.make_node("Reshape", [f"{n}_flat", "split_heads"], [f"{n}_split"]),
            helper.make_node("Transpose", [f"{n}_split"], [f"{n}_heads"], perm=[0, 2, 1, 3]),
        ]
    nodes += [
        helper.make_node("Transpose", ["k_heads"], ["k_t"], perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["q_heads", "k_t"], ["scores_raw"]),
        helper.make_node("Mul", ["scores_raw", "scale"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["weights"], axis=-1),
        helper.make_node("MatMul", ["weights", "v_heads"], ["context_heads"]),
        helper.make_node("Transpose", ["context_heads"], ["context_t"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["context_t", "merge_heads"], ["context"]),
        helper.make_node("MatMul", ["context", "wo"], ["projected"]),
        helper.make_node("Add", ["projected", "x"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny-attention",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", d])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", d])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


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
        if "attention" in label:
            shape = [batch, 16, 64]
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
            if isinstance(path, str) and path.startswith("light:"):
                path = real_weights(path.split(":", 1)[1], out_md.parent)
            elif path == "attention":
                path = attention_model(out_md.parent)
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
                rows.append((label, feeds, ort_ms, None, None, None, res.stderr.strip(),
                             None, None, None))
                print(f"{label}: engine failed: {res.stderr.strip()}", file=sys.stderr)
                continue
            ours = json.loads(res.stdout)
            one_thread = outp.read_bytes()
            diff = max_diff(json.loads(one_thread), ort_out)
            res2 = subprocess.run([bench, str(path), str(inp), str(runs), str(outp), "2"],
                                  capture_output=True, text=True, check=True)
            two = json.loads(res2.stdout)
            same = outp.read_bytes() == one_thread
            rows.append((label, feeds, ort_ms, ours["median_ms"], ours["load_ms"], diff, None,
                         two["median_ms"], same, ours["first_ms"]))
            print(f"{label}: onnxruntime {ort_ms:.2f} ms, engine {ours['median_ms']:.2f} ms, "
                  f"ratio {ours['median_ms'] / ort_ms:.2f}, max rel diff {diff:.1e}, "
                  f"2 threads {two['median_ms']:.2f} ms (identical: {same})", file=sys.stderr)

    lines = [
        "| model | input | onnxruntime median (ms) | engine median (ms) | engine / onnxruntime | "
        "engine load + first run (ms) | max output difference | engine, 2 threads (ms) | "
        "2 threads byte-identical |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, feeds, ort_ms, ms, load, diff, err, ms2, same, first in rows:
        shape = ", ".join(f"{n} {list(a.shape)}" for n, a in feeds.items())
        if err:
            lines.append(f"| {label} | {shape} | {ort_ms:.2f} | fails: {err[:80]} | | | | | |")
        else:
            lines.append(f"| {label} | {shape} | {ort_ms:.2f} | {ms:.2f} | {ms / ort_ms:.2f} | "
                         f"{load:.0f} + {first:.0f} | {diff:.1e} | {ms2:.2f} | "
                         f"{'yes' if same else '**no**'} |")
    ok = [(r[0], r[2], r[3]) for r in rows if r[3] is not None]
    geo = float(np.exp(np.mean([np.log(ms / o) for _, o, ms in ok]))) if ok else float("nan")
    worst = max(ok, key=lambda r: r[2] / r[1]) if ok else ("none", 1, 1)
    header = (
        f"Measured {time.strftime('%Y-%m-%d')} on {cpu()} ({os.cpu_count()} cores), one thread each: "
        f"onnxruntime {ort.__version__} (CPU provider, intra/inter-op threads 1, default graph "
        f"optimizations) vs the engine (tract-onnx 0.23.9, release build, in-process). Median of "
        f"the timed runs after one warm-up run; the same seeded input for both. "
        f"Geometric mean of engine / onnxruntime: **{geo:.2f}**; worst: {worst[0]} "
        f"({worst[2] / worst[1]:.2f}). "
        f"\"max output difference\" is the largest absolute difference, divided by "
        f"max(1, largest |onnxruntime output|).\n"
    )
    table = header + "\n" + "\n".join(lines) + "\n"
    print(table)
    out_md.write_text(table)


if __name__ == "__main__":
    main()
