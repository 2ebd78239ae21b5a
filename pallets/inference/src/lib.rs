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
//!    inputs, at a batch size whose declared outputs fit `MaxOutputSize`. The
//!    fee (model price + `ExecutorFee` + `ProtocolFee` + the audit premium)
//!    is held in escrow and the job is queued ([`QueuedJobs`]). [`DRAW_DELAY`]
//!    blocks later its executor is drawn among those serving the model,
//!    weighted by stake (never the requester), from a BABE VRF output that did
//!    not exist at the submission: neither the requester nor the submitting
//!    block's author can choose who runs the job.
//! 2. The assigned executor, within `ResultTimeout` blocks, commits to an
//!    output matching the model's declared outputs
//!    ([`Pallet::commit_result`]: a salted hash), and reveals it
//!    ([`Pallet::reveal_result`]) once the audit is drawn and a drawn
//!    auditor has committed to its own answer (see `audits`). The model's
//!    challenge window opens at the reveal. A `Vanilla` job's output is
//!    posted at once ([`Pallet::submit_result`]) and settles. An executor that cannot
//!    run the job for a reason of its own node declines it
//!    ([`Pallet::decline_job`]) and the job goes to another executor; one
//!    that finds the model or the input at fault reports it
//!    ([`Pallet::report_fault`]), which opens a dispute with no challenger.
//! 3. If nobody challenges, the job settles when the window closes: the model's
//!    owner, the executor and the treasury are paid from the escrow.
//! 4. [`Pallet::challenge`]: anyone but the executor, inside the window, with
//!    a bond of at least `ChallengeBond`. `CommitteeSize` verifiers are drawn
//!    (not the executor, not the challenger). Each re-executes the job,
//!    commits to its [`Finding`] ([`Pallet::commit_verdict`]) and, once every
//!    member has committed, reveals it ([`Pallet::submit_verdict`]); the pallet
//!    compares an output with the executor's, and with the other members',
//!    under the model's [`VerificationPolicy`]. The committee is drawn
//!    [`DRAW_DELAY`] blocks after the challenge, from a BABE VRF output that
//!    did not exist when the challenge was made. Two thirds of the committee
//!    giving the same answer decide; if every member voted and no answer
//!    has two thirds, honest nodes do not reproduce the model's results.
//! 5. Outputs stay readable (storage, events, the `InferenceApi` runtime API)
//!    for `ResultRetention` blocks after the job ends, then are pruned.
//!
//! ## Who pays: every way a job ends
//!
//! One rule: whoever could have avoided the loss pays for it, and only
//! evidence that every node computes alike (outputs compared under the
//! model's policy, sizes estimated from the job's shapes) can make anyone
//! pay; wall-clock time and a node's own resources never can.
//!
//! | How the job ends | Requester | Executor | Publisher | Challenger | Verifiers |
//! |---|---|---|---|---|---|
//! | Settled, unchallenged (or `Vanilla`) | pays the fee | paid `ExecutorFee` | paid the price | - | - |
//! | Audited and confirmed (the auditor's revealed output agrees), then settled | pays the fee (which includes the audit premium, `AuditReward` x the audit rate, to the treasury) | paid `ExecutorFee` | paid the price | - | the auditor: paid `AuditReward` by the treasury |
//! | An auditor lets its commit or reveal deadline pass | - | - | - | - | the auditor loses `VerifierPenalty` of its stake; a missed duty |
//! | Committed, never revealed (within `ResultTimeout` of the audit draw or the auditor's commitment) | refunded | as a timeout (below) | - | - | - |
//! | Audited and challenged by its auditor | as the dispute ends (rows below) | as the dispute ends | as the dispute ends | the auditor is the challenger | as the dispute ends |
//! | Challenged, executor right (a quorum agrees with it) | pays the fee | paid, plus `ExecutorShare` of the bond | paid the price | loses the bond | the quorum shares the rest of the bond |
//! | Challenged, executor wrong (a quorum of members who agree with each other differs from it) | refunded | loses `ExecutorSlash` of its stake | - | bond back plus `ChallengerReward` of the slash | the quorum shares `VerifierReward` of the slash; the treasury gets the rest |
//! | Model fault confirmed (reported or found: the model fails on input the runtime accepted) | refunded | nothing | model disabled, bond slashed | bond back | - |
//! | Nondeterministic: every member voted, no answer has two thirds | refunded | nothing | model disabled, bond slashed | bond back | - |
//! | Input too large for the engine's deterministic limits (a quorum confirms) | refunded all but `ExecutorFee` | paid `ExecutorFee` for the attempt | - | bond back | - |
//! | A fault report refuted (the committee runs the job and agrees) | refunded | loses `ExecutorSlash` of its stake | - | - | the quorum shares `VerifierReward` of the slash |
//! | Declined (node-local trouble), reassigned | as the new executor's job ends | the decliner: nothing | - | - | - |
//! | Declined by every executor, or `MaxDeclines` times | refunded | nothing | - | - | - |
//! | No executor can take it at its draw (all full, suspended or gone since the submission) | refunded, data deposit too | - | - | - | - |
//! | Timed out (no result, no decline within `ResultTimeout`) | refunded | loses `TimeoutPenalty` x the fee (at most its stake) to the treasury; suspended after `MaxMissedDeadlines` in a row | - | - | - |
//! | Its executor suspended (missed deadlines in a row) | as the new executor's job ends | nothing more: the job is reassigned | - | - | - |
//! | Decided by a quorum (any of the above) | - | - | - | - | members who voted against the quorum lose `MinorityPenalty` of their stake |
//! | A voting round (`DisputePeriod`) ends without a quorum | - | - | - | - | non-voters lose `VerifierPenalty` and are replaced by fresh draws; `MaxMissedDuties` missed duties in a row suspend a verifier until it resumes |
//! | No quorum after `MaxDisputeRounds` rounds, or no committee could be drawn: ended by anyone ([`Pallet::end_dispute`]) | refunded | nothing | - | bond back | non-voters as above |
//! | Decided by `ForceOrigin` ([`Pallet::resolve_dispute`], an override) | as the outcome it decides | as the outcome | as the outcome | as the outcome | no minority penalty |
//! | `Consensus`: evaluated by the runtime in the submitting extrinsic, settled there | pays the price, and the evaluation's weight in the transaction fee | none: validators evaluate it | paid the price | - | - |
//! | `Consensus`: refused (no graph, over `MaxConsensusWeight` or the model's registered price, or the interpreter fails on the input) | pays the transaction fee only; nothing is held or stored | - | - | - | - |
//!
//! In every case the requester's data deposit (`DataByteDeposit` per byte of
//! input and largest output) is held until the job is pruned, then returned.
//!
//! Batches above the model's declared `max_batch` are refused at submission
//! (`BatchTooLarge`), and the registry refuses a model whose outputs for
//! `max_batch` items could exceed `MaxOutputSize`, and `Exact` for float outputs (honest
//! machines differ in the last bits), so neither can end a job at all.

