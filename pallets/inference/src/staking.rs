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

	/// Missed duties in a row that suspend a `role` (result deadlines for
	/// executors, dispute duties for verifiers).
	fn missed_limit(role: Staker) -> u32 {
		match role {
			Staker::Executor => T::MaxMissedDeadlines::get(),
			Staker::Verifier => T::MaxMissedDuties::get(),
		}
	}

	/// Applies `f` to the count of missed duties of `who` as a `role`.
	fn mutate_missed<R>(
		role: Staker,
		who: &T::AccountId,
		f: impl FnOnce(&mut u32) -> R,
	) -> Option<R> {
		match role {
			Staker::Executor => {
				Executors::<T>::mutate(who, |i| i.as_mut().map(|i| f(&mut i.missed)))
			}
			Staker::Verifier => {
				Verifiers::<T>::mutate(who, |i| i.as_mut().map(|i| f(&mut i.missed)))
			}
		}
	}

	/// A suspended executor or verifier shows it is alive again; see
	/// [`Pallet::resume_executor`] and [`Pallet::resume_verifier`].
	pub(crate) fn do_resume(role: Staker, who: T::AccountId) -> DispatchResult {
		let limit = Self::missed_limit(role);
		let resumed = Self::mutate_missed(role, &who, |missed| {
			let suspended = *missed >= limit;
			if suspended {
				*missed = 0;
			}
			suspended
		})
		.ok_or(Self::not_registered(role))?;
		match (role, resumed) {
			(Staker::Executor, false) => Err(Error::<T>::NotSuspended.into()),
			(Staker::Verifier, false) => Err(Error::<T>::VerifierNotSuspended.into()),
			(Staker::Executor, true) => {
				Self::deposit_event(Event::ExecutorResumed { executor: who });
				Ok(())
			}
			(Staker::Verifier, true) => {
				Self::deposit_event(Event::VerifierResumed { verifier: who });
				Ok(())
			}
		}
	}

	/// Counts a missed duty of `who` as a `role` (a result deadline, a
	/// dispute duty), suspending it at the role's limit in a row; a duty
	/// done (`missed` false) resets the count.
	pub(crate) fn note_missed(role: Staker, who: &T::AccountId, missed: bool) {
		let limit = Self::missed_limit(role);
		let reached = Self::mutate_missed(role, who, |count| {
			*count = if missed { count.saturating_add(1) } else { 0 };
			missed && *count == limit
		});
		if reached == Some(true) {
			match role {
				Staker::Executor => {
					Self::deposit_event(Event::ExecutorSuspended { executor: who.clone() })
				}
				Staker::Verifier => {
					Self::deposit_event(Event::VerifierSuspended { verifier: who.clone() })
				}
			}
		}
	}

	/// Slashes `share` of verifier `who`'s stake to the treasury (a missed
	/// round, a vote against a deciding quorum).
	pub(crate) fn penalise_verifier(who: &T::AccountId, share: Perbill) {
		let stake = Self::stake_of(Staker::Verifier, who);
		let credit = Self::slash_stake(Staker::Verifier, who, share * stake);
		Self::to_treasury(credit);
	}
}
