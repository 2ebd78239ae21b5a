//! # Model registry
//!
//! Verity's registry of ONNX models. A model is identified by the blake2-256
//! hash of its bytes ([`ModelId`]), and its bytes live on-chain, so that every
//! node that syncs the chain can run exactly the model a job names, without
//! trusting any host.
//!
//! ## Publishing
//!
//! 1. [`Pallet::register`] declares the model: its id, its family and
//!    `major.minor` version, size, input and output tensors, price per job,
//!    challenge period and [`VerificationPolicy`]. It holds a storage deposit
//!    (`ModelDeposit + ByteDeposit * size`) and a publisher bond from the
//!    caller, with `fungible` holds.
//! 2. [`Pallet::upload_chunk`] stores the bytes in order, `ChunkSize` bytes at a
//!    time (the last chunk holds the rest). The chunk that completes the
//!    upload hashes all bytes; the model becomes `Active` only if the hash is
//!    its id.
//! 3. [`Pallet::deprecate`] stops new jobs; [`Pallet::retire`] (once no job
//!    uses the model) removes its bytes and returns deposit and bond.
//!    [`Pallet::abort_upload`] gives up an unfinished upload and returns both.
//!
//! Life cycle: `Uploading -> Active -> Deprecated -> Retired`, and
//! `Active | Deprecated -> Disabled` when the inference pallet proves the model
//! unrunnable ([`ModelRegistry::disable_and_slash`], which slashes the bond).
//!
//! A family (`b"mnist-mlp"`) is owned by whoever registered its first release;
//! only its owner adds releases, and a `(family, version)` pair, once taken,
//! always names the same model. Models change owner in two steps
//! ([`Pallet::transfer_ownership`], [`Pallet::accept_ownership`]): the new
//! owner's funds are held and the old owner's released.
//!
//! Other pallets read models through [`ModelRegistry`]; clients through the
//! `ModelRegistryApi` runtime API (crate `pallet-model-registry-runtime-api`).
//!
//! ## Example
//!
//! Registering a one-chunk model and uploading it (from the tests):
#![doc = docify::embed!("src/tests/upload.rs", register_and_upload_one_chunk)]
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod consensus;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod traits;
mod types;
pub mod weights;

use alloc::vec::Vec;
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::{self, BalancedHold, Inspect, MutateHold},
		tokens::Precision,
		Imbalance, OnUnbalanced,
	},
};
use frame_system::pallet_prelude::*;
use sp_runtime::{
	traits::{Saturating, Zero},
	Perbill,
};
use verity_primitives::{check_tensors, decode_tensors};

pub use pallet::*;
pub use traits::{ModelAdmission, ModelRegistry, ModelUsage};
pub use types::*;
pub use weights::WeightInfo;

/// Balance type of the pallet's currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
type CreditOf<T> =
	fungible::Credit<<T as frame_system::Config>::AccountId, <T as Config>::Currency>;
/// The model record as the pallet stores it.
pub type ModelInfoOf<T> =
	ModelInfo<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
/// What `register` takes.
pub type ModelSpecOf<T> = ModelSpec<BalanceOf<T>, BlockNumberFor<T>>;
/// A golden vector as stored.
pub type GoldenVectorOf<T> = GoldenVector<<T as Config>::MaxGoldenVectorSize>;

const LOG_TARGET: &str = "runtime::model-registry";

#[frame_support::pallet]
pub mod pallet {
	use super::*;

	/// The layout of this pallet's storage: the first, no migration yet.
	pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the registry.
	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The currency deposits and bonds are held in.
		type Currency: fungible::Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ BalancedHold<Self::AccountId>;

		/// The runtime's hold reasons, of which [`HoldReason`] is a part.
		type RuntimeHoldReason: From<HoldReason>;

		/// Receives slashed publisher bonds.
		type Slash: OnUnbalanced<CreditOf<Self>>;

		/// Tells whether jobs still use a model (it cannot be retired until none does).
		type ModelUsage: ModelUsage;

		/// Admits uploaded models (the inference market's verifiers check
		/// them); `()` admits every model as soon as its bytes are complete.
		type Admission: ModelAdmission;

		/// Largest model, in bytes.
		#[pallet::constant]
		type MaxModelSize: Get<u32>;

		/// Largest job output the inference market accepts, in bytes: a model
		/// whose declared outputs exceed it even for one item could never
		/// post a result, and is refused.
		#[pallet::constant]
		type MaxOutputSize: Get<u32>;

		/// Size of every upload chunk but the last. Must fit in an extrinsic.
		#[pallet::constant]
		type ChunkSize: Get<u32>;

		/// Deposit per model, for its record.
		#[pallet::constant]
		type ModelDeposit: Get<BalanceOf<Self>>;

		/// Deposit per byte of a model.
		#[pallet::constant]
		type ByteDeposit: Get<BalanceOf<Self>>;

		/// Bond held per model; slashed when the model is proven unrunnable.
		#[pallet::constant]
		type PublisherBond: Get<BalanceOf<Self>>;

		/// Most golden vectors one model may carry.
		#[pallet::constant]
		type MaxGoldenVectors: Get<u32>;

		/// Golden vectors a model needs before its last chunk is accepted
		/// (0 where no admission checks them).
		#[pallet::constant]
		type MinGoldenVectors: Get<u32>;

		/// Largest golden vector (its input and expected output together), in bytes.
		#[pallet::constant]
		type MaxGoldenVectorSize: Get<u32>;

