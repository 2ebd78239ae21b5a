//! Tests of the inference pallet, one file per topic. Every test checks the
//! invariants after each block and at its end.

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok};

mod admission;
mod attribution;
mod audits;
mod capacity;
mod consensus;
mod consumers;
mod deposits;
mod disputes;
mod jobs;
mod migrations;
mod offchain;
mod scheduling;
mod staking;

/// The block in which a job submitted in block 1 gets its executor.
pub const ASSIGNED_AT: u64 = 1 + DRAW_DELAY as u64;

/// Submits a one-item optimistic job on `model` as the requester.
pub fn try_submit(model: ModelId) -> sp_runtime::DispatchResult {
	Inference::submit_job(
		RuntimeOrigin::signed(REQUESTER),
		model,
		input(),
		FEE + AUDIT_REWARD,
		VerificationMode::Optimistic,
	)
	.map(|_| ())
	.map_err(|e| e.error)
}

/// Submits a job on `model` as the requester and runs to the block that
/// draws its executor: returns its id.
pub fn submit(model: ModelId) -> JobId {
	let job = NextJobId::<Test>::get();
	assert_ok!(try_submit(model));
	assigned(job);
	job
}

/// Submits a one-item `Vanilla` job on `model` as the requester and runs to
/// the block that draws its executor: returns its id.
pub fn submit_vanilla(model: ModelId) -> JobId {
	let job = NextJobId::<Test>::get();
	assert_ok!(Inference::submit_job(
		RuntimeOrigin::signed(REQUESTER),
		model,
		input(),
		FEE,
		VerificationMode::Vanilla
	));
	assigned(job);
	job
}

/// Submits `n` jobs on `model` in this block (queued: their executors are
/// drawn `DRAW_DELAY` blocks later, at most `MaxDrawsPerBlock` a block).
pub fn queue(model: ModelId, n: usize) -> Vec<JobId> {
	(0..n)
		.map(|_| {
			let job = NextJobId::<Test>::get();
			assert_ok!(try_submit(model));
			job
		})
		.collect()
}

/// Runs to the block that draws queued `job`'s executor
/// (`DRAW_DELAY` blocks after its submission, or later in a crowd).
pub fn assigned(job: JobId) {
	let at = QueuedJobs::<Test>::get(job).expect("a queued job").draw_at;
	run_to_block(at);
	assert!(Jobs::<Test>::contains_key(job), "job {job} was not assigned");
}

/// Submits a job and has its executor post `scores`.
pub fn submit_with_result(model: ModelId, scores: [f32; 3]) -> JobId {
	let job = submit(model);
	post(job, scores);
	job
}

/// The salt executors commit with in the tests.
pub const RESULT_SALT: [u8; 32] = [9; 32];

/// `job`'s executor commits to the output `scores` (still hidden); returns
/// the executor.
pub fn commit_output(job: JobId, scores: [f32; 3]) -> AccountId {
	let executor = Jobs::<Test>::get(job).unwrap().executor;
	let commitment = Inference::result_commitment(job, &executor, &output(scores), &RESULT_SALT);
	assert_ok!(Inference::commit_result(RuntimeOrigin::signed(executor), job, commitment));
	executor
}

/// `job`'s executor reveals the output `scores` it committed to.
pub fn reveal_output(job: JobId, scores: [f32; 3]) {
	let executor = Jobs::<Test>::get(job).unwrap().executor;
	assert_ok!(Inference::reveal_result(
		RuntimeOrigin::signed(executor),
		job,
		output(scores),
		RESULT_SALT
	));
}

/// `job`'s executor posts `scores`: a `Vanilla` job's at once, an
/// optimistic job's committed and revealed in the same block (no audit is
/// drawn at the tests' default audit rate of zero).
pub fn post(job: JobId, scores: [f32; 3]) {
	let j = Jobs::<Test>::get(job).unwrap();
	if j.mode == VerificationMode::Vanilla {
		assert_ok!(Inference::submit_result(
			RuntimeOrigin::signed(j.executor),
			job,
			output(scores)
		));
		return;
	}
	commit_output(job, scores);
	reveal_output(job, scores);
}

