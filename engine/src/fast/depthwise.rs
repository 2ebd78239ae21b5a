//! Depth-wise convolutions (one filter per channel: mobile networks'
//! 3 × 3 layers) over contiguous rows.
//!
//! tract's `DepthWiseConv` walks the output point by point through zones of
//! its patch, with a call per point and tap: about 3 GMAC/s here, where the
//! rest of the network runs at 30-70. shufflenet spends a fifth of its time
//! there.
//!
//! [`DepthWise2d`] (undilated) computes a channel's output plane as a sum
//! of the kernel's taps, each tap one flat pass over a copy of the input
//! split by the strides, which the compiler vectorizes. Each output starts
//! at the channel's bias and adds `weight * input` for every tap in
//! row-major order, padding as zeros (the definition), in plain `f32`
//! arithmetic (no fused multiply-add), so the result is the same bits on
//! every machine. tract's order differs; the results agree within rounding
//! (a unit test checks against the definition in `f64`).

use tract_onnx::{
	prelude::*,
	tract_core::{internal::*, ops::cnn::PoolSpec, ops::nn::DataFormat},
};

use super::{flat, with_flat_mut, Fast, Window};

/// A 2-D depth-wise convolution's geometry for one input shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Geometry {
	/// Images, channels, input rows and columns.
	n: usize,
	c: usize,
	h: usize,
	w: usize,
	/// The window (undilated).
	window: Window,
}

impl Geometry {
	/// The geometry of a convolution of `spec` over an input of `shape`,
	/// if it is 2-D, `NCHW`, and one filter per channel.
	pub fn of(spec: &PoolSpec, shape: &[usize]) -> Option<Geometry> {
		let &[n, c, h, w] = shape else { return None };
		if spec.data_format != DataFormat::NCHW
			|| spec.kernel_shape.len() != 2
			|| spec.input_channels != c
			|| spec.output_channels != c
		{
			return None;
		}
		let facts: TVec<TDim> = shape.iter().map(|d| d.to_dim()).collect();
		let geo = spec.compute_geo(&facts).ok()?.to_concrete(shape).ok()?.into_owned();
		let window = Window::of(&geo.patch).filter(|w| w.undilated() && w.sh >= 1 && w.sw >= 1)?;
		let expected = [n, c, window.oh, window.ow];
		(geo.output_shape.shape[..] == expected[..]).then_some(Geometry { n, c, h, w, window })
	}

	/// The convolution of `x` (`n × c × h × w`) with `kernel` (`c × kh ×
	/// kw`) and `bias` (`c`) into `y` (`n × c × oh × ow`).
	///
	/// Each input plane is first split into its `sh × sw` phases (the
	/// padded plane's rows and columns by their remainder modulo the
	/// strides; the padding is at the same places for every plane, zero
	/// from the start), so that every tap reads a phase at a
	/// fixed offset with unit stride. The output is then computed `wp`
	/// columns wide (`wp` the phases' width) as one flat pass per tap over
	/// all its rows, and its first `ow` columns kept.
	fn run(&self, x: &[f32], kernel: &[f32], bias: &[f32], y: &mut [f32]) {
		let Window { kh, kw, sh, sw, pt, pl, oh, ow, .. } = self.window;
		let taps = kh * kw;
		let wp = ow + (kw - 1) / sw;
		let hp = oh + (kh - 1) / sh + 1;
		let mut phases = vec![0f32; sh * sw * hp * wp];
		let mut acc = vec![0f32; oh * wp];
		let planes = x.chunks_exact(self.h * self.w).zip(y.chunks_exact_mut(oh * ow));
		for (plane, (x, y)) in planes.enumerate() {
			let ch = plane % self.c;
			for (p, phase) in phases.chunks_exact_mut(hp * wp).enumerate() {
				let (r, c) = (p / sw, p % sw);
				// The columns `xp` with `sw * xp + c - pl` inside the row;
				// the others are padding, zero since the buffer was made.
				let first = pl.saturating_sub(c).div_ceil(sw).min(wp);
				let end = (pl + self.w).saturating_sub(c).div_ceil(sw).clamp(first, wp);
				let Some(from) = (sw * first + c).checked_sub(pl).filter(|_| first < end) else {
					continue;
				};
				for (yp, row) in phase.chunks_exact_mut(wp).enumerate() {
					let iy = (sh * yp + r).checked_sub(pt).filter(|iy| *iy < self.h);
					let Some(iy) = iy else { continue };
					let input = &x[iy * self.w + from..(iy + 1) * self.w];
					let row = &mut row[first..end];
					if sw == 1 {
						row.copy_from_slice(&input[..row.len()]);
					} else {
						row.iter_mut().zip(input.iter().step_by(sw)).for_each(|(v, x)| *v = *x);
					}
				}
			}
			acc.fill(bias[ch]);
			let k = &kernel[ch * taps..(ch + 1) * taps];
			for ky in 0..kh {
				for kx in 0..kw {
					let weight = k[ky * kw + kx];
					let p = (ky % sh) * sw + kx % sw;
					let from = p * hp * wp + (ky / sh) * wp + kx / sw;
					let input = &phases[from..from + acc.len()];
					for (a, v) in acc.iter_mut().zip(input) {
						*a += weight * v;
					}
				}
			}
			for (out, row) in y.chunks_exact_mut(ow).zip(acc.chunks_exact(wp)) {
				out.copy_from_slice(&row[..ow]);
			}
		}
	}
}

/// tract's `DepthWiseConv` with its geometry: see the module's
/// documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepthWise2d {
	pub(super) geometry: Geometry,
	pub(super) inner: Box<dyn TypedOp>,
}

impl Fast for DepthWise2d {
	fn fast(&self, inputs: &mut TVec<TValue>) -> TractResult<Option<TValue>> {
		let g = &self.geometry;
		let [x, kernel, bias] = &inputs[..] else { return Ok(None) };
		let (Some(xs), Some(ks), Some(bs)) = (flat(x), flat(kernel), flat(bias)) else {
			return Ok(None);
		};
		if x.shape() != [g.n, g.c, g.h, g.w]
			|| ks.len() != g.c * g.window.kh * g.window.kw
			|| bs.len() != g.c
		{
			return Ok(None);
		}
		let mut y = Tensor::zero::<f32>(&[g.n, g.c, g.window.oh, g.window.ow])?;
		with_flat_mut(&mut y, |ys| g.run(xs, ks, bs, ys))
			.ok_or_else(|| format_err!("depth-wise output not contiguous"))?;
		Ok(Some(y.into_tvalue()))
	}
}
