//! Disputes: challenges, committees, verdicts and their outcomes.

use super::*;

impl<T: Config> Pallet<T> {
	/// The vote of a member who re-executed `job` and got `theirs`: whether it
	/// agrees with the executor's output and, if not, which group of
	/// dissenters it agrees with (a new group when none). The first output of
	/// each group is kept in [`DissentingOutputs`] until the dispute ends.
	pub(crate) fn vote_for_output(
		job: JobId,
		policy: &VerificationPolicy,
		output: OutputOf<T>,
		theirs: &[verity_primitives::Tensor],
	) -> Vote {
		let executors = Outputs::<T>::get(job).and_then(|o| decode_tensors(&o).ok());
		// No output (the executor reported a fault) or a different one: the
		// member's output contradicts the executor.
		if executors.is_some_and(|ours| outputs_agree(policy, &ours, theirs)) {
			return Vote::Agrees;
		}
		let mut groups = 0u8;
		for (group, first) in DissentingOutputs::<T>::iter_prefix(job) {
			let same = decode_tensors(&first).is_ok_and(|f| outputs_agree(policy, &f, theirs));
			if same {
				return Vote::Disagrees { group };
			}
			groups = groups.max(group.saturating_add(1));
		}
		DissentingOutputs::<T>::insert(job, groups, output);
		Vote::Disagrees { group: groups }
	}

	/// Votes needed to decide: two thirds of the committee, rounded up.
	pub fn quorum_size(committee: u32) -> u32 {
		(committee.saturating_mul(2)).div_ceil(3).max(1)
	}

	/// The dispute's outcome, once decided, with the vote that decided it:
	/// a quorum of one vote (for a dissent, of one group of dissenters who
	/// agree with each other), or, once every member voted without a quorum,
	/// [`Outcome::Nondeterministic`] (no winning vote).
	pub(crate) fn quorum(dispute: &DisputeOf<T>) -> Option<(Outcome, Option<Vote>)> {
		let needed = Self::quorum_size(dispute.committee.len() as u32) as usize;
		let count = |v: &Vote| dispute.votes.iter().filter(|(_, x)| x == v).count();
		if let Some((_, v)) = dispute.votes.iter().find(|(_, v)| count(v) >= needed) {
			return Some((v.outcome(), Some(*v)));
		}
		(dispute.votes.len() >= dispute.committee.len())
			.then_some((Outcome::Nondeterministic, None))
	}

	pub(crate) fn open_dispute(
		job: JobId,
		mut j: JobOf<T>,
		challenger: Option<T::AccountId>,
		bond: BalanceOf<T>,
	) -> DispatchResult {
		let excluded: Vec<T::AccountId> =
			core::iter::once(j.executor.clone()).chain(challenger.clone()).collect();
		let has_room = |v: &T::AccountId| {
			Duties::<T>::decode_len(v).unwrap_or(0) < T::MaxOpenDisputes::get() as usize
		};
		let drawn = Self::draw_committee(job, T::CommitteeSize::get(), &excluded, has_room)?;
		let committee = BoundedVec::<T::AccountId, T::CommitteeSize>::try_from(drawn)
			.map_err(|_| Error::<T>::NotEnoughVerifiers)?;
		if let Some(c) = &challenger {
			Self::hold(HoldReason::ChallengeBond, c, bond)?;
		}
		let deadline = Self::schedule(job, Self::now().saturating_add(T::DisputePeriod::get()))?;
		for m in &committee {
			Duties::<T>::try_mutate(m, |d| d.try_push(job))
				.map_err(|_| Error::<T>::NotEnoughVerifiers)?;
		}
		j.status = JobStatus::Disputed;
		j.deadline = deadline;
		Jobs::<T>::insert(job, j);
		Self::deposit_event(Event::JobChallenged {
			job,
			challenger: challenger.clone(),
			bond,
			committee: committee.to_vec(),
			deadline,
		});
		Disputes::<T>::insert(
			job,
			Dispute {
				challenger,
				bond,
				committee,
				votes: BoundedVec::new(),
				extended: false,
				stalled: false,
			},
		);
		Ok(())
	}

