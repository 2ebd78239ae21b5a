//! Challenges, committees, verdicts and every way a dispute ends, with exact
//! balances.

use super::*;

const SLASH: Balance = STAKE / 2; // ExecutorSlash: 50 %
const PENALTY: Balance = STAKE / 20; // VerifierPenalty: 5 %

#[test]
fn challenges_are_checked() {
	new_test_ext(|model| {
		let job = submit(model);
		let origin = || RuntimeOrigin::signed(CHALLENGER);
		assert_noop!(Inference::challenge(origin(), job, BOND), Error::<Test>::NotChallengeable);
		assert_noop!(Inference::challenge(origin(), 42, BOND), Error::<Test>::JobNotFound);
		assert_ok!(Inference::submit_result(
			RuntimeOrigin::signed(EXECUTOR),
			job,
			output([1., 0., 0.])
		));
		assert_noop!(Inference::challenge(origin(), job, BOND - 1), Error::<Test>::BondTooLow);
		assert_noop!(
			Inference::challenge(RuntimeOrigin::signed(EXECUTOR), job, BOND),
			Error::<Test>::SelfChallenge
		);
		assert_noop!(
			Inference::challenge(RuntimeOrigin::signed(POOR), job, BOND),
			Error::<Test>::InsufficientBalance
		);
		run_to_block(CHALLENGE_PERIOD);
		assert_noop!(
			Inference::submit_verdict(
				RuntimeOrigin::signed(VERIFIERS[0]),
				job,
				Finding::ModelFault
			),
			Error::<Test>::NoDispute
		);
	});
}

#[test]
fn a_challenge_after_the_window_is_refused() {
	new_test_ext(|model| {
		let job = submit_with_result(model, [1., 0., 0.]);
		run_to_block(1 + CHALLENGE_PERIOD);
		// Settled: nothing left to challenge.
		assert_noop!(
			Inference::challenge(RuntimeOrigin::signed(CHALLENGER), job, BOND),
			Error::<Test>::NotChallengeable
		);
	});
}

#[test]
fn a_challenge_draws_a_committee_without_executor_or_challenger() {
	new_test_ext(|model| {
		// Make the executor and the challenger verifiers too: they must not be drawn.
		assert_ok!(Inference::register_verifier(RuntimeOrigin::signed(EXECUTOR), 1_000));
		assert_ok!(Inference::register_verifier(RuntimeOrigin::signed(CHALLENGER), 1_000));
		let job = submit_with_result(model, [1., 0., 0.]);
		let committee = challenge(job);
		assert_eq!(committee.len(), 3);
		assert!(committee.iter().all(|m| VERIFIERS.contains(m)), "{committee:?}");
		assert_eq!(status(job), JobStatus::Disputed);
		assert_eq!(held(HoldReason::ChallengeBond, CHALLENGER), BOND);
		for m in &committee {
			assert_eq!(Duties::<Test>::get(m).to_vec(), vec![job]);
		}
	});
}

#[test]
fn too_few_verifiers_means_no_challenge() {
	new_test_ext(|model| {
		for v in &VERIFIERS[..2] {
			assert_ok!(Inference::unbond_verifier(RuntimeOrigin::signed(*v)));
		}
		let job = submit_with_result(model, [1., 0., 0.]);
		assert_noop!(
			Inference::challenge(RuntimeOrigin::signed(CHALLENGER), job, BOND),
			Error::<Test>::NotEnoughVerifiers
		);
	});
}

#[test]
fn verdicts_come_from_the_committee_once() {
	new_test_ext(|model| {
		let job = submit_with_result(model, [1., 0., 0.]);
		let committee = challenge(job);
		let outsider = *VERIFIERS.iter().find(|v| !committee.contains(v)).unwrap();
		assert_noop!(
			Inference::submit_verdict(
				RuntimeOrigin::signed(outsider),
				job,
				Finding::Output(output([1., 0., 0.]))
			),
			Error::<Test>::NotInCommittee
		);
		vote(job, committee[0], Some([1., 0., 0.]));
		assert_noop!(
			Inference::submit_verdict(
				RuntimeOrigin::signed(committee[0]),
				job,
				Finding::Output(output([1., 0., 0.]))
			),
			Error::<Test>::AlreadyVoted
		);
		assert_noop!(
			Inference::submit_verdict(
				RuntimeOrigin::signed(committee[1]),
				job,
				Finding::Output(BoundedVec::try_from(vec![0u8; 3]).unwrap())
			),
			Error::<Test>::InvalidOutput
		);
	});
}

