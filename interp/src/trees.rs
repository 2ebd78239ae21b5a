//! Tree ensembles (ai.onnx.ml `TreeEnsembleRegressor` and
//! `TreeEnsembleClassifier`): the one implementation that the native engine
//! (registered with tract by `verity-engine`) and the consensus interpreter
//! both run, so that a tree model gives the same bits in both.
//!
//! Trees are compact arrays: one [`TreeNode`] per decision node with its
//! feature, threshold, comparison and both children, where a child is
//! either another node or a leaf (an index into the leaves' contributions),
//! so a row walks from root to leaf in `depth` steps. A child node always
//! has a larger index than its parent ([`Ensemble::check`]), so a walk ends
//! within as many steps as there are nodes, whatever the bytes say.
//!
//! Every comparison mode (`BRANCH_LEQ`, `BRANCH_LT`, `BRANCH_GTE`,
//! `BRANCH_GT`, `BRANCH_EQ`, `BRANCH_NEQ`), missing-value tracking
//! (`nodes_missing_value_tracks_true`), every `aggregate_function` (`SUM`,
//! `AVERAGE`, `MIN`, `MAX`), `base_values` and the `NONE`, `LOGISTIC`,
//! `SOFTMAX` and `SOFTMAX_ZERO` post transforms are supported (`PROBIT` is
//! refused). The classifier follows onnxruntime's rules for labels and
//! scores, including its two-class cases (one score column turned into
//! two).
//!
//! Results are deterministic: trees are summed in the order they appear in
//! the model, in `f32`, as onnxruntime does for float inputs, and the
//! transforms use `libm`'s `expf`.

use alloc::{collections::BTreeMap, vec, vec::Vec};
use codec::{Decode, DecodeWithMemTracking, Encode};
use scale_info::TypeInfo;

use crate::{
	error::{Error, Result},
	graph::F32,
	math::{logistic, max, min, softmax},
};

/// Most targets (regressor) or classes (classifier) an ensemble may have.
pub const MAX_TARGETS: usize = 1 << 16;

/// How a decision node compares a feature with its threshold; `true` takes
/// the true branch.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
	/// `BRANCH_LEQ`: `x <= threshold`.
	Leq,
	/// `BRANCH_LT`: `x < threshold`.
	Lt,
	/// `BRANCH_GTE`: `x >= threshold`.
	Gte,
	/// `BRANCH_GT`: `x > threshold`.
	Gt,
	/// `BRANCH_EQ`: `x == threshold`.
	Eq,
	/// `BRANCH_NEQ`: `x != threshold`.
	Neq,
}

