//! # Inference
//!
//! The market at the heart of Verity: dApps pay for inference jobs, staked
//! executors run them off-chain and post the output, and nobody has to trust
//! the executor, because any output can be challenged and is then settled by
//! a committee of staked verifiers re-executing the model.
//!
//! ## A job's life
//!
//! 1. [`Pallet::submit_job`]: the requester names an active model of the
//!    registry and passes SCALE-encoded tensors matching the model's declared
//!    inputs. The fee (model price + `ExecutorFee` + `ProtocolFee`) is held in
//!    escrow, and the job is assigned to an executor serving the model,
//!    pseudo-randomly and weighted by stake (never the requester).
//! 2. [`Pallet::submit_result`]: only the assigned executor, within
//!    `ResultTimeout` blocks, posts an output matching the model's declared
//!    outputs. The model's challenge window opens. A job without a result in
//!    time fails: the requester is refunded and the executor loses
//!    `TimeoutSlash` of its stake. (Jobs are not reassigned: a dApp that still
//!    wants the answer submits again, with its refund.)
//! 3. If nobody challenges, the job settles when the window closes: the model's
//!    owner, the executor and the treasury are paid from the escrow.
//! 4. [`Pallet::challenge`]: anyone but the executor, inside the window, with
//!    a bond of at least `ChallengeBond`. `CommitteeSize` verifiers are drawn
//!    (not the executor, not the challenger). Each re-executes the job and
//!    posts its output with [`Pallet::submit_verdict`]; the pallet compares it
//!    with the executor's under the model's [`VerificationPolicy`]. Two thirds
//!    of the committee decide:
//!    * executor wrong: `ExecutorSlash` of its stake is slashed; the
//!      challenger gets its bond back plus `ChallengerReward` of the slash, the
//!      verifiers who voted with the quorum share `VerifierReward` of it, the
//!      rest goes to the treasury; the requester is refunded;
//!    * challenger wrong: its bond is slashed, `ExecutorShare` of it to the
//!      executor and the rest to the verifiers who voted with the quorum; the
//!      job settles as normal;
//!    * model unrunnable: the registry disables the model and slashes its
//!      publisher; the requester is refunded and the challenger's bond returned.
//!
//!    Without a quorum by `DisputePeriod`, verifiers who did not vote lose
//!    `VerifierPenalty` of their stake and the dispute is extended once; after
//!    that it stalls until `ForceOrigin` resolves it ([`Pallet::resolve_dispute`]).
//!    An executor that cannot run a model says so with
//!    [`Pallet::report_unrunnable`], which opens a dispute with no challenger.
//! 5. Outputs stay readable (storage, events, the `InferenceApi` runtime API)
//!    for `ResultRetention` blocks after the job ends, then are pruned.
//!
//! ## Scheduling
//!
//! Every job has one `deadline`: its next step (result timeout, end of the
//! challenge window, dispute deadline, pruning). Deadlines are kept per block
//! (at most `MaxDeadlinesPerBlock` each; a full block pushes the deadline to
//! the next one), and `on_initialize` processes at most `MaxStepsPerBlock`
//! due steps, carrying the rest over to the next block. The work in a block
//! therefore does not grow with the number of pending jobs.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
pub mod offchain;
#[cfg(test)]
mod tests;
mod traits;
mod types;
pub mod weights;

use alloc::{vec, vec::Vec};
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::{self, Balanced, BalancedHold, Inspect, Mutate, MutateHold},
		tokens::{Fortitude, Precision, Restriction},
		Imbalance,
	},
};
use frame_system::pallet_prelude::*;
use pallet_model_registry::ModelRegistry;
use sp_runtime::{
	traits::{Saturating, Zero},
	Perbill,
};
use verity_primitives::{
	check_tensors, decode_tensors, outputs_agree, ModelId, VerificationPolicy,
};

pub use offchain::{crypto, KEY_TYPE};
pub use pallet::*;
pub use traits::{InferenceProvider, OnInferenceSettled};
pub use types::*;
pub use weights::WeightInfo;

/// Balance type of the pallet's currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
type CreditOf<T> =
	fungible::Credit<<T as frame_system::Config>::AccountId, <T as Config>::Currency>;
/// A job as stored.
pub type JobOf<T> = Job<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
/// An executor's record as stored.
pub type ExecutorInfoOf<T> =
	ExecutorInfo<BalanceOf<T>, BlockNumberFor<T>, <T as Config>::MaxModelsPerExecutor>;
/// A verifier's record as stored.
pub type VerifierInfoOf<T> = VerifierInfo<BalanceOf<T>, BlockNumberFor<T>>;
/// A dispute as stored.
pub type DisputeOf<T> =
	Dispute<<T as frame_system::Config>::AccountId, BalanceOf<T>, <T as Config>::CommitteeSize>;
/// A job's input: SCALE-encoded `Vec<Tensor>`.
pub type InputOf<T> = BoundedVec<u8, <T as Config>::MaxInputSize>;
/// A job's output: SCALE-encoded `Vec<Tensor>`.
pub type OutputOf<T> = BoundedVec<u8, <T as Config>::MaxOutputSize>;

const LOG_TARGET: &str = "runtime::inference";

