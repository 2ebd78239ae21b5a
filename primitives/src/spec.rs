//! What a model declares: tensor specifications and the policy that decides
//! when two outputs agree.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_arithmetic::FixedU64;
use sp_core::{ConstU32, H256};
use sp_runtime::BoundedVec;

/// A model's identity: the blake2-256 hash of its ONNX bytes.
pub type ModelId = H256;

/// Longest tensor or family name, in bytes.
pub const MAX_NAME_LEN: u32 = 64;
/// Most dimensions a declared tensor may have.
pub const MAX_RANK: u32 = 8;
/// Most inputs, and most outputs, a model may declare.
pub const MAX_TENSORS: u32 = 16;
/// Largest `k` of [`VerificationPolicy::TopK`].
pub const MAX_TOP_K: u32 = 1000;

/// A tensor or family name (UTF-8 is not enforced; names are compared as bytes).
pub type Name = BoundedVec<u8, ConstU32<MAX_NAME_LEN>>;
/// A model family's name, e.g. `b"mnist-mlp"`.
pub type FamilyName = Name;
/// A tensor's shape.
pub type Shape = BoundedVec<Dim, ConstU32<MAX_RANK>>;
/// A model's declared inputs or outputs.
pub type TensorSpecs = BoundedVec<TensorSpec, ConstU32<MAX_TENSORS>>;

/// Element type of a tensor.
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
pub enum DType {
	/// IEEE 754 single precision.
	Float32,
	/// IEEE 754 double precision.
	Float64,
	/// Signed 64-bit integer.
	Int64,
	/// Signed 32-bit integer.
	Int32,
	/// Unsigned byte.
	Uint8,
	/// Boolean, one byte per element.
	Bool,
}

impl DType {
	/// Bytes per element.
	pub const fn size(self) -> u32 {
		match self {
			DType::Float32 | DType::Int32 => 4,
			DType::Float64 | DType::Int64 => 8,
			DType::Uint8 | DType::Bool => 1,
		}
	}
}

/// One dimension of a declared shape.
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
pub enum Dim {
	/// A fixed, positive size.
	Fixed(u32),
	/// The symbolic batch dimension: any positive size, chosen per job. Only
	/// allowed as the first dimension.
	Batch,
	/// A free dimension (e.g. a sequence length): any size from 1 to this
	/// maximum, chosen per job. All free dimensions of a job's inputs take
	/// the same size, and so do all of its outputs' (the model's one free
	/// length); the maximum bounds every size check the runtime makes.
	Free(u32),
}

/// The maximum `describe` gives a free dimension, which a publisher may
/// change when registering (`verity model register --free-dim-max`).
pub const DEFAULT_FREE_MAX: u32 = 256;

/// A declared input or output tensor.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct TensorSpec {
	/// The tensor's name in the ONNX graph.
	pub name: Name,
	/// Element type.
	pub dtype: DType,
	/// Shape; `Dim::Batch` may only come first.
	pub shape: Shape,
}

impl Dim {
	/// Whether `self` and `other` declare the same kind of dimension: equal,
	/// or both free whatever their maxima (what a graph can say about a
	/// dimension; the maximum is the publisher's declaration).
	pub fn same_kind(&self, other: &Dim) -> bool {
		match (self, other) {
			(Dim::Free(_), Dim::Free(_)) => true,
			(a, b) => a == b,
		}
	}
}

impl TensorSpec {
	/// Whether the spec is well-formed: a name, positive fixed dimensions and
	/// free maxima, a batch dimension only in front, and a per-batch-item
	/// element count (free dimensions at their maxima) that fits in a `u32`.
	pub fn is_valid(&self) -> bool {
		if self.name.is_empty() {
			return false;
		}
		let mut elements: u32 = 1;
		for (i, dim) in self.shape.iter().enumerate() {
			match dim {
				Dim::Batch if i == 0 => {}
				Dim::Batch => return false,
				Dim::Fixed(0) | Dim::Free(0) => return false,
				Dim::Fixed(n) | Dim::Free(n) => match elements.checked_mul(*n) {
					Some(e) => elements = e,
					None => return false,
				},
			}
		}
		true
	}

	/// Most elements of one batch item (the product of the fixed
	/// dimensions and of the free dimensions' maxima).
	pub fn elements_per_item(&self) -> u64 {
		self.shape
			.iter()
			.map(|d| match d {
				Dim::Fixed(n) | Dim::Free(n) => u64::from(*n),
				Dim::Batch => 1,
			})
			.product()
	}

	/// Whether `self` declares what `other` does, free dimensions' maxima
	/// aside: name, element type, rank and kind of every dimension.
	pub fn same_layout(&self, other: &TensorSpec) -> bool {
		self.name == other.name
			&& self.dtype == other.dtype
			&& self.shape.len() == other.shape.len()
			&& self.shape.iter().zip(other.shape.iter()).all(|(a, b)| a.same_kind(b))
	}
}

