//! The compiler from ONNX to the consensus interpreter's compact graph
//! ([`verity_interp::Graph`]).
//!
//! A publisher's client compiles a model when it registers it with
//! consensus allowed, and uploads the graph next to the ONNX bytes;
//! admission's verifiers compile the ONNX bytes again and compare the two
//! encodings byte for byte. The compilation is therefore a pure function
//! of the ONNX bytes: nodes in the file's order, constants in the order
//! nodes first read them, no hash-map iteration anywhere.
//!
//! Everything outside the interpreter's subset is refused with the reason:
//! an operator it does not have, an attribute value it does not implement
//! (`ArgMax`'s `select_last_index`, a pool's dilations, string labels), an
//! element type other than `float` and `int64`, a shape that comes from
//! the data (`Reshape` to a computed shape). Nothing is approximated: a
//! graph that compiles means what the ONNX model means.

use std::collections::HashMap;

use tract_onnx::{
	pb::{tensor_proto::DataType, NodeProto, TensorProto},
	tract_hir::internal::*,
};
use verity_interp::{
	trees::{Classifier, Ensemble},
	ConstData, Constant, Elem, Graph, Input, Node, Op, Output, Pads, FORMAT_VERSION,
};

use crate::{engine::Failure, EngineError};

fn unsupported(what: impl Into<String>) -> Failure {
	Failure::new(EngineError::UnsupportedModel, what.into())
}

fn invalid(what: impl Into<String>) -> Failure {
	Failure::new(EngineError::InvalidModel, what.into())
}

/// Where the compiler is in a graph: every ONNX name's value, and the
/// initializers not yet turned into values.
struct Builder<'a> {
	graph: Graph,
	values: HashMap<&'a str, u32>,
	initializers: HashMap<&'a str, &'a TensorProto>,
	/// Constants of `Constant` nodes, by output name.
	constant_nodes: HashMap<&'a str, TensorProto>,
	/// Constants come after the inputs; node outputs after all constants,
	/// so node outputs are numbered once the constants are known.
	pending: Vec<(Op, Vec<Ref<'a>>, Vec<&'a str>)>,
	constants: Vec<Constant>,
	constant_of: HashMap<&'a str, u32>,
}

/// A node input before numbering: a graph input or node output by name,
/// or a constant by index.
#[derive(Clone, Copy)]
enum Ref<'a> {
	Name(&'a str),
	Constant(u32),
}

/// A tensor's elements, if it is one the interpreter keeps.
fn tensor_data(t: &TensorProto) -> Result<(Vec<u32>, ConstData), Failure> {
	let dims = t
		.dims
		.iter()
		.map(|d| u32::try_from(*d).map_err(|_| invalid(format!("{}: dimension {d}", t.name))))
		.collect::<Result<Vec<u32>, _>>()?;
	if !t.external_data.is_empty() {
		return Err(unsupported(format!("{}: external data", t.name)));
	}
	let data = match DataType::try_from(t.data_type) {
		Ok(DataType::Float) if !t.float_data.is_empty() => {
			ConstData::F32(t.float_data.iter().map(|v| v.to_bits()).collect())
		}
		Ok(DataType::Float) => ConstData::F32(
			t.raw_data
				.chunks_exact(4)
				.map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
				.collect(),
		),
		Ok(DataType::Int64) if !t.int64_data.is_empty() => ConstData::I64(t.int64_data.clone()),
		Ok(DataType::Int64) => ConstData::I64(
			t.raw_data
				.chunks_exact(8)
				.map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
				.collect(),
		),
		_ => {
			return Err(unsupported(format!(
				"{}: element type {} (the interpreter keeps float and int64)",
				t.name, t.data_type
			)))
		}
	};
	let n = dims.iter().try_fold(1u64, |a, d| a.checked_mul(u64::from(*d)));
	if n != Some(data.len() as u64) {
		return Err(invalid(format!("{}: data does not fit its dimensions", t.name)));
	}
	Ok((dims, data))
}

