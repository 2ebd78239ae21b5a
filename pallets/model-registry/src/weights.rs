//! Weights for `pallet_model_registry`.
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

/// Weight functions needed for `pallet_model_registry`.
pub trait WeightInfo {
	fn register() -> Weight;
	fn upload_chunk(c: u32) -> Weight;
	fn complete_upload(s: u32) -> Weight;
	fn abort_upload(c: u32) -> Weight;
	fn set_price() -> Weight;
	fn deprecate() -> Weight;
	fn retire(c: u32) -> Weight;
	fn transfer_ownership() -> Weight;
	fn accept_ownership() -> Weight;
	fn transfer_family() -> Weight;
}

/// Weights for `pallet_model_registry` using the Substrate node and recommended hardware.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn register() -> Weight {
		Weight::from_parts(60_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(5_u64))
	}
	fn upload_chunk(c: u32) -> Weight {
		Weight::from_parts(25_000_000, 4_000)
			.saturating_add(Weight::from_parts(1_000, 1).saturating_mul(c.into()))
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	fn complete_upload(s: u32) -> Weight {
		Weight::from_parts(5_000_000, 0)
			.saturating_add(Weight::from_parts(3_000, 1).saturating_mul(s.into()))
	}
	fn abort_upload(c: u32) -> Weight {
		Weight::from_parts(60_000_000, 4_000)
			.saturating_add(T::DbWeight::get().writes(5_u64))
			.saturating_add(T::DbWeight::get().writes(c.into()))
	}
	fn set_price() -> Weight {
		Weight::from_parts(20_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads_writes(1_u64, 1_u64))
	}
	fn deprecate() -> Weight {
		Weight::from_parts(20_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads_writes(1_u64, 1_u64))
	}
	fn retire(c: u32) -> Weight {
		Weight::from_parts(60_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads_writes(3_u64, 4_u64))
			.saturating_add(T::DbWeight::get().writes(c.into()))
	}
	fn transfer_ownership() -> Weight {
		Weight::from_parts(20_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads_writes(1_u64, 1_u64))
	}
	fn accept_ownership() -> Weight {
		Weight::from_parts(80_000_000, 8_000)
			.saturating_add(T::DbWeight::get().reads_writes(6_u64, 6_u64))
	}
	fn transfer_family() -> Weight {
		Weight::from_parts(20_000_000, 4_000)
			.saturating_add(T::DbWeight::get().reads_writes(1_u64, 1_u64))
	}
}

// For backwards compatibility and tests.
impl WeightInfo for () {
	fn register() -> Weight {
		Weight::from_parts(60_000_000, 4_000)
	}
	fn upload_chunk(c: u32) -> Weight {
		Weight::from_parts(25_000_000, 4_000)
			.saturating_add(Weight::from_parts(1_000, 1).saturating_mul(c.into()))
	}
	fn complete_upload(s: u32) -> Weight {
		Weight::from_parts(5_000_000, 0)
			.saturating_add(Weight::from_parts(3_000, 1).saturating_mul(s.into()))
	}
	fn abort_upload(c: u32) -> Weight {
		Weight::from_parts(60_000_000, 4_000).saturating_add(RocksDbWeight::get().writes(c.into()))
	}
	fn set_price() -> Weight {
		Weight::from_parts(20_000_000, 4_000)
	}
	fn deprecate() -> Weight {
		Weight::from_parts(20_000_000, 4_000)
	}
	fn retire(c: u32) -> Weight {
		Weight::from_parts(60_000_000, 4_000).saturating_add(RocksDbWeight::get().writes(c.into()))
	}
	fn transfer_ownership() -> Weight {
		Weight::from_parts(20_000_000, 4_000)
	}
	fn accept_ownership() -> Weight {
		Weight::from_parts(80_000_000, 8_000)
	}
	fn transfer_family() -> Weight {
		Weight::from_parts(20_000_000, 4_000)
	}
}
