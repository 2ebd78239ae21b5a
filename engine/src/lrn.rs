//! ONNX `LRN` (local response normalization across channels), as an
//! operator of ours registered with tract's ONNX parser.
//!
//! tract 0.23's `Lrn` computes every element through a dynamic-rank
//! coordinate lookup and a `powf`: profiling inception_v1 and alexnet (the
//! benchmark's CNNs with LRN) showed it as their slowest operator. Ours walks
//! flat slices: the squares once, then for each channel the sum of its
//! window's squares (in ascending channel order, so results do not depend on
//! anything but the input), then `x / d^beta`. For the usual `beta = 0.75`
//! it takes `d^-0.75` as `1 / sqrt(d * sqrt(d))`: square roots are exactly
//! rounded everywhere (IEEE 754), where `powf` comes from each platform's
//! math library and may differ in the last bit between machines; other
//! betas use `powf` in double precision, rounded once to `f32`.
//!
//! `y[n, c, i] = x[n, c, i] / (bias + alpha / size * sum(x[n, c', i]^2))^beta`
//! for `c'` from `c - floor((size - 1) / 2)` to `c + ceil((size - 1) / 2)`,
//! clamped to the channels, as the ONNX specification says.

use tract_onnx::{
	model::{OnnxOpRegister, ParsingContext},
	pb::NodeProto,
	tract_hir::internal::*,
};

/// Registers our `LRN` in place of tract's.
pub fn register(reg: &mut OnnxOpRegister) {
	reg.insert("LRN", lrn);
}

/// LRN's attributes.
#[derive(Debug, Clone, PartialEq)]
struct Lrn {
	alpha: f32,
	beta: f32,
	bias: f32,
	size: usize,
}

impl Eq for Lrn {}

fn lrn(
	_ctx: &ParsingContext,
	node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
	let alpha = node.get_attr_opt("alpha")?.unwrap_or(0.0001);
	let beta = node.get_attr_opt("beta")?.unwrap_or(0.75);
	let bias = node.get_attr_opt("bias")?.unwrap_or(1.0);
	let size: usize = node.get_attr("size")?;
	ensure!(size >= 1, "LRN size must be at least 1");
	Ok((inference_wrap(Lrn { alpha, beta, bias, size }, 1, rules), vec![]))
}

fn rules<'p>(
	_op: &dyn Op,
	s: &mut Solver,
	inputs: &'p [TensorProxy],
	outputs: &'p [TensorProxy],
) -> InferenceResult {
	check_input_arity(inputs, 1)?;
	check_output_arity(outputs, 1)?;
	s.equals(&inputs[0].datum_type, DatumType::F32)?;
	s.equals(&outputs[0].datum_type, DatumType::F32)?;
	s.equals(&inputs[0].shape, &outputs[0].shape)?;
	Ok(())
}

impl Lrn {
	/// Normalizes `x` of shape `[n, c, rest...]` (flat, row-major).
	fn normalize(&self, x: &[f32], shape: &[usize]) -> TractResult<Vec<f32>> {
		ensure!(shape.len() >= 2, "LRN needs at least two dimensions (N, C, ...)");
		let (batch, channels) = (shape[0], shape[1]);
		let inner: usize = shape[2..].iter().product();
		let before = (self.size - 1) / 2;
		let after = (self.size - 1).div_ceil(2);
		let scale = self.alpha / self.size as f32;
		let squares: Vec<f32> = x.iter().map(|v| v * v).collect();
		let mut y = vec![0f32; x.len()];
		let mut sum = vec![0f32; inner];
		for n in 0..batch {
			let image = n * channels * inner;
			for c in 0..channels {
				sum.iter_mut().for_each(|s| *s = 0.0);
				let last = (c + after).min(channels - 1);
				for k in c.saturating_sub(before)..=last {
					let sq = &squares[image + k * inner..image + (k + 1) * inner];
					sum.iter_mut().zip(sq).for_each(|(s, q)| *s += q);
				}
				let at = image + c * inner;
				let (xs, ys) = (&x[at..at + inner], &mut y[at..at + inner]);
				if self.beta == 0.75 {
					for ((y, x), s) in ys.iter_mut().zip(xs).zip(&sum) {
						let d = self.bias + scale * s;
						*y = x / (d * d.sqrt()).sqrt();
					}
				} else {
					let beta = f64::from(self.beta);
					for ((y, x), s) in ys.iter_mut().zip(xs).zip(&sum) {
						let d = self.bias + scale * s;
						*y = x / f64::from(d).powf(beta) as f32;
					}
				}
			}
		}
		Ok(y)
	}
}

impl Op for Lrn {
	fn name(&self) -> StaticName {
		"LRN".into()
	}

	op_as_typed_op!();
}

impl EvalOp for Lrn {
	op_out_of_plan!();

	fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
		let input = args_1!(inputs);
		let view = input.to_plain_array_view::<f32>()?;
		let shape = view.shape().to_vec();
		let flat: Vec<f32> = match view.as_slice() {
			Some(s) => s.to_vec(),
			None => view.iter().copied().collect(),
		};
		let y = self.normalize(&flat, &shape)?;
		Ok(tvec!(tract_ndarray::ArrayD::from_shape_vec(shape, y)?.into_tvalue()))
	}
}

impl TypedOp for Lrn {
	fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
		Ok(tvec!(inputs[0].without_value()))
	}

	as_op!();
}

#[cfg(test)]
mod tests {
	use super::*;

	/// The ONNX specification's formula, element by element, in f64.
	fn reference(lrn: &Lrn, x: &[f32], shape: &[usize]) -> Vec<f64> {
		let (batch, channels, inner) = (shape[0], shape[1], shape[2..].iter().product::<usize>());
		let mut y = Vec::new();
		for n in 0..batch {
			for c in 0..channels {
				for i in 0..inner {
					let lo = c.saturating_sub((lrn.size - 1) / 2);
					let hi = (c + (lrn.size - 1).div_ceil(2)).min(channels - 1);
					let sum: f64 = (lo..=hi)
						.map(|k| f64::from(x[(n * channels + k) * inner + i]).powi(2))
						.sum();
					let d = f64::from(lrn.bias) + f64::from(lrn.alpha) / lrn.size as f64 * sum;
					y.push(
						f64::from(x[(n * channels + c) * inner + i]) / d.powf(f64::from(lrn.beta)),
					);
				}
			}
		}
		y
	}

	#[test]
	fn normalization_follows_the_specification() {
		let shape = [2, 7, 3, 2];
		let x: Vec<f32> = (0..84).map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.7).collect();
		for (size, beta) in [(5, 0.75), (4, 0.75), (1, 0.5), (3, 1.3)] {
			let lrn = Lrn { alpha: 0.3, beta, bias: 1.5, size };
			let ours = lrn.normalize(&x, &shape).unwrap();
			for (a, b) in ours.iter().zip(reference(&lrn, &x, &shape)) {
				assert!(
					(f64::from(*a) - b).abs() <= 1e-6 * b.abs().max(1.0),
					"size {size}: {a} vs {b}"
				);
			}
		}
	}
}
