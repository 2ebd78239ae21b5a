#!/usr/bin/env python3
"""Builds Verity's bundled ONNX models and their reference outputs.

Deterministic (fixed seeds); needs numpy, scikit-learn, onnx and onnxruntime
(`pip install -r scripts/requirements.txt`). Writes into models/:

  digits-mlp.onnx            MLP trained on scikit-learn's handwritten digits
                             (8x8 images, 64 floats in 0..16): x [N,64] -> probabilities [N,10]
  digits-mlp.reference.json  held-out test images, their true labels, and
                             onnxruntime's probabilities for each
  iris-forest.onnx           random forest on iris (ai.onnx.ml tree ensemble):
                             x [N,4] -> probabilities [N,3]
  iris-forest.reference.json inputs and onnxruntime's outputs
  hostile-expand.onnx        a tiny model whose Expand asks for 2^34 floats (2^17 x 2^17)
  dynamic-range.onnx         Range(0, limit, 1): its output size is only known
                             when it runs: limit [] (int64) -> y [M] (int64)
  slow-matmul.onnx           64 chained 512x512 MatMuls, for timeout tests
  noisy-scores.onnx          x + RandomUniformLike(x) with no seed: a different
                             output on every run (admission must reject it):
                             x [N,4] -> y [N,4]
  digits/NN-label-L.json     the first 10 held-out digits as tensor JSON inputs
                             (the `verity` CLI's format), L the true label
"""
import json
import pathlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

OUT = pathlib.Path(__file__).resolve().parent.parent / "models"
OPSET = [helper.make_opsetid("", 17)]


def save(model, name):
    onnx.checker.check_model(model)
    path = OUT / name
    path.write_bytes(model.SerializeToString())
    return path


def reference(path, name, inputs, labels, note):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    outputs = session.run(None, {"x": inputs})
    out_names = [o.name for o in session.get_outputs()]
    doc = {
        "note": note,
        "input": {"name": "x", "dtype": "float32", "shape": list(inputs.shape),
                  "data": [float(v) for v in inputs.reshape(-1)]},
        "labels": [int(v) for v in labels],
        "outputs": [{"name": n, "dtype": "float32", "shape": list(o.shape),
                     "data": [float(v) for v in np.asarray(o, dtype=np.float32).reshape(-1)]}
                    for n, o in zip(out_names, outputs)],
        "onnxruntime": ort.__version__,
    }
    (OUT / name).write_text(json.dumps(doc, indent=1) + "\n")


def digits_mlp():
    x, y = load_digits(return_X_y=True)
    x = x.astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0)
    mlp = MLPClassifier(hidden_layer_sizes=(32,), max_iter=400, random_state=0)
    mlp.fit(x_train, y_train)
    print(f"digits MLP test accuracy: {mlp.score(x_test, y_test):.3f}")
    (w1, w2), (b1, b2) = mlp.coefs_, mlp.intercepts_
    init = [numpy_helper.from_array(a.astype(np.float32), n)
            for a, n in [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2")]]
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"]),
        helper.make_node("Relu", ["h"], ["hr"]),
        helper.make_node("Gemm", ["hr", "w2", "b2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "digits-mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])],
        init)
    path = save(helper.make_model(graph, opset_imports=OPSET, producer_name="verity"), "digits-mlp.onnx")
    reference(path, "digits-mlp.reference.json", x_test[:32], y_test[:32],
              "first 32 held-out digits (train_test_split test_size=0.2, random_state=0)")


