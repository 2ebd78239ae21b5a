//! Executors and verifiers: registering, topping up, unbonding, withdrawing.

use super::*;

#[test]
fn genesis_registers_executors_and_verifiers_with_held_stakes() {
	new_test_ext(|_| {
		assert_eq!(held(HoldReason::ExecutorStake, EXECUTOR), STAKE);
		assert_eq!(free(EXECUTOR), ENDOWMENT - STAKE);
		for v in VERIFIERS {
			assert_eq!(held(HoldReason::VerifierStake, v), STAKE);
		}
		assert_eq!(ActiveExecutors::<Test>::get().to_vec(), vec![EXECUTOR]);
		assert_eq!(ActiveVerifiers::<Test>::get().len(), 4);
	});
}

#[test]
fn register_executor_holds_the_stake() {
	new_test_ext(|model| {
		let models = BoundedVec::try_from(vec![model]).unwrap();
		assert_ok!(Inference::register_executor(
			RuntimeOrigin::signed(EXECUTOR_2),
			2_000,
			Some(models)
		));
		assert_eq!(held(HoldReason::ExecutorStake, EXECUTOR_2), 2_000);
		assert_eq!(
			events(),
			vec![Event::ExecutorRegistered { executor: EXECUTOR_2, stake: 2_000 }]
		);
		assert_noop!(
			Inference::register_executor(RuntimeOrigin::signed(EXECUTOR_2), 2_000, None),
			Error::<Test>::AlreadyExecutor
		);
		assert_noop!(
			Inference::register_executor(RuntimeOrigin::signed(CHALLENGER), 999, None),
			Error::<Test>::StakeTooLow
		);
		assert_noop!(
			Inference::register_executor(RuntimeOrigin::signed(POOR), 1_000, None),
			Error::<Test>::InsufficientBalance
		);
	});
}

#[test]
fn executors_top_up() {
	new_test_ext(|_| {
		assert_ok!(Inference::top_up_executor(RuntimeOrigin::signed(EXECUTOR), 500));
		assert_eq!(stake(EXECUTOR), STAKE + 500);
		assert_eq!(held(HoldReason::ExecutorStake, EXECUTOR), STAKE + 500);
		assert_noop!(
			Inference::top_up_executor(RuntimeOrigin::signed(CHALLENGER), 500),
			Error::<Test>::NotExecutor
		);
	});
}

#[test]
fn unbonding_takes_the_period_and_waits_for_open_jobs() {
	new_test_ext(|model| {
		let job = submit(model);
		assert_noop!(
			Inference::withdraw_executor(RuntimeOrigin::signed(EXECUTOR)),
			Error::<Test>::NotUnbonding
		);
		assert_ok!(Inference::unbond_executor(RuntimeOrigin::signed(EXECUTOR)));
		assert_eq!(
			events().last(),
			Some(&Event::ExecutorUnbonding { executor: EXECUTOR, until: ASSIGNED_AT + UNBONDING })
		);
		assert_noop!(
			Inference::unbond_executor(RuntimeOrigin::signed(EXECUTOR)),
			Error::<Test>::AlreadyUnbonding
		);
		// No new jobs for an unbonding executor...
		assert_noop!(try_submit(model), Error::<Test>::NoExecutorAvailable);
		assert_noop!(
			Inference::withdraw_executor(RuntimeOrigin::signed(EXECUTOR)),
			Error::<Test>::StillUnbonding
		);
		// ...but it still answers the job it has, and can be held to it.
		run_to_block(ASSIGNED_AT + 2);
		post(job, [0., 1., 0.]);
		run_to_block(ASSIGNED_AT + UNBONDING);
		assert_noop!(
			Inference::withdraw_executor(RuntimeOrigin::signed(EXECUTOR)),
			Error::<Test>::OpenJobs
		);
		run_to_block(ASSIGNED_AT + 2 + CHALLENGE_PERIOD);
		assert_eq!(status(job), JobStatus::Settled);
		assert_ok!(Inference::withdraw_executor(RuntimeOrigin::signed(EXECUTOR)));
		assert_eq!(free(EXECUTOR), ENDOWMENT + EXECUTOR_FEE);
		assert!(Executors::<Test>::get(EXECUTOR).is_none());
	});
}

#[test]
fn verifiers_register_unbond_and_withdraw() {
	new_test_ext(|_| {
		assert_ok!(Inference::register_verifier(RuntimeOrigin::signed(CHALLENGER), 1_000));
		assert_noop!(
			Inference::register_verifier(RuntimeOrigin::signed(CHALLENGER), 1_000),
			Error::<Test>::AlreadyVerifier
		);
		assert_noop!(
			Inference::register_verifier(RuntimeOrigin::signed(REQUESTER), 10),
			Error::<Test>::StakeTooLow
		);
		assert_ok!(Inference::unbond_verifier(RuntimeOrigin::signed(CHALLENGER)));
		assert!(!ActiveVerifiers::<Test>::get().contains(&CHALLENGER));
		assert_noop!(
			Inference::withdraw_verifier(RuntimeOrigin::signed(CHALLENGER)),
			Error::<Test>::StillUnbonding
		);
		run_to_block(1 + UNBONDING);
		assert_ok!(Inference::withdraw_verifier(RuntimeOrigin::signed(CHALLENGER)));
		assert_eq!(free(CHALLENGER), ENDOWMENT);
		assert_noop!(
			Inference::unbond_verifier(RuntimeOrigin::signed(CHALLENGER)),
			Error::<Test>::NotVerifier
		);
	});
}

#[test]
fn a_verifier_on_a_committee_cannot_withdraw() {
	new_test_ext(|model| {
		let job = submit_with_result(model, [0., 1., 0.]);
		let committee = challenge(job);
		let member = committee[0];
		// Unbonding ends inside the voting round.
		UnbondingBlocks::set(DISPUTE_PERIOD - 1);
		assert_ok!(Inference::unbond_verifier(RuntimeOrigin::signed(member)));
		run_to_block(System::block_number() + DISPUTE_PERIOD - 1);
		assert_noop!(
			Inference::withdraw_verifier(RuntimeOrigin::signed(member)),
			Error::<Test>::OpenJobs
		);
		// Committing is not enough; once it revealed, its duty is done.
		vote(job, member, Some([0., 1., 0.]));
		assert_noop!(
			Inference::withdraw_verifier(RuntimeOrigin::signed(member)),
			Error::<Test>::OpenJobs
		);
		vote(job, committee[1], Some([1., 0., 0.]));
		vote(job, committee[2], Some([1., 0., 0.]));
		assert_ok!(Inference::withdraw_verifier(RuntimeOrigin::signed(member)));
	});
}