//! ## Scheduling
//!
//! Every job has one `deadline`: its next step (result timeout, end of the
//! challenge window, dispute deadline, pruning). Deadlines are kept per block
//! (at most `MaxDeadlinesPerBlock` each; a full block pushes the deadline to
//! the next one), and `on_initialize` processes at most `MaxStepsPerBlock`
//! due steps, carrying the rest over to the next block. The work in a block
//! therefore does not grow with the number of pending jobs.
//!
//! ## Code layout
//!
//! `mod pallet` holds the configuration, storage, events, errors and the
//! calls' entry points; each call forwards to its topic module:
//! `staking` (executors and verifiers),
//! `assignment` (draws and job submission), `settlement` (results, payouts,
//! callbacks), `disputes` (challenges, committees, verdicts), `scheduler`
//! (deadlines and `on_initialize`), `funds` (holds, slashes, rewards),
//! `impl_provider` (what other pallets and the runtime API use) and
//! `try_state` (invariants).

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

// The pallet's logic, one topic per module; `mod pallet` below keeps only the
// configuration, storage, events, errors and the calls' entry points.
mod admission;
mod assignment;
mod audits;
mod consensus;
mod disputes;
mod funds;
mod impl_provider;
pub mod migrations;
mod scheduler;
mod settlement;
mod staking;
mod try_state;

use alloc::{vec, vec::Vec};
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::{self, Balanced, BalancedHold, Inspect, Mutate, MutateHold},
		tokens::{Fortitude, Precision, Restriction},
		Imbalance, Randomness,
	},
};
use frame_system::pallet_prelude::*;
use pallet_model_registry::ModelRegistry;
use sp_runtime::{
	traits::{Bounded, Saturating, Zero},
	Perbill,
};
use verity_primitives::{
	check_tensors, decode_tensors, encoded_size_bound, outputs_agree, ModelId, VerificationPolicy,
};

pub use consensus::{BYTES_PER_STEP, WORK_PER_STEP};
pub use offchain::{crypto, KEY_TYPE};
pub use pallet::*;
pub use staking::Staker;
pub use traits::{InferenceProvider, OnInferenceSettled};
pub use types::*;
pub use weights::WeightInfo;

/// Blocks between a commitment (a job, a challenge, a result) and the draw
/// that follows it (executor, committee, auditor). The draw in block N + 2
/// uses block N + 1's VRF output, which did not exist when the commitment
/// was included in block N: neither the party committing nor block N's
/// author can know it. Only block N + 1's author can bias it, and only by
/// not producing its block (see `docs/ECONOMICS.md`).
pub const DRAW_DELAY: u32 = 2;

/// Bound of [`FormerMembers`]: every seat of every round.
pub struct MaxFormerMembers<T>(core::marker::PhantomData<T>);
impl<T: Config> Get<u32> for MaxFormerMembers<T> {
	fn get() -> u32 {
		T::CommitteeSize::get().saturating_mul(T::MaxDisputeRounds::get())
	}
}

/// Balance type of the pallet's currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
type CreditOf<T> =
	fungible::Credit<<T as frame_system::Config>::AccountId, <T as Config>::Currency>;
/// A job as stored.
pub type JobOf<T> = Job<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
/// A submitted job waiting for its executor's draw.
pub type QueuedJobOf<T> =
	QueuedJob<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
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
/// A committee member's finding.
pub type FindingOf<T> = Finding<OutputOf<T>>;
/// A model's admission as stored.
pub type AdmissionOf<T> = Admission<
	<T as frame_system::Config>::AccountId,
	BlockNumberFor<T>,
	<T as Config>::CommitteeSize,
>;

const LOG_TARGET: &str = "runtime::inference";

#[frame_support::pallet]
pub mod pallet {
	use super::*;

	/// The layout of this pallet's storage ([`crate::migrations`]).
	pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
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

