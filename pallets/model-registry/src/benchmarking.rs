//! Benchmarks of the model registry (frame-benchmarking v2).
//!
//! `upload_chunk(c)` measures the chunk that completes a one-chunk model of
//! `c` bytes, so it includes hashing `c` bytes; `complete_upload(s)` measures
//! reading and hashing a whole model of `s` bytes. A chunk's weight is
//! `upload_chunk(len)`, plus `complete_upload(size)` for the last chunk.

use super::*;
use alloc::vec;
use codec::Encode;
use frame_benchmarking::v2::*;
use frame_support::traits::fungible::Mutate;
use frame_system::RawOrigin;
use sp_runtime::traits::Bounded;

fn funded<T: Config>(name: &'static str) -> T::AccountId {
	let who: T::AccountId = account(name, 0, 0);
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 4u32.into());
	who
}

fn fake_bytes(size: u32, seed: u8) -> Vec<u8> {
	(0..size).map(|i| (i % 251) as u8 ^ seed).collect()
}

/// One item of `floats` float32s named `name`, SCALE-encoded as a job carries it.
fn tensors(name: &[u8], floats: u32) -> Vec<u8> {
	vec![verity_primitives::Tensor {
		name: name.to_vec(),
		dtype: DType::Float32,
		shape: vec![1, floats],
		data: vec![0; floats as usize * 4],
	}]
	.encode()
}

/// Gives model `id` (declared as in [`spec`]) the golden vectors admission needs.
fn with_golden_vectors<T: Config>(id: ModelId) {
	let golden = GoldenVector {
		input: BoundedVec::truncate_from(tensors(b"x", 64)),
		output: BoundedVec::truncate_from(tensors(b"y", 64)),
	};
	GoldenVectors::<T>::insert(
		id,
		BoundedVec::truncate_from(vec![golden; T::MinGoldenVectors::get() as usize]),
	);
}

fn spec<T: Config>(size: u32, minor: u16) -> ModelSpecOf<T> {
	let tensor = |name: &[u8]| TensorSpec {
		name: Name::try_from(name.to_vec()).unwrap(),
		dtype: DType::Float32,
		shape: Shape::try_from(vec![Dim::Batch, Dim::Fixed(64)]).unwrap(),
	};
	ModelSpec {
		family: FamilyName::try_from(b"bench".to_vec()).unwrap(),
		version: ModelVersion { major: 1, minor },
		size,
		inputs: TensorSpecs::try_from(vec![tensor(b"x")]).unwrap(),
		outputs: TensorSpecs::try_from(vec![tensor(b"y")]).unwrap(),
		price: 1u32.into(),
		challenge_period: T::MinChallengePeriod::get(),
		max_batch: 1,
		policy: VerificationPolicy::ArgMax,
	}
}

/// Registers `bytes` as `owner` and stores its first `chunks` chunks directly.
fn registered<T: Config>(owner: &T::AccountId, bytes: &[u8], chunks: u32) -> ModelId {
	let id = ModelId::from(sp_io::hashing::blake2_256(bytes));
	Pallet::<T>::register(
		RawOrigin::Signed(owner.clone()).into(),
		id,
		spec::<T>(bytes.len() as u32, 0),
	)
	.unwrap();
	let chunk_size = T::ChunkSize::get() as usize;
	let mut received = 0u32;
	for (i, chunk) in bytes.chunks(chunk_size).take(chunks as usize).enumerate() {
		Chunks::<T>::insert(id, i as u32, BoundedVec::try_from(chunk.to_vec()).unwrap());
		received += chunk.len() as u32;
	}
	with_golden_vectors::<T>(id);
	Models::<T>::mutate(id, |m| {
		let m = m.as_mut().unwrap();
		m.chunks = chunks;
		m.received = received;
		if received == m.size {
			m.status = ModelStatus::Active;
		}
	});
	id
}

