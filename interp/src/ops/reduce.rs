//! Reductions: pooling windows, `Softmax` and `ArgMax`.

use alloc::{vec, vec::Vec};

use super::axis;
use crate::{
	error::{Error, Result},
	graph::Pads,
	math::{self, canon_all},
	value::Value,
};

/// Where a 2-D window slides: output size and padding before and after,
/// per spatial axis.
pub(crate) struct Geometry {
	/// Output height and width.
	pub out: [usize; 2],
	/// Padding at the top and left.
	pub begin: [usize; 2],
	/// Padding at the bottom and right.
	pub end: [usize; 2],
}

/// The geometry of a `kernel` window over an input of `size`, ONNX's rules
/// (`ceil_mode` drops a last window that would start in the end padding).
pub(crate) fn geometry(
	size: [usize; 2],
	kernel: [usize; 2],
	strides: [u32; 2],
	dilations: [u32; 2],
	pads: Pads,
	ceil: bool,
) -> Result<Geometry> {
	let mut g = Geometry { out: [0; 2], begin: [0; 2], end: [0; 2] };
	for a in 0..2 {
		let (len, s, d) = (size[a], strides[a] as usize, dilations[a] as usize);
		let span = (kernel[a] - 1) * d + 1;
		let (begin, end) = match pads {
			Pads::Explicit(p) => (p[a] as usize, p[a + 2] as usize),
			Pads::SameUpper | Pads::SameLower => {
				let out = len.div_ceil(s);
				let total = ((out.max(1) - 1) * s + span).saturating_sub(len);
				let small = total / 2;
				if pads == Pads::SameUpper {
					(small, total - small)
				} else {
					(total - small, small)
				}
			}
		};
		let padded = len + begin + end;
		if padded < span {
			return Err(Error::ShapeMismatch("a window larger than its padded input"));
		}
		let room = padded - span;
		let mut out = if ceil { room.div_ceil(s) + 1 } else { room / s + 1 };
		if ceil && (out - 1) * s >= len + begin {
			out -= 1;
		}
		g.out[a] = out;
		g.begin[a] = begin;
		g.end[a] = end;
	}
	Ok(g)
}

/// The geometry of a pool over an NCHW input of `shape`.
pub(crate) fn pool_geometry(
	shape: &[usize],
	kernel: [u32; 2],
	strides: [u32; 2],
	pads: Pads,
	ceil: bool,
) -> Result<Geometry> {
	let [_, _, h, w] = shape else {
		return Err(Error::ShapeMismatch("a pool's input is not NCHW"));
	};
	geometry([*h, *w], [kernel[0] as usize, kernel[1] as usize], strides, [1, 1], pads, ceil)
}

/// Runs `f(plane, oy, ox, rows, columns)` for every output of a pool: the
/// window's input rows and columns clipped to the input, and those clipped
/// to the padded input.
fn pool(
	x: &Value,
	kernel: [u32; 2],
	strides: [u32; 2],
	pads: Pads,
	ceil: bool,
	mut f: impl FnMut(&[f32], [core::ops::Range<usize>; 2], usize) -> f32,
) -> Result<Value> {
	let v = x.as_f32()?;
	let g = pool_geometry(&x.shape, kernel, strides, pads, ceil)?;
	let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
	let (k, s) =
		([kernel[0] as usize, kernel[1] as usize], [strides[0] as usize, strides[1] as usize]);
	let mut out = Vec::with_capacity(n * c * g.out[0] * g.out[1]);
	for p in 0..n * c {
		let plane = &v[p * h * w..(p + 1) * h * w];
		for oy in 0..g.out[0] {
			for ox in 0..g.out[1] {
				// Window in padded coordinates, then clipped.
				let (y0, x0) = (oy * s[0], ox * s[1]);
				let clip = |start: usize, len: usize, begin: usize, size: usize| {
					start.saturating_sub(begin)..(start + len).saturating_sub(begin).min(size)
				};
				let rows = clip(y0, k[0], g.begin[0], h);
				let cols = clip(x0, k[1], g.begin[1], w);
				// Counting padding: the window clipped to the padded input.
				let padded = |start: usize, len: usize, a: usize, size: usize| {
					(start + len).min(size + g.begin[a] + g.end[a]) - start
				};
				let with_pad = padded(y0, k[0], 0, h) * padded(x0, k[1], 1, w);
				out.push(f(plane, [rows, cols], with_pad));
			}
		}
	}
	canon_all(&mut out);
	Ok(Value::f32(vec![n, c, g.out[0], g.out[1]], out))
}

