//! Tensors as jobs carry them, and their check against a model's declaration.
//!
//! A job's input (and an executor's output) is the SCALE encoding of a
//! `Vec<Tensor>`. Tensor data is the elements in row-major order, each in
//! little-endian bytes (booleans one byte, 0 or 1).

use alloc::vec::Vec;
use codec::{Decode, DecodeAll, DecodeWithMemTracking, Encode};
use scale_info::TypeInfo;

use crate::spec::{DType, Dim, TensorSpec};

/// A named, typed, shaped block of elements.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct Tensor {
	/// The tensor's name in the model's graph.
	pub name: Vec<u8>,
	/// Element type.
	pub dtype: DType,
	/// Dimensions.
	pub shape: Vec<u32>,
	/// Elements, row-major, little-endian.
	pub data: Vec<u8>,
}

impl Tensor {
	/// Number of elements the shape calls for, if it fits in a `u64`.
	pub fn element_count(&self) -> Option<u64> {
		self.shape.iter().try_fold(1u64, |acc, d| acc.checked_mul(u64::from(*d)))
	}

	/// Whether `data` has exactly the bytes the shape and dtype call for.
	pub fn is_consistent(&self) -> bool {
		self.element_count()
			.and_then(|n| n.checked_mul(u64::from(self.dtype.size())))
			.is_some_and(|bytes| bytes == self.data.len() as u64)
	}

	/// The tensor's elements as `f64`, one `Vec` per batch item: the first
	/// dimension is the batch when the rank is at least 2, otherwise the whole
	/// tensor is one row. Empty for an inconsistent or empty tensor.
	pub fn rows(&self) -> Vec<Vec<f64>> {
		if !self.is_consistent() {
			return Vec::new();
		}
		let n = self.data.len() / self.dtype.size() as usize;
		let row_len =
			if self.shape.len() >= 2 && self.shape[0] > 0 { n / self.shape[0] as usize } else { n };
		if row_len == 0 {
			return Vec::new();
		}
		let values: Vec<f64> = (0..n).filter_map(|i| self.element_f64(i)).collect();
		values.chunks(row_len).map(|c| c.to_vec()).collect()
	}

	/// Per batch item (see [`Tensor::rows`]), the index of its largest element
	/// ([`argmax`]): a classifier's predicted class.
	pub fn argmax_rows(&self) -> Vec<u32> {
		self.rows().iter().filter_map(|r| argmax(r)).map(|i| i as u32).collect()
	}

	/// Element `i` as an `f64` (integers and booleans converted), if it exists.
	pub fn element_f64(&self, i: usize) -> Option<f64> {
		let size = self.dtype.size() as usize;
		let b = self.data.get(i * size..(i + 1) * size)?;
		Some(match self.dtype {
			DType::Float32 => f32::from_le_bytes(b.try_into().ok()?) as f64,
			DType::Float64 => f64::from_le_bytes(b.try_into().ok()?),
			DType::Int64 => i64::from_le_bytes(b.try_into().ok()?) as f64,
			DType::Int32 => i32::from_le_bytes(b.try_into().ok()?) as f64,
			DType::Uint8 | DType::Bool => b[0] as f64,
		})
	}
}

/// The order Verity ranks scores in: larger first, NaN below every number
/// (so a NaN never wins), and between equal scores the lower index first.
/// [`argmax`], [`Tensor::argmax_rows`] and the `ArgMax`/`TopK` verification
/// policies all rank with it, so every part of Verity (runtime, engine,
/// client, consumer pallets) reads the same answer from the same output.
pub fn rank_order(values: &[f64], a: usize, b: usize) -> core::cmp::Ordering {
	let key = |i: usize| if values[i].is_nan() { f64::NEG_INFINITY } else { values[i] };
	key(b).partial_cmp(&key(a)).unwrap_or(core::cmp::Ordering::Equal).then(a.cmp(&b))
}

