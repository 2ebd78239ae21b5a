//! `register`: declaring a model and holding its deposit and bond.

use super::*;

#[test]
fn register_holds_deposit_and_bond_and_records_the_model() {
	new_test_ext(|| {
		let bytes = fake_model(3000, 7);
		let id = register(ALICE, &bytes, spec(3000));

		let deposit = MODEL_DEPOSIT + BYTE_DEPOSIT * 3000;
		assert_eq!(Registry::storage_deposit(3000), deposit);
		assert_eq!(held_deposit(ALICE), deposit);
		assert_eq!(held_bond(ALICE), BOND);
		assert_eq!(free(ALICE), ENDOWMENT - deposit - BOND);

		let m = Models::<Test>::get(id).unwrap();
		assert_eq!(m.owner, ALICE);
		assert_eq!(m.status, ModelStatus::Uploading);
		assert_eq!((m.size, m.chunks, m.received), (3000, 0, 0));
		assert_eq!((m.deposit, m.bond, m.price, m.challenge_period), (deposit, BOND, 10, 10));
		assert_eq!(m.registered_at, 1);
		assert_eq!(
			Releases::<Test>::get(name("digits-mlp"), ModelVersion { major: 1, minor: 0 }),
			Some(id)
		);
		assert_eq!(
			Families::<Test>::get(name("digits-mlp")).unwrap(),
			FamilyInfo { owner: ALICE, releases: 1 }
		);
		assert_eq!(
			registry_events(),
			vec![Event::ModelRegistered {
				model: id,
				owner: ALICE,
				family: name("digits-mlp"),
				version: ModelVersion { major: 1, minor: 0 },
				size: 3000,
				deposit,
				bond: BOND,
			}]
		);
	});
}

#[test]
fn family_owner_adds_releases_and_versions_are_write_once() {
	new_test_ext(|| {
		let v1 = register(ALICE, &fake_model(100, 1), spec(100));
		let mut s = spec(100);
		s.version = ModelVersion { major: 1, minor: 1 };
		let v11 = register(ALICE, &fake_model(100, 2), s.clone());
		assert_ne!(v1, v11);
		assert_eq!(Families::<Test>::get(name("digits-mlp")).unwrap().releases, 2);

		// The same version again, even with other bytes, is refused.
		assert_noop!(
			Registry::register(RuntimeOrigin::signed(ALICE), id_of(&fake_model(100, 3)), s.clone()),
			Error::<Test>::VersionExists
		);
		// Someone else cannot add a release to Alice's family.
		s.version = ModelVersion { major: 2, minor: 0 };
		assert_noop!(
			Registry::register(RuntimeOrigin::signed(BOB), id_of(&fake_model(100, 4)), s),
			Error::<Test>::NotFamilyOwner
		);
	});
}

#[test]
fn the_same_bytes_cannot_be_registered_twice() {
	new_test_ext(|| {
		let bytes = fake_model(100, 1);
		register(ALICE, &bytes, spec(100));
		let mut s = spec(100);
		s.family = name("other");
		assert_noop!(
			Registry::register(RuntimeOrigin::signed(BOB), id_of(&bytes), s),
			Error::<Test>::ModelAlreadyRegistered
		);
	});
}

#[test]
fn sizes_are_bounded() {
	new_test_ext(|| {
		let id = id_of(b"x");
		assert_noop!(
			Registry::register(RuntimeOrigin::signed(ALICE), id, spec(0)),
			Error::<Test>::ModelEmpty
		);
		assert_noop!(
			Registry::register(RuntimeOrigin::signed(ALICE), id, spec(MAX_MODEL_SIZE + 1)),
			Error::<Test>::ModelTooLarge
		);
	});
}

#[test]
fn malformed_tensor_specs_are_refused() {
	new_test_ext(|| {
		let id = id_of(b"x");
		let bad_inputs: Vec<Vec<TensorSpec>> = vec![
			vec![],
			vec![tensor("", DType::Float32, &[Dim::Fixed(1)])],
			vec![tensor("x", DType::Float32, &[Dim::Fixed(1), Dim::Batch])],
			vec![tensor("x", DType::Float32, &[Dim::Batch, Dim::Fixed(0)])],
			vec![tensor("x", DType::Float32, &[Dim::Fixed(1 << 16), Dim::Fixed(1 << 16)])],
			vec![
				tensor("x", DType::Float32, &[Dim::Fixed(1)]),
				tensor("x", DType::Int64, &[Dim::Fixed(1)]),
			],
		];
		for inputs in bad_inputs {
			let mut s = spec(10);
			s.inputs = BoundedVec::try_from(inputs.clone()).unwrap();
			assert_noop!(
				Registry::register(RuntimeOrigin::signed(ALICE), id, s.clone()),
				Error::<Test>::InvalidTensorSpec
			);
			// The same rules apply to outputs.
			let mut s = spec(10);
			s.outputs = BoundedVec::try_from(inputs).unwrap();
			assert_noop!(
				Registry::register(RuntimeOrigin::signed(ALICE), id, s),
				Error::<Test>::InvalidTensorSpec
			);
		}
		// A scalar (rank 0) is fine.
		let mut s = spec(10);
		s.inputs = BoundedVec::try_from(vec![tensor("t", DType::Bool, &[])]).unwrap();
		assert_ok!(Registry::register(RuntimeOrigin::signed(ALICE), id, s));
	});
}

