//! Products: `MatMul`, `Gemm` and 2-D `Conv`. Every output is a sum over
//! its reduction axis in order, starting from zero, then scaled or biased:
//! one fixed order, so the same bits natively and in WebAssembly.

use alloc::{vec, vec::Vec};

use super::{count, elementwise::broadcast_strides, reduce::geometry};
use crate::{
	error::{Error, Result},
	graph::Pads,
	math::canon_all,
	value::{Meta, Value},
};

/// The output shape of `MatMul` of `a` and `b`, and its multiply-adds.
pub(crate) fn matmul_shape(a: &[usize], b: &[usize]) -> Result<(Vec<usize>, u64)> {
	let (m, k, batch_a) = match a {
		[] => return Err(Error::ShapeMismatch("a matmul of a scalar")),
		[k] => (1, *k, &[][..]),
		[rest @ .., m, k] => (*m, *k, rest),
	};
	let (k2, n, batch_b) = match b {
		[] => return Err(Error::ShapeMismatch("a matmul of a scalar")),
		[k] => (*k, 1, &[][..]),
		[rest @ .., k, n] => (*k, *n, rest),
	};
	if k != k2 {
		return Err(Error::ShapeMismatch("a matmul's inner dimensions differ"));
	}
	let mut shape = super::elementwise::broadcast(batch_a, batch_b)?;
	let batches = count(&shape)?;
	if a.len() > 1 {
		shape.push(m);
	}
	if b.len() > 1 {
		shape.push(n);
	}
	let macs = batches.saturating_mul(m as u64).saturating_mul(k as u64).saturating_mul(n as u64);
	Ok((shape, macs))
}

/// `out[m, n] = sum_k a[m, k] b[k, n]`, rows of `a` and `b` at offsets.
fn product(a: &[f32], b: &[f32], out: &mut [f32], m: usize, k: usize, n: usize) {
	for i in 0..m {
		let row = &mut out[i * n..(i + 1) * n];
		for kk in 0..k {
			let x = a[i * k + kk];
			let brow = &b[kk * n..(kk + 1) * n];
			for (o, y) in row.iter_mut().zip(brow) {
				*o += x * y;
			}
		}
	}
}

/// `MatMul` with numpy semantics.
pub(crate) fn matmul(a: &Value, b: &Value) -> Result<Value> {
	let (x, y) = (a.as_f32()?, b.as_f32()?);
	let (shape, _) = matmul_shape(&a.shape, &b.shape)?;
	let (m, k) = if a.shape.len() == 1 {
		(1, a.shape[0])
	} else {
		(a.shape[a.shape.len() - 2], a.shape[a.shape.len() - 1])
	};
	let n = if b.shape.len() == 1 { 1 } else { b.shape[b.shape.len() - 1] };
	let batch_a = &a.shape[..a.shape.len().saturating_sub(2)];
	let batch_b = &b.shape[..b.shape.len().saturating_sub(2)];
	let batch = super::elementwise::broadcast(batch_a, batch_b)?;
	let (sa, sb) = (broadcast_strides(batch_a, &batch), broadcast_strides(batch_b, &batch));
	let batches: usize = batch.iter().product();
	let mut out = vec![0f32; batches * m * n];
	let mut index = vec![0usize; batch.len()];
	for bi in 0..batches {
		let oa: usize = index.iter().zip(&sa).map(|(i, s)| i * s).sum();
		let ob: usize = index.iter().zip(&sb).map(|(i, s)| i * s).sum();
		product(
			&x[oa * m * k..(oa + 1) * m * k],
			&y[ob * k * n..(ob + 1) * k * n],
			&mut out[bi * m * n..(bi + 1) * m * n],
			m,
			k,
			n,
		);
		for d in (0..batch.len()).rev() {
			index[d] += 1;
			if index[d] < batch[d] {
				break;
			}
			index[d] = 0;
		}
	}
	canon_all(&mut out);
	Ok(Value::f32(shape, out))
}

/// `(rows, columns)` of a 2-D operand, transposed or not.
fn dims(m: &Meta, trans: bool) -> Result<(usize, usize)> {
	match m.shape[..] {
		[r, c] if trans => Ok((c, r)),
		[r, c] => Ok((r, c)),
		_ => Err(Error::ShapeMismatch("a gemm operand is not 2-D")),
	}
}

