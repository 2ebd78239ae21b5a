//! The scheduler: every job's next step is kept under the block it falls
//! due in, and `on_initialize` processes a bounded number of due steps.

use super::*;

/// Heavy steps in one block at most: reassignments of suspended executors'
/// jobs (each scans the executors again) and committee draws (each scans
/// the verifiers). A draw beyond them moves to the next block.
pub const REASSIGNMENTS_PER_BLOCK: u32 = 4;

impl<T: Config> Pallet<T> {
	pub(crate) fn now() -> BlockNumberFor<T> {
		frame_system::Pallet::<T>::block_number()
	}

	/// Puts `job` in the deadlines of block `at`, or the first later block with
	/// room (trying `MaxDeadlinesPerBlock` blocks). Returns the block used.
	pub(crate) fn schedule(
		job: JobId,
		at: BlockNumberFor<T>,
	) -> Result<BlockNumberFor<T>, DispatchError> {
		let mut block = at;
		for _ in 0..T::MaxDeadlinesPerBlock::get().max(16) {
			let pushed = Deadlines::<T>::try_mutate(block, |list| list.try_push(job));
			if pushed.is_ok() {
				return Ok(block);
			}
			block.saturating_inc();
		}
		Err(Error::<T>::SchedulerFull.into())
	}

	/// Runs the scheduled steps due by `now`, at most `MaxStepsPerBlock` of
	/// them, oldest first; the rest waits for the next block.
	pub(crate) fn process_deadlines(now: BlockNumberFor<T>) -> Weight {
		let mut budget = T::MaxStepsPerBlock::get();
		let mut steps = 0u32;
		let mut blocks = 0u32;
		let mut block = NextDue::<T>::get();
		// Steps heavier than a settlement (a reassignment) add their excess.
		let mut extra = Weight::zero();
		let mut reassignments = REASSIGNMENTS_PER_BLOCK;
		while block <= now && budget > 0 && blocks < T::MaxStepsPerBlock::get() {
			blocks += 1;
			let mut due = Deadlines::<T>::take(block).into_inner();
			let rest = due.split_off((budget as usize).min(due.len()));
			for job in due {
				budget -= 1;
				steps += 1;
				extra.saturating_accrue(Self::step(job, block, now, &mut reassignments));
			}
			if !rest.is_empty() {
				Deadlines::<T>::insert(block, BoundedVec::truncate_from(rest));
				break;
			}
			block.saturating_inc();
		}
		NextDue::<T>::put(block);
		T::WeightInfo::on_initialize(steps, blocks)
			.saturating_add(T::OnSettled::max_weight().saturating_mul(steps.into()))
			.saturating_add(extra)
	}

	/// The step `job` has due at block `at` (a stale entry is skipped).
	/// Returns the weight it took beyond a settlement's; `reassignments` is
	/// what is left of the block's budget of reassignments.
	pub(crate) fn step(
		job: JobId,
		at: BlockNumberFor<T>,
		now: BlockNumberFor<T>,
		reassignments: &mut u32,
	) -> Weight {
		let Some(j) = Jobs::<T>::get(job) else { return Weight::zero() };
		if j.deadline != at {
			return Weight::zero();
		}
		match j.status {
			JobStatus::Assigned => {
				let limit = T::MaxMissedDeadlines::get();
				let suspended =
					Executors::<T>::get(&j.executor).is_some_and(|e| e.is_suspended(limit));
				if suspended && *reassignments > 0 {
					// Its executor already missed too many deadlines in a row:
					// the job goes to another executor instead of timing out
					// (a few per block; beyond them it times out as usual).
					*reassignments -= 1;
					if Self::reassign(job, j.clone()).is_ok() {
						return Self::reassignment_weight();
					}
				}
				Self::time_out(job, j);
			}
			JobStatus::Committed => {
				let mut j = j;
				if matches!(j.audit, AuditState::Selected(_)) {
					// The auditor did not commit in time: it lapses, and the
					// executor gets `ResultTimeout` from now to reveal.
					Self::lapse_audit(job, &mut j);
					if let Ok(next) =
						Self::schedule(job, now.saturating_add(T::ResultTimeout::get()))
					{
						j.deadline = next;
						Jobs::<T>::insert(job, j);
						return Weight::zero();
					}
				}
				Self::time_out(job, j);
			}
			JobStatus::Submitted => {
				let mut j = j;
				// The auditor committed and never revealed.
				Self::lapse_audit(job, &mut j);
				Self::settle(job, j)
			}
			JobStatus::Disputed => {
				if *reassignments == 0 {
					// Over the block's budget of heavy steps: next block.
					if let Ok(next) = Self::schedule(job, now.saturating_add(One::one())) {
						Jobs::<T>::mutate(job, |j| {
							if let Some(j) = j {
								j.deadline = next;
							}
						});
						return Weight::zero();
					}
				}
				*reassignments = reassignments.saturating_sub(1);
				// A draw (or redraw) scans the verifiers as a challenge did
				// when it drew the committee itself.
				Self::dispute_deadline(job, j, now);
				return Self::draw_weight();
			}
			JobStatus::Settled | JobStatus::Failed(_) => {
				Jobs::<T>::remove(job);
				Inputs::<T>::remove(job);
				Outputs::<T>::remove(job);
				LateRevealers::<T>::remove(job);
				if let Some(deposit) = DataDeposits::<T>::take(job) {
					Self::release(HoldReason::JobData, &j.requester, deposit);
				}
				Self::deposit_event(Event::JobPruned { job });
			}
		}
		Weight::zero()
	}

	/// `job`'s executor let its deadline pass (to post, or to reveal a
	/// committed output): it loses `TimeoutPenalty` times the job's fee
	/// (at most its stake) to the treasury, and the job fails.
	fn time_out(job: JobId, j: JobOf<T>) {
		let stake = Self::stake_of(Staker::Executor, &j.executor);
		let penalty = j.fees.total().saturating_mul(T::TimeoutPenalty::get().into());
		let slash = Self::slash_stake(Staker::Executor, &j.executor, penalty.min(stake));
		Self::to_treasury(slash);
		Self::note_missed(Staker::Executor, &j.executor, true);
		Self::fail(job, j, FailReason::TimedOut);
	}

	/// What a step that draws a dispute's committee costs beyond a settlement.
	pub(crate) fn draw_weight() -> Weight {
		T::WeightInfo::challenge(T::MaxVerifiers::get())
	}

	/// What a step that reassigns a job costs beyond a settlement.
	pub(crate) fn reassignment_weight() -> Weight {
		T::WeightInfo::decline_job(T::MaxExecutors::get())
	}
}
