//! Automatic audits: nobody has to challenge for a lie to be checked.
//!
//! An optimistic job's executor first commits to its output
//! ([`Pallet::commit_result`]). When that commitment is included in block N,
//! the audit is drawn in block N + [`DRAW_DELAY`] from block N + 1's VRF
//! output: with probability [`AuditRate`] one verifier (weighted by stake,
//! never the executor or the requester) is drawn to re-execute the job.
//! Neither the executor nor anyone else knows, when the result is
//! committed, whether it will be audited.
//!
//! Checkers never see the answer they check: the auditor re-executes the
//! job and commits to its own finding ([`Pallet::commit_audit`]) while the
//! executor's output is still hidden; only then may the executor reveal it
//! ([`Pallet::reveal_result`]), and then the auditor reveals its finding
//! ([`Pallet::reveal_audit`]). The pallet compares the two under the
//! model's policy: agreement pays the auditor `AuditReward` from the
//! treasury (which every optimistic job pays an audit premium of
//! `AuditReward` x the audit rate); anything else opens a dispute with the
//! auditor as challenger, holding its bond, and the committee decides. An
//! auditor that lets its commit or reveal deadline pass loses
//! `VerifierPenalty` of its stake and the duty counts as missed.

use super::*;

impl<T: Config> Pallet<T> {
	/// The probability that a result of `model` is audited.
	pub fn audit_rate(model: &ModelId) -> Perbill {
		ModelAuditRates::<T>::get(model).unwrap_or_else(AuditRate::<T>::get)
	}

	/// Schedules the audit draw of `job` (on `model`), whose result was just
	/// posted: in `DRAW_DELAY` blocks, or the first later block with room.
	/// Returns the block (`None`: the model's audit rate is zero).
	pub(crate) fn schedule_audit_draw(job: JobId, model: &ModelId) -> Option<BlockNumberFor<T>> {
		if Self::audit_rate(model).is_zero() {
			return None;
		}
		Some(Self::schedule_draw(Draw::Audit(job)))
	}

	/// Schedules `draw` in `DRAW_DELAY` blocks, or the first later block with
	/// room; returns the block. [`NextDrawSlot`] is the first block that may
	/// have room: blocks before it are full, blocks after it still empty, so
	/// at most two blocks are tried.
	pub(crate) fn schedule_draw(draw: Draw) -> BlockNumberFor<T> {
		let earliest = Self::now().saturating_add(DRAW_DELAY.into());
		let mut block = NextDrawSlot::<T>::get().max(earliest);
		loop {
			if Draws::<T>::try_mutate(block, |list| list.try_push(draw)).is_ok() {
				NextDrawSlot::<T>::put(block);
				return block;
			}
			block.saturating_inc();
		}
	}

	/// Runs the draws due in block `now`.
	pub(crate) fn process_draws(now: BlockNumberFor<T>) -> Weight {
		let mut weight = T::DbWeight::get().reads_writes(1, 1);
		for draw in Draws::<T>::take(now) {
			match draw {
				Draw::Assignment(job) => {
					Self::draw_assignment(job);
					weight
						.saturating_accrue(T::WeightInfo::draw_assignment(T::MaxExecutors::get()));
				}
				Draw::Audit(job) => {
					Self::draw_audit(job);
					weight.saturating_accrue(T::WeightInfo::draw_audit());
				}
				Draw::Admission(model) => {
					Self::draw_admission(model);
					weight.saturating_accrue(Self::draw_weight());
				}
			}
		}
		weight
	}

	/// Decides whether `job` is audited and by whom.
	pub(crate) fn draw_audit(job: JobId) {
		let Some(mut j) = Jobs::<T>::get(job) else { return };
		// Failed or reassigned meanwhile: nothing left to audit.
		if j.status != JobStatus::Committed || j.audit != AuditState::Undecided {
			return;
		}
		let rate = Self::audit_rate(&j.model);
		let point = (Self::random((job, b"audit"), 0) % 1_000_000_000) as u32;
		let has_room = |v: &T::AccountId| {
			AuditDuties::<T>::decode_len(v).unwrap_or(0) < T::MaxOpenDisputes::get() as usize
		};
		let excluded = [j.executor.clone(), j.requester.clone()];
		let auditor = (point < rate.deconstruct())
			.then(|| Self::draw_seats((job, b"audit"), 1, &excluded, has_room).pop())
			.flatten();
		j.audit = match auditor {
			Some(a) if AuditDuties::<T>::try_mutate(&a, |d| d.try_push(job)).is_ok() => {
				Self::deposit_event(Event::AuditorDrawn { job, auditor: a.clone() });
				AuditState::Selected(a)
			}
			_ => AuditState::NotSelected,
		};
		Jobs::<T>::insert(job, j);
	}

