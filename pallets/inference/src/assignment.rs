//! Assignment: who runs a job and who sits on a committee, drawn at random
//! weighted by stake.

use super::*;

impl<T: Config> Pallet<T> {
	/// A random number for `subject` (a job, a model) and `salt`, from the
	/// parent block's VRF output ([`Config::Randomness`]); from the parent
	/// hash only in a block without one.
	pub(crate) fn random(subject: impl Encode, salt: u32) -> u128 {
		let seed = (subject, salt, b"verity/draw").encode();
		let vrf = T::Randomness::random(&seed).0;
		let h = match vrf {
			Some(h) => sp_io::hashing::blake2_256(&(h, &seed).encode()),
			None => sp_io::hashing::blake2_256(
				&(frame_system::Pallet::<T>::parent_hash(), &seed).encode(),
			),
		};
		u128::from_le_bytes(h[..16].try_into().expect("16 bytes; qed"))
	}

	/// Draws one of `candidates` (with their weights), weighted.
	pub(crate) fn draw(candidates: &[(T::AccountId, u128)], random: u128) -> Option<usize> {
		let total = candidates.iter().fold(0u128, |acc, (_, w)| acc.saturating_add(*w));
		if total == 0 {
			return None;
		}
		let mut point = random % total;
		for (i, (_, w)) in candidates.iter().enumerate() {
			if point < *w {
				return Some(i);
			}
			point -= w;
		}
		None
	}

	pub(crate) fn weight_of(stake: BalanceOf<T>) -> u128 {
		stake.try_into().unwrap_or(u128::MAX).max(1)
	}

	/// Submits a job for `who`; the checks and escrow of [`Pallet::submit_job`].
	/// Returns the job, and for a consensus job the weight of its evaluation.
	pub fn do_submit_job(
		who: T::AccountId,
		model_id: ModelId,
		input: InputOf<T>,
		max_fee: BalanceOf<T>,
		mode: VerificationMode,
		callback: Option<Callback>,
	) -> Result<(JobId, Option<Weight>), DispatchError> {
		let model = T::Models::model(&model_id).ok_or(Error::<T>::ModelNotFound)?;
		ensure!(model.is_active(), Error::<T>::ModelNotActive);
		let tensors = decode_tensors(&input).map_err(|_| Error::<T>::InvalidInput)?;
		let batch = check_tensors(&tensors, &model.inputs).map_err(|_| Error::<T>::InvalidInput)?;
		// Refused up front rather than failed later: at this batch size the
		// declared outputs could not be posted.
		ensure!(batch <= model.max_batch, Error::<T>::BatchTooLarge);
		// Registration made sure `max_batch` items fit; checked again in
		// case `MaxOutputSize` was lowered since.
		let output_bound = encoded_size_bound(&model.outputs, batch);
		ensure!(output_bound <= u64::from(T::MaxOutputSize::get()), Error::<T>::OutputTooLarge);
		let fees = Self::fees(&model_id, model.price, mode);
		ensure!(fees.total() <= max_fee, Error::<T>::FeeAboveMax);
		if mode == VerificationMode::Consensus {
			let (job, weight) =
				Self::do_consensus_job(who, model_id, input, &tensors, fees, callback)?;
			return Ok((job, Some(weight)));
		}

		let job = NextJobId::<T>::get();
		// Refused now, rather than failed at the draw, when no executor
		// could take the job at all.
		Self::pick_executor(job, &model_id, &who, &[], 0)?;

		Self::hold(HoldReason::JobEscrow, &who, fees.total())?;
		// The job's input and (at most) output bytes stay on chain until it is
		// pruned: the requester's deposit pays for them meanwhile.
		let data_bytes = (input.len() as u64).saturating_add(output_bound);
		let deposit = Self::data_deposit(data_bytes);
		Self::hold(HoldReason::JobData, &who, deposit)?;
		if !deposit.is_zero() {
			DataDeposits::<T>::insert(job, deposit);
		}
		JobsInFlight::<T>::mutate(model_id, |n| n.saturating_inc());
		NextJobId::<T>::put(job.saturating_add(1));
		Inputs::<T>::insert(job, input);
		// The executor is drawn from a block after this one: neither the
		// requester nor this block's author can choose it.
		let draw_at = Self::schedule_draw(Draw::Assignment(job));
		QueuedJobs::<T>::insert(
			job,
			QueuedJob {
				requester: who.clone(),
				model: model_id,
				fees,
				mode,
				callback,
				submitted_at: Self::now(),
				draw_at,
			},
		);
		Self::deposit_event(Event::JobSubmitted {
			job,
			model: model_id,
			requester: who,
			fee: fees.total(),
			draw_at,
		});
		Ok((job, None))
	}

