//! Operators of tract's optimized plans that profiling showed slow, run by
//! code of ours.
//!
//! After tract optimizes a plan ([`crate::engine`]), [`rewrite`] swaps its
//! slow operators for ours, each keeping tract's operator inside to run the
//! cases ours does not take (other element types, strided tensors):
//!
//! * `OptBinChain` of per-channel steps: what a `BatchNormalization` and a
//!   `Relu` become when no convolution before them can absorb them (every
//!   layer of densenet121). tract's chain applies each step through a kernel
//!   call per block of a channel plane; ours walks each plane once per step
//!   in plain loops the compiler vectorizes. Each step is the same IEEE
//!   operation on the same operands as tract's (`a * b`, then `+ c`, ...; no
//!   fused multiply-add), so results are bit for bit tract's; only `Max` and
//!   `Min` take the non-NaN operand when one is NaN (`f32::max`).
//! * `OptMaxPool` over 2-D `NCHW` planes (every CNN of the benchmark): tract
//!   gathers each window element by element; ours takes, for each output
//!   row, the maximum of the window's input rows with contiguous passes,
//!   then the window maxima along that row. A maximum is exact and ours
//!   compares as tract's does, so results are tract's bit for bit.
//! * `Softmax` over contiguous trailing axes: tract calls three kernels per
//!   row, which dominates short rows (attention's scores: 16 keys). Ours
//!   computes each row in one go, with an `exp` of our own ([`exp`]: a
//!   fixed polynomial in plain IEEE arithmetic), so its results are the same
//!   bits on every machine, where tract's depend on the SIMD kernel the CPU
//!   gets.
//! * `OptMatMul` with an AVX-512 packing: ours (`gemm.rs`) runs it in tiles
//!   of twice as many rows, tract's bits; otherwise, where it is a
//!   convolution whose patches tract would gather again per block of
//!   weights, ours (`im2col.rs`) gathers them once, tract's bits again.
//! * `DepthWiseConv` (`depthwise.rs`) and `OptSumPool` (`avgpool.rs`): flat
//!   passes instead of a walk point by point.
//!
//! Before tract optimizes, [`replace_before_optimizing`] takes the grouped
//! 1 × 1 convolutions, which tract would run as an im2col and a batched
//! product, and the convolutions with a reduction of at most 32 (a first
//! layer), which it would run as products of very short panels
//! (`pointwise.rs`).
//!
//! The rewrite depends only on the plan (model and input shapes) and on
//! whether the CPU has AVX-512, as tract's own choice of kernels does.
//! Where ours keeps tract's bits (`gemm.rs`, `im2col.rs`, the chain, the
//! maximum pool) that changes nothing; the others compute in a fixed order
//! of their own, the same bits on every machine that runs them, and within
//! rounding of tract's (checked against the definition). Floats from two
//! machines are compared with a tolerance anyway (`Tolerance`): tract's
//! kernels differ by CPU.

mod avgpool;
mod depthwise;
mod gemm;
mod im2col;
mod pointwise;

use std::collections::HashMap;

use avgpool::AvgPool2d;
use depthwise::{DepthWise2d, Geometry};
use gemm::WideGemm;
use im2col::GatherOnce;
pub use pointwise::replace as replace_before_optimizing;
use tract_linalg::multithread::BShare;
use tract_onnx::{
	prelude::*,
	tract_core::{
		internal::*,
		ops::{
			binary::OptBinChain,
			cnn::pools::PoolGeometry,
			cnn::Patch,
			cnn::{Conv, OptMaxPool, OptSumPool, PoolSpec},
			matmul::optimized::{MatMulOperand, OptMatMul, ProtoFusedSpec},
			nn::{DataFormat, Softmax, SoftmaxKind},
		},
	},
};

/// What [`rewrite`] needs to know of a model before tract optimizes it: the
/// geometry of its depth-wise convolutions (one filter per channel), by node
/// name, which tract's optimized operator keeps to itself.
#[derive(Debug, Clone, Default)]
pub struct Convolutions(HashMap<String, PoolSpec>);

impl Convolutions {
	/// The depth-wise convolutions of `model` (decluttered, not optimized).
	pub fn of(model: &TypedModel) -> Convolutions {
		let specs = model.nodes.iter().filter_map(|node| {
			let conv = node.op_as::<Conv>()?;
			let spec = &conv.pool_spec;
			let depth_wise = conv.q_params.is_none()
				&& conv.group == spec.input_channels
				&& spec.input_channels == spec.output_channels;
			depth_wise.then(|| (node.name.clone(), spec.clone()))
		});
		Convolutions(specs.collect())
	}
}

/// Swaps the operators of `model` (an optimized plan) that ours run faster;
/// `convolutions` are its depth-wise convolutions, from before it was
/// optimized.
pub fn rewrite(model: &mut TypedModel, convolutions: &Convolutions) -> TractResult<()> {
	for id in 0..model.nodes.len() {
		let node = &model.nodes[id];
		let f32_in = node.inputs.iter().all(|i| {
			model.outlet_fact(*i).map(|f| f.datum_type == f32::datum_type()).unwrap_or(false)
		});
		let op: Option<Box<dyn TypedOp>> = if let Some(chain) = node.op_as::<OptBinChain>() {
			(f32_in && chain.steps.iter().all(|s| s.share == BShare::PerBlock))
				.then(|| {
					chain.steps.iter().map(|s| Step::of(s.linalg_op)).collect::<Option<Vec<_>>>()
				})
				.flatten()
				.map(|steps| Box::new(ChannelChain { steps, inner: chain.clone() }) as _)
		} else if let Some(pool) = node.op_as::<OptMaxPool>() {
			let spec = &pool.pool_spec;
			(f32_in
				&& pool.with_index_outputs.is_none()
				&& spec.data_format == DataFormat::NCHW
				&& spec.kernel_shape.len() == 2
				&& spec.dilations.as_ref().is_none_or(|d| d.iter().all(|d| *d == 1)))
			.then(|| Box::new(MaxPool2d { inner: pool.clone() }) as _)
		} else if let Some(pool) = node.op_as::<OptSumPool>() {
			AvgPool2d::of(pool).filter(|_| f32_in).map(|op| Box::new(op) as _)
		} else if node.op.name() == "DepthWiseConv" {
			let spec = convolutions.0.get(&node.name);
			let shape = node.inputs.first().and_then(|i| model.outlet_fact(*i).ok());
			let shape = shape.and_then(|f| f.shape.as_concrete());
			let geometry = spec.zip(shape).and_then(|(spec, shape)| Geometry::of(spec, shape));
			let inner = node.op.clone();
			geometry
				.filter(|_| f32_in)
				.map(|geometry| Box::new(DepthWise2d { geometry, inner }) as _)
		} else if let Some(product) = node.op_as::<OptMatMul>() {
			let lazy = |i: usize| {
				node.inputs.get(i).is_some_and(|o| model.nodes[o.node].op.name() == "LazyIm2col")
			};
			WideGemm::of(product)
				.map(|op| Box::new(op) as _)
				.or_else(|| GatherOnce::of(product, lazy).map(|op| Box::new(op) as _))
		} else if let Some(softmax) = node.op_as::<Softmax>() {
			(f32_in && softmax.kind == SoftmaxKind::Softmax && softmax.quant_output_dt.is_none())
				.then(|| Box::new(RowSoftmax { inner: softmax.clone() }) as _)
		} else {
			None
		};
		if let Some(op) = op {
			model.nodes[id].op = op;
		}
	}
	Ok(())
}

