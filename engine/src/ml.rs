//! ai.onnx.ml operators tract 0.23 lacks or gets wrong, as operators of ours
//! registered with tract's ONNX parser ([`register`], through
//! `Onnx::op_register`): `TreeEnsembleRegressor`, `TreeEnsembleClassifier`
//! and `Scaler`.
//!
//! tract's own `TreeEnsembleClassifier` finds each leaf's votes by skipping
//! through the whole votes table, which makes forests about 100 times slower
//! than onnxruntime, and gets two-class models wrong (labels and scores of
//! scikit-learn's binary forests, LightGBM's and XGBoost's binary boosters;
//! a single base value refused). Ours shares the regressor's trees and
//! follows onnxruntime's rules for labels and scores, including its binary
//! cases (one score column turned into two).
//!
//! The trees themselves (parsing their attributes, checking them, walking
//! them, the classifier's rules) are [`verity_interp::trees`]: one
//! implementation that this engine and the consensus interpreter both run,
//! so that a tree model gives the same bits on an executor and inside the
//! runtime. This module reads the attributes from the ONNX node and wires
//! the ensembles into tract.

use std::sync::Arc;

use tract_onnx::{
	model::{OnnxOpRegister, ParsingContext},
	pb::NodeProto,
	tract_hir::internal::*,
};
use verity_interp::trees::{Classifier, Ensemble, TreeAttributes};

/// Registers our operators with tract's ONNX parser.
pub fn register(reg: &mut OnnxOpRegister) {
	reg.insert("TreeEnsembleRegressor", regressor);
	reg.insert("TreeEnsembleClassifier", classifier);
	reg.insert("Scaler", scaler);
	reg.insert("ArrayFeatureExtractor", |_, _| Ok((expand(FeatureExtractor), vec![])));
}

/// ai.onnx.ml `ArrayFeatureExtractor`: the elements at `indices` along the
/// last axis, as onnxruntime computes it: the output keeps the input's rank,
/// its last dimension the number of indices (skl2onnx's SVM and linear
/// classifiers pick single columns with a scalar index, which tract's own
/// operator, a `Gather`, turns into a rank lower). Wired as a `Gather` on the
/// last axis with the indices flattened.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FeatureExtractor;

impl Expansion for FeatureExtractor {
	fn name(&self) -> StaticName {
		"ArrayFeatureExtractor".into()
	}

	fn rules<'r, 'p: 'r, 's: 'r>(
		&'s self,
		s: &mut Solver<'r>,
		inputs: &'p [TensorProxy],
		outputs: &'p [TensorProxy],
	) -> InferenceResult {
		check_input_arity(inputs, 2)?;
		check_output_arity(outputs, 1)?;
		s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
		s.equals(&inputs[1].datum_type, i64::datum_type())?;
		s.equals(&inputs[0].rank, &outputs[0].rank)?;
		s.given_2(&inputs[0].shape, &inputs[1].shape, move |s, input, indices| {
			let count: TDim = indices.iter().product();
			let mut shape: TVec<TDim> =
				input.iter().take(input.len().saturating_sub(1)).cloned().collect();
			shape.push(count);
			s.equals(&outputs[0].shape, shape)
		})
	}

	fn wire(
		&self,
		prefix: &str,
		model: &mut TypedModel,
		inputs: &[OutletId],
	) -> TractResult<TVec<OutletId>> {
		let rank = model.outlet_fact(inputs[0])?.rank();
		ensure!(rank >= 1, "ArrayFeatureExtractor needs an input of rank 1 or more");
		// The indices, flattened to one axis.
		use tract_onnx::tract_core::ops::change_axes::AxisOp;
		let dims: TVec<TDim> = model.outlet_fact(inputs[1])?.shape.to_tvec();
		let flat = match dims.len() {
			1 => inputs[1],
			0 => model.wire_node(format!("{prefix}.indices"), AxisOp::Add(0), &[inputs[1]])?[0],
			_ => {
				let count: TDim = dims.iter().product();
				let reshape = AxisOp::Reshape(0, dims, tvec![count]);
				model.wire_node(format!("{prefix}.indices"), reshape, &[inputs[1]])?[0]
			}
		};
		model.wire_node(
			prefix,
			tract_onnx::tract_core::ops::array::Gather::new(rank - 1),
			&[inputs[0], flat],
		)
	}
}

