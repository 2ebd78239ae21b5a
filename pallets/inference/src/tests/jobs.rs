//! Submitting jobs, posting results, settling, timing out and pruning.

use super::*;

#[test]
fn submit_job_escrows_the_fee_and_draws_the_executor_two_blocks_later() {
	new_test_ext(|model| {
		let job = NextJobId::<Test>::get();
		assert_ok!(try_submit(model));
		assert_eq!(held(HoldReason::JobEscrow, REQUESTER), FEE);
		assert_eq!(free(REQUESTER), ENDOWMENT - FEE);
		assert_eq!(Inputs::<Test>::get(job), Some(input()));
		assert_eq!(JobsInFlight::<Test>::get(model), 1);
		// Nobody is assigned in the submission's block.
		let draw_at = 1 + DRAW_DELAY as u64;
		assert_eq!(QueuedJobs::<Test>::get(job).unwrap().draw_at, draw_at);
		assert!(!Jobs::<Test>::contains_key(job));
		assert!(Assignments::<Test>::get(EXECUTOR).is_empty());
		assert_eq!(
			events(),
			vec![Event::JobSubmitted { job, model, requester: REQUESTER, fee: FEE, draw_at }]
		);
		run_to_block(draw_at);
		assert!(!QueuedJobs::<Test>::contains_key(job));
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!((j.requester, j.executor, j.model), (REQUESTER, EXECUTOR, model));
		assert_eq!(
			j.fees,
			Fees { price: PRICE, executor: EXECUTOR_FEE, protocol: PROTOCOL_FEE, audit: 0 }
		);
		assert_eq!(j.submitted_at, 1);
		assert_eq!((j.status, j.deadline), (JobStatus::Assigned, draw_at + RESULT_TIMEOUT));
		assert_eq!(Assignments::<Test>::get(EXECUTOR).to_vec(), vec![job]);
		assert!(events().contains(&Event::JobAssigned {
			job,
			executor: EXECUTOR,
			deadline: draw_at + RESULT_TIMEOUT
		}));
	});
}

#[test]
fn a_requester_cannot_pick_its_executor_by_choosing_its_block() {
	// Same chain, same job in the same block: only the VRF output of the
	// block after the submission, unknown when it was made, differs.
	let executor_with = |vrf: [u8; 32]| {
		let mut executor = 0;
		new_test_ext(|model| {
			assert_ok!(Inference::register_executor(
				RuntimeOrigin::signed(EXECUTOR_2),
				STAKE,
				None
			));
			let job = NextJobId::<Test>::get();
			assert_ok!(try_submit(model));
			set_vrf(2, vrf);
			assigned(job);
			executor = Jobs::<Test>::get(job).unwrap().executor;
		});
		executor
	};
	let executors: std::collections::BTreeSet<AccountId> =
		(0u8..8).map(|i| executor_with([i; 32])).collect();
	assert_eq!(executors.len(), 2, "the executor follows the later VRF output");
}

#[test]
fn a_queued_job_nobody_can_take_at_its_draw_fails_with_a_full_refund() {
	new_test_ext(|model| {
		let job = NextJobId::<Test>::get();
		assert_ok!(try_submit(model));
		// The only executor leaves before the draw.
		assert_ok!(Inference::unbond_executor(RuntimeOrigin::signed(EXECUTOR)));
		run_to_block(1 + DRAW_DELAY as u64);
		assert!(!QueuedJobs::<Test>::contains_key(job) && !Jobs::<Test>::contains_key(job));
		assert!(events().contains(&Event::JobFailed {
			job,
			reason: FailReason::NoExecutor,
			refund: FEE
		}));
		assert_eq!(free(REQUESTER), ENDOWMENT);
		assert_eq!(Inputs::<Test>::get(job), None);
		assert_eq!(JobsInFlight::<Test>::get(model), 0);
	});
}