/// Whether a tensor is `f32` laid out in row-major order. Strides of
/// dimensions of size 1 do not matter (tract gives broadcast operands such
/// as `[1, C, 1, 1]` strides of 1 there).
fn dense_f32(t: &Tensor) -> bool {
	let mut expected = 1;
	t.datum_type() == f32::datum_type()
		&& t.shape().iter().zip(t.strides()).rev().all(|(&dim, &stride)| {
			let ok = dim == 1 || stride == expected;
			expected *= dim as isize;
			ok
		})
}

/// A tensor's contents as a flat slice, if it is [`dense_f32`].
fn flat(t: &Tensor) -> Option<&[f32]> {
	dense_f32(t).then(|| t.try_as_plain_ram().ok()?.as_slice::<f32>().ok()).flatten()
}

/// Runs `f` on a tensor's contents as a flat mutable slice, if it is
/// [`dense_f32`].
fn with_flat_mut<R>(t: &mut Tensor, f: impl FnOnce(&mut [f32]) -> R) -> Option<R> {
	if !dense_f32(t) {
		return None;
	}
	let mut plain = t.try_as_plain_ram_mut().ok()?;
	Some(f(plain.as_slice_mut::<f32>().ok()?))
}

/// An operator of ours: a fast path, and tract's operator (`inner`) for
/// the inputs the fast path does not take.
trait Fast {
	/// The outputs for `inputs`, or `None` (inputs untouched) where the
	/// fast path does not apply. It may take ownership of `inputs`' values
	/// (to work in place) only when it returns outputs.
	fn fast(&self, inputs: &mut TVec<TValue>) -> TractResult<Option<TValue>>;
}

/// tract's operator traits for a [`Fast`] operator `$op` wrapping tract's
/// in its field `inner`.
macro_rules! fast_op {
	($op:ident) => {
		impl Op for $op {
			fn name(&self) -> StaticName {
				stringify!($op).into()
			}

			op_as_typed_op!();
		}

		impl EvalOp for $op {
			op_out_of_plan!();

			fn eval(
				&self,
				ctx: &EvalContext,
				mut inputs: TVec<TValue>,
			) -> TractResult<TVec<TValue>> {
				match self.fast(&mut inputs)? {
					Some(output) => Ok(tvec!(output)),
					None => self.inner.eval(ctx, inputs),
				}
			}
		}

		impl TypedOp for $op {
			fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
				self.inner.output_facts(inputs)
			}

			as_op!();
		}
	};
}

fast_op!(ChannelChain);
fast_op!(MaxPool2d);
fast_op!(RowSoftmax);
fast_op!(GatherOnce);
fast_op!(DepthWise2d);
fast_op!(WideGemm);
fast_op!(AvgPool2d);

/// One step of a [`ChannelChain`]: `a = a op b`, `b` one scalar per block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Step {
	Add,
	Mul,
	Sub,
	/// `b - a`.
	SubFlipped,
	Max,
	Min,
}

impl Step {
	fn of(op: tract_linalg::BinOp) -> Option<Step> {
		use tract_linalg::BinOp;
		Some(match op {
			BinOp::Add => Step::Add,
			BinOp::Mul => Step::Mul,
			BinOp::Sub => Step::Sub,
			BinOp::SubF => Step::SubFlipped,
			BinOp::Max => Step::Max,
			BinOp::Min => Step::Min,
		})
	}

	/// Applies the step to every element of `block` with operand `b`.
	fn apply(self, block: &mut [f32], b: f32) {
		match self {
			Step::Add => block.iter_mut().for_each(|a| *a += b),
			Step::Mul => block.iter_mut().for_each(|a| *a *= b),
			Step::Sub => block.iter_mut().for_each(|a| *a -= b),
			Step::SubFlipped => block.iter_mut().for_each(|a| *a = b - *a),
			Step::Max => block.iter_mut().for_each(|a| *a = a.max(b)),
			Step::Min => block.iter_mut().for_each(|a| *a = a.min(b)),
		}
	}
}

/// tract's `OptBinChain` whose steps all take one scalar per block (a
/// channel plane): see the module's documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ChannelChain {
	steps: Vec<Step>,
	inner: OptBinChain,
}

impl ChannelChain {
	/// The chain over `a` with `operands`, or `None` where it does not apply
	/// (the caller runs tract's).
	fn run(&self, a: &mut Tensor, operands: &[TValue]) -> Option<()> {
		let bs: Vec<&[f32]> = operands.iter().map(|b| flat(b)).collect::<Option<_>>()?;
		let len = a.len();
		let periods: Vec<usize> = bs
			.iter()
			.map(|b| (!b.is_empty() && len.is_multiple_of(b.len())).then(|| len / b.len()))
			.collect::<Option<_>>()?;
		// Blocks of the finest period; a coarser step's scalar covers several.
		let block = periods.iter().copied().min().unwrap_or(len).max(1);
		if periods.iter().any(|p| p % block != 0) {
			return None;
		}
		with_flat_mut(a, |a| {
			for (i, chunk) in a.chunks_mut(block).enumerate() {
				let at = i * block;
				for ((step, b), period) in self.steps.iter().zip(&bs).zip(&periods) {
					step.apply(chunk, b[at / period]);
				}
			}
		})
	}
}

