//! Admission: uploaded models wait for a committee's check; a rejected model
//! costs its publisher, never an executor or a verifier.

use super::*;
use frame_support::dispatch::{DispatchResultWithPostInfo, Pays};
use pallet_model_registry::{ModelStatus, Name};

fn registry_status(model: ModelId) -> ModelStatus {
	pallet_model_registry::Models::<Test>::get(model).unwrap().status
}

/// Registers and uploads `bytes` (4 floats in, 3 out): pending admission.
fn pending(bytes: &[u8]) -> ModelId {
	let id = ModelId::from(sp_io::hashing::blake2_256(bytes));
	let s = pallet_model_registry::ModelSpec {
		family: Name::try_from(bytes.to_vec()).unwrap(),
		version: pallet_model_registry::ModelVersion { major: 1, minor: 0 },
		size: bytes.len() as u32,
		inputs: pallet_model_registry::Models::<Test>::iter().next().unwrap().1.inputs,
		outputs: pallet_model_registry::Models::<Test>::iter().next().unwrap().1.outputs,
		price: PRICE,
		challenge_period: CHALLENGE_PERIOD,
		max_batch: 1,
		policy: VerificationPolicy::ArgMax,
	};
	assert_ok!(Registry::register(RuntimeOrigin::signed(PUBLISHER), id, s));
	upload_pending(id, bytes, 3);
	// Nobody, the publisher included, knows the committee at upload: it is
	// drawn DRAW_DELAY blocks later.
	let draw_at = System::block_number() + DRAW_DELAY as u64;
	assert!(events().contains(&Event::AdmissionScheduled { model: id, draw_at }));
	assert!(Admissions::<Test>::get(id).unwrap().committee.is_empty());
	assert_noop!(
		Inference::retry_admission(RuntimeOrigin::signed(PUBLISHER), id),
		Error::<Test>::AdmissionNotDue
	);
	run_to_block(draw_at);
	id
}

fn admission_vote(
	model: ModelId,
	who: AccountId,
	vote: AdmissionVote,
) -> DispatchResultWithPostInfo {
	Inference::submit_admission_vote(RuntimeOrigin::signed(who), model, vote)
}

fn balances() -> Vec<Balance> {
	[EXECUTOR, EXECUTOR_2]
		.into_iter()
		.chain(VERIFIERS)
		.map(|a| free(a) + stake_or_zero(a))
		.collect()
}

#[test]
fn an_uploaded_model_takes_jobs_only_once_a_quorum_admits_it() {
	new_test_ext(|_| {
		let model = pending(b"pending-model");
		assert_eq!(registry_status(model), ModelStatus::Pending);
		let admission = Admissions::<Test>::get(model).unwrap();
		assert_eq!(admission.committee.len(), 3);
		assert!(admission.committee.iter().all(|m| VERIFIERS.contains(m)));
		for m in &admission.committee {
			assert!(AdmissionDuties::<Test>::get(m).contains(&model));
		}
		assert!(events().contains(&Event::AdmissionStarted {
			model,
			committee: admission.committee.to_vec(),
			deadline: 1 + DRAW_DELAY as u64 + DISPUTE_PERIOD
		}));
		let job = || try_submit(model);
		assert_noop!(job(), Error::<Test>::ModelNotActive);

		let outsider = *VERIFIERS.iter().find(|v| !admission.committee.contains(v)).unwrap();
		assert_noop!(
			admission_vote(model, outsider, AdmissionVote::Admit),
			Error::<Test>::NotInCommittee
		);
		let first = admission_vote(model, admission.committee[0], AdmissionVote::Admit).unwrap();
		assert_eq!(first.pays_fee, Pays::No, "checking is free for the committee");
		assert_noop!(
			admission_vote(model, admission.committee[0], AdmissionVote::Admit),
			Error::<Test>::AlreadyVoted
		);
		// One dissent does not stop it.
		assert_ok!(admission_vote(
			model,
			admission.committee[1],
			AdmissionVote::Reject(AdmissionFault::WrongGoldenOutput)
		));
		assert_eq!(registry_status(model), ModelStatus::Pending);
		assert_ok!(admission_vote(model, admission.committee[2], AdmissionVote::Admit));

		assert_eq!(registry_status(model), ModelStatus::Active);
		assert!(events().contains(&Event::AdmissionDecided { model, admitted: true }));
		assert!(Admissions::<Test>::get(model).is_none());
		assert!(admission
			.committee
			.iter()
			.all(|m| !AdmissionDuties::<Test>::get(m).contains(&model)));
		assert_ok!(job());
	});
}

