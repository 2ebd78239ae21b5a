#!/usr/bin/env python3
"""Builds the exporter corpus: models as real exporters write them, with
onnxruntime's outputs for a fixed input, for the engine's tests.

    pip install -r scripts/requirements.txt skl2onnx onnxmltools lightgbm xgboost
    python3 scripts/make-corpus.py

(Optional arguments name the generators to run, e.g. `torch_style`.)

Writes models/corpus/NAME.onnx and models/corpus/NAME.reference.json (the
input `x` and onnxruntime's outputs, tensor JSON). CI runs the committed
files, never the exporters. Deterministic: fixed seeds, fixed data sets.

Every model is exported the way its exporter does by default (skl2onnx writes
the batch dimension with no value and no name), except that classifiers are
exported without ZipMap (`zipmap=False`): a ZipMap's output is a sequence of
maps, which Verity's tensors do not carry.
"""
import json
import pathlib

import numpy as np
import onnxruntime as ort
from skl2onnx import to_onnx
from sklearn.cluster import KMeans
from sklearn.datasets import load_diabetes, load_iris
from sklearn.decomposition import PCA
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor,
                              GradientBoostingClassifier, GradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

OUT = pathlib.Path(__file__).resolve().parent.parent / "models" / "corpus"
DTYPES = {"float32": "float32", "float64": "float64", "int64": "int64", "int32": "int32"}


def tensor(name, a):
    a = np.asarray(a)
    return {"name": name, "dtype": DTYPES[a.dtype.name], "shape": list(a.shape),
            "data": [v.item() for v in a.reshape(-1)]}


def save(name, onx, x, exporter):
    path = OUT / f"{name}.onnx"
    path.write_bytes(onx.SerializeToString())
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    outputs = session.run(None, {input_name: x})
    names = [o.name for o in session.get_outputs()]
    doc = {"exporter": exporter, "onnxruntime": ort.__version__,
           "input": tensor(input_name, x),
           "outputs": [tensor(n, o) for n, o in zip(names, outputs)]}
    (OUT / f"{name}.reference.json").write_text(json.dumps(doc) + "\n")
    print(f"{name}: {path.stat().st_size} bytes, outputs {names}")


def sklearn_models():
    import skl2onnx
    exporter = f"skl2onnx {skl2onnx.__version__}"
    xi, yi = load_iris(return_X_y=True)
    xi = xi.astype(np.float32)
    xd, yd = load_diabetes(return_X_y=True)
    xd = xd.astype(np.float32)
    pick_i, pick_d = xi[::15], xd[::40]
    nozip = {"zipmap": False}
    classifiers = {
        "sk-logistic": LogisticRegression(max_iter=500),
        "sk-linear-svc": LinearSVC(random_state=0),
        "sk-svc-rbf": SVC(probability=False, random_state=0),
        "sk-mlp": MLPClassifier(hidden_layer_sizes=(16,), max_iter=2000, random_state=0),
        "sk-random-forest": RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0),
        "sk-gradient-boosting": GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0),
        "sk-extra-trees": ExtraTreesClassifier(n_estimators=20, max_depth=6, random_state=0),
    }
    for name, model in classifiers.items():
        model.fit(xi, yi)
        options = {id(model): nozip} if hasattr(model, "predict_proba") else None
        save(name, to_onnx(model, xi[:1], options=options, target_opset=17), pick_i, exporter)
    regressors = {
        "sk-linear-regression": LinearRegression(),
        "sk-random-forest-regressor": RandomForestRegressor(n_estimators=20, max_depth=6, random_state=0),
        "sk-gradient-boosting-regressor": GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=0),
        "sk-extra-trees-regressor": ExtraTreesRegressor(n_estimators=20, max_depth=6, random_state=0),
    }
    for name, model in regressors.items():
        model.fit(xd, yd)
        save(name, to_onnx(model, xd[:1], target_opset=17), pick_d, exporter)
    kmeans = KMeans(n_clusters=3, n_init=4, random_state=0).fit(xi)
    save("sk-kmeans", to_onnx(kmeans, xi[:1], target_opset=17), pick_i, exporter)
    pipeline = make_pipeline(StandardScaler(), PCA(n_components=3, random_state=0),
                             LogisticRegression(max_iter=500)).fit(xi, yi)
    save("sk-scaler-pca-logistic",
         to_onnx(pipeline, xi[:1], options={id(pipeline.steps[-1][1]): nozip}, target_opset=17),
         pick_i, exporter)