impl Fast for ChannelChain {
	fn fast(&self, inputs: &mut TVec<TValue>) -> TractResult<Option<TValue>> {
		if inputs.len() != self.steps.len() + 1 {
			return Ok(None);
		}
		// Owned, so that a value no other operator reads is changed in place
		// rather than copied.
		let mut a = inputs.remove(0).into_tensor();
		if self.run(&mut a, inputs).is_some() {
			return Ok(Some(a.into_tvalue()));
		}
		inputs.insert(0, a.into_tvalue());
		Ok(None)
	}
}

/// The one product of an optimized `OptMatMul` our products take: `f32`,
/// no batch axes to loop over (tract's trivial path), one kernel, one
/// product of a known `k` read without panel extraction, one store. Its
/// operands and the kernel's packing index.
struct Product<'a> {
	a: &'a MatMulOperand,
	b: &'a MatMulOperand,
	packing: usize,
}

impl Product<'_> {
	fn of(op: &OptMatMul) -> Option<Product<'_>> {
		if !op.trivial_path || op.mmm.len() != 1 || op.c_fact.datum_type != f32::datum_type() {
			return None;
		}
		let mut products = op.micro_ops.iter().filter_map(|o| match o {
			ProtoFusedSpec::AddMatMul { geo, a, b, packings } => Some((geo, a, b, packings)),
			_ => None,
		});
		let (geo, a, b, packings) = products.next()?;
		let [(packing, None)] = packings[..] else { return None };
		let stores = op.micro_ops.iter().filter(|o| matches!(o, ProtoFusedSpec::Store(_)));
		(products.next().is_none() && stores.count() == 1 && geo.k.as_i64().is_some())
			.then_some(Product { a, b, packing })
	}
}

/// A 2-D window as a convolution or a pool slides it over `NCHW` planes:
/// kernel rows and columns, strides, dilations, padding before, and the
/// output's rows and columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Window {
	kh: usize,
	kw: usize,
	sh: usize,
	sw: usize,
	dh: usize,
	dw: usize,
	pt: usize,
	pl: usize,
	oh: usize,
	ow: usize,
}

impl Window {
	/// The window of a concrete patch, if it is 2-D.
	fn of(patch: &Patch) -> Option<Window> {
		let spec = &patch.spec;
		(patch.rank() == 2).then(|| Window {
			kh: spec.kernel_shape[0],
			kw: spec.kernel_shape[1],
			sh: spec.strides[0],
			sw: spec.strides[1],
			dh: spec.dilations[0],
			dw: spec.dilations[1],
			pt: patch.pad_before[0],
			pl: patch.pad_before[1],
			oh: patch.output_shape[0],
			ow: patch.output_shape[1],
		})
	}

	/// Whether the window is dense (no dilation).
	fn undilated(&self) -> bool {
		self.dh == 1 && self.dw == 1
	}
}

/// A pool's input as contiguous `f32` planes of `h × w`, the pool's
/// undilated 2-D window over them and its output's shape: `None` where
/// ours does not take the pool.
struct Planes<'a> {
	x: &'a [f32],
	h: usize,
	w: usize,
	window: Window,
	output_shape: TVec<usize>,
}

impl<'a> Planes<'a> {
	fn of(geometry: &PoolGeometry, input: &'a Tensor) -> TractResult<Option<Planes<'a>>> {
		let Some(x) = flat(input) else { return Ok(None) };
		let geo = geometry.to_concrete(input.shape())?;
		let ish = &geo.input_shape;
		let (h, w) = (ish.hw_dims()[0], ish.hw_dims()[1]);
		let contiguous = *ish.w_stride() == 1 && *ish.h_stride() == w && *ish.c_stride() == h * w;
		let window = Window::of(&geo.patch).filter(|w| w.undilated());
		Ok(window.filter(|_| contiguous).map(|window| Planes {
			x,
			h,
			w,
			window,
			output_shape: geo.output_shape.shape.clone(),
		}))
	}
}

/// tract's `OptMaxPool` over 2-D `NCHW` planes, without index outputs: see
/// the module's documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MaxPool2d {
	inner: OptMaxPool,
}

impl MaxPool2d {
	/// The pool of `input`, or `None` where it does not apply.
	fn run(&self, input: &Tensor) -> TractResult<Option<Tensor>> {
		let Some(planes) = Planes::of(&self.inner.geometry, input)? else { return Ok(None) };
		let mut out = Tensor::zero::<f32>(&planes.output_shape)?;
		if planes.window.ow == 0 || planes.window.oh == 0 {
			return Ok(Some(out));
		}
		with_flat_mut(&mut out, |y| pool(&planes, y))
			.ok_or_else(|| format_err!("pool output not contiguous"))?;
		Ok(Some(out))
	}
}

/// Pools `planes` into `y` (the maximum of each window).
fn pool(planes: &Planes, y: &mut [f32]) {
	let Planes { x, h, w, window: Window { kh, kw, sh, sw, pt, pl, oh, ow, .. }, .. } = *planes;
	// The maximum over the window's rows, for each column of the input,
	// padded with the pool's neutral value on both sides so that every
	// window lies inside it.
	let padded = (ow - 1) * sw + kw;
	let mut rows = vec![f32::MIN; padded.max(pl + w)];
	// The maximum of `rows` at each window start.
	let starts = padded + 1 - kw;
	let mut windows = vec![f32::MIN; starts];
	for (plane, out_plane) in x.chunks_exact(h * w).zip(y.chunks_exact_mut(oh * ow)) {
		for (oy, out_row) in out_plane.chunks_exact_mut(ow).enumerate() {
			let column = &mut rows[pl..pl + w];
			column.fill(f32::MIN);
			for ky in 0..kh {
				let Some(iy) = (oy * sh + ky).checked_sub(pt).filter(|iy| *iy < h) else {
					continue;
				};
				for (m, v) in column.iter_mut().zip(&plane[iy * w..(iy + 1) * w]) {
					*m = larger(*m, *v);
				}
			}
			windows.copy_from_slice(&rows[..starts]);
			for kx in 1..kw {
				for (m, v) in windows.iter_mut().zip(&rows[kx..kx + starts]) {
					*m = larger(*m, *v);
				}
			}
			for (ox, o) in out_row.iter_mut().enumerate() {
				*o = windows[ox * sw];
			}
		}
	}
}

/// tract's comparison for a pool's maximum: `v` replaces `m` only if it is
/// greater (a NaN never does), so that ours picks what tract's would.
fn larger(m: f32, v: f32) -> f32 {
	if v > m {
		v
	} else {
		m
	}
}

