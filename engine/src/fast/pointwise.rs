//! Convolutions computed directly on AVX-512: grouped 1 × 1 ones
//! (shufflenet's) and ungrouped ones with a short reduction (a network's
//! first layer, 3 channels × 3 × 3).
//!
//! tract lowers a grouped convolution to an explicit im2col (a copy of the
//! input into packed panels, per group) and a product batched over the
//! groups, with its small-panel kernels (`40 × 2` on shufflenet's 34-channel
//! groups): about 16 GMAC/s and 2.8 ms of copies and products in a network
//! onnxruntime runs in 4.5 ms. A first layer (squeezenet's: 27 values per
//! patch, 64 channels, 12,321 pixels) runs at 12 GMAC/s: with so short a
//! reduction its tiles spend their time gathering patches and storing.
//!
//! Each output row (one channel's pixels) is a sum of its group's patch
//! rows scaled by the weights; for a 1 × 1 convolution of stride 1 without
//! padding the patch rows are the input's rows, otherwise ours gathers them
//! first (one row per input channel and kernel tap, padding as zeros).
//! `GroupedPointwise` computes the sums in tiles of 4 output channels by 64
//! pixels (16 accumulators): per patch row, four weights broadcast, four
//! vectors of pixels loaded, sixteen fused multiply-adds. Each output
//! starts at its bias and adds `weight × input` in patch-row order, one
//! fused multiply-add each, so the result is the same bits on every machine
//! with AVX-512; it is not tract's order, and agrees within rounding (a unit
//! test checks against the definition in `f64`).
//!
//! It replaces the convolution before tract optimizes the model
//! ([`replace`]), so that tract plans no im2col for it; only where the CPU
//! has AVX-512 (elsewhere tract's lowering runs). An activation after it is
//! then its own operator, where tract would have fused it.

use tract_onnx::{
	prelude::*,
	tract_core::{
		internal::*,
		ops::cnn::{Conv, KernelFormat},
		ops::nn::DataFormat,
	},
};

use super::{flat, with_flat_mut, Window};

#[cfg(test)]
thread_local! {
	/// How many convolutions this thread computed directly (tests only).
	pub(super) static DIRECT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Output channels of a tile.
const ROWS: usize = 4;
/// Pixels of a tile: four vectors of 16.
const PIXELS: usize = 64;

/// A convolution ours computes directly, `NCHW`, 2-D: see the module's
/// documentation. Inputs: the image `[N, Ci, H, W]`, the kernel `[Co, Ci /
/// group, kh, kw]`, the bias (`[Co]` or one value).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupedPointwise {
	group: usize,
	inputs: usize,
	outputs: usize,
	/// The input's and the output's shapes (the plan's, concrete).
	input_shape: [usize; 4],
	output_shape: [usize; 4],
	/// The patches to gather first, unless the convolution is 1 × 1 with
	/// stride 1 and no padding (its input rows are its patches).
	patches: Option<Window>,
}

/// The longest reduction (`Ci / group × kh × kw`) of an ungrouped
/// convolution [`replace`] takes: beyond it tract's packed products (and
/// ours, `gemm.rs`) use the registers better than tiles along the pixels.
const MAX_UNGROUPED_K: usize = 32;

/// Replaces, in `model` (decluttered, not yet optimized), each grouped
/// 1 × 1 convolution ours runs (`GroupedPointwise`), if the CPU has AVX-512.
pub fn replace(model: &mut TypedModel) -> TractResult<()> {
	if !super::gemm::avx512() {
		return Ok(());
	}
	for id in 0..model.nodes.len() {
		let Some(conv) = model.nodes[id].op_as::<Conv>() else { continue };
		let Some(op) = of(model, id, conv)? else { continue };
		model.nodes[id].op = Box::new(op);
	}
	Ok(())
}

