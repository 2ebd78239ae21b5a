//! Planning a run (shapes, price, memory) and running it.

use alloc::{vec, vec::Vec};
use verity_primitives::Tensor;

use crate::{
	cost::Cost,
	error::{Error, Result},
	graph::{ConstData, Graph},
	ops::count,
	value::{Meta, Value},
};

/// Bytes a tree parameter (a decision node or a leaf weight) is counted
/// as in memory: a fixed figure, the same on every target, above what the
/// decoded ensemble takes on 32- and 64-bit machines.
pub const TREE_PARAMETER_BYTES: u64 = 32;

/// What a run may use.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Limits {
	/// Most bytes alive at once ([`Cost::peak_memory`]).
	pub max_memory: u64,
}

/// What [`plan`] finds: the run's price and its outputs' shapes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Plan {
	/// The price.
	pub cost: Cost,
	/// The outputs' types and shapes, in the graph's output order.
	pub outputs: Vec<Meta>,
}

/// Bytes the graph itself takes while it runs: its constants twice (the
/// encoded form and the values made from it) and its trees.
fn resident_bytes(graph: &Graph) -> u64 {
	let constants: u64 = graph
		.constants
		.iter()
		.map(|c| match &c.data {
			ConstData::F32(v) => 2 * 4 * v.len() as u64,
			ConstData::I64(v) => 2 * 8 * v.len() as u64,
		})
		.sum();
	let trees: u64 = graph.nodes.iter().map(|n| n.op.parameter_count()).sum();
	constants.saturating_add(trees.saturating_mul(TREE_PARAMETER_BYTES))
}

/// For every value, the index of the last node that reads it (`usize::MAX`
/// for the graph's outputs, which live to the end).
fn last_uses(graph: &Graph) -> Vec<usize> {
	let mut last = vec![0usize; graph.value_count()];
	for (i, node) in graph.nodes.iter().enumerate() {
		for v in &node.inputs {
			last[*v as usize] = i;
		}
	}
	for o in &graph.outputs {
		last[o.value as usize] = usize::MAX;
	}
	last
}

/// The types and shapes of a job's `inputs` (one tensor per graph input,
/// matched by name), in the graph's input order: what [`plan`] takes.
pub fn input_metas(graph: &Graph, inputs: &[Tensor]) -> Result<Vec<Meta>> {
	graph
		.inputs
		.iter()
		.map(|i| {
			let t = inputs.iter().find(|t| t.name == i.name).ok_or(Error::InputMismatch)?;
			Ok(Meta::new(i.elem, t.shape.iter().map(|d| *d as usize).collect()))
		})
		.collect()
}

/// Infers every value's type and shape from the inputs' (`inputs`, in the
/// graph's input order), prices the run, and refuses it when the values
/// alive at some point would exceed `limits.max_memory`. The graph must
/// have passed [`Graph::check`].
pub fn plan(graph: &Graph, inputs: &[Meta], limits: &Limits) -> Result<Plan> {
	plan_values(graph, inputs, limits).map(|(plan, _)| plan)
}

