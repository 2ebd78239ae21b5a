//! The operators: their attributes, their shape rules and prices
//! ([`Op::infer`]) and their evaluation ([`Op::eval`]).
//!
//! Each operator is described by [`Op`]; its semantics are ONNX's, for the
//! element types and attribute values listed with it. The compiler refuses
//! everything else, so that a graph never means something other than the
//! ONNX model it was compiled from.

mod elementwise;
mod layout;
mod linear;
mod reduce;

use alloc::{vec, vec::Vec};
use codec::{Decode, DecodeWithMemTracking, Encode};
use scale_info::TypeInfo;

use crate::{
	cost::OpClass,
	error::{Error, Result},
	graph::{Elem, Pads, F32},
	trees::{Classifier, Ensemble},
	value::{Meta, Value},
};

/// Most elements one value may have; larger shapes are refused before any
/// memory is reserved (the caller's memory limit is usually far lower).
pub const MAX_ELEMENTS: u64 = 1 << 28;

/// An operator and its attributes.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, PartialEq, Debug)]
pub enum Op {
	/// `Identity`: its input (any element type).
	Identity,
	/// `Add`, with numpy broadcasting (`f32`, or wrapping `i64`).
	Add,
	/// `Sub`, with numpy broadcasting (`f32`, or wrapping `i64`).
	Sub,
	/// `Mul`, with numpy broadcasting (`f32`, or wrapping `i64`).
	Mul,
	/// `Div`, with numpy broadcasting (`f32`, or `i64` truncating; a zero
	/// divisor is [`Error::DivisionByZero`]).
	Div,
	/// `Relu` (`f32`).
	Relu,
	/// `LeakyRelu` (`f32`).
	LeakyRelu {
		/// Slope below zero.
		alpha: F32,
	},
	/// `Sigmoid` (`f32`), computed from `|x|`.
	Sigmoid,
	/// `Tanh` (`f32`, `libm::tanhf`).
	Tanh,
	/// `Exp` (`f32`, `libm::expf`).
	Exp,
	/// `Log` (`f32`, `libm::logf`).
	Log,
	/// `Sqrt` (`f32`, `libm::sqrtf`).
	Sqrt,
	/// `Clip` (`f32`) with constant bounds.
	Clip {
		/// Lower bound.
		min: Option<F32>,
		/// Upper bound.
		max: Option<F32>,
	},
	/// `Cast` between `f32` and `i64` (`f32` to `i64` truncates, saturates,
	/// and takes NaN to 0).
	Cast {
		/// The element type cast to.
		to: Elem,
	},
	/// `MatMul` (`f32`), numpy semantics: batched, broadcast over the
	/// leading dimensions, 1-D operands promoted and their axis removed.
	/// Each output is a sum over `k` in order, from zero.
	MatMul,
	/// `Gemm` (`f32`): `alpha * A' B' + beta * C`, `C` optional and
	/// broadcast to the product's shape.
	Gemm {
		/// Scale of the product.
		alpha: F32,
		/// Scale of `C`.
		beta: F32,
		/// `A` is transposed.
		trans_a: bool,
		/// `B` is transposed.
		trans_b: bool,
	},
	/// 2-D `Conv` (`f32`, NCHW) with an optional bias; the kernel's size is
	/// the weights' shape.
	Conv {
		/// Vertical and horizontal strides.
		strides: [u32; 2],
		/// Vertical and horizontal dilations.
		dilations: [u32; 2],
		/// Padding.
		pads: Pads,
		/// Groups.
		group: u32,
	},
	/// 2-D `MaxPool` (`f32`, NCHW; padding never wins).
	MaxPool {
		/// Window height and width.
		kernel: [u32; 2],
		/// Vertical and horizontal strides.
		strides: [u32; 2],
		/// Padding.
		pads: Pads,
		/// Output sizes rounded up.
		ceil_mode: bool,
	},
	/// 2-D `AveragePool` (`f32`, NCHW).
	AveragePool {
		/// Window height and width.
		kernel: [u32; 2],
		/// Vertical and horizontal strides.
		strides: [u32; 2],
		/// Padding.
		pads: Pads,
		/// Output sizes rounded up.
		ceil_mode: bool,
		/// Padding counts in the divisor.
		count_include_pad: bool,
	},
	/// `GlobalAveragePool` (`f32`, NCHW).
	GlobalAveragePool,
	/// `Softmax` (`f32`) along `axis`; `flat`: opset < 13's rule, over all
	/// dimensions from `axis` on.
	Softmax {
		/// The axis (negative: from the end).
		axis: i32,
		/// Opset < 13 semantics.
		flat: bool,
	},
	/// `ArgMax` (`f32`) along `axis`, ranking as Verity ranks scores
	/// (`verity_primitives::argmax`: NaN never wins, ties to the lower index).
	ArgMax {
		/// The axis (negative: from the end).
		axis: i32,
		/// The axis stays, of size 1.
		keepdims: bool,
	},
	/// `Reshape` to a constant shape (`0` copies the input's dimension,
	/// `-1` takes what is left).
	Reshape {
		/// The target shape.
		shape: Vec<i64>,
	},
	/// `Flatten` to 2-D at `axis`.
	Flatten {
		/// The axis (negative: from the end).
		axis: i32,
	},
	/// `Concat` along `axis`.
	Concat {
		/// The axis (negative: from the end).
		axis: i32,
	},
	/// `Transpose` (`perm` empty: reverse the axes).
	Transpose {
		/// The permutation.
		perm: Vec<u32>,
	},
	/// ai.onnx.ml `TreeEnsembleRegressor` (`f32` rows).
	TreeRegressor(Ensemble),
	/// ai.onnx.ml `TreeEnsembleClassifier` (`f32` rows, integer labels):
	/// labels `i64 [rows]` and scores `f32 [rows, classes]`.
	TreeClassifier(Classifier),
}