impl Cmp {
	/// An ONNX node mode: `Some(cmp)` for a decision node, `None` for `LEAF`.
	pub fn parse(mode: &str) -> Result<Option<Cmp>> {
		Ok(Some(match mode {
			"BRANCH_LEQ" => Cmp::Leq,
			"BRANCH_LT" => Cmp::Lt,
			"BRANCH_GTE" => Cmp::Gte,
			"BRANCH_GT" => Cmp::Gt,
			"BRANCH_EQ" => Cmp::Eq,
			"BRANCH_NEQ" => Cmp::Neq,
			"LEAF" => return Ok(None),
			_ => return Err(Error::Unsupported("an unknown tree node mode")),
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
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Child {
	/// Another decision node (index into [`Ensemble::nodes`]).
	Node(u32),
	/// A leaf (index into [`Ensemble::leaves`]).
	Leaf(u32),
}

/// A decision node.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeNode {
	/// The feature compared.
	pub feature: u32,
	/// The threshold it is compared with.
	pub threshold: F32,
	/// How.
	pub cmp: Cmp,
	/// Where a missing (NaN) feature goes: the true branch, or wherever the
	/// comparison sends it (NaN compares false except under `BRANCH_NEQ`).
	pub missing_true: bool,
	/// The true branch.
	pub if_true: Child,
	/// The false branch.
	pub if_false: Child,
}

/// How the trees' values are combined per target.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregate {
	/// `SUM`.
	Sum,
	/// `AVERAGE`.
	Average,
	/// `MIN`.
	Min,
	/// `MAX`.
	Max,
}

impl Aggregate {
	/// An ONNX `aggregate_function`.
	pub fn parse(name: &str) -> Result<Aggregate> {
		Ok(match name {
			"SUM" => Aggregate::Sum,
			"AVERAGE" => Aggregate::Average,
			"MIN" => Aggregate::Min,
			"MAX" => Aggregate::Max,
			_ => return Err(Error::Unsupported("an unknown aggregate_function")),
		})
	}
}

/// What is applied to the aggregated scores.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostTransform {
	/// `NONE`.
	None,
	/// `LOGISTIC`.
	Logistic,
	/// `SOFTMAX`.
	Softmax,
	/// `SOFTMAX_ZERO`.
	SoftmaxZero,
}

impl PostTransform {
	/// An ONNX `post_transform`.
	pub fn parse(name: &str) -> Result<PostTransform> {
		Ok(match name {
			"NONE" => PostTransform::None,
			"LOGISTIC" => PostTransform::Logistic,
			"SOFTMAX" => PostTransform::Softmax,
			"SOFTMAX_ZERO" => PostTransform::SoftmaxZero,
			_ => return Err(Error::Unsupported("post_transform PROBIT or an unknown one")),
		})
	}

	fn apply(self, out: &mut [f32]) {
		match self {
			PostTransform::None => {}
			PostTransform::Logistic => out.iter_mut().for_each(|o| *o = logistic(*o)),
			PostTransform::Softmax => softmax(out, false),
			PostTransform::SoftmaxZero => softmax(out, true),
		}
	}
}

/// A tree ensemble's ONNX attributes, as the exporter wrote them
/// (`nodes_*`, and `target_*` or `class_*` for the leaves' weights).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TreeAttributes<'a> {
	/// `nodes_treeids`.
	pub tree_ids: Vec<i64>,
	/// `nodes_nodeids`.
	pub node_ids: Vec<i64>,
	/// `nodes_featureids`.
	pub feature_ids: Vec<i64>,
	/// `nodes_modes`.
	pub modes: Vec<&'a str>,
	/// `nodes_values`.
	pub values: Vec<f32>,
	/// `nodes_truenodeids`.
	pub true_ids: Vec<i64>,
	/// `nodes_falsenodeids`.
	pub false_ids: Vec<i64>,
	/// `nodes_missing_value_tracks_true` (empty: all 0).
	pub missing_tracks_true: Vec<i64>,
	/// `target_treeids` / `class_treeids`.
	pub weight_tree_ids: Vec<i64>,
	/// `target_nodeids` / `class_nodeids`.
	pub weight_node_ids: Vec<i64>,
	/// `target_ids` / `class_ids`.
	pub weight_targets: Vec<i64>,
	/// `target_weights` / `class_weights`.
	pub weights: Vec<f32>,
	/// `base_values`.
	pub base_values: Vec<f32>,
	/// `aggregate_function` (`None`: `SUM`).
	pub aggregate: Option<&'a str>,
	/// `post_transform` (`None`: `NONE`).
	pub post_transform: Option<&'a str>,
}

/// Every leaf's contributions `(target, weight)`, in one array: leaf `l`'s
/// are `weights[ends[l - 1]..ends[l]]` (from 0 for the first). One array
/// rather than a list per leaf, so that decoding a forest allocates twice,
/// not once per leaf.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, Debug, PartialEq, Default)]
pub struct Leaves {
	/// Where each leaf's contributions end in `weights`.
	pub ends: Vec<u32>,
	/// All contributions, leaf after leaf.
	pub weights: Vec<(u32, F32)>,
}

impl Leaves {
	/// Number of leaves.
	pub fn len(&self) -> usize {
		self.ends.len()
	}

	/// Whether there are none.
	pub fn is_empty(&self) -> bool {
		self.ends.is_empty()
	}

