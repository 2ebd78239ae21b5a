//! How other pallets use the market: [`InferenceProvider`] to request
//! inference, [`OnInferenceSettled`] to receive the result.
//!
//! A consumer pallet requests a job with a [`Callback`] (its [`ConsumerId`] and
//! a tag of its choosing). When the job ends, settled or failed, the runtime's
//! `OnSettled` consumers are asked in turn; the one whose id the callback
//! carries handles it. Each job's callback is delivered exactly once, in its
//! own storage layer: a consumer that returns an error has its changes
//! discarded (the market emits `CallbackFailed`) but cannot stop settlement or
//! move anyone's funds.

use frame_support::weights::Weight;
use sp_runtime::{DispatchError, DispatchResult};
use verity_primitives::ModelId;

use crate::{Callback, JobId, JobResult, VerificationMode};

/// The inference market, as another pallet sees it.
pub trait InferenceProvider<AccountId> {
	/// The currency's balance type.
	type Balance: sp_runtime::traits::AtLeast32BitUnsigned
		+ codec::FullCodec
		+ codec::MaxEncodedLen
		+ scale_info::TypeInfo
		+ Copy
		+ core::fmt::Debug
		+ Eq
		+ codec::DecodeWithMemTracking;

	/// Requests a run of `model` on `input` (SCALE-encoded tensors matching the
	/// model's inputs), paid by `payer` (at most `max_fee`, held in escrow), in
	/// `mode`. The same checks as `submit_job` apply. `callback` names the
	/// consumer told when the job ends. A consensus job ends inside this
	/// call: the consumer's callback runs before `request` returns, so a
	/// consumer records what it needs to handle the result (keyed by its
	/// callback tag) before it requests.
	fn request(
		payer: &AccountId,
		model: ModelId,
		input: alloc::vec::Vec<u8>,
		max_fee: Self::Balance,
		mode: VerificationMode,
		callback: Option<Callback>,
	) -> Result<JobId, DispatchError>;

	/// Weight of [`Self::request`] of `model` in `mode` with `input_len`
	/// bytes of input: in consensus mode it includes the evaluation at the
	/// model's largest batch, the settlement and the consumer's callback,
	/// all in the requesting extrinsic.
	fn request_weight(model: &ModelId, mode: VerificationMode, input_len: u32) -> Weight;

	/// What a job of `model` in `mode` costs now; `None` for an unknown model.
	fn quote(model: &ModelId, mode: VerificationMode) -> Option<Self::Balance>;

	/// An active model with these declarations and an executor serving it,
	/// for consumers' benchmarks.
	#[cfg(feature = "runtime-benchmarks")]
	fn benchmark_ready_model(
		inputs: verity_primitives::TensorSpecs,
		outputs: verity_primitives::TensorSpecs,
	) -> ModelId;

	/// Funds `who` generously, for consumers' benchmarks.
	#[cfg(feature = "runtime-benchmarks")]
	fn benchmark_fund(who: &AccountId);
}

/// A pallet that receives the results of the jobs it requested.
pub trait OnInferenceSettled {
	/// Job `job` carrying `callback` ended with `result`. Returns `None` if the
	/// callback is not this consumer's, else whether handling it succeeded.
	fn on_result(callback: &Callback, job: JobId, result: &JobResult) -> Option<DispatchResult>;

	/// Most weight one [`Self::on_result`] may take; charged for every job
	/// that ends, so keep it small and bounded.
	fn max_weight() -> Weight;
}

impl OnInferenceSettled for () {
	fn on_result(_: &Callback, _: JobId, _: &JobResult) -> Option<DispatchResult> {
		None
	}
	fn max_weight() -> Weight {
		Weight::zero()
	}
}

#[impl_trait_for_tuples::impl_for_tuples(1, 8)]
impl OnInferenceSettled for Tuple {
	fn on_result(callback: &Callback, job: JobId, result: &JobResult) -> Option<DispatchResult> {
		for_tuples!( #(
			if let Some(r) = Tuple::on_result(callback, job, result) {
				return Some(r);
			}
		)* );
		None
	}

	fn max_weight() -> Weight {
		let mut max = Weight::zero();
		for_tuples!( #( max = max.max(Tuple::max_weight()); )* );
		max
	}
}