/// What [`Op::infer`] finds out about one node.
pub(crate) struct Step {
	/// Its outputs' types and shapes.
	pub outputs: Vec<Meta>,
	/// Its work, in its class's unit.
	pub work: u64,
	/// Bytes it needs besides its outputs while it runs.
	pub scratch: u64,
}

/// The element count of `shape`, refused beyond [`MAX_ELEMENTS`].
pub(crate) fn count(shape: &[usize]) -> Result<u64> {
	shape
		.iter()
		.try_fold(1u64, |acc, d| acc.checked_mul(*d as u64))
		.filter(|n| *n <= MAX_ELEMENTS)
		.ok_or(Error::TooLarge)
}

/// Axis `axis` of a rank-`rank` value (negative from the end); `inclusive`
/// also allows `rank` itself.
pub(crate) fn axis(axis: i32, rank: usize, inclusive: bool) -> Result<usize> {
	let r = rank as i64;
	let a = i64::from(axis);
	let a = if a < 0 { a + r } else { a };
	let top = if inclusive { r } else { r - 1 };
	if a < 0 || a > top {
		return Err(Error::ShapeMismatch("an axis out of range"));
	}
	Ok(a as usize)
}

fn only(elem: Elem, ins: &[&Meta]) -> Result<()> {
	if ins.iter().any(|m| m.elem != elem) {
		return Err(Error::ShapeMismatch("an operand of the wrong element type"));
	}
	Ok(())
}

impl Op {
	/// Fewest and most inputs.
	pub fn arity(&self) -> (usize, usize) {
		match self {
			Op::Add | Op::Sub | Op::Mul | Op::Div | Op::MatMul => (2, 2),
			Op::Gemm { .. } | Op::Conv { .. } => (2, 3),
			Op::Concat { .. } => (1, usize::MAX),
			_ => (1, 1),
		}
	}

	/// Number of outputs.
	pub fn output_count(&self) -> usize {
		match self {
			Op::TreeClassifier(_) => 2,
			_ => 1,
		}
	}

	/// Parameters the operator carries itself (trees' nodes and weights).
	pub fn parameter_count(&self) -> u64 {
		let trees = |e: &Ensemble| e.nodes.len() as u64 + e.leaves.weights.len() as u64;
		match self {
			Op::TreeRegressor(e) => trees(e),
			Op::TreeClassifier(c) => trees(&c.trees),
			_ => 0,
		}
	}

