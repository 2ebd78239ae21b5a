//! Values while a graph runs, and their shapes while it is planned.

use alloc::vec::Vec;
use verity_primitives::{DType, Tensor};

use crate::{
	error::{Error, Result},
	graph::{ConstData, Constant, Elem},
	math::canon,
};

/// A value's element type and shape: what [`crate::plan`] knows of it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Meta {
	/// Element type.
	pub elem: Elem,
	/// Dimensions.
	pub shape: Vec<usize>,
}

impl Meta {
	/// A meta of `elem` and `shape`.
	pub fn new(elem: Elem, shape: Vec<usize>) -> Meta {
		Meta { elem, shape }
	}

	/// Number of elements (the shape was checked not to overflow when the
	/// meta was made by [`crate::plan`]).
	pub fn len(&self) -> usize {
		self.shape.iter().product()
	}

	/// Whether it has no elements.
	pub fn is_empty(&self) -> bool {
		self.len() == 0
	}

	/// Bytes its elements take.
	pub fn bytes(&self) -> u64 {
		(self.len() as u64).saturating_mul(self.elem.size() as u64)
	}
}

/// A value's elements.
#[derive(Clone, PartialEq, Debug)]
pub enum Data {
	/// `f32` elements; every NaN is the canonical one.
	F32(Vec<f32>),
	/// `i64` elements.
	I64(Vec<i64>),
}

/// A tensor the interpreter computes with.
#[derive(Clone, PartialEq, Debug)]
pub struct Value {
	/// Dimensions.
	pub shape: Vec<usize>,
	/// Elements, row-major.
	pub data: Data,
}

impl Value {
	/// An `f32` value.
	pub fn f32(shape: Vec<usize>, data: Vec<f32>) -> Value {
		Value { shape, data: Data::F32(data) }
	}

	/// An `i64` value.
	pub fn i64(shape: Vec<usize>, data: Vec<i64>) -> Value {
		Value { shape, data: Data::I64(data) }
	}

	/// Its element type.
	pub fn elem(&self) -> Elem {
		match self.data {
			Data::F32(_) => Elem::F32,
			Data::I64(_) => Elem::I64,
		}
	}

	/// Its element type and shape.
	pub fn meta(&self) -> Meta {
		Meta::new(self.elem(), self.shape.clone())
	}

	/// Whether it has as many elements as its shape calls for.
	pub fn is_consistent(&self) -> bool {
		let n = match &self.data {
			Data::F32(v) => v.len(),
			Data::I64(v) => v.len(),
		};
		self.shape.iter().try_fold(1usize, |a, d| a.checked_mul(*d)) == Some(n)
	}

	/// Its `f32` elements, if it has them.
	pub fn as_f32(&self) -> Result<&[f32]> {
		match &self.data {
			Data::F32(v) => Ok(v),
			Data::I64(_) => Err(Error::ShapeMismatch("an f32 operand is i64")),
		}
	}

	/// A constant's value, NaNs canonicalised.
	pub fn from_constant(c: &Constant) -> Value {
		let shape = c.shape.iter().map(|d| *d as usize).collect();
		match &c.data {
			ConstData::F32(bits) => {
				Value::f32(shape, bits.iter().map(|b| canon(f32::from_bits(*b))).collect())
			}
			ConstData::I64(v) => Value::i64(shape, v.clone()),
		}
	}

	/// A job's tensor as a value of element type `elem`, NaNs canonicalised.
	pub fn from_tensor(t: &Tensor, elem: Elem) -> Result<Value> {
		if !t.is_consistent() {
			return Err(Error::InputMismatch);
		}
		let shape = t.shape.iter().map(|d| *d as usize).collect();
		match (t.dtype, elem) {
			(DType::Float32, Elem::F32) => Ok(Value::f32(
				shape,
				t.data
					.chunks_exact(4)
					.map(|b| canon(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
					.collect(),
			)),
			(DType::Int64, Elem::I64) => Ok(Value::i64(
				shape,
				t.data
					.chunks_exact(8)
					.map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
					.collect(),
			)),
			_ => Err(Error::InputMismatch),
		}
	}

	/// The value as a job's output tensor named `name`.
	pub fn to_tensor(&self, name: &[u8]) -> Tensor {
		let (dtype, data) = match &self.data {
			Data::F32(v) => (DType::Float32, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
			Data::I64(v) => (DType::Int64, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
		};
		Tensor {
			name: name.to_vec(),
			dtype,
			shape: self.shape.iter().map(|d| *d as u32).collect(),
			data,
		}
	}
}
