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
//! Trees are stored as compact arrays: one [`Node`] per decision node with
//! its feature, threshold, comparison and both children, where a child is
//! either another node or a leaf (an index into the leaves' contributions),
//! so that a row walks from root to leaf in `depth` steps. Every comparison
//! mode (`BRANCH_LEQ`, `BRANCH_LT`, `BRANCH_GTE`, `BRANCH_GT`, `BRANCH_EQ`,
//! `BRANCH_NEQ`), missing-value tracking (`nodes_missing_value_tracks_true`),
//! every `aggregate_function` (`SUM`, `AVERAGE`, `MIN`, `MAX`), `base_values`
//! and the `NONE`, `LOGISTIC`, `SOFTMAX` and `SOFTMAX_ZERO` post transforms
//! are supported (`PROBIT` is refused as unsupported).
//!
//! Results are deterministic: trees are summed in the order they appear in
//! the model, in `f32`, as onnxruntime does for float inputs.

use std::{collections::HashMap, sync::Arc};

use tract_onnx::{
	model::{OnnxOpRegister, ParsingContext},
	pb::NodeProto,
	tract_hir::internal::*,
};

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

/// How a decision node compares a feature with its threshold; `true` takes
/// the true branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmp {
	Leq,
	Lt,
	Gte,
	Gt,
	Eq,
	Neq,
}

impl Cmp {
	fn parse(mode: &str) -> TractResult<Option<Cmp>> {
		Ok(Some(match mode {
			"BRANCH_LEQ" => Cmp::Leq,
			"BRANCH_LT" => Cmp::Lt,
			"BRANCH_GTE" => Cmp::Gte,
			"BRANCH_GT" => Cmp::Gt,
			"BRANCH_EQ" => Cmp::Eq,
			"BRANCH_NEQ" => Cmp::Neq,
			"LEAF" => return Ok(None),
			other => bail!("unknown tree node mode {other}"),
		}))
	}

	#[inline]
	fn holds(self, x: f32, threshold: f32) -> bool {
		match self {
			Cmp::Leq => x <= threshold,
			Cmp::Lt => x < threshold,
			Cmp::Gte => x >= threshold,
			Cmp::Gt => x > threshold,
			Cmp::Eq => x == threshold,
			Cmp::Neq => x != threshold,
		}
	}
}

/// Where a branch leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Child {
	/// Another decision node (index into [`Ensemble::nodes`]).
	Node(u32),
	/// A leaf (index into [`Ensemble::leaves`]).
	Leaf(u32),
}

/// A decision node.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Node {
	feature: u32,
	threshold: f32,
	cmp: Cmp,
	/// Where a missing (NaN) feature goes: the true branch, or wherever the
	/// comparison sends it (NaN compares false except under `BRANCH_NEQ`).
	missing_true: bool,
	if_true: Child,
	if_false: Child,
}

/// How the trees' values are combined per target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Aggregate {
	Sum,
	Average,
	Min,
	Max,
}

/// What is applied to the aggregated scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PostTransform {
	None,
	Logistic,
	Softmax,
	SoftmaxZero,
}

/// A parsed ensemble.
#[derive(Debug, PartialEq)]
struct Ensemble {
	/// Each tree's root.
	roots: Vec<Child>,
	nodes: Vec<Node>,
	/// Each leaf's contributions: `(target, weight)`.
	leaves: Vec<Vec<(u32, f32)>>,
	n_targets: usize,
	n_features: usize,
	base_values: Vec<f32>,
	aggregate: Aggregate,
	post_transform: PostTransform,
}

impl Ensemble {
	fn leaf_of(&self, root: Child, row: &[f32]) -> u32 {
		let mut at = root;
		loop {
			match at {
				Child::Leaf(leaf) => return leaf,
				Child::Node(i) => {
					let n = &self.nodes[i as usize];
					let x = row[n.feature as usize];
					let go_true = if x.is_nan() && n.missing_true {
						true
					} else {
						n.cmp.holds(x, n.threshold)
					};
					at = if go_true { n.if_true } else { n.if_false };
				}
			}
		}
	}

