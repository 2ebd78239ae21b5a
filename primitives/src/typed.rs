//! Outputs in their own element types, for clients.
//!
//! The chain stores a job's output as the SCALE bytes of a `Vec<Tensor>`,
//! whose elements are raw little-endian bytes. [`TypedTensor`] is what the
//! `InferenceApi::job_output` runtime API returns instead: every element in
//! a type the chain's metadata describes, and each batch item's argmax as
//! [`argmax`](crate::argmax) ranks it, so that no client decodes tensor
//! bytes or ranks scores itself. SCALE has no floating-point type, so float
//! elements travel as text: the shortest decimal that reads back as the same
//! value (`NaN`, `Infinity` and `-Infinity` spelled as JavaScript's `Number`
//! and Rust's `parse` read them). [`TypedTensor::to_tensor`] goes the other
//! way, for clients that build a job's input (`InferenceApi::encode_tensors`).

use alloc::{
	format,
	string::{String, ToString},
	vec::Vec,
};
use codec::{Decode, Encode};
use scale_info::TypeInfo;

use crate::{
	spec::DType,
	tensor::{Tensor, TensorError},
};

/// A tensor's elements, row-major, in their own type.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub enum TensorValues {
	/// `float32` elements as decimal text (see the module's docs).
	Float32(Vec<String>),
	/// `float64` elements as decimal text (see the module's docs).
	Float64(Vec<String>),
	/// `int64` elements.
	Int64(Vec<i64>),
	/// `int32` elements.
	Int32(Vec<i32>),
	/// `uint8` elements.
	Uint8(Vec<u8>),
	/// `bool` elements.
	Bool(Vec<bool>),
}

/// A named, shaped tensor with typed elements and its per-item argmax.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct TypedTensor {
	/// The tensor's name in the model's graph (UTF-8, lossily converted).
	pub name: String,
	/// Element type.
	pub dtype: DType,
	/// Dimensions.
	pub shape: Vec<u32>,
	/// The elements.
	pub values: TensorValues,
	/// [`Tensor::argmax_rows`]: per batch item, the index of its largest
	/// element (a classifier's predicted class).
	pub argmax: Vec<u32>,
}

/// Decimal text of a float: shortest round-trip digits, JavaScript's
/// spelling of the non-finite values.
fn float_text(v: f64, shortest: String) -> String {
	if v.is_nan() {
		"NaN".to_string()
	} else if v.is_infinite() {
		if v > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
	} else {
		shortest
	}
}

impl Tensor {
	/// The tensor with typed elements; `None` when its data does not fit its
	/// shape and dtype.
	pub fn typed(&self) -> Option<TypedTensor> {
		if !self.is_consistent() {
			return None;
		}
		let size = self.dtype.size() as usize;
		let chunks = self.data.chunks_exact(size);
		let values = match self.dtype {
			DType::Float32 => TensorValues::Float32(
				chunks
					.map(|b| {
						let v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
						float_text(v as f64, format!("{v:?}"))
					})
					.collect(),
			),
			DType::Float64 => TensorValues::Float64(
				chunks
					.map(|b| {
						let v = f64::from_le_bytes(b.try_into().unwrap_or_default());
						float_text(v, format!("{v:?}"))
					})
					.collect(),
			),
			DType::Int64 => TensorValues::Int64(
				chunks.map(|b| i64::from_le_bytes(b.try_into().unwrap_or_default())).collect(),
			),
			DType::Int32 => TensorValues::Int32(
				chunks.map(|b| i32::from_le_bytes(b.try_into().unwrap_or_default())).collect(),
			),
			DType::Uint8 => TensorValues::Uint8(self.data.clone()),
			DType::Bool => TensorValues::Bool(self.data.iter().map(|b| *b != 0).collect()),
		};
		Some(TypedTensor {
			name: String::from_utf8_lossy(&self.name).into_owned(),
			dtype: self.dtype,
			shape: self.shape.clone(),
			values,
			argmax: self.argmax_rows(),
		})
	}
}