#[test]
fn a_model_whose_declarations_mismatch_its_graph_is_rejected_at_the_publishers_cost() {
	new_test_ext(|_| {
		let before = balances();
		let treasury = free(TREASURY);
		let model = pending(b"mismatched-model");
		let committee = Admissions::<Test>::get(model).unwrap().committee;
		for m in committee.iter().take(2) {
			assert_ok!(admission_vote(
				model,
				*m,
				AdmissionVote::Reject(AdmissionFault::SpecMismatch)
			));
		}
		assert_eq!(registry_status(model), ModelStatus::Rejected);
		assert!(events().contains(&Event::AdmissionDecided { model, admitted: false }));
		// The third member's vote arrives after the decision: free, and it
		// clears its duty; nobody else can vote on a decided model.
		assert_eq!(AdmissionDuties::<Test>::get(committee[2]).to_vec(), vec![model]);
		let late = admission_vote(model, committee[2], AdmissionVote::Admit).unwrap();
		assert_eq!(late.pays_fee, Pays::No);
		assert!(AdmissionDuties::<Test>::get(committee[2]).is_empty());
		assert_noop!(
			admission_vote(model, committee[2], AdmissionVote::Admit),
			Error::<Test>::NoAdmission
		);
		// RejectionSlash (50 % here) of the bond; no executor or verifier pays.
		assert_eq!(free(TREASURY), treasury + PUBLISHER_BOND / 2);
		assert_eq!(balances(), before);
		assert_noop!(try_submit(model), Error::<Test>::ModelNotActive);
	});
}

#[test]
fn a_model_with_unseeded_random_ops_is_rejected_before_any_job() {
	new_test_ext(|_| {
		let before = balances();
		let model = pending(b"random-model");
		let committee = Admissions::<Test>::get(model).unwrap().committee;
		for m in committee.iter().take(2) {
			assert_ok!(admission_vote(
				model,
				*m,
				AdmissionVote::Reject(AdmissionFault::UnseededRandom)
			));
		}
		assert_eq!(registry_status(model), ModelStatus::Rejected);
		assert_eq!(balances(), before);
	});
}

#[test]
fn silent_admission_members_are_replaced_after_the_deadline() {
	new_test_ext(|_| {
		let model = pending(b"slow-admission");
		let committee = Admissions::<Test>::get(model).unwrap().committee;
		assert_ok!(admission_vote(model, committee[0], AdmissionVote::Admit));
		assert_noop!(
			Inference::retry_admission(RuntimeOrigin::signed(REQUESTER), model),
			Error::<Test>::AdmissionNotDue
		);
		// A verifier with an admission duty cannot leave.
		assert_ok!(Inference::unbond_verifier(RuntimeOrigin::signed(committee[1])));
		run_to_block(2 + DISPUTE_PERIOD + UNBONDING);
		assert_noop!(
			Inference::withdraw_verifier(RuntimeOrigin::signed(committee[1])),
			Error::<Test>::OpenJobs
		);
		assert_ok!(Inference::retry_admission(RuntimeOrigin::signed(REQUESTER), model));
		let renewed = Admissions::<Test>::get(model).unwrap();
		// The voter stays; the only verifier left that was not silent fills in.
		assert_eq!(renewed.committee[0], committee[0]);
		assert!(renewed.committee.iter().all(|m| m == &committee[0] || !committee.contains(m)));
		assert!(!AdmissionDuties::<Test>::get(committee[1]).contains(&model));
		assert_ok!(Inference::withdraw_verifier(RuntimeOrigin::signed(committee[1])));
		let fresh = renewed.committee[1];
		assert_ok!(admission_vote(model, fresh, AdmissionVote::Admit));
		assert_eq!(registry_status(model), ModelStatus::Active);
	});
}