impl Fast for MaxPool2d {
	fn fast(&self, inputs: &mut TVec<TValue>) -> TractResult<Option<TValue>> {
		match &inputs[..] {
			[input] => Ok(self.run(input)?.map(Tensor::into_tvalue)),
			_ => Ok(None),
		}
	}
}

/// tract's `Softmax` over contiguous trailing axes of an `f32` tensor: see
/// the module's documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RowSoftmax {
	inner: Softmax,
}

impl RowSoftmax {
	/// The length of the rows the softmax normalizes, if its axes are the
	/// trailing ones of a tensor of this rank.
	fn row_len(&self, shape: &[usize]) -> Option<usize> {
		let mut axes = self.inner.axes.to_vec();
		axes.sort_unstable();
		let rank = shape.len();
		let trailing = !axes.is_empty()
			&& axes.len() <= rank
			&& axes.iter().enumerate().all(|(i, a)| *a == rank - axes.len() + i);
		trailing.then(|| axes.iter().map(|a| shape[*a]).product())
	}
}

/// `e^x` in `f32` from plain IEEE operations (no platform math library, no
/// fused multiply-add), so that it returns the same bits on every machine:
/// `x = n ln 2 + r` with `|r| <= ln 2 / 2` (`ln 2` split in two parts so
/// that `r` is exact), Cephes' degree-5 polynomial for `e^r` (within about
/// one unit in the last place), then the power of two put in the exponent.
/// Below the smallest normal result it returns 0, above the largest
/// infinity, NaN for NaN. Written without branches, so that a loop over it
/// vectorizes (the same operations on each lane: the same bits).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
	const LOG2E: f32 = std::f32::consts::LOG2_E;
	const LN2_HI: f32 = 0.693_359_4;
	const LN2_LO: f32 = -2.121_944_4e-4;
	const LOW: f32 = -87.336_55;
	const HIGH: f32 = 88.722_83;
	// (A NaN is answered below; 0 keeps the arithmetic in range.)
	let c = if x.is_nan() { 0.0 } else { x.clamp(LOW, HIGH) };
	// floor(c * log2(e) + 1/2), by truncation and a correction below zero.
	let t = c * LOG2E + 0.5;
	// SAFETY: `t` is finite and within [-126, 129]: `c` is clamped above.
	// (The unchecked conversion is what lets a loop over `exp` vectorize.)
	let n: i32 = unsafe { t.to_int_unchecked() };
	let n = n - i32::from(t < n as f32);
	let nf = n as f32;
	let r = c - nf * LN2_HI - nf * LN2_LO;
	let mut p = 1.987_569_1e-4_f32;
	p = p * r + 1.398_199_9e-3;
	p = p * r + 8.333_452e-3;
	p = p * r + 4.166_579_6e-2;
	p = p * r + 1.666_666_5e-1;
	p = p * r + 0.5;
	let e = p * (r * r) + r + 1.0;
	// `n` is in [-126, 128]: the scale is two normal powers of two, so that
	// 2^128 (reached only through rounding) does not overflow on its own.
	let half = n / 2;
	let scaled = e
		* f32::from_bits(((half + 127) as u32) << 23)
		* f32::from_bits(((n - half + 127) as u32) << 23);
	if x < LOW {
		0.0
	} else if x > HIGH {
		f32::INFINITY
	} else if x.is_nan() {
		x
	} else {
		scaled
	}
}

impl Fast for RowSoftmax {
	fn fast(&self, inputs: &mut TVec<TValue>) -> TractResult<Option<TValue>> {
		let len = match &inputs[..] {
			[input] => self.row_len(input.shape()).filter(|l| *l > 0),
			_ => None,
		};
		let Some(len) = len else { return Ok(None) };
		let mut t = inputs.remove(0).into_tensor();
		if with_flat_mut(&mut t, |data| softmax_rows(data, len)).is_some() {
			return Ok(Some(t.into_tvalue()));
		}
		inputs.push(t.into_tvalue());
		Ok(None)
	}
}

/// Normalizes each row of `len` of `data` in place ([`softmax_row`]), with
/// AVX-512 where the CPU has it: the same operations on each element, so
/// the same bits, sixteen at a time.
fn softmax_rows(data: &mut [f32], len: usize) {
	#[cfg(target_arch = "x86_64")]
	if std::arch::is_x86_feature_detected!("avx512f") {
		#[target_feature(enable = "avx512f")]
		fn rows(data: &mut [f32], len: usize) {
			for row in data.chunks_exact_mut(len) {
				softmax_row(row);
			}
		}
		// SAFETY: the CPU has AVX-512 (checked above).
		return unsafe { rows(data, len) };
	}
	for row in data.chunks_exact_mut(len) {
		softmax_row(row);
	}
}

/// Normalizes one row in place: `e^(x - max) / sum`. The maximum and the
/// sum run in eight lanes (element `i` in lane `i % 8`, each lane in row
/// order, the lanes then added pairwise), so that neither is one long
/// chain of dependent operations; the order is fixed, so are the bits.
#[inline(always)]
fn softmax_row(row: &mut [f32]) {
	const LANES: usize = 8;
	let mut lanes = [f32::NEG_INFINITY; LANES];
	for chunk in row.chunks(LANES) {
		for (m, v) in lanes.iter_mut().zip(chunk) {
			*m = m.max(*v);
		}
	}
	let max = lanes.iter().copied().fold(f32::NEG_INFINITY, f32::max);
	row.iter_mut().for_each(|v| *v = exp(*v - max));
	let mut lanes = [0f32; LANES];
	for chunk in row.chunks(LANES) {
		for (s, v) in lanes.iter_mut().zip(chunk) {
			*s += v;
		}
	}
	let [a, b, c, d, e, f, g, h] = lanes;
	let sum = ((a + b) + (c + d)) + ((e + f) + (g + h));
	let scale = 1.0 / sum;
	row.iter_mut().for_each(|v| *v *= scale);
}

#[cfg(test)]
mod tests {
	use super::*;
	use tract_onnx::tract_core::ops::{
		cnn::{Conv, KernelFormat, MaxPool, PaddingSpec, PoolSpec, SumPool},
		math,
	};

	/// A seeded input with every kind of value a pool or a chain meets:
	/// positive, negative, ties, zeros of both signs.
	fn input(shape: &[usize], seed: u32) -> Tensor {
		let len: usize = shape.iter().product();
		let data: Vec<f32> = (0..len as u32)
			.map(|i| {
				let h = (i ^ seed).wrapping_mul(2_654_435_761).rotate_left(13);
				match h % 11 {
					0 => 0.0,
					1 => -0.0,
					2 => 1.5,
					_ => (h % 2001) as f32 / 100.0 - 10.0,
				}
			})
			.collect();
		Tensor::from_shape(shape, &data).unwrap()
	}

