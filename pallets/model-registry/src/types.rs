//! The registry's records: versions, life cycle, models and families.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	traits::Get, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use scale_info::TypeInfo;
pub use verity_primitives::{
	encoded_size_bound, is_float, specs_are_valid, DType, Dim, FamilyName, ModelId, Name, Shape,
	TensorSpec, TensorSpecs, VerificationPolicy, MAX_NAME_LEN, MAX_RANK, MAX_TENSORS, MAX_TOP_K,
};

/// A release number within a family: `major.minor`.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Debug,
)]
pub struct ModelVersion {
	/// Major release.
	pub major: u16,
	/// Minor release.
	pub minor: u16,
}

/// Where a model is in its life.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum ModelStatus {
	/// Registered; its bytes are being uploaded. No jobs yet.
	Uploading,
	/// All bytes uploaded and verified against the id: jobs may use it.
	Active,
	/// The owner stopped new jobs; running jobs finish.
	Deprecated,
	/// Proven unrunnable or hostile: no new jobs, publisher bond slashed.
	Disabled,
	/// Bytes removed, deposits returned. The record stays so that the id keeps
	/// meaning what it meant.
	Retired,
	/// All bytes uploaded and verified; a committee of verifiers checks the
	/// model (its declarations against its graph, determinism, its golden
	/// vectors) before any job may use it.
	Pending,
	/// Admission found the model not as declared (or not runnable,
	/// reproducible or matching its golden vectors): no jobs, part of the
	/// bond slashed. Its owner may retire it.
	Rejected,
}

/// What a publisher declares when registering a model.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct ModelSpec<Balance, BlockNumber> {
	/// Family the model is a release of.
	pub family: FamilyName,
	/// Its release number in the family.
	pub version: ModelVersion,
	/// Size of the ONNX file in bytes.
	pub size: u32,
	/// Declared inputs.
	pub inputs: TensorSpecs,
	/// Declared outputs.
	pub outputs: TensorSpecs,
	/// Paid to the owner for every job.
	pub price: Balance,
	/// Blocks during which a job's result can be challenged.
	pub challenge_period: BlockNumber,
	/// When two outputs agree.
	pub policy: VerificationPolicy,
	/// Most items per job (the batch dimension's maximum); the registry
	/// checks that the declared outputs of this many items fit the market's
	/// `MaxOutputSize`, and jobs with more are refused.
	pub max_batch: u32,
}

/// A registered model.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct ModelInfo<AccountId, Balance, BlockNumber> {
	/// Who may change the model and is paid its price.
	pub owner: AccountId,
	/// Family the model is a release of.
	pub family: FamilyName,
	/// Its release number in the family.
	pub version: ModelVersion,
	/// Size of the ONNX file in bytes.
	pub size: u32,
	/// Declared inputs.
	pub inputs: TensorSpecs,
	/// Declared outputs.
	pub outputs: TensorSpecs,
	/// Paid to the owner for every job.
	pub price: Balance,
	/// Blocks during which a job's result can be challenged.
	pub challenge_period: BlockNumber,
	/// When two outputs agree.
	pub policy: VerificationPolicy,
	/// Most items per job.
	pub max_batch: u32,
	/// Lifecycle state.
	pub status: ModelStatus,
	/// Chunks stored so far.
	pub chunks: u32,
	/// Bytes stored so far.
	pub received: u32,
	/// Storage deposit held from the owner.
	pub deposit: Balance,
	/// Publisher bond held from the owner.
	pub bond: Balance,
	/// Block of registration.
	pub registered_at: BlockNumber,
}

impl<AccountId, Balance, BlockNumber> ModelInfo<AccountId, Balance, BlockNumber> {
	/// Whether new jobs may use the model.
	pub fn is_active(&self) -> bool {
		self.status == ModelStatus::Active
	}

	/// Whether its bytes are complete and stored.
	pub fn has_bytes(&self) -> bool {
		!matches!(self.status, ModelStatus::Uploading | ModelStatus::Retired)
	}
}

/// An input of a model and the output its publisher expects for it (both
/// SCALE-encoded tensors matching the model's declarations). Admission runs
/// the input and compares under the model's policy.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
)]
#[scale_info(skip_type_params(MaxSize))]
#[codec(mel_bound())]
pub struct GoldenVector<MaxSize: Get<u32>> {
	/// The input tensors.
	pub input: BoundedVec<u8, MaxSize>,
	/// The expected output tensors.
	pub output: BoundedVec<u8, MaxSize>,
}

/// What the registry knows of a model that may run in consensus mode.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub struct ConsensusInfo {
	/// A run's price at the model's largest batch (free dimensions at their
	/// maximum): what a consensus job's weight is before it runs.
	pub cost: verity_interp::Cost,
	/// Parameters of its graph.
	pub parameters: u32,
	/// Bytes of its encoded graph.
	pub size: u32,
}

/// A family of releases.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct FamilyInfo<AccountId> {
	/// Who may register new releases.
	pub owner: AccountId,
	/// Releases registered (including retired ones; aborted uploads are removed).
	pub releases: u32,
}

/// Number of chunks of a model of `size` bytes cut into `chunk_size` pieces.
pub const fn chunk_count(size: u32, chunk_size: u32) -> u32 {
	size.div_ceil(chunk_size)
}
