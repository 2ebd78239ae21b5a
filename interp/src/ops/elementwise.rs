//! Element by element: arithmetic with broadcasting, activations, `Clip`
//! and `Cast`.

use alloc::{vec, vec::Vec};

use super::Op;
use crate::{
	error::{Error, Result},
	graph::Elem,
	math::{self, canon},
	value::{Data, Value},
};

/// The numpy broadcast of two shapes.
pub(crate) fn broadcast(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
	let rank = a.len().max(b.len());
	let dim = |s: &[usize], i: usize| {
		if i + s.len() < rank {
			1
		} else {
			s[i + s.len() - rank]
		}
	};
	(0..rank)
		.map(|i| match (dim(a, i), dim(b, i)) {
			(x, y) if x == y => Ok(x),
			(1, y) => Ok(y),
			(x, 1) => Ok(x),
			_ => Err(Error::ShapeMismatch("shapes that do not broadcast")),
		})
		.collect()
}

/// Strides of `shape` (row-major) as seen from an output of `out` it is
/// broadcast to: 0 along broadcast dimensions.
pub(crate) fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
	let mut strides = vec![0; out.len()];
	let mut step = 1;
	for i in (0..shape.len()).rev() {
		let o = i + out.len() - shape.len();
		strides[o] = if shape[i] == 1 { 0 } else { step };
		step *= shape[i];
	}
	strides
}

/// For every element of `out` in order, `f(offset in a, offset in b)`.
fn for_each_pair(a: &[usize], b: &[usize], out: &[usize], mut f: impl FnMut(usize, usize)) {
	let n: usize = out.iter().product();
	if a == out && b == out {
		(0..n).for_each(|i| f(i, i));
		return;
	}
	let (sa, sb) = (broadcast_strides(a, out), broadcast_strides(b, out));
	let mut index = vec![0usize; out.len()];
	let (mut oa, mut ob) = (0usize, 0usize);
	for _ in 0..n {
		f(oa, ob);
		// Odometer: the last axis moves fastest.
		for d in (0..out.len()).rev() {
			index[d] += 1;
			oa += sa[d];
			ob += sb[d];
			if index[d] < out[d] {
				break;
			}
			oa -= sa[d] * out[d];
			ob -= sb[d] * out[d];
			index[d] = 0;
		}
	}
}

/// `Add`, `Sub`, `Mul` or `Div` of `a` and `b`, broadcast.
pub(crate) fn binary(op: &Op, a: &Value, b: &Value) -> Result<Value> {
	let shape = broadcast(&a.shape, &b.shape)?;
	let n: usize = shape.iter().product();
	let data = match (&a.data, &b.data) {
		(Data::F32(x), Data::F32(y)) => {
			let f: fn(f32, f32) -> f32 = match op {
				Op::Add => |p, q| p + q,
				Op::Sub => |p, q| p - q,
				Op::Mul => |p, q| p * q,
				_ => |p, q| p / q,
			};
			let mut out = Vec::with_capacity(n);
			for_each_pair(&a.shape, &b.shape, &shape, |i, j| out.push(canon(f(x[i], y[j]))));
			Data::F32(out)
		}
		(Data::I64(x), Data::I64(y)) => {
			let mut out = Vec::with_capacity(n);
			let mut zero = false;
			for_each_pair(&a.shape, &b.shape, &shape, |i, j| {
				out.push(match op {
					Op::Add => x[i].wrapping_add(y[j]),
					Op::Sub => x[i].wrapping_sub(y[j]),
					Op::Mul => x[i].wrapping_mul(y[j]),
					_ if y[j] == 0 => {
						zero = true;
						0
					}
					_ => x[i].wrapping_div(y[j]),
				})
			});
			if zero {
				return Err(Error::DivisionByZero);
			}
			Data::I64(out)
		}
		_ => return Err(Error::ShapeMismatch("operands of different element types")),
	};
	Ok(Value { shape, data })
}

