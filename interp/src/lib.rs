//! # Verity's consensus-mode interpreter
//!
//! Small models (credit scores, fraud flags, tree ensembles, MLPs and small
//! CNNs) can be run by every validator while it imports a block, like any
//! other extrinsic: the result then needs no executor, no challenge window
//! and no committee. This crate is what runs them. It evaluates a
//! [`Graph`]: a bounded subset of ONNX in a compact SCALE form that the
//! publisher's client compiles from the ONNX file (`verity-engine`'s
//! `consensus` module) and that verifiers recompile to check.
//!
//! The same code runs natively and compiled to WebAssembly inside the
//! runtime, and gives the same bits in both:
//! * every operation is plain IEEE-754 `f32` arithmetic in a fixed order
//!   (Rust never fuses or reorders floating-point operations);
//! * transcendental functions come from the pure-Rust `libm` crate, never
//!   from the platform;
//! * WebAssembly leaves the payload of a NaN unspecified, and the node runs
//!   runtimes without NaN canonicalisation: every NaN an operator produces
//!   (and every NaN of an input or a constant) is replaced by the one
//!   canonical NaN, [`f32::NAN`];
//! * maxima and minima, comparisons and conversions are spelled out rather
//!   than left to instructions whose NaN rules differ between targets.
//!
//! Before anything runs, [`plan`] infers every value's shape from the
//! inputs' shapes, refuses a graph whose values would take more memory
//! than the caller allows (so the runtime's heap is checked, not
//! exhausted), and prices every operator in [`Cost`]: work per
//! [`OpClass`] (FLOPs, or bytes for data movement) from which the runtime
//! derives the job's weight. There is no recursion anywhere: a graph is a
//! list of nodes in order, a tree is walked by a loop that can only go
//! deeper, and every index a graph carries is checked ([`Graph::check`])
//! before the graph is used.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod cost;
mod error;
mod graph;
mod math;
mod ops;
mod run;
pub mod trees;
mod value;

pub use cost::{Cost, OpClass, OP_CLASSES};
pub use error::Error;
pub use graph::{ConstData, Constant, Elem, Graph, Input, Node, Output, Pads, F32, FORMAT_VERSION};
pub use ops::Op;
pub use run::{input_metas, plan, run, Limits, Plan};
pub use value::{Data, Meta, Value};