	/// Leaf `l`'s contributions (the ends were checked, [`Leaves::check`]).
	#[inline]
	pub fn get(&self, l: usize) -> &[(u32, F32)] {
		let start = if l == 0 { 0 } else { self.ends[l - 1] as usize };
		&self.weights[start..self.ends[l] as usize]
	}

	/// Whether the ends rise to exactly the contributions there are.
	pub fn check(&self) -> bool {
		self.ends.windows(2).all(|w| w[0] <= w[1])
			&& self
				.ends
				.last()
				.map_or(self.weights.is_empty(), |e| *e as usize == self.weights.len())
	}

	/// The most contributions one leaf has.
	pub fn widest(&self) -> usize {
		(0..self.len()).map(|l| self.get(l).len()).max().unwrap_or(0)
	}
}

impl From<Vec<Vec<(u32, F32)>>> for Leaves {
	fn from(lists: Vec<Vec<(u32, F32)>>) -> Leaves {
		let mut leaves = Leaves::default();
		for list in lists {
			leaves.weights.extend(list);
			leaves.ends.push(leaves.weights.len() as u32);
		}
		leaves
	}
}

/// A tree ensemble.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, Debug, PartialEq)]
pub struct Ensemble {
	/// Each tree's root, in model order.
	pub roots: Vec<Child>,
	/// Decision nodes; a child node's index is larger than its parent's.
	pub nodes: Vec<TreeNode>,
	/// Each leaf's contributions: `(target, weight)`.
	pub leaves: Leaves,
	/// Targets (regressor) or classes (classifier).
	pub n_targets: u32,
	/// Features a row must have at least.
	pub n_features: u32,
	/// Added to the aggregated values (regressor; a classifier keeps its
	/// own, [`Classifier::base_values`]).
	pub base_values: Vec<F32>,
	/// How trees combine.
	pub aggregate: Aggregate,
	/// Applied at the end (regressor; see [`Classifier::post_transform`]).
	pub post_transform: PostTransform,
}

impl Ensemble {
	/// Builds an ensemble of `n_targets` targets from its ONNX attributes:
	/// checks them, and numbers the nodes so that children come after
	/// their parent. Refuses a node with two parents, a tree with more than
	/// one root or none, a cycle, a node no root reaches, and weights on
	/// decision nodes.
	pub fn build(a: &TreeAttributes, n_targets: usize) -> Result<Ensemble> {
		let n = a.tree_ids.len();
		let missing = if a.missing_tracks_true.is_empty() {
			vec![0; n]
		} else {
			a.missing_tracks_true.clone()
		};
		if [
			a.node_ids.len(),
			a.feature_ids.len(),
			a.modes.len(),
			a.values.len(),
			a.true_ids.len(),
			a.false_ids.len(),
			missing.len(),
		]
		.iter()
		.any(|len| *len != n)
		{
			return Err(Error::Malformed("the nodes_* attributes differ in length"));
		}
		if !(1..=MAX_TARGETS).contains(&n_targets) {
			return Err(Error::Malformed("targets or classes out of range"));
		}
		let cmps = a.modes.iter().map(|m| Cmp::parse(m)).collect::<Result<Vec<_>>>()?;
		// Entries by (tree, node id); leaves numbered in the order they appear.
		let mut entry_of = BTreeMap::new();
		let mut leaf_of = vec![u32::MAX; n];
		let mut leaves = 0u32;
		for i in 0..n {
			if entry_of.insert((a.tree_ids[i], a.node_ids[i]), i).is_some() {
				return Err(Error::Malformed("a tree node appears twice"));
			}
			if cmps[i].is_none() {
				leaf_of[i] = leaves;
				leaves += 1;
			}
		}
		let find = |tree: i64, id: i64| {
			entry_of.get(&(tree, id)).copied().ok_or(Error::Malformed("a branch to no node"))
		};
		// Each entry's children, and how many parents each entry has.
		let mut children = vec![(0usize, 0usize); n];
		let mut parents = vec![0u32; n];
		for i in 0..n {
			if cmps[i].is_some() {
				let (t, f) =
					(find(a.tree_ids[i], a.true_ids[i])?, find(a.tree_ids[i], a.false_ids[i])?);
				children[i] = (t, f);
				parents[t] += 1;
				parents[f] += 1;
			}
		}
		if parents.iter().any(|p| *p > 1) {
			return Err(Error::Malformed("a tree node has two parents"));
		}
		// Roots (entries without parent), one per tree, trees in the order
		// they first appear.
		let mut root_entries = Vec::new();
		let mut trees_seen = BTreeMap::new();
		for (i, tree) in a.tree_ids.iter().enumerate().filter(|(i, _)| parents[*i] == 0) {
			if trees_seen.insert(*tree, ()).is_some() {
				return Err(Error::Malformed("a tree has more than one root"));
			}
			root_entries.push(i);
		}
		// Decision nodes numbered depth-first from each root: a child after
		// its parent. Every node has at most one parent, so each is reached
		// at most once; a node not reached is on a cycle.
		let mut index_of = vec![u32::MAX; n];
		let mut order = Vec::new();
		let mut stack = Vec::new();
		for root in &root_entries {
			stack.push(*root);
			while let Some(e) = stack.pop() {
				if cmps[e].is_some() {
					index_of[e] = order.len() as u32;
					order.push(e);
					stack.push(children[e].1);
					stack.push(children[e].0);
				}
			}
		}
		let decision = cmps.iter().filter(|c| c.is_some()).count();
		if order.len() != decision {
			return Err(Error::Malformed("a tree has a cycle"));
		}
		let child = |e: usize| {
			if cmps[e].is_some() {
				Child::Node(index_of[e])
			} else {
				Child::Leaf(leaf_of[e])
			}
		};
		let mut n_features = 0u32;
		let mut nodes = Vec::with_capacity(order.len());
		for e in &order {
			let feature = u32::try_from(a.feature_ids[*e])
				.map_err(|_| Error::Malformed("a feature index out of range"))?;
			n_features = n_features.max(feature.saturating_add(1));
			let Some(cmp) = cmps[*e] else { continue };
			nodes.push(TreeNode {
				feature,
				threshold: a.values[*e].into(),
				cmp,
				missing_true: missing[*e] != 0,
				if_true: child(children[*e].0),
				if_false: child(children[*e].1),
			});
		}
		let roots = root_entries.iter().map(|e| child(*e)).collect();

		let m = a.weight_tree_ids.len();
		if a.weight_node_ids.len() != m || a.weight_targets.len() != m || a.weights.len() != m {
			return Err(Error::Malformed("the leaf weight attributes differ in length"));
		}
		let mut leaf_weights = vec![Vec::new(); leaves as usize];
		for i in 0..m {
			let e = find(a.weight_tree_ids[i], a.weight_node_ids[i])?;
			if cmps[e].is_some() {
				return Err(Error::Malformed("a leaf weight on a decision node"));
			}
			let target = usize::try_from(a.weight_targets[i])
				.ok()
				.filter(|t| *t < n_targets)
				.ok_or(Error::Malformed("a leaf weight's target out of range"))?;
			leaf_weights[leaf_of[e] as usize].push((target as u32, a.weights[i].into()));
		}
		let ensemble = Ensemble {
			roots,
			nodes,
			leaves: leaf_weights.into(),
			n_targets: n_targets as u32,
			n_features,
			base_values: a.base_values.iter().map(|b| F32::from(*b)).collect(),
			aggregate: Aggregate::parse(a.aggregate.unwrap_or("SUM"))?,
			post_transform: PostTransform::parse(a.post_transform.unwrap_or("NONE"))?,
		};
		ensemble.check_structure()?;
		Ok(ensemble)
	}

