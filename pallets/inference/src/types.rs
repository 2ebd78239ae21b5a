//! The inference pallet's records: executors, verifiers, jobs and disputes.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	traits::Get, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use scale_info::TypeInfo;
use sp_core::H256;
use sp_runtime::traits::Saturating;
use verity_primitives::ModelId;

/// A job's number, assigned in submission order from 0.
pub type JobId = u64;

/// How much assurance a job buys.
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
	Default,
)]
pub enum VerificationMode {
	/// The result can be challenged during the model's challenge period and
	/// settles when it closes. Costs the model's price, `ExecutorFee` and
	/// `ProtocolFee` (which funds the dispute machinery).
	#[default]
	Optimistic,
	/// The result settles as soon as it arrives and cannot be challenged:
	/// faster and without the protocol fee, but only as trustworthy as the
	/// executor (whose stake still answers for timeouts).
	Vanilla,
	/// Every validator evaluates the model while importing the block that
	/// includes the job (`verity_interp`, the model's compact graph): the
	/// output is in that block and final, with no executor, challenge
	/// window or committee. Only models with a consensus graph, within
	/// `MaxConsensusWeight`; costs the model's price and the evaluation's
	/// weight in the transaction fee.
	Consensus,
}

/// Identifies a consumer pallet, like a `PalletId`.
pub type ConsumerId = [u8; 8];

/// Where a job's result goes when it is final: the consumer and the tag it
/// chose for the job.
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
pub struct Callback {
	/// The consumer that asked.
	pub consumer: ConsumerId,
	/// The consumer's own reference for the job.
	pub tag: u64,
}

/// How a job ended, as its consumer hears it (exactly once).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum JobResult {
	/// Settled: the fee was paid and this is the output (SCALE-encoded tensors
	/// matching the model's declared outputs).
	Settled {
		/// The executor's output.
		output: alloc::vec::Vec<u8>,
	},
	/// Failed: the payer was refunded in full.
	Failed {
		/// Why.
		reason: FailReason,
	},
}

/// A staked account that runs jobs.
#[derive(
	Encode, Decode, MaxEncodedLen, TypeInfo, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(MaxModels))]
pub struct ExecutorInfo<Balance, BlockNumber, MaxModels: Get<u32>>
where
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
{
	/// Stake held.
	pub stake: Balance,
	/// Models it serves; `None`: every model.
	pub models: Option<BoundedVec<ModelId, MaxModels>>,
	/// When set, it takes no new jobs and may withdraw from this block on.
	pub unbonding_until: Option<BlockNumber>,
	/// Most jobs it runs at once (at most `MaxOpenJobs`): assignment gives
	/// it no more.
	pub capacity: u32,
	/// Result deadlines it missed in a row. At `MaxMissedDeadlines` it is
	/// out of assignment until it shows it is alive ([`crate::Pallet::resume_executor`]).
	pub missed: u32,
}

impl<Balance, BlockNumber, MaxModels: Get<u32>> ExecutorInfo<Balance, BlockNumber, MaxModels>
where
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
{
	/// Whether it missed `limit` deadlines in a row and waits to resume.
	pub fn is_suspended(&self, limit: u32) -> bool {
		self.missed >= limit
	}
}

/// A staked account that re-executes disputed jobs.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct VerifierInfo<Balance, BlockNumber> {
	/// Stake held.
	pub stake: Balance,
	/// When set, it joins no new committee and may withdraw from this block on.
	pub unbonding_until: Option<BlockNumber>,
	/// Dispute duties it let pass without a verdict in a row. At
	/// `MaxMissedDuties` it is drawn into no committee until it resumes
	/// ([`crate::Pallet::resume_verifier`]).
	pub missed: u32,
}

impl<Balance, BlockNumber> VerifierInfo<Balance, BlockNumber> {
	/// Whether it missed `limit` duties in a row and waits to resume.
	pub fn is_suspended(&self, limit: u32) -> bool {
		self.missed >= limit
	}
}

