//! When do two outputs of the same job agree? The single implementation of
//! the [`VerificationPolicy`] rules: the runtime settles disputes with it, the
//! off-chain engine and the tests use it too.

use crate::{
	spec::{is_float, VerificationPolicy},
	tensor::{rank_order, Tensor},
};
use alloc::vec::Vec;
use sp_arithmetic::FixedPointNumber;

fn abs(x: f64) -> f64 {
	if x < 0.0 {
		-x
	} else {
		x
	}
}

fn same_layout(a: &Tensor, b: &Tensor) -> bool {
	a.name == b.name
		&& a.dtype == b.dtype
		&& a.shape == b.shape
		&& a.is_consistent()
		&& b.is_consistent()
}

/// Element-wise comparison with tolerance: `|x - y| <= abs + rel * max(|x|, |y|)`.
/// NaNs agree only with NaNs; integers and booleans must be equal.
fn within_tolerance(a: &Tensor, b: &Tensor, abs_tol: f64, rel_tol: f64) -> bool {
	if !is_float(a.dtype) {
		return a.data == b.data;
	}
	let n = a.data.len() / a.dtype.size() as usize;
	(0..n).all(|i| match (a.element_f64(i), b.element_f64(i)) {
		(Some(x), Some(y)) if x.is_nan() || y.is_nan() => x.is_nan() && y.is_nan(),
		(Some(x), Some(y)) if x == y => true,
		(Some(x), Some(y)) => {
			let scale = if abs(x) > abs(y) { abs(x) } else { abs(y) };
			abs(x - y) <= abs_tol + rel_tol * scale
		}
		_ => false,
	})
}

/// Indices of the `k` largest values, in [`rank_order`] (descending, NaN
/// last, ties: lower index first).
fn top_k(row: &[f64], k: usize) -> Vec<usize> {
	let mut idx: Vec<usize> = (0..row.len()).collect();
	idx.sort_by(|a, b| rank_order(row, *a, *b));
	idx.truncate(k);
	idx
}

/// Whether outputs `a` and `b` (each a model's full list of output tensors)
/// agree under `policy`. Outputs whose tensors differ in name, dtype, shape
/// or count never agree.
pub fn outputs_agree(policy: &VerificationPolicy, a: &[Tensor], b: &[Tensor]) -> bool {
	if a.len() != b.len() || a.is_empty() || !a.iter().zip(b).all(|(x, y)| same_layout(x, y)) {
		return false;
	}
	match policy {
		VerificationPolicy::Exact => a == b,
		VerificationPolicy::Tolerance { abs, rel } => {
			let to_f64 = |f: &sp_arithmetic::FixedU64| {
				f.into_inner() as f64 / sp_arithmetic::FixedU64::DIV as f64
			};
			let (abs, rel) = (to_f64(abs), to_f64(rel));
			a.iter().zip(b).all(|(x, y)| within_tolerance(x, y, abs, rel))
		}
		VerificationPolicy::ArgMax => a[0].argmax_rows() == b[0].argmax_rows(),
		VerificationPolicy::TopK(k) => {
			let (ra, rb) = (a[0].rows(), b[0].rows());
			ra.len() == rb.len()
				&& ra.iter().zip(&rb).all(|(x, y)| {
					let (mut p, mut q) = (top_k(x, *k as usize), top_k(y, *k as usize));
					p.sort();
					q.sort();
					p == q
				})
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::DType;
	use alloc::vec;
	use sp_arithmetic::FixedU64;

	fn t(values: &[f32], shape: &[u32]) -> Vec<Tensor> {
		vec![Tensor {
			name: b"y".to_vec(),
			dtype: DType::Float32,
			shape: shape.to_vec(),
			data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
		}]
	}

	#[test]
	fn exact_means_bit_identical() {
		let a = t(&[0.1, 0.2], &[1, 2]);
		assert!(outputs_agree(&VerificationPolicy::Exact, &a, &a.clone()));
		assert!(!outputs_agree(&VerificationPolicy::Exact, &a, &t(&[0.1, 0.2000001], &[1, 2])));
		// Same values, other shape.
		assert!(!outputs_agree(&VerificationPolicy::Exact, &a, &t(&[0.1, 0.2], &[2, 1])));
	}

	#[test]
	fn tolerance_is_absolute_plus_relative() {
		let p = VerificationPolicy::Tolerance {
			abs: FixedU64::from_rational(1, 1000),
			rel: FixedU64::from_rational(1, 100),
		};
		let a = t(&[1.0, 100.0, f32::NAN], &[3]);
		assert!(outputs_agree(&p, &a, &t(&[1.0009, 100.9, f32::NAN], &[3])));
		assert!(!outputs_agree(&p, &a, &t(&[1.02, 100.0, f32::NAN], &[3])));
		assert!(!outputs_agree(&p, &a, &t(&[1.0, 102.0, f32::NAN], &[3])));
		assert!(!outputs_agree(&p, &a, &t(&[1.0, 100.0, 0.0], &[3])));
	}

	#[test]
	fn argmax_and_top_k_compare_per_batch_item() {
		let a = t(&[0.1, 0.7, 0.2, 0.5, 0.3, 0.2], &[2, 3]);
		let same_order = t(&[0.0, 0.9, 0.1, 0.4, 0.35, 0.25], &[2, 3]);
		let other_second = t(&[0.0, 0.9, 0.1, 0.3, 0.5, 0.2], &[2, 3]);
		assert!(outputs_agree(&VerificationPolicy::ArgMax, &a, &same_order));
		assert!(!outputs_agree(&VerificationPolicy::ArgMax, &a, &other_second));
		assert!(outputs_agree(&VerificationPolicy::TopK(2), &a, &same_order));
		// With k = 3 every index is in both sets; with k = 1 the second item differs.
		assert!(outputs_agree(&VerificationPolicy::TopK(3), &a, &other_second));
		assert!(!outputs_agree(&VerificationPolicy::TopK(1), &a, &other_second));
	}

	#[test]
	fn argmax_ties_go_to_the_lower_index_and_nan_never_wins() {
		use crate::tensor::argmax;
		assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), Some(1));
		assert_eq!(argmax(&[f64::NAN, -5.0, f64::NAN]), Some(1));
		assert_eq!(argmax(&[f64::NAN, f64::NAN]), Some(0));
		assert_eq!(argmax(&[]), None);
		// Per batch item, as the ArgMax policy compares them.
		assert_eq!(t(&[0.5, 0.5, 0.1, f32::NAN, 0.0, 0.2], &[2, 3])[0].argmax_rows(), vec![0, 2]);
		// A tie broken the same way on both sides agrees under ArgMax.
		let tie = t(&[0.5, 0.5, 0.1], &[1, 3]);
		assert!(outputs_agree(&VerificationPolicy::ArgMax, &tie, &t(&[0.6, 0.1, 0.1], &[1, 3])));
		assert!(!outputs_agree(&VerificationPolicy::ArgMax, &tie, &t(&[0.4, 0.5, 0.1], &[1, 3])));
	}

	#[test]
	fn malformed_outputs_never_agree() {
		let mut bad = t(&[1.0], &[2]);
		assert!(!outputs_agree(&VerificationPolicy::Exact, &bad, &bad.clone()));
		bad = vec![];
		assert!(!outputs_agree(&VerificationPolicy::ArgMax, &bad, &bad.clone()));
	}
}