	/// Scores of one row into `out` (`n_targets` values).
	#[cfg(test)]
	fn score(&self, row: &[f32], out: &mut [f32]) {
		let mut has = vec![false; self.n_targets];
		self.accumulate(row, row.len(), out, &mut has);
		self.finish(out);
	}

	/// A row's aggregated values (`out`) become its scores: the average
	/// taken, base values added, the post transform applied.
	fn finish(&self, out: &mut [f32]) {
		if self.aggregate == Aggregate::Average && !self.roots.is_empty() {
			let n = self.roots.len() as f32;
			out.iter_mut().for_each(|o| *o /= n);
		}
		for (o, b) in out.iter_mut().zip(&self.base_values) {
			*o += b;
		}
		match self.post_transform {
			PostTransform::None => {}
			PostTransform::Logistic => out.iter_mut().for_each(|o| *o = logistic(*o)),
			PostTransform::Softmax => softmax(out, false),
			PostTransform::SoftmaxZero => softmax(out, true),
		}
	}

	/// Every tree's leaf values of each row of `data` (rows of `features`
	/// values), aggregated per row and target into `out` (rows of
	/// `n_targets`); `has`: some leaf had a value for that row and target.
	/// Tree by tree, all rows through one tree before the next, so that a
	/// tree stays in cache; each row still adds its trees in model order, so
	/// the result does not depend on the batch.
	fn accumulate(&self, data: &[f32], features: usize, out: &mut [f32], has: &mut [bool]) {
		out.iter_mut().for_each(|o| *o = 0.0);
		has.iter_mut().for_each(|h| *h = false);
		let n = self.n_targets;
		for root in &self.roots {
			for (r, row) in data.chunks_exact(features.max(1)).enumerate() {
				let leaf = self.leaf_of(*root, row);
				let (out, has) = (&mut out[r * n..(r + 1) * n], &mut has[r * n..(r + 1) * n]);
				for (target, weight) in &self.leaves[leaf as usize] {
					let (t, w) = (*target as usize, *weight);
					out[t] = match self.aggregate {
						Aggregate::Sum | Aggregate::Average => out[t] + w,
						Aggregate::Min if has[t] => out[t].min(w),
						Aggregate::Max if has[t] => out[t].max(w),
						Aggregate::Min | Aggregate::Max => w,
					};
					has[t] = true;
				}
			}
		}
	}

	/// Scores of every row of `data`, a row-major `[rows, features]` (or
	/// `[features]`) tensor of `shape`.
	fn eval(&self, data: &[f32], shape: &[usize]) -> TractResult<Tensor> {
		let (rows, features) = self.rows(data, shape)?;
		let mut out = vec![0f32; rows * self.n_targets];
		let mut has = vec![false; rows * self.n_targets];
		self.accumulate(&data[..rows * features], features, &mut out, &mut has);
		for row in out.chunks_exact_mut(self.n_targets) {
			self.finish(row);
		}
		Tensor::from_shape(&[rows, self.n_targets], &out)
	}

	/// The rows and features of a row-major `[rows, features]` (or
	/// `[features]`) input, checked against the features the trees use.
	fn rows(&self, data: &[f32], shape: &[usize]) -> TractResult<(usize, usize)> {
		let rows = if shape.len() == 1 { 1 } else { shape.first().copied().unwrap_or(1) };
		let features = data.len().checked_div(rows).unwrap_or(0);
		ensure!(
			rows == 0 || features >= self.n_features,
			"the trees use {} features, the input has {features}",
			self.n_features
		);
		Ok((rows, features))
	}
}

/// The logistic function, computed as onnxruntime does (from `|x|`, so
/// that large negative scores do not overflow `exp`).
fn logistic(x: f32) -> f32 {
	let v = 1.0 / (1.0 + (-x.abs()).exp());
	if x < 0.0 {
		1.0 - v
	} else {
		v
	}
}

