//! How other pallets use the registry.

use alloc::vec::Vec;
use sp_runtime::{DispatchError, DispatchResult};

use crate::{ConsensusInfo, ModelId, ModelInfo};

/// Read access to models, and the one write other pallets need: disabling a
/// model proven unrunnable and slashing its publisher.
pub trait ModelRegistry<AccountId, Balance, BlockNumber> {
	/// The record of model `id`.
	fn model(id: &ModelId) -> Option<ModelInfo<AccountId, Balance, BlockNumber>>;

	/// Whether new jobs may use model `id`.
	fn is_active(id: &ModelId) -> bool {
		Self::model(id).is_some_and(|m| m.is_active())
	}

	/// Model `id`'s complete ONNX bytes, if they are stored.
	fn model_bytes(id: &ModelId) -> Option<Vec<u8>>;

	/// Disables model `id` (no new jobs) and slashes its whole publisher bond,
	/// returning the amount slashed.
	fn disable_and_slash(id: &ModelId) -> Result<Balance, DispatchError>;

	/// What model `id` costs in consensus mode, if it may run in it.
	fn consensus_info(id: &ModelId) -> Option<ConsensusInfo>;

	/// Model `id`'s compact graph (`verity_interp::Graph`, SCALE-encoded),
	/// if it may run in consensus mode.
	fn consensus_graph(id: &ModelId) -> Option<Vec<u8>>;

	/// Model `id`'s golden vectors: `(input, expected output)`, SCALE-encoded tensors.
	fn golden_vectors(id: &ModelId) -> Vec<(Vec<u8>, Vec<u8>)>;

	/// Admits pending model `id`: jobs may use it.
	fn admit(id: &ModelId) -> DispatchResult;

	/// Rejects pending model `id`, slashing `RejectionSlash` of its publisher
	/// bond; returns the amount slashed.
	fn reject(id: &ModelId) -> Result<Balance, DispatchError>;

	/// Puts an active model with these declarations in place, for other
	/// pallets' benchmarks. No deposit or bond is held.
	#[cfg(feature = "runtime-benchmarks")]
	fn benchmark_model(
		owner: &AccountId,
		inputs: crate::TensorSpecs,
		outputs: crate::TensorSpecs,
		policy: crate::VerificationPolicy,
	) -> ModelId;

	/// Puts model `id` back to `Pending` (awaiting admission), for other
	/// pallets' benchmarks.
	#[cfg(feature = "runtime-benchmarks")]
	fn benchmark_pending(id: &ModelId);
}

/// Tells the registry whether jobs still use a model, so that it cannot be
/// retired (its bytes removed) while a job or a dispute may need them.
pub trait ModelUsage {
	/// Jobs of model `id` that are not yet settled.
	fn jobs_in_flight(id: &ModelId) -> u32;
}

impl ModelUsage for () {
	fn jobs_in_flight(_: &ModelId) -> u32 {
		0
	}
}

/// Checks models before jobs may use them. The registry calls
/// [`ModelAdmission::start`] when a model's bytes are complete; the
/// implementation later calls [`ModelRegistry::admit`] or
/// [`ModelRegistry::reject`].
pub trait ModelAdmission {
	/// Starts admitting model `id`. Returns whether admission runs (the model
	/// is then `Pending`); `false` activates the model at once.
	fn start(id: &ModelId) -> bool;

	/// Upper bound of [`ModelAdmission::start`]'s weight.
	fn start_weight() -> frame_support::weights::Weight;
}

/// No admission: every complete model is active at once.
impl ModelAdmission for () {
	fn start(_: &ModelId) -> bool {
		false
	}

	fn start_weight() -> frame_support::weights::Weight {
		frame_support::weights::Weight::zero()
	}
}
