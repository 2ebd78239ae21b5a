//! Settlement: how a job ends, who is paid, and the consumer's callback.

use super::*;

impl<T: Config> Pallet<T> {
	/// Ends a job that leaves the market: the executor's open job and the
	/// model's job in flight are counted down, and pruning is scheduled.
	pub(crate) fn finish(job: JobId, mut j: JobOf<T>, status: JobStatus) {
		Assignments::<T>::mutate(&j.executor, |list| list.retain(|x| *x != job));
		Self::drop_audit_duty(job, &j);
		Declines::<T>::remove(job);
		Self::job_left(&j.model);
		j.status = status;
		// If no block has room, the job is pruned at the next opportunity.
		j.deadline = Self::schedule(job, Self::now().saturating_add(T::ResultRetention::get()))
			.unwrap_or_else(|_| Self::now());
		Jobs::<T>::insert(job, j);
	}

	/// One job of `model` fewer in flight.
	pub(crate) fn job_left(model: &ModelId) {
		JobsInFlight::<T>::mutate_exists(model, |n| {
			let left = n.unwrap_or(0).saturating_sub(1);
			*n = (left > 0).then_some(left);
		});
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
		let to_treasury = j.fees.protocol.saturating_add(j.fees.audit);
		Self::pay_from_escrow(&j.requester, &T::Treasury::get(), to_treasury);
		Self::deposit_event(Event::JobSettled {
			job,
			executor: j.executor.clone(),
			fee: j.fees.executor,
			price: j.fees.price,
			protocol_fee: to_treasury,
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

	/// The fees of a job of `model`, priced `price`, in `mode`.
	pub fn fees(
		model: &ModelId,
		price: BalanceOf<T>,
		mode: VerificationMode,
	) -> Fees<BalanceOf<T>> {
		let (protocol, audit) = match mode {
			VerificationMode::Optimistic => {
				(T::ProtocolFee::get(), Self::audit_rate(model) * T::AuditReward::get())
			}
			VerificationMode::Vanilla | VerificationMode::Consensus => (Zero::zero(), Zero::zero()),
		};
		// A consensus job has no executor: validators are paid through the
		// transaction fee.
		let executor = match mode {
			VerificationMode::Consensus => Zero::zero(),
			_ => T::ExecutorFee::get(),
		};
		Fees { price, executor, protocol, audit }
	}

	/// Upper bound of one settlement including its consumer's callback.
	pub fn settlement_weight() -> Weight {
		T::WeightInfo::on_initialize(1, 1)
			.saturating_sub(T::WeightInfo::on_initialize(0, 1))
			.saturating_add(T::OnSettled::max_weight())
	}

	/// The assigned executor posts `job`'s output at once; see
	/// [`Pallet::submit_result`]. Only `Vanilla` jobs: an optimistic result
	/// is committed first ([`Pallet::commit_result`]).
	pub(crate) fn do_submit_result(
		who: T::AccountId,
		job: JobId,
		output: OutputOf<T>,
	) -> DispatchResult {
		let j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
		ensure!(j.executor == who, Error::<T>::NotAssignedExecutor);
		ensure!(j.status == JobStatus::Assigned, Error::<T>::NotAwaitingResult);
		ensure!(j.mode == VerificationMode::Vanilla, Error::<T>::CommitRequired);
		Self::post_output(job, j, output)
	}

	/// What an executor commits to: a hash of the job, the executor, its
	/// output and a secret salt.
	pub fn result_commitment(
		job: JobId,
		who: &T::AccountId,
		output: &[u8],
		salt: &[u8; 32],
	) -> sp_core::H256 {
		let output = sp_io::hashing::blake2_256(output);
		sp_core::H256(sp_io::hashing::blake2_256(
			&(b"verity/result", job, who, output, salt).encode(),
		))
	}

	/// The executor's commitment to an optimistic job's output; see
	/// [`Pallet::commit_result`].
	pub(crate) fn do_commit_result(
		who: T::AccountId,
		job: JobId,
		commitment: sp_core::H256,
	) -> DispatchResult {
		let mut j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
		ensure!(j.executor == who, Error::<T>::NotAssignedExecutor);
		ensure!(j.status == JobStatus::Assigned, Error::<T>::NotAwaitingResult);
		ensure!(j.mode == VerificationMode::Optimistic, Error::<T>::NotOptimistic);
		// The audit is drawn from a block after this one; without a draw the
		// output may be revealed at once.
		let draw_at = Self::schedule_audit_draw(job, &j.model);
		if draw_at.is_none() {
			j.audit = AuditState::NotSelected;
		}
		// The reveal is due `ResultTimeout` after the draw (a drawn auditor's
		// deadline to commit, which moves this one on when it passes).
		let from = draw_at.unwrap_or_else(Self::now);
		let reveal_by = Self::schedule(job, from.saturating_add(T::ResultTimeout::get()))?;
		Self::note_missed(Staker::Executor, &who, false);
		// No reassignment after a commitment: who declined no longer matters.
		Declines::<T>::remove(job);
		j.status = JobStatus::Committed;
		j.commitment = Some(commitment);
		j.deadline = reveal_by;
		Jobs::<T>::insert(job, j);
		Self::deposit_event(Event::ResultCommitted { job, executor: who, draw_at, reveal_by });
		Ok(())
	}

	/// Whether `j`'s executor may reveal its committed output: the audit was
	/// drawn and passed it over, or its auditor committed (or let its
	/// deadline pass).
	pub fn reveal_open(j: &JobOf<T>) -> bool {
		j.status == JobStatus::Committed
			&& !matches!(j.audit, AuditState::Undecided | AuditState::Selected(_))
	}

	/// The executor reveals its committed output; see [`Pallet::reveal_result`].
	pub(crate) fn do_reveal_result(
		who: T::AccountId,
		job: JobId,
		output: OutputOf<T>,
		salt: [u8; 32],
	) -> DispatchResult {
		let j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
		ensure!(j.executor == who, Error::<T>::NotAssignedExecutor);
		ensure!(j.status == JobStatus::Committed, Error::<T>::NotCommitted);
		ensure!(Self::reveal_open(&j), Error::<T>::NotRevealPhase);
		ensure!(
			j.commitment == Some(Self::result_commitment(job, &who, &output, &salt)),
			Error::<T>::CommitMismatch
		);
		Self::post_output(job, j, output)
	}

	/// Makes `output` `job`'s result: a vanilla job settles, an optimistic
	/// one's challenge window opens.
	fn post_output(job: JobId, mut j: JobOf<T>, output: OutputOf<T>) -> DispatchResult {
		let model = T::Models::model(&j.model).ok_or(Error::<T>::ModelNotFound)?;
		let tensors = decode_tensors(&output).map_err(|_| Error::<T>::InvalidOutput)?;
		check_tensors(&tensors, &model.outputs).map_err(|_| Error::<T>::InvalidOutput)?;
		let output_hash = sp_core::H256(sp_io::hashing::blake2_256(&output));
		// A vanilla job cannot be challenged: it settles now.
		let challenge_until = match j.mode {
			VerificationMode::Optimistic => {
				Self::schedule(job, Self::now().saturating_add(model.challenge_period))?
			}
			// (A consensus job never gets here: it settles as it is submitted.)
			VerificationMode::Vanilla | VerificationMode::Consensus => Self::now(),
		};
		if j.mode != VerificationMode::Optimistic {
			Self::note_missed(Staker::Executor, &j.executor, false);
			Declines::<T>::remove(job);
		}
		j.status = JobStatus::Submitted;
		j.deadline = challenge_until;
		j.result_at = Some(Self::now());
		j.output_hash = Some(output_hash);
		Outputs::<T>::insert(job, output);
		Self::deposit_event(Event::ResultSubmitted {
			job,
			executor: j.executor.clone(),
			output_hash,
			challenge_until,
		});
		match j.mode {
			VerificationMode::Optimistic => Jobs::<T>::insert(job, j),
			VerificationMode::Vanilla | VerificationMode::Consensus => Self::settle(job, j),
		}
		Ok(())
	}
}