		/// Where every draw (assignment, committee, audit) takes its
		/// randomness from: the VRF output of the parent block (BABE's
		/// `ParentBlockRandomness`). A draw for something committed in block
		/// N happens in block N + [`DRAW_DELAY`](crate::DRAW_DELAY), from
		/// block N + 1's VRF output, which nobody knew when the commitment
		/// was made. `None` (a block without a VRF output) falls back to the
		/// parent hash, which a block author can choose.
		type Randomness: frame_support::traits::Randomness<Option<Self::Hash>, BlockNumberFor<Self>>;

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
		/// An executor that misses `ResultTimeout` loses this many times the
		/// job's whole fee from its stake (at most the stake), so that the
		/// penalty scales with what was at stake in the job, not with the
		/// executor's size. An executor that cannot make it in time declines
		/// the job instead, at no cost.
		#[pallet::constant]
		type TimeoutPenalty: Get<u32>;
		/// Result deadlines an executor may miss in a row before it is taken
		/// out of assignment (until it resumes); its other pending jobs are
		/// then reassigned at their deadlines instead of timing out.
		#[pallet::constant]
		type MaxMissedDeadlines: Get<u32>;
		/// Declines after which a job fails (fully refunded) instead of being
		/// reassigned again.
		#[pallet::constant]
		type MaxDeclines: Get<u32>;
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
		/// Share of its stake a committee member loses when a quorum decides
		/// the dispute against its vote: it computed (or copied) an answer
		/// that two thirds of the committee contradict.
		#[pallet::constant]
		type MinorityPenalty: Get<Perbill>;
		/// Probability that an optimistic job's result is audited, until
		/// `ForceOrigin` sets another ([`Pallet::set_audit_rate`]).
		#[pallet::constant]
		type DefaultAuditRate: Get<Perbill>;
		/// Paid from the treasury to an auditor whose revealed output agrees
		/// with the executor's: an audit is the executor's work again. Every
		/// optimistic job pays the treasury this times the model's audit rate
		/// (`Fees::audit`), so audits pay for themselves on average.
		#[pallet::constant]
		type AuditReward: Get<BalanceOf<Self>>;
		/// Verifiers drawn per dispute.
		#[pallet::constant]
		type CommitteeSize: Get<u32>;
		/// Blocks a committee has to vote in each round.
		#[pallet::constant]
		type DisputePeriod: Get<BlockNumberFor<Self>>;
		/// Voting rounds a dispute gets: after each round without a quorum
		/// the members who did not vote are replaced; after the last, anyone
		/// may end it without a verdict ([`Pallet::end_dispute`]).
		#[pallet::constant]
		type MaxDisputeRounds: Get<u32>;
		/// Duties a verifier may let pass without a verdict in a row before it
		/// is drawn into no committee until it resumes
		/// ([`Pallet::resume_verifier`]).
		#[pallet::constant]
		type MaxMissedDuties: Get<u32>;
		/// Deposit per byte of a job's input and (at most) output, held from
		/// the requester until the job is pruned.
		#[pallet::constant]
		type DataByteDeposit: Get<BalanceOf<Self>>;
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
		/// Most draws (executors, auditors, admission committees) made in
		/// one block; more move to the next block with room, and what waits
		/// on them with them. It caps sustained job throughput (about
		/// `MaxDrawsPerBlock / 1.5` jobs per block: a job takes its
		/// executor's draw and, when audited, an auditor's).
		#[pallet::constant]
		type MaxDrawsPerBlock: Get<u32>;
		/// Most weight one consensus job's evaluation may take
		/// ([`VerificationMode::Consensus`]): every validator runs it while
		/// importing the block, so it is a bounded share of the block.
		#[pallet::constant]
		type MaxConsensusWeight: Get<Weight>;
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
		/// A requester's deposit for its job's input and output bytes, until
		/// the job is pruned.
		JobData,
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

	/// Submitted jobs whose executor is not drawn yet (`DRAW_DELAY` blocks
	/// after submission); they move to [`Jobs`] at the draw.
	#[pallet::storage]
	pub type QueuedJobs<T: Config> = StorageMap<_, Twox64Concat, JobId, QueuedJobOf<T>>;

	/// Job inputs, until the job is pruned.
	#[pallet::storage]
	pub type Inputs<T: Config> = StorageMap<_, Twox64Concat, JobId, InputOf<T>>;

	/// Each unpruned job's data deposit (absent when zero).
	#[pallet::storage]
	pub type DataDeposits<T: Config> = StorageMap<_, Twox64Concat, JobId, BalanceOf<T>>;

	/// Job outputs, until the job is pruned.
	#[pallet::storage]
	pub type Outputs<T: Config> = StorageMap<_, Twox64Concat, JobId, OutputOf<T>>;

	/// Running disputes.
	#[pallet::storage]
	pub type Disputes<T: Config> = StorageMap<_, Twox64Concat, JobId, DisputeOf<T>>;

	/// A running dispute's distinct dissenting answers: the first output of
	/// each group of committee members who disagree with the executor but
	/// agree with each other (at most `CommitteeSize` per job; removed when
	/// the dispute ends).
	#[pallet::storage]
	pub type DissentingOutputs<T: Config> =
		StorageDoubleMap<_, Twox64Concat, JobId, Twox64Concat, u8, OutputOf<T>>;

	/// Probability that an optimistic job's result is audited.
	#[pallet::storage]
	pub type AuditRate<T: Config> = StorageValue<_, Perbill, ValueQuery, T::DefaultAuditRate>;

	/// Audit rates governance set for single models, overriding [`AuditRate`]
	/// (e.g. higher for a model that moves money).
	#[pallet::storage]
	pub type ModelAuditRates<T: Config> = StorageMap<_, Blake2_128Concat, ModelId, Perbill>;

	/// Draws (executors, audits, admission committees) falling due in a
	/// block, at most `MaxDrawsPerBlock`; a full block pushes a draw to the
	/// next.
	#[pallet::storage]
	pub type Draws<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<Draw, T::MaxDrawsPerBlock>,
		ValueQuery,
	>;

	/// The first block whose draws may not be full yet.
	#[pallet::storage]
	pub type NextDrawSlot<T: Config> = StorageValue<_, BlockNumberFor<T>, ValueQuery>;

