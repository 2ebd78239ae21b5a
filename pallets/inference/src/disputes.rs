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
	///
	/// Both count against the full `CommitteeSize`, not the members seated:
	/// a committee that could not be refilled never decides with fewer.
	pub(crate) fn quorum(dispute: &DisputeOf<T>) -> Option<(Outcome, Option<Vote>)> {
		let size = T::CommitteeSize::get();
		let needed = Self::quorum_size(size) as usize;
		let count = |v: &Vote| dispute.votes.iter().filter(|(_, x)| x == v).count();
		if let Some((_, v)) = dispute.votes.iter().find(|(_, v)| count(v) >= needed) {
			return Some((v.outcome(), Some(*v)));
		}
		(dispute.votes.len() >= size as usize).then_some((Outcome::Nondeterministic, None))
	}

	/// Whether `v` may take another dispute duty.
	fn has_room(v: &T::AccountId) -> bool {
		Duties::<T>::decode_len(v).unwrap_or(0) < T::MaxOpenDisputes::get() as usize
	}

	/// Opens a dispute on `job`: holds the challenger's bond and schedules
	/// the committee's draw `DRAW_DELAY` blocks later, from a block's VRF
	/// output that does not exist yet, so that neither the challenger (by
	/// choosing its block) nor the executor can pick the committee.
	pub(crate) fn open_dispute(
		job: JobId,
		mut j: JobOf<T>,
		challenger: Option<T::AccountId>,
		bond: BalanceOf<T>,
	) -> DispatchResult {
		// Refused now, rather than failing at the draw, when too few
		// verifiers could sit on the committee at all. Not an auditor's
		// disagreement: refusing it would leave an honest auditor to lapse;
		// its dispute is drawn from whoever is there, and with nobody it
		// stalls and ends without a verdict.
		let excluded: Vec<T::AccountId> =
			core::iter::once(j.executor.clone()).chain(challenger.clone()).collect();
		let auditing = challenger.is_some() && j.audit.pending_auditor() == challenger.as_ref();
		let candidates = Self::committee_candidates(&excluded, Self::has_room);
		ensure!(
			auditing || candidates.len() as u32 >= T::CommitteeSize::get(),
			Error::<T>::NotEnoughVerifiers
		);
		if let Some(c) = &challenger {
			Self::hold(HoldReason::ChallengeBond, c, bond)?;
		}
		// The auditor's challenge ends its audit; anyone else's makes the
		// audit moot.
		match &challenger {
			Some(c) if j.audit.pending_auditor() == Some(c) => {
				Self::end_audit(job, &mut j, AuditState::Challenged(c.clone()))
			}
			_ => Self::drop_audit_duty(job, &j),
		}
		let draw_at = Self::schedule(job, Self::now().saturating_add(DRAW_DELAY.into()))?;
		j.status = JobStatus::Disputed;
		j.deadline = draw_at;
		Jobs::<T>::insert(job, j);
		Self::deposit_event(Event::JobChallenged {
			job,
			challenger: challenger.clone(),
			bond,
			draw_at,
		});
		Disputes::<T>::insert(
			job,
			Dispute {
				challenger,
				bond,
				committee: BoundedVec::new(),
				commits: BoundedVec::new(),
				votes: BoundedVec::new(),
				round: 0,
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
		Self::close_dispute(job, &dispute);
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
		// A quorum decided: the members who voted otherwise computed (or
		// copied) an answer two thirds of the committee contradict.
		if let Some(decided) = decided_by {
			for (m, v) in dispute.votes.iter() {
				if *v != decided {
					Self::penalise_verifier(m, T::MinorityPenalty::get());
				}
			}
		}
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

	/// A dispute's scheduled step: the committee's draw (round 0), or the end
	/// of a voting round without a quorum. Then the members who did not vote
	/// are penalised and replaced by fresh draws, until `MaxDisputeRounds`
	/// rounds have passed: the dispute stalls, and anyone may end it.
	pub(crate) fn dispute_deadline(job: JobId, mut j: JobOf<T>, now: BlockNumberFor<T>) {
		let Some(mut dispute) = Disputes::<T>::get(job) else { return };
		if dispute.stalled {
			return;
		}
		// Never seated: the executor, the challenger, and anyone who already
		// sat on this committee.
		let mut excluded: Vec<T::AccountId> =
			core::iter::once(j.executor.clone()).chain(dispute.challenger.clone()).collect();
		excluded.extend(dispute.committee.iter().cloned());
		excluded.extend(FormerMembers::<T>::get(job));
		// Silent: in the commit phase, who did not commit; in the reveal
		// phase, who did not reveal (a reveal that does not match its
		// commitment is refused, so it counts as none).
		let voted = |m: &T::AccountId| dispute.votes.iter().any(|(v, _)| v == m);
		let revealing = dispute.reveals_open();
		let removed: Vec<T::AccountId> = dispute
			.committee
			.iter()
			.filter(|m| if revealing { !voted(m) } else { !dispute.committed(m) })
			.cloned()
			.collect();
		if dispute.round > 0 {
			for m in &removed {
				Self::penalise_verifier(m, T::VerifierPenalty::get());
				Self::note_missed(Staker::Verifier, m, true);
				Duties::<T>::mutate(m, |d| d.retain(|x| *x != job));
				// Bounded by every seat of every round.
				let _ = FormerMembers::<T>::try_mutate(job, |f| f.try_push(m.clone()));
			}
			dispute.committee.retain(|m| !removed.contains(m));
			dispute.commits.retain(|(m, _)| !removed.contains(m));
		}
		if dispute.round >= T::MaxDisputeRounds::get() {
			Self::stall(job, dispute);
			return;
		}
		let seats = T::CommitteeSize::get().saturating_sub(dispute.committee.len() as u32);
		let added = Self::draw_seats((job, dispute.round), seats, &excluded, Self::has_room);
		if dispute.committee.is_empty() && added.is_empty() {
			Self::stall(job, dispute);
			return;
		}
		for m in &added {
			// Room was checked by the draw; `has_room` bounds every list.
			let _ = Duties::<T>::try_mutate(m, |d| d.try_push(job));
			let _ = dispute.committee.try_push(m.clone());
		}
		// Newcomers commit before anything more is revealed (`reveals_open`).
		let deadline = match Self::schedule(job, now.saturating_add(T::DisputePeriod::get())) {
			Ok(deadline) => deadline,
			Err(_) => {
				Self::stall(job, dispute);
				return;
			}
		};
		dispute.round.saturating_inc();
		j.deadline = deadline;
		Jobs::<T>::insert(job, j);
		if dispute.round == 1 {
			Self::deposit_event(Event::CommitteeDrawn {
				job,
				committee: dispute.committee.to_vec(),
				deadline,
			});
		} else {
			Self::deposit_event(Event::CommitteeReplaced {
				job,
				removed,
				added,
				round: dispute.round,
				deadline,
			});
		}
		Disputes::<T>::insert(job, dispute);
	}

	/// Marks a dispute as stalled: [`Pallet::end_dispute`] may end it.
	fn stall(job: JobId, mut dispute: DisputeOf<T>) {
		dispute.stalled = true;
		Disputes::<T>::insert(job, dispute);
		Self::deposit_event(Event::DisputeStalled { job });
	}

	/// Ends a stalled dispute without a verdict; see [`Pallet::end_dispute`].
	pub(crate) fn do_end_dispute(who: T::AccountId, job: JobId) -> DispatchResult {
		let j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
		let dispute = Disputes::<T>::get(job).ok_or(Error::<T>::NoDispute)?;
		ensure!(dispute.stalled, Error::<T>::NotStalled);
		Self::close_dispute(job, &dispute);
		if let Some(c) = &dispute.challenger {
			Self::release(HoldReason::ChallengeBond, c, dispute.bond);
		}
		Self::deposit_event(Event::DisputeEnded { job, by: who });
		Self::fail(job, j, FailReason::NoVerdict);
		Ok(())
	}

	/// Removes a dispute's records and its members' duties; remembers who
	/// had committed without revealing ([`LateRevealers`]).
	fn close_dispute(job: JobId, dispute: &DisputeOf<T>) {
		Disputes::<T>::remove(job);
		let voted = |m: &T::AccountId| dispute.votes.iter().any(|(v, _)| v == m);
		let late: Vec<T::AccountId> =
			dispute.commits.iter().map(|(m, _)| m.clone()).filter(|m| !voted(m)).collect();
		if !late.is_empty() {
			// At most one per seat, as the commitments are.
			LateRevealers::<T>::insert(job, BoundedVec::truncate_from(late));
		}
		let _ = DissentingOutputs::<T>::clear_prefix(job, T::CommitteeSize::get(), None);
		FormerMembers::<T>::remove(job);
		for m in &dispute.committee {
			Duties::<T>::mutate(m, |d| d.retain(|x| *x != job));
		}
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

	/// What a committee member commits to: a hash of the job, the member,
	/// its finding and a secret salt (so that a commitment can be neither
	/// guessed from the finding nor replayed by another member).
	pub fn verdict_commitment(
		job: JobId,
		who: &T::AccountId,
		finding: &FindingOf<T>,
		salt: &[u8; 32],
	) -> sp_core::H256 {
		sp_core::H256(sp_io::hashing::blake2_256(
			&(b"verity/verdict", job, who, finding, salt).encode(),
		))
	}

	/// A committee member's commitment; see [`Pallet::commit_verdict`].
	pub(crate) fn do_commit_verdict(
		who: T::AccountId,
		job: JobId,
		commitment: sp_core::H256,
	) -> DispatchResult {
		let mut j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
		let mut dispute = Disputes::<T>::get(job).ok_or(Error::<T>::NoDispute)?;
		ensure!(dispute.committee.contains(&who), Error::<T>::NotInCommittee);
		ensure!(!dispute.reveals_open(), Error::<T>::NotCommitPhase);
		ensure!(!dispute.committed(&who), Error::<T>::AlreadyCommitted);
		dispute
			.commits
			.try_push((who.clone(), commitment))
			.map_err(|_| Error::<T>::AlreadyCommitted)?;
		Self::deposit_event(Event::VerdictCommitted { job, verifier: who });
		if dispute.reveals_open() {
			// Everyone seated is bound to an answer: reveals open, with a
			// full period to reveal.
			let deadline =
				Self::schedule(job, Self::now().saturating_add(T::DisputePeriod::get()))?;
			j.deadline = deadline;
			Jobs::<T>::insert(job, j);
			Self::deposit_event(Event::RevealOpened { job, deadline });
		}
		Disputes::<T>::insert(job, dispute);
		Ok(())
	}

	/// A committee member's revealed verdict; see [`Pallet::submit_verdict`].
	pub(crate) fn do_submit_verdict(
		who: T::AccountId,
		job: JobId,
		finding: FindingOf<T>,
		salt: [u8; 32],
	) -> DispatchResultWithPostInfo {
		let j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
		let Some(mut dispute) = Disputes::<T>::get(job) else {
			// Members reveal at the same time: the others decided it first.
			let late = LateRevealers::<T>::mutate_exists(job, |late| {
				let Some(l) = late else { return false };
				let before = l.len();
				l.retain(|m| m != &who);
				let was = l.len() < before;
				if l.is_empty() {
					*late = None;
				}
				was
			});
			ensure!(late, Error::<T>::NoDispute);
			return Ok(Pays::No.into());
		};
		ensure!(dispute.committee.contains(&who), Error::<T>::NotInCommittee);
		ensure!(dispute.votes.iter().all(|(v, _)| v != &who), Error::<T>::AlreadyVoted);
		let commitment = dispute
			.commits
			.iter()
			.find(|(m, _)| m == &who)
			.map(|(_, c)| *c)
			.ok_or(Error::<T>::NotCommitted)?;
		ensure!(dispute.reveals_open(), Error::<T>::NotRevealPhase);
		ensure!(
			Self::verdict_commitment(job, &who, &finding, &salt) == commitment,
			Error::<T>::CommitMismatch
		);
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
		Self::note_missed(Staker::Verifier, &who, false);
		Self::deposit_event(Event::VerdictSubmitted { job, verifier: who, vote });
		match Self::quorum(&dispute) {
			Some((outcome, decided_by)) => Self::resolve(job, j, dispute, outcome, decided_by),
			None => Disputes::<T>::insert(job, dispute),
		}
		Ok(().into())
	}

	/// Governance decides a dispute; see [`Pallet::resolve_dispute`].
	pub(crate) fn do_resolve_dispute(job: JobId, outcome: Outcome) -> DispatchResult {
		let j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
		let dispute = Disputes::<T>::get(job).ok_or(Error::<T>::NoDispute)?;
		Self::resolve(job, j, dispute, outcome, None);
		Ok(())
	}
}
