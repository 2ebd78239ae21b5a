//! Funds: holds, escrow payments, slashes and rewards.
//!
//! Every balance the market keeps is a `fungible` hold under one of
//! [`HoldReason`]'s reasons; these helpers are the only places that move them.

use super::*;

impl<T: Config> Pallet<T> {
	pub(crate) fn hold(
		reason: HoldReason,
		who: &T::AccountId,
		amount: BalanceOf<T>,
	) -> DispatchResult {
		if amount.is_zero() {
			return Ok(());
		}
		T::Currency::hold(&reason.into(), who, amount)
			.map_err(|_| Error::<T>::InsufficientBalance.into())
	}

	pub(crate) fn release(reason: HoldReason, who: &T::AccountId, amount: BalanceOf<T>) {
		if amount.is_zero() {
			return;
		}
		if T::Currency::release(&reason.into(), who, amount, Precision::Exact).is_err() {
			log::error!(target: LOG_TARGET, "could not release {reason:?}");
			frame_support::defensive!("inference: held funds missing");
		}
	}

	/// Pays `amount` of `from`'s escrow to `to`.
	pub(crate) fn pay_from_escrow(from: &T::AccountId, to: &T::AccountId, amount: BalanceOf<T>) {
		if amount.is_zero() {
			return;
		}
		let moved = T::Currency::transfer_on_hold(
			&HoldReason::JobEscrow.into(),
			from,
			to,
			amount,
			Precision::Exact,
			Restriction::Free,
			Fortitude::Force,
		);
		if moved.is_err() {
			log::error!(target: LOG_TARGET, "escrow payment failed");
			frame_support::defensive!("inference: escrow payment failed");
		}
	}

	/// Slashes `share` of what `who` holds for `reason` (at most `held`).
	pub(crate) fn slash(
		reason: HoldReason,
		who: &T::AccountId,
		amount: BalanceOf<T>,
	) -> CreditOf<T> {
		let (credit, _) = T::Currency::slash(&reason.into(), who, amount);
		if !credit.peek().is_zero() {
			Self::deposit_event(Event::Slashed { who: who.clone(), amount: credit.peek() });
		}
		credit
	}

	/// Pays `credit` to `who` (or the treasury, if `who` cannot receive it).
	pub(crate) fn reward(who: &T::AccountId, credit: CreditOf<T>) {
		let amount = credit.peek();
		if amount.is_zero() {
			return;
		}
		match T::Currency::resolve(who, credit) {
			Ok(()) => Self::deposit_event(Event::Rewarded { who: who.clone(), amount }),
			Err(credit) => Self::to_treasury(credit),
		}
	}

	pub(crate) fn to_treasury(credit: CreditOf<T>) {
		if let Err(lost) = T::Currency::resolve(&T::Treasury::get(), credit) {
			log::warn!(target: LOG_TARGET, "treasury cannot receive {:?}; burnt", lost.peek());
		}
	}

	/// Splits `credit` equally among `winners` (remainder to the treasury).
	pub(crate) fn share(mut credit: CreditOf<T>, winners: &[T::AccountId]) {
		if !winners.is_empty() {
			let each = credit.peek() / (winners.len() as u32).into();
			for w in winners {
				let (part, rest) = credit.split(each);
				credit = rest;
				Self::reward(w, part);
			}
		}
		Self::to_treasury(credit);
	}
}