impl<'a> Builder<'a> {
	/// The tensor a name stands for, when it is a constant (initializer or
	/// `Constant` node).
	fn constant_tensor(&self, name: &str) -> Option<&TensorProto> {
		self.initializers.get(name).copied().or_else(|| self.constant_nodes.get(name))
	}

	/// The `i64` elements of a constant input.
	fn constant_ints(&self, node: &NodeProto, i: usize) -> Result<Vec<i64>, Failure> {
		let name = node.input.get(i).map(String::as_str).unwrap_or("");
		let t = self.constant_tensor(name).ok_or_else(|| {
			unsupported(format!(
				"{} {}: input {i} must be a constant (shapes computed from the data are outside the subset)",
				node.op_type, node.name
			))
		})?;
		match tensor_data(t)?.1 {
			ConstData::I64(v) => Ok(v),
			_ => {
				Err(unsupported(format!("{} {}: input {i} is not int64", node.op_type, node.name)))
			}
		}
	}

	/// The scalar `f32` of an optional constant input (`Clip`'s bounds).
	fn constant_scalar(&self, node: &NodeProto, i: usize) -> Result<Option<f32>, Failure> {
		let name = node.input.get(i).map(String::as_str).unwrap_or("");
		if name.is_empty() {
			return Ok(None);
		}
		let t = self.constant_tensor(name).ok_or_else(|| {
			unsupported(format!("{} {}: a bound that is not a constant", node.op_type, node.name))
		})?;
		match tensor_data(t)?.1 {
			ConstData::F32(v) if v.len() == 1 => Ok(Some(f32::from_bits(v[0]))),
			_ => Err(unsupported(format!(
				"{} {}: a bound that is not one float",
				node.op_type, node.name
			))),
		}
	}

	/// A node input: a name already defined, or an initializer made a
	/// constant on first use.
	fn input(&mut self, name: &'a str) -> Result<Ref<'a>, Failure> {
		if self.values.contains_key(name) {
			return Ok(Ref::Name(name));
		}
		if let Some(i) = self.constant_of.get(name) {
			return Ok(Ref::Constant(*i));
		}
		let Some(t) = self.constant_tensor(name) else {
			return Err(invalid(format!("{name} is read before it is computed")));
		};
		let (shape, data) = tensor_data(t)?;
		let index = self.constants.len() as u32;
		self.constants.push(Constant { shape, data });
		self.constant_of.insert(name, index);
		Ok(Ref::Constant(index))
	}
}

fn ints(node: &NodeProto, name: &str) -> Result<Option<Vec<i64>>, Failure> {
	node.get_attr_opt_vec::<i64>(name).map_err(|e| invalid(format!("{e:#}")))
}

fn int(node: &NodeProto, name: &str, default: i64) -> Result<i64, Failure> {
	Ok(node.get_attr_opt::<i64>(name).map_err(|e| invalid(format!("{e:#}")))?.unwrap_or(default))
}

fn float(node: &NodeProto, name: &str, default: f32) -> Result<f32, Failure> {
	Ok(node.get_attr_opt::<f32>(name).map_err(|e| invalid(format!("{e:#}")))?.unwrap_or(default))
}

fn text<'n>(node: &'n NodeProto, name: &str) -> Result<Option<&'n str>, Failure> {
	node.get_attr_opt::<&str>(name).map_err(|e| invalid(format!("{e:#}")))
}

/// Two `u32`s from an attribute of two values (a 2-D window's).
fn pair(node: &NodeProto, name: &str, default: u32) -> Result<[u32; 2], Failure> {
	match ints(node, name)? {
		None => Ok([default; 2]),
		Some(v) if v.len() == 2 && v.iter().all(|x| (1..=1 << 16).contains(x)) => {
			Ok([v[0] as u32, v[1] as u32])
		}
		Some(v) => Err(unsupported(format!(
			"{} {}: {name} {v:?} (the interpreter runs 2-D windows)",
			node.op_type, node.name
		))),
	}
}

