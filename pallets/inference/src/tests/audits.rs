//! Automatic audits: a drawn verifier re-executes a result nobody challenged.

use super::*;

const SLASH: Balance = STAKE / 2; // ExecutorSlash: 50 %

/// Submits a job whose executor commits to `scores`, with every result
/// audited; runs to the audit draw and returns (job, auditor).
fn audited(model: ModelId, scores: [f32; 3]) -> (JobId, AccountId) {
	assert_ok!(Inference::set_audit_rate(RuntimeOrigin::root(), None, Some(Perbill::one())));
	let job = submit(model);
	commit_output(job, scores);
	assert_eq!(Jobs::<Test>::get(job).unwrap().audit, AuditState::Undecided);
	// No auditor yet: the output stays hidden.
	assert_noop!(
		Inference::reveal_result(RuntimeOrigin::signed(EXECUTOR), job, output(scores), RESULT_SALT),
		Error::<Test>::NotRevealPhase
	);
	run_to_block(System::block_number() + DRAW_DELAY as u64);
	let AuditState::Selected(auditor) = Jobs::<Test>::get(job).unwrap().audit else {
		panic!("every result is audited at rate 1");
	};
	assert!(events().contains(&Event::AuditorDrawn { job, auditor }));
	assert!(VERIFIERS.contains(&auditor));
	assert_eq!(AuditDuties::<Test>::get(auditor).to_vec(), vec![job]);
	(job, auditor)
}

/// The auditor commits to the output `scores` (`None`: the model fails).
fn commit_audit(job: JobId, auditor: AccountId, scores: Option<[f32; 3]>) {
	let commitment = Inference::verdict_commitment(job, &auditor, &finding(scores), &salt(auditor));
	let post = Inference::commit_audit(RuntimeOrigin::signed(auditor), job, commitment).unwrap();
	assert_eq!(post.pays_fee, Pays::No);
	assert!(events().contains(&Event::AuditCommitted { job, auditor }));
}

/// The auditor reveals the finding it committed to.
fn reveal_audit(job: JobId, auditor: AccountId, scores: Option<[f32; 3]>) {
	let post = Inference::reveal_audit(
		RuntimeOrigin::signed(auditor),
		job,
		finding(scores),
		salt(auditor),
	)
	.unwrap();
	assert_eq!(post.pays_fee, Pays::No);
}