		/// Largest compact graph (`verity_interp::Graph`, SCALE-encoded) a
		/// model may carry to run in consensus mode, in bytes.
		#[pallet::constant]
		type MaxConsensusGraphSize: Get<u32>;

		/// Most parameters (weights, tree nodes and leaf weights) a
		/// consensus graph may have: every validator holds and runs it.
		#[pallet::constant]
		type MaxConsensusParams: Get<u32>;

		/// Most memory, in bytes, a consensus run may use at the model's
		/// largest batch (inside the runtime's heap).
		#[pallet::constant]
		type MaxConsensusMemory: Get<u32>;

		/// Share of the publisher bond slashed when admission rejects a model.
		#[pallet::constant]
		type RejectionSlash: Get<Perbill>;

		/// Shortest challenge period a model may set.
		#[pallet::constant]
		type MinChallengePeriod: Get<BlockNumberFor<Self>>;

		/// Longest challenge period a model may set.
		#[pallet::constant]
		type MaxChallengePeriod: Get<BlockNumberFor<Self>>;

		/// The challenge period clients propose by default: long enough for
		/// audits and for a person or a watcher to check a result, where the
		/// minimum only covers an audit.
		#[pallet::constant]
		type RecommendedChallengePeriod: Get<BlockNumberFor<Self>>;

