//! How the client shows chain data to people: one line per fact.

use pallet_inference::{
	AdmissionFault, AdmissionVote, FailReason, Fault, JobStatus, Outcome, Vote,
};
use pallet_model_registry::{ModelStatus, ModelVersion};
use sp_core::H256;
use verity_primitives::{json::dtype_name, Dim, TensorSpec, VerificationPolicy};
use verity_runtime::{AccountId, Runtime};

use crate::{amount::Amount, chain::ss58};

/// `0x`-hex of a hash.
pub fn hash(h: &H256) -> String {
	format!("0x{}", hex::encode(h.0))
}

/// `1.0`.
pub fn version(v: &ModelVersion) -> String {
	format!("{}.{}", v.major, v.minor)
}

/// `x float32 [N,64]`.
pub fn spec(s: &TensorSpec) -> String {
	let dims: Vec<String> = s
		.shape
		.iter()
		.map(|d| match d {
			Dim::Batch => "N".to_string(),
			Dim::Fixed(n) => n.to_string(),
			Dim::Free(max) => format!("<={max}"),
		})
		.collect();
	format!("{} {} [{}]", String::from_utf8_lossy(&s.name), dtype_name(s.dtype), dims.join(","))
}

/// `tolerance:0.00001,0.0001`, as `--policy` takes it.
pub fn policy(p: &VerificationPolicy) -> String {
	match p {
		VerificationPolicy::Exact => "exact".into(),
		VerificationPolicy::Tolerance { abs, rel } => {
			format!("tolerance:{},{}", fixed(abs.into_inner()), fixed(rel.into_inner()))
		}
		VerificationPolicy::ArgMax => "argmax".into(),
		VerificationPolicy::TopK(k) => format!("topk:{k}"),
	}
}

fn fixed(inner: u64) -> String {
	let s = format!("{}.{:09}", inner / 1_000_000_000, inner % 1_000_000_000);
	s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `Active`, `Pending (awaiting admission)`, ...
pub fn model_status(s: &ModelStatus) -> String {
	match s {
		ModelStatus::Pending => "Pending (awaiting admission by verifiers)".into(),
		ModelStatus::Rejected => "Rejected (admission refused it; no jobs)".into(),
		s => format!("{s:?}"),
	}
}

/// An admission vote in words.
pub fn admission_vote(v: &AdmissionVote) -> &'static str {
	match v {
		AdmissionVote::Admit => "admit",
		AdmissionVote::Reject(f) => match f {
			AdmissionFault::SpecMismatch => "reject: the declarations differ from the graph",
			AdmissionFault::UnseededRandom => "reject: unseeded random operators",
			AdmissionFault::NotReproducible => "reject: two runs gave different outputs",
			AdmissionFault::WrongGoldenOutput => "reject: a golden vector's output differs",
			AdmissionFault::Unrunnable => "reject: the engine cannot run it",
			AdmissionFault::ConsensusMismatch => {
				"reject: the consensus graph is not the model's compilation or disagrees with it"
			}
		},
	}
}

/// Where a job is, in words: `settled`, `failed (the executor did not
/// answer in time)`, ...
pub fn job_status(s: &JobStatus) -> String {
	match s {
		JobStatus::Assigned => "waiting for its executor's result".into(),
		JobStatus::Committed => "result committed (hidden until the audit draw)".into(),
		JobStatus::Submitted => "result posted, in its challenge window".into(),
		JobStatus::Disputed => "disputed".into(),
		JobStatus::Settled => "settled".into(),
		JobStatus::Failed(r) => format!("failed ({})", fail_reason(r)),
	}
}

/// Whether a job was audited, in words.
pub fn audit_state(a: &pallet_inference::AuditState<AccountId>) -> String {
	use pallet_inference::AuditState::*;
	match a {
		Undecided => {
			"not drawn yet (no result committed, its draw pending, or a vanilla job)".into()
		}
		NotSelected => "not selected by the draw (or audits off)".into(),
		Selected(v) => {
			format!("{} drawn to re-execute it; its answer not committed yet", account(v))
		}
		Committed(v, _) => {
			format!("{} re-executed it and committed to its answer (hidden)", account(v))
		}
		Passed(v) => format!("{} re-executed it and agrees (paid for the audit)", account(v)),
		Challenged(v) => format!("{} re-executed it, disagreed and challenged", account(v)),
		Lapsed(v) => format!("{} was drawn and did not answer in time (penalised)", account(v)),
	}
}

