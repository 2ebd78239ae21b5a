//! The exporter corpus (`models/corpus/`, made by `scripts/make-corpus.py`):
//! models as scikit-learn's `skl2onnx`, LightGBM and XGBoost (through
//! `onnxmltools`) write them, run by the engine on their reference inputs and
//! compared with onnxruntime's outputs. Every model is listed with what the
//! engine does with it today, so that a model that starts (or stops) working
//! changes this test.

use std::{collections::BTreeMap, path::PathBuf};

use verity_engine::{
	engine::{describe, Engine},
	EngineError, Limits,
};
use verity_primitives::{
	is_float, json::tensor_from_json, outputs_agree, Dim, Tensor, VerificationPolicy,
};

/// What the engine does with a corpus model.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Outcome {
	/// Loads, runs, and agrees with onnxruntime (floats to 1e-5).
	Agrees,
	/// Runs but its outputs differ from onnxruntime's.
	Differs,
	/// Refused with this error, at `describe`, load or run.
	Fails(EngineError),
}

/// Every corpus model and what the engine does with it: all agree with
/// onnxruntime (`SVMClassifier` is ours, `src/svm.rs`). The `pt-` models are graphs
/// as PyTorch exports them (run-time shapes, a sequence dimension, recurrent
/// layers tract types only at concrete shapes). `TreeEnsembleRegressor`,
/// `TreeEnsembleClassifier` (tract's got every two-class model wrong) and
/// `Scaler` are ours (`src/ml.rs`).
const EXPECTED: &[(&str, Outcome)] = &[
	("lightgbm-binary", Outcome::Agrees),
	("lightgbm-classifier", Outcome::Agrees),
	("lightgbm-regressor", Outcome::Agrees),
	("pt-cnn", Outcome::Agrees),
	("pt-gru", Outcome::Agrees),
	("pt-lstm", Outcome::Agrees),
	("pt-transformer-encoder", Outcome::Agrees),
	("sk-extra-trees", Outcome::Agrees),
	("sk-extra-trees-regressor", Outcome::Agrees),
	("sk-gradient-boosting", Outcome::Agrees),
	("sk-gradient-boosting-binary", Outcome::Agrees),
	("sk-gradient-boosting-regressor", Outcome::Agrees),
	("sk-kmeans", Outcome::Agrees),
	("sk-linear-regression", Outcome::Agrees),
	("sk-linear-svc", Outcome::Agrees),
	("sk-logistic", Outcome::Agrees),
	("sk-mlp", Outcome::Agrees),
	("sk-random-forest", Outcome::Agrees),
	("sk-random-forest-binary", Outcome::Agrees),
	("sk-random-forest-regressor", Outcome::Agrees),
	("sk-scaler-pca-logistic", Outcome::Agrees),
	("sk-svc-rbf", Outcome::Agrees),
	("trees-average-logistic", Outcome::Agrees),
	("trees-max-softmax-zero", Outcome::Agrees),
	("trees-min-softmax", Outcome::Agrees),
	("trees-sum-none", Outcome::Agrees),
	("xgboost-binary", Outcome::Agrees),
	("xgboost-classifier", Outcome::Agrees),
	("xgboost-regressor", Outcome::Agrees),
];

const TOLERANCE: VerificationPolicy = VerificationPolicy::Tolerance {
	abs: sp_arithmetic::FixedU64::from_inner(10_000), // 1e-5
	rel: sp_arithmetic::FixedU64::from_inner(10_000), // 1e-5
};

fn corpus() -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/corpus")
}

fn run(name: &str) -> Outcome {
	let bytes = std::fs::read(corpus().join(format!("{name}.onnx"))).unwrap();
	let doc: serde_json::Value = serde_json::from_str(
		&std::fs::read_to_string(corpus().join(format!("{name}.reference.json"))).unwrap(),
	)
	.unwrap();
	let input = tensor_from_json(&doc["input"]).unwrap();
	let expected: Vec<Tensor> =
		doc["outputs"].as_array().unwrap().iter().map(|t| tensor_from_json(t).unwrap()).collect();
	if let Err(e) = describe(&bytes) {
		return Outcome::Fails(e.kind);
	}
	let id = sp_crypto_hashing::blake2_256(&bytes);
	let mut engine = Engine::new(Limits::default());
	if let Err(e) = engine.load(&id, &bytes) {
		eprintln!("{name}: {e}");
		return Outcome::Fails(e.kind);
	}
	let outputs = match engine.run(&id, &[input]) {
		Ok(o) => o,
		Err(e) => {
			eprintln!("{name}: {e}");
			return Outcome::Fails(e.kind);
		}
	};
	// Compared output by output, by name: floats within the tolerance,
	// integers (class labels) exactly.
	let agree = expected.iter().all(|want| {
		let Some(got) = outputs.iter().find(|o| o.name == want.name) else {
			eprintln!("{name}: no output {}", String::from_utf8_lossy(&want.name));
			return false;
		};
		let policy = if is_float(want.dtype) { TOLERANCE } else { VerificationPolicy::Exact };
		let ok = outputs_agree(&policy, std::slice::from_ref(got), std::slice::from_ref(want));
		if !ok {
			eprintln!(
				"{name}: output {} differs: {got:?} vs {want:?}",
				String::from_utf8_lossy(&want.name)
			);
		}
		ok
	});
	if agree {
		Outcome::Agrees
	} else {
		Outcome::Differs
	}
}

