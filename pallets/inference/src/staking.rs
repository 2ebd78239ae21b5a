//! Staking: executors and verifiers register, top up, unbond, withdraw and
//! are slashed.
//!
//! Both roles follow one life cycle (register with a stake held, top up,
//! unbond, withdraw after `UnbondingPeriod` once nothing is open), so the
//! shared steps take a [`Staker`] instead of being written twice.

use super::*;

/// The two staked roles of the market.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Staker {
	/// Runs jobs.
	Executor,
	/// Re-executes disputed jobs.
	Verifier,
}

impl Staker {
	/// The hold its stake is kept under.
	pub fn hold_reason(self) -> HoldReason {
		match self {
			Staker::Executor => HoldReason::ExecutorStake,
			Staker::Verifier => HoldReason::VerifierStake,
		}
	}
}

impl<T: Config> Pallet<T> {
	pub(crate) fn do_register_executor(
		who: &T::AccountId,
		stake: BalanceOf<T>,
		models: Option<BoundedVec<ModelId, T::MaxModelsPerExecutor>>,
	) -> DispatchResult {
		ensure!(!Executors::<T>::contains_key(who), Error::<T>::AlreadyExecutor);
		ensure!(stake >= T::MinExecutorStake::get(), Error::<T>::StakeTooLow);
		ActiveExecutors::<T>::try_mutate(|list| list.try_push(who.clone()))
			.map_err(|_| Error::<T>::TooMany)?;
		Self::hold(HoldReason::ExecutorStake, who, stake)?;
		let capacity = T::MaxOpenJobs::get();
		let info = ExecutorInfo { stake, models, unbonding_until: None, capacity, missed: 0 };
		Executors::<T>::insert(who, info);
		Self::deposit_event(Event::ExecutorRegistered { executor: who.clone(), stake });
		Ok(())
	}

	pub(crate) fn do_register_verifier(who: &T::AccountId, stake: BalanceOf<T>) -> DispatchResult {
		ensure!(!Verifiers::<T>::contains_key(who), Error::<T>::AlreadyVerifier);
		ensure!(stake >= T::MinVerifierStake::get(), Error::<T>::StakeTooLow);
		ActiveVerifiers::<T>::try_mutate(|list| list.try_push(who.clone()))
			.map_err(|_| Error::<T>::TooMany)?;
		Self::hold(HoldReason::VerifierStake, who, stake)?;
		Verifiers::<T>::insert(who, VerifierInfo { stake, unbonding_until: None, missed: 0 });
		Self::deposit_event(Event::VerifierRegistered { verifier: who.clone(), stake });
		Ok(())
	}

	/// `who`'s stake and unbonding block in `role`, if registered.
	fn stake_record(
		role: Staker,
		who: &T::AccountId,
	) -> Option<(BalanceOf<T>, Option<BlockNumberFor<T>>)> {
		match role {
			Staker::Executor => Executors::<T>::get(who).map(|i| (i.stake, i.unbonding_until)),
			Staker::Verifier => Verifiers::<T>::get(who).map(|i| (i.stake, i.unbonding_until)),
		}
	}

	/// `who`'s stake in `role` (zero if not registered).
	pub(crate) fn stake_of(role: Staker, who: &T::AccountId) -> BalanceOf<T> {
		Self::stake_record(role, who).map(|(stake, _)| stake).unwrap_or_default()
	}

	/// Changes `who`'s record in `role`: its stake and unbonding block.
	fn update_stake_record(
		role: Staker,
		who: &T::AccountId,
		f: impl FnOnce(&mut BalanceOf<T>, &mut Option<BlockNumberFor<T>>),
	) {
		match role {
			Staker::Executor => Executors::<T>::mutate(who, |i| {
				if let Some(i) = i {
					f(&mut i.stake, &mut i.unbonding_until)
				}
			}),
			Staker::Verifier => Verifiers::<T>::mutate(who, |i| {
				if let Some(i) = i {
					f(&mut i.stake, &mut i.unbonding_until)
				}
			}),
		}
	}

	fn not_registered(role: Staker) -> Error<T> {
		match role {
			Staker::Executor => Error::<T>::NotExecutor,
			Staker::Verifier => Error::<T>::NotVerifier,
		}
	}

	/// Adds `extra` to an executor's stake (verifiers re-register instead).
	pub(crate) fn do_top_up_executor(who: T::AccountId, extra: BalanceOf<T>) -> DispatchResult {
		ensure!(Executors::<T>::contains_key(&who), Error::<T>::NotExecutor);
		Self::hold(HoldReason::ExecutorStake, &who, extra)?;
		Self::update_stake_record(Staker::Executor, &who, |stake, _| {
			stake.saturating_accrue(extra)
		});
		let stake = Self::stake_of(Staker::Executor, &who);
		Self::deposit_event(Event::ExecutorStakeIncreased { executor: who, stake });
		Ok(())
	}

	/// Takes `who` out of new assignments (`role`'s active list); it may
	/// withdraw after `UnbondingPeriod`.
	pub(crate) fn do_unbond(role: Staker, who: T::AccountId) -> DispatchResult {
		let (_, unbonding) = Self::stake_record(role, &who).ok_or(Self::not_registered(role))?;
		ensure!(unbonding.is_none(), Error::<T>::AlreadyUnbonding);
		let until = Self::now().saturating_add(T::UnbondingPeriod::get());
		Self::update_stake_record(role, &who, |_, u| *u = Some(until));
		match role {
			Staker::Executor => {
				ActiveExecutors::<T>::mutate(|list| list.retain(|a| a != &who));
				Self::deposit_event(Event::ExecutorUnbonding { executor: who, until });
			}
			Staker::Verifier => {
				ActiveVerifiers::<T>::mutate(|list| list.retain(|a| a != &who));
				Self::deposit_event(Event::VerifierUnbonding { verifier: who, until });
			}
		}
		Ok(())
	}