/// [`plan`], and every value's meta.
fn plan_values(graph: &Graph, inputs: &[Meta], limits: &Limits) -> Result<(Plan, Vec<Meta>)> {
	if inputs.len() != graph.inputs.len()
		|| inputs.iter().zip(&graph.inputs).any(|(m, i)| m.elem != i.elem)
	{
		return Err(Error::InputMismatch);
	}
	let mut metas: Vec<Meta> = Vec::with_capacity(graph.value_count());
	for m in inputs {
		count(&m.shape)?;
		metas.push(m.clone());
	}
	for c in &graph.constants {
		let shape: Vec<usize> = c.shape.iter().map(|d| *d as usize).collect();
		count(&shape)?;
		let elem = match c.data {
			ConstData::F32(_) => crate::Elem::F32,
			ConstData::I64(_) => crate::Elem::I64,
		};
		metas.push(Meta::new(elem, shape));
	}
	let last = last_uses(graph);
	let mut cost = Cost::default();
	let resident = resident_bytes(graph)
		.saturating_add(inputs.iter().map(|m| m.bytes()).fold(0, u64::saturating_add));
	let first_computed = metas.len();
	let mut live = 0u64;
	let mut peak = resident;
	for (i, node) in graph.nodes.iter().enumerate() {
		let ins: Vec<&Meta> = node.inputs.iter().map(|v| &metas[*v as usize]).collect();
		let step = node.op.infer(&ins)?;
		let made = step.outputs.iter().map(|m| m.bytes()).fold(0, u64::saturating_add);
		cost.add(node.op.class(), step.work);
		cost.bytes = cost.bytes.saturating_add(made).saturating_add(step.scratch);
		cost.nodes = cost.nodes.saturating_add(1);
		live = live.saturating_add(made);
		peak = peak.max(resident.saturating_add(live).saturating_add(step.scratch));
		if peak > limits.max_memory {
			return Err(Error::TooLarge);
		}
		let start = metas.len();
		metas.extend(step.outputs);
		// Computed values read for the last time, and new ones nothing
		// reads, are freed.
		let mut read: Vec<usize> = node.inputs.iter().map(|v| *v as usize).collect();
		read.sort_unstable();
		read.dedup();
		let done = read.into_iter().filter(|v| *v >= first_computed && last[*v] == i);
		for v in done.chain((start..metas.len()).filter(|v| last[*v] <= i)) {
			live = live.saturating_sub(metas[v].bytes());
		}
	}
	cost.peak_memory = peak;
	let outputs = graph.outputs.iter().map(|o| metas[o.value as usize].clone()).collect();
	Ok((Plan { cost, outputs }, metas))
}

/// Runs `graph` on a job's `inputs` (one tensor per graph input, matched by
/// name): plans the run first ([`plan`]), then evaluates the nodes in
/// order, freeing each value after its last reader. Returns the output
/// tensors, named as the graph names them, and the run's price. The graph
/// must have passed [`Graph::check`] ([`Graph::decode_checked`]).
pub fn run(graph: &Graph, inputs: &[Tensor], limits: &Limits) -> Result<(Vec<Tensor>, Cost)> {
	if inputs.len() != graph.inputs.len() {
		return Err(Error::InputMismatch);
	}
	let mut slots: Vec<Option<Value>> = Vec::with_capacity(graph.value_count());
	for input in &graph.inputs {
		let t = inputs.iter().find(|t| t.name == input.name).ok_or(Error::InputMismatch)?;
		slots.push(Some(Value::from_tensor(t, input.elem)?));
	}
	let metas: Vec<Meta> = slots.iter().flatten().map(|v| v.meta()).collect();
	let (plan, all) = plan_values(graph, &metas, limits)?;
	slots.extend(graph.constants.iter().map(|c| Some(Value::from_constant(c))));
	let last = last_uses(graph);
	for (i, node) in graph.nodes.iter().enumerate() {
		let ins = node
			.inputs
			.iter()
			.map(|v| {
				slots[*v as usize]
					.as_ref()
					.ok_or(Error::Malformed("a value read after it was freed"))
			})
			.collect::<Result<Vec<&Value>>>()?;
		let outs = node.op.eval(&ins)?;
		let start = slots.len();
		for out in outs {
			// What runs must be what was planned (and priced).
			if out.meta() != all[slots.len()] || !out.is_consistent() {
				return Err(Error::Malformed("an operator's result differs from its plan"));
			}
			slots.push(Some(out));
		}
		for v in node.inputs.iter().map(|v| *v as usize).chain(start..slots.len()) {
			if last[v] <= i {
				slots[v] = None;
			}
		}
	}
	let outputs = graph
		.outputs
		.iter()
		.map(|o| {
			slots[o.value as usize]
				.as_ref()
				.map(|v| v.to_tensor(&o.name))
				.ok_or(Error::Malformed("an output was freed"))
		})
		.collect::<Result<Vec<_>>>()?;
	Ok((outputs, plan.cost))
}
