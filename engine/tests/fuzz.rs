//! Hostile models by the thousand, through the real sandbox (the worker
//! process a node runs models in): model bytes mutated from the real models
//! of `models/`, and structure-aware generators of ONNX graphs (huge shapes,
//! deep graphs, subgraphs nested in subgraphs, loops, big and lying
//! initializers, external data, random operator soups, odd headers), each
//! also truncated. Every case is loaded, described (admission's check) and
//! run on generated inputs, as a node would.
//!
//! Every case must end as an answer or an [`EngineError`] within the limits:
//! the worker must neither die (`Crashed`: an error blamed on the node, so a
//! hostile model could make every executor decline its jobs) nor report an
//! internal error, and the harness (the node's side) must not panic or hang.
//!
//! `VERITY_FUZZ_CASES` cases (default 500, CI's bounded pass) from seed
//! `VERITY_FUZZ_SEED`, stopping early after `VERITY_FUZZ_BUDGET_SECS`
//! (default 120 s); each request is bounded by a 250 ms wall-clock limit.
//! The committed corpus (`engine/tests/fuzz-corpus/`) is replayed first.
//! `scripts/fuzz` runs long campaigns and can add to the corpus.

use std::{
	collections::BTreeMap,
	path::{Path, PathBuf},
	time::{Duration, Instant},
};

use codec::Encode;
use proptest::{
	prelude::*,
	strategy::ValueTree,
	test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
};
use prost::Message;
use tract_onnx::pb::{
	self, attribute_proto::AttributeType, tensor_proto::DataType,
	tensor_shape_proto::dimension::Value as DimValue, type_proto,
};
mod common;

use common::{i64_tensor, model};
use verity_engine::{
	sandbox::{Fault, Sandbox, SandboxConfig},
	EngineError, Limits,
};
use verity_primitives::{DType, Tensor};

/// One case: a model and the encoded inputs to run it on.
#[derive(Clone, Debug)]
struct Case {
	/// Which generator made it.
	kind: &'static str,
	model: Vec<u8>,
	inputs: Vec<Vec<u8>>,
}

/// A declared graph input: name, ONNX element type, dimensions (`None`:
/// symbolic).
type Decl = (String, i32, Vec<Option<i64>>);

// ---------------------------------------------------------------- inputs

fn dtype_of(elem: i32) -> DType {
	match elem {
		11 => DType::Float64,
		7 => DType::Int64,
		6 => DType::Int32,
		2 => DType::Uint8,
		9 => DType::Bool,
		_ => DType::Float32,
	}
}

/// Element bytes: mostly ordinary numbers, sometimes NaN, infinities,
/// extremes.
fn elements(dtype: DType, n: usize) -> impl Strategy<Value = Vec<u8>> {
	let size = dtype.size() as usize;
	prop_oneof![
		4 => prop::collection::vec(-4.0f32..4.0, n).prop_map(move |v| {
			v.iter()
				.flat_map(|x| match dtype {
					DType::Float32 => x.to_le_bytes().to_vec(),
					DType::Float64 => f64::from(*x).to_le_bytes().to_vec(),
					DType::Int64 => (*x as i64).to_le_bytes().to_vec(),
					DType::Int32 => (*x as i32).to_le_bytes().to_vec(),
					DType::Uint8 => vec![x.abs() as u8],
					DType::Bool => vec![u8::from(*x > 0.0)],
				})
				.collect()
		}),
		1 => prop::collection::vec(any::<u8>(), n * size),
		1 => prop::sample::select(vec![
			f32::NAN.to_le_bytes(),
			f32::INFINITY.to_le_bytes(),
			f32::MAX.to_le_bytes(),
			(-0.0f32).to_le_bytes(),
			i32::MIN.to_le_bytes(),
		])
		.prop_map(move |b| b.iter().cycle().take(n * size).copied().collect()),
	]
}

/// Inputs for `decls`: mostly as declared (symbolic dimensions 1 to 4),
/// sometimes with a wrong type, shape, name or data length.
fn inputs_for(decls: Vec<Decl>) -> impl Strategy<Value = Vec<u8>> {
	let per_input: Vec<_> = decls
		.into_iter()
		.map(|(name, elem, dims)| {
			let shape = dims
				.iter()
				.map(|d| match d {
					Some(v) if *v > 0 && *v <= 1 << 16 => Just(*v as u32).boxed(),
					Some(v) => Just((*v).clamp(0, u32::MAX as i64) as u32).boxed(),
					None => (1u32..=4).boxed(),
				})
				.collect::<Vec<_>>();
			(shape, prop_oneof![8 => Just(dtype_of(elem)), 1 => dtype()], any::<u8>())
				.prop_flat_map(move |(shape, dtype, tweak)| {
					let n = shape.iter().map(|d| *d as u64).product::<u64>().min(1 << 14) as usize;
					let name = name.clone();
					(Just(shape), Just(dtype), elements(dtype, n), Just(tweak)).prop_map(
						move |(mut shape, dtype, mut data, tweak)| {
							let mut name = name.clone().into_bytes();
							match tweak {
								0..=3 => name = b"not-an-input".to_vec(),
								4..=7 => shape.push(3),
								8..=11 => data.truncate(data.len() / 2),
								12..=13 => shape = vec![u32::MAX, u32::MAX],
								_ => {}
							}
							Tensor { name, dtype, shape, data }
						},
					)
				})
		})
		.collect();
	per_input.prop_map(|tensors| tensors.encode())
}

