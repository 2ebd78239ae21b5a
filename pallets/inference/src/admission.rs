//! Admission: before any job may use a model, a committee of verifiers
//! checks it off-chain (its declarations against its graph, no unseeded
//! random operators, its golden vectors run twice with identical outputs
//! that agree with the publisher's under the model's policy) and votes.
//!
//! Two thirds of the committee admitting activate the model; two thirds
//! rejecting (for any reason) reject it and slash `RejectionSlash` of its
//! publisher bond, so that a wrong declaration costs its publisher and never
//! an executor or verifier who would otherwise meet it in a job. Votes are
//! free for committee members, also when they arrive after the decision. Members who do not vote by the deadline can be
//! replaced by anyone ([`Pallet::retry_admission`]).

use super::*;
use frame_support::traits::Defensive;
use pallet_model_registry::ModelAdmission;

impl<T: Config> Pallet<T> {
	/// Admissions still under way among `who`'s duties (the others were
	/// decided before its vote arrived).
	pub(crate) fn open_admission_duties(who: &T::AccountId) -> usize {
		AdmissionDuties::<T>::get(who).iter().filter(|m| Admissions::<T>::contains_key(m)).count()
	}

	fn admission_room(v: &T::AccountId) -> bool {
		AdmissionDuties::<T>::decode_len(v).unwrap_or(0) < T::MaxOpenDisputes::get() as usize
	}

	/// Draws members for `model`'s admission until its committee is full
	/// (none of its members, none of `replaced`), gives them the duty and
	/// sets a new deadline.
	fn fill_committee(
		model: ModelId,
		admission: &mut AdmissionOf<T>,
		round: u32,
		replaced: &[T::AccountId],
	) {
		let missing = T::CommitteeSize::get().saturating_sub(admission.committee.len() as u32);
		let excluded: Vec<T::AccountId> =
			admission.committee.iter().chain(replaced).cloned().collect();
		// Each round draws with other salts, so a replacement is a fresh draw.
		let subject = (model, round);
		// As many as are available: a short committee is filled later.
		let drawn = (1..=missing)
			.rev()
			.find_map(|n| Self::draw_committee(subject, n, &excluded, Self::admission_room).ok())
			.unwrap_or_default();
		for m in drawn {
			if admission.committee.try_push(m.clone()).is_ok() {
				AdmissionDuties::<T>::mutate(&m, |d| {
					let pushed = d.try_push(model).is_ok();
					debug_assert!(pushed, "drawn among verifiers with room; qed");
				});
			}
		}
		admission.deadline = Self::now().saturating_add(T::DisputePeriod::get());
		Self::deposit_event(Event::AdmissionStarted {
			model,
			committee: admission.committee.to_vec(),
			deadline: admission.deadline,
		});
	}