/// Softmax over `v`; with `skip_zeros`, zeros stay zero and take no share.
fn softmax(v: &mut [f32], skip_zeros: bool) {
	let counts = |x: &f32| !skip_zeros || *x != 0.0;
	let max = v.iter().filter(|x| counts(x)).fold(f32::NEG_INFINITY, |m, x| m.max(*x));
	let mut sum = 0.0;
	for x in v.iter_mut() {
		if counts(x) {
			*x = (*x - max).exp();
			sum += *x;
		}
	}
	if sum > 0.0 {
		v.iter_mut().filter(|x| !skip_zeros || **x != 0.0).for_each(|x| *x /= sum);
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

/// Which operator's attributes [`parse`] reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
	/// `TreeEnsembleRegressor`: `target_*` leaves, `n_targets` outputs.
	Regressor,
	/// `TreeEnsembleClassifier`: `class_*` leaves, one score per class.
	Classifier {
		/// The number of class labels.
		classes: usize,
	},
}

fn parse(node: &NodeProto, kind: Kind) -> TractResult<Ensemble> {
	let tree_ids: Vec<i64> = node.get_attr_vec("nodes_treeids")?;
	let node_ids: Vec<i64> = node.get_attr_vec("nodes_nodeids")?;
	let features: Vec<i64> = node.get_attr_vec("nodes_featureids")?;
	let modes: Vec<String> = node.get_attr_vec("nodes_modes")?;
	let trues: Vec<i64> = node.get_attr_vec("nodes_truenodeids")?;
	let falses: Vec<i64> = node.get_attr_vec("nodes_falsenodeids")?;
	let values = attr_floats(node, "nodes_values")?.unwrap_or_default();
	let n = tree_ids.len();
	let missing: Vec<i64> =
		node.get_attr_opt_vec("nodes_missing_value_tracks_true")?.unwrap_or_else(|| vec![0; n]);
	for (what, len) in [
		("nodes_nodeids", node_ids.len()),
		("nodes_featureids", features.len()),
		("nodes_modes", modes.len()),
		("nodes_truenodeids", trues.len()),
		("nodes_falsenodeids", falses.len()),
		("nodes_values", values.len()),
		("nodes_missing_value_tracks_true", missing.len()),
	] {
		ensure!(len == n, "{what} has {len} entries, nodes_treeids {n}");
	}
	let n_targets: i64 = match kind {
		Kind::Regressor => node.get_attr_opt("n_targets")?.unwrap_or(1),
		Kind::Classifier { classes } => classes as i64,
	};
	ensure!((1..=1 << 16).contains(&n_targets), "{n_targets} targets or classes: out of range");
	let n_targets = n_targets as usize;

	// Leaves first (their index is their position among the LEAF entries),
	// then decision nodes, each found by (tree, node id).
	let mut cmps = Vec::with_capacity(n);
	for m in &modes {
		cmps.push(Cmp::parse(m)?);
	}
	let mut child_of: HashMap<(i64, i64), Child> = HashMap::new();
	let (mut n_nodes, mut n_leaves) = (0u32, 0u32);
	for i in 0..n {
		let child = match cmps[i] {
			Some(_) => {
				n_nodes += 1;
				Child::Node(n_nodes - 1)
			}
			None => {
				n_leaves += 1;
				Child::Leaf(n_leaves - 1)
			}
		};
		ensure!(
			child_of.insert((tree_ids[i], node_ids[i]), child).is_none(),
			"node {} of tree {} appears twice",
			node_ids[i],
			tree_ids[i]
		);
	}
	let find = |tree: i64, id: i64| {
		child_of
			.get(&(tree, id))
			.copied()
			.ok_or_else(|| format_err!("tree {tree} has no node {id}"))
	};
	let mut nodes = Vec::with_capacity(n_nodes as usize);
	let mut n_features = 0usize;
	let mut referenced = std::collections::HashSet::new();
	for i in 0..n {
		let Some(cmp) = cmps[i] else { continue };
		let feature = usize::try_from(features[i]).map_err(|_| format_err!("negative feature"))?;
		n_features = n_features.max(feature + 1);
		let (t, f) = (find(tree_ids[i], trues[i])?, find(tree_ids[i], falses[i])?);
		referenced.insert((tree_ids[i], trues[i]));
		referenced.insert((tree_ids[i], falses[i]));
		nodes.push(Node {
			feature: feature as u32,
			threshold: values[i],
			cmp,
			missing_true: missing[i] != 0,
			if_true: t,
			if_false: f,
		});
	}
	// A tree's root is its one node no other node points to; trees in the
	// order they first appear.
	let mut roots = Vec::new();
	let mut seen = std::collections::HashSet::new();
	for i in 0..n {
		if !referenced.contains(&(tree_ids[i], node_ids[i])) {
			ensure!(seen.insert(tree_ids[i]), "tree {} has more than one root", tree_ids[i]);
			roots.push(find(tree_ids[i], node_ids[i])?);
		}
	}
	// A cycle would make a walk endless: every node must be reachable from
	// a root in fewer steps than there are nodes.
	ensure!(
		seen.len() == tree_ids.iter().collect::<std::collections::HashSet<_>>().len(),
		"a tree without a root"
	);

	let prefix = match kind {
		Kind::Regressor => "target",
		Kind::Classifier { .. } => "class",
	};
	let t_trees: Vec<i64> = node.get_attr_vec(&format!("{prefix}_treeids"))?;
	let t_nodes: Vec<i64> = node.get_attr_vec(&format!("{prefix}_nodeids"))?;
	let t_ids: Vec<i64> = node.get_attr_vec(&format!("{prefix}_ids"))?;
	let t_weights = attr_floats(node, &format!("{prefix}_weights"))?.unwrap_or_default();
	ensure!(
		t_nodes.len() == t_trees.len()
			&& t_ids.len() == t_trees.len()
			&& t_weights.len() == t_trees.len(),
		"{prefix}_* attributes differ in length"
	);
	let mut leaves = vec![Vec::new(); n_leaves as usize];
	for i in 0..t_trees.len() {
		let Child::Leaf(leaf) = find(t_trees[i], t_nodes[i])? else {
			bail!("a target weight on a decision node");
		};
		let target = usize::try_from(t_ids[i]).ok().filter(|t| *t < n_targets);
		let target = target.ok_or_else(|| format_err!("target id {} out of range", t_ids[i]))?;
		leaves[leaf as usize].push((target as u32, t_weights[i]));
	}
	let base_values = attr_floats(node, "base_values")?.unwrap_or_default();
	// A two-class classifier may have one base value (its single score's).
	let one_for_two = kind == Kind::Classifier { classes: 2 } && base_values.len() == 1;
	ensure!(
		base_values.is_empty() || base_values.len() == n_targets || one_for_two,
		"base_values has {} entries for {n_targets} targets",
		base_values.len()
	);
	let aggregate = match node.get_attr_opt::<&str>("aggregate_function")?.unwrap_or("SUM") {
		"SUM" => Aggregate::Sum,
		"AVERAGE" => Aggregate::Average,
		"MIN" => Aggregate::Min,
		"MAX" => Aggregate::Max,
		other => bail!("unknown aggregate_function {other}"),
	};
	let post_transform = match node.get_attr_opt::<&str>("post_transform")?.unwrap_or("NONE") {
		"NONE" => PostTransform::None,
		"LOGISTIC" => PostTransform::Logistic,
		"SOFTMAX" => PostTransform::Softmax,
		"SOFTMAX_ZERO" => PostTransform::SoftmaxZero,
		other => bail!("post_transform {other} is not supported"),
	};
	let ensemble = Ensemble {
		roots,
		nodes,
		leaves,
		n_targets,
		n_features,
		base_values,
		aggregate,
		post_transform,
	};
	ensemble.check_acyclic()?;
	Ok(ensemble)
}

impl Ensemble {
	/// Refuses trees with a cycle or depth beyond the node count, which
	/// would make a walk endless.
	fn check_acyclic(&self) -> TractResult<()> {
		let limit = self.nodes.len() + 1;
		for root in &self.roots {
			let mut stack = vec![(*root, 0usize)];
			while let Some((at, depth)) = stack.pop() {
				ensure!(depth <= limit, "a tree has a cycle");
				if let Child::Node(i) = at {
					let n = &self.nodes[i as usize];
					stack.push((n.if_true, depth + 1));
					stack.push((n.if_false, depth + 1));
				}
			}
		}
		Ok(())
	}
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
	Ok((expand(TreeRegressor(Shared(Arc::new(parse(node, Kind::Regressor)?)))), vec![]))
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
		s.equals(&outputs[0].shape[1], self.0.n_targets.to_dim())?;
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
		let scores = self.0.eval(&data, input.shape())?;
		Ok(tvec!(scores.into_tvalue()))
	}
}