fn dtype() -> impl Strategy<Value = DType> {
	prop::sample::select(vec![
		DType::Float32,
		DType::Float64,
		DType::Int64,
		DType::Int32,
		DType::Uint8,
		DType::Bool,
	])
}

/// The declared inputs of `model` (graph inputs that are not initializers).
fn decls(model: &pb::ModelProto) -> Vec<Decl> {
	let Some(graph) = &model.graph else { return vec![] };
	graph
		.input
		.iter()
		.filter(|i| !graph.initializer.iter().any(|t| t.name == i.name))
		.map(|i| {
			let (elem, dims) = match i.r#type.as_ref().and_then(|t| t.value.as_ref()) {
				Some(type_proto::Value::TensorType(t)) => (
					t.elem_type,
					t.shape
						.as_ref()
						.map(|s| {
							s.dim
								.iter()
								.map(|d| match d.value {
									Some(DimValue::DimValue(v)) => Some(v),
									_ => None,
								})
								.collect()
						})
						.unwrap_or_default(),
				),
				_ => (1, vec![]),
			};
			(i.name.clone(), elem, dims)
		})
		.take(8)
		.collect()
}

// ---------------------------------------------------------------- graphs

fn dim(v: i64) -> pb::tensor_shape_proto::Dimension {
	pb::tensor_shape_proto::Dimension { value: Some(DimValue::DimValue(v)), ..Default::default() }
}

fn sym(name: &str) -> pb::tensor_shape_proto::Dimension {
	pb::tensor_shape_proto::Dimension {
		value: Some(DimValue::DimParam(name.into())),
		..Default::default()
	}
}

fn value_info(
	name: &str,
	elem: DataType,
	dims: Vec<pb::tensor_shape_proto::Dimension>,
) -> pb::ValueInfoProto {
	pb::ValueInfoProto {
		name: name.into(),
		r#type: Some(pb::TypeProto {
			value: Some(type_proto::Value::TensorType(type_proto::Tensor {
				elem_type: elem as i32,
				shape: Some(pb::TensorShapeProto { dim: dims }),
			})),
			..Default::default()
		}),
		..Default::default()
	}
}

fn node(
	op: &str,
	inputs: &[&str],
	outputs: &[&str],
	attrs: Vec<pb::AttributeProto>,
) -> pb::NodeProto {
	pb::NodeProto {
		op_type: op.into(),
		input: inputs.iter().map(|s| s.to_string()).collect(),
		output: outputs.iter().map(|s| s.to_string()).collect(),
		attribute: attrs,
		..Default::default()
	}
}

fn int_attr(name: &str, i: i64) -> pb::AttributeProto {
	pb::AttributeProto {
		name: name.into(),
		r#type: AttributeType::Int as i32,
		i,
		..Default::default()
	}
}

fn graph_attr(name: &str, g: pb::GraphProto) -> pb::AttributeProto {
	pb::AttributeProto {
		name: name.into(),
		r#type: AttributeType::Graph as i32,
		g: Some(g),
		..Default::default()
	}
}

/// The usual input: float `x` of `[N, 8]`.
fn x_input() -> pb::ValueInfoProto {
	value_info("x", DataType::Float, vec![sym("N"), dim(8)])
}

fn y_output() -> pb::ValueInfoProto {
	value_info("y", DataType::Float, vec![])
}

const UNARY: &[&str] = &[
	"Relu",
	"Sigmoid",
	"Tanh",
	"Neg",
	"Abs",
	"Exp",
	"Identity",
	"Softplus",
	"Sqrt",
	"Log",
	"Floor",
	"Erf",
	"Softmax",
	"Reciprocal",
	"Sin",
];

/// A chain of `ops` (deep graphs).
fn chain(ops: Vec<usize>) -> pb::ModelProto {
	let mut nodes = vec![];
	for (i, op) in ops.iter().enumerate() {
		let input = if i == 0 { "x".to_string() } else { format!("v{}", i - 1) };
		let output = if i + 1 == ops.len() { "y".to_string() } else { format!("v{i}") };
		let op = UNARY[op % UNARY.len()];
		let attrs = if op == "Softmax" { vec![int_attr("axis", -1)] } else { vec![] };
		nodes.push(node(op, &[&input], &[&output], attrs));
	}
	model(
		pb::GraphProto {
			node: nodes,
			input: vec![x_input()],
			output: vec![y_output()],
			..Default::default()
		},
		13,
	)
}

/// `If` inside `If` ... `depth` deep, each branch reading the outer `x`.
fn nested_if(depth: usize) -> pb::ModelProto {
	fn branch(depth: usize, out: &str) -> pb::GraphProto {
		let node = if depth == 0 {
			node("Identity", &["x"], &[out], vec![])
		} else {
			node(
				"If",
				&["c"],
				&[out],
				vec![
					// Only one branch nests: both would double at every level.
					graph_attr("then_branch", branch(depth - 1, &format!("t{depth}"))),
					graph_attr("else_branch", branch(0, &format!("e{depth}"))),
				],
			)
		};
		pb::GraphProto {
			node: vec![node],
			output: vec![value_info(out, DataType::Float, vec![])],
			..Default::default()
		}
	}
	let top = branch(depth, "y");
	model(
		pb::GraphProto {
			node: top.node,
			input: vec![x_input(), value_info("c", DataType::Bool, vec![])],
			output: vec![y_output()],
			..Default::default()
		},
		13,
	)
}

