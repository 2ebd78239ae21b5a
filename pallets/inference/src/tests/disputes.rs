//! Challenges, committees, verdicts and every way a dispute ends, with exact
//! balances.

use super::*;

const SLASH: Balance = STAKE / 2; // ExecutorSlash: 50 %
const PENALTY: Balance = STAKE / 20; // VerifierPenalty: 5 %
const MINORITY: Balance = STAKE / 10; // MinorityPenalty: 10 %

#[test]
fn challenges_are_checked() {
	new_test_ext(|model| {
		let job = submit(model);
		let origin = || RuntimeOrigin::signed(CHALLENGER);
		assert_noop!(Inference::challenge(origin(), job, BOND), Error::<Test>::NotChallengeable);
		assert_noop!(Inference::challenge(origin(), 42, BOND), Error::<Test>::JobNotFound);
		post(job, [1., 0., 0.]);
		assert_noop!(Inference::challenge(origin(), job, BOND - 1), Error::<Test>::BondTooLow);
		assert_noop!(
			Inference::challenge(RuntimeOrigin::signed(EXECUTOR), job, BOND),
			Error::<Test>::SelfChallenge
		);
		assert_noop!(
			Inference::challenge(RuntimeOrigin::signed(POOR), job, BOND),
			Error::<Test>::InsufficientBalance
		);
		run_to_block(ASSIGNED_AT + CHALLENGE_PERIOD - 1);
		assert_noop!(
			Inference::submit_verdict(
				RuntimeOrigin::signed(VERIFIERS[0]),
				job,
				Finding::ModelFault,
				salt(VERIFIERS[0])
			),
			Error::<Test>::NoDispute
		);
	});
}