#[frame_support::pallet]
pub mod pallet {
	use super::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Configuration of the inference market.
	#[pallet::config]
	pub trait Config:
		frame_system::offchain::CreateSignedTransaction<Call<Self>> + frame_system::Config
	{
		/// The keys the offchain worker signs with (see [`crypto`]).
		type AuthorityId: frame_system::offchain::AppCrypto<Self::Public, Self::Signature>;

		/// The currency fees, stakes and bonds are held in.
		type Currency: Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ BalancedHold<Self::AccountId>
			+ Balanced<Self::AccountId>;

		/// The runtime's hold reasons, of which [`HoldReason`] is a part.
		type RuntimeHoldReason: From<HoldReason>;

		/// The model registry.
		type Models: ModelRegistry<Self::AccountId, BalanceOf<Self>, BlockNumberFor<Self>>;

		/// The protocol's account: receives protocol fees and unassigned slashes.
		type Treasury: Get<Self::AccountId>;

		/// May resolve a stalled dispute.
		type ForceOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// The pallets that request inference and are told when their jobs end
		/// (a tuple; see [`OnInferenceSettled`]).
		type OnSettled: OnInferenceSettled;

		/// Paid to the executor per job.
		#[pallet::constant]
		type ExecutorFee: Get<BalanceOf<Self>>;
		/// Paid to the treasury per job.
		#[pallet::constant]
		type ProtocolFee: Get<BalanceOf<Self>>;
		/// Least stake of an executor.
		#[pallet::constant]
		type MinExecutorStake: Get<BalanceOf<Self>>;
		/// Least stake of a verifier.
		#[pallet::constant]
		type MinVerifierStake: Get<BalanceOf<Self>>;
		/// Blocks between unbonding and withdrawing a stake.
		#[pallet::constant]
		type UnbondingPeriod: Get<BlockNumberFor<Self>>;
		/// Blocks an executor has to post a result.
		#[pallet::constant]
		type ResultTimeout: Get<BlockNumberFor<Self>>;
		/// Share of its stake an executor loses when it misses `ResultTimeout`.
		#[pallet::constant]
		type TimeoutSlash: Get<Perbill>;
		/// Share of its stake an executor loses when a dispute finds it wrong.
		#[pallet::constant]
		type ExecutorSlash: Get<Perbill>;
		/// Least bond of a challenge.
		#[pallet::constant]
		type ChallengeBond: Get<BalanceOf<Self>>;
		/// Share of an executor's slash paid to a successful challenger.
		#[pallet::constant]
		type ChallengerReward: Get<Perbill>;
		/// Share of an executor's slash paid to the verifiers of the quorum.
		#[pallet::constant]
		type VerifierReward: Get<Perbill>;
		/// Share of a failed challenger's bond paid to the executor (the rest
		/// goes to the verifiers of the quorum).
		#[pallet::constant]
		type ExecutorShare: Get<Perbill>;
		/// Share of its stake a committee member loses for not voting in time.
		#[pallet::constant]
		type VerifierPenalty: Get<Perbill>;
		/// Verifiers drawn per dispute.
		#[pallet::constant]
		type CommitteeSize: Get<u32>;
		/// Blocks a committee has to vote (once more after an extension).
		#[pallet::constant]
		type DisputePeriod: Get<BlockNumberFor<Self>>;
		/// Blocks a finished job's output stays readable.
		#[pallet::constant]
		type ResultRetention: Get<BlockNumberFor<Self>>;
		/// Largest job input, in bytes.
		#[pallet::constant]
		type MaxInputSize: Get<u32>;
		/// Largest job output, in bytes.
		#[pallet::constant]
		type MaxOutputSize: Get<u32>;
		/// Most executors.
		#[pallet::constant]
		type MaxExecutors: Get<u32>;
		/// Most verifiers.
		#[pallet::constant]
		type MaxVerifiers: Get<u32>;
		/// Most models an executor may restrict itself to.
		#[pallet::constant]
		type MaxModelsPerExecutor: Get<u32>;
		/// Most unfinished jobs one executor holds; a busier executor is not assigned more.
		#[pallet::constant]
		type MaxOpenJobs: Get<u32>;
		/// Most disputes one verifier is asked to vote on at once.
		#[pallet::constant]
		type MaxOpenDisputes: Get<u32>;
		/// Most deadlines kept for one block.
		#[pallet::constant]
		type MaxDeadlinesPerBlock: Get<u32>;
		/// Most scheduled steps processed in one block.
		#[pallet::constant]
		type MaxStepsPerBlock: Get<u32>;
		/// Weights of the calls and hooks.
		type WeightInfo: WeightInfo;
	}