/// A `Loop` of `trip` iterations (`None`: no limit, condition always true)
/// adding one to a carried tensor.
fn looping(trip: Option<i64>, body_ops: usize) -> pb::ModelProto {
	let mut body_nodes = vec![node("Identity", &["cond_in"], &["cond_out"], vec![])];
	let mut last = "acc_in".to_string();
	for i in 0..body_ops.max(1) {
		let out = if i + 1 == body_ops.max(1) { "acc_out".to_string() } else { format!("b{i}") };
		body_nodes.push(node("Add", &[&last, "one"], &[&out], vec![]));
		last = out;
	}
	let body = pb::GraphProto {
		node: body_nodes,
		initializer: vec![pb::TensorProto {
			name: "one".into(),
			data_type: DataType::Float as i32,
			float_data: vec![1.0],
			..Default::default()
		}],
		input: vec![
			value_info("i", DataType::Int64, vec![]),
			value_info("cond_in", DataType::Bool, vec![]),
			value_info("acc_in", DataType::Float, vec![sym("N"), dim(8)]),
		],
		output: vec![
			value_info("cond_out", DataType::Bool, vec![]),
			value_info("acc_out", DataType::Float, vec![sym("N"), dim(8)]),
		],
		..Default::default()
	};
	let mut initializer = vec![pb::TensorProto {
		name: "cond".into(),
		data_type: DataType::Bool as i32,
		int32_data: vec![1],
		..Default::default()
	}];
	let m = match trip {
		Some(t) => {
			initializer.push(pb::TensorProto {
				name: "m".into(),
				data_type: DataType::Int64 as i32,
				int64_data: vec![t],
				..Default::default()
			});
			"m"
		}
		None => "",
	};
	model(
		pb::GraphProto {
			node: vec![node("Loop", &[m, "cond", "x"], &["y"], vec![graph_attr("body", body)])],
			initializer,
			input: vec![x_input()],
			output: vec![y_output()],
			..Default::default()
		},
		13,
	)
}

/// An operator asked for a tensor of `dims` (ConstantOfShape, Expand,
/// Reshape, Tile, Range, Pad, Resize), the shape as an initializer.
fn huge_shape(op: usize, dims: Vec<i64>) -> pb::ModelProto {
	let (nodes, inits) = match op % 7 {
		0 => (vec![node("ConstantOfShape", &["s"], &["y"], vec![])], vec![i64_tensor("s", &dims)]),
		1 => (vec![node("Expand", &["x", "s"], &["y"], vec![])], vec![i64_tensor("s", &dims)]),
		2 => (vec![node("Reshape", &["x", "s"], &["y"], vec![])], vec![i64_tensor("s", &dims)]),
		3 => (vec![node("Tile", &["x", "s"], &["y"], vec![])], vec![i64_tensor("s", &dims)]),
		4 => (
			vec![node("Range", &["a", "b", "c"], &["y"], vec![])],
			vec![
				i64_tensor("a", &[0]),
				i64_tensor("b", &[*dims.first().unwrap_or(&i64::MAX)]),
				i64_tensor("c", &[*dims.get(1).unwrap_or(&1)]),
			],
		),
		5 => (vec![node("Pad", &["x", "s"], &["y"], vec![])], vec![i64_tensor("s", &dims)]),
		_ => (
			vec![node("Resize", &["x", "", "", "s"], &["y"], vec![])],
			vec![i64_tensor("s", &dims)],
		),
	};
	// Range, ConstantOfShape want scalars or 1-D shapes as given; the
	// others read x.
	model(
		pb::GraphProto {
			node: nodes,
			initializer: inits,
			input: vec![x_input()],
			output: vec![y_output()],
			..Default::default()
		},
		13,
	)
}

/// A weight initializer whose dimensions, data and location may lie:
/// `form` 0 raw data of the stated size, 1 too little raw data, 2
/// `float_data` of another length, 3 external data at a path of the
/// node's machine, 4 a segment.
fn big_initializer(dims: Vec<i64>, form: u8, bytes: usize, path: usize) -> pb::ModelProto {
	let elements = dims.iter().try_fold(1i64, |a, d| a.checked_mul(*d)).unwrap_or(i64::MAX);
	let stated = usize::try_from(elements.saturating_mul(4)).unwrap_or(usize::MAX);
	let mut w = pb::TensorProto {
		name: "w".into(),
		dims: dims.clone(),
		data_type: DataType::Float as i32,
		..Default::default()
	};
	match form % 5 {
		0 => w.raw_data = vec![0x3c; stated.min(8 << 20)],
		1 => w.raw_data = vec![0x3c; bytes],
		2 => w.float_data = vec![0.5; bytes / 4],
		3 => {
			w.data_location = Some(1);
			let location = [
				"/etc/passwd",
				"../../../../etc/shadow",
				"keystore",
				"/proc/self/environ",
				"/dev/zero",
				"weights.bin",
			][path % 6];
			w.external_data = vec![
				pb::StringStringEntryProto { key: "location".into(), value: location.into() },
				pb::StringStringEntryProto { key: "length".into(), value: bytes.to_string() },
			];
		}
		_ => {
			w.segment = Some(pb::tensor_proto::Segment { begin: 0, end: bytes as i64 });
			w.raw_data = vec![1; bytes.min(1 << 16)];
		}
	}
	let op = if dims.len() == 2 { "MatMul" } else { "Add" };
	model(
		pb::GraphProto {
			node: vec![node(op, &["x", "w"], &["y"], vec![])],
			initializer: vec![w],
			input: vec![x_input()],
			output: vec![y_output()],
			..Default::default()
		},
		13,
	)
}