/// Index of the largest of `values` under [`rank_order`]: ties go to the
/// lowest index and NaN never wins over a number. `None` when empty.
pub fn argmax(values: &[f64]) -> Option<usize> {
	(0..values.len()).min_by(|a, b| rank_order(values, *a, *b))
}

/// Why tensors do not fit a model's declaration.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum TensorError {
	/// The bytes are not a SCALE-encoded `Vec<Tensor>`.
	Malformed,
	/// Not one tensor per declared tensor.
	WrongCount,
	/// A tensor's name is not declared, or appears twice.
	UnknownName,
	/// A tensor's element type differs from its declaration.
	WrongDType,
	/// A tensor's shape differs from its declaration.
	WrongShape,
	/// Tensors disagree on the batch size, or it is zero.
	BatchMismatch,
	/// A tensor's data length differs from what its shape and dtype call for.
	DataLength,
	/// A free dimension is zero or above its declared maximum, or the
	/// tensors' free dimensions differ in size.
	FreeDimMismatch,
}

/// Decodes a SCALE-encoded `Vec<Tensor>`, refusing trailing bytes.
pub fn decode_tensors(mut bytes: &[u8]) -> Result<Vec<Tensor>, TensorError> {
	Vec::<Tensor>::decode_all(&mut bytes).map_err(|_| TensorError::Malformed)
}