	/// Why the pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// An executor's stake.
		ExecutorStake,
		/// A verifier's stake.
		VerifierStake,
		/// A job's fee, until it settles or is refunded.
		JobEscrow,
		/// A challenger's bond.
		ChallengeBond,
	}

	/// Executors, by account.
	#[pallet::storage]
	pub type Executors<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, ExecutorInfoOf<T>>;

	/// Executors that take new jobs (not unbonding), for assignment.
	#[pallet::storage]
	pub type ActiveExecutors<T: Config> =
		StorageValue<_, BoundedVec<T::AccountId, T::MaxExecutors>, ValueQuery>;

	/// Each executor's unfinished jobs (its offchain worker's to-do list).
	#[pallet::storage]
	pub type Assignments<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<JobId, T::MaxOpenJobs>,
		ValueQuery,
	>;

	/// Verifiers, by account.
	#[pallet::storage]
	pub type Verifiers<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, VerifierInfoOf<T>>;

	/// Verifiers that join new committees (not unbonding).
	#[pallet::storage]
	pub type ActiveVerifiers<T: Config> =
		StorageValue<_, BoundedVec<T::AccountId, T::MaxVerifiers>, ValueQuery>;

	/// Each verifier's disputes awaiting its vote (its offchain worker's to-do list).
	#[pallet::storage]
	pub type Duties<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<JobId, T::MaxOpenDisputes>,
		ValueQuery,
	>;

	/// The id the next job gets.
	#[pallet::storage]
	pub type NextJobId<T: Config> = StorageValue<_, JobId, ValueQuery>;

	/// Jobs, until pruned.
	#[pallet::storage]
	pub type Jobs<T: Config> = StorageMap<_, Twox64Concat, JobId, JobOf<T>>;

	/// Job inputs, until the job is pruned.
	#[pallet::storage]
	pub type Inputs<T: Config> = StorageMap<_, Twox64Concat, JobId, InputOf<T>>;

	/// Job outputs, until the job is pruned.
	#[pallet::storage]
	pub type Outputs<T: Config> = StorageMap<_, Twox64Concat, JobId, OutputOf<T>>;

	/// Running disputes.
	#[pallet::storage]
	pub type Disputes<T: Config> = StorageMap<_, Twox64Concat, JobId, DisputeOf<T>>;

	/// Jobs whose deadline falls in a block.
	#[pallet::storage]
	pub type Deadlines<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<JobId, T::MaxDeadlinesPerBlock>,
		ValueQuery,
	>;

	/// The earliest block whose deadlines are not all processed.
	#[pallet::storage]
	pub type NextDue<T: Config> = StorageValue<_, BlockNumberFor<T>, ValueQuery>;

	/// Jobs of a model not yet settled or failed (the registry keeps such a
	/// model from being retired).
	#[pallet::storage]
	pub type JobsInFlight<T: Config> = StorageMap<_, Blake2_128Concat, ModelId, u32, ValueQuery>;

	/// Executors and verifiers at genesis: `(account, stake)`.
	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// Executors serving every model.
		pub executors: Vec<(T::AccountId, BalanceOf<T>)>,
		/// Verifiers.
		pub verifiers: Vec<(T::AccountId, BalanceOf<T>)>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			for (who, stake) in &self.executors {
				Pallet::<T>::do_register_executor(who, *stake, None)
					.expect("genesis executors are funded and distinct");
			}
			for (who, stake) in &self.verifiers {
				Pallet::<T>::do_register_verifier(who, *stake)
					.expect("genesis verifiers are funded and distinct");
			}
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// An account became an executor.
		ExecutorRegistered {
			/// The executor.
			executor: T::AccountId,
			/// Its stake.
			stake: BalanceOf<T>,
		},
		/// An executor added to its stake.
		ExecutorStakeIncreased {
			/// The executor.
			executor: T::AccountId,
			/// Its stake now.
			stake: BalanceOf<T>,
		},
		/// An executor stopped taking jobs.
		ExecutorUnbonding {
			/// The executor.
			executor: T::AccountId,
			/// First block it may withdraw in.
			until: BlockNumberFor<T>,
		},
		/// An executor left and got its stake back.
		ExecutorWithdrawn {
			/// The executor.
			executor: T::AccountId,
			/// The stake released.
			stake: BalanceOf<T>,
		},
		/// An account became a verifier.
		VerifierRegistered {
			/// The verifier.
			verifier: T::AccountId,
			/// Its stake.
			stake: BalanceOf<T>,
		},
		/// A verifier stopped joining committees.
		VerifierUnbonding {
			/// The verifier.
			verifier: T::AccountId,
			/// First block it may withdraw in.
			until: BlockNumberFor<T>,
		},
		/// A verifier left and got its stake back.
		VerifierWithdrawn {
			/// The verifier.
			verifier: T::AccountId,
			/// The stake released.
			stake: BalanceOf<T>,
		},
		/// A job was submitted and assigned.
		JobSubmitted {
			/// The job.
			job: JobId,
			/// The model it runs.
			model: ModelId,
			/// Who pays.
			requester: T::AccountId,
			/// Who runs it.
			executor: T::AccountId,
			/// The whole fee held in escrow.
			fee: BalanceOf<T>,
			/// Block by which the result is due.
			deadline: BlockNumberFor<T>,
		},
		/// The executor posted a result.
		ResultSubmitted {
			/// The job.
			job: JobId,
			/// Its executor.
			executor: T::AccountId,
			/// blake2-256 of the output.
			output_hash: sp_core::H256,
			/// The result can be challenged before this block.
			challenge_until: BlockNumberFor<T>,
		},
		/// A job was paid out.
		JobSettled {
			/// The job.
			job: JobId,
			/// Its executor.
			executor: T::AccountId,
			/// Paid to the executor.
			fee: BalanceOf<T>,
			/// Paid to the model's owner.
			price: BalanceOf<T>,
			/// Paid to the treasury.
			protocol_fee: BalanceOf<T>,
		},
		/// A job failed and its requester was refunded.
		JobFailed {
			/// The job.
			job: JobId,
			/// Why.
			reason: FailReason,
			/// Returned to the requester.
			refund: BalanceOf<T>,
		},
		/// A result was challenged (or reported unrunnable); a committee re-executes the job.
		JobChallenged {
			/// The job.
			job: JobId,
			/// Who challenged (`None`: the executor reported the model unrunnable).
			challenger: Option<T::AccountId>,
			/// The challenger's bond.
			bond: BalanceOf<T>,
			/// The verifiers drawn.
			committee: Vec<T::AccountId>,
			/// Block by which they vote.
			deadline: BlockNumberFor<T>,
		},
		/// A committee member voted.
		VerdictSubmitted {
			/// The job.
			job: JobId,
			/// The verifier.
			verifier: T::AccountId,
			/// Its finding.
			vote: Vote,
		},
		/// A dispute ended.
		DisputeResolved {
			/// The job.
			job: JobId,
			/// How it ended.
			outcome: Outcome,
		},
		/// No quorum in time: non-voters were penalised and the vote extended.
		DisputeExtended {
			/// The job.
			job: JobId,
			/// Members who had not voted.
			penalised: Vec<T::AccountId>,
			/// The new deadline.
			deadline: BlockNumberFor<T>,
		},
		/// No quorum after the extension: governance must resolve it.
		DisputeStalled {
			/// The job.
			job: JobId,
		},
		/// An account was slashed.
		Slashed {
			/// The account.
			who: T::AccountId,
			/// The amount.
			amount: BalanceOf<T>,
		},
		/// An account was rewarded from a slash.
		Rewarded {
			/// The account.
			who: T::AccountId,
			/// The amount.
			amount: BalanceOf<T>,
		},
		/// A job's consumer handled its result.
		CallbackDelivered {
			/// The job.
			job: JobId,
			/// Its callback.
			callback: Callback,
		},
		/// The consumer of a job failed to handle its result; its changes were
		/// discarded. The job's funds moved as they would have anyway.
		CallbackFailed {
			/// The job.
			job: JobId,
			/// Its callback.
			callback: Callback,
			/// The consumer's error.
			error: DispatchError,
		},
		/// A finished job's records were removed.
		JobPruned {
			/// The job.
			job: JobId,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The account is already an executor.
		AlreadyExecutor,
		/// The account is not an executor.
		NotExecutor,
		/// The account is already a verifier.
		AlreadyVerifier,
		/// The account is not a verifier.
		NotVerifier,
		/// The stake is below the minimum.
		StakeTooLow,
		/// The account cannot pay the stake, bond or fee.
		InsufficientBalance,
		/// No more executors (or verifiers) can register.
		TooMany,
		/// The executor or verifier is already unbonding.
		AlreadyUnbonding,
		/// Withdraw needs unbonding first.
		NotUnbonding,
		/// The unbonding period has not passed.
		StillUnbonding,
		/// The executor still has jobs (or the verifier disputes) open.
		OpenJobs,
		/// No model has this id.
		ModelNotFound,
		/// The model takes no new jobs.
		ModelNotActive,
		/// The input is not tensors matching the model's declared inputs.
		InvalidInput,
		/// The output is not tensors matching the model's declared outputs.
		InvalidOutput,
		/// The fee exceeds the requester's `max_fee`.
		FeeAboveMax,
		/// No executor serves this model.
		NoExecutorAvailable,
		/// No job has this id.
		JobNotFound,
		/// Only the job's assigned executor may do this.
		NotAssignedExecutor,
		/// The job does not wait for a result.
		NotAwaitingResult,
		/// The job's result is not open to challenge.
		NotChallengeable,
		/// The challenge window has closed.
		ChallengeWindowClosed,
		/// The executor cannot challenge its own result.
		SelfChallenge,
		/// The bond is below `ChallengeBond`.
		BondTooLow,
		/// Not enough eligible verifiers to form a committee.
		NotEnoughVerifiers,
		/// No dispute runs for this job.
		NoDispute,
		/// The account is not on this dispute's committee.
		NotInCommittee,
		/// The account already voted.
		AlreadyVoted,
		/// The dispute has not stalled; its committee still decides.
		NotStalled,
		/// Every block a deadline could go into is full.
		SchedulerFull,
		/// No consumer of the runtime answers to the job's callback.
		UnknownConsumer,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			Self::process_deadlines(now)
		}

		fn offchain_worker(now: BlockNumberFor<T>) {
			Self::run_offchain_worker(now)
		}

		fn integrity_test() {
			assert!(T::CommitteeSize::get() >= 1, "a dispute needs a committee");
			assert!(
				T::MaxStepsPerBlock::get() >= T::MaxDeadlinesPerBlock::get(),
				"processing must keep up with scheduling or the backlog grows without bound"
			);
			assert!(!T::ResultTimeout::get().is_zero(), "executors need time to post results");
			assert!(!T::DisputePeriod::get().is_zero(), "committees need time to vote");
			assert!(
				T::ChallengerReward::get().saturating_add(T::VerifierReward::get())
					<= Perbill::one(),
				"slash shares exceed the slash"
			);
			assert!(T::MaxDeadlinesPerBlock::get() > 0 && T::MaxStepsPerBlock::get() > 0);
			let steps = T::MaxStepsPerBlock::get();
			let worst = T::WeightInfo::on_initialize(steps, steps)
				.saturating_add(T::OnSettled::max_weight().saturating_mul(steps.into()));
			assert!(
				worst.all_lte(T::BlockWeights::get().max_block / 4),
				"a block's settlements with their callbacks may take over a quarter of the block"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Becomes an executor with `stake` held (at least `MinExecutorStake`),
		/// serving `models` (`None`: every model).
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register_executor())]
		pub fn register_executor(
			origin: OriginFor<T>,
			stake: BalanceOf<T>,
			models: Option<BoundedVec<ModelId, T::MaxModelsPerExecutor>>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_register_executor(&who, stake, models)
		}

		/// Adds `extra` to the caller's executor stake.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::top_up_executor())]
		pub fn top_up_executor(origin: OriginFor<T>, extra: BalanceOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Executors::<T>::get(&who).ok_or(Error::<T>::NotExecutor)?;
			Self::hold(HoldReason::ExecutorStake, &who, extra)?;
			info.stake.saturating_accrue(extra);
			let stake = info.stake;
			Executors::<T>::insert(&who, info);
			Self::deposit_event(Event::ExecutorStakeIncreased { executor: who, stake });
			Ok(())
		}

		/// Stops taking new jobs; the stake can be withdrawn after
		/// `UnbondingPeriod`, once the executor's open jobs are done.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::unbond_executor())]
		pub fn unbond_executor(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Executors::<T>::get(&who).ok_or(Error::<T>::NotExecutor)?;
			ensure!(info.unbonding_until.is_none(), Error::<T>::AlreadyUnbonding);
			let until = Self::now().saturating_add(T::UnbondingPeriod::get());
			info.unbonding_until = Some(until);
			Executors::<T>::insert(&who, info);
			ActiveExecutors::<T>::mutate(|list| list.retain(|a| a != &who));
			Self::deposit_event(Event::ExecutorUnbonding { executor: who, until });
			Ok(())
		}

		/// Leaves after unbonding: releases the stake. Fails while jobs are open.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::withdraw_executor())]
		pub fn withdraw_executor(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let info = Executors::<T>::get(&who).ok_or(Error::<T>::NotExecutor)?;
			let until = info.unbonding_until.ok_or(Error::<T>::NotUnbonding)?;
			ensure!(Self::now() >= until, Error::<T>::StillUnbonding);
			ensure!(Assignments::<T>::decode_len(&who).unwrap_or(0) == 0, Error::<T>::OpenJobs);
			Self::release(HoldReason::ExecutorStake, &who, info.stake);
			Executors::<T>::remove(&who);
			Self::deposit_event(Event::ExecutorWithdrawn { executor: who, stake: info.stake });
			Ok(())
		}

		/// Becomes a verifier with `stake` held (at least `MinVerifierStake`).
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::register_verifier())]
		pub fn register_verifier(origin: OriginFor<T>, stake: BalanceOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_register_verifier(&who, stake)
		}

		/// Stops joining new committees; the stake can be withdrawn after
		/// `UnbondingPeriod`, once the verifier's disputes are resolved.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::unbond_verifier())]
		pub fn unbond_verifier(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Verifiers::<T>::get(&who).ok_or(Error::<T>::NotVerifier)?;
			ensure!(info.unbonding_until.is_none(), Error::<T>::AlreadyUnbonding);
			let until = Self::now().saturating_add(T::UnbondingPeriod::get());
			info.unbonding_until = Some(until);
			Verifiers::<T>::insert(&who, info);
			ActiveVerifiers::<T>::mutate(|list| list.retain(|a| a != &who));
			Self::deposit_event(Event::VerifierUnbonding { verifier: who, until });
			Ok(())
		}

		/// Leaves after unbonding: releases the stake. Fails while disputes are open.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::withdraw_verifier())]
		pub fn withdraw_verifier(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let info = Verifiers::<T>::get(&who).ok_or(Error::<T>::NotVerifier)?;
			let until = info.unbonding_until.ok_or(Error::<T>::NotUnbonding)?;
			ensure!(Self::now() >= until, Error::<T>::StillUnbonding);
			ensure!(Duties::<T>::decode_len(&who).unwrap_or(0) == 0, Error::<T>::OpenJobs);
			Self::release(HoldReason::VerifierStake, &who, info.stake);
			Verifiers::<T>::remove(&who);
			Self::deposit_event(Event::VerifierWithdrawn { verifier: who, stake: info.stake });
			Ok(())
		}

		/// Submits a job: runs `model` on `input` (SCALE-encoded tensors matching
		/// the model's inputs) for at most `max_fee`. The fee is held in escrow
		/// and the job assigned to an executor.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::submit_job(input.len() as u32, T::MaxExecutors::get()))]
		pub fn submit_job(
			origin: OriginFor<T>,
			model: ModelId,
			input: InputOf<T>,
			max_fee: BalanceOf<T>,
			mode: VerificationMode,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_submit_job(who, model, input, max_fee, mode, None).map(|_| ())
		}

		/// The assigned executor posts the job's output (SCALE-encoded tensors
		/// matching the model's outputs). The challenge window opens.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::submit_result(output.len() as u32).saturating_add(Pallet::<T>::settlement_weight()))]
		pub fn submit_result(
			origin: OriginFor<T>,
			job: JobId,
			output: OutputOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
			ensure!(j.executor == who, Error::<T>::NotAssignedExecutor);
			ensure!(j.status == JobStatus::Assigned, Error::<T>::NotAwaitingResult);
			let model = T::Models::model(&j.model).ok_or(Error::<T>::ModelNotFound)?;
			let tensors = decode_tensors(&output).map_err(|_| Error::<T>::InvalidOutput)?;
			check_tensors(&tensors, &model.outputs).map_err(|_| Error::<T>::InvalidOutput)?;

			let output_hash = sp_core::H256(sp_io::hashing::blake2_256(&output));
			// A vanilla job cannot be challenged: it settles now.
			let challenge_until = match j.mode {
				VerificationMode::Optimistic => {
					Self::schedule(job, Self::now().saturating_add(model.challenge_period))?
				}
				VerificationMode::Vanilla => Self::now(),
			};
			j.status = JobStatus::Submitted;
			j.deadline = challenge_until;
			j.output_hash = Some(output_hash);
			Outputs::<T>::insert(job, output);
			Self::deposit_event(Event::ResultSubmitted {
				job,
				executor: who,
				output_hash,
				challenge_until,
			});
			match j.mode {
				VerificationMode::Optimistic => Jobs::<T>::insert(job, j),
				VerificationMode::Vanilla => Self::settle(job, j),
			}
			Ok(())
		}

		/// The assigned executor reports that the model cannot be run (it
		/// crashes or exceeds the engine's limits). A committee checks the claim.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::challenge(T::MaxVerifiers::get()))]
		pub fn report_unrunnable(origin: OriginFor<T>, job: JobId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
			ensure!(j.executor == who, Error::<T>::NotAssignedExecutor);
			ensure!(j.status == JobStatus::Assigned, Error::<T>::NotAwaitingResult);
			Self::open_dispute(job, j, None, Zero::zero())
		}

		/// Challenges job `job`'s result, holding `bond` (at least
		/// `ChallengeBond`). A committee of verifiers re-executes the job.
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::challenge(T::MaxVerifiers::get()))]
		pub fn challenge(origin: OriginFor<T>, job: JobId, bond: BalanceOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
			ensure!(j.status == JobStatus::Submitted, Error::<T>::NotChallengeable);
			ensure!(Self::now() < j.deadline, Error::<T>::ChallengeWindowClosed);
			ensure!(j.executor != who, Error::<T>::SelfChallenge);
			ensure!(bond >= T::ChallengeBond::get(), Error::<T>::BondTooLow);
			Self::open_dispute(job, j, Some(who), bond)
		}

		/// A committee member's verdict: `output` is its own re-executed output
		/// (compared with the executor's under the model's policy), or `None`
		/// when the model could not be run.
		#[pallet::call_index(11)]
		#[pallet::weight(T::WeightInfo::submit_verdict(T::MaxOutputSize::get()).saturating_add(T::WeightInfo::resolve()).saturating_add(T::OnSettled::max_weight()))]
		pub fn submit_verdict(
			origin: OriginFor<T>,
			job: JobId,
			output: Option<OutputOf<T>>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
			let mut dispute = Disputes::<T>::get(job).ok_or(Error::<T>::NoDispute)?;
			ensure!(dispute.committee.contains(&who), Error::<T>::NotInCommittee);
			ensure!(dispute.votes.iter().all(|(v, _)| v != &who), Error::<T>::AlreadyVoted);
			let vote = match output {
				None => Vote::Unrunnable,
				Some(out) => {
					let model = T::Models::model(&j.model).ok_or(Error::<T>::ModelNotFound)?;
					let theirs = decode_tensors(&out).map_err(|_| Error::<T>::InvalidOutput)?;
					check_tensors(&theirs, &model.outputs)
						.map_err(|_| Error::<T>::InvalidOutput)?;
					Self::compare(job, &model.policy, &theirs)
				}
			};
			dispute.votes.try_push((who.clone(), vote)).map_err(|_| Error::<T>::AlreadyVoted)?;
			Duties::<T>::mutate(&who, |d| d.retain(|x| *x != job));
			Self::deposit_event(Event::VerdictSubmitted { job, verifier: who, vote });
			match Self::quorum(&dispute) {
				Some(outcome) => Self::resolve(job, j, dispute, outcome),
				None => Disputes::<T>::insert(job, dispute),
			}
			Ok(())
		}

		/// Resolves a stalled dispute (no quorum after its extension).
		#[pallet::call_index(12)]
		#[pallet::weight(T::WeightInfo::resolve().saturating_add(T::OnSettled::max_weight()))]
		pub fn resolve_dispute(
			origin: OriginFor<T>,
			job: JobId,
			outcome: Outcome,
		) -> DispatchResult {
			T::ForceOrigin::ensure_origin(origin)?;
			let j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
			let dispute = Disputes::<T>::get(job).ok_or(Error::<T>::NoDispute)?;
			ensure!(dispute.stalled, Error::<T>::NotStalled);
			Self::resolve(job, j, dispute, outcome);
			Ok(())
		}
	}
}

