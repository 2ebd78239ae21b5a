//! Data movement: `Reshape`, `Concat` and `Transpose` (`Flatten` and
//! `Identity` need no code of their own).

use alloc::{vec, vec::Vec};

use super::{axis, count};
use crate::{
	error::{Error, Result},
	value::{Data, Meta, Value},
};

/// The shape `Reshape` gives an input of `input` for the target `target`.
pub(crate) fn reshape_shape(input: &[usize], target: &[i64]) -> Result<Vec<usize>> {
	let total = count(input)?;
	let mut out = Vec::with_capacity(target.len());
	let mut unknown = None;
	for (i, d) in target.iter().enumerate() {
		out.push(match *d {
			0 => *input.get(i).ok_or(Error::ShapeMismatch("a reshape copies a missing axis"))?,
			-1 => {
				unknown = Some(i);
				1
			}
			d if d > 0 && d as u64 <= super::MAX_ELEMENTS => d as usize,
			_ => return Err(Error::ShapeMismatch("a reshape's target shape")),
		});
	}
	let known = count(&out)?;
	match unknown {
		Some(i) if known > 0 && total % known == 0 => out[i] = (total / known) as usize,
		None if known == total => {}
		_ => return Err(Error::ShapeMismatch("a reshape that changes the element count")),
	}
	Ok(out)
}

/// The shape of `Concat` of `ins` along `a`.
pub(crate) fn concat_shape(ins: &[&Meta], a: i32) -> Result<Vec<usize>> {
	let first = ins[0];
	let a = axis(a, first.shape.len(), false)?;
	let mut shape = first.shape.clone();
	for m in &ins[1..] {
		let same_rest = m.shape.len() == shape.len()
			&& m.shape.iter().zip(&first.shape).enumerate().all(|(i, (x, y))| i == a || x == y);
		if m.elem != first.elem || !same_rest {
			return Err(Error::ShapeMismatch("concatenated values differ off the axis"));
		}
		shape[a] = shape[a].checked_add(m.shape[a]).ok_or(Error::TooLarge)?;
	}
	Ok(shape)
}

/// Appends `len` elements of `from` at `at` to `to`.
fn extend(to: &mut Data, from: &Data, at: usize, len: usize) {
	match (to, from) {
		(Data::F32(t), Data::F32(f)) => t.extend_from_slice(&f[at..at + len]),
		(Data::I64(t), Data::I64(f)) => t.extend_from_slice(&f[at..at + len]),
		_ => {}
	}
}

/// `Concat` along an axis.
pub(crate) fn concat(ins: &[&Value], a: i32) -> Result<Value> {
	let metas: Vec<Meta> = ins.iter().map(|v| v.meta()).collect();
	let shape = concat_shape(&metas.iter().collect::<Vec<_>>(), a)?;
	let a = axis(a, shape.len(), false)?;
	let outer: usize = shape[..a].iter().product();
	let inner: usize = shape[a + 1..].iter().product();
	let mut data = match ins[0].data {
		Data::F32(_) => Data::F32(Vec::new()),
		Data::I64(_) => Data::I64(Vec::new()),
	};
	for o in 0..outer {
		for v in ins {
			let len = v.shape[a] * inner;
			extend(&mut data, &v.data, o * len, len);
		}
	}
	Ok(Value { shape, data })
}

/// The permutation `perm` stands for at rank `rank` (empty: reversed).
fn permutation(perm: &[u32], rank: usize) -> Result<Vec<usize>> {
	if perm.is_empty() {
		return Ok((0..rank).rev().collect());
	}
	if perm.len() != rank {
		return Err(Error::ShapeMismatch("a transpose's permutation does not fit the rank"));
	}
	Ok(perm.iter().map(|p| *p as usize).collect())
}

/// The shape `Transpose` gives.
pub(crate) fn transpose_shape(input: &[usize], perm: &[u32]) -> Result<Vec<usize>> {
	Ok(permutation(perm, input.len())?.iter().map(|p| input[*p]).collect())
}

/// `Transpose`.
pub(crate) fn transpose(x: &Value, perm: &[u32]) -> Result<Value> {
	let p = permutation(perm, x.shape.len())?;
	let shape: Vec<usize> = p.iter().map(|a| x.shape[*a]).collect();
	// Input strides, in output axis order.
	let mut strides = vec![0usize; x.shape.len()];
	let mut step = 1;
	for a in (0..x.shape.len()).rev() {
		strides[a] = step;
		step *= x.shape[a];
	}
	let s: Vec<usize> = p.iter().map(|a| strides[*a]).collect();
	let n: usize = shape.iter().product();
	let mut order = Vec::with_capacity(n);
	let mut index = vec![0usize; shape.len()];
	let mut at = 0usize;
	for _ in 0..n {
		order.push(at);
		for d in (0..shape.len()).rev() {
			index[d] += 1;
			at += s[d];
			if index[d] < shape[d] {
				break;
			}
			at -= s[d] * shape[d];
			index[d] = 0;
		}
	}
	let data = match &x.data {
		Data::F32(v) => Data::F32(order.iter().map(|i| v[*i]).collect()),
		Data::I64(v) => Data::I64(order.iter().map(|i| v[*i]).collect()),
	};
	Ok(Value { shape, data })
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::graph::Elem;

	#[test]
	fn reshape_copies_zeros_and_infers_one_axis() {
		assert_eq!(reshape_shape(&[2, 3, 4], &[0, -1]).unwrap(), [2, 12]);
		assert_eq!(reshape_shape(&[2, 3, 4], &[4, 6]).unwrap(), [4, 6]);
		assert!(reshape_shape(&[2, 3], &[4, -1]).is_err());
		assert!(reshape_shape(&[2, 3], &[5]).is_err());
	}

	#[test]
	fn concat_and_transpose_move_the_right_elements() {
		let a = Value::f32(vec![2, 1], vec![1.0, 2.0]);
		let b = Value::f32(vec![2, 2], vec![3.0, 4.0, 5.0, 6.0]);
		let c = concat(&[&a, &b], 1).unwrap();
		assert_eq!(c, Value::f32(vec![2, 3], vec![1.0, 3.0, 4.0, 2.0, 5.0, 6.0]));
		let t = transpose(&c, &[]).unwrap();
		assert_eq!(t, Value::f32(vec![3, 2], vec![1.0, 2.0, 3.0, 5.0, 4.0, 6.0]));
		let x = Value::i64(vec![1, 2, 3], (0..6).collect());
		let t = transpose(&x, &[2, 0, 1]).unwrap();
		assert_eq!(t, Value::i64(vec![3, 1, 2], vec![0, 3, 1, 4, 2, 5]));
		let m = Meta::new(Elem::F32, vec![2, 2]);
		let i = Meta::new(Elem::I64, vec![2, 2]);
		assert!(concat_shape(&[&m, &i], 0).is_err());
	}
}