/// `conv` (node `id` of `model`) as a [`GroupedPointwise`], if ours runs
/// it: grouped (not depth-wise) 1 × 1 of stride 1 without padding, or
/// ungrouped with a reduction of at most [`MAX_UNGROUPED_K`]; `f32`,
/// `NCHW`, 2-D, a concrete input shape.
fn of(model: &TypedModel, id: usize, conv: &Conv) -> TractResult<Option<GroupedPointwise>> {
	let spec = &conv.pool_spec;
	let node = &model.nodes[id];
	let fact = model.outlet_fact(node.inputs[0])?;
	let Some(&[n, c, h, w]) = fact.shape.as_concrete() else { return Ok(None) };
	if conv.q_params.is_some()
		|| fact.datum_type != f32::datum_type()
		|| node.inputs.len() != 3
		|| conv.kernel_fmt != KernelFormat::OIHW
		|| spec.data_format != DataFormat::NCHW
		|| spec.kernel_shape.len() != 2
		|| c != spec.input_channels
		|| conv.group == 0
		|| !c.is_multiple_of(conv.group)
		|| !spec.output_channels.is_multiple_of(conv.group)
	{
		return Ok(None);
	}
	let geo = spec.compute_geo(&fact.shape)?.to_concrete(&[n, c, h, w])?.into_owned();
	let patch = &geo.patch;
	let Some(patches) = Window::of(patch) else { return Ok(None) };
	let pointwise = patches.kh == 1
		&& patches.kw == 1
		&& patches.sh == 1
		&& patches.sw == 1
		&& patch.pad_before.iter().chain(&patch.pad_after).all(|p| *p == 0);
	let k = c / conv.group * patches.kh * patches.kw;
	let take = if conv.group == 1 { k <= MAX_UNGROUPED_K } else { conv.group < c && pointwise };
	// Gathered patches take no more memory than `GatherOnce`'s would.
	let patches_bytes =
		if pointwise { 0 } else { c * patches.kh * patches.kw * patches.oh * patches.ow * 4 };
	let take = take && patches_bytes <= super::im2col::MAX_GATHERED;
	let output_shape = [n, spec.output_channels, patches.oh, patches.ow];
	if !take || geo.output_shape.shape[..] != output_shape[..] {
		return Ok(None);
	}
	Ok(Some(GroupedPointwise {
		group: conv.group,
		inputs: c,
		outputs: spec.output_channels,
		input_shape: [n, c, h, w],
		output_shape,
		patches: (!pointwise).then_some(patches),
	}))
}

impl Window {
	/// The patches of one image `x` (`c × h × w`) into `out`, one row per
	/// (input channel, kernel row, kernel column), one column per output
	/// pixel, padding as zeros.
	fn gather(&self, x: &[f32], [c, h, w]: [usize; 3], out: &mut [f32]) {
		let (oh, ow) = (self.oh, self.ow);
		let mut rows = out.chunks_exact_mut(oh * ow);
		for plane in x.chunks_exact(h * w).take(c) {
			for ky in 0..self.kh {
				for kx in 0..self.kw {
					let Some(row) = rows.next() else { return };
					// The output columns whose input column is inside.
					let at = kx * self.dw;
					let first = self.pl.saturating_sub(at).div_ceil(self.sw).min(ow);
					let end = (self.pl + w).saturating_sub(at).div_ceil(self.sw).clamp(first, ow);
					for (oy, out) in row.chunks_exact_mut(ow).enumerate() {
						let iy = (oy * self.sh + ky * self.dh).checked_sub(self.pt);
						let Some(iy) = iy.filter(|iy| *iy < h) else {
							out.fill(0.0);
							continue;
						};
						out[..first].fill(0.0);
						out[end..].fill(0.0);
						if first < end {
							let from = iy * w + first * self.sw + at - self.pl;
							let inside = plane[from..].iter().step_by(self.sw);
							out[first..end].iter_mut().zip(inside).for_each(|(o, v)| *o = *v);
						}
					}
				}
			}
		}
	}
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
		ensure!(x.shape() == self.input_shape, "input of shape {:?}", x.shape());
		let [_, c, h, wd] = self.input_shape;
		let [_, _, oh, ow] = self.output_shape;
		let hw = oh * ow;
		let xs = flat(&x).context("input not contiguous f32")?;
		let ws = flat(&w).context("kernel not contiguous f32")?;
		let bs = flat(&b).context("bias not contiguous f32")?;
		// The reduction of each output: its group's patch rows.
		let k = self.patches.map_or(1, |p| p.kh * p.kw) * c / self.group;
		ensure!(ws.len() == self.outputs * k, "kernel of {} values", ws.len());
		ensure!(bs.len() == self.outputs || bs.len() == 1, "bias of {} values", bs.len());
		let bias: Vec<f32> =
			(0..self.outputs).map(|o| bs[if bs.len() == 1 { 0 } else { o }]).collect();
		ensure!(super::gemm::avx512(), "no AVX-512");
		let mut y = Tensor::zero::<f32>(&self.output_shape)?;
		let geometry = (self.group, k, self.outputs / self.group, hw);
		let mut patches = vec![0f32; if self.patches.is_some() { self.group * k * hw } else { 0 }];
		with_flat_mut(&mut y, |ys| {
			for (x, y) in xs.chunks_exact(c * h * wd).zip(ys.chunks_exact_mut(self.outputs * hw)) {
				let rows = match &self.patches {
					Some(p) => {
						p.gather(x, [c, h, wd], &mut patches);
						&patches[..]
					}
					None => x,
				};
				// SAFETY: the CPU has AVX-512 (checked above); the slices
				// have the sizes `image` reads and writes.
				#[cfg(target_arch = "x86_64")]
				unsafe {
					image(geometry, rows, ws, &bias, y)
				};
			}
		})
		.context("output not contiguous")?;
		#[cfg(test)]
		DIRECT.with(|d| d.set(d.get() + 1));
		Ok(tvec!(y.into_tvalue()))
	}
}

impl TypedOp for GroupedPointwise {
	fn output_facts(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
		Ok(tvec!(f32::fact(self.output_shape)))
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
