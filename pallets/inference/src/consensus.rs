//! Consensus mode: a job evaluated by every validator inside the block that
//! includes it.
//!
//! A model whose publisher gave it a compact graph (the registry's
//! `set_consensus_graph`, checked by admission against the ONNX bytes) can
//! be run by the runtime itself, with `verity_interp`: the same bits on
//! every validator, natively or in WebAssembly. `submit_job` in
//! [`VerificationMode::Consensus`] evaluates it in the call and the job
//! settles there: the publisher is paid its price, there is no executor,
//! no challenge window and no committee, and a consumer's callback fires
//! in the same extrinsic. The requester pays for the evaluation through the
//! transaction fee: the call's weight is the run's price ([`verity_interp::Cost`])
//! times the per-class times measured by this pallet's `consensus_*`
//! benchmarks.

use super::*;
use verity_interp::{input_metas, plan, run, Cost, Graph, Limits, OpClass};

/// Units of work per step of the `consensus_*` benchmarks' components
/// (one: a component counts FLOPs, calls, bytes or tree steps themselves).
pub const WORK_PER_STEP: u64 = 1;
/// Bytes per step of the `consensus_decode` benchmark's component.
pub const BYTES_PER_STEP: u32 = 1024;

fn steps(units: u64, per_step: u64) -> u32 {
	u32::try_from(units.div_ceil(per_step)).unwrap_or(u32::MAX)
}

impl<T: Config> Pallet<T> {
	/// The weight of evaluating a graph of `size` bytes whose run costs
	/// `cost`: decoding and checking the graph, a fixed time per node, and
	/// each class's work at its measured time per unit.
	pub fn consensus_weight(cost: &Cost, size: u32) -> Weight {
		let w =
			|f: fn(u32) -> Weight, units: u64| f(steps(units, WORK_PER_STEP)).saturating_sub(f(0));
		T::WeightInfo::consensus_decode(size.div_ceil(BYTES_PER_STEP))
			.saturating_add(T::WeightInfo::consensus_nodes(cost.nodes))
			.saturating_add(w(T::WeightInfo::consensus_linear, cost.of(OpClass::Linear)))
			.saturating_add(w(T::WeightInfo::consensus_elementwise, cost.of(OpClass::Elementwise)))
			.saturating_add(w(
				T::WeightInfo::consensus_transcendental,
				cost.of(OpClass::Transcendental),
			))
			.saturating_add(w(T::WeightInfo::consensus_movement, cost.of(OpClass::Movement)))
			.saturating_add(w(T::WeightInfo::consensus_tree, cost.of(OpClass::Tree)))
	}

	/// What a job of `model` in `mode` may weigh beyond `submit_job`'s own
	/// weight: in consensus mode, the evaluation at the model's largest
	/// batch (its stored price) and the settlement with its callback;
	/// nothing in the other modes. One storage read.
	pub fn mode_weight(model: &ModelId, mode: VerificationMode) -> Weight {
		if mode != VerificationMode::Consensus {
			return Weight::zero();
		}
		let read = T::DbWeight::get().reads(2);
		match T::Models::consensus_info(model) {
			Some(info) => Self::consensus_weight(&info.cost, info.size)
				.min(T::MaxConsensusWeight::get())
				.saturating_add(Self::settlement_weight())
				.saturating_add(read),
			None => read,
		}
	}

	/// Evaluates an encoded consensus `graph` on `input` (SCALE-encoded
	/// tensors) as a consensus job would, within `max_memory` and
	/// `MaxConsensusWeight` (a node answering this over RPC does no more
	/// work than a job): the encoded output and the run's price, or why
	/// not, in words. Touches no storage: for the runtime API (a publisher
	/// checks its compiled graph in the runtime before uploading it; tests
	/// compare the runtime's WebAssembly with native builds) and benchmarks.
	pub fn interpret(
		graph_bytes: &[u8],
		input: &[u8],
		max_memory: u64,
	) -> Result<(Vec<u8>, Cost), Vec<u8>> {
		let words = |e: verity_interp::Error| alloc::format!("{e}").into_bytes();
		let graph = Graph::decode_checked(graph_bytes).map_err(words)?;
		let tensors = decode_tensors(input).map_err(|e| alloc::format!("{e:?}").into_bytes())?;
		let limits = Limits { max_memory };
		let metas = input_metas(&graph, &tensors).map_err(words)?;
		let planned = plan(&graph, &metas, &limits).map_err(words)?;
		let weight = Self::consensus_weight(&planned.cost, graph_bytes.len() as u32);
		if !weight.all_lte(T::MaxConsensusWeight::get()) {
			return Err(b"over MaxConsensusWeight".to_vec());
		}
		let (outputs, cost) = run(&graph, &tensors, &limits).map_err(words)?;
		Ok((outputs.encode(), cost))
	}