	/// `model` optimized and run as tract runs it, then with [`rewrite`]:
	/// both outputs, and how many operators the rewrite swapped.
	fn both_ways(model: TypedModel, x: &Tensor) -> (Tensor, Tensor, usize) {
		// Ours as the engine plans: replaced before optimizing, rewritten
		// after.
		let mut decluttered = model.clone().into_decluttered().unwrap();
		let convolutions = Convolutions::of(&decluttered);
		replace_before_optimizing(&mut decluttered).unwrap();
		let mut ours = decluttered.into_optimized().unwrap();
		rewrite(&mut ours, &convolutions).unwrap();
		let optimized = model.into_optimized().unwrap();
		let swapped = ours
			.nodes
			.iter()
			.filter(|n| {
				[
					"ChannelChain",
					"MaxPool2d",
					"AvgPool2d",
					"RowSoftmax",
					"GatherOnce",
					"DepthWise2d",
					"WideGemm",
					"GroupedPointwise",
				]
				.contains(&&*n.op.name())
			})
			.count();
		let run = |m: TypedModel| {
			m.into_runnable().unwrap().run(tvec!(x.clone().into_tvalue())).unwrap()[0]
				.clone()
				.into_tensor()
		};
		(run(optimized), run(ours), swapped)
	}

	fn bits(t: &Tensor) -> Vec<u32> {
		flat(t).unwrap().iter().map(|v| v.to_bits()).collect()
	}

	#[test]
	fn max_pools_are_tracts_bit_for_bit() {
		let cases: Vec<([usize; 4], [usize; 2], [usize; 2], PaddingSpec)> = vec![
			([1, 3, 9, 11], [3, 3], [2, 2], PaddingSpec::Valid),
			([2, 4, 12, 12], [3, 3], [2, 2], PaddingSpec::Explicit(tvec![1, 1], tvec![1, 1])),
			(
				[1, 2, 13, 13],
				[3, 3],
				[2, 2],
				PaddingSpec::ExplicitOnnxPool(tvec![0, 0], tvec![0, 0], true),
			),
			([1, 2, 10, 7], [2, 2], [2, 2], PaddingSpec::Valid),
			([1, 5, 8, 9], [3, 2], [1, 3], PaddingSpec::SameUpper),
			([1, 1, 6, 6], [5, 5], [1, 1], PaddingSpec::Explicit(tvec![2, 1], tvec![0, 2])),
			([1, 2, 7, 5], [1, 1], [2, 2], PaddingSpec::Valid),
		];
		for (i, (shape, kernel, strides, padding)) in cases.into_iter().enumerate() {
			let mut model = TypedModel::default();
			let x = model.add_source("x", f32::fact(shape)).unwrap();
			let spec = PoolSpec {
				data_format: DataFormat::NCHW,
				kernel_shape: kernel[..].into(),
				padding,
				dilations: None,
				strides: Some(strides[..].into()),
				input_channels: shape[1],
				output_channels: shape[1],
			};
			let y = model.wire_node("pool", MaxPool::new(spec, None), &[x]).unwrap();
			model.select_output_outlets(&y).unwrap();
			let (theirs, ours, swapped) = both_ways(model, &input(&shape, i as u32));
			assert_eq!(swapped, 1, "case {i}: the pool was not swapped");
			assert_eq!(theirs.shape(), ours.shape(), "case {i}");
			assert_eq!(bits(&theirs), bits(&ours), "case {i}");
		}
	}

	#[test]
	fn a_per_channel_chain_is_tracts_bit_for_bit() {
		// BatchNormalization then Relu, as densenet has them before each
		// convolution: `x * scale + shift`, then `max(., 0)`, per channel.
		// (tract chains the steps of one image's large enough planes; small
		// planes and a batch of two it runs as other operators, which ours
		// does not take: those cases check that the rewrite leaves them.)
		for (i, shape) in
			[[1, 6, 7, 7], [1, 3, 4, 5], [1, 16, 14, 14], [2, 3, 4, 5]].into_iter().enumerate()
		{
			let c = shape[1];
			let mut model = TypedModel::default();
			let x = model.add_source("x", f32::fact(shape)).unwrap();
			let scale = model.add_const("scale", input(&[1, c, 1, 1], 7)).unwrap();
			let shift = model.add_const("shift", input(&[1, c, 1, 1], 9)).unwrap();
			let zero = model.add_const("zero", tensor4(&[[[[0f32]]]])).unwrap();
			let m = model.wire_node("mul", math::mul(), &[x, scale]).unwrap();
			let a = model.wire_node("add", math::add(), &[m[0], shift]).unwrap();
			let r = model.wire_node("relu", math::max(), &[a[0], zero]).unwrap();
			model.select_output_outlets(&r).unwrap();
			let (theirs, ours, swapped) = both_ways(model, &input(&shape, 3));
			if shape[0] == 1 && shape[2] >= 7 {
				assert_eq!(swapped, 1, "case {i}: the chain was not swapped");
			}
			assert_eq!(bits(&theirs), bits(&ours), "case {i}");
		}
	}

	#[test]
	fn softmax_rows_agree_with_the_definition() {
		let cases: [(&[usize], usize); 3] =
			[(&[8, 4, 16, 16], 3), (&[2, 1000], 1), (&[3, 5, 7], 2)];
		for (i, (shape, axis)) in cases.iter().enumerate() {
			let mut model = TypedModel::default();
			let x = model.add_source("x", f32::fact(*shape)).unwrap();
			let op =
				Softmax { axes: tvec![*axis], quant_output_dt: None, kind: SoftmaxKind::Softmax };
			let y = model.wire_node("softmax", op, &[x]).unwrap();
			model.select_output_outlets(&y).unwrap();
			let x = input(shape, 5);
			let (theirs, ours, swapped) = both_ways(model, &x);
			assert_eq!(swapped, 1, "case {i}: the softmax was not swapped");
			let row = shape[*axis];
			let xs = flat(&x).unwrap();
			let (t, o) = (flat(&theirs).unwrap(), flat(&ours).unwrap());
			for (r, chunk) in xs.chunks(row).enumerate() {
				let max = chunk.iter().copied().fold(f32::MIN, f32::max) as f64;
				let sum: f64 = chunk.iter().map(|v| (*v as f64 - max).exp()).sum();
				for (j, v) in chunk.iter().enumerate() {
					let exact = (*v as f64 - max).exp() / sum;
					let at = r * row + j;
					let (ours, theirs) = (o[at] as f64, t[at] as f64);
					// Relative to the value, 4e-6: `x - max` is rounded to
					// f32 before the exponential, by ours, tract's and
					// onnxruntime's alike.
					let close = |v: f64| (v - exact).abs() <= 4e-6 * exact + 1e-9;
					assert!(close(ours), "case {i} at {at}: {ours} vs {exact}");
					assert!(close(theirs), "case {i} at {at}: tract {theirs} vs {exact}");
				}
			}
		}
	}

