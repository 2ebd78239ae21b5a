//! ai.onnx.ml `SVMClassifier` (tract 0.23 has none), as scikit-learn's
//! `SVC` exports it through skl2onnx: support vectors, one-against-one
//! classifiers between every pair of classes, and votes.
//!
//! Supported: the support-vector mode (`vectors_per_class`) with three
//! classes or more, without Platt probabilities (`prob_a`/`prob_b`), post
//! transform `NONE`, kernels `LINEAR`, `POLY`, `RBF` and `SIGMOID`, integer
//! labels. Anything else is refused at load with what is missing, never run
//! approximately.
//!
//! For each row: the kernel against every support vector; for each pair of
//! classes `(i, j)`, `i < j`, in that order, the score
//! `sum(coef[j-1][sv of i] * k) + sum(coef[i][sv of j] * k) + rho[pair]`
//! (accumulated in `f64`, support vectors in model order); the pair's vote
//! goes to `i` when the score is positive, else to `j`. The label is the
//! class with the most votes (the lowest on a tie), the scores output the
//! pairs' scores, as onnxruntime computes them.

use std::sync::Arc;

use tract_onnx::{
	model::{OnnxOpRegister, ParsingContext},
	pb::NodeProto,
	tract_hir::internal::*,
};

use crate::ml::{attr_floats, classifier_facts, classifier_rules, Shared};