	/// Draws the executor of queued `job`: it becomes an assigned job with
	/// `ResultTimeout` to answer. With no executor left to take it (all
	/// full, suspended or gone since the submission), it fails with a full
	/// refund.
	pub(crate) fn draw_assignment(job: JobId) {
		let Some(q) = QueuedJobs::<T>::take(job) else { return };
		let assigned = Self::pick_executor(job, &q.model, &q.requester, &[], 0).and_then(|e| {
			Assignments::<T>::try_mutate(&e, |list| list.try_push(job))
				.map_err(|_| Error::<T>::NoExecutorAvailable)?;
			match Self::schedule(job, Self::now().saturating_add(T::ResultTimeout::get())) {
				Ok(deadline) => Ok((e, deadline)),
				Err(err) => {
					Assignments::<T>::mutate(&e, |list| list.retain(|x| *x != job));
					Err(err)
				}
			}
		});
		let Ok((executor, deadline)) = assigned else {
			Self::fail_queued(job, q);
			return;
		};
		Jobs::<T>::insert(
			job,
			Job {
				requester: q.requester,
				model: q.model,
				executor: executor.clone(),
				fees: q.fees,
				status: JobStatus::Assigned,
				audit: AuditState::Undecided,
				submitted_at: q.submitted_at,
				deadline,
				commitment: None,
				output_hash: None,
				mode: q.mode,
				callback: q.callback,
				result_at: None,
			},
		);
		Self::deposit_event(Event::JobAssigned { job, executor, deadline });
	}

	/// A queued job nobody could take ends at once: the requester gets its
	/// fee and data deposit back, and its records go.
	fn fail_queued(job: JobId, q: QueuedJobOf<T>) {
		let refund = q.fees.total();
		Self::release(HoldReason::JobEscrow, &q.requester, refund);
		if let Some(deposit) = DataDeposits::<T>::take(job) {
			Self::release(HoldReason::JobData, &q.requester, deposit);
		}
		Inputs::<T>::remove(job);
		Self::job_left(&q.model);
		let reason = FailReason::NoExecutor;
		Self::deposit_event(Event::JobFailed { job, reason, refund });
		if let Some(cb) = q.callback {
			Self::deliver(job, cb, JobResult::Failed { reason });
		}
	}

	/// Draws an executor for `job` on `model`, weighted by stake, among the
	/// active executors that serve the model, have room under their declared
	/// capacity and are not suspended: never the requester nor one of
	/// `excluded` (executors that declined the job).
	/// `round` varies the draw between reassignments.
	pub(crate) fn pick_executor(
		job: JobId,
		model: &ModelId,
		requester: &T::AccountId,
		excluded: &[T::AccountId],
		round: u32,
	) -> Result<T::AccountId, DispatchError> {
		let candidates: Vec<(T::AccountId, u128)> = ActiveExecutors::<T>::get()
			.into_iter()
			.filter(|e| e != requester && !excluded.contains(e))
			.filter_map(|e| {
				let info = Executors::<T>::get(&e)?;
				let serves = info.models.as_ref().is_none_or(|m| m.contains(model));
				let room = info.capacity.min(T::MaxOpenJobs::get()) as usize;
				let busy = Assignments::<T>::decode_len(&e).unwrap_or(0) >= room;
				let suspended = info.is_suspended(T::MaxMissedDeadlines::get());
				(serves && !busy && !suspended).then(|| (e, Self::weight_of(info.stake)))
			})
			.collect();
		// Salt 0 is the first assignment; committees use 1..=CommitteeSize.
		let salt = if round == 0 { 0 } else { u32::MAX - round };
		let pick = Self::draw(&candidates, Self::random(job, salt))
			.ok_or(Error::<T>::NoExecutorAvailable)?;
		Ok(candidates[pick].0.clone())
	}

