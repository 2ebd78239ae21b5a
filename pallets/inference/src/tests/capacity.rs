//! Executor capacity and liveness: assignment respects what an executor
//! declares it can run, and one that misses deadlines in a row stops getting
//! jobs (its others are reassigned) until it resumes.

use super::*;

#[test]
fn assignment_respects_the_declared_capacity() {
	new_test_ext(|model| {
		assert_noop!(
			Inference::set_capacity(RuntimeOrigin::signed(EXECUTOR), 0),
			Error::<Test>::CapacityOutOfRange
		);
		assert_noop!(
			Inference::set_capacity(RuntimeOrigin::signed(EXECUTOR), 9),
			Error::<Test>::CapacityOutOfRange
		);
		assert_noop!(
			Inference::set_capacity(RuntimeOrigin::signed(REQUESTER), 1),
			Error::<Test>::NotExecutor
		);
		assert_ok!(Inference::set_capacity(RuntimeOrigin::signed(EXECUTOR), 1));
		assert!(events().contains(&Event::ExecutorCapacitySet { executor: EXECUTOR, capacity: 1 }));
		let first = submit(model);
		// The only executor is full: the next job is refused at submission.
		assert_noop!(try_submit(model), Error::<Test>::NoExecutorAvailable);
		post(first, [0.1, 0.8, 0.1]);
		// A result does not free the slot; the job's end does.
		run_to_block(ASSIGNED_AT + CHALLENGE_PERIOD);
		submit(model);
	});
}

#[test]
fn an_executor_that_misses_deadlines_in_a_row_is_suspended_and_its_jobs_reassigned() {
	new_test_ext(|model| {
		// Executors drawn for two jobs in block 3 (beside the setup model's
		// admission draw), for two in block 4.
		let jobs = queue(model, 4);
		run_to_block(ASSIGNED_AT + 1);
		assert_ok!(Inference::register_executor(RuntimeOrigin::signed(EXECUTOR_2), STAKE, None));
		run_to_block(ASSIGNED_AT + 1 + RESULT_TIMEOUT);

		// Three misses in a row: penalised each time, then suspended.
		for job in &jobs[..3] {
			assert_eq!(status(*job), JobStatus::Failed(FailReason::TimedOut));
		}
		assert_eq!(stake(EXECUTOR), STAKE - 3 * 2 * FEE);
		assert!(events().contains(&Event::ExecutorSuspended { executor: EXECUTOR }));
		// The fourth is not left to time out: it goes to the other executor.
		let last = Jobs::<Test>::get(jobs[3]).unwrap();
		assert_eq!((last.executor, last.status), (EXECUTOR_2, JobStatus::Assigned));
		assert_eq!(last.deadline, ASSIGNED_AT + 1 + 2 * RESULT_TIMEOUT);
		// No new job goes to a suspended executor.
		for _ in 0..3 {
			let job = submit(model);
			assert_eq!(Jobs::<Test>::get(job).unwrap().executor, EXECUTOR_2);
		}

		// Resuming needs a suspension; then it takes jobs again.
		assert_noop!(
			Inference::resume_executor(RuntimeOrigin::signed(EXECUTOR_2)),
			Error::<Test>::NotSuspended
		);
		assert_ok!(Inference::resume_executor(RuntimeOrigin::signed(EXECUTOR)));
		assert!(events().contains(&Event::ExecutorResumed { executor: EXECUTOR }));
		assert_eq!(Executors::<Test>::get(EXECUTOR).unwrap().missed, 0);
	});
}

#[test]
fn a_result_resets_the_count_of_missed_deadlines() {
	new_test_ext(|model| {
		let missed = submit(model);
		run_to_block(ASSIGNED_AT + RESULT_TIMEOUT);
		assert_eq!(status(missed), JobStatus::Failed(FailReason::TimedOut));
		assert_eq!(Executors::<Test>::get(EXECUTOR).unwrap().missed, 1);
		submit_with_result(model, [0.1, 0.8, 0.1]);
		assert_eq!(Executors::<Test>::get(EXECUTOR).unwrap().missed, 0);
	});
}