	/// Ends a dispute with `outcome`; `decided_by` is the vote of the quorum
	/// (its voters share the rewards), `None` when governance decided or no
	/// quorum formed (then the voters whose vote means `outcome` share them).
	pub(crate) fn resolve(
		job: JobId,
		j: JobOf<T>,
		dispute: DisputeOf<T>,
		outcome: Outcome,
		decided_by: Option<Vote>,
	) {
		Disputes::<T>::remove(job);
		let _ = DissentingOutputs::<T>::clear_prefix(job, T::CommitteeSize::get(), None);
		for m in &dispute.committee {
			Duties::<T>::mutate(m, |d| d.retain(|x| *x != job));
		}
		let winners: Vec<T::AccountId> = dispute
			.votes
			.iter()
			.filter(|(_, v)| match decided_by {
				Some(d) => *v == d,
				None => v.outcome() == outcome,
			})
			.map(|(a, _)| a.clone())
			.collect();
		Self::deposit_event(Event::DisputeResolved { job, outcome });
		match outcome {
			Outcome::ExecutorWrong => {
				let stake = Self::stake_of(Staker::Executor, &j.executor);
				let slash = Self::slash_stake(
					Staker::Executor,
					&j.executor,
					T::ExecutorSlash::get() * stake,
				);
				let total = slash.peek();
				let (to_verifiers, mut rest) = slash.split(T::VerifierReward::get() * total);
				Self::share(to_verifiers, &winners);
				if let Some(c) = &dispute.challenger {
					Self::release(HoldReason::ChallengeBond, c, dispute.bond);
					let (reward, left) = rest.split(T::ChallengerReward::get() * total);
					rest = left;
					Self::reward(c, reward);
				}
				Self::to_treasury(rest);
				Self::fail(job, j, FailReason::ExecutorSlashed);
			}
			Outcome::ExecutorRight => {
				if let Some(c) = &dispute.challenger {
					let bond = Self::slash(HoldReason::ChallengeBond, c, dispute.bond);
					let executor_share = T::ExecutorShare::get() * bond.peek();
					let (to_executor, rest) = bond.split(executor_share);
					Self::reward(&j.executor, to_executor);
					Self::share(rest, &winners);
				}
				if j.output_hash.is_some() {
					Self::settle(job, j);
				} else {
					// Defensive: a member's output never agrees with a missing
					// one, so a reported fault cannot end here.
					Self::fail(job, j, FailReason::ExecutorSlashed);
				}
			}
			Outcome::ModelUnrunnable | Outcome::Nondeterministic => {
				// The publisher's fault: the model fails on valid input, or
				// honest nodes cannot reproduce its answers.
				if let Some(c) = &dispute.challenger {
					Self::release(HoldReason::ChallengeBond, c, dispute.bond);
				}
				if let Err(e) = T::Models::disable_and_slash(&j.model) {
					log::warn!(target: LOG_TARGET, "model of job {job} not slashed: {e:?}");
				}
				let reason = match outcome {
					Outcome::ModelUnrunnable => FailReason::ModelUnrunnable,
					_ => FailReason::Nondeterministic,
				};
				Self::fail(job, j, reason);
			}
			Outcome::InputTooLarge => {
				// Nobody's fault: the requester asked for more than the
				// engine's limits allow, and pays the executor for trying.
				if let Some(c) = &dispute.challenger {
					Self::release(HoldReason::ChallengeBond, c, dispute.bond);
				}
				Self::fail(job, j, FailReason::InputTooLarge);
			}
		}
	}

