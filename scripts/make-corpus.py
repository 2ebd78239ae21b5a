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


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    sklearn_models()
    boosting_models()