	/// The assigned executor cannot run `job` for a reason of its own node (a
	/// timeout, a crashed or killed engine worker, a sandbox denial): the job
	/// goes to another executor with a fresh `ResultTimeout`, and nobody pays.
	/// After `MaxDeclines` declines, or with no executor left, the job fails
	/// and the requester is refunded in full.
	pub(crate) fn do_decline_job(who: T::AccountId, job: JobId) -> DispatchResult {
		let j = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
		ensure!(j.executor == who, Error::<T>::NotAssignedExecutor);
		ensure!(j.status == JobStatus::Assigned, Error::<T>::NotAwaitingResult);
		Self::deposit_event(Event::JobDeclined { job, executor: who });
		Self::reassign(job, j)
	}

	/// Gives `job` (awaiting its result) to another executor with a fresh
	/// `ResultTimeout`, never one that had it before; after `MaxDeclines`
	/// executors, or with none left, the job fails with a full refund.
	pub(crate) fn reassign(job: JobId, mut j: JobOf<T>) -> DispatchResult {
		let who = j.executor.clone();
		let mut declined = Declines::<T>::get(job);
		let full = declined.try_push(who.clone()).is_err();
		Assignments::<T>::mutate(&who, |list| list.retain(|x| *x != job));
		let next = if full || declined.len() as u32 >= T::MaxDeclines::get() {
			None
		} else {
			Self::pick_executor(job, &j.model, &j.requester, &declined, declined.len() as u32).ok()
		};
		let Some(executor) = next else {
			Self::fail(job, j, FailReason::NoExecutor);
			return Ok(());
		};
		let deadline = Self::schedule(job, Self::now().saturating_add(T::ResultTimeout::get()))?;
		Assignments::<T>::try_mutate(&executor, |list| list.try_push(job))
			.map_err(|_| Error::<T>::NoExecutorAvailable)?;
		Declines::<T>::insert(job, declined);
		j.executor = executor.clone();
		j.deadline = deadline;
		Jobs::<T>::insert(job, j);
		Self::deposit_event(Event::JobReassigned { job, executor, deadline });
		Ok(())
	}

	/// Draws `size` distinct verifiers for `subject`, weighted by stake, among
	/// the active verifiers with room for another duty (`has_room`) that are
	/// neither suspended nor `excluded`. Fails with `NotEnoughVerifiers` when
	/// too few qualify.
	pub(crate) fn draw_committee(
		subject: impl Encode + Copy,
		size: u32,
		excluded: &[T::AccountId],
		has_room: impl Fn(&T::AccountId) -> bool,
	) -> Result<Vec<T::AccountId>, DispatchError> {
		let seats = Self::draw_seats(subject, size, excluded, has_room);
		ensure!(seats.len() as u32 == size, Error::<T>::NotEnoughVerifiers);
		Ok(seats)
	}

	/// Up to `size` seats for `subject`, drawn as [`Self::draw_committee`]
	/// does: weighted by stake and without replacement, so no account sits
	/// twice and splitting a stake over accounts buys no seats in
	/// expectation.
	pub(crate) fn draw_seats(
		subject: impl Encode + Copy,
		size: u32,
		excluded: &[T::AccountId],
		has_room: impl Fn(&T::AccountId) -> bool,
	) -> Vec<T::AccountId> {
		let mut candidates = Self::committee_candidates(excluded, has_room);
		let mut seats = Vec::with_capacity(size as usize);
		for salt in 0..size {
			let Some(i) = Self::draw(&candidates, Self::random(subject, salt + 1)) else { break };
			seats.push(candidates.swap_remove(i).0);
		}
		seats
	}

	/// The verifiers a committee may seat, with their weights.
	pub(crate) fn committee_candidates(
		excluded: &[T::AccountId],
		has_room: impl Fn(&T::AccountId) -> bool,
	) -> Vec<(T::AccountId, u128)> {
		let limit = T::MaxMissedDuties::get();
		ActiveVerifiers::<T>::get()
			.into_iter()
			.filter(|v| !excluded.contains(v) && has_room(v))
			.filter_map(|v| {
				let info = Verifiers::<T>::get(&v)?;
				(!info.is_suspended(limit)).then(|| (v, Self::weight_of(info.stake)))
			})
			.collect()
	}

	/// The deposit for `bytes` bytes of job data (input and output).
	pub fn data_deposit(bytes: u64) -> BalanceOf<T> {
		let bytes: BalanceOf<T> = bytes.try_into().unwrap_or_else(|_| BalanceOf::<T>::max_value());
		T::DataByteDeposit::get().saturating_mul(bytes)
	}
}
