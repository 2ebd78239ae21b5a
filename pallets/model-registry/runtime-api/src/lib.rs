//! Runtime API of the model registry: lets clients (the `verity` CLI, RPC
//! users, offchain tooling) read a model's record and its bytes.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::Codec;
pub use pallet_model_registry::{ModelId, ModelInfo, ModelVersion};

sp_api::decl_runtime_apis! {
	/// Reads the model registry.
	pub trait ModelRegistryApi<AccountId, Balance, BlockNumber>
	where
		AccountId: Codec,
		Balance: Codec,
		BlockNumber: Codec,
	{
		/// The record of model `id`.
		fn model(id: ModelId) -> Option<ModelInfo<AccountId, Balance, BlockNumber>>;

		/// Chunk `index` of model `id`'s bytes (chunks are `ChunkSize` bytes, the
		/// last one possibly shorter). Reading chunk by chunk keeps each answer
		/// within RPC limits for models of any size.
		fn model_chunk(id: ModelId, index: u32) -> Option<Vec<u8>>;

		/// The model released as `version` of `family`.
		fn release(family: Vec<u8>, version: ModelVersion) -> Option<ModelId>;
	}
}