fn active<T: Config>(owner: &T::AccountId, size: u32) -> ModelId {
	let bytes = fake_bytes(size, 1);
	registered::<T>(owner, &bytes, chunk_count(size, T::ChunkSize::get()))
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register() {
		let caller = funded::<T>("caller");
		let bytes = fake_bytes(T::MaxModelSize::get(), 0);
		let id = ModelId::from(sp_io::hashing::blake2_256(&bytes));
		let spec = spec::<T>(T::MaxModelSize::get(), 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id, spec);

		assert_eq!(Models::<T>::get(id).unwrap().status, ModelStatus::Uploading);
	}

	#[benchmark]
	fn upload_chunk(c: Linear<1, { T::ChunkSize::get() }>) {
		let caller = funded::<T>("caller");
		let bytes = fake_bytes(c, 2);
		let id = registered::<T>(&caller, &bytes, 0);
		let chunk = BoundedVec::try_from(bytes).unwrap();

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id, 0, chunk);

		let status = Models::<T>::get(id).unwrap().status;
		assert!(matches!(status, ModelStatus::Active | ModelStatus::Pending), "{status:?}");
	}

	#[benchmark]
	fn complete_upload(s: Linear<1, { T::MaxModelSize::get() }>) -> Result<(), BenchmarkError> {
		let caller = funded::<T>("caller");
		let bytes = fake_bytes(s, 3);
		let chunks = chunk_count(s, T::ChunkSize::get());
		let id = registered::<T>(&caller, &bytes, chunks);
		let mut model = Models::<T>::get(id).unwrap();
		model.status = ModelStatus::Uploading;

		#[block]
		{
			Pallet::<T>::complete_upload(&id, &mut model)?;
		}

		assert!(matches!(model.status, ModelStatus::Active | ModelStatus::Pending));
		Ok(())
	}

	#[benchmark]
	fn abort_upload(c: Linear<0, { Pallet::<T>::max_chunks() - 1 }>) {
		let caller = funded::<T>("caller");
		let bytes = fake_bytes(T::MaxModelSize::get(), 4);
		let id = registered::<T>(&caller, &bytes, c);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id);

		assert!(Models::<T>::get(id).is_none());
	}

	#[benchmark]
	fn set_price() {
		let caller = funded::<T>("caller");
		let id = active::<T>(&caller, 1);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id, 7u32.into());

		assert_eq!(Models::<T>::get(id).unwrap().price, 7u32.into());
	}

	#[benchmark]
	fn deprecate() {
		let caller = funded::<T>("caller");
		let id = active::<T>(&caller, 1);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id);

		assert_eq!(Models::<T>::get(id).unwrap().status, ModelStatus::Deprecated);
	}

	#[benchmark]
	fn retire(c: Linear<1, { Pallet::<T>::max_chunks() }>) {
		let caller = funded::<T>("caller");
		let id = active::<T>(&caller, c * T::ChunkSize::get());
		Models::<T>::mutate(id, |m| m.as_mut().unwrap().status = ModelStatus::Deprecated);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id);

		assert_eq!(Models::<T>::get(id).unwrap().status, ModelStatus::Retired);
	}

	#[benchmark]
	fn transfer_ownership() {
		let caller = funded::<T>("caller");
		let to = funded::<T>("to");
		let id = active::<T>(&caller, 1);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id, to.clone());

		assert_eq!(PendingOwners::<T>::get(id), Some(to));
	}

	#[benchmark]
	fn accept_ownership() {
		let owner = funded::<T>("owner");
		let caller = funded::<T>("caller");
		let id = active::<T>(&owner, T::MaxModelSize::get());
		PendingOwners::<T>::insert(id, &caller);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), id);

		assert_eq!(Models::<T>::get(id).unwrap().owner, caller);
	}

	/// `b` bytes of input and expected output together (as many floats in
	/// each as fit), checked against the declarations and stored.
	#[benchmark]
	fn add_golden_vector(b: Linear<64, { T::MaxGoldenVectorSize::get() }>) {
		let caller = funded::<T>("caller");
		let floats = (b.saturating_sub(60) / 8).max(1);
		let bytes = fake_bytes(100, 9);
		let id = ModelId::from(sp_io::hashing::blake2_256(&bytes));
		let mut s = spec::<T>(100, 0);
		let one = |name: &[u8]| TensorSpec {
			name: Name::try_from(name.to_vec()).unwrap(),
			dtype: DType::Float32,
			shape: Shape::try_from(vec![Dim::Batch, Dim::Fixed(floats)]).unwrap(),
		};
		s.inputs = TensorSpecs::try_from(vec![one(b"x")]).unwrap();
		s.outputs = TensorSpecs::try_from(vec![one(b"y")]).unwrap();
		Pallet::<T>::register(RawOrigin::Signed(caller.clone()).into(), id, s).unwrap();
		let input = BoundedVec::truncate_from(tensors(b"x", floats));
		let output = BoundedVec::truncate_from(tensors(b"y", floats));

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id, input, output);

		assert_eq!(GoldenVectors::<T>::decode_len(id), Some(1));
	}

	/// A graph of about `b` bytes for [`spec`]'s model: `y = Identity(x)`,
	/// with an int64 constant filling the rest (decoding and checking it is
	/// what grows with the size).
	#[benchmark]
	fn set_consensus_graph(b: Linear<1024, { T::MaxConsensusGraphSize::get() }>) {
		use verity_interp::{ConstData, Constant, Elem, Graph, Input, Node, Op, Output};
		let caller = funded::<T>("caller");
		let bytes = fake_bytes(100, 9);
		let id = registered::<T>(&caller, &bytes, 0);
		let fill = (b.saturating_sub(64) / 8).min(T::MaxConsensusParams::get());
		let graph = Graph {
			version: verity_interp::FORMAT_VERSION,
			inputs: vec![Input { name: b"x".to_vec(), elem: Elem::F32 }],
			constants: vec![Constant {
				shape: vec![fill],
				data: ConstData::I64(vec![7; fill as usize]),
			}],
			nodes: vec![Node { op: Op::Identity, inputs: vec![0] }],
			outputs: vec![Output { name: b"y".to_vec(), value: 2 }],
		}
		.encode();
		let graph = BoundedVec::try_from(graph).unwrap();

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id, graph);

		assert!(ConsensusModels::<T>::contains_key(id));
	}

	#[benchmark]
	fn transfer_family() {
		let caller = funded::<T>("caller");
		let to = funded::<T>("to");
		active::<T>(&caller, 1);
		let family = FamilyName::try_from(b"bench".to_vec()).unwrap();

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), family.clone(), to.clone());

		assert_eq!(Families::<T>::get(family).unwrap().owner, to);
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_bench_ext(), crate::mock::Test);
}
