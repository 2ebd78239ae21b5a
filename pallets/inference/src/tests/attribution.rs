//! Fault attribution: every way a job can end blames the right party, and
//! nobody honest pays. Each test is a scenario that slashed an honest party
//! (or let a requester disable a healthy model) before the rule was written.

use super::*;

const SLASH: Balance = STAKE / 2; // ExecutorSlash: 50 %

fn registry_status(model: ModelId) -> pallet_model_registry::ModelStatus {
	pallet_model_registry::Models::<Test>::get(model).unwrap().status
}

#[test]
fn dissenters_who_disagree_with_each_other_do_not_overturn_the_executor() {
	new_test_ext(|model| {
		// A nondeterministic model: every node gets another top class.
		let job = submit_with_result(model, [0.9, 0.05, 0.05]);
		let committee = challenge(job);
		vote(job, committee[0], Some([0.1, 0.8, 0.1]));
		vote(job, committee[1], Some([0.1, 0.1, 0.8]));
		// Committed, not yet revealed: nothing is public, nothing decided.
		assert_eq!(status(job), JobStatus::Disputed);
		assert!(Disputes::<Test>::get(job).unwrap().votes.is_empty());
		// The third agrees with the executor; then all three are revealed.
		vote(job, committee[2], Some([0.6, 0.2, 0.2]));
		// Two dissents, but not the same answer.
		for (m, group) in [(committee[0], 0), (committee[1], 1)] {
			assert!(events().contains(&Event::VerdictSubmitted {
				job,
				verifier: m,
				vote: Vote::Disagrees { group }
			}));
		}

		// Everyone voted, no answer has two thirds: the model is at fault.
		assert!(
			events().contains(&Event::DisputeResolved { job, outcome: Outcome::Nondeterministic })
		);
		assert_eq!(status(job), JobStatus::Failed(FailReason::Nondeterministic));
		assert_eq!(stake(EXECUTOR), STAKE, "the executor is not slashed");
		assert_eq!(free(CHALLENGER), ENDOWMENT, "the challenger gets its bond back");
		assert_eq!(held(HoldReason::ChallengeBond, CHALLENGER), 0);
		assert_eq!(free(REQUESTER), ENDOWMENT, "the requester is refunded");
		assert_eq!(registry_status(model), pallet_model_registry::ModelStatus::Disabled);
		assert_eq!(free(TREASURY), ENDOWMENT + PUBLISHER_BOND, "the publisher's bond pays");
		for m in &committee {
			assert_eq!(stake(*m), STAKE);
		}
		assert_eq!(DissentingOutputs::<Test>::iter_prefix(job).count(), 0);
	});
}

#[test]
fn only_dissenters_who_agree_with_each_other_overturn_the_executor() {
	new_test_ext(|model| {
		let job = submit_with_result(model, [0.9, 0.05, 0.05]);
		let committee = challenge(job);
		vote(job, committee[0], Some([0.1, 0.8, 0.1]));
		vote(job, committee[1], Some([0.1, 0.1, 0.8]));
		// The third agrees with the first dissenter (same top class, other numbers).
		vote(job, committee[2], Some([0.2, 0.7, 0.1]));

		assert_eq!(status(job), JobStatus::Failed(FailReason::ExecutorSlashed));
		assert_eq!(stake(EXECUTOR), STAKE - SLASH);
		// The group of two shares the verifiers' part; the lone dissenter gets nothing.
		let share = SLASH * 3 / 10 / 2;
		assert_eq!(free(committee[0]), ENDOWMENT - STAKE + share);
		assert_eq!(free(committee[2]), ENDOWMENT - STAKE + share);
		assert_eq!(free(committee[1]), ENDOWMENT - STAKE);
		assert_eq!(registry_status(model), pallet_model_registry::ModelStatus::Active);
	});
}

#[test]
fn an_input_past_the_engines_limits_is_the_requesters_cost() {
	new_test_ext(|model| {
		let publisher_before = free(PUBLISHER);
		let job = submit(model);
		assert_ok!(Inference::report_fault(RuntimeOrigin::signed(EXECUTOR), job, Fault::Input));
		assert!(events().contains(&Event::FaultReported {
			job,
			executor: EXECUTOR,
			fault: Fault::Input
		}));
		let committee = drawn(job);
		for m in &committee {
			vote_finding(job, *m, Finding::InputTooLarge);
		}

		assert_eq!(status(job), JobStatus::Failed(FailReason::InputTooLarge));
		assert!(events().contains(&Event::JobFailed {
			job,
			reason: FailReason::InputTooLarge,
			refund: FEE - EXECUTOR_FEE
		}));
		// The executor is paid for its attempt and keeps its stake; the
		// requester pays that fee; the model stays active, its publisher unslashed.
		assert_eq!(free(EXECUTOR), ENDOWMENT - STAKE + EXECUTOR_FEE);
		assert_eq!(stake(EXECUTOR), STAKE);
		assert_eq!(free(REQUESTER), ENDOWMENT - EXECUTOR_FEE);
		assert_eq!(registry_status(model), pallet_model_registry::ModelStatus::Active);
		assert_eq!(free(PUBLISHER), publisher_before);
		assert_eq!(free(TREASURY), ENDOWMENT);
		for m in &committee {
			assert_eq!(stake(*m), STAKE);
		}
	});
}

