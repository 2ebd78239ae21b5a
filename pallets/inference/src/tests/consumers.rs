//! Other pallets as consumers ([`InferenceProvider`], [`OnInferenceSettled`])
//! and the two verification modes: one callback per job in every outcome,
//! exact balances, and a failing consumer that cannot hurt settlement.

use super::*;

fn callback(tag: u64) -> Option<Callback> {
	Some(Callback { consumer: TEST_CONSUMER, tag })
}

/// Requests a job on `model` for the requester through the provider trait
/// and runs to its executor's draw.
fn request(model: ModelId, mode: VerificationMode, cb: Option<Callback>) -> JobId {
	let job = <Inference as InferenceProvider<AccountId>>::request(
		&REQUESTER,
		model,
		input().into_inner(),
		FEE,
		mode,
		cb,
	)
	.unwrap();
	assigned(job);
	job
}

fn delivered() -> Vec<(JobId, u64, JobResult)> {
	Delivered::get()
}

#[test]
fn a_settled_job_calls_its_consumer_back_once_with_the_output() {
	new_test_ext(|model| {
		let job = request(model, VerificationMode::Optimistic, callback(7));
		assert_eq!(free(REQUESTER), ENDOWMENT - FEE);
		post(job, [0.1, 0.8, 0.1]);
		run_to_block(ASSIGNED_AT + CHALLENGE_PERIOD - 1);
		assert_eq!(delivered(), vec![]);
		run_to_block(ASSIGNED_AT + CHALLENGE_PERIOD);
		let out = output([0.1, 0.8, 0.1]).into_inner();
		assert_eq!(delivered(), vec![(job, 7, JobResult::Settled { output: out })]);
		assert!(
			events().contains(&Event::CallbackDelivered { job, callback: callback(7).unwrap() })
		);
		assert_eq!(free(REQUESTER), ENDOWMENT - FEE);
		assert_eq!(free(EXECUTOR), ENDOWMENT - STAKE + EXECUTOR_FEE);
		assert_eq!(free(TREASURY), ENDOWMENT + PROTOCOL_FEE);
		// Pruning later does not call back again.
		run_to_block(ASSIGNED_AT + CHALLENGE_PERIOD + RETENTION);
		assert!(Jobs::<Test>::get(job).is_none());
		assert_eq!(delivered().len(), 1);
	});
}

#[test]
fn an_overturned_result_calls_back_with_the_failure_and_the_payer_is_refunded() {
	new_test_ext(|model| {
		let job = request(model, VerificationMode::Optimistic, callback(1));
		post(job, [0.9, 0.05, 0.05]);
		let committee = challenge(job);
		vote(job, committee[0], Some([0.1, 0.8, 0.1]));
		assert_eq!(delivered(), vec![]);
		vote(job, committee[1], Some([0.2, 0.7, 0.1]));
		assert_eq!(delivered(), vec![], "revealed once every member committed");
		vote(job, committee[2], Some([0.2, 0.7, 0.1]));
		assert_eq!(
			delivered(),
			vec![(job, 1, JobResult::Failed { reason: FailReason::ExecutorSlashed })]
		);
		assert_eq!(free(REQUESTER), ENDOWMENT);
		assert_eq!(held(HoldReason::JobEscrow, REQUESTER), 0);
		run_to_block(2 + CHALLENGE_PERIOD + RETENTION);
		assert_eq!(delivered().len(), 1);
	});
}

#[test]
fn a_timed_out_job_calls_back_with_the_failure() {
	new_test_ext(|model| {
		let job = request(model, VerificationMode::Optimistic, callback(2));
		run_to_block(ASSIGNED_AT + RESULT_TIMEOUT);
		assert_eq!(delivered(), vec![(job, 2, JobResult::Failed { reason: FailReason::TimedOut })]);
		assert_eq!(free(REQUESTER), ENDOWMENT);
		run_to_block(ASSIGNED_AT + 1 + RESULT_TIMEOUT + RETENTION);
		assert_eq!(delivered().len(), 1);
	});
}

#[test]
fn a_model_deprecated_mid_job_still_delivers_and_retires_after() {
	new_test_ext(|model| {
		let job = request(model, VerificationMode::Optimistic, callback(3));
		assert_ok!(Registry::deprecate(RuntimeOrigin::signed(PUBLISHER), model));
		// Its bytes stay while the job may need them.
		assert_noop!(
			Registry::retire(RuntimeOrigin::signed(PUBLISHER), model),
			pallet_model_registry::Error::<Test>::ModelInUse
		);
		post(job, [0.1, 0.8, 0.1]);
		run_to_block(ASSIGNED_AT + CHALLENGE_PERIOD);
		assert!(matches!(delivered()[..], [(j, 3, JobResult::Settled { .. })] if j == job));
		assert_ok!(Registry::retire(RuntimeOrigin::signed(PUBLISHER), model));
		assert_eq!(delivered().len(), 1);
	});
}