/// The output shape of `Gemm` and its multiply-adds.
pub(crate) fn gemm_shape(
	a: &Meta,
	b: &Meta,
	c: Option<&Meta>,
	trans_a: bool,
	trans_b: bool,
) -> Result<(Vec<usize>, u64)> {
	let (m, k) = dims(a, trans_a)?;
	let (k2, n) = dims(b, trans_b)?;
	if k != k2 {
		return Err(Error::ShapeMismatch("a gemm's inner dimensions differ"));
	}
	let shape = vec![m, n];
	count(&shape)?;
	if let Some(c) = c {
		if super::elementwise::broadcast(&c.shape, &shape)? != shape {
			return Err(Error::ShapeMismatch("a gemm's C does not broadcast to its product"));
		}
	}
	Ok((shape, (m as u64).saturating_mul(k as u64).saturating_mul(n as u64)))
}

/// `Gemm`: `alpha * A' B' + beta * C`.
pub(crate) fn gemm(
	a: &Value,
	b: &Value,
	c: Option<&Value>,
	alpha: f32,
	beta: f32,
	trans_a: bool,
	trans_b: bool,
) -> Result<Value> {
	let (x, y) = (a.as_f32()?, b.as_f32()?);
	let (shape, _) =
		gemm_shape(&a.meta(), &b.meta(), c.map(|c| c.meta()).as_ref(), trans_a, trans_b)?;
	let (m, n) = (shape[0], shape[1]);
	let k = if trans_a { a.shape[0] } else { a.shape[1] };
	// The operands as plain row-major [m, k] and [k, n].
	let at;
	let x = if trans_a {
		at = transpose2(x, k, m);
		&at[..]
	} else {
		x
	};
	let bt;
	let y = if trans_b {
		bt = transpose2(y, n, k);
		&bt[..]
	} else {
		y
	};
	let mut out = vec![0f32; m * n];
	product(x, y, &mut out, m, k, n);
	out.iter_mut().for_each(|o| *o *= alpha);
	if let Some(c) = c {
		let z = c.as_f32()?;
		let s = broadcast_strides(&c.shape, &shape);
		for i in 0..m {
			for j in 0..n {
				out[i * n + j] += beta * z[i * s[0] + j * s[1]];
			}
		}
	}
	canon_all(&mut out);
	Ok(Value::f32(shape, out))
}

/// A row-major `[r, c]` matrix transposed.
fn transpose2(v: &[f32], r: usize, c: usize) -> Vec<f32> {
	let mut out = vec![0f32; r * c];
	for i in 0..r {
		for j in 0..c {
			out[j * r + i] = v[i * c + j];
		}
	}
	out
}

/// The output shape of a 2-D convolution and its multiply-adds.
pub(crate) fn conv_shape(
	x: &Meta,
	w: &Meta,
	bias: Option<&Meta>,
	strides: [u32; 2],
	dilations: [u32; 2],
	pads: Pads,
	group: u32,
) -> Result<(Vec<usize>, u64)> {
	let ([n, c, h, wd], [m, cg, kh, kw]) = (
		<[usize; 4]>::try_from(&x.shape[..])
			.map_err(|_| Error::ShapeMismatch("a conv input is not NCHW"))?,
		<[usize; 4]>::try_from(&w.shape[..])
			.map_err(|_| Error::ShapeMismatch("conv weights are not [M, C/group, kH, kW]"))?,
	);
	let g = group as usize;
	if cg.checked_mul(g) != Some(c) || m % g != 0 || kh == 0 || kw == 0 {
		return Err(Error::ShapeMismatch("conv weights do not fit the input's channels"));
	}
	if let Some(b) = bias {
		if b.shape[..] != [m] {
			return Err(Error::ShapeMismatch("a conv bias is not [M]"));
		}
	}
	let geo = geometry([h, wd], [kh, kw], strides, dilations, pads, false)?;
	let shape = vec![n, m, geo.out[0], geo.out[1]];
	let outputs = count(&shape)?;
	Ok((shape, outputs.saturating_mul((cg * kh * kw) as u64)))
}