	/// How many products this thread ran through [`GatherOnce`] or
	/// [`WideGemm`].
	fn fast_products() -> usize {
		im2col::GATHERED.with(|g| g.get()) + gemm::WIDE.with(|w| w.get())
	}

	/// A convolution of `x_shape` into `co` channels with a bias, then (if
	/// `residual`) plus a 1 x 1 convolution of the input, then a `Relu`;
	/// seeded weights.
	fn conv_model(x_shape: [usize; 4], co: usize, kernel: usize, residual: bool) -> TypedModel {
		let ci = x_shape[1];
		let mut model = TypedModel::default();
		let x = model.add_source("x", f32::fact(x_shape)).unwrap();
		let w_shape = [co, ci, kernel, kernel];
		let w: Vec<f32> = flat(&input(&w_shape, 31)).unwrap().iter().map(|v| v / 64.0).collect();
		let w = model.add_const("w", Tensor::from_shape(&w_shape, &w).unwrap()).unwrap();
		let bias = model.add_const("b", input(&[co], 5)).unwrap();
		let pad = kernel / 2;
		let spec = PoolSpec {
			data_format: DataFormat::NCHW,
			kernel_shape: tvec![kernel, kernel],
			padding: PaddingSpec::Explicit(tvec![pad, pad], tvec![pad, pad]),
			dilations: None,
			strides: None,
			input_channels: ci,
			output_channels: co,
		};
		let conv =
			Conv { pool_spec: spec, kernel_fmt: KernelFormat::OIHW, group: 1, q_params: None };
		let mut y = model.wire_node("conv", conv, &[x, w, bias]).unwrap()[0];
		if residual {
			y = model.wire_node("residual", math::add(), &[y, x]).unwrap()[0];
		}
		let zero = model.add_const("zero", tensor4(&[[[[0f32]]]])).unwrap();
		let r = model.wire_node("relu", math::max(), &[y, zero]).unwrap();
		model.select_output_outlets(&r).unwrap();
		model
	}

	#[test]
	fn products_in_wide_tiles_are_tracts_bit_for_bit() {
		// Left panels in pairs and one alone, right panels cut short at the
		// edge, bias and Relu in registers; a 1 x 1 convolution (eager
		// patches) plus another (the sum fused into one product); a long
		// reduction (left panels in several blocks, patches gathered up
		// front).
		let cases = [
			([1, 64, 9, 10], 48, 3, false),
			([1, 128, 28, 28], 128, 1, true),
			([1, 512, 14, 14], 96, 3, false),
		];
		for (i, (shape, co, kernel, residual)) in cases.into_iter().enumerate() {
			let before = gemm::WIDE.with(|w| w.get());
			let x = input(&shape, 40 + i as u32);
			let (theirs, ours, _) = both_ways(conv_model(shape, co, kernel, residual), &x);
			if !gemm::avx512() {
				continue;
			}
			assert!(gemm::WIDE.with(|w| w.get()) > before, "case {i}: not in wide tiles");
			assert_eq!(theirs.shape(), ours.shape(), "case {i}");
			assert_eq!(bits(&theirs), bits(&ours), "case {i}");
			// On two threads (each walking half of the right panels), the
			// same bits.
			use tract_linalg::multithread::{multithread_tract_scope, Executor};
			let model = conv_model(shape, co, kernel, residual);
			let (_, two, _) = multithread_tract_scope(Executor::multithread(2), || {
				tract_linalg::multithread::set_threading_mac_threshold(0);
				both_ways(model, &x)
			});
			assert_eq!(bits(&two), bits(&ours), "case {i}: two threads");
		}
	}

	#[test]
	fn convolutions_gathered_once_are_tracts_bit_for_bit() {
		// (input shape, output channels, kernel, strides, group, run by
		// ours): weights over a MiB (gathered because tract would gather
		// again per block), few patches (gathered because they fit), patches
		// too many for small weights (with tract's 16 x 12 kernel, run in
		// wide tiles, a patch panel gathered as the walk reaches it), and a
		// grouped convolution (a product per group, which tract keeps).
		let cases: [([usize; 4], usize, [usize; 2], [usize; 2], usize, Option<bool>); 4] = [
			([1, 256, 7, 7], 512, [3, 3], [1, 1], 1, Some(true)),
			([1, 8, 31, 29], 16, [3, 3], [2, 2], 1, Some(true)),
			([1, 64, 120, 120], 16, [3, 3], [1, 1], 1, Some(true)),
			([1, 8, 9, 9], 8, [3, 3], [1, 1], 2, None),
		];
		for (i, (shape, co, kernel, strides, group, gathered)) in cases.into_iter().enumerate() {
			let ci = shape[1];
			let mut model = TypedModel::default();
			let x = model.add_source("x", f32::fact(shape)).unwrap();
			let w_shape = [co, ci / group, kernel[0], kernel[1]];
			// Small weights, so that the sums stay in range and every bit
			// counts.
			let w: Vec<f32> =
				flat(&input(&w_shape, 11 + i as u32)).unwrap().iter().map(|v| v / 64.0).collect();
			let w = model.add_const("w", Tensor::from_shape(&w_shape, &w).unwrap()).unwrap();
			let bias = model.add_const("b", input(&[co], 5)).unwrap();
			let spec = PoolSpec {
				data_format: DataFormat::NCHW,
				kernel_shape: kernel[..].into(),
				padding: PaddingSpec::Explicit(tvec![1, 1], tvec![1, 1]),
				dilations: None,
				strides: Some(strides[..].into()),
				input_channels: ci,
				output_channels: co,
			};
			let conv =
				Conv { pool_spec: spec, kernel_fmt: KernelFormat::OIHW, group, q_params: None };
			let y = model.wire_node("conv", conv, &[x, w, bias]).unwrap();
			let zero = model.add_const("zero", tensor4(&[[[[0f32]]]])).unwrap();
			let r = model.wire_node("relu", math::max(), &[y[0], zero]).unwrap();
			model.select_output_outlets(&r).unwrap();
			let before = fast_products();
			let (theirs, ours, swapped) = both_ways(model, &input(&shape, i as u32));
			let runs_gathered = fast_products() > before;
			assert_eq!(swapped, gathered.is_some() as usize, "case {i}: swapped or not");
			assert_eq!(runs_gathered, gathered == Some(true), "case {i}: ours or not");
			assert_eq!(theirs.shape(), ours.shape(), "case {i}");
			assert_eq!(bits(&theirs), bits(&ours), "case {i}");
		}
	}