#[test]
fn jobs_are_refused_for_missing_or_inactive_models() {
	new_test_ext(|model| {
		let origin = || RuntimeOrigin::signed(REQUESTER);
		assert_noop!(
			Inference::submit_job(
				origin(),
				ModelId::repeat_byte(7),
				input(),
				FEE,
				VerificationMode::Optimistic
			),
			Error::<Test>::ModelNotFound
		);
		assert_ok!(Registry::deprecate(RuntimeOrigin::signed(PUBLISHER), model));
		assert_noop!(
			Inference::submit_job(origin(), model, input(), FEE, VerificationMode::Optimistic),
			Error::<Test>::ModelNotActive
		);
	});
}

#[test]
fn inputs_must_match_the_declared_tensors() {
	new_test_ext(|model| {
		let submit = |bytes: Vec<u8>| {
			Inference::submit_job(
				RuntimeOrigin::signed(REQUESTER),
				model,
				BoundedVec::try_from(bytes).unwrap(),
				FEE,
				VerificationMode::Optimistic,
			)
		};
		// Not tensors at all.
		assert_noop!(submit(vec![1, 2, 3]), Error::<Test>::InvalidInput);
		// Tensors, but the output's shape, not the input's.
		assert_noop!(submit(output([1., 2., 3.]).into_inner()), Error::<Test>::InvalidInput);
		// Right name and shape, data one element short.
		let mut short = input().into_inner();
		let t = verity_primitives::decode_tensors(&short).unwrap();
		let mut t = t[0].clone();
		t.data.truncate(12);
		short = vec![t].encode();
		assert_noop!(submit(short), Error::<Test>::InvalidInput);
		assert_eq!(free(REQUESTER), ENDOWMENT);
	});
}

#[test]
fn fees_above_the_maximum_or_the_balance_are_refused() {
	new_test_ext(|model| {
		assert_noop!(
			Inference::submit_job(
				RuntimeOrigin::signed(REQUESTER),
				model,
				input(),
				FEE - 1,
				VerificationMode::Optimistic
			),
			Error::<Test>::FeeAboveMax
		);
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
	});
}

#[test]
fn no_executor_means_no_job_and_never_the_requesters_own() {
	new_test_ext(|model| {
		// The only executor asks: it cannot be assigned its own job.
		assert_noop!(
			Inference::submit_job(
				RuntimeOrigin::signed(EXECUTOR),
				model,
				input(),
				FEE,
				VerificationMode::Optimistic
			),
			Error::<Test>::NoExecutorAvailable
		);
		// An executor restricted to other models is not assigned either.
		let other = publish_model(b"other-model", VerificationPolicy::ArgMax);
		assert_ok!(Inference::unbond_executor(RuntimeOrigin::signed(EXECUTOR)));
		let only_other = BoundedVec::try_from(vec![other]).unwrap();
		assert_ok!(Inference::register_executor(
			RuntimeOrigin::signed(EXECUTOR_2),
			STAKE,
			Some(only_other)
		));
		assert_noop!(try_submit(model), Error::<Test>::NoExecutorAvailable);
		assert_ok!(try_submit(other));
	});
}

#[test]
fn assignment_is_spread_by_stake() {
	new_test_ext(|model| {
		assert_ok!(Inference::register_executor(
			RuntimeOrigin::signed(EXECUTOR_2),
			STAKE * 3,
			None
		));
		let mut counts = [0u32; 2];
		for block in 2..42 {
			run_to_block(block);
			let job = submit_vanilla(model);
			let e = Jobs::<Test>::get(job).unwrap().executor;
			counts[(e == EXECUTOR_2) as usize] += 1;
			// Answered at once: nobody misses a deadline or fills up.
			post(job, [1., 0., 0.]);
		}
		// 40 draws at 1:3 odds: both are picked, the larger stake more often.
		assert!(counts[0] > 0 && counts[1] > counts[0], "{counts:?}");
	});
}