	/// Jobs a verifier was drawn to audit and has not yet answered.
	#[pallet::storage]
	pub type AuditDuties<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<JobId, T::MaxOpenDisputes>,
		ValueQuery,
	>;

	/// Members who had committed to a verdict but not revealed it when their
	/// dispute ended (typically: the others' reveals reached a quorum in the
	/// same block). Their late reveal is accepted as a free no-op instead of
	/// failing at their cost. Removed at the reveal or when the job is pruned.
	#[pallet::storage]
	pub type LateRevealers<T: Config> =
		StorageMap<_, Twox64Concat, JobId, BoundedVec<T::AccountId, T::CommitteeSize>, ValueQuery>;

	/// Committee members a dispute removed for not voting: never drawn for
	/// it again. Removed when the dispute ends.
	#[pallet::storage]
	pub type FormerMembers<T: Config> = StorageMap<
		_,
		Twox64Concat,
		JobId,
		BoundedVec<T::AccountId, MaxFormerMembers<T>>,
		ValueQuery,
	>;

	/// The executors that declined a job still awaiting its result (it is
	/// not offered to them again); removed when the job ends.
	#[pallet::storage]
	pub type Declines<T: Config> =
		StorageMap<_, Twox64Concat, JobId, BoundedVec<T::AccountId, T::MaxDeclines>, ValueQuery>;

	/// Models awaiting admission, with their committee and votes.
	#[pallet::storage]
	pub type Admissions<T: Config> = StorageMap<_, Blake2_128Concat, ModelId, AdmissionOf<T>>;