def boosting_models():
    import lightgbm
    import onnxmltools
    import xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType
    xi, yi = load_iris(return_X_y=True)
    xi = xi.astype(np.float32)
    xd, yd = load_diabetes(return_X_y=True)
    xd = xd.astype(np.float32)
    types_i = [("x", FloatTensorType([None, xi.shape[1]]))]
    types_d = [("x", FloatTensorType([None, xd.shape[1]]))]
    exporter = f"onnxmltools {onnxmltools.__version__}"
    lgb = lightgbm.LGBMClassifier(n_estimators=20, num_leaves=8, random_state=0, verbose=-1).fit(xi, yi)
    save("lightgbm-classifier",
         onnxmltools.convert_lightgbm(lgb, initial_types=types_i, zipmap=False, target_opset=15),
         xi[::15], f"{exporter} / lightgbm {lightgbm.__version__}")
    lgr = lightgbm.LGBMRegressor(n_estimators=20, num_leaves=8, random_state=0, verbose=-1).fit(xd, yd)
    save("lightgbm-regressor",
         onnxmltools.convert_lightgbm(lgr, initial_types=types_d, target_opset=15),
         xd[::40], f"{exporter} / lightgbm {lightgbm.__version__}")
    xgc = xgboost.XGBClassifier(n_estimators=20, max_depth=3, random_state=0).fit(xi, yi)
    save("xgboost-classifier",
         onnxmltools.convert_xgboost(xgc, initial_types=types_i, target_opset=15),
         xi[::15], f"{exporter} / xgboost {xgboost.__version__}")
    xgr = xgboost.XGBRegressor(n_estimators=20, max_depth=3, random_state=0).fit(xd, yd)
    save("xgboost-regressor",
         onnxmltools.convert_xgboost(xgr, initial_types=types_d, target_opset=15),
         xd[::40], f"{exporter} / xgboost {xgboost.__version__}")


def binary_classifiers():
    """Two-class tree ensembles, the layouts onnxruntime treats as a binary
    case: scikit-learn's forests write a weight per class, its gradient
    boosting, LightGBM and XGBoost a single score with a LOGISTIC transform
    (and weights of both signs)."""
    import lightgbm
    import onnxmltools
    import skl2onnx
    import xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType
    from sklearn.datasets import load_breast_cancer
    xb, yb = load_breast_cancer(return_X_y=True)
    xb = xb.astype(np.float32)
    pick = xb[::40]
    nozip = {"zipmap": False}
    sk = f"skl2onnx {skl2onnx.__version__}"
    for name, model in {
        "sk-random-forest-binary": RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0),
        "sk-gradient-boosting-binary": GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0),
    }.items():
        model.fit(xb, yb)
        save(name, to_onnx(model, xb[:1], options={id(model): nozip}, target_opset=17), pick, sk)
    types = [("x", FloatTensorType([None, xb.shape[1]]))]
    mt = f"onnxmltools {onnxmltools.__version__}"
    lgb = lightgbm.LGBMClassifier(n_estimators=20, num_leaves=8, random_state=0, verbose=-1).fit(xb, yb)
    save("lightgbm-binary",
         onnxmltools.convert_lightgbm(lgb, initial_types=types, zipmap=False, target_opset=15),
         pick, f"{mt} / lightgbm {lightgbm.__version__}")
    xgc = xgboost.XGBClassifier(n_estimators=20, max_depth=3, random_state=0).fit(xb, yb)
    save("xgboost-binary", onnxmltools.convert_xgboost(xgc, initial_types=types, target_opset=15),
         pick, f"{mt} / xgboost {xgboost.__version__}")