	/// The auditor's commitment to its finding; see [`Pallet::commit_audit`].
	pub(crate) fn do_commit_audit(
		who: T::AccountId,
		job: JobId,
		commitment: sp_core::H256,
	) -> DispatchResult {
		let mut j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
		ensure!(j.audit == AuditState::Selected(who.clone()), Error::<T>::NotAuditor);
		ensure!(j.status == JobStatus::Committed, Error::<T>::NotCommitPhase);
		j.audit = AuditState::Committed(who.clone(), commitment);
		// The executor may reveal now, with the full `ResultTimeout` to do it.
		j.deadline = Self::schedule(job, Self::now().saturating_add(T::ResultTimeout::get()))?;
		Jobs::<T>::insert(job, j);
		Self::deposit_event(Event::AuditCommitted { job, auditor: who });
		Ok(())
	}

	/// The auditor reveals its finding; see [`Pallet::reveal_audit`].
	pub(crate) fn do_reveal_audit(
		who: T::AccountId,
		job: JobId,
		finding: FindingOf<T>,
		salt: [u8; 32],
	) -> DispatchResult {
		let mut j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
		let AuditState::Committed(auditor, commitment) = &j.audit else {
			return Err(Error::<T>::NotAuditor.into());
		};
		ensure!(*auditor == who, Error::<T>::NotAuditor);
		ensure!(j.status == JobStatus::Submitted, Error::<T>::NotRevealPhase);
		ensure!(
			Self::verdict_commitment(job, &who, &finding, &salt) == *commitment,
			Error::<T>::CommitMismatch
		);
		let model = T::Models::model(&j.model).ok_or(Error::<T>::ModelNotFound)?;
		let agrees = match &finding {
			Finding::Output(ours) => {
				let ours = decode_tensors(ours).map_err(|_| Error::<T>::InvalidOutput)?;
				check_tensors(&ours, &model.outputs).map_err(|_| Error::<T>::InvalidOutput)?;
				let posted = Outputs::<T>::get(job).and_then(|o| decode_tensors(&o).ok());
				posted.is_some_and(|posted| outputs_agree(&model.policy, &posted, &ours))
			}
			Finding::ModelFault | Finding::InputTooLarge => false,
		};
		Self::note_missed(Staker::Verifier, &who, false);
		if !agrees {
			// The auditor challenges with its own bond; the committee decides.
			return Self::open_dispute(job, j, Some(who), T::ChallengeBond::get());
		}
		Self::end_audit(job, &mut j, AuditState::Passed(who.clone()));
		Jobs::<T>::insert(job, j);
		let reward = Self::pay_auditor(&who);
		Self::deposit_event(Event::AuditPassed { job, auditor: who, reward });
		Ok(())
	}

	/// Pays a passed audit's auditor `AuditReward` from the treasury (as
	/// much of it as the treasury can spend); returns what was paid.
	fn pay_auditor(auditor: &T::AccountId) -> BalanceOf<T> {
		use frame_support::traits::tokens::Preservation;
		let treasury = T::Treasury::get();
		let spendable =
			T::Currency::reducible_balance(&treasury, Preservation::Preserve, Fortitude::Polite);
		let reward = T::AuditReward::get().min(spendable);
		match T::Currency::transfer(&treasury, auditor, reward, Preservation::Preserve) {
			Ok(_) => reward,
			Err(e) => {
				log::warn!(target: LOG_TARGET, "audit reward not paid: {e:?}");
				Zero::zero()
			}
		}
	}

	/// The auditor of `j` let a deadline pass (commit before the executor's
	/// reveal, or reveal before the window closed): it loses
	/// `VerifierPenalty` of its stake and the duty counts as missed.
	pub(crate) fn lapse_audit(job: JobId, j: &mut JobOf<T>) {
		let Some(auditor) = j.audit.pending_auditor().cloned() else { return };
		Self::penalise_verifier(&auditor, T::VerifierPenalty::get());
		Self::note_missed(Staker::Verifier, &auditor, true);
		Self::end_audit(job, j, AuditState::Lapsed(auditor.clone()));
		Self::deposit_event(Event::AuditLapsed { job, auditor });
	}

	/// Ends `job`'s pending audit, if any, with `state`: the auditor's duty
	/// is done.
	pub(crate) fn end_audit(job: JobId, j: &mut JobOf<T>, state: AuditState<T::AccountId>) {
		if j.audit.pending_auditor().is_some() {
			Self::drop_audit_duty(job, j);
			j.audit = state;
		}
	}

	/// The job left its challenge window (challenged by someone else,
	/// settled, failed): a pending audit has nothing left to check. The
	/// state keeps naming the auditor, who never answered.
	pub(crate) fn drop_audit_duty(job: JobId, j: &JobOf<T>) {
		if let Some(a) = j.audit.pending_auditor() {
			AuditDuties::<T>::mutate_exists(a, |d| {
				if let Some(list) = d {
					list.retain(|x| *x != job);
					if list.is_empty() {
						*d = None;
					}
				}
			});
		}
	}
}
