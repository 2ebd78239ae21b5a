//! Automatic audits: a drawn verifier re-executes a result nobody challenged.

use super::*;

const SLASH: Balance = STAKE / 2; // ExecutorSlash: 50 %

/// Submits a job whose executor posts `scores`, with every result audited;
/// runs to the audit draw and returns (job, auditor).
fn audited(model: ModelId, scores: [f32; 3]) -> (JobId, AccountId) {
	assert_ok!(Inference::set_audit_rate(RuntimeOrigin::root(), None, Some(Perbill::one())));
	let job = submit_with_result(model, scores);
	assert_eq!(Jobs::<Test>::get(job).unwrap().audit, AuditState::Undecided);
	run_to_block(System::block_number() + DRAW_DELAY as u64);
	let AuditState::Selected(auditor) = Jobs::<Test>::get(job).unwrap().audit else {
		panic!("every result is audited at rate 1");
	};
	assert!(events().contains(&Event::AuditorDrawn { job, auditor }));
	assert!(VERIFIERS.contains(&auditor));
	assert_eq!(AuditDuties::<Test>::get(auditor).to_vec(), vec![job]);
	(job, auditor)
}

#[test]
fn an_audit_that_finds_a_lie_opens_a_dispute_that_slashes_the_executor() {
	new_test_ext(|model| {
		// The executor lies; nobody but the drawn auditor looks.
		let (job, auditor) = audited(model, [0.8, 0.1, 0.1]);
		assert_ok!(Inference::challenge(RuntimeOrigin::signed(auditor), job, BOND));
		assert_eq!(Jobs::<Test>::get(job).unwrap().audit, AuditState::Challenged(auditor));
		assert!(AuditDuties::<Test>::get(auditor).is_empty());
		let committee = drawn(job);
		assert!(!committee.contains(&auditor), "the challenger never judges");
		vote(job, committee[0], Some([0.1, 0.8, 0.1]));
		vote(job, committee[1], Some([0.1, 0.8, 0.1]));
		vote(job, committee[2], Some([0.1, 0.8, 0.1]));
		assert_eq!(status(job), JobStatus::Failed(FailReason::ExecutorSlashed));
		assert_eq!(stake(EXECUTOR), STAKE - SLASH);
		// The auditor gets its bond back and the challenger's reward.
		assert_eq!(free(auditor), ENDOWMENT - STAKE + SLASH / 5);
		assert_eq!(free(REQUESTER), ENDOWMENT);
	});
}

#[test]
fn an_audit_that_agrees_is_free_and_the_job_settles() {
	new_test_ext(|model| {
		let (job, auditor) = audited(model, [0.1, 0.8, 0.1]);
		let other = *VERIFIERS.iter().find(|v| **v != auditor).unwrap();
		assert_noop!(
			Inference::submit_audit(RuntimeOrigin::signed(other), job),
			Error::<Test>::NotAuditor
		);
		let post = Inference::submit_audit(RuntimeOrigin::signed(auditor), job).unwrap();
		assert_eq!(post.pays_fee, Pays::No);
		assert!(events().contains(&Event::AuditPassed { job, auditor }));
		assert_eq!(Jobs::<Test>::get(job).unwrap().audit, AuditState::Passed(auditor));
		assert!(AuditDuties::<Test>::get(auditor).is_empty());
		assert_noop!(
			Inference::submit_audit(RuntimeOrigin::signed(auditor), job),
			Error::<Test>::NotAuditor
		);
		run_to_block(1 + CHALLENGE_PERIOD);
		assert_eq!(status(job), JobStatus::Settled);
	});
}

#[test]
fn an_unanswered_audit_ends_with_the_window() {
	new_test_ext(|model| {
		let (job, auditor) = audited(model, [0.1, 0.8, 0.1]);
		run_to_block(1 + CHALLENGE_PERIOD);
		assert_eq!(status(job), JobStatus::Settled);
		assert!(AuditDuties::<Test>::get(auditor).is_empty());
	});
}

