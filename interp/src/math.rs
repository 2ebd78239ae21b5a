//! Scalar functions with the same bits on every target.
//!
//! `f32::max`, `f32::min` and the `libm` functions are defined the same way
//! everywhere, but the NaN a WebAssembly instruction returns may carry any
//! payload. These helpers give every NaN the canonical one, and the
//! transcendental functions come from `libm` (pure Rust, no platform code).

/// The canonical NaN: `x` itself, unless it is a NaN.
#[inline]
pub fn canon(x: f32) -> f32 {
	if x.is_nan() {
		f32::NAN
	} else {
		x
	}
}

/// Canonicalises every NaN of `v`.
pub fn canon_all(v: &mut [f32]) {
	v.iter_mut().for_each(|x| *x = canon(*x));
}

/// The larger of `a` and `b`; a NaN loses to a number (IEEE `maxNum`).
#[inline]
pub fn max(a: f32, b: f32) -> f32 {
	if a > b || b.is_nan() {
		a
	} else {
		b
	}
}

/// The smaller of `a` and `b`; a NaN loses to a number (IEEE `minNum`).
#[inline]
pub fn min(a: f32, b: f32) -> f32 {
	if a < b || b.is_nan() {
		a
	} else {
		b
	}
}

/// `e^x`.
#[inline]
pub fn exp(x: f32) -> f32 {
	libm::expf(x)
}

/// The logistic function `1 / (1 + e^-x)`, computed from `|x|` (as
/// onnxruntime does) so that large negative arguments do not overflow.
#[inline]
pub fn logistic(x: f32) -> f32 {
	let v = 1.0 / (1.0 + exp(-x.abs()));
	if x < 0.0 {
		1.0 - v
	} else {
		v
	}
}

/// Softmax of `v` in place: `e^(x - max)` over their sum, summed in order.
/// With `skip_zeros`, zeros stay zero and take no share (ONNX's
/// `SOFTMAX_ZERO`).
pub fn softmax(v: &mut [f32], skip_zeros: bool) {
	let counts = |x: &f32| !skip_zeros || *x != 0.0;
	let top = v.iter().filter(|x| counts(x)).fold(f32::NEG_INFINITY, |m, x| max(m, *x));
	let mut sum = 0.0;
	for x in v.iter_mut() {
		if counts(x) {
			*x = exp(*x - top);
			sum += *x;
		}
	}
	if sum > 0.0 {
		v.iter_mut().filter(|x| !skip_zeros || **x != 0.0).for_each(|x| *x /= sum);
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn max_and_min_ignore_a_nan_whichever_side_it_is_on() {
		assert_eq!(max(f32::NAN, 1.0), 1.0);
		assert_eq!(max(1.0, f32::NAN), 1.0);
		assert_eq!(min(f32::NAN, -1.0), -1.0);
		assert_eq!(min(-1.0, f32::NAN), -1.0);
		assert!(max(f32::NAN, f32::NAN).is_nan());
	}

	#[test]
	fn every_nan_becomes_the_canonical_one() {
		let odd = f32::from_bits(0x7fc0_1234);
		let negative = f32::from_bits(0xffc0_0000);
		let mut v = [odd, negative, 1.5];
		canon_all(&mut v);
		assert_eq!(v.map(f32::to_bits), [0x7fc0_0000, 0x7fc0_0000, 1.5f32.to_bits()]);
	}

	#[test]
	fn logistic_does_not_overflow_and_is_symmetric() {
		assert_eq!(logistic(-200.0), 0.0);
		assert_eq!(logistic(200.0), 1.0);
		assert_eq!(logistic(0.0), 0.5);
		assert!((logistic(2.0) + logistic(-2.0) - 1.0).abs() < 1e-7);
	}

	#[test]
	fn softmax_sums_to_one_and_skips_zeros_when_asked() {
		let mut v = [1.0, 2.0, 3.0];
		softmax(&mut v, false);
		assert!((v.iter().sum::<f32>() - 1.0).abs() < 1e-6);
		assert!(v[2] > v[1] && v[1] > v[0]);
		let mut z = [0.0, 2.0, 2.0];
		softmax(&mut z, true);
		assert_eq!(z, [0.0, 0.5, 0.5]);
	}
}