		/// Weights of the calls.
		type WeightInfo: WeightInfo;
	}

	/// Why the registry holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Storage deposit for a model's record and bytes.
		StorageDeposit,
		/// Bond a publisher stakes on a model being runnable.
		PublisherBond,
	}

	/// Every model ever registered and not aborted, by id.
	#[pallet::storage]
	pub type Models<T: Config> = StorageMap<_, Blake2_128Concat, ModelId, ModelInfoOf<T>>;

	/// Model bytes: `(model, chunk index) -> chunk`.
	#[pallet::storage]
	pub type Chunks<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		ModelId,
		Twox64Concat,
		u32,
		BoundedVec<u8, T::ChunkSize>,
	>;

	/// Model families, by name.
	#[pallet::storage]
	pub type Families<T: Config> =
		StorageMap<_, Blake2_128Concat, FamilyName, FamilyInfo<T::AccountId>>;

	/// Which model each `(family, version)` names.
	#[pallet::storage]
	pub type Releases<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, FamilyName, Twox64Concat, ModelVersion, ModelId>;

	/// Each model's golden vectors: inputs with the outputs its publisher
	/// expects, which admission runs (at most `MaxGoldenVectors`; removed
	/// with the model's bytes). Paid for by the model's storage deposit.
	#[pallet::storage]
	pub type GoldenVectors<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		ModelId,
		BoundedVec<GoldenVectorOf<T>, T::MaxGoldenVectors>,
		ValueQuery,
	>;

	/// The compact graph of each model that may run in consensus mode
	/// (`verity_interp::Graph`, SCALE-encoded), uploaded by its publisher
	/// next to the ONNX bytes; admission's verifiers compile the ONNX bytes
	/// again and compare. Removed with the model's bytes; paid for by its
	/// storage deposit.
	#[pallet::storage]
	pub type ConsensusGraphs<T: Config> =
		StorageMap<_, Blake2_128Concat, ModelId, BoundedVec<u8, T::MaxConsensusGraphSize>>;

	/// What a consensus run of each such model costs at its largest batch
	/// (the weight a job is charged before it runs), with its parameter
	/// count and graph size.
	#[pallet::storage]
	pub type ConsensusModels<T: Config> = StorageMap<_, Blake2_128Concat, ModelId, ConsensusInfo>;

	/// Ownership offers waiting for the new owner's acceptance.
	#[pallet::storage]
	pub type PendingOwners<T: Config> = StorageMap<_, Blake2_128Concat, ModelId, T::AccountId>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A model was registered; its bytes are expected next.
		ModelRegistered {
			/// The model.
			model: ModelId,
			/// Its owner.
			owner: T::AccountId,
			/// Its family.
			family: FamilyName,
			/// Its version.
			version: ModelVersion,
			/// Its size in bytes.
			size: u32,
			/// Storage deposit held.
			deposit: BalanceOf<T>,
			/// Publisher bond held.
			bond: BalanceOf<T>,
		},
		/// A chunk of a model's bytes was stored.
		ChunkUploaded {
			/// The model.
			model: ModelId,
			/// The chunk's index.
			index: u32,
			/// Bytes stored so far.
			received: u32,
		},
		/// All bytes arrived and hash to the model's id; admission checks the
		/// model before jobs may use it.
		UploadCompleted {
			/// The model.
			model: ModelId,
		},
		/// The model is admitted (or needed no admission): jobs may use it.
		ModelActivated {
			/// The model.
			model: ModelId,
		},
		/// Admission rejected the model; part of its bond was slashed.
		ModelRejected {
			/// The model.
			model: ModelId,
			/// The amount slashed from the publisher bond.
			slashed: BalanceOf<T>,
		},
		/// The publisher added a golden vector to a model it is uploading.
		GoldenVectorAdded {
			/// The model.
			model: ModelId,
			/// Golden vectors the model now has.
			count: u32,
		},
		/// The publisher gave a model its compact graph: it may run in
		/// consensus mode once admitted.
		ConsensusGraphSet {
			/// The model.
			model: ModelId,
			/// The graph's parameters.
			parameters: u32,
			/// The graph's size in bytes.
			size: u32,
		},
		/// An upload was given up; deposit and bond were released.
		UploadAborted {
			/// The model.
			model: ModelId,
		},
		/// A model's price changed.
		PriceSet {
			/// The model.
			model: ModelId,
			/// The new price per job.
			price: BalanceOf<T>,
		},
		/// A model takes no new jobs.
		ModelDeprecated {
			/// The model.
			model: ModelId,
		},
		/// A model's bytes were removed and its deposit and bond released.
		ModelRetired {
			/// The model.
			model: ModelId,
			/// Deposit and bond returned to the owner.
			released: BalanceOf<T>,
		},
		/// A model was proven unrunnable: disabled, its bond slashed.
		ModelDisabled {
			/// The model.
			model: ModelId,
			/// Amount slashed from the publisher bond.
			slashed: BalanceOf<T>,
		},
		/// An owner offered a model to another account.
		OwnershipOffered {
			/// The model.
			model: ModelId,
			/// The current owner.
			from: T::AccountId,
			/// The account that may accept.
			to: T::AccountId,
		},
		/// A model changed owner.
		OwnershipTransferred {
			/// The model.
			model: ModelId,
			/// The previous owner.
			from: T::AccountId,
			/// The new owner.
			to: T::AccountId,
		},
		/// A family changed owner.
		FamilyTransferred {
			/// The family.
			family: FamilyName,
			/// The previous owner.
			from: T::AccountId,
			/// The new owner.
			to: T::AccountId,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No model has this id.
		ModelNotFound,
		/// The consensus graph does not decode, breaks the format's rules, or
		/// does not match the model's declared inputs and outputs.
		ConsensusGraphInvalid,
		/// The consensus graph has more than `MaxConsensusParams` parameters,
		/// or a run at the model's largest batch would need more than
		/// `MaxConsensusMemory`: the model cannot run in consensus mode.
		ConsensusGraphTooLarge,
		/// The model already has a consensus graph.
		ConsensusGraphAlreadySet,
		/// The model has `MaxGoldenVectors` golden vectors already.
		TooManyGoldenVectors,
		/// The model needs `MinGoldenVectors` golden vectors before its last chunk.
		TooFewGoldenVectors,
		/// A golden vector's input or output does not match the model's
		/// declared inputs or outputs, or its expected output disagrees with
		/// the declared size limits.
		InvalidGoldenVector,
		/// The model is not awaiting admission.
		NotPending,
		/// A model with this id is already registered.
		ModelAlreadyRegistered,
		/// Only the model's owner may do this.
		NotOwner,
		/// A model must have at least one byte.
		ModelEmpty,
		/// The model is larger than `MaxModelSize`.
		ModelTooLarge,
		/// A declared tensor is malformed, or inputs/outputs are empty or repeat a name.
		InvalidTensorSpec,
		/// The verification policy's parameters are out of range.
		InvalidPolicy,
		/// `Exact` is for integer and boolean outputs; floats differ in the
		/// last bits between honest machines: use `Tolerance`, `ArgMax` or `TopK`.
		ExactOnFloats,
		/// The declared outputs of `max_batch` items exceed the market's
		/// `MaxOutputSize` (or `max_batch` is 0).
		OutputTooLarge,
		/// The challenge period is outside `MinChallengePeriod..=MaxChallengePeriod`.
		ChallengePeriodOutOfBounds,
		/// The family belongs to another account.
		NotFamilyOwner,
		/// This version of the family is already registered.
		VersionExists,
		/// No family has this name.
		FamilyNotFound,
		/// The caller cannot pay the deposit and bond.
		InsufficientBalance,
		/// The model is not being uploaded.
		NotUploading,
		/// Chunks must be uploaded in order; this is not the next one.
		ChunkOutOfOrder,
		/// Every chunk but the last must be `ChunkSize` bytes; the last one the rest.
		WrongChunkSize,
		/// The uploaded bytes do not hash to the model's id.
		HashMismatch,
		/// Only an active model can be deprecated.
		NotActive,
		/// Only a deprecated or disabled model can be retired.
		NotDeprecated,
		/// Jobs still use the model.
		ModelInUse,
		/// A disabled or retired model cannot be changed.
		ModelNotChangeable,
		/// The account already owns it.
		AlreadyOwner,
		/// The caller was not offered this model.
		NoPendingTransfer,
		/// The model has no bytes to slash for (still uploading) or was already disabled.
		NotSlashable,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			let chunk = T::ChunkSize::get();
			assert!(chunk > 0, "ChunkSize must be positive");
			assert!(T::MaxModelSize::get() >= chunk, "MaxModelSize must hold at least one chunk");
			assert!(
				!T::MinChallengePeriod::get().is_zero(),
				"a zero challenge period would make results unchallengeable"
			);
			assert!(
				T::MinChallengePeriod::get() <= T::MaxChallengePeriod::get(),
				"MinChallengePeriod must not exceed MaxChallengePeriod"
			);
			assert!(
				(T::MinChallengePeriod::get()..=T::MaxChallengePeriod::get())
					.contains(&T::RecommendedChallengePeriod::get()),
				"the recommended challenge period must be a valid one"
			);
			let max_len = *T::BlockLength::get().max.get(DispatchClass::Normal);
			assert!(
				chunk.saturating_add(1024) <= max_len,
				"an upload_chunk extrinsic must fit in a block"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Registers model `id` (the blake2-256 hash of its ONNX bytes) as release
		/// `spec.version` of `spec.family`, and holds its storage deposit and the
		/// publisher bond. The bytes follow with [`Pallet::upload_chunk`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register())]
		pub fn register(origin: OriginFor<T>, id: ModelId, spec: ModelSpecOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(spec.size > 0, Error::<T>::ModelEmpty);
			ensure!(spec.size <= T::MaxModelSize::get(), Error::<T>::ModelTooLarge);
			ensure!(
				specs_are_valid(&spec.inputs) && specs_are_valid(&spec.outputs),
				Error::<T>::InvalidTensorSpec
			);
			ensure!(spec.policy.is_valid(), Error::<T>::InvalidPolicy);
			// Honest machines compute floats differently in the last bits:
			// under `Exact` an honest executor or verifier would pay for it.
			ensure!(
				spec.policy != VerificationPolicy::Exact
					|| !spec.outputs.iter().any(|o| is_float(o.dtype)),
				Error::<T>::ExactOnFloats
			);
			ensure!(spec.max_batch >= 1, Error::<T>::OutputTooLarge);
			ensure!(
				encoded_size_bound(&spec.outputs, spec.max_batch)
					<= u64::from(T::MaxOutputSize::get()),
				Error::<T>::OutputTooLarge
			);
			ensure!(
				(T::MinChallengePeriod::get()..=T::MaxChallengePeriod::get())
					.contains(&spec.challenge_period),
				Error::<T>::ChallengePeriodOutOfBounds
			);
			ensure!(!Models::<T>::contains_key(id), Error::<T>::ModelAlreadyRegistered);
			ensure!(
				!Releases::<T>::contains_key(&spec.family, spec.version),
				Error::<T>::VersionExists
			);
			let mut family = match Families::<T>::get(&spec.family) {
				Some(f) => {
					ensure!(f.owner == who, Error::<T>::NotFamilyOwner);
					f
				}
				None => FamilyInfo { owner: who.clone(), releases: 0 },
			};

			let deposit = Self::storage_deposit(spec.size);
			let bond = T::PublisherBond::get();
			Self::hold_funds(HoldReason::StorageDeposit, &who, deposit)?;
			Self::hold_funds(HoldReason::PublisherBond, &who, bond)?;

			family.releases.saturating_inc();
			Families::<T>::insert(&spec.family, family);
			Releases::<T>::insert(&spec.family, spec.version, id);
			Models::<T>::insert(
				id,
				ModelInfo {
					owner: who.clone(),
					family: spec.family.clone(),
					version: spec.version,
					size: spec.size,
					inputs: spec.inputs,
					outputs: spec.outputs,
					price: spec.price,
					challenge_period: spec.challenge_period,
					max_batch: spec.max_batch,
					policy: spec.policy,
					status: ModelStatus::Uploading,
					chunks: 0,
					received: 0,
					deposit,
					bond,
					registered_at: frame_system::Pallet::<T>::block_number(),
				},
			);
			Self::deposit_event(Event::ModelRegistered {
				model: id,
				owner: who,
				family: spec.family,
				version: spec.version,
				size: spec.size,
				deposit,
				bond,
			});
			Ok(())
		}

		/// Stores chunk `index` of model `id`. Chunks come in order from 0; every
		/// chunk but the last is `ChunkSize` bytes. The chunk that completes the
		/// model checks the hash of all bytes against `id` and hands the model
		/// to admission (`Pending`; it needs `MinGoldenVectors` golden vectors
		/// by then); if the hash differs the chunk is rejected with
		/// `HashMismatch` (resend a corrected chunk, or [`Pallet::abort_upload`]).
		#[pallet::call_index(1)]
		#[pallet::weight(
			T::WeightInfo::upload_chunk(data.len() as u32)
				.saturating_add(T::WeightInfo::complete_upload(T::MaxModelSize::get()))
				.saturating_add(T::Admission::start_weight())
		)]
		pub fn upload_chunk(
			origin: OriginFor<T>,
			id: ModelId,
			index: u32,
			data: BoundedVec<u8, T::ChunkSize>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let mut model = Models::<T>::get(id).ok_or(Error::<T>::ModelNotFound)?;
			ensure!(model.owner == who, Error::<T>::NotOwner);
			ensure!(model.status == ModelStatus::Uploading, Error::<T>::NotUploading);
			ensure!(index == model.chunks, Error::<T>::ChunkOutOfOrder);
			let expected = model.size.saturating_sub(model.received).min(T::ChunkSize::get());
			let len = data.len() as u32;
			ensure!(len == expected, Error::<T>::WrongChunkSize);

			Chunks::<T>::insert(id, index, data);
			model.chunks.saturating_inc();
			model.received.saturating_accrue(len);
			Self::deposit_event(Event::ChunkUploaded {
				model: id,
				index,
				received: model.received,
			});

			let mut weight = T::WeightInfo::upload_chunk(len);
			if model.received == model.size {
				Self::complete_upload(&id, &mut model)?;
				weight.saturating_accrue(T::WeightInfo::complete_upload(model.size));
				weight.saturating_accrue(T::Admission::start_weight());
			}
			Models::<T>::insert(id, model);
			Ok(Some(weight).into())
		}

		/// Gives up an unfinished upload: removes the record and the chunks so far,
		/// frees the `(family, version)` pair and releases deposit and bond.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::abort_upload(Pallet::<T>::max_chunks()))]
		pub fn abort_upload(origin: OriginFor<T>, id: ModelId) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let model = Models::<T>::get(id).ok_or(Error::<T>::ModelNotFound)?;
			ensure!(model.owner == who, Error::<T>::NotOwner);
			ensure!(model.status == ModelStatus::Uploading, Error::<T>::NotUploading);

			Self::remove_chunks(&id, model.chunks);
			GoldenVectors::<T>::remove(id);
			ConsensusGraphs::<T>::remove(id);
			ConsensusModels::<T>::remove(id);
			Self::release_hold(HoldReason::StorageDeposit, &who, model.deposit);
			Self::release_hold(HoldReason::PublisherBond, &who, model.bond);
			Releases::<T>::remove(&model.family, model.version);
			Families::<T>::mutate_exists(&model.family, |f| {
				if let Some(info) = f {
					info.releases.saturating_dec();
					if info.releases == 0 {
						*f = None;
					}
				}
			});
			PendingOwners::<T>::remove(id);
			Models::<T>::remove(id);
			Self::deposit_event(Event::UploadAborted { model: id });
			Ok(Some(T::WeightInfo::abort_upload(model.chunks)).into())
		}

		/// Adds a golden vector to a model being uploaded: an `input` and the
		/// `output` its publisher expects (both SCALE-encoded tensors matching
		/// the declarations). Admission runs it and compares the result under
		/// the model's policy. Its bytes are added to the storage deposit.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::add_golden_vector(input.len().saturating_add(output.len()) as u32))]
		pub fn add_golden_vector(
			origin: OriginFor<T>,
			id: ModelId,
			input: BoundedVec<u8, T::MaxGoldenVectorSize>,
			output: BoundedVec<u8, T::MaxGoldenVectorSize>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut model = Models::<T>::get(id).ok_or(Error::<T>::ModelNotFound)?;
			ensure!(model.owner == who, Error::<T>::NotOwner);
			ensure!(model.status == ModelStatus::Uploading, Error::<T>::NotUploading);
			let len = input.len().saturating_add(output.len()) as u32;
			ensure!(len <= T::MaxGoldenVectorSize::get(), Error::<T>::InvalidGoldenVector);
			let fits = |bytes: &[u8], specs: &[TensorSpec]| {
				decode_tensors(bytes).is_ok_and(|t| check_tensors(&t, specs).is_ok())
			};
			ensure!(
				fits(&input, &model.inputs) && fits(&output, &model.outputs),
				Error::<T>::InvalidGoldenVector
			);
			let deposit = T::ByteDeposit::get().saturating_mul(len.into());
			let count = GoldenVectors::<T>::try_mutate(id, |v| {
				v.try_push(GoldenVector { input, output })
					.map_err(|_| Error::<T>::TooManyGoldenVectors)?;
				Ok::<_, DispatchError>(v.len() as u32)
			})?;
			Self::hold_funds(HoldReason::StorageDeposit, &who, deposit)?;
			model.deposit.saturating_accrue(deposit);
			Models::<T>::insert(id, model);
			Self::deposit_event(Event::GoldenVectorAdded { model: id, count });
			Ok(())
		}

		/// Gives a model being uploaded its compact graph, so that jobs may run
		/// it in consensus mode (evaluated by every validator inside the
		/// block): the ONNX model compiled by `verity-engine`'s
		/// `consensus::compile` (the `verity` CLI does it). The graph must
		/// decode and check, declare the model's inputs and outputs, hold at
		/// most `MaxConsensusParams` parameters and run at the model's
		/// largest batch within `MaxConsensusMemory`; its price at that
		/// batch is stored. Admission's verifiers compile the ONNX bytes
		/// again and reject the model when the two differ. Its bytes are
		/// added to the storage deposit.
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::set_consensus_graph(graph.len() as u32))]
		pub fn set_consensus_graph(
			origin: OriginFor<T>,
			id: ModelId,
			graph: BoundedVec<u8, T::MaxConsensusGraphSize>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut model = Models::<T>::get(id).ok_or(Error::<T>::ModelNotFound)?;
			ensure!(model.owner == who, Error::<T>::NotOwner);
			ensure!(model.status == ModelStatus::Uploading, Error::<T>::NotUploading);
			ensure!(!ConsensusGraphs::<T>::contains_key(id), Error::<T>::ConsensusGraphAlreadySet);
			let info = Self::consensus_info(&model, &graph)?;
			let deposit = T::ByteDeposit::get().saturating_mul(info.size.into());
			Self::hold_funds(HoldReason::StorageDeposit, &who, deposit)?;
			model.deposit.saturating_accrue(deposit);
			Models::<T>::insert(id, model);
			ConsensusGraphs::<T>::insert(id, graph);
			ConsensusModels::<T>::insert(id, info);
			Self::deposit_event(Event::ConsensusGraphSet {
				model: id,
				parameters: info.parameters,
				size: info.size,
			});
			Ok(())
		}

		/// Sets the price per job paid to the owner. Jobs already submitted keep
		/// the price they were submitted with.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::set_price())]
		pub fn set_price(origin: OriginFor<T>, id: ModelId, price: BalanceOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Models::<T>::try_mutate(id, |m| {
				let model = m.as_mut().ok_or(Error::<T>::ModelNotFound)?;
				ensure!(model.owner == who, Error::<T>::NotOwner);
				ensure!(Self::changeable(model.status), Error::<T>::ModelNotChangeable);
				model.price = price;
				Ok::<_, DispatchError>(())
			})?;
			Self::deposit_event(Event::PriceSet { model: id, price });
			Ok(())
		}

		/// Stops new jobs for an active model; jobs already submitted finish.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::deprecate())]
		pub fn deprecate(origin: OriginFor<T>, id: ModelId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Models::<T>::try_mutate(id, |m| {
				let model = m.as_mut().ok_or(Error::<T>::ModelNotFound)?;
				ensure!(model.owner == who, Error::<T>::NotOwner);
				ensure!(model.status == ModelStatus::Active, Error::<T>::NotActive);
				model.status = ModelStatus::Deprecated;
				Ok::<_, DispatchError>(())
			})?;
			Self::deposit_event(Event::ModelDeprecated { model: id });
			Ok(())
		}

		/// Removes a deprecated (or disabled, or rejected) model's bytes once no job uses it,
		/// and releases its deposit and what is left of its bond. The record
		/// stays, marked `Retired`.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::retire(Pallet::<T>::max_chunks()))]
		pub fn retire(origin: OriginFor<T>, id: ModelId) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let mut model = Models::<T>::get(id).ok_or(Error::<T>::ModelNotFound)?;
			ensure!(model.owner == who, Error::<T>::NotOwner);
			ensure!(
				matches!(
					model.status,
					ModelStatus::Deprecated | ModelStatus::Disabled | ModelStatus::Rejected
				),
				Error::<T>::NotDeprecated
			);
			ensure!(T::ModelUsage::jobs_in_flight(&id) == 0, Error::<T>::ModelInUse);

			let chunks = model.chunks;
			Self::remove_chunks(&id, chunks);
			GoldenVectors::<T>::remove(id);
			ConsensusGraphs::<T>::remove(id);
			ConsensusModels::<T>::remove(id);
			Self::release_hold(HoldReason::StorageDeposit, &who, model.deposit);
			Self::release_hold(HoldReason::PublisherBond, &who, model.bond);
			let released = model.deposit.saturating_add(model.bond);
			model.status = ModelStatus::Retired;
			model.chunks = 0;
			model.received = 0;
			model.deposit = Zero::zero();
			model.bond = Zero::zero();
			Models::<T>::insert(id, model);
			PendingOwners::<T>::remove(id);
			Self::deposit_event(Event::ModelRetired { model: id, released });
			Ok(Some(T::WeightInfo::retire(chunks)).into())
		}

		/// Offers model `id` to `to`, who takes it over with
		/// [`Pallet::accept_ownership`]. A new offer replaces an earlier one.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::transfer_ownership())]
		pub fn transfer_ownership(
			origin: OriginFor<T>,
			id: ModelId,
			to: T::AccountId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let model = Models::<T>::get(id).ok_or(Error::<T>::ModelNotFound)?;
			ensure!(model.owner == who, Error::<T>::NotOwner);
			ensure!(Self::changeable(model.status), Error::<T>::ModelNotChangeable);
			ensure!(to != who, Error::<T>::AlreadyOwner);
			PendingOwners::<T>::insert(id, &to);
			Self::deposit_event(Event::OwnershipOffered { model: id, from: who, to });
			Ok(())
		}

		/// Takes over model `id` as offered: the model's deposit and bond are
		/// held from the caller and released to the previous owner.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::accept_ownership())]
		pub fn accept_ownership(origin: OriginFor<T>, id: ModelId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(
				PendingOwners::<T>::get(id).as_ref() == Some(&who),
				Error::<T>::NoPendingTransfer
			);
			let mut model = Models::<T>::get(id).ok_or(Error::<T>::ModelNotFound)?;
			ensure!(Self::changeable(model.status), Error::<T>::ModelNotChangeable);

			Self::hold_funds(HoldReason::StorageDeposit, &who, model.deposit)?;
			Self::hold_funds(HoldReason::PublisherBond, &who, model.bond)?;
			let from = core::mem::replace(&mut model.owner, who.clone());
			Self::release_hold(HoldReason::StorageDeposit, &from, model.deposit);
			Self::release_hold(HoldReason::PublisherBond, &from, model.bond);
			Models::<T>::insert(id, model);
			PendingOwners::<T>::remove(id);
			Self::deposit_event(Event::OwnershipTransferred { model: id, from, to: who });
			Ok(())
		}

		/// Hands family `family` (the right to register its next releases) to
		/// `to`. Its existing models keep their owners.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::transfer_family())]
		pub fn transfer_family(
			origin: OriginFor<T>,
			family: FamilyName,
			to: T::AccountId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Families::<T>::try_mutate(&family, |f| {
				let info = f.as_mut().ok_or(Error::<T>::FamilyNotFound)?;
				ensure!(info.owner == who, Error::<T>::NotFamilyOwner);
				ensure!(to != who, Error::<T>::AlreadyOwner);
				info.owner = to.clone();
				Ok::<_, DispatchError>(())
			})?;
			Self::deposit_event(Event::FamilyTransferred { family, from: who, to });
			Ok(())
		}
	}
}

