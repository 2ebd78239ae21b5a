//! The classifier against the real inference market (mock runtime).

use crate::{mock::*, *};
use frame_support::{
	assert_noop, assert_ok,
	traits::{fungible::Inspect, Hooks},
};

/// A "7"-ish image.
const IMAGE: [u8; PIXELS] = [3; PIXELS];

/// The executor posts `output` for `job`: an optimistic job's result is
/// committed, then revealed (no audit is drawn at the mock's rate of zero).
fn post(job: JobId, output: pallet_inference::OutputOf<Test>) {
	let j = pallet_inference::Jobs::<Test>::get(job).unwrap();
	if j.mode == VerificationMode::Vanilla {
		assert_ok!(Inference::submit_result(RuntimeOrigin::signed(EXECUTOR), job, output));
		return;
	}
	let salt = [1; 32];
	let commitment = Inference::result_commitment(job, &EXECUTOR, &output, &salt);
	assert_ok!(Inference::commit_result(RuntimeOrigin::signed(EXECUTOR), job, commitment));
	assert_ok!(Inference::reveal_result(RuntimeOrigin::signed(EXECUTOR), job, output, salt));
}

/// The block in which a job requested in block 1 gets its executor.
const ASSIGNED: u64 = 1 + pallet_inference::DRAW_DELAY as u64;

/// Requests a classification and runs to its job's executor draw.
fn classify(mode: VerificationMode) -> (u64, JobId) {
	assert_ok!(Digits::classify(RuntimeOrigin::signed(USER), IMAGE, FEE, mode));
	let request = NextRequest::<Test>::get() - 1;
	let job = Requests::<Test>::get(request).unwrap().job;
	run_to_block(pallet_inference::QueuedJobs::<Test>::get(job).unwrap().draw_at);
	(request, job)
}

#[test]
fn a_settled_job_records_the_label() {
	new_test_ext(|_| {
		let (request, job) = classify(VerificationMode::Optimistic);
		assert_eq!(Balances::balance(&USER), ENDOWMENT - FEE);
		post(job, scores(7));
		// Nothing until the challenge window closes.
		run_to_block(ASSIGNED + CHALLENGE_PERIOD - 1);
		assert_eq!(Requests::<Test>::get(request).unwrap().state, Classification::Pending);
		run_to_block(ASSIGNED + CHALLENGE_PERIOD);
		assert_eq!(Requests::<Test>::get(request).unwrap().state, Classification::Label(7));
		assert_eq!(events().last(), Some(&Event::DigitClassified { request, who: USER, label: 7 }));
		assert_eq!(PendingCount::<Test>::get(), 0);
		assert_eq!(Balances::balance(&USER), ENDOWMENT - FEE);
	});
}

#[test]
fn a_vanilla_job_is_classified_when_the_result_arrives() {
	new_test_ext(|_| {
		let (request, job) = classify(VerificationMode::Vanilla);
		// Vanilla jobs carry no protocol fee.
		assert_eq!(Balances::balance(&USER), ENDOWMENT - PRICE - EXECUTOR_FEE);
		post(job, scores(3));
		assert_eq!(Requests::<Test>::get(request).unwrap().state, Classification::Label(3));
	});
}

#[test]
fn a_timed_out_job_records_the_failure_and_refunds() {
	new_test_ext(|_| {
		let (request, _) = classify(VerificationMode::Optimistic);
		run_to_block(ASSIGNED + RESULT_TIMEOUT);
		assert_eq!(
			Requests::<Test>::get(request).unwrap().state,
			Classification::Failed(FailReason::TimedOut)
		);
		assert_eq!(
			events().last(),
			Some(&Event::ClassificationFailed { request, who: USER, reason: FailReason::TimedOut })
		);
		assert_eq!(Balances::balance(&USER), ENDOWMENT);
	});
}

