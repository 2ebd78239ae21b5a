//! The consensus interpreter against the engine: every operator of the
//! subset in a model of its own, and the bundled and exporter-corpus models,
//! compiled (`verity_engine::consensus::compile`), run by the interpreter
//! and by tract on the same inputs, and compared. Tree models must agree
//! bit for bit (both run `verity_interp::trees`); other float outputs
//! within 1e-5 (tract's matrix kernels and exponential round differently);
//! integers exactly. Corpus models are also held to onnxruntime's
//! reference outputs, and a model outside the subset must be refused with
//! its reason.

mod common;

use std::path::PathBuf;

use common::{i64_tensor, model};
use prost::Message;
use tract_onnx::pb::{self, tensor_proto::DataType};
use verity_engine::{consensus::compile, engine::Engine, EngineError, Limits};
use verity_interp::{plan, run, Limits as InterpLimits, Meta};
use verity_primitives::{
	is_float, json::tensor_from_json, outputs_agree, DType, Tensor, VerificationPolicy,
};

const MEMORY: InterpLimits = InterpLimits { max_memory: 64 << 20 };

const TOLERANCE: VerificationPolicy = VerificationPolicy::Tolerance {
	abs: sp_arithmetic::FixedU64::from_inner(10_000), // 1e-5
	rel: sp_arithmetic::FixedU64::from_inner(10_000), // 1e-5
};

fn models() -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models")
}

/// Runs `bytes` on `inputs` in tract and in the interpreter.
fn both(bytes: &[u8], inputs: &[Tensor]) -> (Vec<Tensor>, Vec<Tensor>) {
	let id = sp_crypto_hashing::blake2_256(bytes);
	let mut engine = Engine::new(Limits::default());
	engine.load(&id, bytes).unwrap();
	let tract = engine.run(&id, inputs).unwrap();
	let graph = compile(bytes).unwrap();
	let (interp, _) = run(&graph, inputs, &MEMORY).unwrap();
	(tract, interp)
}

/// Whether `got` agrees with `want`, output by output by name: bit for bit
/// when `exact`, else floats within 1e-5 and integers exactly.
fn agree(what: &str, got: &[Tensor], want: &[Tensor], exact: bool) -> bool {
	want.iter().all(|w| {
		let Some(g) = got.iter().find(|g| g.name == w.name) else {
			eprintln!("{what}: no output {}", String::from_utf8_lossy(&w.name));
			return false;
		};
		// A reference written with another element type (iris-forest's
		// float labels): the same numbers.
		let ok = if g.dtype != w.dtype {
			g.shape == w.shape && g.rows() == w.rows()
		} else if exact || !is_float(w.dtype) {
			g == w
		} else {
			outputs_agree(&TOLERANCE, std::slice::from_ref(g), std::slice::from_ref(w))
		};
		if !ok {
			eprintln!("{what}: {} differs:\n  {g:?}\n  {w:?}", String::from_utf8_lossy(&w.name));
		}
		ok
	})
}

// ------------------------------------------------------------ one op each

fn f32_tensor(name: &str, shape: &[u32], seed: u32) -> Tensor {
	let n: u32 = shape.iter().product();
	// Values in [-2, 2) with ties and zeros, different per seed.
	let data = (0..n)
		.flat_map(|i| {
			let v = (((i * 7 + seed * 13) % 17) as f32 - 8.0) / 4.0;
			v.to_le_bytes()
		})
		.collect();
	Tensor { name: name.into(), dtype: DType::Float32, shape: shape.to_vec(), data }
}

fn value_info(name: &str, elem: DataType, dims: &[i64]) -> pb::ValueInfoProto {
	use pb::{tensor_shape_proto::dimension::Value, type_proto};
	pb::ValueInfoProto {
		name: name.into(),
		r#type: Some(pb::TypeProto {
			value: Some(type_proto::Value::TensorType(type_proto::Tensor {
				elem_type: elem as i32,
				shape: Some(pb::TensorShapeProto {
					dim: dims
						.iter()
						.map(|d| pb::tensor_shape_proto::Dimension {
							value: Some(Value::DimValue(*d)),
							..Default::default()
						})
						.collect(),
				}),
			})),
			..Default::default()
		}),
		..Default::default()
	}
}

