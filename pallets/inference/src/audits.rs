//! Automatic audits: nobody has to challenge for a lie to be checked.
//!
//! When an optimistic job's result is posted in block N, its audit is drawn
//! in block N + [`DRAW_DELAY`] from block N + 1's VRF output: with
//! probability [`AuditRate`] one verifier (weighted by stake, never the
//! executor or the requester) is drawn to re-execute the job. Its offchain
//! worker compares its own output with the posted one under the model's
//! policy: it confirms agreement with [`Pallet::submit_audit`] (free), or
//! challenges the job itself with its own bond, and the committee dispute
//! runs as usual. Neither the executor nor anyone else knows, when the
//! result is posted, whether it will be audited.

use super::*;

/// Draws (audits and admission committees) in one block at most; more move
/// to a later block, and an audited result's challenge window is extended
/// to match, so that no result goes undrawn however many arrive.
pub const DRAWS_PER_BLOCK: u32 = 3;

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
		// Challenged or settled meanwhile: nothing left to audit.
		if j.status != JobStatus::Submitted || j.audit != AuditState::Undecided {
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

	/// The auditor agrees; see [`Pallet::submit_audit`].
	pub(crate) fn do_submit_audit(who: T::AccountId, job: JobId) -> DispatchResult {
		let mut j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
		ensure!(j.audit == AuditState::Selected(who.clone()), Error::<T>::NotAuditor);
		ensure!(j.status == JobStatus::Submitted, Error::<T>::NotAuditor);
		Self::end_audit(job, &mut j, AuditState::Passed(who.clone()));
		Jobs::<T>::insert(job, j);
		Self::deposit_event(Event::AuditPassed { job, auditor: who });
		Ok(())
	}

	/// Ends `job`'s pending audit, if any, with `state`: the auditor's duty
	/// is done.
	pub(crate) fn end_audit(job: JobId, j: &mut JobOf<T>, state: AuditState<T::AccountId>) {
		if matches!(j.audit, AuditState::Selected(_)) {
			Self::drop_audit_duty(job, j);
			j.audit = state;
		}
	}

	/// The job left its challenge window (challenged by someone else,
	/// settled, failed): a pending audit has nothing left to check. The
	/// state keeps naming the auditor, who never answered.
	pub(crate) fn drop_audit_duty(job: JobId, j: &JobOf<T>) {
		if let AuditState::Selected(a) = &j.audit {
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