impl<T: Config> Pallet<T> {
	fn now() -> BlockNumberFor<T> {
		frame_system::Pallet::<T>::block_number()
	}

	fn hold(reason: HoldReason, who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		if amount.is_zero() {
			return Ok(());
		}
		T::Currency::hold(&reason.into(), who, amount)
			.map_err(|_| Error::<T>::InsufficientBalance.into())
	}

	fn release(reason: HoldReason, who: &T::AccountId, amount: BalanceOf<T>) {
		if amount.is_zero() {
			return;
		}
		if T::Currency::release(&reason.into(), who, amount, Precision::Exact).is_err() {
			log::error!(target: LOG_TARGET, "could not release {reason:?}");
			frame_support::defensive!("inference: held funds missing");
		}
	}

	/// Pays `amount` of `from`'s escrow to `to`.
	fn pay_from_escrow(from: &T::AccountId, to: &T::AccountId, amount: BalanceOf<T>) {
		if amount.is_zero() {
			return;
		}
		let moved = T::Currency::transfer_on_hold(
			&HoldReason::JobEscrow.into(),
			from,
			to,
			amount,
			Precision::Exact,
			Restriction::Free,
			Fortitude::Force,
		);
		if moved.is_err() {
			log::error!(target: LOG_TARGET, "escrow payment failed");
			frame_support::defensive!("inference: escrow payment failed");
		}
	}

