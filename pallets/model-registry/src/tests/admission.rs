//! Golden vectors and admission: an uploaded model waits for its checks
//! before jobs may use it, and a rejected one costs its publisher part of
//! the bond.

use super::*;
use crate::traits::ModelRegistry as _;
use codec::Encode;
use verity_primitives::Tensor;

/// One item of `n` float32s named `name`, SCALE-encoded.
fn item(name: &str, n: u32) -> BoundedVec<u8, ConstU32<4096>> {
	let t = vec![Tensor {
		name: name.as_bytes().to_vec(),
		dtype: DType::Float32,
		shape: vec![1, n],
		data: vec![0; n as usize * 4],
	}];
	BoundedVec::try_from(t.encode()).unwrap()
}

fn add_golden(id: ModelId) -> sp_runtime::DispatchResult {
	Registry::add_golden_vector(
		RuntimeOrigin::signed(ALICE),
		id,
		item("x", 64),
		item("probabilities", 10),
	)
}

#[test]
fn golden_vectors_must_match_the_declarations_and_pay_a_deposit() {
	new_test_ext(|| {
		let bytes = fake_model(100, 1);
		let id = register(ALICE, &bytes, spec(100));
		let deposit = held_deposit(ALICE);
		let wrong_name = Registry::add_golden_vector(
			RuntimeOrigin::signed(ALICE),
			id,
			item("y", 64),
			item("probabilities", 10),
		);
		assert_noop!(wrong_name, Error::<Test>::InvalidGoldenVector);
		let wrong_shape = Registry::add_golden_vector(
			RuntimeOrigin::signed(ALICE),
			id,
			item("x", 63),
			item("probabilities", 10),
		);
		assert_noop!(wrong_shape, Error::<Test>::InvalidGoldenVector);
		assert_noop!(
			Registry::add_golden_vector(
				RuntimeOrigin::signed(BOB),
				id,
				item("x", 64),
				item("probabilities", 10)
			),
			Error::<Test>::NotOwner
		);
		assert_ok!(add_golden(id));
		let len = (item("x", 64).len() + item("probabilities", 10).len()) as u64;
		assert_eq!(held_deposit(ALICE), deposit + BYTE_DEPOSIT * len);
		assert_eq!(
			registry_events().last(),
			Some(&Event::GoldenVectorAdded { model: id, count: 1 })
		);
		for _ in 1..4 {
			assert_ok!(add_golden(id));
		}
		assert_noop!(add_golden(id), Error::<Test>::TooManyGoldenVectors);
		// Aborting the upload removes them and returns every deposit.
		assert_ok!(Registry::abort_upload(RuntimeOrigin::signed(ALICE), id));
		assert_eq!(GoldenVectors::<Test>::decode_len(id), None);
		assert_eq!(held_deposit(ALICE), 0);
	});
}

#[test]
fn the_last_chunk_needs_the_golden_vectors_admission_runs() {
	new_test_ext(|| {
		MinGolden::set(1);
		let bytes = fake_model(100, 1);
		let id = register(ALICE, &bytes, spec(100));
		let chunk = chunks(&bytes).remove(0);
		assert_noop!(
			Registry::upload_chunk(RuntimeOrigin::signed(ALICE), id, 0, chunk.clone()),
			Error::<Test>::TooFewGoldenVectors
		);
		assert_ok!(add_golden(id));
		assert_ok!(Registry::upload_chunk(RuntimeOrigin::signed(ALICE), id, 0, chunk));
		// Golden vectors only while uploading.
		assert_noop!(add_golden(id), Error::<Test>::NotUploading);
	});
}

#[test]
fn a_pending_model_takes_no_jobs_until_admitted() {
	new_test_ext(|| {
		AdmissionRuns::set(true);
		let bytes = fake_model(100, 1);
		let id = register(ALICE, &bytes, spec(100));
		assert_ok!(add_golden(id));
		upload_all(ALICE, id, &bytes);
		assert_eq!(status(id), ModelStatus::Pending);
		assert!(!Registry::is_active(&id));
		// Its bytes are there for the verifiers to check.
		assert_eq!(bytes_of(id), Some(bytes.clone()));
		assert_eq!(Registry::golden_vectors(&id).len(), 1);
		assert_noop!(
			Registry::deprecate(RuntimeOrigin::signed(ALICE), id),
			Error::<Test>::NotActive
		);
		assert_ok!(Registry::admit(&id));
		assert_eq!(status(id), ModelStatus::Active);
		assert_eq!(registry_events().last(), Some(&Event::ModelActivated { model: id }));
		assert_noop!(Registry::admit(&id), Error::<Test>::NotPending);
		assert_noop!(Registry::reject(&id), Error::<Test>::NotPending);
	});
}

#[test]
fn a_rejected_model_costs_part_of_the_bond_and_can_be_retired() {
	new_test_ext(|| {
		AdmissionRuns::set(true);
		let bytes = fake_model(100, 1);
		let id = register(ALICE, &bytes, spec(100));
		assert_ok!(add_golden(id));
		upload_all(ALICE, id, &bytes);
		let deposit = held_deposit(ALICE);

		assert_eq!(Registry::reject(&id), Ok(BOND / 2));
		assert_eq!(status(id), ModelStatus::Rejected);
		assert_eq!(Slashed::get(), BOND / 2);
		assert_eq!(held_bond(ALICE), BOND / 2);
		assert_eq!(
			registry_events().last(),
			Some(&Event::ModelRejected { model: id, slashed: BOND / 2 })
		);
		// No jobs, no changes; retiring returns the deposit and the rest of the bond.
		assert_noop!(
			Registry::set_price(RuntimeOrigin::signed(ALICE), id, 1),
			Error::<Test>::ModelNotChangeable
		);
		let before = free(ALICE);
		assert_ok!(Registry::retire(RuntimeOrigin::signed(ALICE), id));
		assert_eq!(free(ALICE), before + deposit + BOND / 2);
		assert_eq!(GoldenVectors::<Test>::decode_len(id), None);
		assert_eq!(status(id), ModelStatus::Retired);
	});
}