impl<T: Config> Pallet<T> {
	/// Storage deposit for a model of `size` bytes.
	pub fn storage_deposit(size: u32) -> BalanceOf<T> {
		T::ByteDeposit::get().saturating_mul(size.into()).saturating_add(T::ModelDeposit::get())
	}

	/// Chunks of the largest model.
	pub fn max_chunks() -> u32 {
		chunk_count(T::MaxModelSize::get(), T::ChunkSize::get())
	}

	/// Chunk `index` of model `id`, if the model's bytes are complete.
	pub fn model_chunk(id: &ModelId, index: u32) -> Option<Vec<u8>> {
		Models::<T>::get(id)
			.filter(|m| m.has_bytes())
			.and_then(|_| Chunks::<T>::get(id, index))
			.map(|c| c.into_inner())
	}

	/// The model released as `version` of `family`.
	pub fn release(family: Vec<u8>, version: ModelVersion) -> Option<ModelId> {
		let family = FamilyName::try_from(family).ok()?;
		Releases::<T>::get(family, version)
	}

	fn changeable(status: ModelStatus) -> bool {
		!matches!(status, ModelStatus::Disabled | ModelStatus::Retired | ModelStatus::Rejected)
	}

	fn hold_funds(reason: HoldReason, who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		if amount.is_zero() {
			return Ok(());
		}
		T::Currency::hold(&reason.into(), who, amount)
			.map_err(|_| Error::<T>::InsufficientBalance.into())
	}

