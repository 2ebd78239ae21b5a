//! Runtime API of the inference market: a job's status and output, for
//! clients and dApps that follow their jobs, and what a job costs.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::Codec;
pub use pallet_inference::{Job, JobId, JobStatus, VerificationMode};
pub use verity_primitives::{ModelId, TensorError, TypedTensor};

sp_api::decl_runtime_apis! {
	/// Reads jobs. Version 2 added [`InferenceApi::quote`], version 3
	/// [`InferenceApi::job_output`] and [`InferenceApi::encode_tensors`],
	/// version 4 [`InferenceApi::check_invariants`], version 5
	/// [`InferenceApi::interpret`].
	#[api_version(4)]
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
		fn quote(model: ModelId, mode: VerificationMode) -> Option<Balance>;

		/// Job `id`'s output with typed elements and each batch item's
		/// argmax ([`TypedTensor`]), until the job is pruned; `None` when it
		/// has no output (yet) or the stored bytes are not tensors.
		fn job_output(id: JobId) -> Option<Vec<TypedTensor>>;

		/// `tensors` in the byte form a job's input takes (what
		/// `Inference::submit_job` expects), so that clients need not encode
		/// tensor data themselves; an error when one of them contradicts
		/// itself ([`TypedTensor::to_tensor`]). It does not check them
		/// against a model: `submit_job` does.
		fn encode_tensors(tensors: Vec<TypedTensor>) -> Result<Vec<u8>, TensorError>;

		/// Checks the market's invariants at this block (what `try-runtime`
		/// checks after every block: held funds match stakes, escrows, bonds
		/// and deposits; open jobs, duties and deadlines match each other):
		/// `Ok`, or the first broken one, in words. For operators and tests,
		/// e.g. after a node restarted from a crash; it reads all of the
		/// market's storage.
		#[api_version(4)]
		fn check_invariants() -> Result<(), Vec<u8>>;

		/// Evaluates an encoded consensus graph (`verity_interp::Graph`) on
		/// `input` (SCALE-encoded tensors) in the runtime, as a consensus
		/// job would, within the registry's `MaxConsensusMemory`: the
		/// encoded output tensors and the run's price, or why not, in
		/// words. It reads no storage. A publisher checks the graph it
		/// compiled before uploading it; the output is the same bits as a
		/// native run of the interpreter.
		#[api_version(5)]
		fn interpret(graph: Vec<u8>, input: Vec<u8>) -> Result<(Vec<u8>, verity_interp::Cost), Vec<u8>>;
	}
}