/// Whether a list of tensor specs is well-formed: not empty, every spec
/// valid, names unique.
pub fn specs_are_valid(specs: &[TensorSpec]) -> bool {
	!specs.is_empty()
		&& specs.iter().all(TensorSpec::is_valid)
		&& specs.iter().enumerate().all(|(i, a)| specs[..i].iter().all(|b| a.name != b.name))
}

/// An upper bound of the SCALE-encoded size, in bytes, of tensors matching
/// `specs` at batch size `batch` (the form of a job's input or output): what
/// the runtime checks against its size limits before any engine runs, the
/// same on every node. Saturates instead of overflowing.
pub fn encoded_size_bound(specs: &[TensorSpec], batch: u32) -> u64 {
	// A compact length prefix takes at most 5 bytes for lengths below 2^32.
	const PREFIX: u64 = 5;
	specs.iter().fold(PREFIX, |acc, spec| {
		let items = if spec.shape.first() == Some(&Dim::Batch) { u64::from(batch) } else { 1 };
		let data = spec
			.elements_per_item()
			.saturating_mul(items)
			.saturating_mul(u64::from(spec.dtype.size()));
		let header = PREFIX + spec.name.len() as u64 + 1 + PREFIX + 4 * spec.shape.len() as u64;
		acc.saturating_add(header).saturating_add(PREFIX).saturating_add(data)
	})
}

/// Whether a tensor of this type holds floating-point numbers, which honest
/// machines may compute differently in the last bits.
pub fn is_float(dtype: DType) -> bool {
	matches!(dtype, DType::Float32 | DType::Float64)
}

/// When two outputs of the same job count as the same answer. Used by
/// verifiers re-executing a disputed job.
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
pub enum VerificationPolicy {
	/// Bit-identical tensors. Only for models whose outputs are integers or
	/// booleans: the registry refuses it for float outputs, which honest
	/// nodes with different SIMD kernels compute differently in the last bits.
	Exact,
	/// Element-wise `|a - b| <= abs + rel * |b|`, for models whose floating
	/// point results may differ in the last bits across CPUs. `abs` and `rel`
	/// are fixed-point numbers with 9 decimals.
	Tolerance {
		/// Absolute tolerance.
		abs: FixedU64,
		/// Relative tolerance.
		rel: FixedU64,
	},
	/// Same index of the largest element (per batch item) in the first output:
	/// classifiers.
	ArgMax,
	/// Same set of the `k` largest elements' indices (per batch item) in the
	/// first output: rankers.
	TopK(u32),
}

impl VerificationPolicy {
	/// Whether the policy's parameters are usable.
	pub fn is_valid(&self) -> bool {
		match self {
			VerificationPolicy::TopK(k) => (1..=MAX_TOP_K).contains(k),
			_ => true,
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use codec::Encode;

	fn spec(name: &str, dtype: DType, shape: &[Dim]) -> TensorSpec {
		TensorSpec {
			name: name.as_bytes().to_vec().try_into().unwrap(),
			dtype,
			shape: shape.to_vec().try_into().unwrap(),
		}
	}

	#[test]
	fn the_size_bound_covers_the_encoding() {
		let specs = [
			spec("probabilities", DType::Float32, &[Dim::Batch, Dim::Fixed(10)]),
			spec("label", DType::Int64, &[Dim::Batch]),
			spec("bias", DType::Float64, &[Dim::Fixed(3), Dim::Fixed(2)]),
			spec("tokens", DType::Float32, &[Dim::Batch, Dim::Free(12), Dim::Fixed(4)]),
		];
		for batch in [1u32, 7, 300] {
			let tensors: alloc::vec::Vec<crate::Tensor> = specs
				.iter()
				.map(|s| {
					let shape: alloc::vec::Vec<u32> = s
						.shape
						.iter()
						.map(|d| match d {
							Dim::Batch => batch,
							Dim::Fixed(n) | Dim::Free(n) => *n,
						})
						.collect();
					let n: u32 = shape.iter().product();
					crate::Tensor {
						name: s.name.to_vec(),
						dtype: s.dtype,
						shape,
						data: alloc::vec![0; (n * s.dtype.size()) as usize],
					}
				})
				.collect();
			let actual = tensors.encoded_size() as u64;
			let bound = encoded_size_bound(&specs, batch);
			assert!(actual <= bound, "batch {batch}: {actual} > {bound}");
			// Tight up to the length prefixes.
			assert!(
				bound - actual <= 5 * 4 * specs.len() as u64,
				"batch {batch}: {bound} - {actual}"
			);
		}
	}
}