impl TypedOp for TypedTreeRegressor {
	fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
		let rows = inputs[0].shape[0].clone();
		Ok(tvec!(f32::fact(&[rows, self.0.n_targets.to_dim()])))
	}

	as_op!();
}

/// A parsed `TreeEnsembleClassifier`: the trees (summed per class, without
/// base values or transform) and what onnxruntime does with their sums.
#[derive(Debug, PartialEq)]
struct ClassifierSpec {
	trees: Ensemble,
	/// `classlabels_int64s`.
	labels: Vec<i64>,
	base_values: Vec<f32>,
	post_transform: PostTransform,
	/// Two classes and every vote for one class id: onnxruntime's binary
	/// case, where the sum is one score and the second column derives
	/// from it.
	binary: bool,
	/// No vote weight is negative (then the binary score is a probability).
	weights_positive: bool,
}

impl ClassifierSpec {
	/// The label and the class scores (`out`, one per class) of one row.
	#[cfg(test)]
	fn classify(&self, row: &[f32], out: &mut [f32], has: &mut [bool]) -> i64 {
		self.trees.accumulate(row, row.len(), out, has);
		self.finish(out, has)
	}

	/// A row's class sums (`out`, with `has`) become its label and scores.
	fn finish(&self, out: &mut [f32], has: &mut [bool]) -> i64 {
		if self.labels.len() > 2 {
			for (k, b) in self.base_values.iter().enumerate() {
				out[k] += b;
				has[k] = true;
			}
			// The first class with the highest sum among classes that got
			// a value; ties go to the lower index.
			let mut best: Option<usize> = None;
			for k in 0..out.len() {
				if has[k] && best.is_none_or(|b| out[k] > out[b]) {
					best = Some(k);
				}
			}
			self.transform(out);
			return self.labels[best.unwrap_or(0)];
		}
		// Two classes.
		let mut second_column = SecondColumn::None;
		let mut single = false;
		match self.base_values.len() {
			// onnxruntime's rule for two base values with votes for the
			// second class: only the second base value counts.
			2 if has[1] => {
				out[1] = self.base_values[1] + out[0];
				out[0] = -out[1];
			}
			2 => {
				out[0] += self.base_values[0];
				out[1] += self.base_values[1];
			}
			1 => {
				out[0] += self.base_values[0];
				single = !has[1];
			}
			_ => {
				second_column = SecondColumn::Opposite;
				single = !has[1];
			}
		}
		let positive = if !single && has[1] {
			out[1]
		} else if has[0] {
			out[0]
		} else {
			0.0
		};
		let label = if self.binary {
			let (wins, column) = if self.weights_positive {
				(positive > 0.5, SecondColumn::Complement)
			} else {
				(positive > 0.0, SecondColumn::Opposite)
			};
			second_column = column;
			self.labels[wins as usize]
		} else {
			(positive > 0.0) as i64
		};
		if !single {
			self.transform(out);
			return label;
		}
		let score = out[0];
		(out[0], out[1]) = match second_column {
			SecondColumn::Complement => (1.0 - score, score),
			SecondColumn::Opposite if self.post_transform == PostTransform::Logistic => {
				(logistic(-score), logistic(score))
			}
			SecondColumn::Opposite => (-score, score),
			SecondColumn::None => (score, 0.0),
		};
		label
	}