	/// The class its work is priced in.
	pub fn class(&self) -> OpClass {
		match self {
			Op::MatMul | Op::Gemm { .. } | Op::Conv { .. } => OpClass::Linear,
			Op::Sigmoid | Op::Tanh | Op::Exp | Op::Log | Op::Sqrt | Op::Softmax { .. } => {
				OpClass::Transcendental
			}
			Op::Identity | Op::Reshape { .. } | Op::Flatten { .. } | Op::Concat { .. } => {
				OpClass::Movement
			}
			Op::Transpose { .. } => OpClass::Movement,
			Op::TreeRegressor(_) | Op::TreeClassifier(_) => OpClass::Tree,
			_ => OpClass::Elementwise,
		}
	}

	/// Checks the attributes on their own (shapes come with [`Op::infer`]).
	pub fn check(&self) -> Result<()> {
		let positive = |v: &[u32]| v.iter().all(|x| (1..=1 << 16).contains(x));
		match self {
			Op::Conv { strides, dilations, group, pads } => {
				if !positive(strides) || !positive(dilations) || *group == 0 {
					return Err(Error::Malformed("a convolution's strides, dilations or groups"));
				}
				check_pads(pads)
			}
			Op::MaxPool { kernel, strides, pads, .. }
			| Op::AveragePool { kernel, strides, pads, .. } => {
				if !positive(kernel) || !positive(strides) {
					return Err(Error::Malformed("a pool's kernel or strides"));
				}
				check_pads(pads)
			}
			Op::Transpose { perm } => {
				let mut seen = vec![false; perm.len()];
				for p in perm {
					match seen.get_mut(*p as usize) {
						Some(s) if !*s => *s = true,
						_ => return Err(Error::Malformed("a transpose's permutation")),
					}
				}
				Ok(())
			}
			Op::Reshape { shape } => {
				if shape.iter().any(|d| *d < -1) || shape.iter().filter(|d| **d == -1).count() > 1 {
					return Err(Error::Malformed("a reshape's target shape"));
				}
				Ok(())
			}
			Op::TreeRegressor(e) => e.check(),
			Op::TreeClassifier(c) => c.check(),
			_ => Ok(()),
		}
	}