#[test]
fn an_executor_whose_fault_report_is_refuted_is_slashed() {
	new_test_ext(|model| {
		let job = submit(model);
		assert_ok!(Inference::report_fault(RuntimeOrigin::signed(EXECUTOR), job, Fault::Input));
		let committee = drawn(job);
		vote(job, committee[0], Some([0.1, 0.8, 0.1]));
		vote(job, committee[1], Some([0.1, 0.8, 0.1]));
		vote(job, committee[2], Some([0.1, 0.8, 0.1]));
		assert_eq!(status(job), JobStatus::Failed(FailReason::ExecutorSlashed));
		assert_eq!(stake(EXECUTOR), STAKE - SLASH);
		assert_eq!(free(REQUESTER), ENDOWMENT);
	});
}

#[test]
fn a_batch_above_the_models_maximum_is_refused_up_front() {
	new_test_ext(|_| {
		// 500 floats out per item: two items fit `MaxOutputSize` (4096 bytes),
		// so the model declares a maximum batch of 2.
		let wide = publish_model_with_outputs(b"wide-model", VerificationPolicy::ArgMax, 500);
		assert_eq!(pallet_model_registry::Models::<Test>::get(wide).unwrap().max_batch, 2);
		let submit = |items| {
			Inference::submit_job(
				RuntimeOrigin::signed(REQUESTER),
				wide,
				batch_input(items),
				FEE,
				VerificationMode::Optimistic,
			)
		};
		assert_noop!(submit(3), Error::<Test>::BatchTooLarge);
		assert_ok!(submit(2));
		assert_eq!(registry_status(wide), pallet_model_registry::ModelStatus::Active);
	});
}

#[test]
fn a_declined_job_goes_to_another_executor_at_no_cost() {
	new_test_ext(|model| {
		assert_ok!(Inference::register_executor(RuntimeOrigin::signed(EXECUTOR_2), STAKE, None));
		let job = submit(model);
		let first = Jobs::<Test>::get(job).unwrap().executor;
		let second = if first == EXECUTOR { EXECUTOR_2 } else { EXECUTOR };
		assert_noop!(
			Inference::decline_job(RuntimeOrigin::signed(second), job),
			Error::<Test>::NotAssignedExecutor
		);
		run_to_block(ASSIGNED_AT + 2);
		assert_ok!(Inference::decline_job(RuntimeOrigin::signed(first), job));
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!((j.executor, j.status), (second, JobStatus::Assigned));
		// A fresh result timeout from the reassignment.
		assert_eq!(j.deadline, ASSIGNED_AT + 2 + RESULT_TIMEOUT);
		assert!(events().contains(&Event::JobReassigned {
			job,
			executor: second,
			deadline: ASSIGNED_AT + 2 + RESULT_TIMEOUT
		}));
		assert_eq!(Assignments::<Test>::get(first).to_vec(), Vec::<JobId>::new());
		assert_eq!(Assignments::<Test>::get(second).to_vec(), vec![job]);
		// The first deadline passes without a timeout for anyone.
		run_to_block(ASSIGNED_AT + RESULT_TIMEOUT);
		assert_eq!(status(job), JobStatus::Assigned);
		post(job, [0.1, 0.8, 0.1]);
		run_to_block(ASSIGNED_AT + 2 + RESULT_TIMEOUT + CHALLENGE_PERIOD);
		assert_eq!(status(job), JobStatus::Settled);
		assert_eq!(stake(first), STAKE);
		assert_eq!(stake(second), STAKE);
		assert_eq!(free(first), ENDOWMENT - STAKE);
		assert_eq!(free(second), ENDOWMENT - STAKE + EXECUTOR_FEE);
	});
}

#[test]
fn a_job_every_executor_declines_fails_with_a_full_refund() {
	new_test_ext(|model| {
		assert_ok!(Inference::register_executor(RuntimeOrigin::signed(EXECUTOR_2), STAKE, None));
		let job = submit(model);
		let first = Jobs::<Test>::get(job).unwrap().executor;
		assert_ok!(Inference::decline_job(RuntimeOrigin::signed(first), job));
		let second = Jobs::<Test>::get(job).unwrap().executor;
		assert_ok!(Inference::decline_job(RuntimeOrigin::signed(second), job));

		assert_eq!(status(job), JobStatus::Failed(FailReason::NoExecutor));
		assert!(events().contains(&Event::JobFailed {
			job,
			reason: FailReason::NoExecutor,
			refund: FEE
		}));
		assert_eq!(free(REQUESTER), ENDOWMENT);
		assert_eq!(stake(EXECUTOR), STAKE);
		assert_eq!(stake(EXECUTOR_2), STAKE);
		assert!(Declines::<Test>::get(job).is_empty());
		assert_eq!(registry_status(model), pallet_model_registry::ModelStatus::Active);
	});
}

#[test]
fn a_timeout_costs_a_multiple_of_the_fee_not_of_the_stake() {
	new_test_ext(|model| {
		// A large executor and a small one pay the same for the same missed job.
		assert_ok!(Inference::top_up_executor(RuntimeOrigin::signed(EXECUTOR), 9 * STAKE));
		let job = submit(model);
		run_to_block(ASSIGNED_AT + RESULT_TIMEOUT);
		assert_eq!(status(job), JobStatus::Failed(FailReason::TimedOut));
		assert_eq!(stake(EXECUTOR), 10 * STAKE - 2 * FEE);
		assert_eq!(free(TREASURY), ENDOWMENT + 2 * FEE);
		assert_eq!(free(REQUESTER), ENDOWMENT);
	});
}