	/// The post transform of every class score.
	fn transform(&self, out: &mut [f32]) {
		match self.post_transform {
			PostTransform::None => {}
			PostTransform::Logistic => out.iter_mut().for_each(|o| *o = logistic(*o)),
			PostTransform::Softmax => softmax(out, false),
			PostTransform::SoftmaxZero => softmax(out, true),
		}
	}

	/// Labels (`[rows]`) and scores (`[rows, classes]`) of every row.
	fn eval(&self, data: &[f32], shape: &[usize]) -> TractResult<(Tensor, Tensor)> {
		let (rows, features) = self.trees.rows(data, shape)?;
		let classes = self.labels.len();
		let mut scores = vec![0f32; rows * classes];
		let mut has = vec![false; rows * classes];
		self.trees.accumulate(&data[..rows * features], features, &mut scores, &mut has);
		let labels: Vec<i64> = scores
			.chunks_exact_mut(classes)
			.zip(has.chunks_exact_mut(classes))
			.map(|(out, has)| self.finish(out, has))
			.collect();
		Ok((Tensor::from_shape(&[rows], &labels)?, Tensor::from_shape(&[rows, classes], &scores)?))
	}
}

/// How a two-class model's single score becomes two columns.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SecondColumn {
	/// Left as it is (no second column's value: 0).
	None,
	/// `[1 - s, s]`: the score is the positive class's probability.
	Complement,
	/// `[-s, s]`, or `[logistic(-s), logistic(s)]` under `LOGISTIC`.
	Opposite,
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
	ensure!(labels.len() >= 2, "a classifier needs two class labels or more");
	let mut trees = parse(node, Kind::Classifier { classes: labels.len() })?;
	let weights = attr_floats(node, "class_weights")?.unwrap_or_default();
	let ids: std::collections::HashSet<i64> =
		node.get_attr_vec::<i64>("class_ids")?.into_iter().collect();
	let spec = ClassifierSpec {
		binary: labels.len() == 2 && ids.len() == 1,
		labels,
		base_values: core::mem::take(&mut trees.base_values),
		post_transform: core::mem::replace(&mut trees.post_transform, PostTransform::None),
		weights_positive: weights.iter().all(|w| *w >= 0.0),
		trees,
	};
	Ok((expand(TreeClassifier(Shared(Arc::new(spec)))), vec![]))
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
struct TreeClassifier(Shared<ClassifierSpec>);

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
struct TypedTreeClassifier(Shared<ClassifierSpec>);

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
		let (labels, scores) = self.0.eval(&data, input.shape())?;
		Ok(tvec!(labels.into_tvalue(), scores.into_tvalue()))
	}
}

