//! The [`ModelRegistry`] trait other pallets use.

use super::*;

#[test]
fn other_pallets_read_models() {
	new_test_ext(|| {
		let (id, bytes) = publish_default();
		let m = <Registry as ModelRegistry<_, _, _>>::model(&id).unwrap();
		assert_eq!((m.owner, m.price, m.size), (ALICE, 10, 3000));
		assert!(<Registry as ModelRegistry<_, _, _>>::is_active(&id));
		assert_eq!(bytes_of(id), Some(bytes));

		let uploading = register(ALICE, &fake_model(10, 2), {
			let mut s = spec(10);
			s.version.minor = 1;
			s
		});
		assert!(!<Registry as ModelRegistry<_, _, _>>::is_active(&uploading));
		assert_eq!(bytes_of(uploading), None);
		assert!(<Registry as ModelRegistry<_, _, _>>::model(&id_of(b"?")).is_none());
	});
}

#[test]
fn disable_and_slash_takes_the_bond() {
	new_test_ext(|| {
		let (id, _) = publish_default();
		assert_ok!(Registry::transfer_ownership(RuntimeOrigin::signed(ALICE), id, BOB));
		let slashed = <Registry as ModelRegistry<_, _, _>>::disable_and_slash(&id).unwrap();
		assert_eq!(slashed, BOND);
		assert_eq!(Slashed::get(), BOND);
		assert_eq!(held_bond(ALICE), 0);
		assert_eq!(status(id), ModelStatus::Disabled);
		assert!(!<Registry as ModelRegistry<_, _, _>>::is_active(&id));
		assert!(PendingOwners::<Test>::get(id).is_none());
		assert_eq!(
			registry_events().last(),
			Some(&Event::ModelDisabled { model: id, slashed: BOND })
		);

		// Once disabled, nothing more to slash; the owner can still retire it.
		assert_noop!(
			<Registry as ModelRegistry<_, _, _>>::disable_and_slash(&id),
			Error::<Test>::NotSlashable
		);
		assert_noop!(
			Registry::set_price(RuntimeOrigin::signed(ALICE), id, 1),
			Error::<Test>::ModelNotChangeable
		);
		assert_ok!(Registry::retire(RuntimeOrigin::signed(ALICE), id));
		// The deposit comes back, the bond does not.
		assert_eq!(free(ALICE), ENDOWMENT - BOND);
	});
}

#[test]
fn an_uploading_model_cannot_be_slashed() {
	new_test_ext(|| {
		let id = register(ALICE, &fake_model(10, 2), spec(10));
		assert_noop!(
			<Registry as ModelRegistry<_, _, _>>::disable_and_slash(&id),
			Error::<Test>::NotSlashable
		);
		assert_noop!(
			<Registry as ModelRegistry<_, _, _>>::disable_and_slash(&id_of(b"?")),
			Error::<Test>::ModelNotFound
		);
	});
}