/// What a job costs, fixed when it is submitted.
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
pub struct Fees<Balance> {
	/// To the model's owner.
	pub price: Balance,
	/// To the executor.
	pub executor: Balance,
	/// To the protocol's treasury.
	pub protocol: Balance,
	/// The audit premium, to the treasury: `AuditReward` times the model's
	/// audit rate at submission, so that the treasury, which pays each
	/// passed audit's auditor `AuditReward`, takes in what it pays out on
	/// average at any rate.
	pub audit: Balance,
}

impl<Balance: Saturating + Copy> Fees<Balance> {
	/// The whole fee, held in escrow from the requester.
	pub fn total(&self) -> Balance {
		self.price
			.saturating_add(self.executor)
			.saturating_add(self.protocol)
			.saturating_add(self.audit)
	}
}

/// Why a job failed; the requester was refunded (all of the fee, except the
/// executor's fee after [`FailReason::InputTooLarge`]).
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
pub enum FailReason {
	/// The executor posted no result in time.
	TimedOut,
	/// A dispute found the executor's output wrong.
	ExecutorSlashed,
	/// A dispute found the model unrunnable.
	ModelUnrunnable,
	/// Governance resolved a stalled dispute against the job.
	Resolved,
	/// The input drives the model past the engine's limits; the executor kept
	/// its fee for the work, the rest was refunded.
	InputTooLarge,
	/// The model gave different answers on different honest nodes; it was
	/// disabled.
	Nondeterministic,
	/// Every executor that could take the job declined it (node-local
	/// failures), or none was left to reassign it to.
	NoExecutor,
	/// Its dispute found no quorum in `MaxDisputeRounds` rounds (or no
	/// committee could be drawn) and was ended without a verdict: the
	/// requester was refunded, the bond returned, nobody slashed.
	NoVerdict,
}

/// Where a job is.
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
pub enum JobStatus {
	/// Waiting for the executor's result.
	Assigned,
	/// An optimistic job's executor committed to its output without showing
	/// it ([`crate::Pallet::commit_result`]). It reveals the output once the
	/// audit is drawn and a drawn auditor has committed to its own answer
	/// ([`crate::Pallet::reveal_result`]), so that no checker can copy it.
	Committed,
	/// Result posted; the challenge window is open.
	Submitted,
	/// Challenged (or reported unrunnable); a committee re-executes it.
	Disputed,
	/// Paid out. The output stays readable until pruned.
	Settled,
	/// Refunded.
	Failed(FailReason),
}

/// A draw that waits for randomness of a later block ([`crate::Draws`]).
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
pub enum Draw {
	/// Who runs a submitted job.
	Assignment(JobId),
	/// Whether a job's result is audited, and by whom.
	Audit(JobId),
	/// The first admission committee of an uploaded model.
	Admission(ModelId),
}

/// Whether a job's result is audited, and by whom.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub enum AuditState<AccountId> {
	/// No result committed yet, the draw is pending (`DRAW_DELAY` blocks
	/// after the executor's commitment), or the job is `Vanilla` (never
	/// audited).
	Undecided,
	/// The draw (probability `AuditRate`) passed it over, or the model's
	/// audit rate was zero when the result was committed.
	NotSelected,
	/// This verifier was drawn to re-execute it and has not committed to
	/// its answer yet; the executor's output stays hidden meanwhile.
	Selected(AccountId),
	/// The auditor committed to its finding (this hash; see
	/// [`crate::Pallet::verdict_commitment`]) before the executor revealed
	/// its output; it reveals the finding once the output is public.
	Committed(AccountId, H256),
	/// The auditor's revealed output agrees with the executor's: it was paid
	/// `AuditReward`.
	Passed(AccountId),
	/// The auditor's revealed finding disagrees: it challenged the result
	/// with its own bond.
	Challenged(AccountId),
	/// The auditor did not commit before its deadline, or committed and did
	/// not reveal before the window closed: it lost `VerifierPenalty` of its
	/// stake and the duty counts as missed.
	Lapsed(AccountId),
}

impl<AccountId> AuditState<AccountId> {
	/// The auditor whose answer is still awaited (drawn, or committed and
	/// not yet revealed).
	pub fn pending_auditor(&self) -> Option<&AccountId> {
		match self {
			AuditState::Selected(a) | AuditState::Committed(a, _) => Some(a),
			_ => None,
		}
	}
}