#[test]
fn a_wrong_executor_is_slashed_and_everyone_else_made_whole() {
	new_test_ext(|model| {
		let publisher_before = free(PUBLISHER);
		// The model is an argmax classifier: the true answer's top class is 1.
		let job = submit_with_result(model, [0.9, 0.05, 0.05]);
		let committee = challenge(job);
		vote(job, committee[0], Some([0.1, 0.8, 0.1]));
		assert_eq!(status(job), JobStatus::Disputed);
		vote(job, committee[1], Some([0.2, 0.7, 0.1]));

		assert_eq!(status(job), JobStatus::Failed(FailReason::ExecutorSlashed));
		assert!(events().contains(&Event::DisputeResolved { job, outcome: Outcome::ExecutorWrong }));
		// Executor: half its stake.
		assert_eq!(stake(EXECUTOR), STAKE - SLASH);
		assert_eq!(free(EXECUTOR), ENDOWMENT - STAKE);
		// Challenger: bond back plus 20 % of the slash.
		assert_eq!(free(CHALLENGER), ENDOWMENT + SLASH / 5);
		assert_eq!(held(HoldReason::ChallengeBond, CHALLENGER), 0);
		// The two verifiers who voted share 30 % of the slash; the third gets nothing.
		let share = SLASH * 3 / 10 / 2;
		assert_eq!(free(committee[0]), ENDOWMENT - STAKE + share);
		assert_eq!(free(committee[1]), ENDOWMENT - STAKE + share);
		assert_eq!(free(committee[2]), ENDOWMENT - STAKE);
		// Treasury: the other half of the slash.
		assert_eq!(free(TREASURY), ENDOWMENT + SLASH / 2);
		// Requester refunded, publisher unpaid.
		assert_eq!(free(REQUESTER), ENDOWMENT);
		assert_eq!(free(PUBLISHER), publisher_before);
		for m in &committee {
			assert!(Duties::<Test>::get(m).is_empty());
		}
	});
}

#[test]
fn a_wrong_challenger_loses_its_bond_and_the_job_settles() {
	new_test_ext(|model| {
		let publisher_before = free(PUBLISHER);
		let job = submit_with_result(model, [0.1, 0.8, 0.1]);
		let committee = challenge(job);
		// Different numbers, same top class: agreement under ArgMax.
		vote(job, committee[0], Some([0.2, 0.7, 0.1]));
		vote(job, committee[2], Some([0.1, 0.8, 0.1]));

		assert_eq!(status(job), JobStatus::Settled);
		assert!(events().contains(&Event::DisputeResolved { job, outcome: Outcome::ExecutorRight }));
		assert_eq!(free(CHALLENGER), ENDOWMENT - BOND);
		assert_eq!(free(EXECUTOR), ENDOWMENT - STAKE + BOND / 2 + EXECUTOR_FEE);
		assert_eq!(stake(EXECUTOR), STAKE);
		let share = BOND / 2 / 2;
		assert_eq!(free(committee[0]), ENDOWMENT - STAKE + share);
		assert_eq!(free(committee[2]), ENDOWMENT - STAKE + share);
		assert_eq!(free(committee[1]), ENDOWMENT - STAKE);
		assert_eq!(free(PUBLISHER), publisher_before + PRICE);
		assert_eq!(free(TREASURY), ENDOWMENT + PROTOCOL_FEE);
		assert_eq!(free(REQUESTER), ENDOWMENT - FEE);
	});
}

#[test]
fn an_unrunnable_model_is_disabled_and_its_publisher_slashed() {
	new_test_ext(|model| {
		let job = submit_with_result(model, [0.1, 0.8, 0.1]);
		let committee = challenge(job);
		vote(job, committee[1], None);
		vote(job, committee[2], None);

		assert_eq!(status(job), JobStatus::Failed(FailReason::ModelUnrunnable));
		assert_eq!(
			pallet_model_registry::Models::<Test>::get(model).unwrap().status,
			pallet_model_registry::ModelStatus::Disabled
		);
		assert_eq!(free(TREASURY), ENDOWMENT + PUBLISHER_BOND);
		assert_eq!(free(REQUESTER), ENDOWMENT);
		assert_eq!(free(CHALLENGER), ENDOWMENT);
		assert_eq!(stake(EXECUTOR), STAKE);
		// No new jobs for a disabled model.
		assert_noop!(try_submit(model), Error::<Test>::ModelNotActive);
	});
}