	/// Checks a regressor's ensemble: [`Ensemble::check_structure`], and
	/// its base values (none, or one per target).
	pub fn check(&self) -> Result<()> {
		self.check_structure()?;
		if !self.base_values.is_empty() && self.base_values.len() != self.n_targets as usize {
			return Err(Error::Malformed("base_values do not match the targets"));
		}
		Ok(())
	}

	/// Checks every index an ensemble carries: roots, children (a child
	/// node after its parent), leaves, features and targets in range.
	pub fn check_structure(&self) -> Result<()> {
		if !(1..=MAX_TARGETS).contains(&(self.n_targets as usize)) {
			return Err(Error::Malformed("targets or classes out of range"));
		}
		let child_ok = |c: Child, after: Option<usize>| match c {
			Child::Node(j) => {
				(j as usize) < self.nodes.len() && after.is_none_or(|i| j as usize > i)
			}
			Child::Leaf(l) => (l as usize) < self.leaves.len(),
		};
		if !self.roots.iter().all(|r| child_ok(*r, None)) {
			return Err(Error::Malformed("a tree root out of range"));
		}
		for (i, node) in self.nodes.iter().enumerate() {
			if !child_ok(node.if_true, Some(i)) || !child_ok(node.if_false, Some(i)) {
				return Err(Error::Malformed("a tree branch out of order or range"));
			}
			if node.feature >= self.n_features {
				return Err(Error::Malformed("a feature index out of range"));
			}
		}
		if !self.leaves.check() {
			return Err(Error::Malformed("a leaf's weights out of range"));
		}
		if self.leaves.weights.iter().any(|(t, _)| *t >= self.n_targets) {
			return Err(Error::Malformed("a leaf weight's target out of range"));
		}
		Ok(())
	}