#[test]
fn a_challenge_after_the_window_is_refused() {
	new_test_ext(|model| {
		let job = submit_with_result(model, [1., 0., 0.]);
		run_to_block(ASSIGNED_AT + CHALLENGE_PERIOD);
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
fn verdicts_are_committed_then_revealed_by_the_committee_once() {
	new_test_ext(|model| {
		let job = submit_with_result(model, [1., 0., 0.]);
		let committee = challenge(job);
		let agree = finding(Some([1., 0., 0.]));
		let reveal = |m: AccountId, f: FindingOf<Test>, s: [u8; 32]| {
			Inference::submit_verdict(RuntimeOrigin::signed(m), job, f, s)
		};
		let outsider = *VERIFIERS.iter().find(|v| !committee.contains(v)).unwrap();
		let c = Inference::verdict_commitment(job, &outsider, &agree, &salt(outsider));
		assert_noop!(
			Inference::commit_verdict(RuntimeOrigin::signed(outsider), job, c),
			Error::<Test>::NotInCommittee
		);
		// Nothing is revealed before every seated member is bound to an answer.
		commit(job, committee[0], &agree);
		let c = Inference::verdict_commitment(job, &committee[0], &agree, &salt(committee[0]));
		assert_noop!(
			Inference::commit_verdict(RuntimeOrigin::signed(committee[0]), job, c),
			Error::<Test>::AlreadyCommitted
		);
		assert_noop!(
			reveal(committee[0], agree.clone(), salt(committee[0])),
			Error::<Test>::NotRevealPhase
		);
		assert_noop!(
			reveal(committee[1], agree.clone(), salt(committee[1])),
			Error::<Test>::NotCommitted
		);
		let malformed = Finding::Output(BoundedVec::try_from(vec![0u8; 3]).unwrap());
		commit(job, committee[1], &malformed);
		commit(job, committee[2], &agree);
		assert!(Disputes::<Test>::get(job).unwrap().reveals_open());
		assert!(events()
			.iter()
			.any(|e| matches!(e, Event::RevealOpened { job: j, .. } if *j == job)));
		let c = Inference::verdict_commitment(job, &committee[2], &agree, &salt(committee[2]));
		assert_noop!(
			Inference::commit_verdict(RuntimeOrigin::signed(committee[2]), job, c),
			Error::<Test>::NotCommitPhase
		);
		// A reveal must match its commitment: another salt, or another
		// member's answer, does not.
		assert_noop!(reveal(committee[0], agree.clone(), [9; 32]), Error::<Test>::CommitMismatch);
		assert_noop!(
			reveal(committee[0], finding(Some([0., 1., 0.])), salt(committee[0])),
			Error::<Test>::CommitMismatch
		);
		assert_ok!(reveal(committee[0], agree.clone(), salt(committee[0])));
		assert_noop!(
			reveal(committee[0], agree.clone(), salt(committee[0])),
			Error::<Test>::AlreadyVoted
		);
		assert_noop!(
			reveal(committee[1], malformed, salt(committee[1])),
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
		vote(job, committee[2], Some([0.2, 0.7, 0.1]));

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
fn a_members_reveal_after_the_quorum_is_free_and_changes_nothing() {
	new_test_ext(|model| {
		let job = submit_with_result(model, [0.9, 0.05, 0.05]);
		let committee = challenge(job);
		let f = finding(Some([0.1, 0.8, 0.1]));
		for m in &committee {
			commit(job, *m, &f);
		}
		// Members reveal at the same time; two decide it first.
		for m in &committee[..2] {
			assert_ok!(Inference::submit_verdict(
				RuntimeOrigin::signed(*m),
				job,
				f.clone(),
				salt(*m)
			));
		}
		assert_eq!(status(job), JobStatus::Failed(FailReason::ExecutorSlashed));
		let late = committee[2];
		let before = (free(late), stake(late));
		// The third, honest and in the same block, is not charged for it
		// (it failed with `NoDispute`, at its fee, before).
		let info =
			Inference::submit_verdict(RuntimeOrigin::signed(late), job, f.clone(), salt(late))
				.expect("a late reveal is accepted");
		assert_eq!(info.pays_fee, Pays::No);
		assert_eq!((free(late), stake(late)), before);
		// Once, and only for members who had committed.
		assert_noop!(
			Inference::submit_verdict(RuntimeOrigin::signed(late), job, f.clone(), salt(late)),
			Error::<Test>::NoDispute
		);
		assert_noop!(
			Inference::submit_verdict(RuntimeOrigin::signed(CHALLENGER), job, f, salt(CHALLENGER)),
			Error::<Test>::NoDispute
		);
		assert!(!LateRevealers::<Test>::contains_key(job));
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
		vote(job, committee[1], Some([0.1, 0.8, 0.1]));

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
		vote(job, committee[0], None);

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
		let committee = drawn(job);
		assert!(Disputes::<Test>::get(job).unwrap().challenger.is_none());
		vote(job, committee[0], None);
		vote(job, committee[1], None);
		vote(job, committee[2], None);
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
		let committee = drawn(job);
		vote(job, committee[0], Some([0.1, 0.8, 0.1]));
		vote(job, committee[1], Some([0.1, 0.8, 0.1]));
		vote(job, committee[2], Some([0.1, 0.8, 0.1]));
		assert_eq!(status(job), JobStatus::Failed(FailReason::ExecutorSlashed));
		assert_eq!(stake(EXECUTOR), STAKE - SLASH);
		// No challenger: its share goes to the treasury too.
		let share = SLASH * 3 / 10 / 2;
		assert_eq!(free(committee[0]), ENDOWMENT - STAKE + share);
		assert_eq!(free(TREASURY), ENDOWMENT + SLASH - 2 * share);
		assert_eq!(free(REQUESTER), ENDOWMENT);
	});
}

/// Registers `n` more verifiers (accounts 50, 51, ...) with `STAKE` each.
fn more_verifiers(n: u64) -> Vec<AccountId> {
	let accounts: Vec<AccountId> = (50..50 + n).collect();
	for v in &accounts {
		Balances::set_balance(v, ENDOWMENT);
		assert_ok!(Inference::register_verifier(RuntimeOrigin::signed(*v), STAKE));
	}
	accounts
}

#[test]
fn a_challenger_cannot_pick_its_committee_by_choosing_its_block() {
	// Same chain, same challenge in the same block: only the VRF output of
	// the block after the challenge, unknown when it was made, differs.
	let committee_with = |vrf: [u8; 32]| {
		let mut committee = vec![];
		new_test_ext(|model| {
			more_verifiers(4);
			let job = submit_with_result(model, [0.1, 0.8, 0.1]);
			let at = System::block_number();
			assert_ok!(Inference::challenge(RuntimeOrigin::signed(CHALLENGER), job, BOND));
			// Nothing about the committee is decided by the challenge's block.
			let d = Disputes::<Test>::get(job).unwrap();
			assert!(d.committee.is_empty());
			assert!(events().contains(&Event::JobChallenged {
				job,
				challenger: Some(CHALLENGER),
				bond: BOND,
				draw_at: at + DRAW_DELAY as u64,
			}));
			assert!(VERIFIERS.iter().all(|v| Duties::<Test>::get(v).is_empty()));
			set_vrf(at + 1, vrf);
			committee = drawn(job);
			assert!(events().contains(&Event::CommitteeDrawn {
				job,
				committee: committee.clone(),
				deadline: at + DRAW_DELAY as u64 + DISPUTE_PERIOD,
			}));
		});
		committee
	};
	let committees: std::collections::BTreeSet<Vec<AccountId>> =
		(0u8..8).map(|i| committee_with([i; 32])).collect();
	assert!(committees.len() > 1, "the committee follows the later VRF output");
	for c in &committees {
		let distinct: std::collections::BTreeSet<_> = c.iter().collect();
		assert_eq!(distinct.len(), 3, "no account sits twice");
	}
}

#[test]
fn a_silent_member_is_replaced_by_a_fresh_draw_and_the_dispute_goes_on() {
	new_test_ext(|model| {
		let extra = more_verifiers(3);
		let job = submit_with_result(model, [0.1, 0.8, 0.1]);
		let committee = challenge(job);
		let drawn_at = System::block_number();
		vote(job, committee[0], Some([0.1, 0.8, 0.1]));
		run_to_block(drawn_at + DISPUTE_PERIOD);
		// The two silent members were penalised, lost their duty and were
		// replaced by verifiers who never sat on this committee.
		let d = Disputes::<Test>::get(job).unwrap();
		assert_eq!(d.round, 2);
		let added: Vec<AccountId> =
			d.committee.iter().filter(|m| !committee.contains(m)).cloned().collect();
		assert_eq!(added.len(), 2);
		assert!(added.iter().all(|m| !committee.contains(m) && *m != EXECUTOR));
		assert!(events().contains(&Event::CommitteeReplaced {
			job,
			removed: vec![committee[1], committee[2]],
			added: added.clone(),
			round: 2,
			deadline: drawn_at + 2 * DISPUTE_PERIOD,
		}));
		for m in &committee[1..] {
			assert_eq!(stake(*m), STAKE - PENALTY);
			assert!(Duties::<Test>::get(m).is_empty());
			assert_eq!(Verifiers::<Test>::get(m).unwrap().missed, 1);
			assert_noop!(
				Inference::submit_verdict(
					RuntimeOrigin::signed(*m),
					job,
					Finding::Output(output([0.1, 0.8, 0.1])),
					salt(*m)
				),
				Error::<Test>::NotInCommittee
			);
		}
		assert!(added.iter().all(|m| extra.contains(m) || VERIFIERS.contains(m)));
		// Once both replacements committed, the first member's verdict and
		// a replacement's form the quorum.
		vote(job, added[0], Some([0.1, 0.8, 0.1]));
		assert_eq!(status(job), JobStatus::Disputed, "reveals wait for every commitment");
		vote(job, added[1], Some([0.1, 0.8, 0.1]));
		assert_eq!(status(job), JobStatus::Settled);
	});
}

#[test]
fn a_stuck_dispute_ends_by_anyone_with_exact_balances() {
	new_test_ext(|model| {
		let job = submit_with_result(model, [0.1, 0.8, 0.1]);
		let requester = free(REQUESTER);
		let committee = challenge(job);
		let drawn_at = System::block_number();
		assert_noop!(
			Inference::end_dispute(RuntimeOrigin::signed(PUBLISHER), job),
			Error::<Test>::NotStalled
		);
		// Nobody votes. With four verifiers, one replacement is left after
		// the first round, none after the second; the last round ends it.
		for round in 1..=3u64 {
			run_to_block(drawn_at + round * DISPUTE_PERIOD);
		}
		let d = Disputes::<Test>::get(job).unwrap();
		assert!(d.stalled);
		assert!(events().contains(&Event::DisputeStalled { job }));
		let penalised: Balance = VERIFIERS.iter().map(|v| STAKE - stake(*v)).sum();
		assert!(committee.iter().all(|m| stake(*m) < STAKE), "silent members pay");
		// Anyone may end it: the requester gets its whole fee back, the
		// challenger its bond, the executor keeps its stake.
		assert_ok!(Inference::end_dispute(RuntimeOrigin::signed(PUBLISHER), job));
		assert!(events().contains(&Event::DisputeEnded { job, by: PUBLISHER }));
		assert_eq!(status(job), JobStatus::Failed(FailReason::NoVerdict));
		assert_eq!(free(REQUESTER), requester + FEE);
		assert_eq!(free(CHALLENGER), ENDOWMENT);
		assert_eq!(stake(EXECUTOR), STAKE);
		assert_eq!(free(TREASURY), ENDOWMENT + penalised);
		assert!(VERIFIERS.iter().all(|v| Duties::<Test>::get(v).is_empty()));
		assert!(Disputes::<Test>::get(job).is_none());
	});
}

#[test]
fn verifiers_who_keep_missing_duties_are_suspended_until_they_resume() {
	new_test_ext(|model| {
		// Three disputes nobody votes in: each seats three of the four
		// verifiers, then the fourth as a replacement, then stalls.
		let jobs: Vec<JobId> = (0..3).map(|_| submit_with_result(model, [0.1, 0.8, 0.1])).collect();
		for job in &jobs {
			assert_ok!(Inference::challenge(RuntimeOrigin::signed(CHALLENGER), *job, BOND));
		}
		run_to_block(System::block_number() + DRAW_DELAY as u64 + 2 * DISPUTE_PERIOD + 1);
		for job in &jobs {
			let d = Disputes::<Test>::get(job).unwrap();
			assert!(d.stalled, "{d:?} {:?} {}", Jobs::<Test>::get(job), System::block_number());
			assert_ok!(Inference::end_dispute(RuntimeOrigin::signed(REQUESTER), *job));
		}
		for v in VERIFIERS {
			assert_eq!(Verifiers::<Test>::get(v).unwrap().missed, 3);
			assert!(events().contains(&Event::VerifierSuspended { verifier: v }));
		}
		// Suspended verifiers sit on no committee: no challenge can be judged.
		let job = submit_with_result(model, [0.1, 0.8, 0.1]);
		assert_noop!(
			Inference::challenge(RuntimeOrigin::signed(CHALLENGER), job, BOND),
			Error::<Test>::NotEnoughVerifiers
		);
		// Until they resume; one that is not suspended cannot.
		for v in &VERIFIERS[..3] {
			assert_ok!(Inference::resume_verifier(RuntimeOrigin::signed(*v)));
			assert!(events().contains(&Event::VerifierResumed { verifier: *v }));
		}
		assert_noop!(
			Inference::resume_verifier(RuntimeOrigin::signed(VERIFIERS[0])),
			Error::<Test>::VerifierNotSuspended
		);
		let committee = challenge(job);
		assert!(!committee.contains(&VERIFIERS[3]));
		// A vote resets the count.
		vote(job, committee[0], Some([0.1, 0.8, 0.1]));
		assert_eq!(Verifiers::<Test>::get(committee[0]).unwrap().missed, 0);
	});
}

#[test]
fn governance_may_override_a_dispute_at_any_time() {
	new_test_ext(|model| {
		let job = submit_with_result(model, [0.1, 0.8, 0.1]);
		let committee = challenge(job);
		vote(job, committee[0], Some([0.1, 0.8, 0.1]));
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
		// Governance is no quorum: committee[0] voted otherwise, loses nothing.
		assert_eq!(stake(committee[0]), STAKE);
	});
}

#[test]
fn a_member_who_copies_the_executors_wrong_output_loses_stake_in_the_minority() {
	new_test_ext(|model| {
		// The executor lies; a lazy member copies its posted output instead
		// of running the model; two honest members outvote it.
		let job = submit_with_result(model, [0.8, 0.1, 0.1]);
		let committee = challenge(job);
		vote(job, committee[0], Some([0.8, 0.1, 0.1]));
		vote(job, committee[1], Some([0.1, 0.8, 0.1]));
		vote(job, committee[2], Some([0.1, 0.8, 0.1]));
		assert_eq!(status(job), JobStatus::Failed(FailReason::ExecutorSlashed));
		assert_eq!(stake(committee[0]), STAKE - MINORITY);
		assert_eq!(stake(committee[1]), STAKE);
		assert_eq!(stake(committee[2]), STAKE);
	});
}

#[test]
fn a_member_who_commits_but_does_not_reveal_is_replaced_before_anything_more_is_revealed() {
	new_test_ext(|model| {
		more_verifiers(3);
		let job = submit_with_result(model, [0.1, 0.8, 0.1]);
		let committee = challenge(job);
		let drawn_at = System::block_number();
		// c2 commits to an answer it then cannot (or will not) reveal: its
		// reveal with another answer does not match and is refused.
		vote(job, committee[0], Some([0.1, 0.8, 0.1]));
		vote(job, committee[1], Some([0.8, 0.1, 0.1]));
		commit(job, committee[2], &finding(Some([0.1, 0.8, 0.1])));
		assert!(Disputes::<Test>::get(job).unwrap().reveals_open());
		reveal_pending(job);
		assert_noop!(
			Inference::submit_verdict(
				RuntimeOrigin::signed(committee[2]),
				job,
				finding(Some([0.8, 0.1, 0.1])),
				salt(committee[2])
			),
			Error::<Test>::CommitMismatch
		);
		// The reveal period ends: c2 counts as silent, is penalised and
		// replaced; the newcomer must commit before it sees anything.
		let reveal_deadline = Jobs::<Test>::get(job).unwrap().deadline;
		assert!(reveal_deadline > drawn_at);
		run_to_block(reveal_deadline);
		let d = Disputes::<Test>::get(job).unwrap();
		assert!(!d.committee.contains(&committee[2]));
		assert!(!d.reveals_open(), "newcomers commit first");
		assert_eq!(stake(committee[2]), STAKE - PENALTY);
		let newcomer = *d.committee.iter().find(|m| !committee.contains(m)).unwrap();
		vote(job, newcomer, Some([0.1, 0.8, 0.1]));
		assert_eq!(status(job), JobStatus::Settled);
		// c1 was outvoted by the quorum.
		assert_eq!(stake(committee[1]), STAKE - MINORITY);
	});
}