	/// Slashes `share` of what `who` holds for `reason` (at most `held`).
	fn slash(reason: HoldReason, who: &T::AccountId, amount: BalanceOf<T>) -> CreditOf<T> {
		let (credit, _) = T::Currency::slash(&reason.into(), who, amount);
		if !credit.peek().is_zero() {
			Self::deposit_event(Event::Slashed { who: who.clone(), amount: credit.peek() });
		}
		credit
	}

	/// Pays `credit` to `who` (or the treasury, if `who` cannot receive it).
	fn reward(who: &T::AccountId, credit: CreditOf<T>) {
		let amount = credit.peek();
		if amount.is_zero() {
			return;
		}
		match T::Currency::resolve(who, credit) {
			Ok(()) => Self::deposit_event(Event::Rewarded { who: who.clone(), amount }),
			Err(credit) => Self::to_treasury(credit),
		}
	}

	fn to_treasury(credit: CreditOf<T>) {
		if let Err(lost) = T::Currency::resolve(&T::Treasury::get(), credit) {
			log::warn!(target: LOG_TARGET, "treasury cannot receive {:?}; burnt", lost.peek());
		}
	}

	/// Splits `credit` equally among `winners` (remainder to the treasury).
	fn share(mut credit: CreditOf<T>, winners: &[T::AccountId]) {
		if !winners.is_empty() {
			let each = credit.peek() / (winners.len() as u32).into();
			for w in winners {
				let (part, rest) = credit.split(each);
				credit = rest;
				Self::reward(w, part);
			}
		}
		Self::to_treasury(credit);
	}

	pub(crate) fn do_register_executor(
		who: &T::AccountId,
		stake: BalanceOf<T>,
		models: Option<BoundedVec<ModelId, T::MaxModelsPerExecutor>>,
	) -> DispatchResult {
		ensure!(!Executors::<T>::contains_key(who), Error::<T>::AlreadyExecutor);
		ensure!(stake >= T::MinExecutorStake::get(), Error::<T>::StakeTooLow);
		ActiveExecutors::<T>::try_mutate(|list| list.try_push(who.clone()))
			.map_err(|_| Error::<T>::TooMany)?;
		Self::hold(HoldReason::ExecutorStake, who, stake)?;
		Executors::<T>::insert(who, ExecutorInfo { stake, models, unbonding_until: None });
		Self::deposit_event(Event::ExecutorRegistered { executor: who.clone(), stake });
		Ok(())
	}

	pub(crate) fn do_register_verifier(who: &T::AccountId, stake: BalanceOf<T>) -> DispatchResult {
		ensure!(!Verifiers::<T>::contains_key(who), Error::<T>::AlreadyVerifier);
		ensure!(stake >= T::MinVerifierStake::get(), Error::<T>::StakeTooLow);
		ActiveVerifiers::<T>::try_mutate(|list| list.try_push(who.clone()))
			.map_err(|_| Error::<T>::TooMany)?;
		Self::hold(HoldReason::VerifierStake, who, stake)?;
		Verifiers::<T>::insert(who, VerifierInfo { stake, unbonding_until: None });
		Self::deposit_event(Event::VerifierRegistered { verifier: who.clone(), stake });
		Ok(())
	}

	/// A pseudo-random number for `job` and `salt`, from the parent block hash.
	/// Good enough to spread jobs and committees; a block author can bias it.
	fn random(job: JobId, salt: u32) -> u128 {
		let seed = (frame_system::Pallet::<T>::parent_hash(), job, salt, b"verity/assign");
		let h = sp_io::hashing::blake2_256(&seed.encode());
		u128::from_le_bytes(h[..16].try_into().expect("16 bytes; qed"))
	}

	/// Draws one of `candidates` (with their weights), weighted.
	fn draw(candidates: &[(T::AccountId, u128)], random: u128) -> Option<usize> {
		let total = candidates.iter().fold(0u128, |acc, (_, w)| acc.saturating_add(*w));
		if total == 0 {
			return None;
		}
		let mut point = random % total;
		for (i, (_, w)) in candidates.iter().enumerate() {
			if point < *w {
				return Some(i);
			}
			point -= w;
		}
		None
	}

