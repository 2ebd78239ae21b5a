//! Consensus mode: the compact graph a model may carry, checked against the
//! model's declarations and priced at its largest batch.

use super::*;
use verity_interp::{plan, Elem, Graph, Limits, Meta};

/// The interpreter's element type for a declared one, if it computes in it.
pub fn elem_of(dtype: DType) -> Option<Elem> {
	match dtype {
		DType::Float32 => Some(Elem::F32),
		DType::Int64 => Some(Elem::I64),
		_ => None,
	}
}

/// The shape a declared tensor has at `batch` items, free dimensions at
/// their maximum: the largest a job may send or receive.
pub fn largest_shape(spec: &TensorSpec, batch: u32) -> Vec<usize> {
	spec.shape
		.iter()
		.map(|d| match d {
			Dim::Fixed(n) => *n as usize,
			Dim::Batch => batch as usize,
			Dim::Free(max) => *max as usize,
		})
		.collect()
}

/// Whether a planned output fits its declaration at `batch` items.
fn fits(meta: &Meta, spec: &TensorSpec, batch: u32) -> bool {
	elem_of(spec.dtype) == Some(meta.elem)
		&& meta.shape.len() == spec.shape.len()
		&& meta.shape.iter().zip(spec.shape.iter()).all(|(got, d)| match d {
			Dim::Fixed(n) => *got == *n as usize,
			Dim::Batch => *got == batch as usize,
			Dim::Free(max) => *got >= 1 && *got <= *max as usize,
		})
}

impl<T: Config> Pallet<T> {
	/// Checks `bytes` as `model`'s consensus graph and prices it: it must
	/// decode and pass [`Graph::check`], have the model's declared inputs
	/// (by name, in an element type the interpreter computes in) and
	/// outputs, at most `MaxConsensusParams` parameters, and plan at the
	/// model's largest batch (free dimensions at their maximum) within
	/// `MaxConsensusMemory`, with outputs as declared.
	pub fn consensus_info(model: &ModelInfoOf<T>, bytes: &[u8]) -> Result<ConsensusInfo, Error<T>> {
		let graph = Graph::decode_checked(bytes).map_err(|_| Error::<T>::ConsensusGraphInvalid)?;
		let parameters = graph.parameter_count();
		ensure!(
			parameters <= u64::from(T::MaxConsensusParams::get()),
			Error::<T>::ConsensusGraphTooLarge
		);
		ensure!(
			graph.inputs.len() == model.inputs.len() && graph.outputs.len() == model.outputs.len(),
			Error::<T>::ConsensusGraphInvalid
		);
		let batch = model.max_batch;
		let mut inputs = Vec::with_capacity(graph.inputs.len());
		for input in &graph.inputs {
			let spec = model
				.inputs
				.iter()
				.find(|s| s.name.as_slice() == input.name.as_slice())
				.filter(|s| elem_of(s.dtype) == Some(input.elem))
				.ok_or(Error::<T>::ConsensusGraphInvalid)?;
			inputs.push(Meta::new(input.elem, largest_shape(spec, batch)));
		}
		let limits = Limits { max_memory: u64::from(T::MaxConsensusMemory::get()) };
		let planned = plan(&graph, &inputs, &limits).map_err(|e| match e {
			verity_interp::Error::TooLarge => Error::<T>::ConsensusGraphTooLarge,
			_ => Error::<T>::ConsensusGraphInvalid,
		})?;
		for (output, meta) in graph.outputs.iter().zip(&planned.outputs) {
			let declared =
				model.outputs.iter().find(|s| s.name.as_slice() == output.name.as_slice());
			ensure!(
				declared.is_some_and(|spec| fits(meta, spec, batch)),
				Error::<T>::ConsensusGraphInvalid
			);
		}
		Ok(ConsensusInfo {
			cost: planned.cost,
			parameters: parameters as u32,
			size: bytes.len() as u32,
		})
	}
}