	/// Releases `who`'s stake in `role` once unbonded and with nothing open.
	pub(crate) fn do_withdraw(role: Staker, who: T::AccountId) -> DispatchResult {
		let (stake, unbonding) =
			Self::stake_record(role, &who).ok_or(Self::not_registered(role))?;
		let until = unbonding.ok_or(Error::<T>::NotUnbonding)?;
		ensure!(Self::now() >= until, Error::<T>::StillUnbonding);
		let open = match role {
			Staker::Executor => Assignments::<T>::decode_len(&who).unwrap_or(0),
			Staker::Verifier => Duties::<T>::decode_len(&who)
				.unwrap_or(0)
				.saturating_add(Self::open_admission_duties(&who)),
		};
		ensure!(open == 0, Error::<T>::OpenJobs);
		Self::release(role.hold_reason(), &who, stake);
		AdmissionDuties::<T>::remove(&who);
		match role {
			Staker::Executor => {
				Executors::<T>::remove(&who);
				Self::deposit_event(Event::ExecutorWithdrawn { executor: who, stake });
			}
			Staker::Verifier => {
				Verifiers::<T>::remove(&who);
				Self::deposit_event(Event::VerifierWithdrawn { verifier: who, stake });
			}
		}
		Ok(())
	}

	/// Slashes `amount` of `who`'s stake in `role` (at most what it holds)
	/// and lowers its recorded stake by what was taken.
	pub(crate) fn slash_stake(
		role: Staker,
		who: &T::AccountId,
		amount: BalanceOf<T>,
	) -> CreditOf<T> {
		let credit = Self::slash(role.hold_reason(), who, amount);
		let taken = credit.peek();
		Self::update_stake_record(role, who, |stake, _| *stake = stake.saturating_sub(taken));
		credit
	}

	/// Sets how many jobs `who` runs at once; see [`Pallet::set_capacity`].
	pub(crate) fn do_set_capacity(who: T::AccountId, capacity: u32) -> DispatchResult {
		ensure!((1..=T::MaxOpenJobs::get()).contains(&capacity), Error::<T>::CapacityOutOfRange);
		Executors::<T>::try_mutate(&who, |info| {
			let info = info.as_mut().ok_or(Error::<T>::NotExecutor)?;
			info.capacity = capacity;
			Ok::<_, DispatchError>(())
		})?;
		Self::deposit_event(Event::ExecutorCapacitySet { executor: who, capacity });
		Ok(())
	}

	/// A suspended executor shows it is alive; see [`Pallet::resume_executor`].
	pub(crate) fn do_resume_executor(who: T::AccountId) -> DispatchResult {
		Executors::<T>::try_mutate(&who, |info| {
			let info = info.as_mut().ok_or(Error::<T>::NotExecutor)?;
			ensure!(info.is_suspended(T::MaxMissedDeadlines::get()), Error::<T>::NotSuspended);
			info.missed = 0;
			Ok::<_, DispatchError>(())
		})?;
		Self::deposit_event(Event::ExecutorResumed { executor: who });
		Ok(())
	}

	/// Counts a missed result deadline of `who`, suspending it at
	/// `MaxMissedDeadlines` in a row; a result resets the count.
	pub(crate) fn note_deadline(who: &T::AccountId, missed: bool) {
		Executors::<T>::mutate(who, |info| {
			let Some(info) = info else { return };
			if !missed {
				info.missed = 0;
				return;
			}
			info.missed = info.missed.saturating_add(1);
			if info.missed == T::MaxMissedDeadlines::get() {
				Self::deposit_event(Event::ExecutorSuspended { executor: who.clone() });
			}
		});
	}

	/// A suspended verifier asks to be drawn again; see [`Pallet::resume_verifier`].
	pub(crate) fn do_resume_verifier(who: T::AccountId) -> DispatchResult {
		Verifiers::<T>::try_mutate(&who, |info| {
			let info = info.as_mut().ok_or(Error::<T>::NotVerifier)?;
			ensure!(info.is_suspended(T::MaxMissedDuties::get()), Error::<T>::VerifierNotSuspended);
			info.missed = 0;
			Ok::<_, DispatchError>(())
		})?;
		Self::deposit_event(Event::VerifierResumed { verifier: who });
		Ok(())
	}

	/// Notes whether committee member `who` voted on a duty (resetting its
	/// count of missed duties) or let it pass; at `MaxMissedDuties` in a row
	/// it is suspended from committees.
	pub(crate) fn note_duty(who: &T::AccountId, missed: bool) {
		Verifiers::<T>::mutate(who, |info| {
			let Some(info) = info else { return };
			if !missed {
				info.missed = 0;
				return;
			}
			info.missed = info.missed.saturating_add(1);
			if info.missed == T::MaxMissedDuties::get() {
				Self::deposit_event(Event::VerifierSuspended { verifier: who.clone() });
			}
		});
	}

	/// Slashes `share` of verifier `who`'s stake to the treasury (a missed
	/// round, a vote against a deciding quorum).
	pub(crate) fn penalise_verifier(who: &T::AccountId, share: Perbill) {
		let stake = Self::stake_of(Staker::Verifier, who);
		let credit = Self::slash_stake(Staker::Verifier, who, share * stake);
		Self::to_treasury(credit);
	}
}