#[test]
fn only_the_assigned_executor_commits_and_reveals_one_valid_result() {
	new_test_ext(|model| {
		let job = submit(model);
		let out = output([1., 0., 0.]);
		let commitment = Inference::result_commitment(job, &EXECUTOR, &out, &RESULT_SALT);
		let commit =
			|who, job| Inference::commit_result(RuntimeOrigin::signed(who), job, commitment);
		let reveal = |out: OutputOf<Test>, salt| {
			Inference::reveal_result(RuntimeOrigin::signed(EXECUTOR), job, out, salt)
		};
		assert_noop!(commit(EXECUTOR_2, job), Error::<Test>::NotAssignedExecutor);
		assert_noop!(commit(EXECUTOR, 99), Error::<Test>::JobNotFound);
		// An optimistic output is never posted in the clear.
		assert_noop!(
			Inference::submit_result(RuntimeOrigin::signed(EXECUTOR), job, out.clone()),
			Error::<Test>::CommitRequired
		);
		assert_noop!(reveal(out.clone(), RESULT_SALT), Error::<Test>::NotCommitted);
		assert_ok!(commit(EXECUTOR, job));
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!((j.status, j.commitment), (JobStatus::Committed, Some(commitment)));
		assert_eq!(Outputs::<Test>::get(job), None, "the output stays hidden");
		// At audit rate zero no draw is needed: the reveal is due within
		// `ResultTimeout`.
		assert_eq!(j.audit, AuditState::NotSelected);
		assert!(events().contains(&Event::ResultCommitted {
			job,
			executor: EXECUTOR,
			draw_at: None,
			reveal_by: ASSIGNED_AT + RESULT_TIMEOUT,
		}));
		assert_noop!(commit(EXECUTOR, job), Error::<Test>::NotAwaitingResult);
		// Another output, or another salt, is not what was committed.
		assert_noop!(reveal(output([0., 1., 0.]), RESULT_SALT), Error::<Test>::CommitMismatch);
		assert_noop!(reveal(out.clone(), [0; 32]), Error::<Test>::CommitMismatch);
		// A committed output that is not the model's declared output.
		let bad = BoundedVec::try_from(input().into_inner()).unwrap();
		let bad_commitment = Inference::result_commitment(job, &EXECUTOR, &bad, &RESULT_SALT);
		Jobs::<Test>::mutate(job, |j| j.as_mut().unwrap().commitment = Some(bad_commitment));
		assert_noop!(reveal(bad, RESULT_SALT), Error::<Test>::InvalidOutput);
		Jobs::<Test>::mutate(job, |j| j.as_mut().unwrap().commitment = Some(commitment));
		assert_noop!(
			Inference::reveal_result(
				RuntimeOrigin::signed(EXECUTOR_2),
				job,
				out.clone(),
				RESULT_SALT
			),
			Error::<Test>::NotAssignedExecutor
		);
		assert_ok!(reveal(out.clone(), RESULT_SALT));
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!((j.status, j.deadline), (JobStatus::Submitted, ASSIGNED_AT + CHALLENGE_PERIOD));
		assert_eq!(Outputs::<Test>::get(job), Some(out.clone()));
		assert_noop!(reveal(out, RESULT_SALT), Error::<Test>::NotCommitted);
	});
}

#[test]
fn a_committed_output_never_revealed_times_out() {
	new_test_ext(|model| {
		let job = submit(model);
		commit_output(job, [1., 0., 0.]);
		run_to_block(ASSIGNED_AT + RESULT_TIMEOUT);
		assert_eq!(status(job), JobStatus::Failed(FailReason::TimedOut));
		assert_eq!(free(REQUESTER), ENDOWMENT);
		assert_eq!(stake(EXECUTOR), STAKE - 2 * FEE);
	});
}

#[test]
fn a_vanilla_result_is_posted_at_once_and_cannot_be_committed() {
	new_test_ext(|model| {
		let job = submit_vanilla(model);
		assert_noop!(
			Inference::commit_result(RuntimeOrigin::signed(EXECUTOR), job, Default::default()),
			Error::<Test>::NotOptimistic
		);
		assert_ok!(Inference::submit_result(
			RuntimeOrigin::signed(EXECUTOR),
			job,
			output([1., 0., 0.])
		));
		assert_eq!(status(job), JobStatus::Settled);
	});
}