def tree_modes():
    """Hand-built TreeEnsembleRegressors that exercise what exporters rarely
    write: every comparison mode, two targets, base values, every aggregate
    function and post transform but PROBIT."""
    from onnx import TensorProto, helper
    # Two trees over 3 features. Tree 0: node 0 (f0 LEQ 0.5) -> 1 | 2;
    # node 1 (f1 LT 0.2) -> leaf 3 | leaf 4; node 2 (f2 GTE 0.7) -> 5 | 6;
    # node 5 (f0 GT 0.9) -> leaf 7 | leaf 8; node 6 (f1 EQ 0.5) -> leaf 9 | 10.
    # Tree 1: node 0 (f2 NEQ 0.25) -> leaf 1 | leaf 2.
    nodes = [  # (tree, id, feature, mode, value, true, false)
        (0, 0, 0, "BRANCH_LEQ", 0.5, 1, 2), (0, 1, 1, "BRANCH_LT", 0.2, 3, 4),
        (0, 2, 2, "BRANCH_GTE", 0.7, 5, 6), (0, 3, 0, "LEAF", 0, 0, 0),
        (0, 4, 0, "LEAF", 0, 0, 0), (0, 5, 0, "BRANCH_GT", 0.9, 7, 8),
        (0, 6, 1, "BRANCH_EQ", 0.5, 9, 10), (0, 7, 0, "LEAF", 0, 0, 0),
        (0, 8, 0, "LEAF", 0, 0, 0), (0, 9, 0, "LEAF", 0, 0, 0), (0, 10, 0, "LEAF", 0, 0, 0),
        (1, 0, 2, "BRANCH_NEQ", 0.25, 1, 2), (1, 1, 0, "LEAF", 0, 0, 0),
        (1, 2, 0, "LEAF", 0, 0, 0)]
    leaves = [(t, i) for (t, i, _, m, *_r) in nodes if m == "LEAF"]
    rng = np.random.default_rng(7)
    targets = [(t, i, k, float(rng.uniform(-2, 2))) for (t, i) in leaves for k in (0, 1)]
    x = np.array([[0.1, 0.1, 0.3], [0.4, 0.5, 0.25], [0.6, 0.2, 0.8], [0.95, 0.3, 0.7],
                  [0.7, 0.5, 0.1], [0.5, 0.2, 0.7], [0.7, 0.6, 0.25]], dtype=np.float32)
    for aggregate, post in [("SUM", "NONE"), ("AVERAGE", "LOGISTIC"), ("MIN", "SOFTMAX"),
                            ("MAX", "SOFTMAX_ZERO")]:
        node = helper.make_node(
            "TreeEnsembleRegressor", ["x"], ["y"], domain="ai.onnx.ml", n_targets=2,
            nodes_treeids=[n[0] for n in nodes], nodes_nodeids=[n[1] for n in nodes],
            nodes_featureids=[n[2] for n in nodes], nodes_modes=[n[3] for n in nodes],
            nodes_values=[float(n[4]) for n in nodes], nodes_truenodeids=[n[5] for n in nodes],
            nodes_falsenodeids=[n[6] for n in nodes],
            target_treeids=[t[0] for t in targets], target_nodeids=[t[1] for t in targets],
            target_ids=[t[2] for t in targets], target_weights=[t[3] for t in targets],
            base_values=[0.25, -0.5], aggregate_function=aggregate, post_transform=post)
        graph = helper.make_graph(
            [node], f"trees-{aggregate.lower()}",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                        helper.make_opsetid("ai.onnx.ml", 1)])
        save(f"trees-{aggregate.lower()}-{post.lower().replace('_', '-')}", model, x,
             "onnx.helper (hand-built)")