impl TypedOp for TypedTreeClassifier {
	fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
		Ok(classifier_facts(inputs[0], self.0.labels.len()))
	}

	as_op!();
}

#[cfg(test)]
mod tests {
	use super::*;

	/// One split on feature 0 (`BRANCH_LEQ 0.5`) with leaves worth 1 and 2.
	fn stump(missing_true: bool) -> Ensemble {
		Ensemble {
			roots: vec![Child::Node(0)],
			nodes: vec![Node {
				feature: 0,
				threshold: 0.5,
				cmp: Cmp::Leq,
				missing_true,
				if_true: Child::Leaf(0),
				if_false: Child::Leaf(1),
			}],
			leaves: vec![vec![(0, 1.0)], vec![(0, 2.0)]],
			n_targets: 1,
			n_features: 1,
			base_values: vec![],
			aggregate: Aggregate::Sum,
			post_transform: PostTransform::None,
		}
	}

	fn score(e: &Ensemble, x: f32) -> f32 {
		let mut out = [0.0];
		e.score(&[x], &mut out);
		out[0]
	}

	#[test]
	fn a_missing_value_follows_its_tracking_flag() {
		assert_eq!(score(&stump(true), f32::NAN), 1.0, "tracked: the true branch");
		assert_eq!(score(&stump(false), f32::NAN), 2.0, "untracked: NaN <= 0.5 is false");
		assert_eq!(score(&stump(false), 0.5), 1.0);
		assert_eq!(score(&stump(false), 0.6), 2.0);
	}

