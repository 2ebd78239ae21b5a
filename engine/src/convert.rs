//! Conversion between Verity's [`Tensor`]s and tract's.

use tract_onnx::prelude::{DatumType, Tensor as TractTensor};
use verity_primitives::{DType, Tensor};

use crate::EngineError;

/// tract's element type for a Verity dtype.
pub fn datum_type(dtype: DType) -> DatumType {
	match dtype {
		DType::Float32 => DatumType::F32,
		DType::Float64 => DatumType::F64,
		DType::Int64 => DatumType::I64,
		DType::Int32 => DatumType::I32,
		DType::Uint8 => DatumType::U8,
		DType::Bool => DatumType::Bool,
	}
}

/// Verity's dtype for a tract element type, if it has one.
pub fn dtype(datum: DatumType) -> Option<DType> {
	Some(match datum {
		DatumType::F32 => DType::Float32,
		DatumType::F64 => DType::Float64,
		DatumType::I64 => DType::Int64,
		DatumType::I32 => DType::Int32,
		DatumType::U8 => DType::Uint8,
		DatumType::Bool => DType::Bool,
		_ => return None,
	})
}

fn le<T, const N: usize>(data: &[u8], f: fn([u8; N]) -> T) -> Vec<T> {
	data.chunks_exact(N).map(|c| f(c.try_into().expect("chunks of N; qed"))).collect()
}

/// A tract tensor holding `t`'s elements (the caller checked `t` is consistent).
pub fn to_tract(t: &Tensor) -> Result<TractTensor, EngineError> {
	if !t.is_consistent() {
		return Err(EngineError::InvalidInput);
	}
	let shape: Vec<usize> = t.shape.iter().map(|d| *d as usize).collect();
	let r = match t.dtype {
		DType::Float32 => TractTensor::from_shape(&shape, &le(&t.data, f32::from_le_bytes)),
		DType::Float64 => TractTensor::from_shape(&shape, &le(&t.data, f64::from_le_bytes)),
		DType::Int64 => TractTensor::from_shape(&shape, &le(&t.data, i64::from_le_bytes)),
		DType::Int32 => TractTensor::from_shape(&shape, &le(&t.data, i32::from_le_bytes)),
		DType::Uint8 => TractTensor::from_shape(&shape, &t.data),
		DType::Bool => {
			let b: Vec<bool> = t.data.iter().map(|x| *x != 0).collect();
			TractTensor::from_shape(&shape, &b)
		}
	};
	r.map_err(|_| EngineError::InvalidInput)
}

/// `t` as a Verity tensor named `name`. Element types Verity does not carry
/// are refused.
pub fn from_tract(name: &str, t: &TractTensor) -> Result<Tensor, EngineError> {
	// tract computes integers it derives from shapes (e.g. a classifier's
	// label index cast to int64) as symbolic dimensions; concrete after a
	// run, they are the int64 values the graph declares.
	if t.datum_type() == DatumType::TDim {
		let concrete = t.cast_to::<i64>().map_err(|_| EngineError::UnsupportedModel)?;
		return from_tract(name, &concrete);
	}
	let dtype = dtype(t.datum_type()).ok_or(EngineError::UnsupportedModel)?;
	let shape = t.shape().iter().map(|d| u32::try_from(*d)).collect::<Result<Vec<_>, _>>();
	let shape = shape.map_err(|_| EngineError::TensorTooLarge)?;
	let data: Vec<u8> = match dtype {
		DType::Float32 => values::<f32>(t)?.iter().flat_map(|v| v.to_le_bytes()).collect(),
		DType::Float64 => values::<f64>(t)?.iter().flat_map(|v| v.to_le_bytes()).collect(),
		DType::Int64 => values::<i64>(t)?.iter().flat_map(|v| v.to_le_bytes()).collect(),
		DType::Int32 => values::<i32>(t)?.iter().flat_map(|v| v.to_le_bytes()).collect(),
		DType::Uint8 => values::<u8>(t)?,
		DType::Bool => values::<bool>(t)?.iter().map(|b| *b as u8).collect(),
	};
	Ok(Tensor { name: name.as_bytes().to_vec(), dtype, shape, data })
}

/// The elements of `t` in row-major order.
fn values<T: tract_onnx::prelude::Datum + Copy>(t: &TractTensor) -> Result<Vec<T>, EngineError> {
	let view = t.to_plain_array_view::<T>().map_err(|_| EngineError::Internal)?;
	Ok(view.iter().copied().collect())
}