/// A 2-D window's padding from `auto_pad` and `pads`.
fn pads(node: &NodeProto) -> Result<Pads, Failure> {
	match text(node, "auto_pad")?.unwrap_or("NOTSET") {
		"SAME_UPPER" => Ok(Pads::SameUpper),
		"SAME_LOWER" => Ok(Pads::SameLower),
		"VALID" => Ok(Pads::Explicit([0; 4])),
		"NOTSET" => match ints(node, "pads")? {
			None => Ok(Pads::Explicit([0; 4])),
			Some(p) if p.len() == 4 && p.iter().all(|x| (0..=1 << 16).contains(x)) => {
				Ok(Pads::Explicit([p[0] as u32, p[1] as u32, p[2] as u32, p[3] as u32]))
			}
			Some(p) => Err(unsupported(format!("{} {}: pads {p:?}", node.op_type, node.name))),
		},
		other => Err(invalid(format!("{} {}: auto_pad {other}", node.op_type, node.name))),
	}
}

fn axis(node: &NodeProto, default: i64) -> Result<i32, Failure> {
	let a = int(node, "axis", default)?;
	i32::try_from(a).map_err(|_| invalid(format!("{} {}: axis {a}", node.op_type, node.name)))
}

/// The operator a node compiles to, and which of its inputs the operator
/// reads (the others were folded into its attributes).
fn op_of(b: &Builder, node: &NodeProto, opset: i64) -> Result<(Op, usize), Failure> {
	let all = node.input.len();
	let what = |m: &str| unsupported(format!("{} {}: {m}", node.op_type, node.name));
	Ok(match (node.domain.as_str(), node.op_type.as_str()) {
		("" | "ai.onnx", op) => match op {
			"Identity" => (Op::Identity, 1),
			"Add" => (Op::Add, 2),
			"Sub" => (Op::Sub, 2),
			"Mul" => (Op::Mul, 2),
			"Div" => (Op::Div, 2),
			"Relu" => (Op::Relu, 1),
			"LeakyRelu" => (Op::LeakyRelu { alpha: float(node, "alpha", 0.01)?.into() }, 1),
			"Sigmoid" => (Op::Sigmoid, 1),
			"Tanh" => (Op::Tanh, 1),
			"Exp" => (Op::Exp, 1),
			"Log" => (Op::Log, 1),
			"Sqrt" => (Op::Sqrt, 1),
			"Clip" if opset < 11 => {
				let min = node.get_attr_opt::<f32>("min").map_err(|e| invalid(format!("{e:#}")))?;
				let max = node.get_attr_opt::<f32>("max").map_err(|e| invalid(format!("{e:#}")))?;
				(Op::Clip { min: min.map(Into::into), max: max.map(Into::into) }, 1)
			}
			"Clip" => {
				let (min, max) = (b.constant_scalar(node, 1)?, b.constant_scalar(node, 2)?);
				(Op::Clip { min: min.map(Into::into), max: max.map(Into::into) }, 1)
			}
			"Cast" => {
				let to = match DataType::try_from(int(node, "to", 0)? as i32) {
					Ok(DataType::Float) => Elem::F32,
					Ok(DataType::Int64) => Elem::I64,
					_ => return Err(what("a cast to a type other than float or int64")),
				};
				(Op::Cast { to }, 1)
			}
			"MatMul" => (Op::MatMul, 2),
			"Gemm" => (
				Op::Gemm {
					alpha: float(node, "alpha", 1.0)?.into(),
					beta: float(node, "beta", 1.0)?.into(),
					trans_a: int(node, "transA", 0)? != 0,
					trans_b: int(node, "transB", 0)? != 0,
				},
				all.min(3),
			),
			"Conv" => {
				let group = u32::try_from(int(node, "group", 1)?).map_err(|_| what("group"))?;
				let op = Op::Conv {
					strides: pair(node, "strides", 1)?,
					dilations: pair(node, "dilations", 1)?,
					pads: pads(node)?,
					group,
				};
				(op, all.min(3))
			}
			"MaxPool" | "AveragePool" => {
				if node.output.len() > 1 {
					return Err(what("the indices output"));
				}
				if pair(node, "dilations", 1)? != [1, 1] || int(node, "storage_order", 0)? != 0 {
					return Err(what("dilations or a storage order"));
				}
				let kernel =
					ints(node, "kernel_shape")?.ok_or_else(|| invalid("no kernel_shape"))?;
				let [k0, k1] = kernel[..] else { return Err(what("a window that is not 2-D")) };
				let kernel = [
					u32::try_from(k0).map_err(|_| what("kernel"))?,
					u32::try_from(k1).map_err(|_| what("kernel"))?,
				];
				let (strides, pads, ceil_mode) =
					(pair(node, "strides", 1)?, pads(node)?, int(node, "ceil_mode", 0)? != 0);
				if op == "MaxPool" {
					(Op::MaxPool { kernel, strides, pads, ceil_mode }, 1)
				} else {
					let count_include_pad = int(node, "count_include_pad", 0)? != 0;
					(Op::AveragePool { kernel, strides, pads, ceil_mode, count_include_pad }, 1)
				}
			}
			"GlobalAveragePool" => (Op::GlobalAveragePool, 1),
			"Softmax" if opset < 13 => (Op::Softmax { axis: axis(node, 1)?, flat: true }, 1),
			"Softmax" => (Op::Softmax { axis: axis(node, -1)?, flat: false }, 1),
			"ArgMax" => {
				if int(node, "select_last_index", 0)? != 0 {
					return Err(what("select_last_index"));
				}
				(Op::ArgMax { axis: axis(node, 0)?, keepdims: int(node, "keepdims", 1)? != 0 }, 1)
			}
			"Reshape" => {
				let shape = b.constant_ints(node, 1)?;
				if int(node, "allowzero", 0)? != 0 && shape.contains(&0) {
					return Err(what("allowzero with a zero dimension"));
				}
				(Op::Reshape { shape }, 1)
			}
			"Flatten" => (Op::Flatten { axis: axis(node, 1)? }, 1),
			"Concat" => (Op::Concat { axis: axis(node, 0)? }, all),
			"Transpose" => {
				let perm = ints(node, "perm")?.unwrap_or_default();
				let perm = perm
					.iter()
					.map(|p| u32::try_from(*p).map_err(|_| what("a negative permutation")))
					.collect::<Result<_, _>>()?;
				(Op::Transpose { perm }, 1)
			}
			other => {
				return Err(unsupported(format!(
					"operator {other} is outside the consensus subset"
				)))
			}
		},
		("ai.onnx.ml", "TreeEnsembleRegressor") => {
			let attributes = crate::ml::tree_attributes(node, "target")
				.map_err(|e| invalid(format!("{e:#}")))?;
			let n_targets =
				usize::try_from(int(node, "n_targets", 1)?).map_err(|_| what("n_targets"))?;
			let e = Ensemble::build(&attributes, n_targets).map_err(|e| invalid(e.to_string()))?;
			(Op::TreeRegressor(e), 1)
		}
		("ai.onnx.ml", "TreeEnsembleClassifier") => {
			if node.get_attr_opt_vec::<String>("classlabels_strings").ok().flatten().is_some() {
				return Err(what("string class labels"));
			}
			let labels: Vec<i64> = ints(node, "classlabels_int64s")?.unwrap_or_default();
			let attributes =
				crate::ml::tree_attributes(node, "class").map_err(|e| invalid(format!("{e:#}")))?;
			let c = Classifier::build(&attributes, labels).map_err(|e| invalid(e.to_string()))?;
			(Op::TreeClassifier(c), 1)
		}
		(domain, op) => {
			return Err(unsupported(format!(
				"operator {domain}.{op} is outside the consensus subset"
			)))
		}
	})
}

