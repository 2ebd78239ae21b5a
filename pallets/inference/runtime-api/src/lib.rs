//! Runtime API of the inference market: a job's status and output, for
//! clients and dApps that follow their jobs, and what a job costs.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::Codec;
pub use pallet_inference::{Job, JobId, JobStatus, VerificationMode};
pub use verity_primitives::ModelId;

sp_api::decl_runtime_apis! {
	/// Reads jobs. Version 2 adds [`InferenceApi::quote`].
	#[api_version(2)]
	pub trait InferenceApi<AccountId, Balance, BlockNumber>
	where
		AccountId: Codec,
		Balance: Codec,
		BlockNumber: Codec,
	{
		/// Job `id` and its output (SCALE-encoded tensors), until it is pruned.
		fn job(id: JobId) -> Option<(Job<AccountId, Balance, BlockNumber>, Option<Vec<u8>>)>;

		/// The id the next submitted job will get.
		fn next_job_id() -> JobId;

		/// What a job of `model` in `mode` costs now (price, executor fee,
		/// protocol fee and audit premium); `None` for an unknown model.
		#[api_version(2)]
		fn quote(model: ModelId, mode: VerificationMode) -> Option<Balance>;
	}
}