def iris_forest():
    x, y = load_iris(return_X_y=True)
    x = x.astype(np.float32)
    forest = RandomForestClassifier(n_estimators=8, max_depth=4, random_state=0).fit(x, y)
    # A TreeEnsembleClassifier emits labels and probabilities; keep the probabilities.
    nodes_attrs = {k: [] for k in ["nodes_treeids", "nodes_nodeids", "nodes_featureids",
                                   "nodes_values", "nodes_modes", "nodes_truenodeids",
                                   "nodes_falsenodeids", "class_treeids", "class_nodeids",
                                   "class_ids", "class_weights"]}
    for t, est in enumerate(forest.estimators_):
        tree = est.tree_
        for n in range(tree.node_count):
            leaf = tree.children_left[n] == -1
            nodes_attrs["nodes_treeids"].append(t)
            nodes_attrs["nodes_nodeids"].append(n)
            nodes_attrs["nodes_featureids"].append(0 if leaf else int(tree.feature[n]))
            nodes_attrs["nodes_values"].append(0.0 if leaf else float(tree.threshold[n]))
            nodes_attrs["nodes_modes"].append("LEAF" if leaf else "BRANCH_LEQ")
            nodes_attrs["nodes_truenodeids"].append(0 if leaf else int(tree.children_left[n]))
            nodes_attrs["nodes_falsenodeids"].append(0 if leaf else int(tree.children_right[n]))
            if leaf:
                counts = tree.value[n][0]
                probs = counts / counts.sum()
                for c, p in enumerate(probs):
                    nodes_attrs["class_treeids"].append(t)
                    nodes_attrs["class_nodeids"].append(n)
                    nodes_attrs["class_ids"].append(c)
                    nodes_attrs["class_weights"].append(float(p) / len(forest.estimators_))
    ensemble = helper.make_node(
        "TreeEnsembleClassifier", ["x"], ["label", "probabilities"], domain="ai.onnx.ml",
        classlabels_int64s=[0, 1, 2], post_transform="NONE", **nodes_attrs)
    graph = helper.make_graph(
        [ensemble], "iris-forest",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 3]),
         helper.make_tensor_value_info("label", TensorProto.INT64, ["N"])])
    model = helper.make_model(graph, opset_imports=OPSET + [helper.make_opsetid("ai.onnx.ml", 3)],
                              producer_name="verity")
    path = save(model, "iris-forest.onnx")
    pick = np.arange(0, 150, 10)
    reference(path, "iris-forest.reference.json", x[pick], y[pick], "every 10th iris sample")


def hostile_expand():
    # 2^17 x 2^17 = 2^34 floats (64 GiB). (tract computes a single dimension of
    # exactly 2^34 as 0, so the size is split over two dimensions.)
    shape = numpy_helper.from_array(np.array([1 << 17, 1 << 17], dtype=np.int64), "shape")
    graph = helper.make_graph(
        [helper.make_node("Expand", ["x", "shape"], ["y"])], "hostile-expand",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1 << 17, 1 << 17])],
        [shape])
    save(helper.make_model(graph, opset_imports=OPSET, producer_name="verity"), "hostile-expand.onnx")


def dynamic_range():
    start = numpy_helper.from_array(np.array(0, dtype=np.int64), "start")
    delta = numpy_helper.from_array(np.array(1, dtype=np.int64), "delta")
    graph = helper.make_graph(
        [helper.make_node("Range", ["start", "limit", "delta"], ["y"])], "dynamic-range",
        [helper.make_tensor_value_info("limit", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, ["M"])], [start, delta])
    save(helper.make_model(graph, opset_imports=OPSET, producer_name="verity"), "dynamic-range.onnx")


def slow_matmul():
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array((rng.standard_normal((512, 512)) / 512).astype(np.float32), "w")
    nodes, prev = [], "x"
    for i in range(64):
        nodes.append(helper.make_node("MatMul", [prev, "w"], [f"h{i}"]))
        prev = f"h{i}"
    nodes.append(helper.make_node("Identity", [prev], ["y"]))
    graph = helper.make_graph(
        nodes, "slow-matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 512])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 512])], [w])
    save(helper.make_model(graph, opset_imports=OPSET, producer_name="verity"), "slow-matmul.onnx")


def noisy_scores():
    graph = helper.make_graph(
        [helper.make_node("RandomUniformLike", ["x"], ["noise"], name="noise"),
         helper.make_node("Add", ["x", "noise"], ["y"])], "noisy-scores",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])])
    save(helper.make_model(graph, opset_imports=OPSET, producer_name="verity"), "noisy-scores.onnx")


def digits_samples(count=10):
    """Tensor JSON inputs for the demo, from the committed reference file."""
    doc = json.loads((OUT / "digits-mlp.reference.json").read_text())
    data, labels = doc["input"]["data"], doc["labels"]
    (OUT / "digits").mkdir(exist_ok=True)
    for i in range(count):
        tensor = {"name": "x", "dtype": "float32", "shape": [1, 64],
                  "data": data[i * 64:(i + 1) * 64]}
        (OUT / "digits" / f"{i:02d}-label-{labels[i]}.json").write_text(
            json.dumps({"tensors": [tensor]}) + "\n")


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    digits_mlp()
    iris_forest()
    hostile_expand()
    dynamic_range()
    slow_matmul()
    noisy_scores()
    digits_samples()
    for p in sorted(OUT.glob("*.onnx")):
        print(f"{p.name}: {p.stat().st_size} bytes")