	fn release_hold(reason: HoldReason, who: &T::AccountId, amount: BalanceOf<T>) {
		if amount.is_zero() {
			return;
		}
		let released = T::Currency::release(&reason.into(), who, amount, Precision::BestEffort);
		if released.ok() != Some(amount) {
			log::error!(target: LOG_TARGET, "released less than held ({reason:?}); try_state will fail");
			frame_support::defensive!("model registry: held funds missing");
		}
	}

	/// Checks that all of model `id`'s bytes are stored and hash to its id,
	/// and hands it to admission (`Pending`), or activates it where
	/// [`Config::Admission`] admits at once.
	pub(crate) fn complete_upload(id: &ModelId, model: &mut ModelInfoOf<T>) -> DispatchResult {
		ensure!(
			GoldenVectors::<T>::decode_len(id).unwrap_or(0) as u32 >= T::MinGoldenVectors::get(),
			Error::<T>::TooFewGoldenVectors
		);
		let bytes = Self::assemble(id, model.chunks);
		ensure!(sp_io::hashing::blake2_256(&bytes) == id.0, Error::<T>::HashMismatch);
		Self::deposit_event(Event::UploadCompleted { model: *id });
		if T::Admission::start(id) {
			model.status = ModelStatus::Pending;
		} else {
			model.status = ModelStatus::Active;
			Self::deposit_event(Event::ModelActivated { model: *id });
		}
		Ok(())
	}