#[test]
fn the_exporter_corpus_runs_as_listed() {
	let mut on_disk: Vec<String> = std::fs::read_dir(corpus())
		.unwrap()
		.filter_map(|e| {
			let name = e.unwrap().file_name().into_string().unwrap();
			name.strip_suffix(".onnx").map(str::to_string)
		})
		.collect();
	on_disk.sort();
	let listed: Vec<&str> = EXPECTED.iter().map(|(n, _)| *n).collect();
	assert_eq!(on_disk, listed, "every corpus model is listed, in order");
	let results: BTreeMap<&str, Outcome> = listed.iter().map(|n| (*n, run(n))).collect();
	let agreeing = results.values().filter(|o| **o == Outcome::Agrees).count();
	eprintln!("{agreeing} of {} corpus models agree with onnxruntime", results.len());
	let wrong: Vec<_> = EXPECTED
		.iter()
		.filter(|(n, want)| results[n] != *want)
		.map(|(n, want)| format!("{n}: expected {want:?}, got {:?}", results[n]))
		.collect();
	assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn describe_declares_sequence_dimensions_free() {
	let sig = |name: &str| {
		describe(&std::fs::read(corpus().join(format!("{name}.onnx"))).unwrap()).unwrap()
	};
	let dims = |s: &verity_primitives::TensorSpec| s.shape.to_vec();
	let free = Dim::Free(verity_primitives::DEFAULT_FREE_MAX);
	// [batch_size, sequence, 32] in and out.
	let t = sig("pt-transformer-encoder");
	assert_eq!(dims(&t.inputs[0]), vec![Dim::Batch, free, Dim::Fixed(32)]);
	assert_eq!(dims(&t.outputs[0]), vec![Dim::Batch, free, Dim::Fixed(32)]);
	// [seq, batch, 8] in, [batch, 3] out: the first input's first dimension
	// is the batch, the exporter's "batch" is free wherever it appears.
	let l = sig("pt-lstm");
	assert_eq!(dims(&l.inputs[0]), vec![Dim::Batch, free, Dim::Fixed(8)]);
	assert_eq!(dims(&l.outputs[0]), vec![free, Dim::Fixed(3)]);
	// The input named `1`, with an exporter-named batch.
	let c = sig("pt-cnn");
	assert_eq!(c.inputs[0].name.to_vec(), b"1".to_vec());
	assert_eq!(dims(&c.inputs[0])[0], Dim::Batch);
}

#[test]
fn a_stateful_model_gives_the_same_output_whatever_ran_before() {
	// tract's LSTM and GRU keep inter-turn state: a state kept from one run
	// to the next made a second run of the same input differ (admission
	// refused the LSTM as not reproducible).
	for name in ["pt-lstm", "pt-gru"] {
		let bytes = std::fs::read(corpus().join(format!("{name}.onnx"))).unwrap();
		let doc: serde_json::Value = serde_json::from_str(
			&std::fs::read_to_string(corpus().join(format!("{name}.reference.json"))).unwrap(),
		)
		.unwrap();
		let a = tensor_from_json(&doc["input"]).unwrap();
		let mut b = a.clone();
		b.data.iter_mut().for_each(|x| *x = x.wrapping_add(1));
		let id = sp_crypto_hashing::blake2_256(&bytes);
		let mut engine = Engine::new(Limits::default());
		engine.load(&id, &bytes).unwrap();
		let first = engine.run(&id, std::slice::from_ref(&a)).unwrap();
		let other = engine.run(&id, std::slice::from_ref(&b)).unwrap();
		assert_ne!(first, other, "{name}: a different input");
		assert_eq!(engine.run(&id, std::slice::from_ref(&a)).unwrap(), first, "{name}");
		assert_eq!(engine.run(&id, std::slice::from_ref(&a)).unwrap(), first, "{name}");
	}
}