	#[test]
	fn a_cyclic_tree_is_refused() {
		let mut e = stump(false);
		e.nodes[0].if_false = Child::Node(0);
		assert!(e.check_acyclic().is_err());
		assert!(stump(false).check_acyclic().is_ok());
	}

	/// Three classes: the stump votes for class 0 or 2 only.
	fn three_classes(left: f32, right: f32) -> ClassifierSpec {
		let mut trees = stump(false);
		trees.leaves = vec![vec![(0, left)], vec![(2, right)]];
		trees.n_targets = 3;
		ClassifierSpec {
			trees,
			labels: vec![10, 20, 30],
			base_values: vec![],
			post_transform: PostTransform::None,
			binary: false,
			weights_positive: true,
		}
	}

	#[test]
	fn a_class_without_votes_never_wins_and_ties_go_to_the_lower_class() {
		let c = three_classes(-1.0, 0.0);
		let (mut out, mut has) = ([0.0; 3], [false; 3]);
		// Class 0 gets -1: still the label, not the vote-less class 1 at 0.
		assert_eq!(c.classify(&[0.1], &mut out, &mut has), 10);
		assert_eq!(out, [-1.0, 0.0, 0.0]);
		assert_eq!(c.classify(&[0.9], &mut out, &mut has), 30);
		let mut c = three_classes(1.0, 1.0);
		// Class 1 has only its base value (3) and wins over 1 + 1.
		c.base_values = vec![1.0, 3.0, 1.0];
		assert_eq!(c.classify(&[0.1], &mut out, &mut has), 20);
		// Equal sums (2 and 2): the lower class wins.
		c.base_values = vec![1.0, 2.0, 1.0];
		assert_eq!(c.classify(&[0.1], &mut out, &mut has), 10);
	}

	#[test]
	fn a_binary_probability_becomes_two_columns() {
		let mut c = three_classes(0.3, 0.8);
		c.trees.leaves = vec![vec![(0, 0.3)], vec![(0, 0.8)]];
		c.trees.n_targets = 2;
		c.labels = vec![0, 1];
		c.binary = true;
		let (mut out, mut has) = ([0.0; 2], [false; 2]);
		assert_eq!(c.classify(&[0.1], &mut out, &mut has), 0);
		assert!((out[0] - 0.7).abs() < 1e-6 && (out[1] - 0.3).abs() < 1e-6);
		assert_eq!(c.classify(&[0.9], &mut out, &mut has), 1);
		// A margin with weights of both signs and a logistic transform.
		c.weights_positive = false;
		c.post_transform = PostTransform::Logistic;
		assert_eq!(c.classify(&[0.1], &mut out, &mut has), 1);
		assert!((out[1] - logistic(0.3)).abs() < 1e-7 && (out[0] - logistic(-0.3)).abs() < 1e-7);
	}

	#[test]
	fn a_batch_scores_each_row_bit_for_bit_as_alone() {
		// Two stumps summed, with values whose sums round differently in
		// another order; rows through the batch path and one by one.
		let mut e = stump(true);
		e.roots = vec![Child::Node(0), Child::Node(0), Child::Node(0)];
		e.leaves = vec![vec![(0, 0.1)], vec![(0, 1e8)]];
		e.post_transform = PostTransform::Logistic;
		let rows = [0.1, 0.9, f32::NAN, 0.7];
		let batch = e.eval(&rows, &[4, 1]).unwrap();
		let batch: Vec<f32> = batch.to_plain_array_view::<f32>().unwrap().iter().copied().collect();
		for (x, b) in rows.iter().zip(&batch) {
			let alone = e.eval(&[*x], &[1, 1]).unwrap();
			assert_eq!(alone.to_plain_array_view::<f32>().unwrap()[[0, 0]].to_bits(), b.to_bits());
		}
	}

	#[test]
	fn rows_are_scored_independently() {
		let t = stump(false).eval(&[0.1, 0.9, f32::NAN], &[3, 1]).unwrap();
		let v: Vec<f32> = t.to_plain_array_view::<f32>().unwrap().iter().copied().collect();
		assert_eq!(v, [1.0, 2.0, 2.0]);
	}
}