#[test]
fn an_audit_that_finds_a_lie_opens_a_dispute_that_slashes_the_executor() {
	new_test_ext(|model| {
		// The executor lies; nobody but the drawn auditor looks.
		let (job, auditor) = audited(model, [0.8, 0.1, 0.1]);
		commit_audit(job, auditor, Some([0.1, 0.8, 0.1]));
		reveal_output(job, [0.8, 0.1, 0.1]);
		reveal_audit(job, auditor, Some([0.1, 0.8, 0.1]));
		// The auditor's disagreement is its challenge, with its own bond.
		assert_eq!(status(job), JobStatus::Disputed);
		assert_eq!(Jobs::<Test>::get(job).unwrap().audit, AuditState::Challenged(auditor));
		assert_eq!(held(HoldReason::ChallengeBond, auditor), BOND);
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
fn an_audit_that_agrees_is_paid_by_the_treasury_and_the_job_settles() {
	new_test_ext(|model| {
		let (job, auditor) = audited(model, [0.1, 0.8, 0.1]);
		// Every result audited: the requester pays the whole reward as premium.
		let fee = FEE + AUDIT_REWARD;
		assert_eq!(Jobs::<Test>::get(job).unwrap().fees.audit, AUDIT_REWARD);
		assert_eq!(free(REQUESTER), ENDOWMENT - fee);
		let other = *VERIFIERS.iter().find(|v| **v != auditor).unwrap();
		assert_noop!(
			Inference::commit_audit(RuntimeOrigin::signed(other), job, Default::default()),
			Error::<Test>::NotAuditor
		);
		commit_audit(job, auditor, Some([0.1, 0.8, 0.1]));
		assert_noop!(
			Inference::commit_audit(RuntimeOrigin::signed(auditor), job, Default::default()),
			Error::<Test>::NotAuditor
		);
		// Nothing to compare with until the executor reveals.
		assert_noop!(
			Inference::reveal_audit(
				RuntimeOrigin::signed(auditor),
				job,
				finding(Some([0.1, 0.8, 0.1])),
				salt(auditor)
			),
			Error::<Test>::NotRevealPhase
		);
		reveal_output(job, [0.1, 0.8, 0.1]);
		assert_noop!(
			Inference::reveal_audit(
				RuntimeOrigin::signed(other),
				job,
				finding(Some([0.1, 0.8, 0.1])),
				salt(other)
			),
			Error::<Test>::NotAuditor
		);
		// Not what it committed to.
		assert_noop!(
			Inference::reveal_audit(
				RuntimeOrigin::signed(auditor),
				job,
				finding(Some([0.1, 0.7, 0.2])),
				salt(auditor)
			),
			Error::<Test>::CommitMismatch
		);
		let treasury = free(TREASURY);
		reveal_audit(job, auditor, Some([0.1, 0.8, 0.1]));
		assert!(events().contains(&Event::AuditPassed { job, auditor, reward: AUDIT_REWARD }));
		assert_eq!(Jobs::<Test>::get(job).unwrap().audit, AuditState::Passed(auditor));
		assert!(AuditDuties::<Test>::get(auditor).is_empty());
		assert_eq!(free(auditor), ENDOWMENT - STAKE + AUDIT_REWARD);
		assert_eq!(free(TREASURY), treasury - AUDIT_REWARD);
		run_to_block(Jobs::<Test>::get(job).unwrap().deadline);
		assert_eq!(status(job), JobStatus::Settled);
		// The treasury got the protocol fee and the premium back.
		assert_eq!(free(TREASURY), treasury + PROTOCOL_FEE);
		assert_eq!(free(REQUESTER), ENDOWMENT - fee);
	});
}

#[test]
fn a_lazy_auditor_that_guesses_wrong_loses_its_bond() {
	new_test_ext(|model| {
		// The auditor commits to an answer without running the model; the
		// executor is honest. A committee confirms the executor.
		let (job, auditor) = audited(model, [0.1, 0.8, 0.1]);
		commit_audit(job, auditor, Some([0.8, 0.1, 0.1]));
		reveal_output(job, [0.1, 0.8, 0.1]);
		reveal_audit(job, auditor, Some([0.8, 0.1, 0.1]));
		let committee = drawn(job);
		for m in &committee {
			vote(job, *m, Some([0.1, 0.8, 0.1]));
		}
		assert_eq!(status(job), JobStatus::Settled);
		assert_eq!(free(auditor), ENDOWMENT - STAKE - BOND);
		// Half the bond to the executor on top of its fee.
		assert_eq!(free(EXECUTOR), ENDOWMENT - STAKE + EXECUTOR_FEE + BOND / 2);
	});
}

#[test]
fn an_auditors_disagreement_is_heard_even_with_too_few_verifiers_for_a_full_committee() {
	new_test_ext(|model| {
		let (job, auditor) = audited(model, [0.8, 0.1, 0.1]);
		commit_audit(job, auditor, Some([0.1, 0.8, 0.1]));
		reveal_output(job, [0.8, 0.1, 0.1]);
		// Two verifiers leave: besides the auditor, one is left to judge.
		let others: Vec<AccountId> = VERIFIERS.iter().copied().filter(|v| *v != auditor).collect();
		assert_ok!(Inference::unbond_verifier(RuntimeOrigin::signed(others[0])));
		assert_ok!(Inference::unbond_verifier(RuntimeOrigin::signed(others[1])));
		// Anyone else's challenge is refused up front...
		assert_noop!(
			Inference::challenge(RuntimeOrigin::signed(CHALLENGER), job, BOND),
			Error::<Test>::NotEnoughVerifiers
		);
		// ...the auditor's is not: it is not left to lapse for the chain's state.
		reveal_audit(job, auditor, Some([0.1, 0.8, 0.1]));
		assert_eq!(status(job), JobStatus::Disputed);
		assert_eq!(Jobs::<Test>::get(job).unwrap().audit, AuditState::Challenged(auditor));
		assert_eq!(drawn(job), vec![others[2]]);
	});
}

#[test]
fn an_auditor_that_does_not_commit_lapses_and_the_output_is_revealed_without_it() {
	new_test_ext(|model| {
		let (job, auditor) = audited(model, [0.1, 0.8, 0.1]);
		let deadline = Jobs::<Test>::get(job).unwrap().deadline;
		assert_eq!(deadline, System::block_number() + RESULT_TIMEOUT);
		// Drawn but not committed: nothing the auditor could copy is public.
		assert_eq!(Outputs::<Test>::get(job), None);
		assert_noop!(
			Inference::reveal_result(
				RuntimeOrigin::signed(EXECUTOR),
				job,
				output([0.1, 0.8, 0.1]),
				RESULT_SALT
			),
			Error::<Test>::NotRevealPhase
		);
		run_to_block(deadline);
		assert_eq!(Jobs::<Test>::get(job).unwrap().audit, AuditState::Lapsed(auditor));
		assert!(events().contains(&Event::AuditLapsed { job, auditor }));
		assert_eq!(stake(auditor), STAKE - STAKE / 20);
		assert_eq!(Verifiers::<Test>::get(auditor).unwrap().missed, 1);
		assert!(AuditDuties::<Test>::get(auditor).is_empty());
		// Too late to commit: the executor may now reveal.
		assert_noop!(
			Inference::commit_audit(RuntimeOrigin::signed(auditor), job, Default::default()),
			Error::<Test>::NotAuditor
		);
		assert_eq!(status(job), JobStatus::Committed);
		reveal_output(job, [0.1, 0.8, 0.1]);
		run_to_block(Jobs::<Test>::get(job).unwrap().deadline);
		assert_eq!(status(job), JobStatus::Settled);
	});
}

#[test]
fn an_auditor_that_commits_and_never_reveals_lapses_when_the_window_closes() {
	new_test_ext(|model| {
		let (job, auditor) = audited(model, [0.1, 0.8, 0.1]);
		commit_audit(job, auditor, Some([0.1, 0.8, 0.1]));
		reveal_output(job, [0.1, 0.8, 0.1]);
		run_to_block(Jobs::<Test>::get(job).unwrap().deadline);
		assert_eq!(status(job), JobStatus::Settled);
		assert_eq!(Jobs::<Test>::get(job).unwrap().audit, AuditState::Lapsed(auditor));
		assert_eq!(stake(auditor), STAKE - STAKE / 20);
		assert_eq!(free(auditor), ENDOWMENT - STAKE);
	});
}

#[test]
fn an_executor_that_never_reveals_times_out_after_the_auditor_commits() {
	new_test_ext(|model| {
		let (job, auditor) = audited(model, [0.1, 0.8, 0.1]);
		run_to_block(System::block_number() + 1);
		commit_audit(job, auditor, Some([0.1, 0.8, 0.1]));
		// The executor gets a full `ResultTimeout` from the auditor's commitment.
		let deadline = Jobs::<Test>::get(job).unwrap().deadline;
		assert_eq!(deadline, System::block_number() + RESULT_TIMEOUT);
		run_to_block(deadline);
		assert_eq!(status(job), JobStatus::Failed(FailReason::TimedOut));
		assert_eq!(free(REQUESTER), ENDOWMENT);
		// The auditor did its part: no penalty, no duty left.
		assert_eq!(stake(auditor), STAKE);
		assert!(AuditDuties::<Test>::get(auditor).is_empty());
	});
}

#[test]
fn whether_a_result_is_audited_is_unknown_when_it_is_committed() {
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
			let job = submit(model);
			commit_output(job, [0.1, 0.8, 0.1]);
			let at = System::block_number();
			set_vrf(at + 1, vrf);
			run_to_block(at + DRAW_DELAY as u64);
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
		run_to_block(System::block_number() + DRAW_DELAY as u64);
		assert_eq!(Jobs::<Test>::get(job).unwrap().audit, AuditState::NotSelected);
		// No audit draw was ever queued (only the job's assignment was).
		assert!(Draws::<Test>::iter().all(|(_, d)| d.iter().all(|d| !matches!(d, Draw::Audit(_)))));
	});
}

#[test]
fn a_challenge_by_someone_else_makes_the_audit_moot() {
	new_test_ext(|model| {
		let (job, auditor) = audited(model, [0.8, 0.1, 0.1]);
		commit_audit(job, auditor, Some([0.1, 0.8, 0.1]));
		reveal_output(job, [0.8, 0.1, 0.1]);
		challenge(job);
		assert!(AuditDuties::<Test>::get(auditor).is_empty());
		assert_noop!(
			Inference::reveal_audit(
				RuntimeOrigin::signed(auditor),
				job,
				finding(Some([0.1, 0.8, 0.1])),
				salt(auditor)
			),
			Error::<Test>::NotRevealPhase
		);
		// No penalty for an audit made moot.
		assert_eq!(stake(auditor), STAKE);
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
		let audited = submit(model);
		commit_output(audited, [0.1, 0.8, 0.1]);
		let not_audited = submit_with_result(other, [0.1, 0.8, 0.1]);
		run_to_block(System::block_number() + DRAW_DELAY as u64);
		assert!(matches!(Jobs::<Test>::get(audited).unwrap().audit, AuditState::Selected(_)));
		assert_eq!(Jobs::<Test>::get(not_audited).unwrap().audit, AuditState::NotSelected);
		// Back to the chain-wide rate.
		assert_ok!(Inference::set_audit_rate(RuntimeOrigin::root(), Some(model), None));
		assert_eq!(Inference::audit_rate(&model), Perbill::zero());
	});
}

#[test]
fn a_crowd_of_jobs_and_results_delays_draws_and_reveals_but_skips_none() {
	new_test_ext(|model| {
		assert_ok!(Inference::set_audit_rate(RuntimeOrigin::root(), None, Some(Perbill::one())));
		assert_ok!(Inference::register_executor(RuntimeOrigin::signed(EXECUTOR_2), STAKE, None));
		let slots = |from: u64| -> Vec<u64> {
			(0..4).map(|k| Draws::<Test>::get(from + k).len() as u64).collect()
		};
		// Eight jobs in one block: three draws fit a block. (The setup
		// model's admission draw takes a slot of the first block.)
		let jobs = queue(model, 8);
		assert_eq!(slots(ASSIGNED_AT), vec![3, 3, 3, 0]);
		run_to_block(ASSIGNED_AT + 2);
		assert!(jobs.iter().all(Jobs::<Test>::contains_key), "every job assigned");
		// Eight results in one block: their audits are drawn over three.
		for job in &jobs {
			commit_output(*job, [0.1, 0.8, 0.1]);
		}
		let now = System::block_number();
		assert_eq!(slots(now + DRAW_DELAY as u64), vec![3, 3, 2, 0]);
		for job in &jobs {
			let draw_at = (0..3)
				.map(|k| now + DRAW_DELAY as u64 + k)
				.find(|b| Draws::<Test>::get(b).contains(&Draw::Audit(*job)))
				.expect("every result's audit is drawn");
			// The reveal (and so the window after it) waits for the draw.
			assert_eq!(Jobs::<Test>::get(job).unwrap().deadline, draw_at + RESULT_TIMEOUT);
		}
		run_to_block(now + DRAW_DELAY as u64 + 2);
		for job in &jobs {
			assert!(matches!(Jobs::<Test>::get(job).unwrap().audit, AuditState::Selected(_)));
		}
	});
}
