//! Job data pays for its room on chain: a per-byte deposit for the input and
//! the largest output, held from the requester until the job is pruned.

use super::*;

#[test]
fn job_data_is_held_from_the_requester_until_pruned() {
	new_test_ext(|model| {
		DataDeposit::set(2);
		let input_len = input().len() as u64;
		let bound = verity_primitives::encoded_size_bound(
			&pallet_model_registry::Models::<Test>::get(model).unwrap().outputs,
			1,
		);
		let deposit = 2 * (input_len + bound);
		let job = submit_with_result(model, [0.1, 0.8, 0.1]);
		assert_eq!(DataDeposits::<Test>::get(job), Some(deposit));
		assert_eq!(held(HoldReason::JobData, REQUESTER), deposit);
		assert_eq!(free(REQUESTER), ENDOWMENT - FEE - deposit);

		// Settling pays the fee; the deposit stays while the output is readable.
		run_to_block(ASSIGNED_AT + CHALLENGE_PERIOD);
		assert_eq!(status(job), JobStatus::Settled);
		assert_eq!(held(HoldReason::JobData, REQUESTER), deposit);
		run_to_block(ASSIGNED_AT + CHALLENGE_PERIOD + RETENTION);
		assert!(Jobs::<Test>::get(job).is_none(), "pruned");
		assert_eq!(DataDeposits::<Test>::get(job), None);
		assert_eq!(held(HoldReason::JobData, REQUESTER), 0);
		assert_eq!(free(REQUESTER), ENDOWMENT - FEE);
	});
}

#[test]
fn a_requester_who_cannot_pay_the_deposit_submits_nothing() {
	new_test_ext(|model| {
		// POOR has 60: enough for neither the fee nor a deposit.
		DataDeposit::set(1_000);
		assert_ok!(Balances::transfer_allow_death(RuntimeOrigin::signed(REQUESTER), POOR, FEE));
		assert_noop!(
			Inference::submit_job(
				RuntimeOrigin::signed(POOR),
				model,
				input(),
				FEE,
				VerificationMode::Optimistic
			),
			Error::<Test>::InsufficientBalance
		);
		assert_eq!(held(HoldReason::JobEscrow, POOR), 0);
	});
}