def torch_style():
    """Graphs as PyTorch's exporter writes them (built with onnx.helper: the
    torch wheel pulls gigabytes of CUDA libraries): a dynamic batch named by
    the exporter, shapes computed at run time (`Shape` -> `Gather` ->
    `Concat` -> `Reshape`/`Expand`, as `x.view(x.size(0), -1)` and
    `t.expand(x.size(0), ...)` export), numbered tensor names (an input
    named `1`), per-channel `PRelu`, and the recurrent and attention layers.
    Seeded weights, opset 17."""
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(13)

    def init(name, shape, scale=None):
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        scale = np.sqrt(1.0 / fan_in) if scale is None else scale
        return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)

    def ints(name, values):
        return numpy_helper.from_array(np.array(values, dtype=np.int64), name)

    def model(nodes, name, inputs, outputs, inits):
        graph = helper.make_graph(nodes, name, inputs, outputs, inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="pytorch", producer_version="2.5.0")
        import onnx
        onnx.checker.check_model(m, full_check=True)
        return m

    def batch_of(x, out):
        """`x.size(0)` as a 1-element int64 tensor, computed at run time."""
        return [helper.make_node("Shape", [x], [f"{out}_shape"]),
                helper.make_node("Gather", [f"{out}_shape", "zero"], [f"{out}_scalar"], axis=0),
                helper.make_node("Unsqueeze", [f"{out}_scalar", "axes0"], [out])]

    common = [ints("zero", 0), ints("axes0", [0]), ints("minus_one", [-1])]

    # A small CNN on 1x12x12 images: Conv, per-channel PRelu, MaxPool, Conv,
    # Relu, flatten by a run-time shape, a learned token expanded to the
    # batch at run time, Gemm.
    nodes = [
        helper.make_node("Conv", ["1", "conv1.weight", "conv1.bias"], ["/conv1/Conv_output_0"],
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("PRelu", ["/conv1/Conv_output_0", "prelu.weight"], ["/prelu/PRelu_output_0"]),
        helper.make_node("MaxPool", ["/prelu/PRelu_output_0"], ["/pool/MaxPool_output_0"],
                         kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["/pool/MaxPool_output_0", "conv2.weight", "conv2.bias"],
                         ["/conv2/Conv_output_0"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["/conv2/Conv_output_0"], ["/relu/Relu_output_0"]),
        *batch_of("1", "n"),
        helper.make_node("Concat", ["n", "minus_one"], ["/Concat_output_0"], axis=0),
        helper.make_node("Reshape", ["/relu/Relu_output_0", "/Concat_output_0"], ["/Reshape_output_0"]),
        helper.make_node("Gemm", ["/Reshape_output_0", "fc.weight", "fc.bias"], ["/fc/Gemm_output_0"],
                         transB=1),
        helper.make_node("Concat", ["n", "ten"], ["/Concat_1_output_0"], axis=0),
        helper.make_node("Expand", ["token", "/Concat_1_output_0"], ["/Expand_output_0"]),
        helper.make_node("Add", ["/fc/Gemm_output_0", "/Expand_output_0"], ["logits"]),
    ]
    inits = common + [init("conv1.weight", [8, 1, 3, 3]), init("conv1.bias", [8], 0.1),
                      init("prelu.weight", [8, 1, 1], 0.25), init("conv2.weight", [16, 8, 3, 3]),
                      init("conv2.bias", [16], 0.1), init("fc.weight", [10, 16 * 6 * 6]),
                      init("fc.bias", [10], 0.1), init("token", [1, 10], 0.5), ints("ten", [10])]
    m = model(nodes, "torch_jit", [helper.make_tensor_value_info("1", TensorProto.FLOAT,
                                                                ["batch_size", 1, 12, 12])],
              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", 10])], inits)
    save("pt-cnn", m, rng.standard_normal((3, 1, 12, 12)).astype(np.float32), "onnx.helper (PyTorch-style)")

    # Recurrent layers over [seq, batch, features]: the last hidden state
    # through a Gemm.
    hidden, feats = 16, 8
    for op, gates in [("LSTM", 4), ("GRU", 3)]:
        name = op.lower()
        extra = {"linear_before_reset": 1} if op == "GRU" else {}
        nodes = [
            helper.make_node(op, ["input", f"{name}.W", f"{name}.R", f"{name}.B"],
                             ["/rnn/Y", "/rnn/Y_h"], hidden_size=hidden, **extra),
            helper.make_node("Squeeze", ["/rnn/Y_h", "axes0"], ["/Squeeze_output_0"]),
            helper.make_node("Gemm", ["/Squeeze_output_0", "head.weight", "head.bias"], ["output"],
                             transB=1),
        ]
        inits = common + [init(f"{name}.W", [1, gates * hidden, feats], 0.3),
                          init(f"{name}.R", [1, gates * hidden, hidden], 0.3),
                          init(f"{name}.B", [1, 2 * gates * hidden], 0.1),
                          init("head.weight", [3, hidden]), init("head.bias", [3], 0.1)]
        m = model(nodes, "torch_jit",
                  [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["seq", "batch", feats])],
                  [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 3])], inits)
        save(f"pt-{name}", m, rng.standard_normal((5, 2, feats)).astype(np.float32),
             "onnx.helper (PyTorch-style)")

    # A transformer encoder layer (post-norm, as nn.TransformerEncoderLayer):
    # multi-head self-attention with heads split and merged by run-time
    # shapes, residual, LayerNormalization, a GELU (Erf) feed-forward,
    # residual, LayerNormalization.
    d, heads, ff = 32, 4, 64
    nodes = []
    for p in ("q", "k", "v"):
        nodes += [
            helper.make_node("MatMul", ["src", f"attn.{p}.weight"], [f"/{p}/MatMul_output_0"]),
            helper.make_node("Add", [f"/{p}/MatMul_output_0", f"attn.{p}.bias"], [f"/{p}/Add_output_0"]),
        ]
    nodes += [
        helper.make_node("Shape", ["src"], ["/Shape_output_0"]),
        helper.make_node("Slice", ["/Shape_output_0", "starts0", "ends2"], ["/Slice_output_0"]),
        helper.make_node("Concat", ["/Slice_output_0", "heads_dims"], ["/split_shape"], axis=0),
        helper.make_node("Concat", ["/Slice_output_0", "model_dim"], ["/merge_shape"], axis=0),
    ]
    for p in ("q", "k", "v"):
        nodes += [
            helper.make_node("Reshape", [f"/{p}/Add_output_0", "/split_shape"], [f"/{p}/Reshape_output_0"]),
            helper.make_node("Transpose", [f"/{p}/Reshape_output_0"], [f"/{p}/heads"], perm=[0, 2, 1, 3]),
        ]
    nodes += [
        helper.make_node("Transpose", ["/k/heads"], ["/k/heads_t"], perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["/q/heads", "/k/heads_t"], ["/scores_raw"]),
        helper.make_node("Div", ["/scores_raw", "sqrt_dk"], ["/scores"]),
        helper.make_node("Softmax", ["/scores"], ["/attn_weights"], axis=-1),
        helper.make_node("MatMul", ["/attn_weights", "/v/heads"], ["/context_heads"]),
        helper.make_node("Transpose", ["/context_heads"], ["/context_t"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["/context_t", "/merge_shape"], ["/context"]),
        helper.make_node("MatMul", ["/context", "attn.out.weight"], ["/out/MatMul_output_0"]),
        helper.make_node("Add", ["/out/MatMul_output_0", "attn.out.bias"], ["/out/Add_output_0"]),
        helper.make_node("Add", ["src", "/out/Add_output_0"], ["/residual1"]),
        helper.make_node("LayerNormalization", ["/residual1", "norm1.weight", "norm1.bias"], ["/norm1"],
                         axis=-1, epsilon=1e-5),
        helper.make_node("MatMul", ["/norm1", "linear1.weight"], ["/ff1/MatMul"]),
        helper.make_node("Add", ["/ff1/MatMul", "linear1.bias"], ["/ff1"]),
        helper.make_node("Div", ["/ff1", "sqrt2"], ["/gelu/Div"]),
        helper.make_node("Erf", ["/gelu/Div"], ["/gelu/Erf"]),
        helper.make_node("Add", ["/gelu/Erf", "one"], ["/gelu/Add"]),
        helper.make_node("Mul", ["/ff1", "/gelu/Add"], ["/gelu/Mul"]),
        helper.make_node("Mul", ["/gelu/Mul", "half"], ["/gelu"]),
        helper.make_node("MatMul", ["/gelu", "linear2.weight"], ["/ff2/MatMul"]),
        helper.make_node("Add", ["/ff2/MatMul", "linear2.bias"], ["/ff2"]),
        helper.make_node("Add", ["/norm1", "/ff2"], ["/residual2"]),
        helper.make_node("LayerNormalization", ["/residual2", "norm2.weight", "norm2.bias"], ["output"],
                         axis=-1, epsilon=1e-5),
    ]
    scalar = lambda n, v: numpy_helper.from_array(np.array(v, dtype=np.float32), n)
    inits = common + [
        *(init(f"attn.{p}.weight", [d, d], 1 / np.sqrt(d)) for p in ("q", "k", "v", "out")),
        *(init(f"attn.{p}.bias", [d], 0.05) for p in ("q", "k", "v", "out")),
        init("linear1.weight", [d, ff], 1 / np.sqrt(d)), init("linear1.bias", [ff], 0.05),
        init("linear2.weight", [ff, d], 1 / np.sqrt(ff)), init("linear2.bias", [d], 0.05),
        numpy_helper.from_array((1 + rng.standard_normal(d) * 0.1).astype(np.float32), "norm1.weight"),
        init("norm1.bias", [d], 0.05),
        numpy_helper.from_array((1 + rng.standard_normal(d) * 0.1).astype(np.float32), "norm2.weight"),
        init("norm2.bias", [d], 0.05),
        ints("starts0", [0]), ints("ends2", [2]), ints("heads_dims", [heads, d // heads]),
        ints("model_dim", [d]), scalar("sqrt_dk", np.sqrt(d // heads)), scalar("sqrt2", np.sqrt(2.0)),
        scalar("one", 1.0), scalar("half", 0.5)]
    m = model(nodes, "torch_jit",
              [helper.make_tensor_value_info("src", TensorProto.FLOAT, ["batch_size", "sequence", d])],
              [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch_size", "sequence", d])],
              inits)
    save("pt-transformer-encoder", m, rng.standard_normal((2, 7, d)).astype(np.float32),
         "onnx.helper (PyTorch-style)")


if __name__ == "__main__":
    import sys
    OUT.mkdir(parents=True, exist_ok=True)
    # Optional arguments: only these generators (e.g. `torch_style`).
    for make in (sklearn_models, boosting_models, binary_classifiers, tree_modes, torch_style):
        if len(sys.argv) == 1 or make.__name__ in sys.argv[1:]:
            make()
