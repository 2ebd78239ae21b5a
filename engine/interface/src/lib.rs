//! # Verity's inference interface
//!
//! The chain only settles; models run natively, on executor and verifier
//! nodes. tract cannot be compiled into the WASM runtime, so the node offers
//! its engine to the runtime as host functions ([`host::verity_inference`]),
//! which the inference pallet's offchain worker calls. This crate is that
//! interface and nothing more, `no_std` on the runtime side:
//! * the host functions, whose native side forwards to the engine the node
//!   registered as an externalities extension ([`host::InferenceExt`], the
//!   way polkadot-sdk's statement store is offered), so that a pallet's tests
//!   can register a fake engine instead (`sp_io::TestExternalities::
//!   register_extension`);
//! * the [`host::InferenceEngine`] trait such an engine implements;
//! * what crosses the boundary: [`EngineError`] (and the fault attribution
//!   [`EngineError::blame`]), [`Signature`], [`Limits`].
//!
//! The engine itself (tract, the sandbox process, fault injection) is the
//! std crate `verity-engine`.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use codec::{Decode, Encode};

/// Key, in a node's persistent offchain storage, of whether its verifier
/// watches every result (`--watch all`): one byte, 1 or 0 (a SCALE `bool`),
/// written by the node at start-up and read by the offchain worker.
pub const WATCH_ALL_KEY: &[u8] = b"verity/watch-all";

pub mod host;

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
	/// The model's intermediate tensors together would exceed the engine's
	/// limit (estimated before running).
	MemoryLimit,
	/// The inference exceeded its wall-clock limit.
	Timeout,
	/// The worker process died running the model (e.g. it hit its
	/// address-space limit) or broke the protocol.
	Crashed,
	/// The model ran but failed.
	RunFailed,
	/// Something went wrong in the engine itself, not in the model.
	Internal,
	/// The output is larger than the caller accepts (`run` version 2's
	/// `max_output`). Version 1 of `run` reports it as `TensorTooLarge`.
	OutputTooLarge,
}

/// Who answers for an engine error: the inference pallet's rule of fault
/// attribution, applied by every node in the same way.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Blame {
	/// The model: it cannot be parsed or run, or fails on an input the
	/// runtime validated against its declaration. Reported as a model fault;
	/// a committee that confirms it slashes the publisher.
	Model,
	/// The job's input: at its batch size the model passes the engine's
	/// deterministic size limits (a tensor, all intermediates together, or
	/// the output). Reported as such; the requester bears the cost.
	Input,
	/// This node: a wall-clock timeout, a worker that crashed or was killed
	/// (e.g. by its memory limit), an internal error, a model the node
	/// cannot hold. Never anyone else's fault: the node retries, then
	/// declines the job, which goes to another executor.
	Node,
}

impl EngineError {
	/// Who answers for this error on a job of `batch` items. Size limits are
	/// judged from estimates every node computes alike (tensor sizes at the
	/// job's concrete shapes), never from wall-clock time or memory events
	/// that others cannot check. A size limit hit by a single item is the
	/// model's fault: no input of the declared shape could run.
	pub fn blame(self, batch: u32) -> Blame {
		match self {
			EngineError::InvalidModel
			| EngineError::UnsupportedModel
			| EngineError::InvalidInput
			| EngineError::RunFailed => Blame::Model,
			EngineError::TensorTooLarge
			| EngineError::MemoryLimit
			| EngineError::OutputTooLarge
				if batch <= 1 =>
			{
				Blame::Model
			}
			EngineError::TensorTooLarge
			| EngineError::MemoryLimit
			| EngineError::OutputTooLarge => Blame::Input,
			EngineError::ModelTooLarge
			| EngineError::HashMismatch
			| EngineError::NotLoaded
			| EngineError::Timeout
			| EngineError::Crashed
			| EngineError::Internal => Blame::Node,
		}
	}
}

/// What a model declares about its inputs and outputs, read from its ONNX
/// graph (the specs a publisher registers it with), and what in it would make
/// its results differ between runs.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub struct Signature {
	/// Declared inputs (graph inputs that are not initializers).
	pub inputs: alloc::vec::Vec<verity_primitives::TensorSpec>,
	/// Declared outputs.
	pub outputs: alloc::vec::Vec<verity_primitives::TensorSpec>,
	/// Names of random operators without a seed (empty for a deterministic
	/// graph).
	pub unseeded_random_ops: alloc::vec::Vec<alloc::vec::Vec<u8>>,
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
