//! What a run costs, in units the runtime's benchmarks price.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// Operators grouped by what their time is proportional to. The runtime
/// benchmarks one operator of each class (`pallet-inference`'s
/// `consensus_*` benchmarks) and prices a run as the sum over classes of
/// its work times that class's time per unit, plus a fixed time per node.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum OpClass {
	/// `MatMul`, `Gemm`, `Conv`: work is FLOPs (two per multiply-add).
	Linear,
	/// Arithmetic, comparisons and conversions per element (`Add`..`Div`,
	/// `Relu`, `LeakyRelu`, `Clip`, `Cast`, `ArgMax`, pooling): work is
	/// elements read.
	Elementwise,
	/// `Exp`, `Log`, `Sqrt`, `Sigmoid`, `Tanh`, `Softmax`: work is calls of
	/// a `libm` function.
	Transcendental,
	/// `Reshape`, `Flatten`, `Concat`, `Transpose`, `Identity`: work is
	/// bytes copied.
	Movement,
	/// Tree ensembles: work is decision nodes visited, at most (every row
	/// through every tree to its deepest leaf) plus leaf weights added.
	Tree,
}

/// Every class, in the order of [`Cost::work`].
pub const OP_CLASSES: [OpClass; 5] = [
	OpClass::Linear,
	OpClass::Elementwise,
	OpClass::Transcendental,
	OpClass::Movement,
	OpClass::Tree,
];

impl OpClass {
	/// Its index in [`Cost::work`].
	pub const fn index(self) -> usize {
		match self {
			OpClass::Linear => 0,
			OpClass::Elementwise => 1,
			OpClass::Transcendental => 2,
			OpClass::Movement => 3,
			OpClass::Tree => 4,
		}
	}
}

/// The price of one run: what [`crate::plan`] computes from the inputs'
/// shapes, and what the registry stores for a model at its largest batch.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Default,
)]
pub struct Cost {
	/// Work per [`OpClass`], indexed by [`OpClass::index`].
	pub work: [u64; 5],
	/// Bytes of every value the run creates (operators' outputs and
	/// scratch), summed.
	pub bytes: u64,
	/// Nodes run.
	pub nodes: u32,
	/// The most bytes alive at once: inputs, constants, the values still
	/// to be read and the running operator's outputs and scratch.
	pub peak_memory: u64,
}

impl Cost {
	/// Adds `work` units of `class`.
	pub fn add(&mut self, class: OpClass, work: u64) {
		let w = &mut self.work[class.index()];
		*w = w.saturating_add(work);
	}

	/// Work of `class`.
	pub fn of(&self, class: OpClass) -> u64 {
		self.work[class.index()]
	}

	/// Whether every field is at most the other's: a run that costs `self`
	/// is covered by a weight computed for `other`.
	pub fn within(&self, other: &Cost) -> bool {
		self.work.iter().zip(other.work.iter()).all(|(a, b)| a <= b)
			&& self.bytes <= other.bytes
			&& self.nodes <= other.nodes
			&& self.peak_memory <= other.peak_memory
	}
}