	/// All stored bytes of model `id`, concatenated.
	fn assemble(id: &ModelId, chunks: u32) -> Vec<u8> {
		let mut bytes = Vec::new();
		for index in 0..chunks {
			if let Some(chunk) = Chunks::<T>::get(id, index) {
				bytes.extend_from_slice(&chunk);
			}
		}
		bytes
	}

	fn remove_chunks(id: &ModelId, chunks: u32) {
		for index in 0..chunks {
			Chunks::<T>::remove(id, index);
		}
	}

	/// Checks the registry's invariants:
	/// * every model's deposit and bond sum, per owner, to what is held;
	/// * a model's stored chunks match its status and counters;
	/// * families and releases agree with the models.
	#[cfg(any(feature = "try-runtime", feature = "test-utils", test))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use alloc::collections::btree_map::BTreeMap;
		use frame_support::traits::fungible::InspectHold;
		let mut held: BTreeMap<T::AccountId, (BalanceOf<T>, BalanceOf<T>)> = BTreeMap::new();
		let mut releases: BTreeMap<FamilyName, u32> = BTreeMap::new();
		for (id, golden) in GoldenVectors::<T>::iter() {
			ensure!(
				Models::<T>::get(id).is_some_and(|m| m.status != ModelStatus::Retired),
				"golden vectors of a retired or unknown model"
			);
			ensure!(!golden.is_empty(), "an empty list of golden vectors is stored");
		}
		for (id, graph) in ConsensusGraphs::<T>::iter() {
			ensure!(
				Models::<T>::get(id).is_some_and(|m| m.status != ModelStatus::Retired),
				"a consensus graph of a retired or unknown model"
			);
			ensure!(
				ConsensusModels::<T>::get(id).is_some_and(|i| i.size as usize == graph.len()),
				"a consensus graph without its record, or of another size"
			);
		}
		ensure!(
			ConsensusModels::<T>::iter_keys().all(ConsensusGraphs::<T>::contains_key),
			"a consensus record without its graph"
		);
		for (id, m) in Models::<T>::iter() {
			let entry = held.entry(m.owner.clone()).or_default();
			entry.0.saturating_accrue(m.deposit);
			entry.1.saturating_accrue(m.bond);
			releases.entry(m.family.clone()).or_default().saturating_inc();
			ensure!(
				Releases::<T>::get(&m.family, m.version) == Some(id),
				"model not listed as its release"
			);
			let stored = Chunks::<T>::iter_prefix(id).count() as u32;
			ensure!(stored == m.chunks, "chunk counter differs from stored chunks");
			match m.status {
				ModelStatus::Uploading => {
					ensure!(m.received < m.size, "uploading model has all bytes");
					ensure!(
						m.received == m.chunks.saturating_mul(T::ChunkSize::get()),
						"uploaded bytes not whole chunks"
					);
				}
				ModelStatus::Retired => {
					ensure!(m.chunks == 0 && m.received == 0, "retired model has bytes");
					ensure!(m.deposit.is_zero() && m.bond.is_zero(), "retired model holds funds");
				}
				_ => {
					ensure!(m.received == m.size, "complete model lacks bytes");
					ensure!(
						m.chunks == chunk_count(m.size, T::ChunkSize::get()),
						"complete model has wrong chunk count"
					);
				}
			}
		}
		for (owner, (deposit, bond)) in held {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::StorageDeposit.into(), &owner) == deposit,
				"storage deposits held differ from the records"
			);
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::PublisherBond.into(), &owner) == bond,
				"publisher bonds held differ from the records"
			);
		}
		for (family, info) in Families::<T>::iter() {
			ensure!(
				releases.get(&family).copied().unwrap_or(0) == info.releases,
				"family release counter differs from its models"
			);
		}
		ensure!(releases.keys().all(Families::<T>::contains_key), "model of an unknown family");
		for (family, _, id) in Releases::<T>::iter() {
			ensure!(
				Models::<T>::get(id).is_some_and(|m| m.family == family),
				"release names a missing model"
			);
		}
		for (id, _) in PendingOwners::<T>::iter() {
			ensure!(
				Models::<T>::get(id).is_some_and(|m| Self::changeable(m.status)),
				"ownership offer for an unchangeable model"
			);
		}
		Ok(())
	}
}