/// ai.onnx.ml `Scaler`: `y = (x - offset) * scale`, per feature (the last
/// axis) or for all features, as float. Wired as tract's own subtraction and
/// multiplication by constants.
#[derive(Debug, Clone, PartialEq)]
struct Scaler {
	offset: Vec<f32>,
	scale: Vec<f32>,
}

fn scaler(
	_ctx: &ParsingContext,
	node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
	let offset = attr_floats(node, "offset")?.unwrap_or_else(|| vec![0.0]);
	let scale = attr_floats(node, "scale")?.unwrap_or_else(|| vec![1.0]);
	ensure!(!offset.is_empty() && !scale.is_empty(), "Scaler needs offset and scale values");
	Ok((expand(Scaler { offset, scale }), vec![]))
}

impl Expansion for Scaler {
	fn name(&self) -> StaticName {
		"Scaler".into()
	}

	fn rules<'r, 'p: 'r, 's: 'r>(
		&'s self,
		s: &mut Solver<'r>,
		inputs: &'p [TensorProxy],
		outputs: &'p [TensorProxy],
	) -> InferenceResult {
		check_input_arity(inputs, 1)?;
		check_output_arity(outputs, 1)?;
		s.equals(&outputs[0].datum_type, DatumType::F32)?;
		s.equals(&outputs[0].shape, &inputs[0].shape)?;
		Ok(())
	}

	fn wire(
		&self,
		prefix: &str,
		model: &mut TypedModel,
		inputs: &[OutletId],
	) -> TractResult<TVec<OutletId>> {
		let rank = model.outlet_fact(inputs[0])?.rank();
		let mut x = inputs[0];
		if model.outlet_fact(x)?.datum_type != DatumType::F32 {
			x = model.wire_node(
				format!("{prefix}.cast"),
				tract_onnx::tract_core::ops::cast::cast(DatumType::F32),
				&[x],
			)?[0];
		}
		let constant = |model: &mut TypedModel, name: &str, v: &[f32]| {
			let t = tensor1(v).broadcast_into_rank(rank.max(1))?.into_arc_tensor();
			model.add_const(format!("{prefix}.{name}"), t)
		};
		let offset = constant(model, "offset", &self.offset)?;
		let scale = constant(model, "scale", &self.scale)?;
		let centred = model.wire_node(
			format!("{prefix}.sub"),
			tract_onnx::tract_core::ops::math::sub(),
			&[x, offset],
		)?[0];
		model.wire_node(
			format!("{prefix}.mul"),
			tract_onnx::tract_core::ops::math::mul(),
			&[centred, scale],
		)
	}
}

pub(crate) fn attr_floats(node: &NodeProto, name: &str) -> TractResult<Option<Vec<f32>>> {
	if let Some(v) = node.get_attr_opt_vec::<f32>(name)? {
		return Ok(Some(v));
	}
	// ai.onnx.ml 3: the same values as a tensor attribute (float or double).
	let wanted = format!("{name}_as_tensor");
	let Some(t) = node.attribute.iter().find(|a| a.name == wanted).and_then(|a| a.t.as_ref())
	else {
		return Ok(None);
	};
	let values = match t.data_type {
		1 if !t.float_data.is_empty() => t.float_data.clone(),
		11 if !t.double_data.is_empty() => t.double_data.iter().map(|v| *v as f32).collect(),
		1 => {
			t.raw_data.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
		}
		11 => t
			.raw_data
			.chunks_exact(8)
			.map(|b| f64::from_le_bytes(b.try_into().unwrap()) as f32)
			.collect(),
		other => bail!("{wanted} has element type {other}"),
	};
	Ok(Some(values))
}