#[test]
fn a_failing_consumer_changes_nothing_but_settlement_goes_on() {
	new_test_ext(|model| {
		ConsumerFails::set(true);
		let job = request(model, VerificationMode::Optimistic, callback(4));
		post(job, [0.1, 0.8, 0.1]);
		run_to_block(ASSIGNED_AT + CHALLENGE_PERIOD);
		assert_eq!(delivered().len(), 1);
		assert_eq!(status(job), JobStatus::Settled);
		// (An `Other` error's message is not stored with the event.)
		assert!(events().iter().any(|e| matches!(
			e,
			Event::CallbackFailed { job: j, callback: c, error: DispatchError::Other(_) }
				if *j == job && *c == callback(4).unwrap()
		)));
		// The consumer's write was discarded with its error.
		assert_eq!(frame_support::storage::unhashed::get::<JobId>(CONSUMER_KEY), None);
		// Everyone was paid as usual.
		assert_eq!(free(REQUESTER), ENDOWMENT - FEE);
		assert_eq!(free(EXECUTOR), ENDOWMENT - STAKE + EXECUTOR_FEE);
		assert_eq!(free(TREASURY), ENDOWMENT + PROTOCOL_FEE);
		assert_eq!(held(HoldReason::JobEscrow, REQUESTER), 0);
	});
}

#[test]
fn a_callback_nobody_answers_is_reported() {
	new_test_ext(|model| {
		let stranger = Callback { consumer: *b"nobody!!", tag: 5 };
		let job = request(model, VerificationMode::Vanilla, Some(stranger));
		post(job, [0.1, 0.8, 0.1]);
		assert_eq!(status(job), JobStatus::Settled);
		assert!(events().contains(&Event::CallbackFailed {
			job,
			callback: stranger,
			error: Error::<Test>::UnknownConsumer.into(),
		}));
		assert_eq!(delivered(), vec![]);
	});
}

#[test]
fn a_consumer_write_is_kept_when_it_succeeds() {
	new_test_ext(|model| {
		let job = request(model, VerificationMode::Vanilla, callback(6));
		post(job, [0.1, 0.8, 0.1]);
		assert_eq!(frame_support::storage::unhashed::get::<JobId>(CONSUMER_KEY), Some(job));
	});
}

#[test]
fn jobs_without_a_callback_call_nobody() {
	new_test_ext(|model| {
		let job = submit_with_result(model, [0.1, 0.8, 0.1]);
		run_to_block(ASSIGNED_AT + CHALLENGE_PERIOD);
		assert_eq!(status(job), JobStatus::Settled);
		assert_eq!(delivered(), vec![]);
		assert!(!events()
			.iter()
			.any(|e| matches!(e, Event::CallbackDelivered { .. } | Event::CallbackFailed { .. })));
	});
}

#[test]
fn a_vanilla_job_settles_when_its_result_arrives_without_the_protocol_fee() {
	new_test_ext(|model| {
		let vanilla = FEE - PROTOCOL_FEE;
		assert_eq!(Inference::quote(&model, VerificationMode::Vanilla), Some(vanilla));
		assert_eq!(Inference::quote(&model, VerificationMode::Optimistic), Some(FEE));
		assert_eq!(Inference::quote(&ModelId::repeat_byte(9), VerificationMode::Vanilla), None);
		let publisher_before = free(PUBLISHER);
		let job = request(model, VerificationMode::Vanilla, callback(8));
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!((j.mode, j.fees.total()), (VerificationMode::Vanilla, vanilla));
		assert_eq!(free(REQUESTER), ENDOWMENT - vanilla);
		post(job, [0.1, 0.8, 0.1]);
		assert_eq!(status(job), JobStatus::Settled);
		assert_eq!(delivered().len(), 1);
		assert_eq!(free(REQUESTER), ENDOWMENT - vanilla);
		assert_eq!(free(PUBLISHER), publisher_before + PRICE);
		assert_eq!(free(EXECUTOR), ENDOWMENT - STAKE + EXECUTOR_FEE);
		assert_eq!(free(TREASURY), ENDOWMENT);
		assert_eq!(held(HoldReason::JobEscrow, REQUESTER), 0);
		// No challenge is possible.
		assert_noop!(
			Inference::challenge(RuntimeOrigin::signed(CHALLENGER), job, BOND),
			Error::<Test>::NotChallengeable
		);
		// A vanilla job may still time out, and its executor answers for it.
		let late = request(model, VerificationMode::Vanilla, callback(9));
		run_to_block(Jobs::<Test>::get(late).unwrap().deadline);
		assert_eq!(status(late), JobStatus::Failed(FailReason::TimedOut));
		assert_eq!(delivered().len(), 2);
	});
}