	fn weight_of(stake: BalanceOf<T>) -> u128 {
		stake.try_into().unwrap_or(u128::MAX).max(1)
	}

	/// Submits a job for `who`; the checks and escrow of [`Pallet::submit_job`].
	pub fn do_submit_job(
		who: T::AccountId,
		model_id: ModelId,
		input: InputOf<T>,
		max_fee: BalanceOf<T>,
		mode: VerificationMode,
		callback: Option<Callback>,
	) -> Result<JobId, DispatchError> {
		let model = T::Models::model(&model_id).ok_or(Error::<T>::ModelNotFound)?;
		ensure!(model.is_active(), Error::<T>::ModelNotActive);
		let tensors = decode_tensors(&input).map_err(|_| Error::<T>::InvalidInput)?;
		check_tensors(&tensors, &model.inputs).map_err(|_| Error::<T>::InvalidInput)?;
		let fees = Self::fees(model.price, mode);
		ensure!(fees.total() <= max_fee, Error::<T>::FeeAboveMax);

		let job = NextJobId::<T>::get();
		let candidates: Vec<(T::AccountId, u128)> = ActiveExecutors::<T>::get()
			.into_iter()
			.filter(|e| e != &who)
			.filter_map(|e| {
				let info = Executors::<T>::get(&e)?;
				let serves = info.models.as_ref().is_none_or(|m| m.contains(&model_id));
				let busy =
					Assignments::<T>::decode_len(&e).unwrap_or(0) >= T::MaxOpenJobs::get() as usize;
				(serves && !busy).then(|| (e, Self::weight_of(info.stake)))
			})
			.collect();
		let pick =
			Self::draw(&candidates, Self::random(job, 0)).ok_or(Error::<T>::NoExecutorAvailable)?;
		let executor = candidates[pick].0.clone();

		Self::hold(HoldReason::JobEscrow, &who, fees.total())?;
		let deadline = Self::schedule(job, Self::now().saturating_add(T::ResultTimeout::get()))?;
		Assignments::<T>::try_mutate(&executor, |list| list.try_push(job))
			.map_err(|_| Error::<T>::NoExecutorAvailable)?;
		JobsInFlight::<T>::mutate(model_id, |n| n.saturating_inc());
		NextJobId::<T>::put(job.saturating_add(1));
		Jobs::<T>::insert(
			job,
			Job {
				requester: who.clone(),
				model: model_id,
				executor: executor.clone(),
				fees,
				status: JobStatus::Assigned,
				submitted_at: Self::now(),
				deadline,
				output_hash: None,
				mode,
				callback,
			},
		);
		Inputs::<T>::insert(job, input);
		Self::deposit_event(Event::JobSubmitted {
			job,
			model: model_id,
			requester: who,
			executor,
			fee: fees.total(),
			deadline,
		});
		Ok(job)
	}

	/// Puts `job` in the deadlines of block `at`, or the first later block with
	/// room (trying `MaxDeadlinesPerBlock` blocks). Returns the block used.
	fn schedule(job: JobId, at: BlockNumberFor<T>) -> Result<BlockNumberFor<T>, DispatchError> {
		let mut block = at;
		for _ in 0..T::MaxDeadlinesPerBlock::get().max(16) {
			let pushed = Deadlines::<T>::try_mutate(block, |list| list.try_push(job));
			if pushed.is_ok() {
				return Ok(block);
			}
			block.saturating_inc();
		}
		Err(Error::<T>::SchedulerFull.into())
	}

	fn compare(
		job: JobId,
		policy: &VerificationPolicy,
		theirs: &[verity_primitives::Tensor],
	) -> Vote {
		let ours = Outputs::<T>::get(job).and_then(|o| decode_tensors(&o).ok());
		match ours {
			Some(ours) if outputs_agree(policy, &ours, theirs) => Vote::Agrees,
			// No output (the executor reported the model unrunnable) or a
			// different one: the verifier's output contradicts the executor.
			_ => Vote::Disagrees,
		}
	}

	/// Votes needed to decide: two thirds of the committee, rounded up.
	pub fn quorum_size(committee: u32) -> u32 {
		(committee.saturating_mul(2)).div_ceil(3).max(1)
	}

	fn quorum(dispute: &DisputeOf<T>) -> Option<Outcome> {
		let needed = Self::quorum_size(dispute.committee.len() as u32) as usize;
		[Vote::Agrees, Vote::Disagrees, Vote::Unrunnable]
			.into_iter()
			.find(|v| dispute.votes.iter().filter(|(_, x)| x == v).count() >= needed)
			.map(Vote::outcome)
	}

	fn open_dispute(
		job: JobId,
		mut j: JobOf<T>,
		challenger: Option<T::AccountId>,
		bond: BalanceOf<T>,
	) -> DispatchResult {
		let excluded = |a: &T::AccountId| a == &j.executor || Some(a) == challenger.as_ref();
		let mut candidates: Vec<(T::AccountId, u128)> = ActiveVerifiers::<T>::get()
			.into_iter()
			.filter(|v| !excluded(v))
			.filter(|v| {
				Duties::<T>::decode_len(v).unwrap_or(0) < T::MaxOpenDisputes::get() as usize
			})
			.filter_map(|v| Verifiers::<T>::get(&v).map(|i| (v, Self::weight_of(i.stake))))
			.collect();
		let size = T::CommitteeSize::get();
		ensure!(candidates.len() as u32 >= size, Error::<T>::NotEnoughVerifiers);
		let mut committee = BoundedVec::<T::AccountId, T::CommitteeSize>::new();
		for salt in 0..size {
			let i = Self::draw(&candidates, Self::random(job, salt + 1))
				.ok_or(Error::<T>::NotEnoughVerifiers)?;
			let (member, _) = candidates.swap_remove(i);
			committee.try_push(member).map_err(|_| Error::<T>::NotEnoughVerifiers)?;
		}
		if let Some(c) = &challenger {
			Self::hold(HoldReason::ChallengeBond, c, bond)?;
		}
		let deadline = Self::schedule(job, Self::now().saturating_add(T::DisputePeriod::get()))?;
		for m in &committee {
			Duties::<T>::try_mutate(m, |d| d.try_push(job))
				.map_err(|_| Error::<T>::NotEnoughVerifiers)?;
		}
		j.status = JobStatus::Disputed;
		j.deadline = deadline;
		Jobs::<T>::insert(job, j);
		Self::deposit_event(Event::JobChallenged {
			job,
			challenger: challenger.clone(),
			bond,
			committee: committee.to_vec(),
			deadline,
		});
		Disputes::<T>::insert(
			job,
			Dispute {
				challenger,
				bond,
				committee,
				votes: BoundedVec::new(),
				extended: false,
				stalled: false,
			},
		);
		Ok(())
	}