#[test]
fn whether_a_result_is_audited_is_unknown_when_it_is_posted() {
	// Same chain, same result in the same block: only the VRF output of the
	// block after it differs.
	let audited_with = |vrf: [u8; 32]| {
		let mut state = AuditState::Undecided;
		new_test_ext(|model| {
			assert_ok!(Inference::set_audit_rate(
				RuntimeOrigin::root(),
				None,
				Some(Perbill::from_percent(50))
			));
			let job = submit_with_result(model, [0.1, 0.8, 0.1]);
			set_vrf(2, vrf);
			run_to_block(1 + DRAW_DELAY as u64);
			state = Jobs::<Test>::get(job).unwrap().audit;
		});
		state
	};
	let states: Vec<AuditState<AccountId>> = (0u8..16).map(|i| audited_with([i; 32])).collect();
	assert!(states.contains(&AuditState::NotSelected));
	assert!(states.iter().any(|s| matches!(s, AuditState::Selected(_))));
	assert!(states.iter().all(|s| *s != AuditState::Undecided), "every draw decided");
}

#[test]
fn without_an_audit_rate_nothing_is_drawn_and_only_governance_sets_it() {
	new_test_ext(|model| {
		assert_noop!(
			Inference::set_audit_rate(RuntimeOrigin::signed(REQUESTER), None, Some(Perbill::one())),
			sp_runtime::DispatchError::BadOrigin
		);
		let job = submit_with_result(model, [0.1, 0.8, 0.1]);
		run_to_block(1 + DRAW_DELAY as u64);
		assert_eq!(Jobs::<Test>::get(job).unwrap().audit, AuditState::Undecided);
		assert_eq!(Draws::<Test>::iter().count(), 0);
	});
}

#[test]
fn a_challenge_by_someone_else_makes_the_audit_moot() {
	new_test_ext(|model| {
		let (job, auditor) = audited(model, [0.8, 0.1, 0.1]);
		challenge(job);
		assert!(AuditDuties::<Test>::get(auditor).is_empty());
		assert_noop!(
			Inference::submit_audit(RuntimeOrigin::signed(auditor), job),
			Error::<Test>::NotAuditor
		);
	});
}

#[test]
fn a_model_can_have_an_audit_rate_of_its_own() {
	new_test_ext(|model| {
		let other = publish_model(b"other-model", VerificationPolicy::ArgMax);
		// Every result of `model` is audited; the chain-wide rate stays 0.
		assert_ok!(Inference::set_audit_rate(
			RuntimeOrigin::root(),
			Some(model),
			Some(Perbill::one())
		));
		assert!(events()
			.contains(&Event::AuditRateSet { model: Some(model), rate: Some(Perbill::one()) }));
		let audited = submit_with_result(model, [0.1, 0.8, 0.1]);
		let not_audited = submit_with_result(other, [0.1, 0.8, 0.1]);
		run_to_block(System::block_number() + DRAW_DELAY as u64);
		assert!(matches!(Jobs::<Test>::get(audited).unwrap().audit, AuditState::Selected(_)));
		assert_eq!(Jobs::<Test>::get(not_audited).unwrap().audit, AuditState::Undecided);
		// Back to the chain-wide rate.
		assert_ok!(Inference::set_audit_rate(RuntimeOrigin::root(), Some(model), None));
		assert_eq!(Inference::audit_rate(&model), Perbill::zero());
	});
}

#[test]
fn a_crowd_of_results_delays_audit_draws_and_their_windows_but_skips_none() {
	new_test_ext(|model| {
		assert_ok!(Inference::set_audit_rate(RuntimeOrigin::root(), None, Some(Perbill::one())));
		assert_ok!(Inference::register_executor(RuntimeOrigin::signed(EXECUTOR_2), STAKE, None));
		// Eight results in one block: three draws fit a block.
		let jobs: Vec<JobId> = (0..8).map(|_| submit_with_result(model, [0.1, 0.8, 0.1])).collect();
		// (The setup model's admission draw takes a slot of the first block.)
		let draws: Vec<u64> =
			(0..4).map(|k| Draws::<Test>::get(1 + DRAW_DELAY as u64 + k).len() as u64).collect();
		assert_eq!(draws, vec![3, 3, 3, 0]);
		for job in &jobs {
			let draw_at = (0..3)
				.map(|k| 1 + DRAW_DELAY as u64 + k)
				.find(|b| Draws::<Test>::get(b).contains(&Draw::Audit(*job)))
				.expect("every result's audit is drawn");
			let j = Jobs::<Test>::get(job).unwrap();
			assert_eq!(
				j.deadline,
				(1 + CHALLENGE_PERIOD).max(draw_at + CHALLENGE_PERIOD - DRAW_DELAY as u64)
			);
		}
		run_to_block(1 + DRAW_DELAY as u64 + 2);
		for job in &jobs {
			assert!(matches!(Jobs::<Test>::get(job).unwrap().audit, AuditState::Selected(_)));
		}
	});
}