	/// The outputs' types and shapes for inputs of `ins`, and the price.
	pub(crate) fn infer(&self, ins: &[&Meta]) -> Result<Step> {
		let first = ins.first().ok_or(Error::Malformed("a node without inputs"))?;
		let simple = |outputs: Vec<Meta>, work: u64| Ok(Step { outputs, work, scratch: 0 });
		match self {
			Op::Identity => {
				let out = (*first).clone();
				let bytes = out.bytes();
				simple(vec![out], bytes)
			}
			Op::Add | Op::Sub | Op::Mul | Op::Div => {
				if ins[0].elem != ins[1].elem {
					return Err(Error::ShapeMismatch("operands of different element types"));
				}
				let shape = elementwise::broadcast(&ins[0].shape, &ins[1].shape)?;
				let n = count(&shape)?;
				simple(vec![Meta::new(ins[0].elem, shape)], n)
			}
			Op::Relu
			| Op::LeakyRelu { .. }
			| Op::Sigmoid
			| Op::Tanh
			| Op::Exp
			| Op::Log
			| Op::Sqrt
			| Op::Clip { .. } => {
				only(Elem::F32, ins)?;
				let n = count(&first.shape)?;
				simple(vec![(*first).clone()], n)
			}
			Op::Cast { to } => {
				let n = count(&first.shape)?;
				simple(vec![Meta::new(*to, first.shape.clone())], n)
			}
			Op::MatMul => {
				only(Elem::F32, ins)?;
				let (shape, macs) = linear::matmul_shape(&ins[0].shape, &ins[1].shape)?;
				count(&shape)?;
				simple(vec![Meta::new(Elem::F32, shape)], macs.saturating_mul(2))
			}
			Op::Gemm { trans_a, trans_b, .. } => {
				only(Elem::F32, ins)?;
				let (shape, macs) =
					linear::gemm_shape(ins[0], ins[1], ins.get(2).copied(), *trans_a, *trans_b)?;
				simple(vec![Meta::new(Elem::F32, shape)], macs.saturating_mul(2))
			}
			Op::Conv { strides, dilations, pads, group } => {
				only(Elem::F32, ins)?;
				let (shape, macs) = linear::conv_shape(
					ins[0],
					ins[1],
					ins.get(2).copied(),
					*strides,
					*dilations,
					*pads,
					*group,
				)?;
				count(&shape)?;
				simple(vec![Meta::new(Elem::F32, shape)], macs.saturating_mul(2))
			}
			Op::MaxPool { kernel, strides, pads, ceil_mode }
			| Op::AveragePool { kernel, strides, pads, ceil_mode, .. } => {
				only(Elem::F32, ins)?;
				let g = reduce::pool_geometry(&first.shape, *kernel, *strides, *pads, *ceil_mode)?;
				let shape = vec![first.shape[0], first.shape[1], g.out[0], g.out[1]];
				let n = count(&shape)?;
				simple(
					vec![Meta::new(Elem::F32, shape)],
					n.saturating_mul(u64::from(kernel[0]) * u64::from(kernel[1])),
				)
			}
			Op::GlobalAveragePool => {
				only(Elem::F32, ins)?;
				if first.shape.len() != 4 {
					return Err(Error::ShapeMismatch("a pool's input is not NCHW"));
				}
				let n = count(&first.shape)?;
				simple(vec![Meta::new(Elem::F32, vec![first.shape[0], first.shape[1], 1, 1])], n)
			}
			Op::Softmax { axis: a, .. } => {
				only(Elem::F32, ins)?;
				axis(*a, first.shape.len(), false)?;
				let n = count(&first.shape)?;
				let widest = first.shape.iter().copied().max().unwrap_or(1) as u64;
				Ok(Step { outputs: vec![(*first).clone()], work: n, scratch: 4 * widest })
			}
			Op::ArgMax { axis: a, keepdims } => {
				only(Elem::F32, ins)?;
				let a = axis(*a, first.shape.len(), false)?;
				if first.shape[a] == 0 {
					return Err(Error::ShapeMismatch("an argmax over an empty axis"));
				}
				let mut shape = first.shape.clone();
				if *keepdims {
					shape[a] = 1;
				} else {
					shape.remove(a);
				}
				let n = count(&first.shape)?;
				Ok(Step {
					outputs: vec![Meta::new(Elem::I64, shape)],
					work: n,
					scratch: 8 * first.shape[a] as u64,
				})
			}
			Op::Reshape { shape } => {
				let out = layout::reshape_shape(&first.shape, shape)?;
				let bytes = first.bytes();
				simple(vec![Meta::new(first.elem, out)], bytes)
			}
			Op::Flatten { axis: a } => {
				let a = axis(*a, first.shape.len(), true)?;
				let outer = first.shape[..a].iter().product::<usize>();
				let inner = first.shape[a..].iter().product::<usize>();
				let bytes = first.bytes();
				simple(vec![Meta::new(first.elem, vec![outer, inner])], bytes)
			}
			Op::Concat { axis: a } => {
				let shape = layout::concat_shape(ins, *a)?;
				let n = count(&shape)?;
				let out = Meta::new(first.elem, shape);
				let bytes = n.saturating_mul(first.elem.size() as u64);
				simple(vec![out], bytes)
			}
			Op::Transpose { perm } => {
				let out = layout::transpose_shape(&first.shape, perm)?;
				let bytes = first.bytes();
				simple(vec![Meta::new(first.elem, out)], bytes)
			}
			Op::TreeRegressor(e) => {
				only(Elem::F32, ins)?;
				let rows = tree_rows(e, &first.shape)?;
				let targets = e.n_targets as usize;
				count(&[rows, targets])?;
				Ok(Step {
					outputs: vec![Meta::new(Elem::F32, vec![rows, targets])],
					work: (rows as u64).saturating_mul(e.steps_per_row()),
					scratch: (rows * targets) as u64,
				})
			}
			Op::TreeClassifier(c) => {
				only(Elem::F32, ins)?;
				let rows = tree_rows(&c.trees, &first.shape)?;
				let classes = c.labels.len();
				count(&[rows, classes])?;
				Ok(Step {
					outputs: vec![
						Meta::new(Elem::I64, vec![rows]),
						Meta::new(Elem::F32, vec![rows, classes]),
					],
					work: (rows as u64).saturating_mul(c.trees.steps_per_row()),
					scratch: (rows * classes) as u64,
				})
			}
		}
	}