/// Where a job is and what happens next, with the block it happens in:
/// `result posted, challengeable until block 120`.
pub fn job_state(s: &JobStatus, deadline: impl core::fmt::Display) -> String {
	match s {
		JobStatus::Assigned => {
			format!("waiting for its executor's result, due by block {deadline}")
		}
		JobStatus::Committed => format!(
			"result committed (hidden); revealed after the audit draw, due by block {deadline}"
		),
		JobStatus::Submitted => format!("result posted, challengeable until block {deadline}"),
		JobStatus::Disputed => {
			format!("disputed; next step (draw, or end of a voting round) at block {deadline}")
		}
		JobStatus::Settled => format!("settled; output kept until block {deadline}"),
		JobStatus::Failed(r) => {
			format!("failed ({}); record kept until block {deadline}", fail_reason(r))
		}
	}
}

/// Why a job failed, in words.
pub fn fail_reason(r: &FailReason) -> &'static str {
	match r {
		FailReason::TimedOut => "the executor did not answer in time",
		FailReason::ExecutorSlashed => "the executor's result was overturned and it was slashed",
		FailReason::ModelUnrunnable => "the model cannot run; it was disabled",
		FailReason::Resolved => "resolved by governance",
		FailReason::InputTooLarge => {
			"the input exceeds the engine's limits; the executor kept its fee"
		}
		FailReason::Nondeterministic => {
			"honest nodes disagree on the model's output; it was disabled"
		}
		FailReason::NoExecutor => "every executor declined it",
		FailReason::NoVerdict => {
			"its dispute ended without a verdict; requester refunded, nobody slashed"
		}
	}
}

/// An account as SS58.
pub fn account(a: &AccountId) -> String {
	ss58(a)
}

/// An amount in VRT.
pub fn vrt(b: u128) -> String {
	Amount(b).to_string()
}