	/// Each verifier's models awaiting its admission vote (its offchain
	/// worker's to-do list).
	#[pallet::storage]
	pub type AdmissionDuties<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<ModelId, T::MaxOpenDisputes>,
		ValueQuery,
	>;

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
		/// An executor set how many jobs it runs at once.
		ExecutorCapacitySet {
			/// The executor.
			executor: T::AccountId,
			/// Its capacity.
			capacity: u32,
		},
		/// An executor missed `MaxMissedDeadlines` result deadlines in a row
		/// and gets no new jobs until it resumes.
		ExecutorSuspended {
			/// The executor.
			executor: T::AccountId,
		},
		/// A suspended executor showed it is alive and takes jobs again.
		ExecutorResumed {
			/// The executor.
			executor: T::AccountId,
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
		/// A consensus job was evaluated by the runtime in the extrinsic that
		/// submitted it; it settles in the same extrinsic (`JobSettled`).
		ConsensusJobEvaluated {
			/// The job.
			job: JobId,
			/// The model it ran.
			model: ModelId,
			/// Who paid.
			requester: T::AccountId,
			/// blake2-256 of the output (`Outputs`).
			output_hash: sp_core::H256,
			/// What the run cost, from which its weight was charged.
			cost: verity_interp::Cost,
		},
		/// A job was submitted; its executor is drawn at `draw_at`, from
		/// randomness nobody knows yet.
		JobSubmitted {
			/// The job.
			job: JobId,
			/// The model it runs.
			model: ModelId,
			/// Who pays.
			requester: T::AccountId,
			/// The whole fee held in escrow.
			fee: BalanceOf<T>,
			/// Block in which its executor is drawn.
			draw_at: BlockNumberFor<T>,
		},
		/// A submitted job's executor was drawn.
		JobAssigned {
			/// The job.
			job: JobId,
			/// Who runs it.
			executor: T::AccountId,
			/// Block by which the result is due.
			deadline: BlockNumberFor<T>,
		},
		/// The assigned executor declined a job (trouble on its own node).
		JobDeclined {
			/// The job.
			job: JobId,
			/// The executor that declined it.
			executor: T::AccountId,
		},
		/// A declined job went to another executor.
		JobReassigned {
			/// The job.
			job: JobId,
			/// Its new executor.
			executor: T::AccountId,
			/// Block by which the result is now due.
			deadline: BlockNumberFor<T>,
		},
		/// An optimistic job's executor committed to its output (still hidden).
		ResultCommitted {
			/// The job.
			job: JobId,
			/// Its executor.
			executor: T::AccountId,
			/// Block in which the audit is drawn (`None`: the model's audit
			/// rate is zero; the output may be revealed at once).
			draw_at: Option<BlockNumberFor<T>>,
			/// Block by which the output must be revealed (moved on when a
			/// drawn auditor commits, or lets its deadline pass).
			reveal_by: BlockNumberFor<T>,
		},
		/// The executor posted (or revealed) a result.
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
			/// Paid to the treasury: the protocol fee and the audit premium.
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
		/// A result was challenged (or a fault reported); its committee is
		/// drawn at `draw_at`, from randomness nobody knows yet.
		JobChallenged {
			/// The job.
			job: JobId,
			/// Who challenged (`None`: the executor reported a fault).
			challenger: Option<T::AccountId>,
			/// The challenger's bond.
			bond: BalanceOf<T>,
			/// Block in which the committee is drawn.
			draw_at: BlockNumberFor<T>,
		},
		/// A dispute's committee was drawn; its members re-execute the job.
		CommitteeDrawn {
			/// The job.
			job: JobId,
			/// The verifiers drawn.
			committee: Vec<T::AccountId>,
			/// Block by which they vote.
			deadline: BlockNumberFor<T>,
		},
		/// The assigned executor reported that it cannot post a result; a
		/// committee checks the claim.
		FaultReported {
			/// The job.
			job: JobId,
			/// Its executor.
			executor: T::AccountId,
			/// What it reported.
			fault: Fault,
		},
		/// A committee member committed to its finding (still hidden).
		VerdictCommitted {
			/// The job.
			job: JobId,
			/// The verifier.
			verifier: T::AccountId,
		},
		/// Every seated member committed: reveals are open until `deadline`.
		RevealOpened {
			/// The job.
			job: JobId,
			/// Block by which members reveal.
			deadline: BlockNumberFor<T>,
		},
		/// A committee member revealed its finding (its vote).
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
		/// No quorum in a round: the members who had not voted were
		/// penalised and replaced by fresh draws, and a new round began.
		CommitteeReplaced {
			/// The job.
			job: JobId,
			/// Members who had not voted (penalised, removed).
			removed: Vec<T::AccountId>,
			/// Their replacements (fewer when too few verifiers qualify).
			added: Vec<T::AccountId>,
			/// The new round.
			round: u32,
			/// Block by which the committee votes.
			deadline: BlockNumberFor<T>,
		},
		/// No quorum after `MaxDisputeRounds` rounds (or no committee could be
		/// drawn): anyone may end the dispute without a verdict.
		DisputeStalled {
			/// The job.
			job: JobId,
		},
		/// A stalled dispute was ended without a verdict: the requester was
		/// refunded, the bond returned, and nobody slashed.
		DisputeEnded {
			/// The job.
			job: JobId,
			/// Who ended it.
			by: T::AccountId,
		},
		/// A verifier let `MaxMissedDuties` duties pass in a row: it is drawn
		/// into no committee until it resumes.
		VerifierSuspended {
			/// The verifier.
			verifier: T::AccountId,
		},
		/// An uploaded model awaits admission; its committee is drawn at
		/// `draw_at`.
		AdmissionScheduled {
			/// The model.
			model: ModelId,
			/// Block in which the committee is drawn.
			draw_at: BlockNumberFor<T>,
		},
		/// A verifier was drawn to audit a job's result.
		AuditorDrawn {
			/// The job.
			job: JobId,
			/// The auditor.
			auditor: T::AccountId,
		},
		/// A job's auditor committed to its finding (still hidden); the
		/// executor may reveal its output.
		AuditCommitted {
			/// The job.
			job: JobId,
			/// The auditor.
			auditor: T::AccountId,
		},
		/// An auditor's revealed output agrees with the executor's.
		AuditPassed {
			/// The job.
			job: JobId,
			/// The auditor.
			auditor: T::AccountId,
			/// Paid to it from the treasury.
			reward: BalanceOf<T>,
		},
		/// An auditor let its deadline to commit or to reveal pass: it lost
		/// `VerifierPenalty` of its stake.
		AuditLapsed {
			/// The job.
			job: JobId,
			/// The auditor.
			auditor: T::AccountId,
		},
		/// The probability of audits was set.
		AuditRateSet {
			/// The model it applies to; `None`: every model without a rate
			/// of its own.
			model: Option<ModelId>,
			/// The new rate; `None`: back to the default (for a model: to
			/// the chain-wide rate).
			rate: Option<Perbill>,
		},
		/// A suspended verifier resumed: it is drawn into committees again.
		VerifierResumed {
			/// The verifier.
			verifier: T::AccountId,
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
		/// A committee was drawn to check an uploaded model.
		AdmissionStarted {
			/// The model.
			model: ModelId,
			/// The verifiers drawn (empty: too few verifiers; retry later).
			committee: Vec<T::AccountId>,
			/// After this block, non-voters may be replaced.
			deadline: BlockNumberFor<T>,
		},
		/// A committee member voted on a model's admission.
		AdmissionVoted {
			/// The model.
			model: ModelId,
			/// The verifier.
			verifier: T::AccountId,
			/// Its vote.
			vote: AdmissionVote,
		},
		/// An admission ended: the model is active, or rejected.
		AdmissionDecided {
			/// The model.
			model: ModelId,
			/// Whether it was admitted.
			admitted: bool,
		},
		/// A finished job's records were removed.
		JobPruned {
			/// The job.
			job: JobId,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The model has no consensus graph: it cannot run in consensus mode.
		NotConsensusModel,
		/// This consensus run would cost more than the model's registered
		/// price at its largest batch, or than `MaxConsensusWeight`.
		ConsensusTooExpensive,
		/// The interpreter refused this input (an integer division by zero,
		/// shapes the graph cannot combine); nothing was charged but the
		/// transaction fee.
		ConsensusFailed,
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
		/// A capacity must be between 1 and `MaxOpenJobs`.
		CapacityOutOfRange,
		/// The executor is not suspended.
		NotSuspended,
		/// No model has this id.
		ModelNotFound,
		/// The model takes no new jobs.
		ModelNotActive,
		/// The input is not tensors matching the model's declared inputs.
		InvalidInput,
		/// The output is not tensors matching the model's declared outputs.
		InvalidOutput,
		/// At this batch size the model's declared outputs could exceed
		/// `MaxOutputSize`: submit fewer items per job.
		OutputTooLarge,
		/// More items than the model's `max_batch`: split the job.
		BatchTooLarge,
		/// The fee exceeds the requester's `max_fee`.
		FeeAboveMax,
		/// No executor serves this model with room for another job (each
		/// takes at most its declared capacity, and suspended ones none).
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
		/// The verifier is not suspended.
		VerifierNotSuspended,
		/// The caller is not the job's auditor, or the audit is over.
		NotAuditor,
		/// An optimistic job's result is committed first
		/// ([`Pallet::commit_result`]) and revealed after the audit draw
		/// ([`Pallet::reveal_result`]); only `Vanilla` results are posted at once.
		CommitRequired,
		/// Only optimistic jobs' results are committed; post a `Vanilla`
		/// result with [`Pallet::submit_result`].
		NotOptimistic,
		/// Reveals are open: commitments are closed for this round.
		NotCommitPhase,
		/// Not every seated member has committed yet: nothing may be revealed.
		NotRevealPhase,
		/// The member already committed in this dispute.
		AlreadyCommitted,
		/// The member has no commitment to reveal.
		NotCommitted,
		/// The revealed finding and salt do not hash to the member's commitment.
		CommitMismatch,
		/// Every block a deadline could go into is full.
		SchedulerFull,
		/// No admission of this model is under way.
		NoAdmission,
		/// The admission's committee still has time to vote.
		AdmissionNotDue,
		/// No consumer of the runtime answers to the job's callback.
		UnknownConsumer,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			Self::process_deadlines(now).saturating_add(Self::process_draws(now))
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
			assert!(T::MaxMissedDeadlines::get() >= 1, "an executor may miss a deadline");
			assert!(T::MaxDeclines::get() >= 1, "a job can be declined");
			assert!(
				T::ChallengerReward::get().saturating_add(T::VerifierReward::get())
					<= Perbill::one(),
				"slash shares exceed the slash"
			);
			assert!(T::MaxDeadlinesPerBlock::get() > 0 && T::MaxStepsPerBlock::get() > 0);
			assert!(T::MaxDisputeRounds::get() >= 1, "a dispute needs a round to be decided");
			assert!(T::MaxMissedDuties::get() >= 1, "a verifier may miss a duty");
			// Committee capture (docs/ECONOMICS.md): an attacker holding half
			// the verifier stake who challenges an honest executor at the
			// minimum stake gains (ChallengerReward + VerifierReward) x the
			// slash half the time, and otherwise loses its bond (half the
			// time) and MinorityPenalty for 0.375 outvoted seats on average:
			// 0.5 G < 0.5 B + 0.375 M, that is G < B + 3/4 M, for a
			// committee of three.
			if T::CommitteeSize::get() == 3 {
				let slash = T::ExecutorSlash::get() * T::MinExecutorStake::get();
				let gain = (T::ChallengerReward::get() * slash)
					.saturating_add(T::VerifierReward::get() * slash);
				let outvoted = T::MinorityPenalty::get() * T::MinVerifierStake::get();
				let loss = T::ChallengeBond::get()
					.saturating_add(outvoted.saturating_mul(3u32.into()) / 4u32.into());
				assert!(
					gain < loss,
					"a verifier holding half the stake profits from capturing committees"
				);
			}
			let steps = T::MaxStepsPerBlock::get();
			let worst = T::WeightInfo::on_initialize(steps, steps)
				.saturating_add(T::OnSettled::max_weight().saturating_mul(steps.into()))
				.saturating_add(
					Pallet::<T>::reassignment_weight()
						.max(Pallet::<T>::draw_weight())
						.saturating_mul(scheduler::REASSIGNMENTS_PER_BLOCK.into()),
				)
				.saturating_add(
					Pallet::<T>::draw_weight()
						.max(T::WeightInfo::draw_audit())
						.max(T::WeightInfo::draw_assignment(T::MaxExecutors::get()))
						.saturating_mul(T::MaxDrawsPerBlock::get().into()),
				);
			assert!(
				worst.all_lte(T::BlockWeights::get().max_block / 4),
				"a block's scheduled steps may take over a quarter of the block: {worst:?} (a settlement's share {:?}, a draw {:?}, a reassignment {:?})",
				T::WeightInfo::on_initialize(steps, steps),
				Pallet::<T>::draw_weight(),
				Pallet::<T>::reassignment_weight(),
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
			Self::do_top_up_executor(ensure_signed(origin)?, extra)
		}

		/// Stops taking new jobs; the stake can be withdrawn after
		/// `UnbondingPeriod`, once the executor's open jobs are done.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::unbond_executor())]
		pub fn unbond_executor(origin: OriginFor<T>) -> DispatchResult {
			Self::do_unbond(Staker::Executor, ensure_signed(origin)?)
		}

		/// Leaves after unbonding: releases the stake. Fails while jobs are open.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::withdraw_executor())]
		pub fn withdraw_executor(origin: OriginFor<T>) -> DispatchResult {
			Self::do_withdraw(Staker::Executor, ensure_signed(origin)?)
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
			Self::do_unbond(Staker::Verifier, ensure_signed(origin)?)
		}

		/// Leaves after unbonding: releases the stake. Fails while disputes are open.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::withdraw_verifier())]
		pub fn withdraw_verifier(origin: OriginFor<T>) -> DispatchResult {
			Self::do_withdraw(Staker::Verifier, ensure_signed(origin)?)
		}

		/// Submits a job: runs `model` on `input` (SCALE-encoded tensors matching
		/// the model's inputs) for at most `max_fee`. The fee is held in escrow
		/// and the job assigned to an executor. In
		/// [`VerificationMode::Consensus`] the runtime evaluates the model in
		/// this call instead, and the job settles here (see the `consensus`
		/// module): the weight charged is the run's, refunded down from the
		/// model's price at its largest batch.
		#[pallet::call_index(7)]
		#[pallet::weight(
			T::WeightInfo::submit_job(input.len() as u32, T::MaxExecutors::get())
				.saturating_add(Pallet::<T>::mode_weight(model, *mode))
		)]
		pub fn submit_job(
			origin: OriginFor<T>,
			model: ModelId,
			input: InputOf<T>,
			max_fee: BalanceOf<T>,
			mode: VerificationMode,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let len = input.len() as u32;
			let (_, evaluated) = Self::do_submit_job(who, model, input, max_fee, mode, None)?;
			Ok(evaluated
				.map(|w| {
					T::WeightInfo::submit_job(len, T::MaxExecutors::get())
						.saturating_add(w)
						.saturating_add(Self::settlement_weight())
						.saturating_add(T::DbWeight::get().reads(2))
				})
				.into())
		}

		/// The assigned executor of a `Vanilla` job posts its output
		/// (SCALE-encoded tensors matching the model's outputs); the job
		/// settles. An optimistic job's result is committed and revealed
		/// instead ([`Pallet::commit_result`], [`Pallet::reveal_result`]).
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::submit_result(output.len() as u32).saturating_add(Pallet::<T>::settlement_weight()))]
		pub fn submit_result(
			origin: OriginFor<T>,
			job: JobId,
			output: OutputOf<T>,
		) -> DispatchResult {
			Self::do_submit_result(ensure_signed(origin)?, job, output)
		}

		/// The assigned executor reports that it cannot post a result because
		/// of `fault`: the model fails on the (runtime-validated) input, or the
		/// input drives the model past the engine's deterministic size limits.
		/// A committee checks the claim; an executor whose claim it refutes
		/// is slashed. Node-local trouble (a timeout, a crashed worker) is not
		/// a fault: the executor declines the job instead ([`Pallet::decline_job`]).
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::challenge(T::MaxVerifiers::get()))]
		pub fn report_fault(origin: OriginFor<T>, job: JobId, fault: Fault) -> DispatchResult {
			Self::do_report_fault(ensure_signed(origin)?, job, fault)
		}

		/// Challenges job `job`'s result, holding `bond` (at least
		/// `ChallengeBond`). A committee of verifiers re-executes the job.
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::challenge(T::MaxVerifiers::get()))]
		pub fn challenge(origin: OriginFor<T>, job: JobId, bond: BalanceOf<T>) -> DispatchResult {
			Self::do_challenge(ensure_signed(origin)?, job, bond)
		}

		/// A committee member commits to its finding without showing it:
		/// `commitment` is [`Pallet::verdict_commitment`] of the job, the
		/// member, the finding and a secret salt. Reveals open once every
		/// seated member has committed.
		#[pallet::call_index(22)]
		#[pallet::weight(T::WeightInfo::commit_verdict())]
		pub fn commit_verdict(
			origin: OriginFor<T>,
			job: JobId,
			commitment: sp_core::H256,
		) -> DispatchResult {
			Self::do_commit_verdict(ensure_signed(origin)?, job, commitment)
		}

		/// A committee member reveals its verdict: its [`Finding`] when it
		/// re-executed the job, with the salt of its commitment. An output is
		/// compared with the executor's and with the other members' under the
		/// model's policy: the executor is wrong only if a quorum of members
		/// agree with each other and not with it. A member's reveal that
		/// arrives after the dispute ended (the others' reveals decided it in
		/// the same block) is accepted, changes nothing and pays no fee.
		#[pallet::call_index(11)]
		#[pallet::weight(T::WeightInfo::submit_verdict(T::MaxOutputSize::get()).saturating_add(T::WeightInfo::resolve()).saturating_add(T::OnSettled::max_weight()))]
		pub fn submit_verdict(
			origin: OriginFor<T>,
			job: JobId,
			finding: FindingOf<T>,
			salt: [u8; 32],
		) -> DispatchResultWithPostInfo {
			Self::do_submit_verdict(ensure_signed(origin)?, job, finding, salt)
		}

		/// Resolves a dispute by governance, overriding its committee (for a
		/// committee that cannot be trusted; a stalled dispute also ends by
		/// [`Pallet::end_dispute`]).
		#[pallet::call_index(12)]
		#[pallet::weight(T::WeightInfo::resolve().saturating_add(T::OnSettled::max_weight()))]
		pub fn resolve_dispute(
			origin: OriginFor<T>,
			job: JobId,
			outcome: Outcome,
		) -> DispatchResult {
			T::ForceOrigin::ensure_origin(origin)?;
			Self::do_resolve_dispute(job, outcome)
		}

		/// The assigned executor declines `job` because of trouble on its own
		/// node (a timeout, a crashed engine worker, a sandbox denial): the
		/// job is reassigned to another executor at no penalty, or fails with
		/// a full refund when none is left or it was declined `MaxDeclines`
		/// times.
		#[pallet::call_index(13)]
		#[pallet::weight(T::WeightInfo::decline_job(T::MaxExecutors::get()).saturating_add(Pallet::<T>::settlement_weight()))]
		pub fn decline_job(origin: OriginFor<T>, job: JobId) -> DispatchResult {
			Self::do_decline_job(ensure_signed(origin)?, job)
		}

		/// An admission committee member's vote on `model`: whether the model
		/// is as declared, deterministic and matches its golden vectors. Free
		/// for a committee member (`Pays::No`): checking is a verifier's duty.
		#[pallet::call_index(14)]
		#[pallet::weight(T::WeightInfo::submit_admission_vote())]
		pub fn submit_admission_vote(
			origin: OriginFor<T>,
			model: ModelId,
			vote: AdmissionVote,
		) -> DispatchResultWithPostInfo {
			Self::do_submit_admission_vote(ensure_signed(origin)?, model, vote)?;
			Ok(Pays::No.into())
		}

		/// Replaces the members of `model`'s admission committee who did not
		/// vote by its deadline (or draws a first committee where too few
		/// verifiers were available). Anyone may call it.
		#[pallet::call_index(15)]
		#[pallet::weight(T::WeightInfo::challenge(T::MaxVerifiers::get()))]
		pub fn retry_admission(origin: OriginFor<T>, model: ModelId) -> DispatchResult {
			ensure_signed(origin)?;
			Self::do_retry_admission(model)
		}

		/// Sets how many jobs the caller, an executor, runs at once (1 to
		/// `MaxOpenJobs`; `MaxOpenJobs` at registration). Assignment gives it
		/// no more; jobs it holds already stay.
		#[pallet::call_index(16)]
		#[pallet::weight(T::WeightInfo::set_capacity())]
		pub fn set_capacity(origin: OriginFor<T>, capacity: u32) -> DispatchResult {
			Self::do_set_capacity(ensure_signed(origin)?, capacity)
		}

		/// A suspended executor (it missed `MaxMissedDeadlines` result
		/// deadlines in a row) shows it is alive again and takes new jobs.
		#[pallet::call_index(17)]
		#[pallet::weight(T::WeightInfo::resume_executor())]
		pub fn resume_executor(origin: OriginFor<T>) -> DispatchResult {
			Self::do_resume(Staker::Executor, ensure_signed(origin)?)
		}

		/// Ends a stalled dispute without a verdict: no quorum after
		/// `MaxDisputeRounds` rounds, or no committee could be drawn. The
		/// requester is refunded in full, the challenger's bond released, and
		/// nobody is slashed. Anyone may call it, so no dispute stays open
		/// for want of governance.
		#[pallet::call_index(18)]
		#[pallet::weight(T::WeightInfo::end_dispute().saturating_add(T::OnSettled::max_weight()))]
		pub fn end_dispute(origin: OriginFor<T>, job: JobId) -> DispatchResult {
			Self::do_end_dispute(ensure_signed(origin)?, job)
		}

		/// A suspended verifier (it let `MaxMissedDuties` dispute duties pass
		/// in a row) is drawn into committees again.
		#[pallet::call_index(19)]
		#[pallet::weight(T::WeightInfo::resume_verifier())]
		pub fn resume_verifier(origin: OriginFor<T>) -> DispatchResult {
			Self::do_resume(Staker::Verifier, ensure_signed(origin)?)
		}

		/// The auditor of `job` reveals the [`Finding`] it committed to
		/// ([`Pallet::commit_audit`]), once the executor's output is public.
		/// An output that agrees with the executor's under the model's policy
		/// passes the audit and pays the auditor `AuditReward`; anything else
		/// challenges the result with the auditor's bond (`ChallengeBond`,
		/// held), and a committee decides. Free for the auditor (`Pays::No`).
		#[pallet::call_index(20)]
		#[pallet::weight(T::WeightInfo::reveal_audit(T::MaxOutputSize::get()).saturating_add(T::WeightInfo::challenge(T::MaxVerifiers::get())))]
		pub fn reveal_audit(
			origin: OriginFor<T>,
			job: JobId,
			finding: FindingOf<T>,
			salt: [u8; 32],
		) -> DispatchResultWithPostInfo {
			Self::do_reveal_audit(ensure_signed(origin)?, job, finding, salt)?;
			Ok(Pays::No.into())
		}

		/// Sets the probability that an optimistic job's result is audited:
		/// for `model`, or chain-wide (`None`). A `rate` of `None` returns to
		/// the default (for a model: the chain-wide rate; chain-wide:
		/// `DefaultAuditRate`).
		#[pallet::call_index(21)]
		#[pallet::weight(T::WeightInfo::set_audit_rate())]
		pub fn set_audit_rate(
			origin: OriginFor<T>,
			model: Option<ModelId>,
			rate: Option<Perbill>,
		) -> DispatchResult {
			T::ForceOrigin::ensure_origin(origin)?;
			match (model, rate) {
				(Some(m), Some(r)) => ModelAuditRates::<T>::insert(m, r),
				(Some(m), None) => ModelAuditRates::<T>::remove(m),
				(None, Some(r)) => AuditRate::<T>::put(r),
				(None, None) => AuditRate::<T>::kill(),
			}
			Self::deposit_event(Event::AuditRateSet { model, rate });
			Ok(())
		}

		/// The assigned executor of an optimistic job commits to its output
		/// without showing it: `commitment` is [`Pallet::result_commitment`]
		/// of the job, the executor, the output and a secret salt. The audit
		/// is drawn `DRAW_DELAY` blocks later; the output is revealed
		/// ([`Pallet::reveal_result`]) once no auditor was drawn or the
		/// drawn one has committed to its own answer, within
		/// `ResultTimeout` blocks.
		#[pallet::call_index(23)]
		#[pallet::weight(T::WeightInfo::commit_result())]
		pub fn commit_result(
			origin: OriginFor<T>,
			job: JobId,
			commitment: sp_core::H256,
		) -> DispatchResult {
			Self::do_commit_result(ensure_signed(origin)?, job, commitment)
		}

		/// The executor reveals the output it committed to, with the salt of
		/// its commitment. The challenge window opens.
		#[pallet::call_index(24)]
		#[pallet::weight(T::WeightInfo::reveal_result(output.len() as u32))]
		pub fn reveal_result(
			origin: OriginFor<T>,
			job: JobId,
			output: OutputOf<T>,
			salt: [u8; 32],
		) -> DispatchResult {
			Self::do_reveal_result(ensure_signed(origin)?, job, output, salt)
		}

		/// The auditor of `job` commits to its [`Finding`] while the
		/// executor's output is still hidden: `commitment` is
		/// [`Pallet::verdict_commitment`] of the job, the auditor, the
		/// finding and a secret salt. Free for the auditor (`Pays::No`).
		#[pallet::call_index(25)]
		#[pallet::weight(T::WeightInfo::commit_audit())]
		pub fn commit_audit(
			origin: OriginFor<T>,
			job: JobId,
			commitment: sp_core::H256,
		) -> DispatchResultWithPostInfo {
			Self::do_commit_audit(ensure_signed(origin)?, job, commitment)?;
			Ok(Pays::No.into())
		}
	}
}
