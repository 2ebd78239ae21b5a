//! Grouped 1 × 1 convolutions (shufflenet's), computed directly on AVX-512.
//!
//! tract lowers a grouped convolution to an explicit im2col (a copy of the
//! input into packed panels, per group) and a product batched over the
//! groups, with its small-panel kernels (`40 × 2` on shufflenet's 34-channel
//! groups): about 16 GMAC/s and 2.8 ms of copies and products in a network
//! onnxruntime runs in 4.5 ms.
//!
//! A 1 × 1 convolution needs no im2col: each output row (one channel's
//! pixels) is a sum of the group's input rows scaled by the weights.
//! [`GroupedPointwise`] computes it in tiles of 4 output channels by 64
//! pixels (16 accumulators): per input channel, four weights broadcast, four
//! vectors of pixels loaded, sixteen fused multiply-adds. Each output
//! starts at its bias and adds `weight × input` in input-channel order, one
//! fused multiply-add each, so the result is the same bits on every machine
//! with AVX-512; it is not tract's order, and agrees within rounding (a unit
//! test checks against the definition in `f64`).
//!
//! It replaces the convolution before tract optimizes the model
//! ([`replace`]), so that tract plans no im2col for it; only where the CPU
//! has AVX-512 (elsewhere tract's lowering runs).

use tract_onnx::{
	prelude::*,
	tract_core::{
		internal::*,
		ops::cnn::{Conv, KernelFormat, PaddingSpec},
		ops::nn::DataFormat,
	},
};

use super::{flat, with_flat_mut};

/// Output channels of a tile.
const ROWS: usize = 4;
/// Pixels of a tile: four vectors of 16.
const PIXELS: usize = 64;

/// A grouped (not depth-wise) 1 × 1 convolution, stride 1, no padding,
/// `NCHW`: see the module's documentation. Inputs: the image `[N, Ci, H,
/// W]`, the kernel `[Co, Ci / group, 1, 1]`, the bias (`[Co]` or one value).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupedPointwise {
	group: usize,
	inputs: usize,
	outputs: usize,
}

/// Replaces, in `model` (decluttered, not yet optimized), each grouped
/// 1 × 1 convolution ours runs (`GroupedPointwise`), if the CPU has AVX-512.
pub fn replace(model: &mut TypedModel) -> TractResult<()> {
	if !super::gemm::avx512() {
		return Ok(());
	}
	for id in 0..model.nodes.len() {
		let Some(conv) = model.nodes[id].op_as::<Conv>() else { continue };
		let spec = &conv.pool_spec;
		let f32_in = model.outlet_fact(model.nodes[id].inputs[0])?.datum_type == f32::datum_type();
		let unpadded = match &spec.padding {
			PaddingSpec::Valid => true,
			PaddingSpec::Explicit(b, a) | PaddingSpec::ExplicitOnnxPool(b, a, _) => {
				b.iter().chain(a.iter()).all(|p| *p == 0)
			}
			_ => false,
		};
		let ones = |v: &Option<TVec<usize>>| v.as_ref().is_none_or(|v| v.iter().all(|s| *s == 1));
		let grouped = conv.group > 1
			&& conv.group < spec.input_channels
			&& spec.input_channels % conv.group == 0
			&& spec.output_channels % conv.group == 0;
		if conv.q_params.is_none()
			&& f32_in && grouped
			&& unpadded
			&& conv.kernel_fmt == KernelFormat::OIHW
			&& spec.data_format == DataFormat::NCHW
			&& spec.kernel_shape[..] == [1, 1]
			&& ones(&spec.strides)
			&& ones(&spec.dilations)
			&& model.nodes[id].inputs.len() == 3
		{
			let op = GroupedPointwise {
				group: conv.group,
				inputs: spec.input_channels,
				outputs: spec.output_channels,
			};
			model.nodes[id].op = Box::new(op);
		}
	}
	Ok(())
}

impl Op for GroupedPointwise {
	fn name(&self) -> StaticName {
		"GroupedPointwise".into()
	}

	op_as_typed_op!();
}

impl EvalOp for GroupedPointwise {
	op_out_of_plan!();

	fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
		let (x, w, b) = args_3!(inputs);
		let shape = x.shape();
		ensure!(shape.len() == 4 && shape[1] == self.inputs, "input of shape {shape:?}");
		let (n, hw) = (shape[0], shape[2] * shape[3]);
		let xs = flat(&x).context("input not contiguous f32")?;
		let ws = flat(&w).context("kernel not contiguous f32")?;
		let bs = flat(&b).context("bias not contiguous f32")?;
		let per_group = self.inputs / self.group;
		ensure!(ws.len() == self.outputs * per_group, "kernel of {} values", ws.len());
		ensure!(bs.len() == self.outputs || bs.len() == 1, "bias of {} values", bs.len());
		let bias: Vec<f32> =
			(0..self.outputs).map(|o| bs[if bs.len() == 1 { 0 } else { o }]).collect();
		ensure!(super::gemm::avx512(), "no AVX-512");
		let mut y = Tensor::zero::<f32>(&[n, self.outputs, shape[2], shape[3]])?;
		let geometry = (self.group, per_group, self.outputs / self.group, hw);
		let (inputs, outputs) = (self.inputs * hw, self.outputs * hw);
		with_flat_mut(&mut y, |ys| {
			for (x, y) in xs.chunks_exact(inputs).zip(ys.chunks_exact_mut(outputs)) {
				// SAFETY: the CPU has AVX-512 (checked above); the slices
				// have the sizes `image` reads and writes.
				#[cfg(target_arch = "x86_64")]
				unsafe {
					image(geometry, x, ws, &bias, y)
				};
			}
		})
		.context("output not contiguous")?;
		Ok(tvec!(y.into_tvalue()))
	}
}

impl TypedOp for GroupedPointwise {
	fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
		let shape = &inputs[0].shape;
		ensure!(shape.len() == 4, "input of rank {}", shape.len());
		let out =
			tvec![shape[0].clone(), self.outputs.to_dim(), shape[2].clone(), shape[3].clone()];
		Ok(tvec!(f32::fact(out)))
	}

	as_op!();
}

/// One image: `y[o][p] = bias[o] + Σ w[o][i] x[g i][p]` over the `i` of
/// `o`'s group `g`, for `(groups, inputs per group, outputs per group,
/// pixels)` = `geometry`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn image(
	(groups, per_group, outs, hw): (usize, usize, usize, usize),
	x: &[f32],
	w: &[f32],
	bias: &[f32],
	y: &mut [f32],
) {
	for g in 0..groups {
		let xg = &x[g * per_group * hw..(g + 1) * per_group * hw];
		let mut o = g * outs;
		let end = (g + 1) * outs;
		while o < end {
			let mut p = 0;
			while p < hw {
				let pixels = PIXELS.min(hw - p);
				let tile = Tile { per_group, hw, o, p, pixels };
				// Four output channels at once, the group's last ones one by
				// one.
				if end - o >= ROWS {
					unsafe { tile.run::<ROWS>(xg, w, bias, y) };
				} else {
					for r in 0..end - o {
						let tile = Tile { o: o + r, ..tile };
						unsafe { tile.run::<1>(xg, w, bias, y) };
					}
				}
				p += pixels;
			}
			o += ROWS.min(end - o);
		}
	}
}

/// `R` output channels from `o`, `pixels` (at most [`PIXELS`]) pixels
/// from `p`, of an image of `hw` pixels, `per_group` inputs per channel.
#[derive(Clone, Copy)]
struct Tile {
	per_group: usize,
	hw: usize,
	o: usize,
	p: usize,
	pixels: usize,
}

#[cfg(target_arch = "x86_64")]
impl Tile {
	/// The tile of `y` from the group's input rows `xg`.
	#[target_feature(enable = "avx512f")]
	unsafe fn run<const R: usize>(&self, xg: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
		use std::arch::x86_64::*;
		let mask = |v: usize| {
			let valid = self.pixels.saturating_sub(v * 16).min(16);
			((1u32 << valid) - 1) as __mmask16
		};
		let masks: [__mmask16; 4] = [mask(0), mask(1), mask(2), mask(3)];
		let mut acc = [[_mm512_setzero_ps(); 4]; R];
		for (r, acc) in acc.iter_mut().enumerate() {
			*acc = [_mm512_set1_ps(bias[self.o + r]); 4];
		}
		for i in 0..self.per_group {
			// Lanes past the row's end are masked: not read.
			let at = xg[i * self.hw + self.p..].as_ptr();
			let v = unsafe {
				[
					_mm512_maskz_loadu_ps(masks[0], at),
					_mm512_maskz_loadu_ps(masks[1], at.wrapping_add(16)),
					_mm512_maskz_loadu_ps(masks[2], at.wrapping_add(32)),
					_mm512_maskz_loadu_ps(masks[3], at.wrapping_add(48)),
				]
			};
			for (r, acc) in acc.iter_mut().enumerate() {
				let k = _mm512_set1_ps(w[(self.o + r) * self.per_group + i]);
				acc[0] = _mm512_fmadd_ps(k, v[0], acc[0]);
				acc[1] = _mm512_fmadd_ps(k, v[1], acc[1]);
				acc[2] = _mm512_fmadd_ps(k, v[2], acc[2]);
				acc[3] = _mm512_fmadd_ps(k, v[3], acc[3]);
			}
		}
		for (r, acc) in acc.iter().enumerate() {
			let at = y[(self.o + r) * self.hw + self.p..].as_mut_ptr();
			for (v, acc) in acc.iter().enumerate() {
				unsafe { _mm512_mask_storeu_ps(at.wrapping_add(16 * v), masks[v], *acc) };
			}
		}
	}
}