/// 2-D `MaxPool`: padding never wins; a window entirely in padding gives
/// negative infinity.
pub(crate) fn max_pool(
	x: &Value,
	kernel: [u32; 2],
	strides: [u32; 2],
	pads: Pads,
	ceil: bool,
) -> Result<Value> {
	let w = x.shape.get(3).copied().unwrap_or(0);
	pool(x, kernel, strides, pads, ceil, |plane, [rows, cols], _| {
		let mut m = f32::NEG_INFINITY;
		for r in rows {
			for c in cols.clone() {
				m = math::max(m, plane[r * w + c]);
			}
		}
		m
	})
}

/// 2-D `AveragePool`: the window's sum in order over its count (with or
/// without padding).
pub(crate) fn average_pool(
	x: &Value,
	kernel: [u32; 2],
	strides: [u32; 2],
	pads: Pads,
	ceil: bool,
	count_include_pad: bool,
) -> Result<Value> {
	let w = x.shape.get(3).copied().unwrap_or(0);
	pool(x, kernel, strides, pads, ceil, |plane, [rows, cols], with_pad| {
		let mut sum = 0f32;
		let n = rows.len() * cols.len();
		for r in rows {
			for c in cols.clone() {
				sum += plane[r * w + c];
			}
		}
		let divisor = if count_include_pad { with_pad } else { n };
		sum / divisor as f32
	})
}

/// `GlobalAveragePool`: every plane's sum in order over its size.
pub(crate) fn global_average_pool(x: &Value) -> Result<Value> {
	let v = x.as_f32()?;
	let [n, c, h, w] = x.shape[..] else {
		return Err(Error::ShapeMismatch("a pool's input is not NCHW"));
	};
	let size = h * w;
	let mut out: Vec<f32> = (0..n * c)
		.map(|p| v[p * size..(p + 1) * size].iter().fold(0f32, |s, x| s + x) / size as f32)
		.collect();
	canon_all(&mut out);
	Ok(Value::f32(vec![n, c, 1, 1], out))
}

/// `(outer, len, inner)` of `shape` around axis `a` (`flat`: `len` covers
/// every axis from `a` on).
fn around(shape: &[usize], a: usize, flat: bool) -> (usize, usize, usize) {
	let outer = shape[..a].iter().product();
	if flat {
		(outer, shape[a..].iter().product(), 1)
	} else {
		(outer, shape[a], shape[a + 1..].iter().product())
	}
}

/// `Softmax` along an axis.
pub(crate) fn softmax(x: &Value, a: i32, flat: bool) -> Result<Value> {
	let v = x.as_f32()?;
	let a = axis(a, x.shape.len(), false)?;
	let (outer, len, inner) = around(&x.shape, a, flat);
	let mut out = v.to_vec();
	let mut lane = vec![0f32; len];
	for o in 0..outer {
		for i in 0..inner {
			let at = |j: usize| (o * len + j) * inner + i;
			lane.iter_mut().enumerate().for_each(|(j, l)| *l = out[at(j)]);
			math::softmax(&mut lane, false);
			lane.iter().enumerate().for_each(|(j, l)| out[at(j)] = *l);
		}
	}
	canon_all(&mut out);
	Ok(Value::f32(x.shape.clone(), out))
}