/// 2-D convolution, NCHW.
pub(crate) fn conv(
	x: &Value,
	w: &Value,
	bias: Option<&Value>,
	strides: [u32; 2],
	dilations: [u32; 2],
	pads: Pads,
	group: u32,
) -> Result<Value> {
	let (xs, ws) = (x.as_f32()?, w.as_f32()?);
	let bs = bias.map(|b| b.as_f32()).transpose()?;
	let (shape, _) = conv_shape(
		&x.meta(),
		&w.meta(),
		bias.map(|b| b.meta()).as_ref(),
		strides,
		dilations,
		pads,
		group,
	)?;
	let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
	let (m, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3]);
	let geo = geometry([h, wd], [kh, kw], strides, dilations, pads, false)?;
	let (oh, ow) = (geo.out[0], geo.out[1]);
	let (s0, s1) = (strides[0] as usize, strides[1] as usize);
	let (d0, d1) = (dilations[0] as usize, dilations[1] as usize);
	let per_group = m / group as usize;
	let mut out = vec![0f32; n * m * oh * ow];
	for b in 0..n {
		for mo in 0..m {
			let g = mo / per_group;
			for y in 0..oh {
				for xo in 0..ow {
					let mut acc = 0f32;
					for ci in 0..cg {
						let plane = &xs[((b * c) + g * cg + ci) * h * wd..][..h * wd];
						let kernel = &ws[((mo * cg) + ci) * kh * kw..][..kh * kw];
						for i in 0..kh {
							let Some(iy) = (y * s0 + i * d0).checked_sub(geo.begin[0]) else {
								continue;
							};
							if iy >= h {
								continue;
							}
							for j in 0..kw {
								let Some(ix) = (xo * s1 + j * d1).checked_sub(geo.begin[1]) else {
									continue;
								};
								if ix < wd {
									acc += plane[iy * wd + ix] * kernel[i * kw + j];
								}
							}
						}
					}
					if let Some(bs) = bs {
						acc += bs[mo];
					}
					out[((b * m + mo) * oh + y) * ow + xo] = acc;
				}
			}
		}
	}
	canon_all(&mut out);
	Ok(Value::f32(shape, out))
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::value::Data;

	fn f(v: &Value) -> &[f32] {
		match &v.data {
			Data::F32(v) => v,
			_ => panic!(),
		}
	}

	#[test]
	fn matmul_batches_broadcasts_and_promotes_vectors() {
		let a = Value::f32(vec![2, 1, 2], vec![1.0, 2.0, 3.0, 4.0]);
		let b = Value::f32(vec![2, 2], vec![1.0, 0.0, 0.0, 1.0]);
		let p = matmul(&a, &b).unwrap();
		assert_eq!(p.shape, [2, 1, 2]);
		assert_eq!(f(&p), &[1.0, 2.0, 3.0, 4.0]);
		let v = Value::f32(vec![2], vec![1.0, 1.0]);
		let p = matmul(&v, &b).unwrap();
		assert_eq!((p.shape.clone(), f(&p).to_vec()), (vec![2], vec![1.0, 1.0]));
		assert!(matmul(&b, &Value::f32(vec![3], vec![0.0; 3])).is_err());
	}

	#[test]
	fn gemm_transposes_scales_and_adds_a_broadcast_c() {
		let a = Value::f32(vec![2, 1], vec![1.0, 2.0]); // transposed: [1, 2]
		let b = Value::f32(vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
		let c = Value::f32(vec![3], vec![1.0, 1.0, 1.0]);
		let y = gemm(&a, &b, Some(&c), 2.0, 0.5, true, false).unwrap();
		assert_eq!(y.shape, [1, 3]);
		assert_eq!(f(&y), &[18.5, 24.5, 30.5]);
		let bt = Value::f32(vec![3, 2], vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
		let y2 = gemm(&a, &bt, Some(&c), 2.0, 0.5, true, true).unwrap();
		assert_eq!(f(&y2), f(&y));
	}

	#[test]
	fn conv_pads_strides_and_groups() {
		// One 3x3 input, a 2x2 kernel of ones, padding 1, stride 2.
		let x = Value::f32(vec![1, 1, 3, 3], (1..=9).map(|v| v as f32).collect());
		let w = Value::f32(vec![1, 1, 2, 2], vec![1.0; 4]);
		let y = conv(&x, &w, None, [2, 2], [1, 1], Pads::Explicit([1, 1, 1, 1]), 1).unwrap();
		assert_eq!(y.shape, [1, 1, 2, 2]);
		assert_eq!(f(&y), &[1.0, 5.0, 11.0, 28.0]);
		// Two groups of one channel, each with its own kernel and a bias.
		let x = Value::f32(vec![1, 2, 1, 1], vec![3.0, 5.0]);
		let w = Value::f32(vec![2, 1, 1, 1], vec![2.0, 10.0]);
		let b = Value::f32(vec![2], vec![1.0, -1.0]);
		let y = conv(&x, &w, Some(&b), [1, 1], [1, 1], Pads::Explicit([0; 4]), 2).unwrap();
		assert_eq!(f(&y), &[7.0, 49.0]);
	}
}