	/// Ends a job that leaves the market: the executor's open job and the
	/// model's job in flight are counted down, and pruning is scheduled.
	fn finish(job: JobId, mut j: JobOf<T>, status: JobStatus) {
		Assignments::<T>::mutate(&j.executor, |list| list.retain(|x| *x != job));
		JobsInFlight::<T>::mutate_exists(j.model, |n| {
			let left = n.unwrap_or(0).saturating_sub(1);
			*n = (left > 0).then_some(left);
		});
		j.status = status;
		// If no block has room, the job is pruned at the next opportunity.
		j.deadline = Self::schedule(job, Self::now().saturating_add(T::ResultRetention::get()))
			.unwrap_or_else(|_| Self::now());
		Jobs::<T>::insert(job, j);
	}

	fn settle(job: JobId, j: JobOf<T>) {
		let owner = T::Models::model(&j.model).map(|m| m.owner);
		match owner {
			Some(owner) => Self::pay_from_escrow(&j.requester, &owner, j.fees.price),
			// A model can only vanish if its upload was aborted, which cannot
			// happen to an active one; keep the price with the requester.
			None => Self::release(HoldReason::JobEscrow, &j.requester, j.fees.price),
		}
		Self::pay_from_escrow(&j.requester, &j.executor, j.fees.executor);
		Self::pay_from_escrow(&j.requester, &T::Treasury::get(), j.fees.protocol);
		Self::deposit_event(Event::JobSettled {
			job,
			executor: j.executor.clone(),
			fee: j.fees.executor,
			price: j.fees.price,
			protocol_fee: j.fees.protocol,
		});
		let callback = j.callback;
		Self::finish(job, j, JobStatus::Settled);
		if let Some(cb) = callback {
			let output = Outputs::<T>::get(job).map(|o| o.into_inner()).unwrap_or_default();
			Self::deliver(job, cb, JobResult::Settled { output });
		}
	}

	fn fail(job: JobId, j: JobOf<T>, reason: FailReason) {
		let refund = j.fees.total();
		Self::release(HoldReason::JobEscrow, &j.requester, refund);
		Self::deposit_event(Event::JobFailed { job, reason, refund });
		let callback = j.callback;
		Self::finish(job, j, JobStatus::Failed(reason));
		if let Some(cb) = callback {
			Self::deliver(job, cb, JobResult::Failed { reason });
		}
	}

	/// Tells the job's consumer how it ended, in a storage layer of its own:
	/// a consumer's error discards its changes and is reported, nothing more.
	fn deliver(job: JobId, callback: Callback, result: JobResult) {
		let outcome = frame_support::storage::with_storage_layer(|| {
			T::OnSettled::on_result(&callback, job, &result)
				.unwrap_or_else(|| Err(Error::<T>::UnknownConsumer.into()))
		});
		match outcome {
			Ok(()) => Self::deposit_event(Event::CallbackDelivered { job, callback }),
			Err(error) => {
				log::warn!(target: LOG_TARGET, "job {job}: consumer failed: {error:?}");
				Self::deposit_event(Event::CallbackFailed { job, callback, error })
			}
		}
	}

	/// The fees of a job of a model priced `price`, in `mode`.
	pub fn fees(price: BalanceOf<T>, mode: VerificationMode) -> Fees<BalanceOf<T>> {
		Fees {
			price,
			executor: T::ExecutorFee::get(),
			protocol: match mode {
				VerificationMode::Optimistic => T::ProtocolFee::get(),
				VerificationMode::Vanilla => Zero::zero(),
			},
		}
	}

	/// Upper bound of one settlement including its consumer's callback.
	pub fn settlement_weight() -> Weight {
		T::WeightInfo::on_initialize(1, 1)
			.saturating_sub(T::WeightInfo::on_initialize(0, 1))
			.saturating_add(T::OnSettled::max_weight())
	}

	fn resolve(job: JobId, j: JobOf<T>, dispute: DisputeOf<T>, outcome: Outcome) {
		Disputes::<T>::remove(job);
		for m in &dispute.committee {
			Duties::<T>::mutate(m, |d| d.retain(|x| *x != job));
		}
		let winners: Vec<T::AccountId> = dispute
			.votes
			.iter()
			.filter(|(_, v)| v.outcome() == outcome)
			.map(|(a, _)| a.clone())
			.collect();
		Self::deposit_event(Event::DisputeResolved { job, outcome });
		match outcome {
			Outcome::ExecutorWrong => {
				let stake = Executors::<T>::get(&j.executor).map(|e| e.stake).unwrap_or_default();
				let slash = Self::slash_executor(&j.executor, T::ExecutorSlash::get() * stake);
				let total = slash.peek();
				let (to_verifiers, mut rest) = slash.split(T::VerifierReward::get() * total);
				Self::share(to_verifiers, &winners);
				if let Some(c) = &dispute.challenger {
					Self::release(HoldReason::ChallengeBond, c, dispute.bond);
					let (reward, left) = rest.split(T::ChallengerReward::get() * total);
					rest = left;
					Self::reward(c, reward);
				}
				Self::to_treasury(rest);
				Self::fail(job, j, FailReason::ExecutorSlashed);
			}
			Outcome::ExecutorRight => {
				if let Some(c) = &dispute.challenger {
					let bond = Self::slash(HoldReason::ChallengeBond, c, dispute.bond);
					let executor_share = T::ExecutorShare::get() * bond.peek();
					let (to_executor, rest) = bond.split(executor_share);
					Self::reward(&j.executor, to_executor);
					Self::share(rest, &winners);
				}
				if j.output_hash.is_some() {
					Self::settle(job, j);
				} else {
					// The executor claimed the model unrunnable, the committee ran it:
					// the executor was wrong after all.
					Self::fail(job, j, FailReason::ExecutorSlashed);
				}
			}
			Outcome::ModelUnrunnable => {
				if let Some(c) = &dispute.challenger {
					Self::release(HoldReason::ChallengeBond, c, dispute.bond);
				}
				if let Err(e) = T::Models::disable_and_slash(&j.model) {
					log::warn!(target: LOG_TARGET, "model of job {job} not slashed: {e:?}");
				}
				Self::fail(job, j, FailReason::ModelUnrunnable);
			}
		}
	}

	fn slash_executor(who: &T::AccountId, amount: BalanceOf<T>) -> CreditOf<T> {
		let credit = Self::slash(HoldReason::ExecutorStake, who, amount);
		Executors::<T>::mutate(who, |e| {
			if let Some(e) = e {
				e.stake = e.stake.saturating_sub(credit.peek());
			}
		});
		credit
	}

	fn slash_verifier(who: &T::AccountId, amount: BalanceOf<T>) -> CreditOf<T> {
		let credit = Self::slash(HoldReason::VerifierStake, who, amount);
		Verifiers::<T>::mutate(who, |v| {
			if let Some(v) = v {
				v.stake = v.stake.saturating_sub(credit.peek());
			}
		});
		credit
	}

	/// Runs the scheduled steps due by `now`, at most `MaxStepsPerBlock` of
	/// them, oldest first; the rest waits for the next block.
	pub(crate) fn process_deadlines(now: BlockNumberFor<T>) -> Weight {
		let mut budget = T::MaxStepsPerBlock::get();
		let mut steps = 0u32;
		let mut blocks = 0u32;
		let mut block = NextDue::<T>::get();
		while block <= now && budget > 0 && blocks < T::MaxStepsPerBlock::get() {
			blocks += 1;
			let mut due = Deadlines::<T>::take(block).into_inner();
			let rest = due.split_off((budget as usize).min(due.len()));
			for job in due {
				budget -= 1;
				steps += 1;
				Self::step(job, block, now);
			}
			if !rest.is_empty() {
				Deadlines::<T>::insert(block, BoundedVec::truncate_from(rest));
				break;
			}
			block.saturating_inc();
		}
		NextDue::<T>::put(block);
		T::WeightInfo::on_initialize(steps, blocks)
			.saturating_add(T::OnSettled::max_weight().saturating_mul(steps.into()))
	}