/// Registers our `SVMClassifier`.
pub fn register(reg: &mut OnnxOpRegister) {
	reg.insert("SVMClassifier", classifier);
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kernel {
	Linear,
	Poly { gamma: f64, coef0: f64, degree: i32 },
	Rbf { gamma: f64 },
	Sigmoid { gamma: f64, coef0: f64 },
}

/// A parsed support-vector classifier.
#[derive(Debug, PartialEq)]
struct Svc {
	kernel: Kernel,
	features: usize,
	/// Row-major `[vectors, features]`.
	support_vectors: Vec<f32>,
	/// First support vector of each class, and how many it has.
	classes: Vec<(usize, usize)>,
	/// Row-major `[classes - 1, vectors]`.
	coefficients: Vec<f32>,
	/// One per pair of classes.
	rho: Vec<f32>,
	labels: Vec<i64>,
}

impl Svc {
	fn vectors(&self) -> usize {
		self.classes.iter().map(|(_, n)| n).sum()
	}

	fn pairs(&self) -> usize {
		self.classes.len() * (self.classes.len() - 1) / 2
	}

	fn kernel(&self, x: &[f32], sv: &[f32]) -> f64 {
		let dot = || x.iter().zip(sv).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum::<f64>();
		match self.kernel {
			Kernel::Linear => dot(),
			Kernel::Poly { gamma, coef0, degree } => (gamma * dot() + coef0).powi(degree),
			Kernel::Rbf { gamma } => {
				let d: f64 = x
					.iter()
					.zip(sv)
					.map(|(a, b)| {
						let d = f64::from(*a) - f64::from(*b);
						d * d
					})
					.sum();
				(-gamma * d).exp()
			}
			Kernel::Sigmoid { gamma, coef0 } => (gamma * dot() + coef0).tanh(),
		}
	}

	/// Labels `[rows]` and pair scores `[rows, pairs]` of `x` `[rows, features]`.
	fn eval(&self, x: &[f32], rows: usize) -> (Vec<i64>, Vec<f32>) {
		let vectors = self.vectors();
		let mut labels = Vec::with_capacity(rows);
		let mut scores = Vec::with_capacity(rows * self.pairs());
		let mut k = vec![0f64; vectors];
		for row in x.chunks(self.features).take(rows) {
			for (v, k) in k.iter_mut().enumerate() {
				*k = self.kernel(row, &self.support_vectors[v * self.features..][..self.features]);
			}
			let mut votes = vec![0u32; self.classes.len()];
			let mut pair = 0;
			for i in 0..self.classes.len() {
				for j in i + 1..self.classes.len() {
					let side = |row: usize, (start, count): (usize, usize)| {
						let coef = &self.coefficients[row * vectors + start..][..count];
						coef.iter()
							.zip(&k[start..start + count])
							.map(|(c, k)| f64::from(*c) * k)
							.sum::<f64>()
					};
					let score = side(j - 1, self.classes[i])
						+ side(i, self.classes[j])
						+ f64::from(self.rho[pair]);
					pair += 1;
					scores.push(score as f32);
					votes[if score > 0.0 { i } else { j }] += 1;
				}
			}
			// The first class with the most votes.
			let best =
				votes.iter().enumerate().fold(0, |b, (c, v)| if *v > votes[b] { c } else { b });
			labels.push(self.labels[best]);
		}
		(labels, scores)
	}
}

fn classifier(
	_ctx: &ParsingContext,
	node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
	ensure!(
		node.get_attr_opt_vec::<String>("classlabels_strings")?.is_none(),
		"SVMClassifier: string class labels are not supported"
	);
	let labels: Vec<i64> = node.get_attr_vec("classlabels_ints")?;
	let per_class: Vec<i64> = node.get_attr_opt_vec("vectors_per_class")?.unwrap_or_default();
	ensure!(
		!per_class.is_empty(),
		"SVMClassifier: only the support-vector mode (vectors_per_class) is supported"
	);
	ensure!(labels.len() >= 3, "SVMClassifier: two-class models are not supported yet");
	ensure!(labels.len() == per_class.len(), "SVMClassifier: one vectors_per_class per label");
	ensure!(
		attr_floats(node, "prob_a")?.unwrap_or_default().is_empty(),
		"SVMClassifier: probability outputs (prob_a, prob_b) are not supported yet"
	);
	let post: String = node.get_attr_opt("post_transform")?.unwrap_or_else(|| "NONE".into());
	ensure!(post == "NONE", "SVMClassifier: post_transform {post} is not supported");
	let params = attr_floats(node, "kernel_params")?.unwrap_or_default();
	let param = |i: usize, default: f32| f64::from(params.get(i).copied().unwrap_or(default));
	let kind: String = node.get_attr_opt("kernel_type")?.unwrap_or_else(|| "LINEAR".into());
	let kernel = match kind.as_str() {
		"LINEAR" => Kernel::Linear,
		"POLY" => Kernel::Poly {
			gamma: param(0, 0.0),
			coef0: param(1, 0.0),
			degree: param(2, 0.0) as i32,
		},
		"RBF" => Kernel::Rbf { gamma: param(0, 0.0) },
		"SIGMOID" => Kernel::Sigmoid { gamma: param(0, 0.0), coef0: param(1, 0.0) },
		other => bail!("SVMClassifier: unknown kernel_type {other}"),
	};
	let mut classes = Vec::with_capacity(per_class.len());
	let mut start = 0usize;
	for n in &per_class {
		let n = usize::try_from(*n)
			.map_err(|_| format_err!("SVMClassifier: negative vectors_per_class"))?;
		classes.push((start, n));
		start =
			start.checked_add(n).ok_or_else(|| format_err!("SVMClassifier: too many vectors"))?;
	}
	let vectors = start;
	let support_vectors = attr_floats(node, "support_vectors")?.unwrap_or_default();
	let coefficients = attr_floats(node, "coefficients")?.unwrap_or_default();
	let rho = attr_floats(node, "rho")?.unwrap_or_default();
	ensure!(
		vectors > 0 && support_vectors.len() % vectors == 0,
		"SVMClassifier: support_vectors do not match vectors_per_class"
	);
	let features = support_vectors.len() / vectors;
	ensure!(features > 0, "SVMClassifier: no features");
	ensure!(
		coefficients.len() == (labels.len() - 1) * vectors,
		"SVMClassifier: {} coefficients, {} expected",
		coefficients.len(),
		(labels.len() - 1) * vectors
	);
	let svc = Svc { kernel, features, support_vectors, classes, coefficients, rho, labels };
	ensure!(svc.rho.len() == svc.pairs(), "SVMClassifier: one rho per pair of classes");
	Ok((expand(SvmClassifier(Shared(Arc::new(svc)))), vec![]))
}

/// The classifier as tract's parser sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SvmClassifier(Shared<Svc>);

impl Expansion for SvmClassifier {
	fn name(&self) -> StaticName {
		"SVMClassifier".into()
	}

	fn nboutputs(&self) -> TractResult<usize> {
		Ok(2)
	}

	fn rules<'r, 'p: 'r, 's: 'r>(
		&'s self,
		s: &mut Solver<'r>,
		inputs: &'p [TensorProxy],
		outputs: &'p [TensorProxy],
	) -> InferenceResult {
		classifier_rules(s, inputs, outputs, self.0.pairs())?;
		s.equals(&inputs[0].rank, 2)?;
		s.equals(&inputs[0].shape[1], self.0.features.to_dim())?;
		Ok(())
	}

	fn wire(
		&self,
		prefix: &str,
		model: &mut TypedModel,
		inputs: &[OutletId],
	) -> TractResult<TVec<OutletId>> {
		model.wire_node(prefix, TypedSvmClassifier(self.0.clone()), inputs)
	}
}