const SOUP: &[&str] = &[
	"Abs",
	"Add",
	"And",
	"ArgMax",
	"AveragePool",
	"BatchNormalization",
	"Cast",
	"Ceil",
	"Clip",
	"Concat",
	"Constant",
	"ConstantOfShape",
	"Conv",
	"ConvTranspose",
	"CumSum",
	"DepthToSpace",
	"Div",
	"Dropout",
	"Einsum",
	"Equal",
	"Exp",
	"Expand",
	"Flatten",
	"Gather",
	"GatherElements",
	"GatherND",
	"Gemm",
	"GlobalAveragePool",
	"Greater",
	"GRU",
	"Identity",
	"If",
	"InstanceNormalization",
	"LRN",
	"LSTM",
	"LeakyRelu",
	"Less",
	"Log",
	"LogSoftmax",
	"Loop",
	"MatMul",
	"Max",
	"MaxPool",
	"Mean",
	"Min",
	"Mod",
	"Mul",
	"Neg",
	"NonZero",
	"Not",
	"OneHot",
	"Or",
	"PRelu",
	"Pad",
	"Pow",
	"RandomNormal",
	"Range",
	"ReduceMax",
	"ReduceMean",
	"ReduceSum",
	"Relu",
	"Reshape",
	"Resize",
	"Scan",
	"ScatterElements",
	"Shape",
	"Sigmoid",
	"Size",
	"Slice",
	"Softmax",
	"Split",
	"Sqrt",
	"Squeeze",
	"Sub",
	"Sum",
	"Tanh",
	"Tile",
	"TopK",
	"Transpose",
	"Unsqueeze",
	"Where",
	"Xor",
	"TreeEnsembleClassifier",
	"TreeEnsembleRegressor",
	"SVMClassifier",
	"ArrayFeatureExtractor",
	"ZipMap",
	"NonMaxSuppression",
	"QLinearConv",
	"DequantizeLinear",
	"Upsample",
	"SpaceToDepth",
	"Trilu",
	"EyeLike",
	"Compress",
	"ReverseSequence",
];

const ATTRS: &[&str] = &[
	"axis",
	"axes",
	"perm",
	"kernel_shape",
	"strides",
	"pads",
	"dilations",
	"group",
	"to",
	"value",
	"alpha",
	"beta",
	"transA",
	"transB",
	"keepdims",
	"mode",
	"epsilon",
	"size",
	"blocksize",
	"k",
	"largest",
	"direction",
	"hidden_size",
	"nodes_treeids",
	"nodes_nodeids",
	"nodes_featureids",
	"nodes_modes",
	"nodes_values",
	"nodes_truenodeids",
	"nodes_falsenodeids",
	"class_ids",
	"class_treeids",
	"class_nodeids",
	"class_weights",
	"classlabels_int64s",
	"target_ids",
	"target_nodeids",
	"target_treeids",
	"target_weights",
	"n_targets",
	"post_transform",
	"then_branch",
	"else_branch",
	"body",
	"seed",
	"dtype",
	"equation",
	"shape",
	"upper",
	"kernel_type",
	"support_vectors",
	"coefficients",
	"rho",
];

const STRINGS: &[&str] = &[
	"BRANCH_LEQ",
	"BRANCH_LT",
	"BRANCH_GTE",
	"BRANCH_GT",
	"BRANCH_EQ",
	"BRANCH_NEQ",
	"LEAF",
	"SOFTMAX",
	"LOGISTIC",
	"NONE",
	"SUM",
	"AVERAGE",
	"MAX",
	"RBF",
	"linear",
	"nearest",
	"constant",
	"reflect",
	"ij,jk->ik",
	"...,...->...",
	"",
	"\u{0}\u{ff}",
];

