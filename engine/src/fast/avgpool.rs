//! Average pools over 2-D `NCHW` planes (inception's 3 × 3 pools).
//!
//! tract's `OptSumPool` visits every output point and sums its window
//! through an iterator of offsets: about 1.2 ms for one of inception_v2's
//! pools (256 channels of 28 × 28), which onnxruntime runs in a fifth of
//! that. [`AvgPool2d`] sums, for each output row, the window's input rows
//! column by column, then the window's columns of that sum, each a
//! contiguous pass the compiler vectorizes, and scales by `1 / count` as
//! tract does (`count` the window's points inside the input:
//! `count_include_pad` off; padding adds zeros, which change no sum).
//! The sum's order (rows, then columns) is fixed, plain `f32`: the same
//! bits on every machine; it is not tract's order, and the results agree
//! within rounding (a unit test checks against the definition in `f64`).

use tract_onnx::{
	prelude::*,
	tract_core::{internal::*, ops::cnn::OptSumPool, ops::nn::DataFormat},
};

use super::{with_flat_mut, Fast, Planes, Window};

/// tract's `OptSumPool` over 2-D `NCHW` planes without dilation, padding
/// not counted: see the module's documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvgPool2d {
	pub(super) inner: OptSumPool,
}

impl AvgPool2d {
	/// `pool` as an [`AvgPool2d`], if it is one ours runs.
	pub fn of(pool: &OptSumPool) -> Option<AvgPool2d> {
		let spec = &pool.pool_spec;
		(!pool.count_include_pad
			&& spec.data_format == DataFormat::NCHW
			&& spec.kernel_shape.len() == 2
			&& spec.dilations.as_ref().is_none_or(|d| d.iter().all(|d| *d == 1)))
		.then(|| AvgPool2d { inner: pool.clone() })
	}

	/// The pool of `input`, or `None` where it does not apply.
	fn run(&self, input: &Tensor) -> TractResult<Option<Tensor>> {
		let Some(planes) = Planes::of(&self.inner.geometry, input)? else { return Ok(None) };
		let Planes { x, h, w, window: Window { kh, kw, sh, sw, pt, pl, oh, ow, .. }, .. } = planes;
		let mut out = Tensor::zero::<f32>(&planes.output_shape)?;
		if oh == 0 || ow == 0 || h == 0 || w == 0 {
			return Ok(Some(out));
		}
		// The column sums of a row, between `pl` zeros on the left and
		// enough on the right for every window (padding adds nothing).
		let padded = ((ow - 1) * sw + kw).max(pl + w);
		let mut sums = vec![0f32; padded];
		// Each window's points inside the input: rows (by output row) times
		// columns (by output column); `1 / count` for each row count.
		let cols: Vec<usize> = (0..ow)
			.map(|ox| {
				let start = (ox * sw).saturating_sub(pl).min(w);
				(ox * sw + kw).saturating_sub(pl).min(w).saturating_sub(start)
			})
			.collect();
		let scales: Vec<Vec<f32>> = (0..=kh)
			.map(|rows| {
				let scale = |c: &usize| match (self.inner.normalize, rows * c) {
					(false, _) => 1.0,
					(true, 0) => f32::NAN,
					(true, count) => (count as f32).recip(),
				};
				cols.iter().map(scale).collect()
			})
			.collect();
		with_flat_mut(&mut out, |y| {
			for (plane, out_plane) in x.chunks_exact(h * w).zip(y.chunks_exact_mut(oh * ow)) {
				for (oy, out_row) in out_plane.chunks_exact_mut(ow).enumerate() {
					let top = (oy * sh).saturating_sub(pt).min(h);
					let bottom = (oy * sh + kh).saturating_sub(pt).min(h).max(top);
					let inside = &mut sums[pl..pl + w];
					inside.fill(0.0);
					for iy in top..bottom {
						for (s, v) in inside.iter_mut().zip(&plane[iy * w..(iy + 1) * w]) {
							*s += v;
						}
					}
					out_row.fill(0.0);
					for kx in 0..kw {
						let from = sums[kx..].iter().step_by(sw);
						for (o, s) in out_row.iter_mut().zip(from) {
							*o += s;
						}
					}
					if self.inner.normalize {
						for (o, scale) in out_row.iter_mut().zip(&scales[bottom - top]) {
							*o *= scale;
						}
					}
				}
			}
		})
		.ok_or_else(|| format_err!("pool output not contiguous"))?;
		Ok(Some(out))
	}
}

impl Fast for AvgPool2d {
	fn fast(&self, inputs: &mut TVec<TValue>) -> TractResult<Option<TValue>> {
		match &inputs[..] {
			[input] => Ok(self.run(input)?.map(Tensor::into_tvalue)),
			_ => Ok(None),
		}
	}
}