#[test]
fn an_unchallenged_job_settles_when_its_window_closes() {
	new_test_ext(|model| {
		let job = submit_with_result(model, [0.2, 0.7, 0.1]);
		let publisher_before = free(PUBLISHER);
		run_to_block(ASSIGNED_AT + CHALLENGE_PERIOD - 1);
		assert_eq!(status(job), JobStatus::Submitted);
		run_to_block(ASSIGNED_AT + CHALLENGE_PERIOD);
		assert_eq!(status(job), JobStatus::Settled);

		assert_eq!(free(REQUESTER), ENDOWMENT - FEE);
		assert_eq!(held(HoldReason::JobEscrow, REQUESTER), 0);
		assert_eq!(free(PUBLISHER), publisher_before + PRICE);
		assert_eq!(free(EXECUTOR), ENDOWMENT - STAKE + EXECUTOR_FEE);
		assert_eq!(free(TREASURY), ENDOWMENT + PROTOCOL_FEE);
		assert!(Assignments::<Test>::get(EXECUTOR).is_empty());
		assert_eq!(JobsInFlight::<Test>::get(model), 0);
		assert!(events().contains(&Event::JobSettled {
			job,
			executor: EXECUTOR,
			fee: EXECUTOR_FEE,
			price: PRICE,
			protocol_fee: PROTOCOL_FEE,
		}));
	});
}

#[test]
fn a_job_without_a_result_times_out_refunds_and_slashes() {
	new_test_ext(|model| {
		let job = submit(model);
		run_to_block(ASSIGNED_AT + RESULT_TIMEOUT);
		assert_eq!(status(job), JobStatus::Failed(FailReason::TimedOut));
		assert_eq!(free(REQUESTER), ENDOWMENT);
		// TimeoutPenalty: twice the job's fee, not a share of the whole stake.
		let slash = 2 * FEE;
		assert_eq!(stake(EXECUTOR), STAKE - slash);
		assert_eq!(held(HoldReason::ExecutorStake, EXECUTOR), STAKE - slash);
		assert_eq!(free(TREASURY), ENDOWMENT + slash);
		assert!(events().contains(&Event::JobFailed {
			job,
			reason: FailReason::TimedOut,
			refund: FEE
		}));
		// Too late now.
		assert_noop!(
			Inference::submit_result(RuntimeOrigin::signed(EXECUTOR), job, output([1., 0., 0.])),
			Error::<Test>::NotAwaitingResult
		);
	});
}

#[test]
fn outputs_stay_readable_for_the_retention_period_then_are_pruned() {
	new_test_ext(|model| {
		let job = submit_with_result(model, [0.2, 0.7, 0.1]);
		let settled_at = ASSIGNED_AT + CHALLENGE_PERIOD;
		run_to_block(settled_at + RETENTION - 1);
		assert_eq!(
			Inference::job_with_output(job).unwrap().1,
			Some(output([0.2, 0.7, 0.1]).into_inner())
		);
		run_to_block(settled_at + RETENTION);
		assert!(Inference::job_with_output(job).is_none());
		assert!(Inputs::<Test>::get(job).is_none() && Outputs::<Test>::get(job).is_none());
		assert!(events().contains(&Event::JobPruned { job }));
	});
}

#[test]
fn a_model_with_jobs_in_flight_cannot_be_retired() {
	new_test_ext(|model| {
		let job = submit_with_result(model, [0.2, 0.7, 0.1]);
		assert_ok!(Registry::deprecate(RuntimeOrigin::signed(PUBLISHER), model));
		assert_noop!(
			Registry::retire(RuntimeOrigin::signed(PUBLISHER), model),
			pallet_model_registry::Error::<Test>::ModelInUse
		);
		// The deprecated model's running job still settles, then it can go.
		run_to_block(ASSIGNED_AT + CHALLENGE_PERIOD);
		assert_eq!(status(job), JobStatus::Settled);
		assert_ok!(Registry::retire(RuntimeOrigin::signed(PUBLISHER), model));
	});
}