	/// The step `job` has due at block `at` (a stale entry is skipped).
	fn step(job: JobId, at: BlockNumberFor<T>, now: BlockNumberFor<T>) {
		let Some(j) = Jobs::<T>::get(job) else { return };
		if j.deadline != at {
			return;
		}
		match j.status {
			JobStatus::Assigned => {
				let stake = Executors::<T>::get(&j.executor).map(|e| e.stake).unwrap_or_default();
				let slash = Self::slash_executor(&j.executor, T::TimeoutSlash::get() * stake);
				Self::to_treasury(slash);
				Self::fail(job, j, FailReason::TimedOut);
			}
			JobStatus::Submitted => Self::settle(job, j),
			JobStatus::Disputed => Self::dispute_deadline(job, j, now),
			JobStatus::Settled | JobStatus::Failed(_) => {
				Jobs::<T>::remove(job);
				Inputs::<T>::remove(job);
				Outputs::<T>::remove(job);
				Self::deposit_event(Event::JobPruned { job });
			}
		}
	}

	fn dispute_deadline(job: JobId, mut j: JobOf<T>, now: BlockNumberFor<T>) {
		let Some(mut dispute) = Disputes::<T>::get(job) else { return };
		if dispute.extended {
			dispute.stalled = true;
			Disputes::<T>::insert(job, dispute);
			Self::deposit_event(Event::DisputeStalled { job });
			return;
		}
		let penalised: Vec<T::AccountId> = dispute
			.committee
			.iter()
			.filter(|m| dispute.votes.iter().all(|(v, _)| v != *m))
			.cloned()
			.collect();
		for m in &penalised {
			let stake = Verifiers::<T>::get(m).map(|v| v.stake).unwrap_or_default();
			let credit = Self::slash_verifier(m, T::VerifierPenalty::get() * stake);
			Self::to_treasury(credit);
		}
		dispute.extended = true;
		match Self::schedule(job, now.saturating_add(T::DisputePeriod::get())) {
			Ok(deadline) => {
				j.deadline = deadline;
				Jobs::<T>::insert(job, j);
				Self::deposit_event(Event::DisputeExtended { job, penalised, deadline });
			}
			Err(_) => {
				dispute.stalled = true;
				Self::deposit_event(Event::DisputeStalled { job });
			}
		}
		Disputes::<T>::insert(job, dispute);
	}

	/// A job with its output, for the runtime API.
	pub fn job_with_output(job: JobId) -> Option<(JobOf<T>, Option<Vec<u8>>)> {
		Jobs::<T>::get(job).map(|j| (j, Outputs::<T>::get(job).map(|o| o.into_inner())))
	}

	/// Checks the pallet's invariants:
	/// * held funds per account equal its stakes, escrows and bonds;
	/// * executors' open jobs and verifiers' open disputes match the jobs;
	/// * every active executor/verifier is registered and not unbonding;
	/// * every pending job has its deadline scheduled at or after `NextDue`.
	#[cfg(any(feature = "try-runtime", feature = "test-utils", test))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use alloc::collections::btree_map::BTreeMap;
		use frame_support::traits::fungible::InspectHold;
		let mut escrow: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		let mut bonds: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		let mut open_jobs: BTreeMap<T::AccountId, Vec<JobId>> = BTreeMap::new();
		let mut duties: BTreeMap<T::AccountId, Vec<JobId>> = BTreeMap::new();
		let mut in_flight: BTreeMap<ModelId, u32> = BTreeMap::new();
		for (id, j) in Jobs::<T>::iter() {
			let pending = matches!(
				j.status,
				JobStatus::Assigned | JobStatus::Submitted | JobStatus::Disputed
			);
			if pending {
				escrow.entry(j.requester.clone()).or_default().saturating_accrue(j.fees.total());
				open_jobs.entry(j.executor.clone()).or_default().push(id);
				in_flight.entry(j.model).or_default().saturating_inc();
			}
			ensure!(
				Deadlines::<T>::get(j.deadline).contains(&id) || j.deadline < NextDue::<T>::get(),
				"job's deadline is not scheduled"
			);
			ensure!(
				(j.status == JobStatus::Disputed) == Disputes::<T>::contains_key(id),
				"dispute and job status disagree"
			);
		}
		for (id, d) in Disputes::<T>::iter() {
			if let Some(c) = &d.challenger {
				bonds.entry(c.clone()).or_default().saturating_accrue(d.bond);
			}
			for m in d.committee.iter().filter(|m| d.votes.iter().all(|(v, _)| v != *m)) {
				duties.entry(m.clone()).or_default().push(id);
			}
		}
		let sorted = |mut v: Vec<JobId>| {
			v.sort();
			v
		};
		for (who, info) in Executors::<T>::iter() {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::ExecutorStake.into(), &who) == info.stake,
				"executor stake held differs from its record"
			);
			ensure!(
				sorted(open_jobs.remove(&who).unwrap_or_default())
					== sorted(Assignments::<T>::get(&who).into_inner()),
				"executor's assignments differ from its jobs"
			);
			ensure!(
				info.unbonding_until.is_some() != ActiveExecutors::<T>::get().contains(&who),
				"executor activity differs from its record"
			);
		}
		ensure!(open_jobs.is_empty(), "jobs assigned to unknown executors");
		for (who, info) in Verifiers::<T>::iter() {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::VerifierStake.into(), &who) == info.stake,
				"verifier stake held differs from its record"
			);
			ensure!(
				sorted(duties.remove(&who).unwrap_or_default())
					== sorted(Duties::<T>::get(&who).into_inner()),
				"verifier's duties differ from its disputes' missing votes"
			);
			ensure!(
				info.unbonding_until.is_some() != ActiveVerifiers::<T>::get().contains(&who),
				"verifier activity differs from its record"
			);
		}
		ensure!(duties.is_empty(), "committee members who are not verifiers");
		ensure!(
			ActiveExecutors::<T>::get().iter().all(Executors::<T>::contains_key)
				&& ActiveVerifiers::<T>::get().iter().all(Verifiers::<T>::contains_key),
			"active list names an unregistered account"
		);
		for (who, amount) in escrow {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::JobEscrow.into(), &who) == amount,
				"escrow held differs from pending jobs' fees"
			);
		}
		for (who, amount) in bonds {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::ChallengeBond.into(), &who) == amount,
				"challenge bonds held differ from disputes"
			);
		}
		for (model, n) in JobsInFlight::<T>::iter() {
			ensure!(in_flight.remove(&model) == Some(n), "jobs in flight differ");
		}
		ensure!(in_flight.is_empty(), "jobs in flight not counted");
		Ok(())
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
	}

	fn request_weight(input_len: u32) -> Weight {
		T::WeightInfo::submit_job(input_len, T::MaxExecutors::get())
	}

	fn quote(model: &ModelId, mode: VerificationMode) -> Option<BalanceOf<T>> {
		T::Models::model(model).map(|m| Self::fees(m.price, mode).total())
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
