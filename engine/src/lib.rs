//! # Verity's inference engine
//!
//! The node side of [`verity_engine_interface`]: the chain only settles;
//! models run here, natively, on executor and verifier nodes, reached by the
//! runtime through the `verity_inference` host functions. The node registers
//! a [`sandbox::Sandbox`] as the interface's `InferenceExt` for its offchain
//! workers.
//!
//! The path of a job through this crate:
//! 1. the offchain worker asks `is_loaded` whether the model is in the engine
//!    and, if not, passes its bytes once with `load` (the engine checks they
//!    hash to the id);
//! 2. it calls `run` with the job's SCALE-encoded input tensors and gets the
//!    output tensors back;
//! 3. both calls go to the [`sandbox::Sandbox`]: a separate worker process
//!    running the [`engine::Engine`], with a memory limit and a wall-clock
//!    timeout, so that a hostile model cannot crash, hang or exhaust the node;
//!    the sandbox also injects faults into executions when told to (tests);
//! 4. the engine parses and optimizes a model once and caches the runnable
//!    plan by model hash (LRU), checks tensor sizes against [`Limits`] before
//!    running, and runs single-threaded, so that results are deterministic.
//!
//! [`engine::describe`] reads a model's declarations for publishers (the
//! `verity` CLI) and for admission; [`consensus::compile`] turns a model into
//! the consensus interpreter's graph (`verity_interp`), for publishers and
//! for admission, which compares.

pub use verity_engine_interface::{
	host::{InferenceEngine, InferenceExt, PURPOSE_EXECUTE, PURPOSE_VERIFY},
	Blame, EngineError, Limits, Signature, WATCH_ALL_KEY,
};

pub mod alloc;
pub mod confine;
pub mod consensus;
pub mod convert;
pub mod engine;
pub mod fast;
mod lrn;
mod ml;
pub mod sandbox;
mod svm;