	pub(crate) fn dispute_deadline(job: JobId, mut j: JobOf<T>, now: BlockNumberFor<T>) {
		let Some(mut dispute) = Disputes::<T>::get(job) else { return };
		if dispute.extended {
			dispute.stalled = true;
			Disputes::<T>::insert(job, dispute);
			Self::deposit_event(Event::DisputeStalled { job });
			return;
		}
		let penalised: Vec<T::AccountId> = dispute
			.committee
			.iter()
			.filter(|m| dispute.votes.iter().all(|(v, _)| v != *m))
			.cloned()
			.collect();
		for m in &penalised {
			let stake = Self::stake_of(Staker::Verifier, m);
			let credit = Self::slash_stake(Staker::Verifier, m, T::VerifierPenalty::get() * stake);
			Self::to_treasury(credit);
		}
		dispute.extended = true;
		match Self::schedule(job, now.saturating_add(T::DisputePeriod::get())) {
			Ok(deadline) => {
				j.deadline = deadline;
				Jobs::<T>::insert(job, j);
				Self::deposit_event(Event::DisputeExtended { job, penalised, deadline });
			}
			Err(_) => {
				dispute.stalled = true;
				Self::deposit_event(Event::DisputeStalled { job });
			}
		}
		Disputes::<T>::insert(job, dispute);
	}

	/// The assigned executor reports why it cannot post a result; see
	/// [`Pallet::report_fault`].
	pub(crate) fn do_report_fault(who: T::AccountId, job: JobId, fault: Fault) -> DispatchResult {
		let j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
		ensure!(j.executor == who, Error::<T>::NotAssignedExecutor);
		ensure!(j.status == JobStatus::Assigned, Error::<T>::NotAwaitingResult);
		Self::deposit_event(Event::FaultReported { job, executor: who, fault });
		Declines::<T>::remove(job);
		Self::open_dispute(job, j, None, Zero::zero())
	}

	/// Challenges `job`'s result; see [`Pallet::challenge`].
	pub(crate) fn do_challenge(
		who: T::AccountId,
		job: JobId,
		bond: BalanceOf<T>,
	) -> DispatchResult {
		let j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
		ensure!(j.status == JobStatus::Submitted, Error::<T>::NotChallengeable);
		ensure!(Self::now() < j.deadline, Error::<T>::ChallengeWindowClosed);
		ensure!(j.executor != who, Error::<T>::SelfChallenge);
		ensure!(bond >= T::ChallengeBond::get(), Error::<T>::BondTooLow);
		Self::open_dispute(job, j, Some(who), bond)
	}

	/// A committee member's verdict; see [`Pallet::submit_verdict`].
	pub(crate) fn do_submit_verdict(
		who: T::AccountId,
		job: JobId,
		finding: FindingOf<T>,
	) -> DispatchResult {
		let j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
		let mut dispute = Disputes::<T>::get(job).ok_or(Error::<T>::NoDispute)?;
		ensure!(dispute.committee.contains(&who), Error::<T>::NotInCommittee);
		ensure!(dispute.votes.iter().all(|(v, _)| v != &who), Error::<T>::AlreadyVoted);
		let vote = match finding {
			Finding::ModelFault => Vote::Unrunnable,
			Finding::InputTooLarge => Vote::InputTooLarge,
			Finding::Output(out) => {
				let model = T::Models::model(&j.model).ok_or(Error::<T>::ModelNotFound)?;
				let theirs = decode_tensors(&out).map_err(|_| Error::<T>::InvalidOutput)?;
				check_tensors(&theirs, &model.outputs).map_err(|_| Error::<T>::InvalidOutput)?;
				Self::vote_for_output(job, &model.policy, out, &theirs)
			}
		};
		dispute.votes.try_push((who.clone(), vote)).map_err(|_| Error::<T>::AlreadyVoted)?;
		Duties::<T>::mutate(&who, |d| d.retain(|x| *x != job));
		Self::deposit_event(Event::VerdictSubmitted { job, verifier: who, vote });
		match Self::quorum(&dispute) {
			Some((outcome, decided_by)) => Self::resolve(job, j, dispute, outcome, decided_by),
			None => Disputes::<T>::insert(job, dispute),
		}
		Ok(())
	}

	/// Governance ends a stalled dispute; see [`Pallet::resolve_dispute`].
	pub(crate) fn do_resolve_dispute(job: JobId, outcome: Outcome) -> DispatchResult {
		let j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
		let dispute = Disputes::<T>::get(job).ok_or(Error::<T>::NoDispute)?;
		ensure!(dispute.stalled, Error::<T>::NotStalled);
		Self::resolve(job, j, dispute, outcome, None);
		Ok(())
	}
}
