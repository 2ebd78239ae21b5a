//! Benchmarks of the digit classifier (frame-benchmarking v2). `classify`
//! excludes the inference pallet's `request` (weighed by the provider);
//! `on_result` is the worst case of the callback: a settled output decoded.

use super::*;
use alloc::{vec, vec::Vec};
use frame_benchmarking::v2::*;
use frame_system::RawOrigin;
use sp_runtime::traits::Bounded;
use verity_primitives::{Dim, Name, TensorSpec};

fn model<T: Config>() -> ModelId {
	let spec = |name: &[u8], n: u32| {
		BoundedVec::truncate_from(vec![TensorSpec {
			name: Name::truncate_from(name.to_vec()),
			dtype: DType::Float32,
			shape: BoundedVec::truncate_from(vec![Dim::Batch, Dim::Fixed(n)]),
		}])
	};
	T::Inference::benchmark_ready_model(spec(b"x", PIXELS as u32), spec(b"probabilities", 10))
}

#[benchmarks]
mod benches {
	use super::*;

	#[benchmark]
	fn set_model() -> Result<(), BenchmarkError> {
		let origin =
			T::AdminOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, ModelId::repeat_byte(1));
		assert!(ClassifierModel::<T>::get().is_some());
		Ok(())
	}

	#[benchmark]
	fn classify() {
		let model = model::<T>();
		ClassifierModel::<T>::put(model);
		let who: T::AccountId = account("user", 0, 0);
		T::Inference::benchmark_fund(&who);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(who),
			[16; PIXELS],
			BalanceOf::<T>::max_value(),
			VerificationMode::Optimistic,
		);
		assert_eq!(PendingCount::<T>::get(), 1);
	}

	#[benchmark]
	fn on_result() {
		let who: T::AccountId = account("user", 0, 0);
		Requests::<T>::insert(
			0,
			Request { who, job: 0, at: 0u32.into(), state: Classification::Pending },
		);
		NextRequest::<T>::put(1);
		PendingCount::<T>::put(1);
		let scores: Vec<f32> = (0..10).map(|i| i as f32).collect();
		let output = vec![Tensor {
			name: b"probabilities".to_vec(),
			dtype: DType::Float32,
			shape: vec![1, 10],
			data: scores.iter().flat_map(|s| s.to_le_bytes()).collect(),
		}]
		.encode();
		let callback = Callback { consumer: CONSUMER, tag: 0 };
		#[block]
		{
			let r = Pallet::<T>::on_result(&callback, 0, &JobResult::Settled { output });
			assert_eq!(r, Some(Ok(())));
		}
		assert_eq!(Requests::<T>::get(0).unwrap().state, Classification::Label(9));
	}

	/// One answered request past its retention, pruned.
	#[benchmark]
	fn prune_request() {
		let who: T::AccountId = account("user", 0, 0);
		Requests::<T>::insert(
			0,
			Request { who, job: 0, at: 0u32.into(), state: Classification::Label(3) },
		);
		NextRequest::<T>::put(1);
		let now = T::RequestRetention::get();
		let each = T::WeightInfo::prune_request();
		#[block]
		{
			Pallet::<T>::prune(now, each.saturating_add(T::DbWeight::get().reads_writes(2, 1)));
		}
		assert!(Requests::<T>::get(0).is_none());
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_bench_ext(), crate::mock::Test);
}