/// The classifier in a typed (runnable) model.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TypedSvmClassifier(Shared<Svc>);

impl Op for TypedSvmClassifier {
	fn name(&self) -> StaticName {
		"SVMClassifier".into()
	}

	op_as_typed_op!();
}

impl EvalOp for TypedSvmClassifier {
	op_out_of_plan!();

	fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
		let input = args_1!(inputs);
		let input = input.cast_to::<f32>()?;
		let rows = input.shape()[0];
		let data: Vec<f32> = input.to_plain_array_view::<f32>()?.iter().copied().collect();
		let (labels, scores) = self.0.eval(&data, rows);
		let labels = tract_ndarray::Array1::from_vec(labels).into_dyn();
		let scores =
			tract_ndarray::Array2::from_shape_vec((rows, self.0.pairs()), scores)?.into_dyn();
		Ok(tvec!(labels.into_tvalue(), scores.into_tvalue()))
	}
}

impl TypedOp for TypedSvmClassifier {
	fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
		Ok(classifier_facts(inputs[0], self.0.pairs()))
	}

	as_op!();
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn votes_go_by_the_sign_of_each_pairs_score_and_ties_to_the_lower_class() {
		// Three classes, one support vector each, linear kernel, features 1.
		let svc = Svc {
			kernel: Kernel::Linear,
			features: 1,
			support_vectors: vec![1.0, 1.0, 1.0],
			classes: vec![(0, 1), (1, 1), (2, 1)],
			// Every pair's score is x * (c_i + c_j) + rho.
			coefficients: vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
			rho: vec![0.0, -10.0, 10.0],
			labels: vec![7, 8, 9],
		};
		// x = 1: pair (0,1) 2 > 0 -> 0; (0,2) -8 -> 2; (1,2) 12 -> 1: a
		// three-way tie goes to the first class.
		let (labels, scores) = svc.eval(&[1.0], 1);
		assert_eq!(labels, vec![7]);
		assert_eq!(scores, vec![2.0, -8.0, 12.0]);
		// x = 6: (0,1) 12 -> 0; (0,2) 2 -> 0; (1,2) 22 -> 1: class 0 wins.
		assert_eq!(svc.eval(&[6.0], 1).0, vec![7]);
		// x = -6: (0,1) -12 -> 1; (0,2) -22 -> 2; (1,2) -2 -> 2: class 2 wins.
		assert_eq!(svc.eval(&[-6.0], 1).0, vec![9]);
	}
}