/// Checks `tensors` against `specs`: one tensor per spec (matched by name, in
/// any order), each of the declared dtype and shape, with the same batch size
/// wherever a spec has the batch dimension, one size (within each maximum)
/// wherever a spec has a free dimension, and data of the right length.
/// Returns the batch size (1 when no spec has a batch dimension).
pub fn check_tensors(tensors: &[Tensor], specs: &[TensorSpec]) -> Result<u32, TensorError> {
	if tensors.len() != specs.len() {
		return Err(TensorError::WrongCount);
	}
	let mut batch: Option<u32> = None;
	let mut free: Option<u32> = None;
	for (i, t) in tensors.iter().enumerate() {
		if tensors[..i].iter().any(|o| o.name == t.name) {
			return Err(TensorError::UnknownName);
		}
		let spec = specs
			.iter()
			.find(|s| s.name.as_slice() == t.name.as_slice())
			.ok_or(TensorError::UnknownName)?;
		if spec.dtype != t.dtype {
			return Err(TensorError::WrongDType);
		}
		if spec.shape.len() != t.shape.len() {
			return Err(TensorError::WrongShape);
		}
		for (dim, &n) in spec.shape.iter().zip(&t.shape) {
			match dim {
				Dim::Fixed(f) if *f != n => return Err(TensorError::WrongShape),
				Dim::Fixed(_) => {}
				Dim::Batch => {
					if n == 0 || batch.is_some_and(|b| b != n) {
						return Err(TensorError::BatchMismatch);
					}
					batch = Some(n);
				}
				Dim::Free(max) => {
					if n == 0 || n > *max || free.is_some_and(|f| f != n) {
						return Err(TensorError::FreeDimMismatch);
					}
					free = Some(n);
				}
			}
		}
		if !t.is_consistent() {
			return Err(TensorError::DataLength);
		}
	}
	Ok(batch.unwrap_or(1))
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::spec::Name;
	use alloc::vec;
	use sp_runtime::BoundedVec;

	fn spec(name: &str, dtype: DType, shape: &[Dim]) -> TensorSpec {
		TensorSpec {
			name: Name::try_from(name.as_bytes().to_vec()).unwrap(),
			dtype,
			shape: BoundedVec::try_from(shape.to_vec()).unwrap(),
		}
	}

	fn f32s(name: &str, shape: &[u32], values: &[f32]) -> Tensor {
		Tensor {
			name: name.as_bytes().to_vec(),
			dtype: DType::Float32,
			shape: shape.to_vec(),
			data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
		}
	}

	#[test]
	fn matching_tensors_pass_and_report_the_batch() {
		let specs = [
			spec("x", DType::Float32, &[Dim::Batch, Dim::Fixed(2)]),
			spec("m", DType::Float32, &[Dim::Batch]),
		];
		let t = vec![f32s("m", &[3], &[1., 2., 3.]), f32s("x", &[3, 2], &[0.; 6])];
		assert_eq!(check_tensors(&t, &specs), Ok(3));
		let encoded = t.encode();
		assert_eq!(decode_tensors(&encoded).unwrap(), t);
	}

	#[test]
	fn every_mismatch_has_its_error() {
		let specs = [spec("x", DType::Float32, &[Dim::Batch, Dim::Fixed(2)])];
		let check = |t: Vec<Tensor>| check_tensors(&t, &specs);
		assert_eq!(check(vec![]), Err(TensorError::WrongCount));
		assert_eq!(check(vec![f32s("y", &[1, 2], &[0.; 2])]), Err(TensorError::UnknownName));
		let mut wrong_type = f32s("x", &[1, 2], &[0.; 2]);
		wrong_type.dtype = DType::Int32;
		assert_eq!(check(vec![wrong_type]), Err(TensorError::WrongDType));
		assert_eq!(check(vec![f32s("x", &[2], &[0.; 2])]), Err(TensorError::WrongShape));
		assert_eq!(check(vec![f32s("x", &[1, 3], &[0.; 3])]), Err(TensorError::WrongShape));
		assert_eq!(check(vec![f32s("x", &[0, 2], &[])]), Err(TensorError::BatchMismatch));
		assert_eq!(check(vec![f32s("x", &[2, 2], &[0.; 3])]), Err(TensorError::DataLength));
		// A hostile shape whose element count overflows is a length error, not a panic.
		let mut huge = f32s("x", &[u32::MAX, 2], &[]);
		huge.shape = vec![u32::MAX, 2];
		assert_eq!(check(vec![huge]), Err(TensorError::DataLength));

		let two =
			[spec("a", DType::Float32, &[Dim::Batch]), spec("b", DType::Float32, &[Dim::Batch])];
		let t = vec![f32s("a", &[1], &[0.]), f32s("b", &[2], &[0.; 2])];
		assert_eq!(check_tensors(&t, &two), Err(TensorError::BatchMismatch));
		let t = vec![f32s("a", &[1], &[0.]), f32s("a", &[1], &[0.])];
		assert_eq!(check_tensors(&t, &two), Err(TensorError::UnknownName));
	}

	#[test]
	fn garbage_and_trailing_bytes_are_malformed() {
		assert_eq!(decode_tensors(&[0xff, 0xff, 0xff, 0xff, 0x07]), Err(TensorError::Malformed));
		let mut encoded = vec![f32s("x", &[1], &[1.])].encode();
		encoded.push(0);
		assert_eq!(decode_tensors(&encoded), Err(TensorError::Malformed));
	}

	#[test]
	fn free_dimensions_take_one_size_within_their_maximum() {
		let specs = [
			spec("ids", DType::Float32, &[Dim::Batch, Dim::Free(8)]),
			spec("mask", DType::Float32, &[Dim::Batch, Dim::Free(8)]),
		];
		let t = |name: &str, b: u32, n: u32| Tensor {
			name: name.as_bytes().to_vec(),
			dtype: DType::Float32,
			shape: vec![b, n],
			data: vec![0; (b * n * 4) as usize],
		};
		assert_eq!(check_tensors(&[t("ids", 2, 5), t("mask", 2, 5)], &specs), Ok(2));
		assert_eq!(check_tensors(&[t("ids", 2, 8), t("mask", 2, 8)], &specs), Ok(2));
		for (a, b) in [(5, 6), (9, 9), (0, 0)] {
			assert_eq!(
				check_tensors(&[t("ids", 2, a), t("mask", 2, b)], &specs),
				Err(TensorError::FreeDimMismatch),
				"{a} and {b}"
			);
		}
	}
}
