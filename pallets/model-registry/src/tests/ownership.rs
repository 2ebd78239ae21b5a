//! `transfer_ownership`, `accept_ownership` and `transfer_family`.

use super::*;

#[test]
fn ownership_moves_with_its_holds_once_accepted() {
	new_test_ext(|| {
		let (id, _) = publish_default();
		let locked = MODEL_DEPOSIT + BYTE_DEPOSIT * 3000 + BOND;
		assert_ok!(Registry::transfer_ownership(RuntimeOrigin::signed(ALICE), id, BOB));
		assert_eq!(
			registry_events().last(),
			Some(&Event::OwnershipOffered { model: id, from: ALICE, to: BOB })
		);
		// Nothing moves until Bob accepts.
		assert_eq!(Models::<Test>::get(id).unwrap().owner, ALICE);
		assert_eq!(free(BOB), ENDOWMENT);

		assert_ok!(Registry::accept_ownership(RuntimeOrigin::signed(BOB), id));
		assert_eq!(Models::<Test>::get(id).unwrap().owner, BOB);
		assert_eq!(free(ALICE), ENDOWMENT);
		assert_eq!(free(BOB), ENDOWMENT - locked);
		assert_eq!(held_deposit(BOB) + held_bond(BOB), locked);
		assert_eq!(held_deposit(ALICE) + held_bond(ALICE), 0);
		assert!(PendingOwners::<Test>::get(id).is_none());
		assert_eq!(
			registry_events().last(),
			Some(&Event::OwnershipTransferred { model: id, from: ALICE, to: BOB })
		);
		// The new owner changes the model, the old one no longer can.
		assert_noop!(
			Registry::deprecate(RuntimeOrigin::signed(ALICE), id),
			Error::<Test>::NotOwner
		);
		assert_ok!(Registry::deprecate(RuntimeOrigin::signed(BOB), id));
	});
}

#[test]
fn only_the_offered_account_accepts() {
	new_test_ext(|| {
		let (id, _) = publish_default();
		assert_noop!(
			Registry::accept_ownership(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::NoPendingTransfer
		);
		assert_ok!(Registry::transfer_ownership(RuntimeOrigin::signed(ALICE), id, BOB));
		assert_noop!(
			Registry::accept_ownership(RuntimeOrigin::signed(CHARLIE), id),
			Error::<Test>::NoPendingTransfer
		);
		// A new offer replaces the old one.
		assert_ok!(Registry::transfer_ownership(RuntimeOrigin::signed(ALICE), id, DAVE));
		assert_noop!(
			Registry::accept_ownership(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::NoPendingTransfer
		);
	});
}

#[test]
fn offers_are_checked() {
	new_test_ext(|| {
		let (id, _) = publish_default();
		assert_noop!(
			Registry::transfer_ownership(RuntimeOrigin::signed(BOB), id, CHARLIE),
			Error::<Test>::NotOwner
		);
		assert_noop!(
			Registry::transfer_ownership(RuntimeOrigin::signed(ALICE), id, ALICE),
			Error::<Test>::AlreadyOwner
		);
		assert_noop!(
			Registry::transfer_ownership(RuntimeOrigin::signed(ALICE), id_of(b"?"), BOB),
			Error::<Test>::ModelNotFound
		);
	});
}

#[test]
fn a_new_owner_who_cannot_pay_the_holds_cannot_accept() {
	new_test_ext(|| {
		let (id, _) = publish_default();
		assert_ok!(Registry::transfer_ownership(RuntimeOrigin::signed(ALICE), id, CHARLIE));
		assert_noop!(
			Registry::accept_ownership(RuntimeOrigin::signed(CHARLIE), id),
			Error::<Test>::InsufficientBalance
		);
		assert_eq!(Models::<Test>::get(id).unwrap().owner, ALICE);
	});
}

#[test]
fn an_offer_dies_with_the_models_changeability() {
	new_test_ext(|| {
		let (id, _) = publish_default();
		assert_ok!(Registry::transfer_ownership(RuntimeOrigin::signed(ALICE), id, BOB));
		assert_ok!(Registry::deprecate(RuntimeOrigin::signed(ALICE), id));
		assert_ok!(Registry::retire(RuntimeOrigin::signed(ALICE), id));
		assert!(PendingOwners::<Test>::get(id).is_none());
		assert_noop!(
			Registry::accept_ownership(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::NoPendingTransfer
		);
	});
}

#[test]
fn family_ownership_decides_who_adds_releases() {
	new_test_ext(|| {
		let (v1, _) = publish_default();
		let family = name("digits-mlp");
		assert_noop!(
			Registry::transfer_family(RuntimeOrigin::signed(BOB), family.clone(), BOB),
			Error::<Test>::NotFamilyOwner
		);
		assert_noop!(
			Registry::transfer_family(RuntimeOrigin::signed(ALICE), name("nope"), BOB),
			Error::<Test>::FamilyNotFound
		);
		assert_noop!(
			Registry::transfer_family(RuntimeOrigin::signed(ALICE), family.clone(), ALICE),
			Error::<Test>::AlreadyOwner
		);
		assert_ok!(Registry::transfer_family(RuntimeOrigin::signed(ALICE), family.clone(), BOB));
		assert_eq!(
			registry_events().last(),
			Some(&Event::FamilyTransferred { family, from: ALICE, to: BOB })
		);
		let mut s = spec(100);
		s.version = ModelVersion { major: 2, minor: 0 };
		assert_noop!(
			Registry::register(RuntimeOrigin::signed(ALICE), id_of(b"v2"), s.clone()),
			Error::<Test>::NotFamilyOwner
		);
		assert_ok!(Registry::register(RuntimeOrigin::signed(BOB), id_of(b"v2"), s));
		// Existing releases keep their owner.
		assert_eq!(Models::<Test>::get(v1).unwrap().owner, ALICE);
	});
}