impl<T: Config> ModelRegistry<T::AccountId, BalanceOf<T>, BlockNumberFor<T>> for Pallet<T> {
	fn model(id: &ModelId) -> Option<ModelInfoOf<T>> {
		Models::<T>::get(id)
	}

	fn model_bytes(id: &ModelId) -> Option<Vec<u8>> {
		let model = Models::<T>::get(id).filter(|m| m.has_bytes())?;
		Some(Self::assemble(id, model.chunks))
	}

	fn disable_and_slash(id: &ModelId) -> Result<BalanceOf<T>, DispatchError> {
		let mut model = Models::<T>::get(id).ok_or(Error::<T>::ModelNotFound)?;
		ensure!(
			matches!(model.status, ModelStatus::Active | ModelStatus::Deprecated),
			Error::<T>::NotSlashable
		);
		let (credit, _) =
			T::Currency::slash(&HoldReason::PublisherBond.into(), &model.owner, model.bond);
		let slashed = credit.peek();
		T::Slash::on_unbalanced(credit);
		model.bond = model.bond.saturating_sub(slashed);
		model.status = ModelStatus::Disabled;
		Models::<T>::insert(id, model);
		PendingOwners::<T>::remove(id);
		Self::deposit_event(Event::ModelDisabled { model: *id, slashed });
		Ok(slashed)
	}

