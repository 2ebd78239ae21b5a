//! # Verity's off-chain inference
//!
//! The chain only settles; models run here, natively, on executor and
//! verifier nodes. tract cannot be compiled into the WASM runtime, so the node
//! offers it to the runtime as host functions ([`host::verity_inference`]),
//! which the inference pallet's offchain worker calls.
//!
//! The path of a job through this crate:
//! 1. the offchain worker asks [`host::verity_inference::is_loaded`] whether the
//!    model is in the engine and, if not, passes its bytes once with
//!    [`host::verity_inference::load`] (the engine checks they hash to the id);
//! 2. it calls [`host::verity_inference::run`] with the job's SCALE-encoded
//!    input tensors and gets the output tensors back;
//! 3. natively, both calls go to the [`sandbox::Sandbox`]: a separate worker
//!    process running the [`engine::Engine`], with a memory limit and a
//!    wall-clock timeout, so that a hostile model cannot crash, hang or
//!    exhaust the node;
//! 4. the engine parses and optimizes a model once and caches the runnable
//!    plan by model hash (LRU), checks tensor sizes against [`Limits`] before
//!    running, and runs single-threaded, so that results are deterministic.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use codec::{Decode, Encode};

pub mod host;

#[cfg(feature = "std")]
pub mod convert;
#[cfg(feature = "std")]
pub mod engine;
#[cfg(feature = "std")]
pub mod sandbox;

/// Why the engine could not load or run a model.
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug)]
pub enum EngineError {
	/// The model is larger than the engine accepts.
	ModelTooLarge,
	/// The bytes do not hash to the model id they were loaded as.
	HashMismatch,
	/// The bytes are not a valid ONNX model.
	InvalidModel,
	/// The model uses an operator or type the engine does not support.
	UnsupportedModel,
	/// The model is not loaded (load it first).
	NotLoaded,
	/// The input does not match the model's inputs.
	InvalidInput,
	/// A tensor of the model would exceed the engine's size limits.
	TensorTooLarge,
	/// The model would exceed the engine's memory limit.
	MemoryLimit,
	/// The inference exceeded its wall-clock limit.
	Timeout,
	/// The worker process died running the model.
	Crashed,
	/// The model ran but failed.
	RunFailed,
	/// Something went wrong in the engine itself, not in the model.
	Internal,
}

impl EngineError {
	/// Whether the error is the model's fault and would recur on any node:
	/// such a model is *unrunnable*. Input errors, missing models and internal
	/// errors are not.
	pub fn is_model_fault(self) -> bool {
		matches!(
			self,
			EngineError::InvalidModel
				| EngineError::UnsupportedModel
				| EngineError::TensorTooLarge
				| EngineError::MemoryLimit
				| EngineError::Timeout
				| EngineError::Crashed
				| EngineError::RunFailed
		)
	}
}

/// Hard limits a model cannot pass.
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug)]
pub struct Limits {
	/// Largest model, in bytes.
	pub max_model_bytes: u64,
	/// Most elements of any one tensor (inputs, outputs and intermediates).
	pub max_tensor_elements: u64,
	/// Most bytes of any one tensor.
	pub max_tensor_bytes: u64,
	/// Most bytes of all intermediate tensors of one inference together.
	pub max_total_bytes: u64,
	/// Wall-clock limit of one inference (and of one load), in milliseconds.
	pub timeout_ms: u64,
	/// Address-space limit of the worker process, in bytes.
	pub memory_bytes: u64,
}

impl Default for Limits {
	fn default() -> Self {
		Limits {
			max_model_bytes: 64 << 20,
			max_tensor_elements: 64 << 20,
			max_tensor_bytes: 256 << 20,
			max_total_bytes: 1 << 30,
			timeout_ms: 10_000,
			memory_bytes: 4 << 30,
		}
	}
}