	/// Runs a consensus job: evaluates `model`'s graph on `input` (whose
	/// `tensors` passed the declarations' check), stores the output and
	/// settles at once (see the module's docs). Returns the job and the
	/// weight of the evaluation. Refused, with nothing held or stored, when
	/// the model has no graph, when the run would cost more than
	/// `MaxConsensusWeight` or than the model's registered price at its
	/// largest batch, and when the interpreter fails on the input.
	pub(crate) fn do_consensus_job(
		who: T::AccountId,
		model_id: ModelId,
		input: InputOf<T>,
		tensors: &[verity_primitives::Tensor],
		fees: Fees<BalanceOf<T>>,
		callback: Option<Callback>,
	) -> Result<(JobId, Weight), DispatchError> {
		let info = T::Models::consensus_info(&model_id).ok_or(Error::<T>::NotConsensusModel)?;
		let bytes = T::Models::consensus_graph(&model_id).ok_or(Error::<T>::NotConsensusModel)?;
		// The registry checked it when it was set; a graph that no longer
		// decodes is a defect, refused rather than run.
		let graph = Graph::decode_checked(&bytes).map_err(|_| {
			frame_support::defensive!("a stored consensus graph does not decode");
			Error::<T>::ConsensusFailed
		})?;
		let metas = input_metas(&graph, tensors).map_err(|_| Error::<T>::InvalidInput)?;
		// Priced before anything runs: within the registered price (the
		// largest batch's) and the per-call cap.
		let limits = Limits { max_memory: info.cost.peak_memory };
		let planned = plan(&graph, &metas, &limits).map_err(|_| Error::<T>::ConsensusFailed)?;
		let weight = Self::consensus_weight(&planned.cost, info.size);
		ensure!(
			planned.cost.within(&info.cost) && weight.all_lte(T::MaxConsensusWeight::get()),
			Error::<T>::ConsensusTooExpensive
		);
		let (outputs, _) = run(&graph, tensors, &limits).map_err(|e| {
			log::debug!(target: LOG_TARGET, "consensus run of {model_id:?} failed: {e}");
			Error::<T>::ConsensusFailed
		})?;
		let model = T::Models::model(&model_id).ok_or(Error::<T>::ModelNotFound)?;
		check_tensors(&outputs, &model.outputs).map_err(|_| Error::<T>::ConsensusFailed)?;
		let output =
			OutputOf::<T>::try_from(outputs.encode()).map_err(|_| Error::<T>::OutputTooLarge)?;

		Self::hold(HoldReason::JobEscrow, &who, fees.total())?;
		let data_bytes = (input.len() as u64).saturating_add(output.len() as u64);
		let deposit = Self::data_deposit(data_bytes);
		Self::hold(HoldReason::JobData, &who, deposit)?;
		let job = NextJobId::<T>::get();
		if !deposit.is_zero() {
			DataDeposits::<T>::insert(job, deposit);
		}
		NextJobId::<T>::put(job.saturating_add(1));
		JobsInFlight::<T>::mutate(model_id, |n| n.saturating_inc());
		Inputs::<T>::insert(job, input);
		let output_hash = sp_core::H256(sp_io::hashing::blake2_256(&output));
		Outputs::<T>::insert(job, output);
		let now = Self::now();
		let j = Job {
			requester: who.clone(),
			model: model_id,
			// No executor: the validators evaluated it. The field holds the
			// requester, who is paid nothing from it (the fee is zero).
			executor: who.clone(),
			fees,
			status: JobStatus::Submitted,
			audit: AuditState::NotSelected,
			submitted_at: now,
			deadline: now,
			commitment: None,
			output_hash: Some(output_hash),
			mode: VerificationMode::Consensus,
			callback,
			result_at: Some(now),
		};
		Self::deposit_event(Event::ConsensusJobEvaluated {
			job,
			model: model_id,
			requester: who,
			output_hash,
			cost: planned.cost,
		});
		Self::settle(job, j);
		Ok((job, weight))
	}
}
