//! Deadlines: bounded per block, processed with a bounded budget, carried over.

use super::*;

#[test]
fn a_full_block_pushes_deadlines_to_the_next() {
	new_test_ext(|_| {
		// `MaxDeadlinesPerBlock` is 4 in the tests.
		let t = 10;
		let used: Vec<u64> = (0..5).map(|job| Inference::schedule(job, t).unwrap()).collect();
		assert_eq!(used, vec![t, t, t, t, t + 1]);
		assert_eq!(Deadlines::<Test>::get(t).len(), 4);
	});
}

#[test]
fn steps_beyond_the_budget_carry_over() {
	new_test_ext(|model| {
		MaxSteps::set(2);
		// Executors drawn for two jobs in block 3 (beside the setup model's
		// admission draw) and for three in block 4: two result deadlines at
		// t, three at t + 1.
		let jobs = queue(model, 5);
		let failed = || jobs.iter().filter(|j| matches!(status(**j), JobStatus::Failed(_))).count();
		let t = ASSIGNED_AT + RESULT_TIMEOUT;
		assert_eq!((Deadlines::<Test>::get(t).len(), Deadlines::<Test>::get(t + 1).len()), (0, 0));
		run_to_block(t - 1);
		assert_eq!(failed(), 0);
		assert_eq!((Deadlines::<Test>::get(t).len(), Deadlines::<Test>::get(t + 1).len()), (2, 3));
		run_to_block(t);
		assert_eq!(failed(), 2);
		run_to_block(t + 1);
		// Two of the three due: the third waits in its slot.
		assert_eq!(failed(), 4);
		assert_eq!(NextDue::<Test>::get(), t + 1);
		run_to_block(t + 2);
		assert_eq!(failed(), 5);
		assert_eq!(free(REQUESTER), ENDOWMENT);
	});
}

#[test]
fn blocks_without_due_steps_do_no_work_however_many_jobs_wait() {
	new_test_ext(|model| {
		// Executors drawn for two jobs in block 3, two in block 4.
		queue(model, 4);
		run_to_block(2);
		// Nothing is due before the timeout: a block looks at its one (empty) slot.
		let weight = Inference::process_deadlines(3);
		assert_eq!(weight, <() as WeightInfo>::on_initialize(0, 1));
		run_to_block(RESULT_TIMEOUT);
		let first = NextDue::<Test>::get();
		let last = ASSIGNED_AT + 1 + RESULT_TIMEOUT;
		let weight = Inference::process_deadlines(last);
		// Four steps, each charged its consumer's worst-case callback; the
		// fourth also its reassignment (three misses in a row suspended the
		// executor, so its last job is not left to time out).
		let callbacks = <TestConsumer as OnInferenceSettled>::max_weight().saturating_mul(4);
		assert_eq!(
			weight,
			<() as WeightInfo>::on_initialize(4, (last + 1 - first) as u32)
				.saturating_add(callbacks)
				.saturating_add(Inference::reassignment_weight())
		);
	});
}