/// The attributes of a tree ensemble node, with the leaves' weights under
/// `prefix` (`target` for the regressor, `class` for the classifier).
pub(crate) fn tree_attributes<'a>(
	node: &'a NodeProto,
	prefix: &str,
) -> TractResult<TreeAttributes<'a>> {
	let strings = |name: &str| -> TractResult<Vec<&'a str>> {
		let Some(attr) = node.attribute.iter().find(|a| a.name == name) else {
			return Ok(vec![]);
		};
		attr.strings
			.iter()
			.map(|s| std::str::from_utf8(s).map_err(|_| format_err!("{name} is not UTF-8")))
			.collect()
	};
	let text = |name: &str| -> TractResult<Option<&'a str>> {
		let Some(attr) = node.attribute.iter().find(|a| a.name == name) else { return Ok(None) };
		Ok(Some(std::str::from_utf8(&attr.s).map_err(|_| format_err!("{name} is not UTF-8"))?))
	};
	let ints = |name: &str| -> TractResult<Vec<i64>> {
		Ok(node.get_attr_opt_vec(name)?.unwrap_or_default())
	};
	let floats =
		|name: &str| -> TractResult<Vec<f32>> { Ok(attr_floats(node, name)?.unwrap_or_default()) };
	Ok(TreeAttributes {
		tree_ids: node.get_attr_vec("nodes_treeids")?,
		node_ids: node.get_attr_vec("nodes_nodeids")?,
		feature_ids: node.get_attr_vec("nodes_featureids")?,
		modes: strings("nodes_modes")?,
		values: floats("nodes_values")?,
		true_ids: node.get_attr_vec("nodes_truenodeids")?,
		false_ids: node.get_attr_vec("nodes_falsenodeids")?,
		missing_tracks_true: ints("nodes_missing_value_tracks_true")?,
		weight_tree_ids: node.get_attr_vec(&format!("{prefix}_treeids"))?,
		weight_node_ids: node.get_attr_vec(&format!("{prefix}_nodeids"))?,
		weight_targets: node.get_attr_vec(&format!("{prefix}_ids"))?,
		weights: floats(&format!("{prefix}_weights"))?,
		base_values: floats("base_values")?,
		aggregate: text("aggregate_function")?,
		post_transform: text("post_transform")?,
	})
}

/// An error of the shared tree code as tract's.
fn tract_error(e: verity_interp::Error) -> TractError {
	format_err!("{e}")
}

/// A parsed operator shared by the parser's and the typed model's op
/// (tract clones ops): equal when it is the same one, or an equal one.
#[derive(Debug)]
pub(crate) struct Shared<S>(pub(crate) Arc<S>);

impl<S> Clone for Shared<S> {
	fn clone(&self) -> Self {
		Shared(self.0.clone())
	}
}

impl<S: PartialEq> PartialEq for Shared<S> {
	fn eq(&self, other: &Self) -> bool {
		Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
	}
}
impl<S: PartialEq> Eq for Shared<S> {}

impl<S> core::ops::Deref for Shared<S> {
	type Target = S;
	fn deref(&self) -> &S {
		&self.0
	}
}

/// The regressor as tract's parser sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TreeRegressor(Shared<Ensemble>);

fn regressor(
	_ctx: &ParsingContext,
	node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
	let attributes = tree_attributes(node, "target")?;
	let n_targets: i64 = node.get_attr_opt("n_targets")?.unwrap_or(1);
	let n_targets = usize::try_from(n_targets).map_err(|_| format_err!("n_targets {n_targets}"))?;
	let ensemble = Ensemble::build(&attributes, n_targets).map_err(tract_error)?;
	Ok((expand(TreeRegressor(Shared(Arc::new(ensemble)))), vec![]))
}

impl Expansion for TreeRegressor {
	fn name(&self) -> StaticName {
		"TreeEnsembleRegressor".into()
	}

	fn rules<'r, 'p: 'r, 's: 'r>(
		&'s self,
		s: &mut Solver<'r>,
		inputs: &'p [TensorProxy],
		outputs: &'p [TensorProxy],
	) -> InferenceResult {
		check_input_arity(inputs, 1)?;
		check_output_arity(outputs, 1)?;
		s.equals(&outputs[0].datum_type, DatumType::F32)?;
		s.equals(&outputs[0].rank, 2)?;
		s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
		s.equals(&outputs[0].shape[1], (self.0.n_targets as usize).to_dim())?;
		Ok(())
	}

	fn wire(
		&self,
		prefix: &str,
		model: &mut TypedModel,
		inputs: &[OutletId],
	) -> TractResult<TVec<OutletId>> {
		model.wire_node(prefix, TypedTreeRegressor(self.0.clone()), inputs)
	}
}

/// The regressor in a typed (runnable) model.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TypedTreeRegressor(Shared<Ensemble>);

impl Op for TypedTreeRegressor {
	fn name(&self) -> StaticName {
		"TreeEnsembleRegressor".into()
	}