/// Challenges `job` as the challenger with the minimum bond: returns the
/// committee, drawn `DRAW_DELAY` blocks later.
pub fn challenge(job: JobId) -> Vec<AccountId> {
	assert_ok!(Inference::challenge(RuntimeOrigin::signed(CHALLENGER), job, BOND));
	drawn(job)
}

/// Runs to the block that draws disputed `job`'s committee: returns it.
pub fn drawn(job: JobId) -> Vec<AccountId> {
	assert!(Disputes::<Test>::get(job).unwrap().committee.is_empty(), "drawn only later");
	run_to_block(Jobs::<Test>::get(job).unwrap().deadline);
	Disputes::<Test>::get(job).unwrap().committee.to_vec()
}

std::thread_local! {
	/// Findings committed but not yet revealed: (job, member, finding).
	static PENDING: core::cell::RefCell<Vec<(JobId, AccountId, FindingOf<Test>)>> =
		const { core::cell::RefCell::new(Vec::new()) };
}

/// A member's salt in the tests.
pub fn salt(verifier: AccountId) -> [u8; 32] {
	[verifier as u8; 32]
}

/// A member's finding: its output's `scores`, or `None` for "the model
/// fails" ([`Finding::ModelFault`]).
pub fn finding(scores: Option<[f32; 3]>) -> FindingOf<Test> {
	scores.map_or(Finding::ModelFault, |s| Finding::Output(output(s)))
}

/// A committee member commits to `finding` (its commitment under [`salt`]).
pub fn commit(job: JobId, verifier: AccountId, finding: &FindingOf<Test>) {
	let commitment = Inference::verdict_commitment(job, &verifier, finding, &salt(verifier));
	assert_ok!(Inference::commit_verdict(RuntimeOrigin::signed(verifier), job, commitment));
}

/// A committee member's verdict as the protocol allows it: it commits now,
/// and every committed verdict is revealed (in commit order) as soon as all
/// seated members have committed.
pub fn vote(job: JobId, verifier: AccountId, scores: Option<[f32; 3]>) {
	vote_finding(job, verifier, finding(scores))
}

/// [`vote`] with any finding.
pub fn vote_finding(job: JobId, verifier: AccountId, f: FindingOf<Test>) {
	commit(job, verifier, &f);
	PENDING.with(|p| p.borrow_mut().push((job, verifier, f)));
	reveal_pending(job);
}

/// Reveals the committed verdicts of `job` if reveals are open.
pub fn reveal_pending(job: JobId) {
	if !Disputes::<Test>::get(job).is_some_and(|d| d.reveals_open()) {
		return;
	}
	let due: Vec<_> = PENDING.with(|p| {
		let mut p = p.borrow_mut();
		let (due, rest) = p.drain(..).partition(|(j, _, _)| *j == job);
		*p = rest;
		due
	});
	for (_, m, f) in due {
		if Disputes::<Test>::get(job).is_some() {
			assert_ok!(Inference::submit_verdict(RuntimeOrigin::signed(m), job, f, salt(m)));
		}
	}
}

pub fn status(job: JobId) -> JobStatus {
	Jobs::<Test>::get(job).unwrap().status
}

/// `who`'s stake as an executor or verifier (0 if neither).
pub fn stake_or_zero(who: AccountId) -> Balance {
	Executors::<Test>::get(who)
		.map(|e| e.stake)
		.or(Verifiers::<Test>::get(who).map(|v| v.stake))
		.unwrap_or(0)
}

/// `who`'s stake as an executor or verifier.
pub fn stake(who: AccountId) -> Balance {
	assert!(Executors::<Test>::contains_key(who) || Verifiers::<Test>::contains_key(who));
	stake_or_zero(who)
}