	/// Decision nodes a row visits at most, over all trees (each tree's
	/// longest path), and leaf weights it adds at most.
	pub fn steps_per_row(&self) -> u64 {
		// Children come after parents: longest paths from the last node back.
		let mut depth = vec![0u64; self.nodes.len()];
		let below = |c: Child, depth: &[u64]| match c {
			Child::Node(j) => depth[j as usize],
			Child::Leaf(_) => 0,
		};
		for i in (0..self.nodes.len()).rev() {
			let n = &self.nodes[i];
			depth[i] = 1 + below(n.if_true, &depth).max(below(n.if_false, &depth));
		}
		let most_weights = self.leaves.widest() as u64;
		self.roots
			.iter()
			.map(|r| below(*r, &depth).saturating_add(most_weights))
			.fold(0u64, |a, b| a.saturating_add(b))
	}

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
						n.cmp.holds(x, n.threshold.get())
					};
					at = if go_true { n.if_true } else { n.if_false };
				}
			}
		}
	}

	/// The rows and features of a row-major `[rows, features]` (or
	/// `[features]`) input of `len` elements, checked against the features
	/// the trees use.
	pub fn rows(&self, len: usize, shape: &[usize]) -> Result<(usize, usize)> {
		let rows = if shape.len() == 1 { 1 } else { shape.first().copied().unwrap_or(1) };
		let features = len.checked_div(rows).unwrap_or(0);
		if rows > 0 && features < self.n_features as usize {
			return Err(Error::ShapeMismatch("the trees use more features than a row has"));
		}
		Ok((rows, features))
	}

	/// Every tree's leaf values of each row of `data` (rows of `features`
	/// values), aggregated per row and target into `out` (rows of
	/// `n_targets`); `has`: some leaf had a value for that row and target.
	/// Tree by tree, all rows through one tree before the next, so that a
	/// tree stays in cache; each row still adds its trees in model order, so
	/// the result does not depend on the batch.
	pub fn accumulate(&self, data: &[f32], features: usize, out: &mut [f32], has: &mut [bool]) {
		out.iter_mut().for_each(|o| *o = 0.0);
		has.iter_mut().for_each(|h| *h = false);
		let n = self.n_targets as usize;
		for root in &self.roots {
			for (r, row) in data.chunks_exact(features.max(1)).enumerate() {
				let leaf = self.leaf_of(*root, row);
				let (out, has) = (&mut out[r * n..(r + 1) * n], &mut has[r * n..(r + 1) * n]);
				for (target, weight) in self.leaves.get(leaf as usize) {
					let (t, w) = (*target as usize, weight.get());
					out[t] = match self.aggregate {
						Aggregate::Sum | Aggregate::Average => out[t] + w,
						Aggregate::Min if has[t] => min(out[t], w),
						Aggregate::Max if has[t] => max(out[t], w),
						Aggregate::Min | Aggregate::Max => w,
					};
					has[t] = true;
				}
			}
		}
	}

	/// A row's aggregated values (`out`) become its scores: the average
	/// taken, base values added, the post transform applied.
	fn finish(&self, out: &mut [f32]) {
		if self.aggregate == Aggregate::Average && !self.roots.is_empty() {
			let n = self.roots.len() as f32;
			out.iter_mut().for_each(|o| *o /= n);
		}
		for (o, b) in out.iter_mut().zip(&self.base_values) {
			*o += b.get();
		}
		self.post_transform.apply(out);
	}

	/// Scores (`[rows, n_targets]`, row-major) of every row of `data`, a
	/// row-major `[rows, features]` (or `[features]`) tensor of `shape`;
	/// with the number of rows.
	pub fn eval(&self, data: &[f32], shape: &[usize]) -> Result<(usize, Vec<f32>)> {
		let (rows, features) = self.rows(data.len(), shape)?;
		let n = self.n_targets as usize;
		let mut out = vec![0f32; rows * n];
		let mut has = vec![false; rows * n];
		self.accumulate(&data[..rows * features], features, &mut out, &mut has);
		for row in out.chunks_exact_mut(n) {
			self.finish(row);
		}
		Ok((rows, out))
	}
}

