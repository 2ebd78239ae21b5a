//! The compact graph: what a publisher uploads next to the ONNX bytes.
//!
//! Values are numbered in the order they come into being: first the graph's
//! inputs, then its constants, then each node's outputs, node by node. A
//! node may only use values numbered before its own outputs, so the list of
//! nodes is already an order to run them in, and no value is used before it
//! exists ([`Graph::check`]).

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode};
use scale_info::TypeInfo;

use crate::{
	error::{Error, Result},
	ops::Op,
};

/// The version of the format this crate reads and writes: the first byte
/// of every encoded graph.
pub const FORMAT_VERSION: u8 = 1;

/// An `f32` as its IEEE-754 bits (SCALE has no floating-point type).
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub struct F32(pub u32);

impl F32 {
	/// The value.
	#[inline]
	pub fn get(self) -> f32 {
		f32::from_bits(self.0)
	}
}

impl From<f32> for F32 {
	fn from(v: f32) -> Self {
		F32(v.to_bits())
	}
}

/// The element types the interpreter computes in.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Elem {
	/// IEEE-754 single precision.
	F32,
	/// Signed 64-bit integers (labels, indices).
	I64,
}

impl Elem {
	/// Bytes per element.
	pub const fn size(self) -> usize {
		match self {
			Elem::F32 => 4,
			Elem::I64 => 8,
		}
	}
}

/// A graph input: the job's tensor of this name.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct Input {
	/// The tensor's name.
	pub name: Vec<u8>,
	/// Its element type.
	pub elem: Elem,
}

/// A constant's elements.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub enum ConstData {
	/// `f32` elements as their bits.
	F32(Vec<u32>),
	/// `i64` elements.
	I64(Vec<i64>),
}

impl ConstData {
	/// Number of elements.
	pub fn len(&self) -> usize {
		match self {
			ConstData::F32(v) => v.len(),
			ConstData::I64(v) => v.len(),
		}
	}

	/// Whether there are none.
	pub fn is_empty(&self) -> bool {
		self.len() == 0
	}
}

/// A weight or other fixed tensor (an ONNX initializer).
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct Constant {
	/// Dimensions.
	pub shape: Vec<u32>,
	/// Elements, row-major.
	pub data: ConstData,
}

/// An operator applied to earlier values.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, PartialEq, Debug)]
pub struct Node {
	/// What it computes.
	pub op: Op,
	/// The values it reads, by number.
	pub inputs: Vec<u32>,
}

/// A graph output: the job's output tensor of this name.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct Output {
	/// The tensor's name.
	pub name: Vec<u8>,
	/// The value it is, by number.
	pub value: u32,
}

/// Padding of a 2-D window (convolution, pooling).
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Pads {
	/// `[top, left, bottom, right]`.
	Explicit([u32; 4]),
	/// As much as keeps `ceil(size / stride)` outputs, the odd one at the end.
	SameUpper,
	/// As much as keeps `ceil(size / stride)` outputs, the odd one at the start.
	SameLower,
}

/// A model in the interpreter's form.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, PartialEq, Debug)]
pub struct Graph {
	/// [`FORMAT_VERSION`].
	pub version: u8,
	/// Inputs, values `0..inputs.len()`.
	pub inputs: Vec<Input>,
	/// Constants, the values after the inputs.
	pub constants: Vec<Constant>,
	/// Operators in the order they run; each one's outputs are the next
	/// values.
	pub nodes: Vec<Node>,
	/// Outputs.
	pub outputs: Vec<Output>,
}

impl Graph {
	/// Number of values: inputs, constants and every node's outputs.
	pub fn value_count(&self) -> usize {
		self.inputs.len()
			+ self.constants.len()
			+ self.nodes.iter().map(|n| n.op.output_count()).sum::<usize>()
	}

	/// Number of parameters: the elements of every constant.
	pub fn parameter_count(&self) -> u64 {
		self.constants.iter().map(|c| c.data.len() as u64).sum::<u64>()
			+ self.nodes.iter().map(|n| n.op.parameter_count()).sum::<u64>()
	}

	/// Checks the rules of the format: the version, every value used after
	/// it exists, arities, constants whose data fits their shape, outputs
	/// and names unique, operators' own attributes (trees: indices in
	/// range, no cycle). A graph that passes can be planned and run without
	/// an index going out of range.
	pub fn check(&self) -> Result<()> {
		if self.version != FORMAT_VERSION {
			return Err(Error::Malformed("unknown format version"));
		}
		if self.outputs.is_empty() {
			return Err(Error::Malformed("no outputs"));
		}
		for (i, input) in self.inputs.iter().enumerate() {
			if self.inputs[..i].iter().any(|o| o.name == input.name) {
				return Err(Error::Malformed("two inputs share a name"));
			}
		}
		for (i, output) in self.outputs.iter().enumerate() {
			if self.outputs[..i].iter().any(|o| o.name == output.name) {
				return Err(Error::Malformed("two outputs share a name"));
			}
		}
		for c in &self.constants {
			let n = c.shape.iter().try_fold(1u64, |acc, d| acc.checked_mul(u64::from(*d)));
			if n != Some(c.data.len() as u64) {
				return Err(Error::Malformed("a constant's data does not fit its shape"));
			}
		}
		let mut defined = self.inputs.len() + self.constants.len();
		for node in &self.nodes {
			if node.inputs.iter().any(|v| *v as usize >= defined) {
				return Err(Error::Malformed("a node reads a value not yet computed"));
			}
			let (least, most) = node.op.arity();
			if node.inputs.len() < least || node.inputs.len() > most {
				return Err(Error::Malformed("a node has the wrong number of inputs"));
			}
			node.op.check()?;
			defined += node.op.output_count();
		}
		if self.outputs.iter().any(|o| o.value as usize >= defined) {
			return Err(Error::Malformed("an output names no value"));
		}
		Ok(())
	}

	/// Decodes and checks an encoded graph.
	pub fn decode_checked(mut bytes: &[u8]) -> Result<Graph> {
		use codec::DecodeAll;
		let graph =
			Graph::decode_all(&mut bytes).map_err(|_| Error::Malformed("not a SCALE graph"))?;
		graph.check()?;
		Ok(graph)
	}
}
