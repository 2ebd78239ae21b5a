//! `set_price`, `deprecate` and `retire`.

use super::*;

#[test]
fn owner_sets_the_price() {
	new_test_ext(|| {
		let (id, _) = publish_default();
		assert_ok!(Registry::set_price(RuntimeOrigin::signed(ALICE), id, 42));
		assert_eq!(Models::<Test>::get(id).unwrap().price, 42);
		assert_eq!(registry_events().last(), Some(&Event::PriceSet { model: id, price: 42 }));
		assert_noop!(
			Registry::set_price(RuntimeOrigin::signed(BOB), id, 1),
			Error::<Test>::NotOwner
		);
		assert_noop!(
			Registry::set_price(RuntimeOrigin::signed(ALICE), id_of(b"?"), 1),
			Error::<Test>::ModelNotFound
		);
	});
}

#[test]
fn deprecate_stops_new_jobs() {
	new_test_ext(|| {
		let (id, _) = publish_default();
		assert_noop!(Registry::deprecate(RuntimeOrigin::signed(BOB), id), Error::<Test>::NotOwner);
		assert_ok!(Registry::deprecate(RuntimeOrigin::signed(ALICE), id));
		assert_eq!(status(id), ModelStatus::Deprecated);
		assert!(!<Registry as ModelRegistry<_, _, _>>::is_active(&id));
		// Bytes stay available for jobs that are still running.
		assert!(bytes_of(id).is_some());
		assert_eq!(registry_events().last(), Some(&Event::ModelDeprecated { model: id }));
		assert_noop!(
			Registry::deprecate(RuntimeOrigin::signed(ALICE), id),
			Error::<Test>::NotActive
		);
	});
}

#[test]
fn an_uploading_model_cannot_be_deprecated_or_retired() {
	new_test_ext(|| {
		let id = register(ALICE, &fake_model(100, 1), spec(100));
		assert_noop!(
			Registry::deprecate(RuntimeOrigin::signed(ALICE), id),
			Error::<Test>::NotActive
		);
		assert_noop!(
			Registry::retire(RuntimeOrigin::signed(ALICE), id),
			Error::<Test>::NotDeprecated
		);
	});
}

#[test]
fn retire_needs_deprecation_and_no_jobs_in_flight() {
	new_test_ext(|| {
		let (id, _) = publish_default();
		assert_noop!(
			Registry::retire(RuntimeOrigin::signed(ALICE), id),
			Error::<Test>::NotDeprecated
		);
		assert_ok!(Registry::deprecate(RuntimeOrigin::signed(ALICE), id));
		JobsInFlight::set(1);
		assert_noop!(Registry::retire(RuntimeOrigin::signed(ALICE), id), Error::<Test>::ModelInUse);
		JobsInFlight::set(0);
		assert_noop!(Registry::retire(RuntimeOrigin::signed(BOB), id), Error::<Test>::NotOwner);
		assert_ok!(Registry::retire(RuntimeOrigin::signed(ALICE), id));
	});
}

#[test]
fn retire_removes_the_bytes_and_returns_every_unit() {
	new_test_ext(|| {
		let (id, _) = publish_default();
		let deposit = MODEL_DEPOSIT + BYTE_DEPOSIT * 3000;
		assert_eq!(free(ALICE), ENDOWMENT - deposit - BOND);
		assert_ok!(Registry::deprecate(RuntimeOrigin::signed(ALICE), id));
		assert_ok!(Registry::retire(RuntimeOrigin::signed(ALICE), id));

		assert_eq!(free(ALICE), ENDOWMENT);
		assert_eq!((held_deposit(ALICE), held_bond(ALICE)), (0, 0));
		assert_eq!(Chunks::<Test>::iter_prefix(id).count(), 0);
		assert_eq!(bytes_of(id), None);
		assert_eq!(Registry::model_chunk(&id, 0), None);
		let m = Models::<Test>::get(id).unwrap();
		assert_eq!((m.status, m.deposit, m.bond), (ModelStatus::Retired, 0, 0));
		assert_eq!(
			registry_events().last(),
			Some(&Event::ModelRetired { model: id, released: deposit + BOND })
		);
	});
}

#[test]
fn a_retired_id_keeps_its_meaning() {
	new_test_ext(|| {
		let (id, bytes) = publish_default();
		assert_ok!(Registry::deprecate(RuntimeOrigin::signed(ALICE), id));
		assert_ok!(Registry::retire(RuntimeOrigin::signed(ALICE), id));
		// Neither the id nor the version can be taken again.
		let mut s = spec(3000);
		s.version.minor = 9;
		assert_noop!(
			Registry::register(RuntimeOrigin::signed(ALICE), id_of(&bytes), s),
			Error::<Test>::ModelAlreadyRegistered
		);
		assert_noop!(
			Registry::register(RuntimeOrigin::signed(ALICE), id_of(b"new"), spec(3)),
			Error::<Test>::VersionExists
		);
		assert_eq!(Registry::release(b"digits-mlp".to_vec(), spec(1).version), Some(id));
		// And it cannot be changed any more.
		assert_noop!(
			Registry::set_price(RuntimeOrigin::signed(ALICE), id, 1),
			Error::<Test>::ModelNotChangeable
		);
		assert_noop!(
			Registry::retire(RuntimeOrigin::signed(ALICE), id),
			Error::<Test>::NotDeprecated
		);
		assert_noop!(
			Registry::transfer_ownership(RuntimeOrigin::signed(ALICE), id, BOB),
			Error::<Test>::ModelNotChangeable
		);
	});
}