/// A `TreeEnsembleClassifier`: the trees (summed per class, without base
/// values or transform) and what onnxruntime does with their sums.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, Debug, PartialEq)]
pub struct Classifier {
	/// The trees, one target per class.
	pub trees: Ensemble,
	/// `classlabels_int64s`.
	pub labels: Vec<i64>,
	/// `base_values`.
	pub base_values: Vec<F32>,
	/// `post_transform`.
	pub post_transform: PostTransform,
	/// Two classes and every vote for one class id: onnxruntime's binary
	/// case, where the sum is one score and the second column derives
	/// from it.
	pub binary: bool,
	/// No vote weight is negative (then the binary score is a probability).
	pub weights_positive: bool,
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

impl Classifier {
	/// Builds a classifier with integer class `labels` from its ONNX
	/// attributes (`class_*` for the leaves' weights).
	pub fn build(a: &TreeAttributes, labels: Vec<i64>) -> Result<Classifier> {
		if labels.len() < 2 {
			return Err(Error::Malformed("a classifier needs two class labels or more"));
		}
		let mut trees = Ensemble::build(a, labels.len())?;
		let mut ids = a.weight_targets.clone();
		ids.sort_unstable();
		ids.dedup();
		let classifier = Classifier {
			binary: labels.len() == 2 && ids.len() == 1,
			labels,
			base_values: core::mem::take(&mut trees.base_values),
			post_transform: core::mem::replace(&mut trees.post_transform, PostTransform::None),
			weights_positive: a.weights.iter().all(|w| *w >= 0.0),
			trees,
		};
		classifier.check()?;
		Ok(classifier)
	}

	/// Checks every index the classifier carries, and that its labels and
	/// base values fit its classes.
	pub fn check(&self) -> Result<()> {
		self.trees.check_structure()?;
		let classes = self.labels.len();
		if classes < 2 || classes != self.trees.n_targets as usize {
			return Err(Error::Malformed("the labels do not match the classes"));
		}
		let bases = self.base_values.len();
		if !(bases == 0 || bases == classes || (classes == 2 && bases == 1)) {
			return Err(Error::Malformed("base_values do not match the classes"));
		}
		if !self.trees.base_values.is_empty() || self.trees.post_transform != PostTransform::None {
			return Err(Error::Malformed("a classifier's trees carry their own transform"));
		}
		Ok(())
	}

