//! The pallet's invariants, checked after every block in tests and by `try-runtime`.

use super::*;

impl<T: Config> Pallet<T> {
	/// Checks the pallet's invariants:
	/// * held funds per account equal its stakes, escrows, bonds and data deposits;
	/// * executors' open jobs and verifiers' open disputes match the jobs;
	/// * every queued job's executor draw is scheduled;
	/// * every active executor/verifier is registered and not unbonding;
	/// * every pending job has its deadline scheduled at or after `NextDue`;
	/// * declines, dissenting outputs and late revealers are kept only while
	///   their job needs them;
	/// * admissions run only for pending models, and admission duties match them.
	///
	/// Compiled into every build: the runtime API's `check_invariants` runs it.
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use alloc::collections::btree_map::BTreeMap;
		use frame_support::traits::fungible::InspectHold;
		let mut escrow: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		let mut bonds: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		let mut open_jobs: BTreeMap<T::AccountId, Vec<JobId>> = BTreeMap::new();
		let mut duties: BTreeMap<T::AccountId, Vec<JobId>> = BTreeMap::new();
		let mut in_flight: BTreeMap<ModelId, u32> = BTreeMap::new();
		for (id, j) in Jobs::<T>::iter() {
			let pending = matches!(
				j.status,
				JobStatus::Assigned
					| JobStatus::Committed
					| JobStatus::Submitted
					| JobStatus::Disputed
			);
			if pending {
				escrow.entry(j.requester.clone()).or_default().saturating_accrue(j.fees.total());
				open_jobs.entry(j.executor.clone()).or_default().push(id);
				in_flight.entry(j.model).or_default().saturating_inc();
			}
			ensure!(
				Deadlines::<T>::get(j.deadline).contains(&id) || j.deadline < NextDue::<T>::get(),
				"job's deadline is not scheduled"
			);
			ensure!(
				(j.status == JobStatus::Disputed) == Disputes::<T>::contains_key(id),
				"dispute and job status disagree"
			);
		}
		for (id, q) in QueuedJobs::<T>::iter() {
			escrow.entry(q.requester.clone()).or_default().saturating_accrue(q.fees.total());
			in_flight.entry(q.model).or_default().saturating_inc();
			ensure!(!Jobs::<T>::contains_key(id), "a job both queued and assigned");
			ensure!(
				Draws::<T>::get(q.draw_at).contains(&Draw::Assignment(id)),
				"a queued job's draw is not scheduled"
			);
		}
		for (auditor, jobs) in AuditDuties::<T>::iter() {
			for job in jobs {
				let j = Jobs::<T>::get(job).ok_or("an audit duty names a missing job")?;
				// Drawn: the output is still hidden. Committed: before or
				// after the executor's reveal.
				let auditable = match &j.audit {
					AuditState::Selected(a) => a == &auditor && j.status == JobStatus::Committed,
					AuditState::Committed(a, _) => {
						a == &auditor
							&& matches!(j.status, JobStatus::Committed | JobStatus::Submitted)
					}
					_ => false,
				};
				ensure!(auditable, "an audit duty for a job its auditor cannot audit");
			}
		}
		for (id, d) in Disputes::<T>::iter() {
			if let Some(c) = &d.challenger {
				bonds.entry(c.clone()).or_default().saturating_accrue(d.bond);
			}
			ensure!(d.round > 0 || d.committee.is_empty(), "a committee sits before its draw");
			ensure!(
				d.votes.iter().all(|(v, _)| d.committed(v)),
				"a verdict was revealed without a commitment"
			);
			ensure!(
				d.commits.iter().all(|(c, _)| d.committee.contains(c)),
				"a commitment of a member no longer seated"
			);
			ensure!(d.round <= T::MaxDisputeRounds::get(), "a dispute outlived its rounds");
			for m in d.committee.iter().filter(|m| d.votes.iter().all(|(v, _)| v != *m)) {
				duties.entry(m.clone()).or_default().push(id);
			}
		}
		let sorted = |mut v: Vec<JobId>| {
			v.sort();
			v
		};
		for (who, info) in Executors::<T>::iter() {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::ExecutorStake.into(), &who) == info.stake,
				"executor stake held differs from its record"
			);
			ensure!(
				sorted(open_jobs.remove(&who).unwrap_or_default())
					== sorted(Assignments::<T>::get(&who).into_inner()),
				"executor's assignments differ from its jobs"
			);
			ensure!(
				info.unbonding_until.is_some() != ActiveExecutors::<T>::get().contains(&who),
				"executor activity differs from its record"
			);
		}
		ensure!(open_jobs.is_empty(), "jobs assigned to unknown executors");
		for (who, info) in Verifiers::<T>::iter() {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::VerifierStake.into(), &who) == info.stake,
				"verifier stake held differs from its record"
			);
			ensure!(
				sorted(duties.remove(&who).unwrap_or_default())
					== sorted(Duties::<T>::get(&who).into_inner()),
				"verifier's duties differ from its disputes' missing votes"
			);
			ensure!(
				info.unbonding_until.is_some() != ActiveVerifiers::<T>::get().contains(&who),
				"verifier activity differs from its record"
			);
		}
		ensure!(duties.is_empty(), "committee members who are not verifiers");
		ensure!(
			ActiveExecutors::<T>::get().iter().all(Executors::<T>::contains_key)
				&& ActiveVerifiers::<T>::get().iter().all(Verifiers::<T>::contains_key),
			"active list names an unregistered account"
		);
		for (who, amount) in escrow {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::JobEscrow.into(), &who) == amount,
				"escrow held differs from pending jobs' fees"
			);
		}
		let mut data: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (id, deposit) in DataDeposits::<T>::iter() {
			let requester = Jobs::<T>::get(id)
				.map(|j| j.requester)
				.or_else(|| QueuedJobs::<T>::get(id).map(|q| q.requester))
				.ok_or("a data deposit of a pruned job")?;
			data.entry(requester).or_default().saturating_accrue(deposit);
		}
		for (who, amount) in data {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::JobData.into(), &who) == amount,
				"data deposits held differ from the jobs'"
			);
		}
		for (who, amount) in bonds {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::ChallengeBond.into(), &who) == amount,
				"challenge bonds held differ from disputes"
			);
		}
		for (model, n) in JobsInFlight::<T>::iter() {
			ensure!(in_flight.remove(&model) == Some(n), "jobs in flight differ");
		}
		ensure!(in_flight.is_empty(), "jobs in flight not counted");
		for (id, declined) in Declines::<T>::iter() {
			let job = Jobs::<T>::get(id);
			ensure!(
				job.as_ref().is_some_and(|j| j.status == JobStatus::Assigned),
				"declines kept for a job that awaits no result"
			);
			ensure!(
				job.is_some_and(|j| !declined.contains(&j.executor)),
				"a job is assigned to an executor that declined it"
			);
		}
		let mut admission_duties: BTreeMap<T::AccountId, Vec<ModelId>> = BTreeMap::new();
		for (model, a) in Admissions::<T>::iter() {
			ensure!(
				T::Models::model(&model)
					.is_some_and(|m| m.status == pallet_model_registry::ModelStatus::Pending),
				"an admission runs for a model that is not pending"
			);
			for m in a.committee.iter().filter(|m| a.votes.iter().all(|(v, _)| v != *m)) {
				admission_duties.entry(m.clone()).or_default().push(model);
			}
		}
		for (who, duties) in AdmissionDuties::<T>::iter() {
			// Duties of admissions decided before the member voted may linger.
			let mut expected = admission_duties.remove(&who).unwrap_or_default();
			let mut actual: Vec<ModelId> =
				duties.into_iter().filter(|m| Admissions::<T>::contains_key(m)).collect();
			expected.sort();
			actual.sort();
			ensure!(expected == actual, "verifier's admission duties differ from admissions");
		}
		ensure!(admission_duties.is_empty(), "admission duties not recorded");
		for (id, _, _) in DissentingOutputs::<T>::iter() {
			ensure!(Disputes::<T>::contains_key(id), "dissenting outputs of no running dispute");
		}
		for (id, late) in LateRevealers::<T>::iter() {
			ensure!(
				Jobs::<T>::contains_key(id) && !Disputes::<T>::contains_key(id) && !late.is_empty(),
				"late revealers kept for a running dispute, a pruned job, or nobody"
			);
		}
		Ok(())
	}
}