	/// A committee member votes on `model`; see [`Pallet::submit_admission_vote`].
	pub(crate) fn do_submit_admission_vote(
		who: T::AccountId,
		model: ModelId,
		vote: AdmissionVote,
	) -> DispatchResult {
		let Some(mut admission) = Admissions::<T>::get(model) else {
			// Decided before this vote arrived (members vote at the same time):
			// a member's late vote clears its duty and costs it nothing.
			let was_member = AdmissionDuties::<T>::mutate(&who, |d| {
				let before = d.len();
				d.retain(|m| *m != model);
				d.len() < before
			});
			ensure!(was_member, Error::<T>::NoAdmission);
			return Ok(());
		};
		ensure!(admission.committee.contains(&who), Error::<T>::NotInCommittee);
		ensure!(admission.votes.iter().all(|(v, _)| v != &who), Error::<T>::AlreadyVoted);
		admission.votes.try_push((who.clone(), vote)).map_err(|_| Error::<T>::AlreadyVoted)?;
		AdmissionDuties::<T>::mutate(&who, |d| d.retain(|m| *m != model));
		Self::deposit_event(Event::AdmissionVoted { model, verifier: who, vote });

		let needed = Self::quorum_size(T::CommitteeSize::get()) as usize;
		let admits = admission.votes.iter().filter(|(_, v)| *v == AdmissionVote::Admit).count();
		let rejects = admission.votes.len() - admits;
		let everyone = admission.votes.len() >= admission.committee.len()
			&& admission.committee.len() as u32 >= T::CommitteeSize::get();
		let decided = if admits >= needed {
			Some(true)
		} else if rejects >= needed || everyone {
			// Without two thirds for it, nobody vouches for the model.
			Some(false)
		} else {
			None
		};
		match decided {
			None => Admissions::<T>::insert(model, admission),
			Some(admitted) => {
				// Members who have not voted keep their duty until their
				// (late, free) vote arrives or they leave.
				Admissions::<T>::remove(model);
				let result = if admitted {
					T::Models::admit(&model)
				} else {
					T::Models::reject(&model).map(|_| ())
				};
				result.defensive_proof("an admission runs only for a pending model; qed").ok();
				Self::deposit_event(Event::AdmissionDecided { model, admitted });
			}
		}
		Ok(())
	}

	/// Replaces non-voters after the deadline, or fills a committee that
	/// lacked verifiers; see [`Pallet::retry_admission`].
	/// Draws the first committee of `model`'s admission (scheduled by
	/// [`ModelAdmission::start`]).
	pub(crate) fn draw_admission(model: ModelId) {
		let Some(mut admission) = Admissions::<T>::get(model) else { return };
		if !admission.committee.is_empty() || !admission.votes.is_empty() {
			return;
		}
		Self::fill_committee(model, &mut admission, 0, &[]);
		Admissions::<T>::insert(model, admission);
	}

	pub(crate) fn do_retry_admission(model: ModelId) -> DispatchResult {
		let mut admission = Admissions::<T>::get(model).ok_or(Error::<T>::NoAdmission)?;
		// Before its scheduled draw nobody may draw a committee early.
		let undrawn = admission.committee.is_empty() && admission.votes.is_empty();
		ensure!(!(undrawn && Self::now() < admission.deadline), Error::<T>::AdmissionNotDue);
		let short = (admission.committee.len() as u32) < T::CommitteeSize::get();
		ensure!(short || Self::now() > admission.deadline, Error::<T>::AdmissionNotDue);
		let voted: Vec<T::AccountId> = admission.votes.iter().map(|(v, _)| v.clone()).collect();
		let silent: Vec<T::AccountId> =
			admission.committee.iter().filter(|m| !voted.contains(m)).cloned().collect();
		for m in &silent {
			AdmissionDuties::<T>::mutate(m, |d| d.retain(|x| *x != model));
		}
		let round = admission.committee.len() as u32 + admission.votes.len() as u32;
		admission.committee.retain(|m| voted.contains(m));
		// The silent members are not drawn again for this round.
		Self::fill_committee(model, &mut admission, round, &silent);
		Admissions::<T>::insert(model, admission);
		Ok(())
	}
}

/// The registry hands every uploaded model to admission.
impl<T: Config> ModelAdmission for Pallet<T> {
	/// Opens `id`'s admission; its committee is drawn `DRAW_DELAY` blocks
	/// later (or the first later block with room), from a VRF output the
	/// publisher could not know when it uploaded the last chunk.
	fn start(id: &ModelId) -> bool {
		let draw_at = Self::schedule_draw(Draw::Admission(*id));
		let admission =
			Admission { committee: BoundedVec::new(), votes: BoundedVec::new(), deadline: draw_at };
		Admissions::<T>::insert(id, admission);
		Self::deposit_event(Event::AdmissionScheduled { model: *id, draw_at });
		true
	}

	fn start_weight() -> Weight {
		T::WeightInfo::challenge(T::MaxVerifiers::get())
	}
}
