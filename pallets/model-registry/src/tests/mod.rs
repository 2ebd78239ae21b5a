//! Tests of the model registry, one file per topic. Every test runs through
//! [`new_test_ext`], which checks `try_state` afterwards.

use crate::{mock::*, *};
use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold, BoundedVec};
use sp_arithmetic::FixedU64;

mod admission;
mod consensus;
mod lifecycle;
mod ownership;
mod provider;
mod register;
mod upload;

/// Deterministic pseudo-random bytes standing in for an ONNX file.
pub fn fake_model(len: usize, seed: u64) -> Vec<u8> {
	let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
	(0..len)
		.map(|_| {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			x as u8
		})
		.collect()
}

/// The id of `bytes`.
pub fn id_of(bytes: &[u8]) -> ModelId {
	ModelId::from(sp_io::hashing::blake2_256(bytes))
}

pub fn name(s: &str) -> Name {
	Name::try_from(s.as_bytes().to_vec()).unwrap()
}

pub fn tensor(n: &str, dtype: DType, shape: &[Dim]) -> TensorSpec {
	TensorSpec { name: name(n), dtype, shape: BoundedVec::try_from(shape.to_vec()).unwrap() }
}

/// A digits classifier's declaration: 64 pixels in, 10 scores out.
pub fn spec(size: u32) -> ModelSpecOf<Test> {
	ModelSpec {
		family: name("digits-mlp"),
		version: ModelVersion { major: 1, minor: 0 },
		size,
		inputs: BoundedVec::try_from(vec![tensor(
			"x",
			DType::Float32,
			&[Dim::Batch, Dim::Fixed(64)],
		)])
		.unwrap(),
		outputs: BoundedVec::try_from(vec![tensor(
			"probabilities",
			DType::Float32,
			&[Dim::Batch, Dim::Fixed(10)],
		)])
		.unwrap(),
		price: 10,
		challenge_period: 10,
		max_batch: 1,
		policy: VerificationPolicy::Tolerance {
			abs: FixedU64::from_rational(1, 1_000_000),
			rel: FixedU64::from_rational(1, 1_000),
		},
	}
}

/// Registers `bytes` with `spec`, as `who`.
pub fn register(who: AccountId, bytes: &[u8], spec: ModelSpecOf<Test>) -> ModelId {
	let id = id_of(bytes);
	assert_ok!(Registry::register(RuntimeOrigin::signed(who), id, spec));
	id
}

/// The chunks of `bytes` at the current chunk size.
pub fn chunks(bytes: &[u8]) -> Vec<BoundedVec<u8, ChunkSize>> {
	bytes
		.chunks(ChunkSize::get() as usize)
		.map(|c| BoundedVec::try_from(c.to_vec()).unwrap())
		.collect()
}

/// Uploads all of `bytes` to model `id`.
pub fn upload_all(who: AccountId, id: ModelId, bytes: &[u8]) {
	for (i, chunk) in chunks(bytes).into_iter().enumerate() {
		assert_ok!(Registry::upload_chunk(RuntimeOrigin::signed(who), id, i as u32, chunk));
	}
}

/// Registers and uploads a model: active afterwards.
pub fn publish(who: AccountId, bytes: &[u8], spec: ModelSpecOf<Test>) -> ModelId {
	let id = register(who, bytes, spec);
	upload_all(who, id, bytes);
	assert_eq!(Models::<Test>::get(id).unwrap().status, ModelStatus::Active);
	id
}

/// Publishes a 3000-byte model (three chunks) as Alice.
pub fn publish_default() -> (ModelId, Vec<u8>) {
	let bytes = fake_model(3000, 1);
	(publish(ALICE, &bytes, spec(3000)), bytes)
}

pub fn free(who: AccountId) -> Balance {
	Balances::free_balance(who)
}

pub fn held_deposit(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::StorageDeposit.into(), &who)
}

pub fn held_bond(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::PublisherBond.into(), &who)
}

pub fn status(id: ModelId) -> ModelStatus {
	Models::<Test>::get(id).expect("model exists").status
}

/// Model `id`'s bytes as other pallets read them.
pub fn bytes_of(id: ModelId) -> Option<Vec<u8>> {
	<Registry as ModelRegistry<_, _, _>>::model_bytes(&id)
}