	/// A row's class sums (`out`, with `has`) become its label and scores.
	fn finish(&self, out: &mut [f32], has: &mut [bool]) -> i64 {
		let base = |k: usize| self.base_values[k].get();
		if self.labels.len() > 2 {
			for k in 0..self.base_values.len() {
				out[k] += base(k);
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
			self.post_transform.apply(out);
			return self.labels[best.unwrap_or(0)];
		}
		// Two classes.
		let mut second_column = SecondColumn::None;
		let mut single = false;
		match self.base_values.len() {
			// onnxruntime's rule for two base values with votes for the
			// second class: only the second base value counts.
			2 if has[1] => {
				out[1] = base(1) + out[0];
				out[0] = -out[1];
			}
			2 => {
				out[0] += base(0);
				out[1] += base(1);
			}
			1 => {
				out[0] += base(0);
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
			self.post_transform.apply(out);
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

	/// The label and the class scores (`out`, one per class) of one row.
	pub fn classify(&self, row: &[f32], out: &mut [f32], has: &mut [bool]) -> i64 {
		self.trees.accumulate(row, row.len(), out, has);
		self.finish(out, has)
	}

	/// Labels (`[rows]`) and scores (`[rows, classes]`, row-major) of every
	/// row of `data`, a row-major `[rows, features]` (or `[features]`)
	/// tensor of `shape`; with the number of rows.
	pub fn eval(&self, data: &[f32], shape: &[usize]) -> Result<(usize, Vec<i64>, Vec<f32>)> {
		let (rows, features) = self.trees.rows(data.len(), shape)?;
		let classes = self.labels.len();
		let mut scores = vec![0f32; rows * classes];
		let mut has = vec![false; rows * classes];
		self.trees.accumulate(&data[..rows * features], features, &mut scores, &mut has);
		let labels = scores
			.chunks_exact_mut(classes)
			.zip(has.chunks_exact_mut(classes))
			.map(|(out, has)| self.finish(out, has))
			.collect();
		Ok((rows, labels, scores))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// One split on feature 0 (`BRANCH_LEQ 0.5`) with leaves worth 1 and 2.
	fn stump(missing_true: bool) -> Ensemble {
		Ensemble {
			roots: vec![Child::Node(0)],
			nodes: vec![TreeNode {
				feature: 0,
				threshold: 0.5.into(),
				cmp: Cmp::Leq,
				missing_true,
				if_true: Child::Leaf(0),
				if_false: Child::Leaf(1),
			}],
			leaves: vec![vec![(0, 1.0.into())], vec![(0, 2.0.into())]].into(),
			n_targets: 1,
			n_features: 1,
			base_values: vec![],
			aggregate: Aggregate::Sum,
			post_transform: PostTransform::None,
		}
	}

	fn score(e: &Ensemble, x: f32) -> f32 {
		e.eval(&[x], &[1, 1]).unwrap().1[0]
	}

	#[test]
	fn a_missing_value_follows_its_tracking_flag() {
		assert_eq!(score(&stump(true), f32::NAN), 1.0, "tracked: the true branch");
		assert_eq!(score(&stump(false), f32::NAN), 2.0, "untracked: NaN <= 0.5 is false");
		assert_eq!(score(&stump(false), 0.5), 1.0);
		assert_eq!(score(&stump(false), 0.6), 2.0);
	}

	#[test]
	fn a_branch_back_up_or_out_of_range_is_refused() {
		let mut e = stump(false);
		e.nodes[0].if_false = Child::Node(0);
		assert!(e.check().is_err(), "a node pointing at itself");
		let mut e = stump(false);
		e.nodes[0].if_true = Child::Leaf(7);
		assert!(e.check().is_err());
		let mut e = stump(false);
		e.nodes[0].feature = 3;
		assert!(e.check().is_err(), "a feature beyond n_features");
		assert!(stump(false).check().is_ok());
	}

	fn attrs<'a>(modes: Vec<&'a str>, trues: Vec<i64>, falses: Vec<i64>) -> TreeAttributes<'a> {
		let n = modes.len();
		TreeAttributes {
			tree_ids: vec![0; n],
			node_ids: (0..n as i64).collect(),
			feature_ids: vec![0; n],
			values: vec![0.5; n],
			true_ids: trues,
			false_ids: falses,
			modes,
			..Default::default()
		}
	}

	#[test]
	fn building_refuses_cycles_shared_children_and_two_roots() {
		// 0 -> (1, 2), both leaves: fine.
		let ok = attrs(vec!["BRANCH_LEQ", "LEAF", "LEAF"], vec![1, 0, 0], vec![2, 0, 0]);
		assert!(Ensemble::build(&ok, 1).is_ok());
		// Both branches to the same leaf.
		let shared = attrs(vec!["BRANCH_LEQ", "LEAF"], vec![1, 0], vec![1, 0]);
		assert_eq!(
			Ensemble::build(&shared, 1),
			Err(Error::Malformed("a tree node has two parents"))
		);
		// 0 is the root; 1 and 2 point at each other.
		let cycle = attrs(
			vec!["BRANCH_LEQ", "BRANCH_LEQ", "BRANCH_LEQ", "LEAF", "LEAF"],
			vec![3, 2, 1, 0, 0],
			vec![4, 2, 1, 0, 0],
		);
		assert!(Ensemble::build(&cycle, 1).is_err());
		// Two roots in one tree.
		let two = attrs(vec!["LEAF", "LEAF"], vec![0, 0], vec![0, 0]);
		assert_eq!(
			Ensemble::build(&two, 1),
			Err(Error::Malformed("a tree has more than one root"))
		);
	}

	#[test]
	fn children_are_numbered_after_their_parents_whatever_the_attribute_order() {
		// Listed leaf first, root third: id 0 (GT) -> (1, 3), id 1 (LEQ) -> (2, 4).
		let mut a = attrs(
			vec!["LEAF", "BRANCH_LEQ", "BRANCH_GT", "LEAF", "LEAF"],
			vec![0, 2, 1, 0, 0],
			vec![0, 4, 3, 0, 0],
		);
		a.node_ids = vec![2, 1, 0, 3, 4];
		let e = Ensemble::build(&a, 1).unwrap();
		assert_eq!(e.roots, vec![Child::Node(0)]);
		assert_eq!(e.nodes.len(), 2);
		assert_eq!((e.nodes[0].cmp, e.nodes[0].if_true), (Cmp::Gt, Child::Node(1)));
		assert_eq!(e.nodes[1].cmp, Cmp::Leq);
		assert_eq!(e.steps_per_row(), 2);
		e.check().unwrap();
	}

	/// Three classes: the stump votes for class 0 or 2 only.
	fn three_classes(left: f32, right: f32) -> Classifier {
		let mut trees = stump(false);
		trees.leaves = vec![vec![(0, left.into())], vec![(2, right.into())]].into();
		trees.n_targets = 3;
		Classifier {
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
		c.base_values = vec![1.0.into(), 3.0.into(), 1.0.into()];
		assert_eq!(c.classify(&[0.1], &mut out, &mut has), 20);
		// Equal sums (2 and 2): the lower class wins.
		c.base_values = vec![1.0.into(), 2.0.into(), 1.0.into()];
		assert_eq!(c.classify(&[0.1], &mut out, &mut has), 10);
	}

	#[test]
	fn a_binary_probability_becomes_two_columns() {
		let mut c = three_classes(0.3, 0.8);
		c.trees.leaves = vec![vec![(0, 0.3.into())], vec![(0, 0.8.into())]].into();
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
		// Three stumps summed, with values whose sums round differently in
		// another order; rows through the batch path and one by one.
		let mut e = stump(true);
		e.roots = vec![Child::Node(0), Child::Node(0), Child::Node(0)];
		e.leaves = vec![vec![(0, 0.1.into())], vec![(0, 1e8.into())]].into();
		e.post_transform = PostTransform::Logistic;
		let rows = [0.1, 0.9, f32::NAN, 0.7];
		let (_, batch) = e.eval(&rows, &[4, 1]).unwrap();
		for (x, b) in rows.iter().zip(&batch) {
			assert_eq!(e.eval(&[*x], &[1, 1]).unwrap().1[0].to_bits(), b.to_bits());
		}
		assert_eq!(stump(false).eval(&[0.1, 0.9, f32::NAN], &[3, 1]).unwrap().1, [1.0, 2.0, 2.0]);
	}
}
