#!/usr/bin/env python3
"""Builds the exporter corpus: models as real exporters write them, with
onnxruntime's outputs for a fixed input, for the engine's tests.

    pip install -r scripts/requirements.txt skl2onnx onnxmltools lightgbm xgboost
    python3 scripts/make-corpus.py

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


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    sklearn_models()
    boosting_models()
    binary_classifiers()
    tree_modes()