	/// Evaluates the operator on `ins`, whose shapes [`Op::infer`] accepted.
	pub(crate) fn eval(&self, ins: &[&Value]) -> Result<Vec<Value>> {
		let first = ins.first().ok_or(Error::Malformed("a node without inputs"))?;
		let one = |v: Value| Ok(vec![v]);
		match self {
			Op::Identity => one((*first).clone()),
			Op::Add | Op::Sub | Op::Mul | Op::Div => {
				one(elementwise::binary(self, ins[0], ins[1])?)
			}
			Op::Relu
			| Op::LeakyRelu { .. }
			| Op::Sigmoid
			| Op::Tanh
			| Op::Exp
			| Op::Log
			| Op::Sqrt
			| Op::Clip { .. } => one(elementwise::unary(self, first)?),
			Op::Cast { to } => one(elementwise::cast(first, *to)),
			Op::MatMul => one(linear::matmul(ins[0], ins[1])?),
			Op::Gemm { alpha, beta, trans_a, trans_b } => one(linear::gemm(
				ins[0],
				ins[1],
				ins.get(2).copied(),
				alpha.get(),
				beta.get(),
				*trans_a,
				*trans_b,
			)?),
			Op::Conv { strides, dilations, pads, group } => one(linear::conv(
				ins[0],
				ins[1],
				ins.get(2).copied(),
				*strides,
				*dilations,
				*pads,
				*group,
			)?),
			Op::MaxPool { kernel, strides, pads, ceil_mode } => {
				one(reduce::max_pool(first, *kernel, *strides, *pads, *ceil_mode)?)
			}
			Op::AveragePool { kernel, strides, pads, ceil_mode, count_include_pad } => {
				one(reduce::average_pool(
					first,
					*kernel,
					*strides,
					*pads,
					*ceil_mode,
					*count_include_pad,
				)?)
			}
			Op::GlobalAveragePool => one(reduce::global_average_pool(first)?),
			Op::Softmax { axis, flat } => one(reduce::softmax(first, *axis, *flat)?),
			Op::ArgMax { axis, keepdims } => one(reduce::argmax(first, *axis, *keepdims)?),
			Op::Reshape { shape } => {
				let mut v = (*first).clone();
				v.shape = layout::reshape_shape(&first.shape, shape)?;
				one(v)
			}
			Op::Flatten { .. } => {
				let meta = self.infer(&[&first.meta()])?;
				let mut v = (*first).clone();
				v.shape = meta.outputs[0].shape.clone();
				one(v)
			}
			Op::Concat { axis } => one(layout::concat(ins, *axis)?),
			Op::Transpose { perm } => one(layout::transpose(first, perm)?),
			Op::TreeRegressor(e) => {
				let (rows, scores) = e.eval(first.as_f32()?, &first.shape)?;
				one(Value::f32(vec![rows, e.n_targets as usize], scores))
			}
			Op::TreeClassifier(c) => {
				let (rows, labels, scores) = c.eval(first.as_f32()?, &first.shape)?;
				Ok(vec![
					Value::i64(vec![rows], labels),
					Value::f32(vec![rows, c.labels.len()], scores),
				])
			}
		}
	}
}

fn check_pads(pads: &Pads) -> Result<()> {
	match pads {
		Pads::Explicit(p) if p.iter().any(|x| *x > 1 << 16) => {
			Err(Error::Malformed("padding out of range"))
		}
		_ => Ok(()),
	}
}

/// Rows of a tree ensemble's `[rows, features]` or `[features]` input.
fn tree_rows(e: &Ensemble, shape: &[usize]) -> Result<usize> {
	let (rows, features) = match shape {
		[features] => (1, *features),
		[rows, features] => (*rows, *features),
		_ => return Err(Error::ShapeMismatch("a tree ensemble's input is not 1-D or 2-D")),
	};
	if rows > 0 && features < e.n_features as usize {
		return Err(Error::ShapeMismatch("the trees use more features than a row has"));
	}
	Ok(rows)
}
