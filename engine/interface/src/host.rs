//! The host functions the runtime calls, and the extension that answers them.
//!
//! In the runtime these are imports the node provides (register
//! [`verity_inference::HostFunctions`] in the node's executor). Natively they
//! ask the [`InferenceEngine`] registered in the calling externalities as an
//! [`InferenceExt`]: the node registers its sandboxed engine for its offchain
//! workers (`sc_offchain::OffchainWorkerOptions::custom_extensions`), a test
//! registers whatever engine it wants to observe. Without one, the functions
//! answer as an engine that has nothing loaded and can run nothing
//! ([`EngineError::Internal`], blamed on this node, never on anyone else).
//!
//! Host functions never change in place: a changed signature is a new
//! `#[version(N)]` of the same function, so that runtimes already on chain
//! keep working. Taking the externalities (`&mut self`) is not part of the
//! WASM signature.

use alloc::vec::Vec;
use sp_runtime_interface::{
	pass_by::{AllocateAndReturnByCodec, PassFatPointerAndRead, PassPointerAndReadCopy},
	runtime_interface,
};

#[cfg(not(substrate_runtime))]
use sp_externalities::ExternalitiesExt;

use crate::EngineError;

/// Why a model runs: the node may treat an executor's run differently from a
/// verifier's (fault injection perturbs only executions).
pub const PURPOSE_EXECUTE: u32 = 0;
/// A verifier re-executing a disputed job.
pub const PURPOSE_VERIFY: u32 = 1;

/// An inference engine, as the host functions see it. Implemented by the
/// node's sandboxed engine (`verity_engine::sandbox::Sandbox`) and by test
/// doubles.
pub trait InferenceEngine: Send + Sync {
	/// Whether model `id` is loaded.
	fn is_loaded(&self, id: &[u8; 32]) -> bool;

	/// Loads model `id` from its ONNX bytes (which must hash to `id`).
	fn load(&self, id: &[u8; 32], bytes: &[u8]) -> Result<(), EngineError>;

	/// Reads what the ONNX model in `bytes` declares.
	fn describe(&self, bytes: &[u8]) -> Result<crate::Signature, EngineError>;

	/// Runs model `id` on `input` (SCALE-encoded `Vec<Tensor>`) for `purpose`
	/// ([`PURPOSE_EXECUTE`] or [`PURPOSE_VERIFY`]) and returns its output in the
	/// same encoding, refusing an encoded output over `max_output` bytes
	/// ([`EngineError::OutputTooLarge`]).
	fn run(
		&self,
		id: &[u8; 32],
		input: &[u8],
		purpose: u32,
		max_output: u64,
	) -> Result<Vec<u8>, EngineError>;

	/// Compiles the ONNX model in `bytes` for consensus mode: the
	/// SCALE-encoded compact graph (`verity_interp::Graph`), or
	/// [`EngineError::UnsupportedModel`] for a model outside the subset.
	/// Admission compares it with the graph its publisher uploaded.
	fn compile_consensus(&self, bytes: &[u8]) -> Result<Vec<u8>, EngineError>;
}

sp_externalities::decl_extension! {
	/// The engine the host functions use, registered in the externalities of
	/// the calls that may run models (the node's offchain workers).
	pub struct InferenceExt(alloc::sync::Arc<dyn InferenceEngine>);
}

impl InferenceExt {
	/// The extension for `engine`.
	pub fn new(engine: alloc::sync::Arc<dyn InferenceEngine>) -> Self {
		InferenceExt(engine)
	}
}

/// The registered engine, or why there is none.
#[cfg(not(substrate_runtime))]
fn engine(
	mut ext: &mut dyn sp_externalities::Externalities,
) -> Result<alloc::sync::Arc<dyn InferenceEngine>, EngineError> {
	match ext.extension::<InferenceExt>() {
		Some(InferenceExt(engine)) => Ok(engine.clone()),
		None => {
			log::error!(
				target: "verity::inference",
				"no inference engine registered in these externalities (InferenceExt)"
			);
			Err(EngineError::Internal)
		}
	}
}

/// Runs ONNX models in the node's inference engine.
#[runtime_interface]
pub trait VerityInference {
	/// Whether model `id` is loaded in the engine.
	fn is_loaded(&mut self, id: PassPointerAndReadCopy<[u8; 32], 32>) -> bool {
		engine(*self).map(|e| e.is_loaded(&id)).unwrap_or(false)
	}

	/// Loads model `id` from its ONNX bytes (once; later runs refer to it by id).
	fn load(
		&mut self,
		id: PassPointerAndReadCopy<[u8; 32], 32>,
		bytes: PassFatPointerAndRead<&[u8]>,
	) -> AllocateAndReturnByCodec<Result<(), EngineError>> {
		engine(*self)?.load(&id, bytes)
	}

	/// Reads what the ONNX model in `bytes` declares and whether it has
	/// unseeded random operators: a SCALE-encoded [`crate::Signature`].
	/// Admission compares it with the model's registered declarations.
	fn describe(
		&mut self,
		bytes: PassFatPointerAndRead<&[u8]>,
	) -> AllocateAndReturnByCodec<Result<Vec<u8>, EngineError>> {
		use codec::Encode;
		engine(*self)?.describe(bytes).map(|s| s.encode())
	}

	/// Runs model `id` on `input` (SCALE-encoded `Vec<Tensor>`) and returns
	/// its output (the same encoding). `purpose` is [`PURPOSE_EXECUTE`] or
	/// [`PURPOSE_VERIFY`]. Version 1, kept for runtimes already on chain: the
	/// output is not capped, and `OutputTooLarge` cannot occur.
	fn run(
		&mut self,
		id: PassPointerAndReadCopy<[u8; 32], 32>,
		input: PassFatPointerAndRead<&[u8]>,
		purpose: u32,
	) -> AllocateAndReturnByCodec<Result<Vec<u8>, EngineError>> {
		engine(*self)?.run(&id, input, purpose, u64::from(u32::MAX)).map_err(|kind| match kind {
			// Unknown to version 1's callers.
			EngineError::OutputTooLarge => EngineError::TensorTooLarge,
			kind => kind,
		})
	}

	/// Version 2: as version 1, but the engine refuses an output whose
	/// encoding exceeds `max_output` bytes (`EngineError::OutputTooLarge`)
	/// before anything is copied to the node or into the runtime.
	#[version(2)]
	fn run(
		&mut self,
		id: PassPointerAndReadCopy<[u8; 32], 32>,
		input: PassFatPointerAndRead<&[u8]>,
		purpose: u32,
		max_output: u32,
	) -> AllocateAndReturnByCodec<Result<Vec<u8>, EngineError>> {
		engine(*self)?.run(&id, input, purpose, u64::from(max_output))
	}

	/// Compiles the ONNX model in `bytes` for consensus mode (a new
	/// function: runtimes that do not call it do not import it): the
	/// SCALE-encoded compact graph its publisher should have uploaded, or
	/// `UnsupportedModel` for a model outside the interpreter's subset.
	fn compile_consensus(
		&mut self,
		bytes: PassFatPointerAndRead<&[u8]>,
	) -> AllocateAndReturnByCodec<Result<Vec<u8>, EngineError>> {
		engine(*self)?.compile_consensus(bytes)
	}
}