impl TypedTensor {
	/// The tensor in the chain's byte form (how jobs carry it). `argmax` is
	/// ignored. Errors: [`TensorError::WrongDType`] when the values' type
	/// differs from `dtype`, [`TensorError::Malformed`] when a float's text
	/// does not parse, [`TensorError::DataLength`] when the number of values
	/// differs from what `shape` calls for.
	pub fn to_tensor(&self) -> Result<Tensor, TensorError> {
		fn floats<F: core::str::FromStr>(
			text: &[String],
			bytes: impl Fn(F) -> Vec<u8>,
		) -> Result<Vec<u8>, TensorError> {
			let mut data = Vec::new();
			for t in text {
				data.extend(bytes(t.trim().parse::<F>().map_err(|_| TensorError::Malformed)?));
			}
			Ok(data)
		}
		let data = match (&self.values, self.dtype) {
			(TensorValues::Float32(v), DType::Float32) => {
				floats::<f32>(v, |x| x.to_le_bytes().to_vec())?
			}
			(TensorValues::Float64(v), DType::Float64) => {
				floats::<f64>(v, |x| x.to_le_bytes().to_vec())?
			}
			(TensorValues::Int64(v), DType::Int64) => {
				v.iter().flat_map(|x| x.to_le_bytes()).collect()
			}
			(TensorValues::Int32(v), DType::Int32) => {
				v.iter().flat_map(|x| x.to_le_bytes()).collect()
			}
			(TensorValues::Uint8(v), DType::Uint8) => v.clone(),
			(TensorValues::Bool(v), DType::Bool) => v.iter().map(|b| u8::from(*b)).collect(),
			_ => return Err(TensorError::WrongDType),
		};
		let tensor = Tensor {
			name: self.name.as_bytes().to_vec(),
			dtype: self.dtype,
			shape: self.shape.clone(),
			data,
		};
		if tensor.is_consistent() {
			Ok(tensor)
		} else {
			Err(TensorError::DataLength)
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn tensor(dtype: DType, shape: &[u32], data: Vec<u8>) -> Tensor {
		Tensor { name: b"out".to_vec(), dtype, shape: shape.to_vec(), data }
	}

	#[test]
	fn floats_read_back_as_the_same_bits() {
		let values = [0.1f32, -1.0, 1e-7, 3.4028235e38, f32::MIN_POSITIVE, 0.0, -0.0];
		let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
		let typed = tensor(DType::Float32, &[1, 7], data).typed().unwrap();
		let TensorValues::Float32(text) = &typed.values else { panic!("{typed:?}") };
		for (v, t) in values.iter().zip(text) {
			assert_eq!(t.parse::<f32>().unwrap().to_bits(), v.to_bits(), "{t}");
		}
		assert_eq!(typed.argmax, vec![3]);
	}

	#[test]
	fn non_finite_floats_are_spelled_as_javascript_reads_them() {
		let values = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 2.5];
		let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
		let typed = tensor(DType::Float64, &[4], data).typed().unwrap();
		let text = vec!["NaN".to_string(), "Infinity".into(), "-Infinity".into(), "2.5".into()];
		assert_eq!(typed.values, TensorValues::Float64(text));
		// A NaN never wins; the one row's largest is +inf.
		assert_eq!(typed.argmax, vec![1]);
	}

	#[test]
	fn integers_and_booleans_keep_their_type_and_rows_get_an_argmax_each() {
		let data = [5i64, 9, -3, 7, 7, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
		let typed = tensor(DType::Int64, &[2, 3], data).typed().unwrap();
		assert_eq!(typed.values, TensorValues::Int64(vec![5, 9, -3, 7, 7, 1]));
		// Ties go to the lower index.
		assert_eq!(typed.argmax, vec![1, 0]);
		let typed = tensor(DType::Bool, &[3], vec![0, 1, 2]).typed().unwrap();
		assert_eq!(typed.values, TensorValues::Bool(vec![false, true, true]));
		assert_eq!(typed.name, "out");
	}

	#[test]
	fn typed_tensors_convert_back_to_the_same_bytes() {
		let floats = tensor(
			DType::Float32,
			&[2, 2],
			[0.1f32, -2.0, f32::INFINITY, 1e-30].iter().flat_map(|v| v.to_le_bytes()).collect(),
		);
		let bools = tensor(DType::Bool, &[3], vec![0, 1, 1]);
		let ints =
			tensor(DType::Int32, &[2], [-7i32, 9].iter().flat_map(|v| v.to_le_bytes()).collect());
		for t in [floats, bools, ints] {
			assert_eq!(t.typed().unwrap().to_tensor(), Ok(t));
		}
	}

	#[test]
	fn typed_tensors_that_contradict_themselves_have_no_byte_form() {
		let good = tensor(
			DType::Float32,
			&[2],
			[1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect(),
		);
		let typed = good.typed().unwrap();
		let mut short = typed.clone();
		short.shape = vec![3];
		assert_eq!(short.to_tensor(), Err(TensorError::DataLength));
		let mut wrong_type = typed.clone();
		wrong_type.values = TensorValues::Int32(vec![1, 2]);
		assert_eq!(wrong_type.to_tensor(), Err(TensorError::WrongDType));
		let mut not_a_number = typed;
		not_a_number.values = TensorValues::Float32(vec!["1.0".into(), "two".into()]);
		assert_eq!(not_a_number.to_tensor(), Err(TensorError::Malformed));
	}

	#[test]
	fn a_tensor_whose_bytes_do_not_fit_its_shape_has_no_typed_form() {
		assert_eq!(tensor(DType::Int32, &[2], vec![0; 7]).typed(), None);
	}
}