/// A one-operand `f32` operator.
pub(crate) fn unary(op: &Op, x: &Value) -> Result<Value> {
	let v = x.as_f32()?;
	let out: Vec<f32> = match op {
		Op::Relu => v.iter().map(|x| if *x < 0.0 { 0.0 } else { *x }).collect(),
		Op::LeakyRelu { alpha } => {
			let a = alpha.get();
			v.iter().map(|x| if *x < 0.0 { a * x } else { *x }).collect()
		}
		Op::Sigmoid => v.iter().map(|x| math::logistic(*x)).collect(),
		Op::Tanh => v.iter().map(|x| libm::tanhf(*x)).collect(),
		Op::Exp => v.iter().map(|x| libm::expf(*x)).collect(),
		Op::Log => v.iter().map(|x| libm::logf(*x)).collect(),
		Op::Sqrt => v.iter().map(|x| libm::sqrtf(*x)).collect(),
		Op::Clip { min, max } => v
			.iter()
			.map(|x| {
				let mut y = *x;
				if let Some(lo) = min {
					if y < lo.get() {
						y = lo.get();
					}
				}
				if let Some(hi) = max {
					if y > hi.get() {
						y = hi.get();
					}
				}
				y
			})
			.collect(),
		_ => return Err(Error::Malformed("not a one-operand operator")),
	};
	let mut out = out;
	math::canon_all(&mut out);
	Ok(Value::f32(x.shape.clone(), out))
}

/// `Cast` to `to`.
pub(crate) fn cast(x: &Value, to: Elem) -> Value {
	let data = match (&x.data, to) {
		(Data::F32(v), Elem::I64) => Data::I64(v.iter().map(|x| *x as i64).collect()),
		(Data::I64(v), Elem::F32) => Data::F32(v.iter().map(|x| *x as f32).collect()),
		(d, _) => d.clone(),
	};
	Value { shape: x.shape.clone(), data }
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn broadcasting_follows_numpy() {
		assert_eq!(broadcast(&[2, 3], &[3]).unwrap(), [2, 3]);
		assert_eq!(broadcast(&[2, 1], &[1, 3]).unwrap(), [2, 3]);
		assert_eq!(broadcast(&[], &[4]).unwrap(), [4]);
		assert!(broadcast(&[2, 3], &[2]).is_err());
		let a = Value::f32(vec![2, 1], vec![1.0, 2.0]);
		let b = Value::f32(vec![3], vec![10.0, 20.0, 30.0]);
		let sum = binary(&Op::Add, &a, &b).unwrap();
		assert_eq!(sum, Value::f32(vec![2, 3], vec![11.0, 21.0, 31.0, 12.0, 22.0, 32.0]));
	}

	#[test]
	fn integer_division_by_zero_is_an_error_not_a_panic() {
		let a = Value::i64(vec![2], vec![7, i64::MIN]);
		assert_eq!(binary(&Op::Div, &a, &Value::i64(vec![1], vec![0])), Err(Error::DivisionByZero));
		let q = binary(&Op::Div, &a, &Value::i64(vec![1], vec![-1])).unwrap();
		assert_eq!(q, Value::i64(vec![2], vec![-7, i64::MIN]), "wraps rather than overflows");
	}

	#[test]
	fn a_nan_result_is_the_canonical_nan() {
		let x = Value::f32(vec![2], vec![-1.0, 0.0]);
		let Data::F32(v) = unary(&Op::Log, &x).unwrap().data else { panic!() };
		assert_eq!(v[0].to_bits(), f32::NAN.to_bits());
		assert_eq!(v[1], f32::NEG_INFINITY);
		let Data::F32(v) = unary(&Op::Sqrt, &Value::f32(vec![1], vec![-4.0])).unwrap().data else {
			panic!()
		};
		assert_eq!(v[0].to_bits(), f32::NAN.to_bits());
	}

	#[test]
	fn clip_and_cast_follow_onnx() {
		let x = Value::f32(vec![4], vec![-2.0, 0.5, 9.0, f32::NAN]);
		let c = unary(&Op::Clip { min: Some((-1.0).into()), max: Some(1.0.into()) }, &x).unwrap();
		let Data::F32(v) = c.data else { panic!() };
		assert_eq!(&v[..3], &[-1.0, 0.5, 1.0]);
		assert!(v[3].is_nan());
		let i = cast(&Value::f32(vec![3], vec![2.9, -2.9, f32::NAN]), Elem::I64);
		assert_eq!(i.data, Data::I64(vec![2, -2, 0]));
	}
}