/// An inference job.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct Job<AccountId, Balance, BlockNumber> {
	/// Who pays.
	pub requester: AccountId,
	/// The model to run.
	pub model: ModelId,
	/// Who runs it.
	pub executor: AccountId,
	/// Fees held in escrow.
	pub fees: Fees<Balance>,
	/// Where the job is.
	pub status: JobStatus,
	/// Whether its result is audited.
	pub audit: AuditState<AccountId>,
	/// Block of submission.
	pub submitted_at: BlockNumber,
	/// When the job's next scheduled step happens: result timeout, end of the
	/// challenge window, dispute deadline, or pruning.
	pub deadline: BlockNumber,
	/// An optimistic job's executor's commitment to its output (see
	/// [`crate::Pallet::result_commitment`]), from `commit_result` on.
	pub commitment: Option<H256>,
	/// blake2-256 of the posted output.
	pub output_hash: Option<H256>,
	/// Whether the result can be challenged.
	pub mode: VerificationMode,
	/// Who is told when the job ends (jobs requested by another pallet).
	pub callback: Option<Callback>,
	/// Block in which its result was posted (the output revealed), so that
	/// clients read a job's latency without scanning events. `None` before
	/// the result, and for jobs whose result came before storage version 1
	/// ([`crate::migrations::v1`]).
	pub result_at: Option<BlockNumber>,
}

/// A submitted job waiting for its executor's draw, `DRAW_DELAY` blocks
/// after its submission, from a VRF output nobody knew when it was
/// submitted ([`crate::QueuedJobs`]). Its fees and data deposit are held.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct QueuedJob<AccountId, Balance, BlockNumber> {
	/// Who pays.
	pub requester: AccountId,
	/// The model to run.
	pub model: ModelId,
	/// Fees held in escrow.
	pub fees: Fees<Balance>,
	/// Whether the result can be challenged.
	pub mode: VerificationMode,
	/// Who is told when the job ends.
	pub callback: Option<Callback>,
	/// Block of submission.
	pub submitted_at: BlockNumber,
	/// Block in which its executor is drawn.
	pub draw_at: BlockNumber,
}

/// What a committee member found when it re-executed a job: its own output,
/// or why the engine would not run it. The pallet compares an output with
/// the executor's (and with the other members') under the model's policy.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub enum Finding<Output> {
	/// The member's own output (SCALE-encoded tensors).
	Output(Output),
	/// The model fails on an input the runtime accepted: the publisher's fault.
	ModelFault,
	/// The job's input drives the model past the engine's deterministic size
	/// limits (a tensor or the output too large for its batch): the
	/// requester's cost, nobody's fault.
	InputTooLarge,
}

/// Why the assigned executor did not post a result, as it reports it.
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
pub enum Fault {
	/// The model fails on an input the runtime accepted.
	Model,
	/// The input drives the model past the engine's deterministic size limits.
	Input,
}

/// A committee member's vote, derived by the pallet from its [`Finding`].
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
pub enum Vote {
	/// Its output agrees with the executor's.
	Agrees,
	/// Its output differs from the executor's. Dissenters whose outputs agree
	/// with each other share a `group` (numbered from 0 in the order the
	/// groups appeared): only a quorum of one group overturns the executor.
	Disagrees {
		/// Which of the distinct dissenting answers it gave.
		group: u8,
	},
	/// The model failed on an input the runtime accepted.
	Unrunnable,
	/// The input exceeds the engine's deterministic limits.
	InputTooLarge,
}

/// How a dispute ends.
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
pub enum Outcome {
	/// The executor was right: the challenger loses its bond, the job settles.
	ExecutorRight,
	/// The executor was wrong (a quorum of verifiers agreeing with each other
	/// differs from it): it is slashed, the requester refunded.
	ExecutorWrong,
	/// The model cannot run: it is disabled and its publisher slashed.
	ModelUnrunnable,
	/// The input is too large for the engine's limits: the job fails at the
	/// requester's cost (the executor keeps its fee), nobody is slashed.
	InputTooLarge,
	/// Every member voted and no answer reached a quorum: honest nodes do not
	/// reproduce each other's results, so the model is nondeterministic (or
	/// its policy too strict for it). Its publisher is slashed and the model
	/// disabled; the executor and the challenger lose nothing.
	Nondeterministic,
}

