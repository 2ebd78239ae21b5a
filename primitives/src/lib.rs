//! # Verity primitives
//!
//! The vocabulary every part of Verity shares, usable in the runtime
//! (`no_std`) and natively:
//! * [`spec`]: what a model declares, its [`TensorSpec`]s and its
//!   [`VerificationPolicy`];
//! * [`tensor`]: the [`Tensor`]s jobs carry, their SCALE wire format and the
//!   check of a job's tensors against a model's declaration;
//! * [`policy`]: the one implementation of "do these two outputs agree?",
//!   used by the runtime to settle disputes and by the off-chain engine and
//!   the tests;
//! * [`json`] (feature `json`): tensors as JSON, the client's file format.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

#[cfg(feature = "json")]
pub mod json;
pub mod policy;
pub mod spec;
pub mod tensor;
pub mod typed;

pub use policy::outputs_agree;
pub use spec::*;
pub use tensor::{argmax, check_tensors, decode_tensors, rank_order, Tensor, TensorError};
pub use typed::{TensorValues, TypedTensor};