/// One line per `Inference` event, for `job watch` and `job submit --wait`.
pub fn inference_event(e: &pallet_inference::Event<Runtime>) -> String {
	use pallet_inference::Event::*;
	match e {
		JobSubmitted { job, model, requester, fee, draw_at } => format!(
			"job {job}: submitted by {} for model {} (fee {}); executor drawn at block {draw_at}",
			account(requester),
			hash(model),
			vrt(*fee),
		),
		JobAssigned { job, executor, deadline } => format!(
			"job {job}: assigned to {}, result due by block {deadline}",
			account(executor)
		),
		ResultCommitted { job, executor, draw_at, reveal_by } => format!(
			"job {job}: result committed (hidden) by {}; {}, revealed by block {reveal_by}",
			account(executor),
			draw_at.map_or("no audit (rate zero)".to_string(), |b| format!("audit drawn at block {b}"))
		),
		ResultSubmitted { job, executor, output_hash, challenge_until } => format!(
			"job {job}: result {} posted by {}; challengeable until block {challenge_until}",
			hash(output_hash),
			account(executor)
		),
		ConsensusJobEvaluated { job, model, requester, output_hash, cost } => format!(
			"job {job}: evaluated by the runtime for {} on model {} in this block: output {} \
			 ({} nodes, {} bytes made)",
			account(requester),
			hash(model),
			hash(output_hash),
			cost.nodes,
			cost.bytes
		),
		JobSettled { job, executor, fee, price, protocol_fee } => format!(
			"job {job}: settled; executor {} paid {}, publisher paid {}, treasury paid {}",
			account(executor),
			vrt(*fee),
			vrt(*price),
			vrt(*protocol_fee)
		),
		JobFailed { job, reason, refund } => {
			format!("job {job}: failed ({}); requester refunded {}", fail_reason(reason), vrt(*refund))
		}
		JobChallenged { job, challenger, bond, draw_at } => format!(
			"job {job}: challenged by {} (bond {}); committee drawn at block {draw_at}",
			challenger.as_ref().map_or("its executor (fault reported)".into(), account),
			vrt(*bond),
		),
		CommitteeDrawn { job, committee, deadline } => format!(
			"job {job}: committee {}; verdicts due by block {deadline}",
			committee.iter().map(account).collect::<Vec<_>>().join(", ")
		),
		CommitteeReplaced { job, removed, added, round, deadline } => format!(
			"job {job}: no quorum; {} silent verifier(s) penalised and replaced by {}; round {round}, verdicts due by block {deadline}",
			removed.len(),
			if added.is_empty() {
				"nobody".to_string()
			} else {
				added.iter().map(account).collect::<Vec<_>>().join(", ")
			}
		),
		DisputeEnded { job, by } => format!(
			"job {job}: dispute ended without a verdict by {}; requester refunded, bond returned",
			account(by)
		),
		VerifierSuspended { verifier } => format!(
			"verifier {} suspended from committees (missed duties); `verity verifier resume` ends it",
			account(verifier)
		),
		VerifierResumed { verifier } => format!("verifier {} resumed", account(verifier)),
		AuditorDrawn { job, auditor } => {
			format!("job {job}: audited by {} (drawn at random)", account(auditor))
		}
		AuditCommitted { job, auditor } => {
			format!("job {job}: auditor {} committed to its answer (hidden)", account(auditor))
		}
		AuditPassed { job, auditor, reward } => format!(
			"job {job}: auditor {} re-ran it and agrees; paid {}",
			account(auditor),
			vrt(*reward)
		),
		AuditLapsed { job, auditor } => format!(
			"job {job}: auditor {} did not answer in time; penalised",
			account(auditor)
		),
		AuditRateSet { model, rate } => format!(
			"audit rate {} set to {}",
			model.as_ref().map_or("of every model".to_string(), |m| format!("of model {}", hash(m))),
			rate.map_or("its default".to_string(), |r| format!("{r:?}"))
		),
		VerdictCommitted { job, verifier } => {
			format!("job {job}: verifier {} committed to its verdict (hidden)", account(verifier))
		}
		RevealOpened { job, deadline } => {
			format!("job {job}: every member committed; verdicts revealed by block {deadline}")
		}
		VerdictSubmitted { job, verifier, vote } => {
			format!("job {job}: verifier {} voted {}", account(verifier), vote_word(vote))
		}
		DisputeResolved { job, outcome } => format!("job {job}: dispute resolved: {}", outcome_word(outcome)),
		DisputeStalled { job } => format!(
			"job {job}: no quorum after the last round; anyone may end the dispute (`verity dispute end {job}`)"
		),
		Slashed { who, amount } => format!("{} slashed {}", account(who), vrt(*amount)),
		Rewarded { who, amount } => format!("{} rewarded {}", account(who), vrt(*amount)),
		JobPruned { job } => format!("job {job}: pruned"),
		FaultReported { job, executor, fault } => format!(
			"job {job}: executor {} reports {}",
			account(executor),
			match fault {
				Fault::Model => "a model fault",
				Fault::Input => "an input too large for the engine",
			}
		),
		JobDeclined { job, executor } => {
			format!("job {job}: declined by {} (trouble on its node)", account(executor))
		}
		JobReassigned { job, executor, deadline } => format!(
			"job {job}: reassigned to {}, result due by block {deadline}",
			account(executor)
		),
		AdmissionScheduled { model, draw_at } => format!(
			"model {}: uploaded; its admission committee is drawn at block {draw_at}",
			hash(model)
		),
		AdmissionStarted { model, committee, deadline } => format!(
			"model {}: admission by {} (votes due by block {deadline})",
			hash(model),
			committee.iter().map(account).collect::<Vec<_>>().join(", ")
		),
		AdmissionVoted { model, verifier, vote } => format!(
			"model {}: verifier {} voted {}",
			hash(model),
			account(verifier),
			admission_vote(vote)
		),
		AdmissionDecided { model, admitted } => format!(
			"model {}: {}",
			hash(model),
			if *admitted { "admitted; jobs may use it" } else { "rejected" }
		),
		CallbackDelivered { job, callback } => format!(
			"job {job}: result delivered to consumer {}",
			String::from_utf8_lossy(&callback.consumer)
		),
		CallbackFailed { job, callback, error } => format!(
			"job {job}: consumer {} failed to handle the result: {error:?}",
			String::from_utf8_lossy(&callback.consumer)
		),
		other => format!("{other:?}"),
	}
}

/// A committee vote in words.
pub fn vote_word(v: &Vote) -> &'static str {
	match v {
		Vote::Agrees => "agrees with the executor",
		Vote::Disagrees { .. } => "disagrees with the executor",
		Vote::Unrunnable => "model unrunnable",
		Vote::InputTooLarge => "input too large for the engine",
	}
}

/// A dispute outcome in words.
pub fn outcome_word(o: &Outcome) -> &'static str {
	match o {
		Outcome::ExecutorRight => "the executor was right; the challenger's bond is slashed",
		Outcome::ExecutorWrong => {
			"the executor was wrong; it is slashed and the requester refunded"
		}
		Outcome::ModelUnrunnable => {
			"the model is unrunnable; it is disabled and its publisher slashed"
		}
		Outcome::InputTooLarge => {
			"the input exceeds the engine's limits; the requester pays the executor's fee"
		}
		Outcome::Nondeterministic => {
			"no answer had a quorum: the model is nondeterministic; it is disabled and its \
			 publisher slashed"
		}
	}
}
