//! What can go wrong.

/// Why a graph cannot be built, planned or run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
	/// The graph breaks a rule of the format (an index out of range, a
	/// value used before it exists, a tree with a cycle, a wrong arity...).
	Malformed(&'static str),
	/// The graph uses something outside the interpreter's subset (the
	/// compiler's refusal: an operator, an attribute value, an element type).
	Unsupported(&'static str),
	/// The inputs are not the graph's (a missing or extra name, a wrong
	/// element type, data that does not fit the shape).
	InputMismatch,
	/// An operator's inputs have shapes it cannot combine.
	ShapeMismatch(&'static str),
	/// A shape overflows, or the values alive at some point would take more
	/// memory than the caller's [`crate::Limits`] allow.
	TooLarge,
	/// An integer division by zero.
	DivisionByZero,
}

impl core::fmt::Display for Error {
	fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
		match self {
			Error::Malformed(what) => write!(f, "malformed graph: {what}"),
			Error::Unsupported(what) => write!(f, "outside the consensus subset: {what}"),
			Error::InputMismatch => write!(f, "the inputs do not match the graph's"),
			Error::ShapeMismatch(what) => write!(f, "shapes do not fit: {what}"),
			Error::TooLarge => write!(f, "the model's values would exceed the memory limit"),
			Error::DivisionByZero => write!(f, "integer division by zero"),
		}
	}
}

/// Result of the crate's operations.
pub type Result<T> = core::result::Result<T, Error>;