	fn consensus_info(id: &ModelId) -> Option<ConsensusInfo> {
		ConsensusModels::<T>::get(id)
	}

	fn consensus_graph(id: &ModelId) -> Option<Vec<u8>> {
		ConsensusGraphs::<T>::get(id).map(|g| g.into_inner())
	}

	fn golden_vectors(id: &ModelId) -> Vec<(Vec<u8>, Vec<u8>)> {
		GoldenVectors::<T>::get(id)
			.into_iter()
			.map(|g| (g.input.into_inner(), g.output.into_inner()))
			.collect()
	}

	fn admit(id: &ModelId) -> DispatchResult {
		Models::<T>::try_mutate(id, |m| {
			let model = m.as_mut().ok_or(Error::<T>::ModelNotFound)?;
			ensure!(model.status == ModelStatus::Pending, Error::<T>::NotPending);
			model.status = ModelStatus::Active;
			Ok::<_, DispatchError>(())
		})?;
		Self::deposit_event(Event::ModelActivated { model: *id });
		Ok(())
	}

	fn reject(id: &ModelId) -> Result<BalanceOf<T>, DispatchError> {
		let mut model = Models::<T>::get(id).ok_or(Error::<T>::ModelNotFound)?;
		ensure!(model.status == ModelStatus::Pending, Error::<T>::NotPending);
		let amount = T::RejectionSlash::get() * model.bond;
		let (credit, _) =
			T::Currency::slash(&HoldReason::PublisherBond.into(), &model.owner, amount);
		let slashed = credit.peek();
		T::Slash::on_unbalanced(credit);
		model.bond = model.bond.saturating_sub(slashed);
		model.status = ModelStatus::Rejected;
		Models::<T>::insert(id, model);
		PendingOwners::<T>::remove(id);
		Self::deposit_event(Event::ModelRejected { model: *id, slashed });
		Ok(slashed)
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn benchmark_model(
		owner: &T::AccountId,
		inputs: TensorSpecs,
		outputs: TensorSpecs,
		policy: VerificationPolicy,
	) -> ModelId {
		let bytes = (inputs.clone(), outputs.clone(), policy).encode();
		let id = ModelId::from(sp_io::hashing::blake2_256(&bytes));
		let family = FamilyName::truncate_from(id.0.to_vec());
		let version = ModelVersion { major: 1, minor: 0 };
		Chunks::<T>::insert(id, 0, BoundedVec::truncate_from(bytes.clone()));
		Families::<T>::insert(&family, FamilyInfo { owner: owner.clone(), releases: 1 });
		Releases::<T>::insert(&family, version, id);
		Models::<T>::insert(
			id,
			ModelInfo {
				owner: owner.clone(),
				family,
				version,
				size: bytes.len() as u32,
				inputs,
				outputs,
				price: 1u32.into(),
				challenge_period: T::MinChallengePeriod::get(),
				policy,
				max_batch: 1,
				status: ModelStatus::Active,
				chunks: 1,
				received: bytes.len() as u32,
				deposit: Zero::zero(),
				bond: Zero::zero(),
				registered_at: frame_system::Pallet::<T>::block_number(),
			},
		);
		id
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn benchmark_pending(id: &ModelId) {
		Models::<T>::mutate(id, |m| {
			if let Some(m) = m {
				m.status = ModelStatus::Pending;
			}
		});
	}
}