#[test]
fn an_executor_reports_a_model_unrunnable_and_the_committee_agrees() {
	new_test_ext(|model| {
		let job = submit(model);
		assert_noop!(
			Inference::report_fault(RuntimeOrigin::signed(EXECUTOR_2), job, Fault::Model),
			Error::<Test>::NotAssignedExecutor
		);
		assert_ok!(Inference::report_fault(RuntimeOrigin::signed(EXECUTOR), job, Fault::Model));
		let committee = Disputes::<Test>::get(job).unwrap().committee;
		assert!(Disputes::<Test>::get(job).unwrap().challenger.is_none());
		vote(job, committee[0], None);
		vote(job, committee[1], None);
		assert_eq!(status(job), JobStatus::Failed(FailReason::ModelUnrunnable));
		assert_eq!(stake(EXECUTOR), STAKE);
		assert_eq!(free(REQUESTER), ENDOWMENT);
	});
}

#[test]
fn an_executor_that_falsely_reports_unrunnable_is_slashed() {
	new_test_ext(|model| {
		let job = submit(model);
		assert_ok!(Inference::report_fault(RuntimeOrigin::signed(EXECUTOR), job, Fault::Model));
		let committee = Disputes::<Test>::get(job).unwrap().committee;
		vote(job, committee[0], Some([0.1, 0.8, 0.1]));
		vote(job, committee[1], Some([0.1, 0.8, 0.1]));
		assert_eq!(status(job), JobStatus::Failed(FailReason::ExecutorSlashed));
		assert_eq!(stake(EXECUTOR), STAKE - SLASH);
		// No challenger: its share goes to the treasury too.
		let share = SLASH * 3 / 10 / 2;
		assert_eq!(free(committee[0]), ENDOWMENT - STAKE + share);
		assert_eq!(free(TREASURY), ENDOWMENT + SLASH - 2 * share);
		assert_eq!(free(REQUESTER), ENDOWMENT);
	});
}

#[test]
fn without_a_quorum_non_voters_are_penalised_then_governance_decides() {
	new_test_ext(|model| {
		let job = submit_with_result(model, [0.1, 0.8, 0.1]);
		let committee = challenge(job);
		// One vote each way, the third member silent.
		vote(job, committee[0], Some([0.1, 0.8, 0.1]));
		vote(job, committee[1], Some([0.8, 0.1, 0.1]));
		assert_noop!(
			Inference::resolve_dispute(RuntimeOrigin::root(), job, Outcome::ExecutorRight),
			Error::<Test>::NotStalled
		);
		run_to_block(1 + DISPUTE_PERIOD);
		assert!(events().contains(&Event::DisputeExtended {
			job,
			penalised: vec![committee[2]],
			deadline: 1 + 2 * DISPUTE_PERIOD,
		}));
		assert_eq!(stake(committee[2]), STAKE - PENALTY);
		assert_eq!(free(TREASURY), ENDOWMENT + PENALTY);
		run_to_block(1 + 2 * DISPUTE_PERIOD);
		assert!(Disputes::<Test>::get(job).unwrap().stalled);
		assert!(events().contains(&Event::DisputeStalled { job }));
		// Stalled: only the force origin ends it.
		assert_noop!(
			Inference::resolve_dispute(
				RuntimeOrigin::signed(CHALLENGER),
				job,
				Outcome::ExecutorWrong
			),
			sp_runtime::DispatchError::BadOrigin
		);
		assert_ok!(Inference::resolve_dispute(RuntimeOrigin::root(), job, Outcome::ExecutorWrong));
		assert_eq!(status(job), JobStatus::Failed(FailReason::ExecutorSlashed));
		assert_eq!(stake(EXECUTOR), STAKE - SLASH);
		// Only committee[1] voted for the outcome: it alone gets the verifiers' share.
		assert_eq!(free(committee[1]), ENDOWMENT - STAKE + SLASH * 3 / 10);
	});
}

#[test]
fn a_late_vote_in_the_extension_still_decides() {
	new_test_ext(|model| {
		let job = submit_with_result(model, [0.1, 0.8, 0.1]);
		let committee = challenge(job);
		vote(job, committee[0], Some([0.1, 0.8, 0.1]));
		run_to_block(1 + DISPUTE_PERIOD);
		assert_eq!(stake(committee[1]), STAKE - PENALTY);
		vote(job, committee[1], Some([0.1, 0.8, 0.1]));
		assert_eq!(status(job), JobStatus::Settled);
	});
}