	#[test]
	fn depth_wise_convolutions_agree_with_the_definition() {
		// (input shape, kernel, strides, pads before, pads after)
		let cases: [([usize; 4], [usize; 2], [usize; 2], [usize; 2], [usize; 2]); 6] = [
			([1, 6, 9, 9], [3, 3], [1, 1], [1, 1], [1, 1]),
			([1, 4, 12, 11], [3, 3], [2, 2], [1, 1], [1, 1]),
			([2, 3, 7, 7], [3, 3], [1, 1], [1, 1], [1, 1]),
			([1, 5, 10, 8], [5, 3], [2, 1], [2, 0], [1, 2]),
			([1, 2, 4, 4], [3, 3], [3, 3], [0, 0], [0, 0]),
			([1, 3, 2, 3], [3, 3], [1, 2], [2, 2], [2, 2]),
		];
		for (i, (shape, kernel, strides, before, after)) in cases.into_iter().enumerate() {
			let c = shape[1];
			let conv = Reference::new(shape, c, c, kernel, strides, [before, after], i as u32);
			let (theirs, ours, swapped) = both_ways(conv.model(), &conv.x);
			assert_eq!(swapped, 1, "case {i}: the convolution was not swapped");
			assert_eq!(theirs.shape(), ours.shape(), "case {i}");
			conv.check(&ours, &theirs, i);
		}
	}

	#[test]
	fn average_pools_agree_with_the_definition() {
		// (input, kernel, strides, padding before, after): the padding not
		// counted, as ONNX's AveragePool by default.
		let cases: [([usize; 4], [usize; 2], [usize; 2], [usize; 2], [usize; 2]); 5] = [
			([1, 4, 9, 9], [3, 3], [1, 1], [1, 1], [1, 1]),
			([2, 3, 12, 11], [3, 3], [2, 2], [0, 0], [1, 1]),
			([1, 2, 7, 8], [5, 3], [1, 2], [2, 1], [2, 1]),
			([1, 3, 4, 4], [2, 2], [2, 2], [0, 0], [0, 0]),
			([1, 1, 3, 5], [3, 3], [3, 1], [2, 2], [2, 2]),
		];
		for (i, (shape, kernel, strides, before, after)) in cases.into_iter().enumerate() {
			let mut model = TypedModel::default();
			let x = model.add_source("x", f32::fact(shape)).unwrap();
			let spec = PoolSpec {
				data_format: DataFormat::NCHW,
				kernel_shape: kernel[..].into(),
				padding: PaddingSpec::Explicit(before[..].into(), after[..].into()),
				dilations: None,
				strides: Some(strides[..].into()),
				input_channels: shape[1],
				output_channels: shape[1],
			};
			let pool = SumPool { pool_spec: spec, count_include_pad: false, normalize: true };
			let y = model.wire_node("pool", pool, &[x]).unwrap();
			model.select_output_outlets(&y).unwrap();
			let x = input(&shape, 50 + i as u32);
			let (theirs, ours, swapped) = both_ways(model, &x);
			assert_eq!(swapped, 1, "case {i}: the pool was not swapped");
			assert_eq!(theirs.shape(), ours.shape(), "case {i}");
			let (xs, (oh, ow)) = (flat(&x).unwrap(), (ours.shape()[2], ours.shape()[3]));
			for (at, (ours, theirs)) in
				flat(&ours).unwrap().iter().zip(flat(&theirs).unwrap()).enumerate()
			{
				let (plane, oy, ox) = (at / (oh * ow), at / ow % oh, at % ow);
				let (mut sum, mut scale, mut count) = (0f64, 0f64, 0);
				for ky in 0..kernel[0] {
					for kx in 0..kernel[1] {
						let iy = (oy * strides[0] + ky) as isize - before[0] as isize;
						let ix = (ox * strides[1] + kx) as isize - before[1] as isize;
						if iy < 0 || ix < 0 || iy >= shape[2] as isize || ix >= shape[3] as isize {
							continue;
						}
						let v =
							xs[(plane * shape[2] + iy as usize) * shape[3] + ix as usize] as f64;
						sum += v;
						scale += v.abs();
						count += 1;
					}
				}
				let exact = sum / count as f64;
				let tolerance = 1e-6 * scale / count as f64 + 1e-12;
				assert!(
					(*ours as f64 - exact).abs() <= tolerance,
					"case {i} at {at}: {ours} vs {exact}"
				);
				assert!((*theirs as f64 - exact).abs() <= tolerance, "case {i} at {at}: tract");
			}
		}
	}

	#[test]
	fn softmax_is_the_same_bits_with_and_without_avx512() {
		let data: Vec<f32> = flat(&input(&[7, 37], 9)).unwrap().to_vec();
		let mut wide = data.clone();
		softmax_rows(&mut wide, 37);
		let mut baseline = data;
		for row in baseline.chunks_exact_mut(37) {
			softmax_row(row);
		}
		let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
		assert_eq!(bits(&wide), bits(&baseline));
	}