enum A {
	I(i64),
	Is(Vec<i64>),
	F(f32),
	S(&'static str),
}

fn attr(name: &str, a: A) -> pb::AttributeProto {
	use pb::attribute_proto::AttributeType as T;
	let mut p = pb::AttributeProto { name: name.into(), ..Default::default() };
	match a {
		A::I(i) => (p.i, p.r#type) = (i, T::Int as i32),
		A::Is(v) => (p.ints, p.r#type) = (v, T::Ints as i32),
		A::F(f) => (p.f, p.r#type) = (f, T::Float as i32),
		A::S(s) => (p.s, p.r#type) = (s.as_bytes().to_vec(), T::String as i32),
	}
	p
}

fn floats(name: &str, dims: &[i64], seed: u32) -> pb::TensorProto {
	let n: i64 = dims.iter().product();
	pb::TensorProto {
		name: name.into(),
		dims: dims.to_vec(),
		data_type: DataType::Float as i32,
		float_data: (0..n as u32).map(|i| (((i * 5 + seed) % 11) as f32 - 5.0) / 8.0).collect(),
		..Default::default()
	}
}

/// A one-node model: input `x` of `shape`, output `y`, with `inits`.
fn one_op(
	op: &str,
	shape: &[i64],
	extra_inputs: &[&str],
	attrs: Vec<pb::AttributeProto>,
	inits: Vec<pb::TensorProto>,
	opset: i64,
) -> Vec<u8> {
	let mut input = vec!["x".to_string()];
	input.extend(extra_inputs.iter().map(|s| s.to_string()));
	let node = pb::NodeProto {
		op_type: op.into(),
		input,
		output: vec!["y".into()],
		attribute: attrs,
		..Default::default()
	};
	let graph = pb::GraphProto {
		node: vec![node],
		input: vec![value_info("x", DataType::Float, shape)],
		output: vec![pb::ValueInfoProto { name: "y".into(), ..Default::default() }],
		initializer: inits,
		..Default::default()
	};
	model(graph, opset).encode_to_vec()
}

#[test]
fn every_operator_of_the_subset_agrees_with_tract() {
	let x = |shape: &[u32]| f32_tensor("x", shape, 1);
	let positive = |shape: &[u32]| {
		let mut t = x(shape);
		for c in t.data.chunks_exact_mut(4) {
			let v = f32::from_le_bytes(c.try_into().unwrap()).abs() + 0.25;
			c.copy_from_slice(&v.to_le_bytes());
		}
		t
	};
	// (what, model, input, bit for bit)
	let cases: Vec<(&str, Vec<u8>, Tensor, bool)> = vec![
		("Identity", one_op("Identity", &[2, 3], &[], vec![], vec![], 17), x(&[2, 3]), true),
		(
			"Add broadcast",
			one_op("Add", &[2, 3], &["b"], vec![], vec![floats("b", &[3], 1)], 17),
			x(&[2, 3]),
			true,
		),
		(
			"Sub",
			one_op("Sub", &[2, 3], &["b"], vec![], vec![floats("b", &[2, 1], 2)], 17),
			x(&[2, 3]),
			true,
		),
		(
			"Mul",
			one_op("Mul", &[2, 3], &["b"], vec![], vec![floats("b", &[1], 3)], 17),
			x(&[2, 3]),
			true,
		),
		(
			"Div",
			one_op("Div", &[2, 3], &["b"], vec![], vec![floats("b", &[3], 4)], 17),
			x(&[2, 3]),
			true,
		),
		("Relu", one_op("Relu", &[4, 5], &[], vec![], vec![], 17), x(&[4, 5]), true),
		(
			"LeakyRelu",
			one_op("LeakyRelu", &[4, 5], &[], vec![attr("alpha", A::F(0.1))], vec![], 17),
			x(&[4, 5]),
			true,
		),
		("Sigmoid", one_op("Sigmoid", &[4, 5], &[], vec![], vec![], 17), x(&[4, 5]), false),
		("Tanh", one_op("Tanh", &[4, 5], &[], vec![], vec![], 17), x(&[4, 5]), false),
		("Exp", one_op("Exp", &[4, 5], &[], vec![], vec![], 17), x(&[4, 5]), false),
		("Log", one_op("Log", &[4, 5], &[], vec![], vec![], 17), positive(&[4, 5]), false),
		("Sqrt", one_op("Sqrt", &[4, 5], &[], vec![], vec![], 17), positive(&[4, 5]), false),
		("Softmax", one_op("Softmax", &[3, 7], &[], vec![], vec![], 17), x(&[3, 7]), false),
		(
			"Softmax axis 0",
			one_op("Softmax", &[3, 7], &[], vec![attr("axis", A::I(0))], vec![], 17),
			x(&[3, 7]),
			false,
		),
		(
			"Softmax opset 11",
			one_op("Softmax", &[2, 3, 4], &[], vec![attr("axis", A::I(1))], vec![], 11),
			x(&[2, 3, 4]),
			false,
		),
		(
			"MatMul batched",
			one_op("MatMul", &[2, 3, 4], &["w"], vec![], vec![floats("w", &[4, 5], 5)], 17),
			x(&[2, 3, 4]),
			false,
		),
		(
			"Gemm",
			one_op(
				"Gemm",
				&[3, 4],
				&["w", "c"],
				vec![attr("transB", A::I(1)), attr("alpha", A::F(0.5)), attr("beta", A::F(2.0))],
				vec![floats("w", &[6, 4], 6), floats("c", &[6], 7)],
				17,
			),
			x(&[3, 4]),
			false,
		),
		(
			"Reshape",
			one_op("Reshape", &[2, 3, 4], &["s"], vec![], vec![i64_tensor("s", &[0, -1])], 17),
			x(&[2, 3, 4]),
			true,
		),
		(
			"Flatten",
			one_op("Flatten", &[2, 3, 4], &[], vec![attr("axis", A::I(2))], vec![], 17),
			x(&[2, 3, 4]),
			true,
		),
		(
			"Concat",
			one_op(
				"Concat",
				&[2, 3],
				&["b"],
				vec![attr("axis", A::I(1))],
				vec![floats("b", &[2, 2], 8)],
				17,
			),
			x(&[2, 3]),
			true,
		),
		(
			"Transpose",
			one_op(
				"Transpose",
				&[2, 3, 4],
				&[],
				vec![attr("perm", A::Is(vec![1, 2, 0]))],
				vec![],
				17,
			),
			x(&[2, 3, 4]),
			true,
		),
		(
			"ArgMax",
			one_op(
				"ArgMax",
				&[3, 5],
				&[],
				vec![attr("axis", A::I(1)), attr("keepdims", A::I(0))],
				vec![],
				17,
			),
			x(&[3, 5]),
			true,
		),
		(
			"Cast",
			one_op("Cast", &[3, 5], &[], vec![attr("to", A::I(7))], vec![], 17),
			x(&[3, 5]),
			true,
		),
		(
			"Clip",
			one_op(
				"Clip",
				&[3, 5],
				&["lo", "hi"],
				vec![],
				vec![
					pb::TensorProto {
						name: "lo".into(),
						data_type: 1,
						float_data: vec![-0.5],
						..Default::default()
					},
					pb::TensorProto {
						name: "hi".into(),
						data_type: 1,
						float_data: vec![0.75],
						..Default::default()
					},
				],
				17,
			),
			x(&[3, 5]),
			true,
		),
		(
			"Conv pads strides group",
			one_op(
				"Conv",
				&[1, 4, 7, 6],
				&["w", "b"],
				vec![
					attr("pads", A::Is(vec![1, 0, 2, 1])),
					attr("strides", A::Is(vec![2, 1])),
					attr("group", A::I(2)),
				],
				vec![floats("w", &[6, 2, 3, 3], 9), floats("b", &[6], 10)],
				17,
			),
			x(&[1, 4, 7, 6]),
			false,
		),
		(
			"Conv same dilated",
			one_op(
				"Conv",
				&[2, 3, 6, 6],
				&["w"],
				vec![attr("auto_pad", A::S("SAME_UPPER")), attr("dilations", A::Is(vec![2, 2]))],
				vec![floats("w", &[4, 3, 3, 3], 11)],
				17,
			),
			x(&[2, 3, 6, 6]),
			false,
		),
		(
			"MaxPool ceil",
			one_op(
				"MaxPool",
				&[1, 2, 7, 7],
				&[],
				vec![
					attr("kernel_shape", A::Is(vec![3, 3])),
					attr("strides", A::Is(vec![2, 2])),
					attr("ceil_mode", A::I(1)),
				],
				vec![],
				17,
			),
			x(&[1, 2, 7, 7]),
			true,
		),
		(
			"AveragePool pads",
			one_op(
				"AveragePool",
				&[1, 2, 6, 6],
				&[],
				vec![
					attr("kernel_shape", A::Is(vec![3, 3])),
					attr("pads", A::Is(vec![1, 1, 1, 1])),
					attr("strides", A::Is(vec![2, 2])),
				],
				vec![],
				17,
			),
			x(&[1, 2, 6, 6]),
			false,
		),
		(
			"AveragePool count_include_pad",
			one_op(
				"AveragePool",
				&[1, 2, 6, 6],
				&[],
				vec![
					attr("kernel_shape", A::Is(vec![3, 3])),
					attr("pads", A::Is(vec![1, 1, 1, 1])),
					attr("count_include_pad", A::I(1)),
				],
				vec![],
				17,
			),
			x(&[1, 2, 6, 6]),
			false,
		),
		(
			"GlobalAveragePool",
			one_op("GlobalAveragePool", &[2, 3, 4, 5], &[], vec![], vec![], 17),
			x(&[2, 3, 4, 5]),
			false,
		),
	];
	let mut failed = vec![];
	for (what, model, input, exact) in &cases {
		let (tract, interp) = both(model, std::slice::from_ref(input));
		if !agree(what, &interp, &tract, *exact) {
			failed.push(*what);
		}
	}
	assert!(failed.is_empty(), "disagree with tract: {failed:?}");
}

// ------------------------------------------------------ bundled and corpus

/// Every bundled and corpus model, and whether it compiles: `Ok(exact)`
/// (bit for bit with tract, for trees) or `Err(part of the reason)`.
const MODELS: &[(&str, Result<bool, &str>)] = &[
	("digits-mlp", Ok(false)),
	("iris-forest", Ok(true)),
	("corpus/lightgbm-binary", Ok(true)),
	("corpus/lightgbm-classifier", Ok(true)),
	("corpus/lightgbm-regressor", Ok(true)),
	("corpus/pt-cnn", Err("PRelu")),
	("corpus/pt-gru", Err("GRU")),
	("corpus/pt-lstm", Err("LSTM")),
	("corpus/pt-transformer-encoder", Err("Shape")),
	("corpus/sk-extra-trees", Ok(true)),
	("corpus/sk-extra-trees-regressor", Ok(true)),
	("corpus/sk-gradient-boosting", Ok(true)),
	("corpus/sk-gradient-boosting-binary", Ok(true)),
	("corpus/sk-gradient-boosting-regressor", Ok(true)),
	("corpus/sk-kmeans", Err("ReduceSumSquare")),
	("corpus/sk-linear-regression", Err("LinearRegressor")),
	("corpus/sk-linear-svc", Err("LinearClassifier")),
	("corpus/sk-logistic", Err("LinearClassifier")),
	("corpus/sk-mlp", Err("ArrayFeatureExtractor")),
	("corpus/sk-random-forest", Ok(true)),
	("corpus/sk-random-forest-binary", Ok(true)),
	("corpus/sk-random-forest-regressor", Ok(true)),
	("corpus/sk-scaler-pca-logistic", Err("Scaler")),
	("corpus/sk-svc-rbf", Err("SVMClassifier")),
	("corpus/trees-average-logistic", Ok(true)),
	("corpus/trees-max-softmax-zero", Ok(true)),
	("corpus/trees-min-softmax", Ok(true)),
	("corpus/trees-sum-none", Ok(true)),
	("corpus/xgboost-binary", Ok(true)),
	("corpus/xgboost-classifier", Ok(true)),
	("corpus/xgboost-regressor", Ok(true)),
];

#[test]
fn bundled_and_corpus_models_compile_or_are_refused_as_listed_and_agree() {
	let mut wrong = vec![];
	for (name, expected) in MODELS {
		let bytes = std::fs::read(models().join(format!("{name}.onnx"))).unwrap();
		let doc: serde_json::Value = serde_json::from_str(
			&std::fs::read_to_string(models().join(format!("{name}.reference.json"))).unwrap(),
		)
		.unwrap();
		let input = tensor_from_json(&doc["input"]).unwrap();
		match (compile(&bytes), expected) {
			(Err(e), Err(reason)) => {
				assert_eq!(e.kind, EngineError::UnsupportedModel, "{name}: {e}");
				if !e.to_string().contains(reason) {
					wrong.push(format!("{name}: refused for {e}, expected {reason}"));
				}
			}
			(Ok(graph), Ok(exact)) => {
				let (tract, interp) = both(&bytes, std::slice::from_ref(&input));
				if !agree(name, &interp, &tract, *exact) {
					wrong.push(format!("{name}: disagrees with tract"));
				}
				let reference: Vec<Tensor> = doc["outputs"]
					.as_array()
					.unwrap()
					.iter()
					.map(|t| tensor_from_json(t).unwrap())
					.collect();
				if !agree(name, &interp, &reference, false) {
					wrong.push(format!("{name}: disagrees with onnxruntime"));
				}
				// The plan's price grows with the batch.
				let meta = |rows: usize| {
					let mut shape: Vec<usize> = input.shape.iter().map(|d| *d as usize).collect();
					shape[0] = rows;
					vec![Meta::new(verity_interp::Elem::F32, shape)]
				};
				let (one, many) = (
					plan(&graph, &meta(1), &MEMORY).unwrap().cost,
					plan(&graph, &meta(64), &MEMORY).unwrap().cost,
				);
				assert!(one.within(&many) && one != many, "{name}: {one:?} vs {many:?}");
			}
			(got, _) => wrong
				.push(format!("{name}: expected {expected:?}, got {:?}", got.map(|_| "a graph"))),
		}
	}
	assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn compiling_is_a_function_of_the_bytes() {
	for name in ["digits-mlp", "iris-forest", "corpus/xgboost-classifier"] {
		let bytes = std::fs::read(models().join(format!("{name}.onnx"))).unwrap();
		let a = codec::Encode::encode(&compile(&bytes).unwrap());
		let b = codec::Encode::encode(&compile(&bytes).unwrap());
		assert_eq!(a, b, "{name}");
		assert_eq!(verity_interp::Graph::decode_checked(&a).unwrap(), compile(&bytes).unwrap());
	}
}

#[test]
fn a_model_outside_the_subset_is_refused_with_its_reason() {
	let refused = |bytes: Vec<u8>, reason: &str| {
		let e = compile(&bytes).unwrap_err();
		assert!(e.to_string().contains(reason), "{e} should mention {reason}");
	};
	refused(one_op("Erf", &[2], &[], vec![], vec![], 17), "Erf");
	refused(
		one_op("ArgMax", &[2, 3], &[], vec![attr("select_last_index", A::I(1))], vec![], 17),
		"select_last_index",
	);
	// A shape computed from the data.
	refused(one_op("Reshape", &[2, 3], &["x"], vec![], vec![], 17), "must be a constant");
	refused(one_op("Cast", &[2], &[], vec![attr("to", A::I(11))], vec![], 17), "cast");
	refused(b"not a model".to_vec(), "not an ONNX model");
}

#[test]
fn the_sandboxed_worker_compiles_as_the_library_does() {
	use verity_engine::sandbox::{Fault, Sandbox, SandboxConfig};
	let sandbox = Sandbox::new(SandboxConfig {
		program: env!("CARGO_BIN_EXE_verity-inference-worker").into(),
		args: vec![],
		limits: Limits::default(),
		fault: Fault::None,
		threads: 1,
		delay: std::time::Duration::ZERO,
	});
	let bytes = std::fs::read(models().join("iris-forest.onnx")).unwrap();
	assert_eq!(
		sandbox.compile_consensus(&bytes).unwrap(),
		codec::Encode::encode(&compile(&bytes).unwrap())
	);
	let refused = sandbox.compile_consensus(&one_op("Erf", &[2], &[], vec![], vec![], 17));
	assert_eq!(refused.unwrap_err().kind, EngineError::UnsupportedModel);
	let garbage = sandbox.compile_consensus(b"\x0a\xff\xff\xff\xff\x0f");
	assert_eq!(garbage.unwrap_err().kind, EngineError::InvalidModel);
}