#[test]
fn an_unexpected_output_does_not_block_settlement() {
	new_test_ext(|_| {
		let (request, job) = classify(VerificationMode::Vanilla);
		// A well-formed output always fits a digit classifier's declaration,
		// so make the callback fail another way: forget the request.
		Requests::<Test>::remove(request);
		PendingCount::<Test>::put(0);
		post(job, scores(1));
		// The job settled and paid out anyway.
		assert_eq!(
			pallet_inference::Jobs::<Test>::get(job).unwrap().status,
			pallet_inference::JobStatus::Settled
		);
		assert!(System::events().iter().any(|r| matches!(
			r.event,
			RuntimeEvent::Inference(pallet_inference::Event::CallbackFailed { job: j, .. }) if j == job
		)));
	});
}

#[test]
fn bad_requests_fail_with_their_error() {
	new_test_ext(|_| {
		let mut bad = IMAGE;
		bad[5] = 17;
		assert_noop!(
			Digits::classify(RuntimeOrigin::signed(USER), bad, FEE, VerificationMode::Optimistic),
			Error::<Test>::InvalidPixel
		);
		assert_noop!(
			Digits::set_model(RuntimeOrigin::signed(USER), ModelId::repeat_byte(1)),
			sp_runtime::DispatchError::BadOrigin
		);
		ClassifierModel::<Test>::kill();
		assert_noop!(
			Digits::classify(RuntimeOrigin::signed(USER), IMAGE, FEE, VerificationMode::Optimistic),
			Error::<Test>::NoModel
		);
	});
}

#[test]
fn the_label_is_the_largest_score() {
	let out = scores(4);
	assert_eq!(label_of(&out), Some(4));
	assert_eq!(label_of(&[1, 2, 3]), None);
}

#[test]
fn answered_requests_are_pruned_after_their_retention_oldest_first() {
	new_test_ext(|_| {
		let (first, job) = classify(VerificationMode::Vanilla);
		post(job, scores(3));
		// A second request still pending blocks nothing before it, but waits itself.
		let (second, _) = classify(VerificationMode::Optimistic);
		let plenty = Weight::from_parts(u64::MAX, u64::MAX);
		// Too young: nothing is pruned.
		Digits::on_idle(REQUEST_RETENTION, plenty);
		assert!(Requests::<Test>::get(first).is_some());
		// Old enough: the answered one goes; the pending one stays.
		Digits::on_idle(1 + REQUEST_RETENTION, plenty);
		assert!(Requests::<Test>::get(first).is_none());
		assert!(Requests::<Test>::get(second).is_some());
		assert_eq!(OldestRequest::<Test>::get(), second);
		// No weight, no work.
		assert_eq!(Digits::on_idle(1_000, Weight::zero()), Weight::zero());
		Digits::do_try_state().unwrap();
	});
}

#[test]
fn a_consensus_job_is_classified_inside_the_request() {
	new_test_ext(|_| {
		let request = NextRequest::<Test>::get();
		assert_ok!(Digits::classify(
			RuntimeOrigin::signed(USER),
			IMAGE,
			PRICE,
			VerificationMode::Consensus
		));
		// No block passed: the callback found the request recorded and
		// answered it within the call.
		let r = Requests::<Test>::get(request).unwrap();
		assert_eq!(r.state, Classification::Label(7));
		assert_eq!(
			pallet_inference::Jobs::<Test>::get(r.job).unwrap().status,
			pallet_inference::JobStatus::Settled
		);
		assert_eq!(PendingCount::<Test>::get(), 0);
		let ours = events();
		assert_eq!(
			ours,
			vec![
				Event::DigitClassified { request, who: USER, label: 7 },
				Event::ClassificationRequested { request, who: USER, job: r.job },
			]
		);
		// The price, and the job data deposit until the job is pruned.
		let data = pallet_inference::DataDeposits::<Test>::get(r.job).unwrap_or(0);
		assert_eq!(Balances::balance(&USER), ENDOWMENT - PRICE - data);
	});
}