impl Vote {
	/// The outcome a quorum of this vote means.
	pub fn outcome(self) -> Outcome {
		match self {
			Vote::Agrees => Outcome::ExecutorRight,
			Vote::Disagrees { .. } => Outcome::ExecutorWrong,
			Vote::Unrunnable => Outcome::ModelUnrunnable,
			Vote::InputTooLarge => Outcome::InputTooLarge,
		}
	}
}

/// A running dispute.
#[derive(
	Encode, Decode, MaxEncodedLen, TypeInfo, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(CommitteeSize))]
pub struct Dispute<AccountId, Balance, CommitteeSize: Get<u32>>
where
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
{
	/// Who challenged; `None` when the executor itself reported the model unrunnable.
	pub challenger: Option<AccountId>,
	/// The challenger's bond, held.
	pub bond: Balance,
	/// The verifiers drawn to re-execute the job: empty until the draw,
	/// `DRAW_DELAY` blocks after the challenge. Members who let a round pass
	/// without a verdict are replaced by fresh draws.
	pub committee: BoundedVec<AccountId, CommitteeSize>,
	/// Members' commitments to their findings (a hash of the finding, a
	/// salt, the job and the member): verdicts are revealed only once every
	/// seated member has committed, so nobody can copy another's answer.
	pub commits: BoundedVec<(AccountId, H256), CommitteeSize>,
	/// Votes so far (revealed findings).
	pub votes: BoundedVec<(AccountId, Vote), CommitteeSize>,
	/// 0 while the committee is being drawn; then the voting round (1, 2,
	/// ...), one per `DisputePeriod`.
	pub round: u32,
	/// Whether it went `MaxDisputeRounds` rounds without a quorum (or no
	/// committee could be drawn): anyone may now end it without a verdict
	/// ([`crate::Pallet::end_dispute`]).
	pub stalled: bool,
}

impl<AccountId, Balance, CommitteeSize: Get<u32>> Dispute<AccountId, Balance, CommitteeSize>
where
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
{
	/// Whether `who` committed to a finding.
	pub fn committed(&self, who: &AccountId) -> bool {
		self.commits.iter().any(|(c, _)| c == who)
	}

	/// Whether reveals are open: a committee sits and every seated member
	/// committed.
	pub fn reveals_open(&self) -> bool {
		!self.committee.is_empty() && self.committee.iter().all(|m| self.committed(m))
	}
}

/// Why an admission committee member refuses a model.
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
pub enum AdmissionFault {
	/// The declared inputs or outputs differ from the graph's (a name, an
	/// element type, a rank, a fixed versus batch dimension).
	SpecMismatch,
	/// The graph draws random numbers without a seed: honest nodes would get
	/// different outputs.
	UnseededRandom,
	/// A golden vector gave different outputs in two runs on the same node.
	NotReproducible,
	/// A golden vector's output disagrees with the publisher's expected
	/// output under the model's policy.
	WrongGoldenOutput,
	/// The engine cannot load or run the model (or a golden vector's input
	/// passes its limits at batch 1).
	Unrunnable,
	/// The model's consensus graph is not the compilation of its ONNX
	/// bytes, or gives a golden vector an output that disagrees with the
	/// engine's or the publisher's under the model's policy.
	ConsensusMismatch,
}

/// An admission committee member's vote on a model.
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
pub enum AdmissionVote {
	/// The model is as declared, deterministic and matches its golden vectors.
	Admit,
	/// The model fails the check for this reason.
	Reject(AdmissionFault),
}

/// A model's admission under way.
#[derive(
	Encode, Decode, MaxEncodedLen, TypeInfo, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(CommitteeSize))]
pub struct Admission<AccountId, BlockNumber, CommitteeSize: Get<u32>>
where
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
{
	/// The verifiers drawn to check the model (empty while too few verifiers
	/// were available; [`crate::Pallet::retry_admission`] draws again).
	pub committee: BoundedVec<AccountId, CommitteeSize>,
	/// Votes so far.
	pub votes: BoundedVec<(AccountId, AdmissionVote), CommitteeSize>,
	/// After this block, anyone may have non-voters replaced.
	pub deadline: BlockNumber,
}
