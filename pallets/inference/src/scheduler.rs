//! The scheduler: every job's next step is kept under the block it falls
//! due in, and `on_initialize` processes a bounded number of due steps.

use super::*;

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
		while block <= now && budget > 0 && blocks < T::MaxStepsPerBlock::get() {
			blocks += 1;
			let mut due = Deadlines::<T>::take(block).into_inner();
			let rest = due.split_off((budget as usize).min(due.len()));
			for job in due {
				budget -= 1;
				steps += 1;
				Self::step(job, block, now);
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
	}

	/// The step `job` has due at block `at` (a stale entry is skipped).
	pub(crate) fn step(job: JobId, at: BlockNumberFor<T>, now: BlockNumberFor<T>) {
		let Some(j) = Jobs::<T>::get(job) else { return };
		if j.deadline != at {
			return;
		}
		match j.status {
			JobStatus::Assigned => {
				let stake = Self::stake_of(Staker::Executor, &j.executor);
				let penalty = j.fees.total().saturating_mul(T::TimeoutPenalty::get().into());
				let slash = Self::slash_stake(Staker::Executor, &j.executor, penalty.min(stake));
				Self::to_treasury(slash);
				Self::fail(job, j, FailReason::TimedOut);
			}
			JobStatus::Submitted => Self::settle(job, j),
			JobStatus::Disputed => Self::dispute_deadline(job, j, now),
			JobStatus::Settled | JobStatus::Failed(_) => {
				Jobs::<T>::remove(job);
				Inputs::<T>::remove(job);
				Outputs::<T>::remove(job);
				Self::deposit_event(Event::JobPruned { job });
			}
		}
	}
}
