//! The host functions the runtime calls. Natively they forward to the global
//! [`crate::sandbox::Sandbox`]; in the runtime they are imports the node
//! provides (register [`verity_inference::HostFunctions`] in the node's
//! executor).

use alloc::vec::Vec;
use sp_runtime_interface::{
	pass_by::{AllocateAndReturnByCodec, PassFatPointerAndRead, PassPointerAndReadCopy},
	runtime_interface,
};

use crate::EngineError;

/// Why a model runs: the node may treat an executor's run differently from a
/// verifier's (fault injection perturbs only executions).
pub const PURPOSE_EXECUTE: u32 = 0;
/// A verifier re-executing a disputed job.
pub const PURPOSE_VERIFY: u32 = 1;

/// Runs ONNX models in the node's inference engine.
#[runtime_interface]
pub trait VerityInference {
	/// Whether model `id` is loaded in the engine.
	fn is_loaded(id: PassPointerAndReadCopy<[u8; 32], 32>) -> bool {
		crate::sandbox::global().is_loaded(&id)
	}

	/// Loads model `id` from its ONNX bytes (once; later runs refer to it by id).
	fn load(
		id: PassPointerAndReadCopy<[u8; 32], 32>,
		bytes: PassFatPointerAndRead<&[u8]>,
	) -> AllocateAndReturnByCodec<Result<(), EngineError>> {
		crate::sandbox::global().load(&id, bytes).map_err(|f| f.kind)
	}

	/// Reads what the ONNX model in `bytes` declares and whether it has
	/// unseeded random operators: a SCALE-encoded [`crate::Signature`].
	/// Admission compares it with the model's registered declarations.
	fn describe(
		bytes: PassFatPointerAndRead<&[u8]>,
	) -> AllocateAndReturnByCodec<Result<Vec<u8>, EngineError>> {
		use codec::Encode;
		crate::sandbox::global().describe(bytes).map(|s| s.encode()).map_err(|f| f.kind)
	}

	/// Runs model `id` on `input` (SCALE-encoded `Vec<Tensor>`) and returns
	/// its output (the same encoding). `purpose` is [`PURPOSE_EXECUTE`] or
	/// [`PURPOSE_VERIFY`]. Version 1, kept for runtimes already on chain: the
	/// output is not capped, and `OutputTooLarge` cannot occur.
	fn run(
		id: PassPointerAndReadCopy<[u8; 32], 32>,
		input: PassFatPointerAndRead<&[u8]>,
		purpose: u32,
	) -> AllocateAndReturnByCodec<Result<Vec<u8>, EngineError>> {
		crate::sandbox::global().run_for(&id, input, purpose, u64::from(u32::MAX)).map_err(|f| {
			match f.kind {
				// Unknown to version 1's callers.
				EngineError::OutputTooLarge => EngineError::TensorTooLarge,
				kind => kind,
			}
		})
	}

	/// Version 2: as version 1, but the worker refuses an output whose
	/// encoding exceeds `max_output` bytes (`EngineError::OutputTooLarge`)
	/// before anything is copied to the node or into the runtime.
	#[version(2)]
	fn run(
		id: PassPointerAndReadCopy<[u8; 32], 32>,
		input: PassFatPointerAndRead<&[u8]>,
		purpose: u32,
		max_output: u32,
	) -> AllocateAndReturnByCodec<Result<Vec<u8>, EngineError>> {
		crate::sandbox::global()
			.run_for(&id, input, purpose, u64::from(max_output))
			.map_err(|f| f.kind)
	}
}