/// Compiles an ONNX model into the interpreter's graph, or says why it is
/// outside the consensus subset.
pub fn compile(bytes: &[u8]) -> Result<Graph, Failure> {
	let mut read = bytes;
	let proto = crate::engine::guard(|| {
		tract_onnx::onnx()
			.proto_model_for_read(&mut read)
			.map_err(|e| invalid(format!("not an ONNX model: {e:#}")))
	})?;
	let opset = proto
		.opset_import
		.iter()
		.find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
		.map(|o| o.version)
		.unwrap_or(1);
	let graph = proto.graph.as_ref().ok_or_else(|| invalid("the model has no graph"))?;
	let mut b = Builder {
		graph: Graph {
			version: FORMAT_VERSION,
			inputs: vec![],
			constants: vec![],
			nodes: vec![],
			outputs: vec![],
		},
		values: HashMap::new(),
		initializers: graph.initializer.iter().map(|t| (t.name.as_str(), t)).collect(),
		constant_nodes: HashMap::new(),
		pending: vec![],
		constants: vec![],
		constant_of: HashMap::new(),
	};
	for v in &graph.input {
		if b.initializers.contains_key(v.name.as_str()) {
			continue;
		}
		use tract_onnx::pb::type_proto::Value as T;
		let elem = match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
			Some(T::TensorType(t)) if t.elem_type == DataType::Float as i32 => Elem::F32,
			Some(T::TensorType(t)) if t.elem_type == DataType::Int64 as i32 => Elem::I64,
			_ => return Err(unsupported(format!("input {}: not a float or int64 tensor", v.name))),
		};
		b.values.insert(v.name.as_str(), b.graph.inputs.len() as u32);
		b.graph.inputs.push(Input { name: v.name.as_bytes().to_vec(), elem });
	}
	for node in &graph.node {
		if node.op_type == "Constant" && node.domain.is_empty() {
			let t = node
				.attribute
				.iter()
				.find(|a| a.name == "value")
				.and_then(|a| a.t.clone())
				.ok_or_else(|| {
					unsupported(format!("Constant {}: not a tensor value", node.name))
				})?;
			let name = node.output.first().ok_or_else(|| invalid("a Constant without output"))?;
			b.constant_nodes.insert(name.as_str(), t);
			continue;
		}
		let (op, reads) = op_of(&b, node, opset)?;
		let mut inputs = Vec::with_capacity(reads);
		for name in node.input.iter().take(reads) {
			if name.is_empty() {
				return Err(unsupported(format!(
					"{} {}: an omitted input",
					node.op_type, node.name
				)));
			}
			inputs.push(b.input(name.as_str())?);
		}
		if node.output.len() != op.output_count() {
			return Err(unsupported(format!(
				"{} {}: {} outputs, the interpreter's operator has {}",
				node.op_type,
				node.name,
				node.output.len(),
				op.output_count()
			)));
		}
		// Outputs are named now (numbered below), so later nodes find them.
		for out in &node.output {
			if b.values.insert(out.as_str(), u32::MAX).is_some() || b.constant_tensor(out).is_some()
			{
				return Err(invalid(format!("{out} is defined twice")));
			}
		}
		b.pending.push((op, inputs, node.output.iter().map(String::as_str).collect()));
	}
	// Number the values: inputs, constants, then node outputs in order.
	let mut next = (b.graph.inputs.len() + b.constants.len()) as u32;
	let constants_start = b.graph.inputs.len() as u32;
	for (op, refs, outputs) in std::mem::take(&mut b.pending) {
		let inputs = refs
			.iter()
			.map(|r| match r {
				Ref::Constant(i) => constants_start + i,
				Ref::Name(n) => b.values[n],
			})
			.collect();
		b.graph.nodes.push(Node { op, inputs });
		for out in outputs {
			b.values.insert(out, next);
			next += 1;
		}
	}
	b.graph.constants = std::mem::take(&mut b.constants);
	for v in &graph.output {
		let value = *b.values.get(v.name.as_str()).ok_or_else(|| {
			unsupported(format!("output {}: not computed by a node or an input", v.name))
		})?;
		b.graph.outputs.push(Output { name: v.name.as_bytes().to_vec(), value });
	}
	b.graph.check().map_err(|e| invalid(format!("the compiled graph: {e}")))?;
	Ok(b.graph)
}