	op_as_typed_op!();
}

impl EvalOp for TypedTreeRegressor {
	op_out_of_plan!();

	fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
		let input = args_1!(inputs);
		let input = input.cast_to::<f32>()?;
		let data: Vec<f32> = input.to_plain_array_view::<f32>()?.iter().copied().collect();
		let (rows, scores) = self.0.eval(&data, input.shape()).map_err(tract_error)?;
		let scores = Tensor::from_shape(&[rows, self.0.n_targets as usize], &scores)?;
		Ok(tvec!(scores.into_tvalue()))
	}
}

impl TypedOp for TypedTreeRegressor {
	fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
		let rows = inputs[0].shape[0].clone();
		Ok(tvec!(f32::fact(&[rows, (self.0.n_targets as usize).to_dim()])))
	}

	as_op!();
}

fn classifier(
	_ctx: &ParsingContext,
	node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
	ensure!(
		node.get_attr_opt_vec::<String>("classlabels_strings")?.is_none(),
		"string class labels are not supported"
	);
	let labels: Vec<i64> = node.get_attr_vec("classlabels_int64s")?;
	let attributes = tree_attributes(node, "class")?;
	let classifier = Classifier::build(&attributes, labels).map_err(tract_error)?;
	Ok((expand(TreeClassifier(Shared(Arc::new(classifier)))), vec![]))
}

/// The typing rules of an ai.onnx.ml classifier (trees, SVM): one input of
/// `rows` rows in, a label per row (`int64 [rows]`) and `columns` scores
/// per row (`float [rows, columns]`) out.
pub(crate) fn classifier_rules<'r, 'p: 'r>(
	s: &mut Solver<'r>,
	inputs: &'p [TensorProxy],
	outputs: &'p [TensorProxy],
	columns: usize,
) -> InferenceResult {
	check_input_arity(inputs, 1)?;
	check_output_arity(outputs, 2)?;
	s.equals(&outputs[0].datum_type, DatumType::I64)?;
	s.equals(&outputs[0].rank, 1)?;
	s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
	s.equals(&outputs[1].datum_type, DatumType::F32)?;
	s.equals(&outputs[1].rank, 2)?;
	s.equals(&outputs[1].shape[0], &inputs[0].shape[0])?;
	s.equals(&outputs[1].shape[1], columns.to_dim())?;
	Ok(())
}

/// The output facts of a classifier with `columns` scores per row of `input`.
pub(crate) fn classifier_facts(input: &TypedFact, columns: usize) -> TVec<TypedFact> {
	let rows = input.shape[0].clone();
	tvec!(i64::fact(std::slice::from_ref(&rows)), f32::fact(&[rows, columns.to_dim()]))
}

/// The classifier as tract's parser sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TreeClassifier(Shared<Classifier>);

impl Expansion for TreeClassifier {
	fn name(&self) -> StaticName {
		"TreeEnsembleClassifier".into()
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
		classifier_rules(s, inputs, outputs, self.0.labels.len())
	}

	fn wire(
		&self,
		prefix: &str,
		model: &mut TypedModel,
		inputs: &[OutletId],
	) -> TractResult<TVec<OutletId>> {
		model.wire_node(prefix, TypedTreeClassifier(self.0.clone()), inputs)
	}
}

/// The classifier in a typed (runnable) model.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TypedTreeClassifier(Shared<Classifier>);

impl Op for TypedTreeClassifier {
	fn name(&self) -> StaticName {
		"TreeEnsembleClassifier".into()
	}

	op_as_typed_op!();
}

impl EvalOp for TypedTreeClassifier {
	op_out_of_plan!();

	fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
		let input = args_1!(inputs);
		let input = input.cast_to::<f32>()?;
		let data: Vec<f32> = input.to_plain_array_view::<f32>()?.iter().copied().collect();
		let (rows, labels, scores) = self.0.eval(&data, input.shape()).map_err(tract_error)?;
		let labels = Tensor::from_shape(&[rows], &labels)?;
		let scores = Tensor::from_shape(&[rows, self.0.labels.len()], &scores)?;
		Ok(tvec!(labels.into_tvalue(), scores.into_tvalue()))
	}
}

impl TypedOp for TypedTreeClassifier {
	fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
		Ok(classifier_facts(inputs[0], self.0.labels.len()))
	}

	as_op!();
}
