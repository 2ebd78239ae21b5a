"""Consensus mode's benchmark (scripts/bench-consensus): the interpreter in the
runtime (WASM) against tract and the interpreter natively, per job, with the
weight the chain charges. Makes the models it needs, runs the bench_consensus
example on each and writes a Markdown table.

    python3 scripts/bench_consensus.py BENCH_BINARY OUT_DIR [--quick]
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))


def mlp_100k(out_dir):
    """An attention-free MLP of about 100k weights: 256 -> 256 -> 128 -> 10,
    ReLU, softmax; seeded He-normal weights."""
    path = out_dir / "mlp-100k.onnx"
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    sizes = [256, 256, 128, 10]
    inits, nodes, last = [], [], "x"
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        w = (rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(np.float32)
        bias = (rng.standard_normal(b) * 0.1).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(bias, f"b{i}")]
        nodes.append(helper.make_node("Gemm", [last, f"w{i}", f"b{i}"], [f"h{i}"]))
        last = f"h{i}"
        if b != 10:
            nodes.append(helper.make_node("Relu", [last], [f"r{i}"]))
            last = f"r{i}"
    nodes.append(helper.make_node("Softmax", [last], ["probabilities"], axis=-1))
    graph = helper.make_graph(
        nodes, "mlp-100k",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 256])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


def main():
    binary, out_dir = sys.argv[1], Path(sys.argv[2])
    runs = "5" if "--quick" in sys.argv else "100"
    out_dir.mkdir(parents=True, exist_ok=True)
    from bench_engine import tree_models
    forest = tree_models(out_dir)["forest-100x10"]
    mlp = mlp_100k(out_dir)
    digits = ROOT / "models" / "digits-mlp.onnx"
    cases = [
        ("digits-mlp", digits, 1), ("digits-mlp", digits, 32),
        ("forest 100 trees, depth 10", forest, 1), ("forest 100 trees, depth 10", forest, 64),
        ("MLP 100k weights", mlp, 1), ("MLP 100k weights", mlp, 32),
    ]
    rows = [
        "| model | parameters | items | tract, native (ms) | interpreter, native (ms) "
        "| interpreter in the runtime, WASM (ms) | weight charged (ms) | WASM / tract "
        "| share of `MaxConsensusWeight` | most items within `MaxConsensusWeight` |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, path, items in cases:
        out = subprocess.run([binary, str(path), str(items), runs, name],
                             check=True, capture_output=True, text=True)
        sys.stderr.write(out.stderr)
        rows.append(out.stdout.strip())
        print(rows[-1], flush=True)
    (out_dir / "consensus.md").write_text("\n".join(rows) + "\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
