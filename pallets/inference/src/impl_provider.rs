//! What the market offers the rest of the runtime: the [`InferenceProvider`]
//! to consumer pallets, [`pallet_model_registry::ModelUsage`] to the registry,
//! and job reads for the runtime API.

use super::*;

impl<T: Config> Pallet<T> {
	/// A job with its output, for the runtime API.
	pub fn job_with_output(job: JobId) -> Option<(JobOf<T>, Option<Vec<u8>>)> {
		Jobs::<T>::get(job).map(|j| (j, Outputs::<T>::get(job).map(|o| o.into_inner())))
	}
}

/// Executors' and verifiers' `vrty` keys are session keys: a node started with
/// a dev seed (`--alice`) gets one in its keystore.
impl<T: Config> sp_runtime::BoundToRuntimeAppPublic for Pallet<T> {
	type Public = crypto::Public;
}

/// The registry asks the market whether a model is still in use.
impl<T: Config> pallet_model_registry::ModelUsage for Pallet<T> {
	fn jobs_in_flight(id: &ModelId) -> u32 {
		JobsInFlight::<T>::get(id)
	}
}

impl<T: Config> InferenceProvider<T::AccountId> for Pallet<T> {
	type Balance = BalanceOf<T>;

	fn request(
		payer: &T::AccountId,
		model: ModelId,
		input: Vec<u8>,
		max_fee: BalanceOf<T>,
		mode: VerificationMode,
		callback: Option<Callback>,
	) -> Result<JobId, DispatchError> {
		let input = InputOf::<T>::try_from(input).map_err(|_| Error::<T>::InvalidInput)?;
		Self::do_submit_job(payer.clone(), model, input, max_fee, mode, callback)
			.map(|(job, _)| job)
	}

	fn request_weight(model: &ModelId, mode: VerificationMode, input_len: u32) -> Weight {
		T::WeightInfo::submit_job(input_len, T::MaxExecutors::get())
			.saturating_add(Self::mode_weight(model, mode))
	}

	fn quote(model: &ModelId, mode: VerificationMode) -> Option<BalanceOf<T>> {
		T::Models::model(model).map(|m| Self::fees(model, m.price, mode).total())
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn benchmark_ready_model(
		inputs: verity_primitives::TensorSpecs,
		outputs: verity_primitives::TensorSpecs,
	) -> ModelId {
		use frame_benchmarking::account;
		let publisher: T::AccountId = account("publisher", 0, 0);
		let model =
			T::Models::benchmark_model(&publisher, inputs, outputs, VerificationPolicy::ArgMax);
		let executor: T::AccountId = account("executor", 0, 0);
		Self::benchmark_fund(&executor);
		if !Executors::<T>::contains_key(&executor) {
			Self::do_register_executor(&executor, T::MinExecutorStake::get(), None)
				.expect("a funded account registers; qed");
		}
		model
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn benchmark_fund(who: &T::AccountId) {
		use sp_runtime::traits::Bounded;
		T::Currency::set_balance(who, BalanceOf::<T>::max_value() / 1024u32.into());
	}
}