#[test]
fn policies_and_challenge_periods_are_checked() {
	new_test_ext(|| {
		let id = id_of(b"x");
		for policy in [VerificationPolicy::TopK(0), VerificationPolicy::TopK(MAX_TOP_K + 1)] {
			let mut s = spec(10);
			s.policy = policy;
			assert_noop!(
				Registry::register(RuntimeOrigin::signed(ALICE), id, s),
				Error::<Test>::InvalidPolicy
			);
		}
		for period in [0, 4, 1001] {
			let mut s = spec(10);
			s.challenge_period = period;
			assert_noop!(
				Registry::register(RuntimeOrigin::signed(ALICE), id, s),
				Error::<Test>::ChallengePeriodOutOfBounds
			);
		}
		for (period, policy) in
			[(5, VerificationPolicy::Exact), (1000, VerificationPolicy::TopK(5))]
		{
			let mut s = spec(10);
			s.challenge_period = period;
			s.policy = policy;
			if policy == VerificationPolicy::Exact {
				s.outputs[0].dtype = DType::Int64;
			}
			s.version.minor = period as u16;
			assert_ok!(Registry::register(
				RuntimeOrigin::signed(ALICE),
				id_of(&period.to_le_bytes()),
				s
			));
		}
	});
}

#[test]
fn publishers_must_afford_deposit_and_bond() {
	new_test_ext(|| {
		// Charlie has 1_000: enough for neither 100 + 3000 deposit nor the bond.
		assert_noop!(
			Registry::register(RuntimeOrigin::signed(CHARLIE), id_of(b"x"), spec(3000)),
			Error::<Test>::InsufficientBalance
		);
		// The deposit (100 + 450) fits, the bond (500) on top does not.
		assert_noop!(
			Registry::register(RuntimeOrigin::signed(CHARLIE), id_of(b"x"), spec(450)),
			Error::<Test>::InsufficientBalance
		);
		assert_noop!(
			Registry::register(RuntimeOrigin::signed(DAVE), id_of(b"x"), spec(10)),
			Error::<Test>::InsufficientBalance
		);
		assert_eq!(free(CHARLIE), 1_000);
	});
}

#[test]
fn exact_is_refused_for_float_outputs() {
	new_test_ext(|| {
		let bytes = fake_model(10, 1);
		let mut s = spec(10);
		s.policy = VerificationPolicy::Exact;
		// A float output among integer ones is enough.
		s.outputs.try_push(tensor("label", DType::Int64, &[Dim::Batch])).unwrap();
		assert_noop!(
			Registry::register(RuntimeOrigin::signed(ALICE), id_of(&bytes), s.clone()),
			Error::<Test>::ExactOnFloats
		);
		s.outputs.remove(0);
		assert_ok!(Registry::register(RuntimeOrigin::signed(ALICE), id_of(&bytes), s));
	});
}

#[test]
fn outputs_that_cannot_fit_one_item_are_refused() {
	new_test_ext(|| {
		let bytes = fake_model(10, 1);
		// `MaxOutputSize` is 4096 bytes: 2000 floats per item are too many, 2000 bytes are not.
		let mut s = spec(10);
		s.outputs[0] = tensor("y", DType::Float32, &[Dim::Batch, Dim::Fixed(2000)]);
		assert_noop!(
			Registry::register(RuntimeOrigin::signed(ALICE), id_of(&bytes), s.clone()),
			Error::<Test>::OutputTooLarge
		);
		s.outputs[0] = tensor("y", DType::Uint8, &[Dim::Batch, Dim::Fixed(2000)]);
		s.policy = VerificationPolicy::ArgMax;
		// The declared maximum batch counts: two items of 2000 bytes fit, three do not.
		for (max_batch, fits) in [(0, false), (3, false), (2, true)] {
			s.max_batch = max_batch;
			let r = Registry::register(RuntimeOrigin::signed(ALICE), id_of(&bytes), s.clone());
			if fits {
				assert_ok!(r);
			} else {
				assert_noop!(r, Error::<Test>::OutputTooLarge);
			}
		}
	});
}