/// `ArgMax` along an axis, as `verity_primitives::argmax` ranks.
pub(crate) fn argmax(x: &Value, a: i32, keepdims: bool) -> Result<Value> {
	let v = x.as_f32()?;
	let a = axis(a, x.shape.len(), false)?;
	let (outer, len, inner) = around(&x.shape, a, false);
	let mut lane = vec![0f64; len];
	let mut out = Vec::with_capacity(outer * inner);
	for o in 0..outer {
		for i in 0..inner {
			lane.iter_mut()
				.enumerate()
				.for_each(|(j, l)| *l = f64::from(v[(o * len + j) * inner + i]));
			let best = verity_primitives::argmax(&lane)
				.ok_or(Error::ShapeMismatch("an argmax over an empty axis"))?;
			out.push(best as i64);
		}
	}
	let mut shape = x.shape.clone();
	if keepdims {
		shape[a] = 1;
	} else {
		shape.remove(a);
	}
	Ok(Value::i64(shape, out))
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::value::Data;

	fn f(v: &Value) -> Vec<f32> {
		match &v.data {
			Data::F32(v) => v.clone(),
			_ => panic!(),
		}
	}

	#[test]
	fn pools_follow_onnx_on_padding_and_ceil_mode() {
		let x = Value::f32(vec![1, 1, 3, 3], (1..=9).map(|v| v as f32).collect());
		let m = max_pool(&x, [2, 2], [2, 2], Pads::Explicit([0; 4]), false).unwrap();
		assert_eq!((m.shape.clone(), f(&m)), (vec![1, 1, 1, 1], vec![5.0]));
		let m = max_pool(&x, [2, 2], [2, 2], Pads::Explicit([0; 4]), true).unwrap();
		assert_eq!((m.shape.clone(), f(&m)), (vec![1, 1, 2, 2], vec![5.0, 6.0, 8.0, 9.0]));
		let a =
			average_pool(&x, [2, 2], [2, 2], Pads::Explicit([1, 1, 1, 1]), false, false).unwrap();
		assert_eq!(f(&a), vec![1.0, 2.5, 5.5, 7.0]);
		let a =
			average_pool(&x, [2, 2], [2, 2], Pads::Explicit([1, 1, 1, 1]), false, true).unwrap();
		assert_eq!(f(&a), vec![0.25, 1.25, 2.75, 7.0]);
		let s = max_pool(&x, [3, 3], [1, 1], Pads::SameUpper, false).unwrap();
		assert_eq!(f(&s), vec![5.0, 6.0, 6.0, 8.0, 9.0, 9.0, 8.0, 9.0, 9.0]);
		let g = global_average_pool(&x).unwrap();
		assert_eq!(f(&g), vec![5.0]);
	}

	#[test]
	fn softmax_per_axis_and_flat() {
		let x = Value::f32(vec![2, 2], vec![0.0, 0.0, 1.0, 1.0]);
		assert_eq!(f(&softmax(&x, 0, false).unwrap())[0], f(&softmax(&x, 0, false).unwrap())[1]);
		let rows = f(&softmax(&x, 1, false).unwrap());
		assert_eq!(rows, vec![0.5, 0.5, 0.5, 0.5]);
		let all = f(&softmax(&x, 0, true).unwrap());
		assert!((all.iter().sum::<f32>() - 1.0).abs() < 1e-6);
	}

	#[test]
	fn argmax_ties_go_low_and_nan_never_wins() {
		let x = Value::f32(vec![2, 3], vec![1.0, 3.0, 3.0, f32::NAN, -1.0, -2.0]);
		let a = argmax(&x, -1, false).unwrap();
		assert_eq!((a.shape, a.data), (vec![2], Data::I64(vec![1, 1])));
		let k = argmax(&x, 0, true).unwrap();
		assert_eq!((k.shape, k.data), (vec![1, 3], Data::I64(vec![0, 0, 0])));
	}
}