prop_compose! {
	fn attribute()(name in prop::sample::select(ATTRS), kind in 0u8..8,
		i in prop_oneof![-4i64..8, any::<i64>()],
		ints in prop::collection::vec(prop_oneof![-3i64..6, any::<i64>()], 0..12),
		f in prop_oneof![-2.0f32..2.0, Just(f32::NAN), Just(f32::INFINITY)],
		floats in prop::collection::vec(-2.0f32..2.0, 0..12),
		s in prop::sample::select(STRINGS), depth in 0usize..3)
	-> pb::AttributeProto {
		let mut a = pb::AttributeProto { name: name.into(), ..Default::default() };
		match kind {
			0 => { a.r#type = AttributeType::Int as i32; a.i = i; }
			1 => { a.r#type = AttributeType::Ints as i32; a.ints = ints; }
			2 => { a.r#type = AttributeType::Float as i32; a.f = f; }
			3 => { a.r#type = AttributeType::Floats as i32; a.floats = floats; }
			4 => { a.r#type = AttributeType::String as i32; a.s = s.as_bytes().to_vec(); }
			5 => {
				a.r#type = AttributeType::Strings as i32;
				a.strings = ints.iter().map(|i| STRINGS[i.unsigned_abs() as usize % STRINGS.len()].as_bytes().to_vec()).collect();
			}
			6 => {
				a.r#type = AttributeType::Tensor as i32;
				a.t = Some(pb::TensorProto {
					dims: ints.iter().map(|d| d.rem_euclid(5)).collect(),
					data_type: DataType::Float as i32,
					float_data: floats,
					..Default::default()
				});
			}
			_ => {
				a.r#type = AttributeType::Graph as i32;
				let ops: Vec<usize> = ints.iter().map(|i| i.unsigned_abs() as usize).take(depth + 1).collect();
				a.g = chain(ops).graph;
			}
		}
		a
	}
}

prop_compose! {
	fn soup_node(values: usize)(op in prop::sample::select(SOUP),
		inputs in prop::collection::vec(0..values + 2, 0..4),
		outputs in 1usize..3,
		attrs in prop::collection::vec(attribute(), 0..4),
		domain in prop_oneof![8 => Just(""), 1 => Just("ai.onnx.ml"), 1 => Just("com.microsoft")])
	-> (pb::NodeProto, usize) {
		(pb::NodeProto {
			op_type: op.into(),
			domain: domain.into(),
			// Indices past the values so far name nothing, or nothing at all.
			input: inputs.iter().map(|i| match i { i if *i == values + 1 => String::new(), i => format!("v{i}") }).collect(),
			output: (0..outputs).map(|_| String::new()).collect(),
			attribute: attrs,
			..Default::default()
		}, outputs)
	}
}

/// A graph of random operators, attributes and wiring, on input `v0`.
fn soup() -> impl Strategy<Value = pb::ModelProto> {
	(
		1usize..12,
		prop::collection::vec(soup_node(12), 1..12),
		1u8..20,
		prop::collection::vec(any::<i8>(), 0..4),
	)
		.prop_map(|(n, mut nodes, opset, dims)| {
			let mut next = 1;
			for (node, outputs) in nodes.iter_mut().take(n) {
				node.output = (0..*outputs)
					.map(|_| {
						next += 1;
						format!("v{}", next - 1)
					})
					.collect();
			}
			let nodes: Vec<pb::NodeProto> = nodes.into_iter().take(n).map(|(n, _)| n).collect();
			let last = format!("v{}", next - 1);
			let mut shape: Vec<_> = dims.iter().map(|d| dim(i64::from(*d))).collect();
			if shape.is_empty() {
				shape = vec![sym("N"), dim(8)];
			}
			model(
				pb::GraphProto {
					node: nodes,
					input: vec![value_info("v0", DataType::Float, shape)],
					output: vec![value_info(&last, DataType::Float, vec![])],
					..Default::default()
				},
				i64::from(opset),
			)
		})
}

/// Odd headers and declarations around a plain `Relu`: opset versions,
/// IR versions, element types, dimensions, duplicate and missing names.
fn odd_header() -> impl Strategy<Value = pb::ModelProto> {
	(
		prop_oneof![Just(0i64), Just(1), Just(6), Just(13), Just(999), Just(-1), any::<i64>()],
		prop_oneof![Just(0i64), Just(3), Just(8), Just(12), Just(-5), any::<i64>()],
		0i32..32,
		prop::collection::vec(
			prop_oneof![Just(-1i64), Just(0), Just(1), Just(i64::MAX), 1i64..64],
			0..6,
		),
		0u8..4,
	)
		.prop_map(|(opset, ir, elem, dims, naming)| {
			let (input, output) = match naming {
				0 => ("x", "y"),
				1 => ("x", "x"),
				2 => ("", "y"),
				_ => ("x", "nowhere"),
			};
			let mut m = model(
				pb::GraphProto {
					node: vec![node("Relu", &["x"], &["y"], vec![])],
					input: vec![pb::ValueInfoProto {
						name: input.into(),
						r#type: Some(pb::TypeProto {
							value: Some(type_proto::Value::TensorType(type_proto::Tensor {
								elem_type: elem,
								shape: Some(pb::TensorShapeProto {
									dim: dims.iter().map(|d| dim(*d)).collect(),
								}),
							})),
							..Default::default()
						}),
						..Default::default()
					}],
					output: vec![value_info(output, DataType::Float, vec![])],
					..Default::default()
				},
				opset,
			);
			m.ir_version = ir;
			m
		})
}

/// Byte-level mutations of `bytes`: flips, overwrites, insertions,
/// deletions, splices, big varints, truncation.
fn mutate(bytes: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
	prop::collection::vec((0u8..7, any::<prop::sample::Index>(), any::<u8>(), 1usize..64), 1..8)
		.prop_map(move |edits| {
			let mut b = bytes.clone();
			for (op, at, byte, len) in edits {
				if b.is_empty() {
					b.push(byte);
					continue;
				}
				let i = at.index(b.len());
				match op {
					0 => b[i] ^= 1 << (byte % 8),
					1 => b[i] = byte,
					2 => b.splice(i..i, std::iter::repeat_n(byte, len)).for_each(drop),
					3 => {
						b.drain(i..(i + len).min(b.len()));
					}
					4 => {
						let end = (i + len).min(b.len());
						let piece: Vec<u8> = b[i..end].to_vec();
						let j = (i * 7 + len) % b.len();
						b.splice(j..j, piece).for_each(drop);
					}
					5 => b.splice(i..i, [0xff; 9].into_iter().chain([0x01])).for_each(drop),
					_ => b.truncate(i),
				}
			}
			b
		})
}

/// Structural edits of a parsed seed model: attribute values, initializer
/// dimensions and data, operator types, wiring, declared input shapes. The
/// result still parses, so the edits reach the engine's deeper checks.
fn edit(bytes: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
	let edits = (
		0u8..8,
		any::<prop::sample::Index>(),
		any::<prop::sample::Index>(),
		prop_oneof![Just(-1i64), Just(0), Just(1), Just(1 << 31), Just(i64::MAX), -3i64..70],
		prop::sample::select(SOUP),
	);
	prop::collection::vec(edits, 1..6).prop_map(move |edits| {
		let Ok(mut m) = pb::ModelProto::decode(&bytes[..]) else { return bytes.clone() };
		let Some(g) = m.graph.as_mut() else { return bytes.clone() };
		for (what, a, b, value, op) in edits {
			match what {
				// An integer attribute, or one element of an integer list.
				0 | 1 => {
					if g.node.is_empty() {
						continue;
					}
					let n = a.index(g.node.len());
					let attrs = &mut g.node[n].attribute;
					if attrs.is_empty() {
						continue;
					}
					let k = b.index(attrs.len());
					let at = &mut attrs[k];
					if at.ints.is_empty() {
						at.i = value;
						at.f = value as f32;
					} else {
						let k = b.index(at.ints.len());
						at.ints[k] = value;
					}
				}
				// An initializer's dimensions (its data stays).
				2 => {
					if g.initializer.is_empty() {
						continue;
					}
					let t = a.index(g.initializer.len());
					let dims = &mut g.initializer[t].dims;
					if dims.is_empty() {
						dims.push(value);
					} else {
						let k = b.index(dims.len());
						dims[k] = value;
					}
				}
				// An initializer's data cut short.
				3 => {
					if g.initializer.is_empty() {
						continue;
					}
					let k = a.index(g.initializer.len());
					let t = &mut g.initializer[k];
					t.raw_data.truncate(t.raw_data.len() / 2);
					t.float_data.truncate(t.float_data.len() / 2);
					t.int64_data.truncate(t.int64_data.len() / 2);
				}
				// Another operator in a node's place.
				4 => {
					if !g.node.is_empty() {
						let n = a.index(g.node.len());
						g.node[n].op_type = op.into();
					}
				}
				// A node reads another value, or its own output.
				5 => {
					if g.node.len() < 2 {
						continue;
					}
					let (n, k) = (a.index(g.node.len()), b.index(g.node.len()));
					if let (Some(out), false) =
						(g.node[k].output.first().cloned(), g.node[n].input.is_empty())
					{
						let i = b.index(g.node[n].input.len());
						g.node[n].input[i] = out;
					}
				}
				// A declared input dimension.
				6 => {
					let Some(i) = g.input.first_mut() else { continue };
					if let Some(pb::TypeProto {
						value: Some(type_proto::Value::TensorType(t)),
						..
					}) = i.r#type.as_mut()
					{
						if let Some(shape) = t.shape.as_mut() {
							if shape.dim.is_empty() {
								shape.dim.push(dim(value));
							} else {
								let k = a.index(shape.dim.len());
								shape.dim[k] = dim(value);
							}
						}
					}
				}
				// A node dropped.
				_ => {
					if !g.node.is_empty() {
						let n = a.index(g.node.len());
						g.node.remove(n);
					}
				}
			}
		}
		m.encode_to_vec()
	})
}

// ---------------------------------------------------------------- cases

/// The seed models: every `.onnx` file of `models/` and `models/corpus/`.
fn seeds() -> Vec<(String, Vec<u8>)> {
	let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");
	let mut seeds = vec![];
	for dir in [root.clone(), root.join("corpus")] {
		let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
			.unwrap()
			.map(|e| e.unwrap().path())
			.filter(|p| p.extension().is_some_and(|e| e == "onnx"))
			.collect();
		files.sort();
		for f in files {
			// The 1 MiB matmul is slow to mutate usefully; the rest are small.
			if std::fs::metadata(&f).unwrap().len() < 256 * 1024 {
				seeds.push((
					f.file_name().unwrap().to_string_lossy().into(),
					std::fs::read(&f).unwrap(),
				));
			}
		}
	}
	seeds
}

/// A generated model with inputs generated from its own declaration.
fn with_inputs(
	kind: &'static str,
	m: impl Strategy<Value = pb::ModelProto> + 'static,
) -> BoxedStrategy<Case> {
	(m, 0usize..8)
		.prop_flat_map(move |(m, cut)| {
			let decls = decls(&m);
			let mut bytes = m.encode_to_vec();
			// One case in eight is truncated.
			let kind = if cut == 0 && !bytes.is_empty() {
				bytes.truncate(bytes.len() * 7 / 11);
				"truncated"
			} else {
				kind
			};
			(Just(kind), Just(bytes), prop::collection::vec(inputs_for(decls), 1..3))
		})
		.prop_map(|(kind, model, inputs)| Case { kind, model, inputs })
		.boxed()
}

fn cases(seeds: Vec<(String, Vec<u8>)>) -> impl Strategy<Value = Case> {
	let mutated = prop::sample::select(seeds.clone())
		.prop_flat_map(|(_, bytes)| {
			let decls = pb::ModelProto::decode(&bytes[..]).map(|m| decls(&m)).unwrap_or_default();
			(mutate(bytes), prop::collection::vec(inputs_for(decls), 1..3))
		})
		.prop_map(|(model, inputs)| Case { kind: "mutated", model, inputs });
	let edited = prop::sample::select(seeds)
		.prop_flat_map(|(_, bytes)| {
			let decls = pb::ModelProto::decode(&bytes[..]).map(|m| decls(&m)).unwrap_or_default();
			(edit(bytes), prop::collection::vec(inputs_for(decls), 1..3))
		})
		.prop_map(|(model, inputs)| Case { kind: "edited", model, inputs });
	prop_oneof![
		3 => mutated,
		4 => edited,
		1 => with_inputs("deep", prop::collection::vec(0usize..64, 1..3000).prop_map(chain)),
		1 => with_inputs("nested-if", (1usize..400).prop_map(nested_if)),
		1 => with_inputs("loop", (prop_oneof![Just(None), Just(Some(0i64)), Just(Some(3)),
			Just(Some(1_000_000)), Just(Some(i64::MAX)), Just(Some(-1))], 1usize..4)
			.prop_map(|(t, n)| looping(t, n))),
		1 => with_inputs("huge-shape", (0usize..7, prop::collection::vec(prop_oneof![
			Just(-1i64), Just(0), Just(1), Just(8), Just(1 << 20), Just(1 << 31),
			Just(i64::MAX), Just(i64::MIN), 2i64..100], 0..6)).prop_map(|(op, d)| huge_shape(op, d))),
		1 => with_inputs("initializer", (prop::collection::vec(prop_oneof![
			Just(8i64), Just(0), Just(-1), Just(1 << 20), Just(1 << 40), 1i64..64], 1..4),
			0u8..5, 0usize..(1 << 20), 0usize..6)
			.prop_map(|(d, f, b, p)| big_initializer(d, f, b, p))),
		2 => with_inputs("soup", soup()),
		1 => with_inputs("header", odd_header()),
	]
}

/// What one case came to.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Outcome {
	/// Refused at load.
	Load(EngineErrorKey),
	/// Loaded and ran at least once.
	Ran,
	/// Loaded; every run refused.
	RunRefused(EngineErrorKey),
}

/// `EngineError` as a map key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct EngineErrorKey(u8);

impl From<EngineError> for EngineErrorKey {
	fn from(e: EngineError) -> Self {
		EngineErrorKey(e.encode()[0])
	}
}

impl std::fmt::Display for EngineErrorKey {
	fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
		let e = <EngineError as codec::Decode>::decode(&mut &[self.0][..]).unwrap();
		write!(f, "{e:?}")
	}
}

/// Runs `case` as a node would: load, describe, run each input. A finding
/// is returned as `Err`.
fn execute(sb: &Sandbox, case: &Case) -> Result<Outcome, String> {
	let bad = |what: &str, e: &verity_engine::engine::Failure| {
		matches!(e.kind, EngineError::Crashed | EngineError::Internal)
			.then(|| format!("{what}: {:?}: {}", e.kind, e.message))
	};
	let id = sp_crypto_hashing::blake2_256(&case.model);
	if let Err(e) = sb.describe(&case.model) {
		if let Some(finding) = bad("describe", &e) {
			return Err(finding);
		}
	}
	if let Err(e) = sb.load(&id, &case.model) {
		return match bad("load", &e) {
			Some(finding) => Err(finding),
			None => Ok(Outcome::Load(e.kind.into())),
		};
	}
	let mut refused = None;
	let mut ran = false;
	for input in &case.inputs {
		match sb.run_capped(&id, input, 1 << 20) {
			Ok(_) => ran = true,
			Err(e) => {
				if let Some(finding) = bad("run", &e) {
					return Err(finding);
				}
				refused = Some(e.kind);
			}
		}
	}
	Ok(match (ran, refused) {
		(false, Some(e)) => Outcome::RunRefused(e.into()),
		_ => Outcome::Ran,
	})
}

fn sandbox() -> Sandbox {
	let limits = Limits {
		timeout_ms: 250,
		memory_bytes: 2 << 30,
		max_model_bytes: 16 << 20,
		..Limits::default()
	};
	Sandbox::new(SandboxConfig {
		program: env!("CARGO_BIN_EXE_verity-inference-worker").into(),
		args: vec![],
		limits,
		fault: Fault::None,
		threads: 1,
		delay: Duration::ZERO,
	})
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
	std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn corpus_dir() -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus")
}

/// Saves `case` under `dir` (model and SCALE-encoded inputs); its name.
fn save(dir: &Path, case: &Case) -> PathBuf {
	std::fs::create_dir_all(dir).unwrap();
	let hash = sp_crypto_hashing::blake2_256(&(&case.model, &case.inputs).encode());
	let name: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
	let path = dir.join(format!("{}-{name}.case", case.kind));
	std::fs::write(&path, (case.kind.as_bytes(), &case.model, &case.inputs).encode()).unwrap();
	path
}

fn load_case(path: &Path) -> Case {
	let bytes = std::fs::read(path).unwrap();
	let (kind, model, inputs) =
		<(Vec<u8>, Vec<u8>, Vec<Vec<u8>>) as codec::Decode>::decode(&mut &bytes[..]).unwrap();
	let kind: &'static str = Box::leak(String::from_utf8(kind).unwrap().into_boxed_str());
	Case { kind, model, inputs }
}

#[test]
fn hostile_models_end_as_clean_engine_errors_through_the_sandbox() {
	let cases_wanted: usize = env_or("VERITY_FUZZ_CASES", 500);
	let seed: u64 = env_or("VERITY_FUZZ_SEED", 15);
	let budget = Duration::from_secs(env_or("VERITY_FUZZ_BUDGET_SECS", 120));
	let save_to = std::env::var("VERITY_FUZZ_SAVE").ok().map(PathBuf::from);
	let sb = sandbox();
	let started = Instant::now();
	let mut stats: BTreeMap<(&'static str, String), usize> = BTreeMap::new();
	let mut findings = vec![];
	let mut slowest = (Duration::ZERO, "");

	// The committed corpus first, then fresh cases.
	let mut corpus: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
		.map(|d| d.map(|e| e.unwrap().path()).collect())
		.unwrap_or_default();
	corpus.sort();
	let replayed = corpus.len();
	let mut key = [0u8; 32];
	key[..8].copy_from_slice(&seed.to_le_bytes());
	let mut runner =
		TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &key));
	let strategy = cases(seeds());
	let mut fresh = 0;
	let mut saved = std::collections::BTreeSet::new();
	loop {
		let case = if let Some(path) = corpus.pop() {
			load_case(&path)
		} else {
			if fresh >= cases_wanted || started.elapsed() > budget {
				break;
			}
			fresh += 1;
			strategy.new_tree(&mut runner).expect("a case").current()
		};
		let t = Instant::now();
		let outcome = execute(&sb, &case);
		let took = t.elapsed();
		if took > slowest.0 {
			slowest = (took, case.kind);
		}
		// A case that hangs the node's side is a finding too (each request
		// is bounded at 250 ms; a worker restart costs milliseconds).
		let outcome =
			if took > Duration::from_secs(30) { Err(format!("took {took:?}")) } else { outcome };
		let label = match &outcome {
			Ok(Outcome::Load(e)) => format!("refused at load: {e}"),
			Ok(Outcome::RunRefused(e)) => format!("loaded, runs refused: {e}"),
			Ok(Outcome::Ran) => "ran".into(),
			Err(_) => "FINDING".into(),
		};
		if let Some(dir) = &save_to {
			// One small example of each outcome of each generator.
			if case.model.len() < 64 * 1024 && saved.insert((case.kind, label.clone())) {
				save(dir, &case);
			}
		}
		*stats.entry((case.kind, label)).or_default() += 1;
		if let Err(finding) = outcome {
			let path = save(&std::env::temp_dir().join("verity-fuzz-findings"), &case);
			findings.push(format!("{} ({}): {finding}", path.display(), case.kind));
		}
	}
	println!(
		"{fresh} fresh cases (seed {seed}) and {replayed} corpus cases in {:.1} s; slowest case {:?} ({}); worker starts {}",
		started.elapsed().as_secs_f64(),
		slowest.0,
		slowest.1,
		sb.worker_starts(),
	);
	for ((kind, label), n) in &stats {
		println!("{n:>6}  {kind:<12} {label}");
	}
	assert!(findings.is_empty(), "{} findings:\n{}", findings.len(), findings.join("\n"));
	assert!(fresh > 0, "no fresh case ran");
}

/// The first finding of this fuzzer (kept in the corpus): a `ConstantOfShape`
/// of a constant [59, 2^20, 2^20] whose size tract only learns while it runs.
/// Its 500 TB allocation used to fail in the system allocator and count as
/// the node's crash (blamed on nobody, so every executor would decline the
/// job and no admission committee could decide the model). The worker's
/// allocation cap makes it a tensor too large, the same on every machine.
#[test]
fn a_tensor_no_machine_can_hold_is_too_large_not_a_crash() {
	let case = load_case(&corpus_dir().join("huge-shape-21102a554020c29f.case"));
	let sb = sandbox();
	let id = sp_crypto_hashing::blake2_256(&case.model);
	sb.load(&id, &case.model).expect("it loads: the size is not known before it runs");
	let err = sb.run(&id, &case.inputs[0]).expect_err("no machine holds 500 TB");
	assert_eq!(err.kind, EngineError::TensorTooLarge, "{}", err.message);
	assert_eq!(sb.worker_starts(), 1, "the worker survived");
	assert_eq!(err.kind.blame(1), verity_engine::Blame::Model);
}