	#[test]
	fn direct_convolutions_agree_with_the_definition() {
		// (input, output channels, groups, kernel, strides, pads before and
		// after): grouped 1 x 1 (pixels not a multiple of the tile's 64,
		// outputs per group not a multiple of its 4, two images); ungrouped
		// with a short reduction, strided and padded (squeezenet's first
		// layer), unpadded, and 1 x 1 strided.
		type Case = ([usize; 4], usize, usize, [usize; 2], [usize; 2], [usize; 2]);
		let cases: [Case; 6] = [
			([1, 24, 7, 9], 112, 4, [1, 1], [1, 1], [0, 0]),
			([2, 12, 10, 10], 18, 3, [1, 1], [1, 1], [0, 0]),
			([1, 8, 1, 70], 8, 2, [1, 1], [1, 1], [0, 0]),
			([1, 3, 23, 21], 10, 1, [3, 3], [2, 2], [1, 1]),
			([2, 2, 9, 11], 5, 1, [3, 5], [1, 2], [0, 0]),
			([1, 16, 9, 9], 8, 1, [1, 1], [2, 2], [0, 0]),
		];
		for (i, (shape, co, group, kernel, strides, pads)) in cases.into_iter().enumerate() {
			let conv =
				Reference::new(shape, co, group, kernel, strides, [pads, pads], 40 + i as u32);
			let before = pointwise::DIRECT.with(|d| d.get());
			let (theirs, ours, _) = both_ways(conv.model(), &conv.x);
			let direct = pointwise::DIRECT.with(|d| d.get()) > before;
			if gemm::avx512() && (group > 1 || kernel != [1, 1]) {
				assert!(direct, "case {i}: not computed directly");
			}
			assert_eq!(theirs.shape(), ours.shape(), "case {i}");
			conv.check(&ours, &theirs, i);
		}
	}

	#[test]
	fn a_convolution_whose_patches_would_be_too_large_keeps_tracts_lowering() {
		// 3 channels x 3 x 3 over 800 x 800 pixels: 69 MB of patches, over
		// `MAX_GATHERED`, where tract's lazy panels need one panel.
		let conv = Reference::new([1, 3, 802, 802], 1, 1, [3, 3], [1, 1], [[0, 0], [0, 0]], 7);
		let before = pointwise::DIRECT.with(|d| d.get());
		let (theirs, ours, _) = both_ways(conv.model(), &conv.x);
		assert_eq!(pointwise::DIRECT.with(|d| d.get()), before, "computed directly");
		assert_eq!(bits(&theirs), bits(&ours));
	}

	/// A 2-D convolution by its definition, in `f64`: seeded image `x`,
	/// kernel `w` (`OIHW`) and bias `b`, zero padding `pads` (before,
	/// after).
	struct Reference {
		x: Tensor,
		w: Tensor,
		b: Tensor,
		group: usize,
		strides: [usize; 2],
		pads: [[usize; 2]; 2],
	}

	impl Reference {
		fn new(
			shape: [usize; 4],
			co: usize,
			group: usize,
			kernel: [usize; 2],
			strides: [usize; 2],
			pads: [[usize; 2]; 2],
			seed: u32,
		) -> Reference {
			let w = input(&[co, shape[1] / group, kernel[0], kernel[1]], 21 + seed);
			let (x, b) = (input(&shape, 3 + seed), input(&[co], 23));
			Reference { x, w, b, group, strides, pads }
		}

		/// The convolution as a model of one input.
		fn model(&self) -> TypedModel {
			let mut model = TypedModel::default();
			let x = model.add_source("x", f32::fact(self.x.shape())).unwrap();
			let w = model.add_const("w", self.w.clone()).unwrap();
			let b = model.add_const("b", self.b.clone()).unwrap();
			let spec = PoolSpec {
				data_format: DataFormat::NCHW,
				kernel_shape: self.w.shape()[2..].into(),
				padding: PaddingSpec::Explicit(self.pads[0][..].into(), self.pads[1][..].into()),
				dilations: None,
				strides: Some(self.strides[..].into()),
				input_channels: self.x.shape()[1],
				output_channels: self.w.shape()[0],
			};
			let group = self.group;
			let conv =
				Conv { pool_spec: spec, kernel_fmt: KernelFormat::OIHW, group, q_params: None };
			let y = model.wire_node("conv", conv, &[x, w, b]).unwrap();
			model.select_output_outlets(&y).unwrap();
			model
		}

		/// Checks that `ours` and `theirs` (tract's) are the definition
		/// within a few roundings of each output's terms' magnitudes.
		fn check(&self, ours: &Tensor, theirs: &Tensor, case: usize) {
			let (xs, ws, bs) =
				(flat(&self.x).unwrap(), flat(&self.w).unwrap(), flat(&self.b).unwrap());
			let (shape, kernel) = (self.x.shape(), &self.w.shape()[2..]);
			let (ci, co, oh, ow) = (shape[1], ours.shape()[1], ours.shape()[2], ours.shape()[3]);
			let per_group = ci / self.group;
			let outputs = flat(ours).unwrap().iter().zip(flat(theirs).unwrap()).enumerate();
			for (at, (ours, theirs)) in outputs {
				let (image, o, oy, ox) =
					(at / (co * oh * ow), at / (oh * ow) % co, at / ow % oh, at % ow);
				let g = o / (co / self.group);
				let (mut exact, mut scale) = (bs[o] as f64, (bs[o] as f64).abs());
				for c in 0..per_group {
					for ky in 0..kernel[0] {
						for kx in 0..kernel[1] {
							let iy = (oy * self.strides[0] + ky).checked_sub(self.pads[0][0]);
							let ix = (ox * self.strides[1] + kx).checked_sub(self.pads[0][1]);
							let (Some(iy), Some(ix)) = (iy, ix) else { continue };
							if iy >= shape[2] || ix >= shape[3] {
								continue;
							}
							let plane = image * ci + g * per_group + c;
							let v = xs[(plane * shape[2] + iy) * shape[3] + ix] as f64;
							let term = ws[((o * per_group + c) * kernel[0] + ky) * kernel[1] + kx]
								as f64 * v;
							exact += term;
							scale += term.abs();
						}
					}
				}
				let tolerance = 1e-6 * scale + 1e-12;
				let close = |v: f32| (v as f64 - exact).abs() <= tolerance;
				assert!(close(*ours), "case {case} at {at}: {ours} vs {exact}");
				assert!(close(*theirs), "case {case} at {at}: tract {theirs} vs {exact}");
			}
		}
	}

	#[test]
	fn exp_is_accurate_and_exact_where_it_must_be() {
		assert_eq!(exp(0.0), 1.0);
		assert_eq!(exp(-0.0), 1.0);
		assert_eq!(exp(f32::NEG_INFINITY), 0.0);
		assert_eq!(exp(-100.0), 0.0);
		assert_eq!(exp(89.0), f32::INFINITY);
		assert!(exp(f32::NAN).is_nan());
		let mut worst = 0f64;
		let mut x = -87.0f32;
		while x < 88.5 {
			let exact = (x as f64).exp();
			worst = worst.max((exp(x) as f64 - exact).abs() / exact);
			x += 0.001_37;
		}
		// About two units in the last place of an f32 (2^-23 = 1.2e-7).
		assert!(worst < 2.5e-7, "largest relative error {worst:e}");
	}
}
