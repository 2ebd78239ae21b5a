//! Weights for `pallet_inference`.
//!
//! PROVISIONAL: estimates until `verity-node benchmark pallet` regenerates
//! this file (see scripts/benchmark-weights).

#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use core::marker::PhantomData;
use frame_support::{
	traits::Get,
	weights::{constants::RocksDbWeight, Weight},
};

/// Weight functions needed for `pallet_inference`.
pub trait WeightInfo {
	fn register_executor() -> Weight;
	fn top_up_executor() -> Weight;
	fn unbond_executor() -> Weight;
	fn withdraw_executor() -> Weight;
	fn register_verifier() -> Weight;
	fn unbond_verifier() -> Weight;
	fn withdraw_verifier() -> Weight;
	fn submit_job(i: u32, e: u32) -> Weight;
	fn submit_result(o: u32) -> Weight;
	fn challenge(v: u32) -> Weight;
	fn submit_verdict(o: u32) -> Weight;
	fn resolve(c: u32) -> Weight;
	fn on_initialize(s: u32, b: u32) -> Weight;
	fn on_initialize_pending(p: u32) -> Weight;
}

/// Weights for `pallet_inference` using the Substrate node and recommended hardware.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn register_executor() -> Weight {
		Weight::from_parts(50_000_000, 4_000).saturating_add(T::DbWeight::get().reads_writes(3, 4))
	}
	fn top_up_executor() -> Weight {
		Weight::from_parts(40_000_000, 4_000).saturating_add(T::DbWeight::get().reads_writes(2, 2))
	}
	fn unbond_executor() -> Weight {
		Weight::from_parts(30_000_000, 4_000).saturating_add(T::DbWeight::get().reads_writes(2, 2))
	}
	fn withdraw_executor() -> Weight {
		Weight::from_parts(40_000_000, 4_000).saturating_add(T::DbWeight::get().reads_writes(2, 2))
	}
	fn register_verifier() -> Weight {
		Weight::from_parts(50_000_000, 4_000).saturating_add(T::DbWeight::get().reads_writes(3, 4))
	}
	fn unbond_verifier() -> Weight {
		Weight::from_parts(30_000_000, 4_000).saturating_add(T::DbWeight::get().reads_writes(2, 2))
	}
	fn withdraw_verifier() -> Weight {
		Weight::from_parts(40_000_000, 4_000).saturating_add(T::DbWeight::get().reads_writes(2, 2))
	}
	fn submit_job(i: u32, e: u32) -> Weight {
		Weight::from_parts(80_000_000, 8_000)
			.saturating_add(Weight::from_parts(2_000, 1).saturating_mul(i.into()))
			.saturating_add(T::DbWeight::get().reads(e.into()))
			.saturating_add(T::DbWeight::get().reads_writes(6, 7))
	}
	fn submit_result(o: u32) -> Weight {
		Weight::from_parts(60_000_000, 8_000)
			.saturating_add(Weight::from_parts(2_000, 1).saturating_mul(o.into()))
			.saturating_add(T::DbWeight::get().reads_writes(3, 3))
	}
	fn challenge(v: u32) -> Weight {
		Weight::from_parts(80_000_000, 8_000)
			.saturating_add(T::DbWeight::get().reads(v.into()))
			.saturating_add(T::DbWeight::get().reads_writes(6, 8))
	}
	fn submit_verdict(o: u32) -> Weight {
		Weight::from_parts(60_000_000, 8_000)
			.saturating_add(Weight::from_parts(4_000, 1).saturating_mul(o.into()))
			.saturating_add(T::DbWeight::get().reads_writes(4, 1))
	}
	fn resolve(c: u32) -> Weight {
		Weight::from_parts(150_000_000, 16_000)
			.saturating_add(T::DbWeight::get().reads_writes(10, 12))
			.saturating_add(T::DbWeight::get().reads_writes(c.into(), c.into()))
	}
	fn on_initialize(s: u32, b: u32) -> Weight {
		Weight::from_parts(5_000_000, 1_000)
			.saturating_add(Weight::from_parts(100_000_000, 16_000).saturating_mul(s.into()))
			.saturating_add(T::DbWeight::get().reads_writes(b.into(), b.into()))
	}
	fn on_initialize_pending(_p: u32) -> Weight {
		Self::on_initialize(256, 1)
	}
}

// For tests.
impl WeightInfo for () {
	fn register_executor() -> Weight {
		Weight::from_parts(50_000_000, 4_000)
	}
	fn top_up_executor() -> Weight {
		Weight::from_parts(40_000_000, 4_000)
	}
	fn unbond_executor() -> Weight {
		Weight::from_parts(30_000_000, 4_000)
	}
	fn withdraw_executor() -> Weight {
		Weight::from_parts(40_000_000, 4_000)
	}
	fn register_verifier() -> Weight {
		Weight::from_parts(50_000_000, 4_000)
	}
	fn unbond_verifier() -> Weight {
		Weight::from_parts(30_000_000, 4_000)
	}
	fn withdraw_verifier() -> Weight {
		Weight::from_parts(40_000_000, 4_000)
	}
	fn submit_job(i: u32, e: u32) -> Weight {
		Weight::from_parts(80_000_000, 8_000)
			.saturating_add(Weight::from_parts(2_000, 1).saturating_mul(i.into()))
			.saturating_add(RocksDbWeight::get().reads(e.into()))
	}
	fn submit_result(o: u32) -> Weight {
		Weight::from_parts(60_000_000, 8_000)
			.saturating_add(Weight::from_parts(2_000, 1).saturating_mul(o.into()))
	}
	fn challenge(v: u32) -> Weight {
		Weight::from_parts(80_000_000, 8_000).saturating_add(RocksDbWeight::get().reads(v.into()))
	}
	fn submit_verdict(o: u32) -> Weight {
		Weight::from_parts(60_000_000, 8_000)
			.saturating_add(Weight::from_parts(4_000, 1).saturating_mul(o.into()))
	}
	fn resolve(c: u32) -> Weight {
		Weight::from_parts(150_000_000, 16_000)
			.saturating_add(RocksDbWeight::get().reads_writes(c.into(), c.into()))
	}
	fn on_initialize(s: u32, b: u32) -> Weight {
		Weight::from_parts(5_000_000, 1_000)
			.saturating_add(Weight::from_parts(100_000_000, 16_000).saturating_mul(s.into()))
			.saturating_add(RocksDbWeight::get().reads_writes(b.into(), b.into()))
	}
	fn on_initialize_pending(_p: u32) -> Weight {
		Self::on_initialize(256, 1)
	}
}
