//! Deadlines: bounded per block, processed with a bounded budget, carried over.

use super::*;

#[test]
fn a_full_block_pushes_deadlines_to_the_next() {
	new_test_ext(|model| {
		let jobs: Vec<JobId> = (0..5).map(|_| submit(model)).collect();
		let deadlines: Vec<u64> =
			jobs.iter().map(|j| Jobs::<Test>::get(j).unwrap().deadline).collect();
		let t = 1 + RESULT_TIMEOUT;
		assert_eq!(deadlines, vec![t, t, t, t, t + 1]);
		assert_eq!(Deadlines::<Test>::get(t).len(), 4);
	});
}

#[test]
fn steps_beyond_the_budget_carry_over() {
	new_test_ext(|model| {
		MaxSteps::set(2);
		let jobs: Vec<JobId> = (0..5).map(|_| submit(model)).collect();
		let failed = || jobs.iter().filter(|j| matches!(status(**j), JobStatus::Failed(_))).count();
		let t = 1 + RESULT_TIMEOUT;
		run_to_block(t - 1);
		assert_eq!(failed(), 0);
		run_to_block(t);
		assert_eq!(failed(), 2);
		assert_eq!(NextDue::<Test>::get(), t);
		run_to_block(t + 1);
		assert_eq!(failed(), 4);
		run_to_block(t + 2);
		assert_eq!(failed(), 5);
		assert_eq!(free(REQUESTER), ENDOWMENT);
	});
}

#[test]
fn blocks_without_due_steps_do_no_work_however_many_jobs_wait() {
	new_test_ext(|model| {
		for _ in 0..4 {
			submit(model);
		}
		run_to_block(2);
		// Nothing is due before the timeout: a block looks at its one (empty) slot.
		let weight = Inference::process_deadlines(3);
		assert_eq!(weight, <() as WeightInfo>::on_initialize(0, 1));
		run_to_block(RESULT_TIMEOUT);
		let weight = Inference::process_deadlines(1 + RESULT_TIMEOUT);
		// Four steps, each charged its consumer's worst-case callback; the
		// fourth also its reassignment (three misses in a row suspended the
		// executor, so its last job is not left to time out).
		let callbacks = <TestConsumer as OnInferenceSettled>::max_weight().saturating_mul(4);
		assert_eq!(
			weight,
			<() as WeightInfo>::on_initialize(4, 1)
				.saturating_add(callbacks)
				.saturating_add(Inference::reassignment_weight())
		);
	});
}
