//! Settlement: how a job ends, who is paid, and the consumer's callback.

use super::*;

impl<T: Config> Pallet<T> {
	/// Ends a job that leaves the market: the executor's open job and the
	/// model's job in flight are counted down, and pruning is scheduled.
	pub(crate) fn finish(job: JobId, mut j: JobOf<T>, status: JobStatus) {
		Assignments::<T>::mutate(&j.executor, |list| list.retain(|x| *x != job));
		Self::drop_audit_duty(job, &j);
		Declines::<T>::remove(job);
		JobsInFlight::<T>::mutate_exists(j.model, |n| {
			let left = n.unwrap_or(0).saturating_sub(1);
			*n = (left > 0).then_some(left);
		});
		j.status = status;
		// If no block has room, the job is pruned at the next opportunity.
		j.deadline = Self::schedule(job, Self::now().saturating_add(T::ResultRetention::get()))
			.unwrap_or_else(|_| Self::now());
		Jobs::<T>::insert(job, j);
	}

	pub(crate) fn settle(job: JobId, j: JobOf<T>) {
		let owner = T::Models::model(&j.model).map(|m| m.owner);
		match owner {
			Some(owner) => Self::pay_from_escrow(&j.requester, &owner, j.fees.price),
			// A model can only vanish if its upload was aborted, which cannot
			// happen to an active one; keep the price with the requester.
			None => Self::release(HoldReason::JobEscrow, &j.requester, j.fees.price),
		}
		Self::pay_from_escrow(&j.requester, &j.executor, j.fees.executor);
		Self::pay_from_escrow(&j.requester, &T::Treasury::get(), j.fees.protocol);
		Self::deposit_event(Event::JobSettled {
			job,
			executor: j.executor.clone(),
			fee: j.fees.executor,
			price: j.fees.price,
			protocol_fee: j.fees.protocol,
		});
		let callback = j.callback;
		Self::finish(job, j, JobStatus::Settled);
		if let Some(cb) = callback {
			let output = Outputs::<T>::get(job).map(|o| o.into_inner()).unwrap_or_default();
			Self::deliver(job, cb, JobResult::Settled { output });
		}
	}

	/// Ends `job` without a result. The requester is refunded the whole fee,
	/// except after [`FailReason::InputTooLarge`]: the requester asked for
	/// more than the engine's limits allow, so the executor keeps its fee for
	/// the attempt.
	pub(crate) fn fail(job: JobId, j: JobOf<T>, reason: FailReason) {
		let mut refund = j.fees.total();
		if reason == FailReason::InputTooLarge {
			Self::pay_from_escrow(&j.requester, &j.executor, j.fees.executor);
			refund = refund.saturating_sub(j.fees.executor);
		}
		Self::release(HoldReason::JobEscrow, &j.requester, refund);
		Self::deposit_event(Event::JobFailed { job, reason, refund });
		let callback = j.callback;
		Self::finish(job, j, JobStatus::Failed(reason));
		if let Some(cb) = callback {
			Self::deliver(job, cb, JobResult::Failed { reason });
		}
	}

	/// Tells the job's consumer how it ended, in a storage layer of its own:
	/// a consumer's error discards its changes and is reported, nothing more.
	pub(crate) fn deliver(job: JobId, callback: Callback, result: JobResult) {
		let outcome = frame_support::storage::with_storage_layer(|| {
			T::OnSettled::on_result(&callback, job, &result)
				.unwrap_or_else(|| Err(Error::<T>::UnknownConsumer.into()))
		});
		match outcome {
			Ok(()) => Self::deposit_event(Event::CallbackDelivered { job, callback }),
			Err(error) => {
				log::warn!(target: LOG_TARGET, "job {job}: consumer failed: {error:?}");
				Self::deposit_event(Event::CallbackFailed { job, callback, error })
			}
		}
	}

	/// The fees of a job of a model priced `price`, in `mode`.
	pub fn fees(price: BalanceOf<T>, mode: VerificationMode) -> Fees<BalanceOf<T>> {
		Fees {
			price,
			executor: T::ExecutorFee::get(),
			protocol: match mode {
				VerificationMode::Optimistic => T::ProtocolFee::get(),
				VerificationMode::Vanilla => Zero::zero(),
			},
		}
	}

	/// Upper bound of one settlement including its consumer's callback.
	pub fn settlement_weight() -> Weight {
		T::WeightInfo::on_initialize(1, 1)
			.saturating_sub(T::WeightInfo::on_initialize(0, 1))
			.saturating_add(T::OnSettled::max_weight())
	}

	/// The assigned executor posts `job`'s output; see [`Pallet::submit_result`].
	pub(crate) fn do_submit_result(
		who: T::AccountId,
		job: JobId,
		output: OutputOf<T>,
	) -> DispatchResult {
		let mut j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
		ensure!(j.executor == who, Error::<T>::NotAssignedExecutor);
		ensure!(j.status == JobStatus::Assigned, Error::<T>::NotAwaitingResult);
		let model = T::Models::model(&j.model).ok_or(Error::<T>::ModelNotFound)?;
		let tensors = decode_tensors(&output).map_err(|_| Error::<T>::InvalidOutput)?;
		check_tensors(&tensors, &model.outputs).map_err(|_| Error::<T>::InvalidOutput)?;

		let output_hash = sp_core::H256(sp_io::hashing::blake2_256(&output));
		// A vanilla job cannot be challenged: it settles now.
		let challenge_until = match j.mode {
			VerificationMode::Optimistic => {
				// A draw pushed back by a crowd of results pushes the window
				// back too: an audit always has the time it would have had.
				let mut until = Self::now().saturating_add(model.challenge_period);
				if let Some(draw) = Self::schedule_audit_draw(job, &j.model) {
					let after_draw = model.challenge_period.saturating_sub(DRAW_DELAY.into());
					until = until.max(draw.saturating_add(after_draw));
				}
				Self::schedule(job, until)?
			}
			VerificationMode::Vanilla => Self::now(),
		};
		Self::note_missed(Staker::Executor, &who, false);
		j.status = JobStatus::Submitted;
		// No reassignment after a result: who declined no longer matters.
		Declines::<T>::remove(job);
		j.deadline = challenge_until;
		j.output_hash = Some(output_hash);
		Outputs::<T>::insert(job, output);
		Self::deposit_event(Event::ResultSubmitted {
			job,
			executor: who,
			output_hash,
			challenge_until,
		});
		match j.mode {
			VerificationMode::Optimistic => Jobs::<T>::insert(job, j),
			VerificationMode::Vanilla => Self::settle(job, j),
		}
		Ok(())
	}
}
