//! Tensors as JSON, the format of the `verity` client's input and output
//! files (and of the benchmark and reference files):
//!
//! ```json
//! {"tensors":[{"name":"x","dtype":"float32","shape":[1,64],"data":[0.0, ...]}]}
//! ```
//!
//! `dtype` is one of `float32`, `float64`, `int64`, `int32`, `uint8`, `bool`;
//! `data` holds the elements in row-major order (numbers; booleans as `true`
//! and `false`). Every check a file can fail has its own [`JsonError`].

use alloc::{format, string::String, vec::Vec};
use serde_json::{json, Map, Value};

use crate::{spec::DType, tensor::Tensor};

/// Why a JSON document is not a list of tensors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError(pub String);

impl core::fmt::Display for JsonError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		f.write_str(&self.0)
	}
}

#[cfg(feature = "std")]
impl std::error::Error for JsonError {}

fn err<T>(msg: String) -> Result<T, JsonError> {
	Err(JsonError(msg))
}

/// The JSON name of a dtype.
pub fn dtype_name(dtype: DType) -> &'static str {
	match dtype {
		DType::Float32 => "float32",
		DType::Float64 => "float64",
		DType::Int64 => "int64",
		DType::Int32 => "int32",
		DType::Uint8 => "uint8",
		DType::Bool => "bool",
	}
}

/// The dtype a JSON name stands for.
pub fn parse_dtype(name: &str) -> Option<DType> {
	Some(match name {
		"float32" => DType::Float32,
		"float64" => DType::Float64,
		"int64" => DType::Int64,
		"int32" => DType::Int32,
		"uint8" => DType::Uint8,
		"bool" => DType::Bool,
		_ => return None,
	})
}

fn element(dtype: DType, v: &Value, out: &mut Vec<u8>) -> bool {
	match dtype {
		DType::Float32 => v.as_f64().map(|x| out.extend((x as f32).to_le_bytes())).is_some(),
		DType::Float64 => v.as_f64().map(|x| out.extend(x.to_le_bytes())).is_some(),
		DType::Int64 => v.as_i64().map(|x| out.extend(x.to_le_bytes())).is_some(),
		DType::Int32 => v
			.as_i64()
			.and_then(|x| i32::try_from(x).ok())
			.map(|x| out.extend(x.to_le_bytes()))
			.is_some(),
		DType::Uint8 => {
			v.as_u64().and_then(|x| u8::try_from(x).ok()).map(|x| out.push(x)).is_some()
		}
		DType::Bool => v.as_bool().map(|x| out.push(x as u8)).is_some(),
	}
}

/// One tensor from its JSON object.
pub fn tensor_from_json(v: &Value) -> Result<Tensor, JsonError> {
	let name = match v.get("name").and_then(Value::as_str) {
		Some(n) if !n.is_empty() => n,
		_ => return err("a tensor needs a non-empty \"name\"".into()),
	};
	let dtype = match v.get("dtype").and_then(Value::as_str) {
		Some(d) => match parse_dtype(d) {
			Some(d) => d,
			None => {
				return err(format!(
				"tensor {name}: unknown dtype {d:?} (float32, float64, int64, int32, uint8, bool)"
			))
			}
		},
		None => return err(format!("tensor {name}: missing \"dtype\"")),
	};
	let Some(dims) = v.get("shape").and_then(Value::as_array) else {
		return err(format!("tensor {name}: missing \"shape\" (a list of sizes)"));
	};
	let mut shape = Vec::with_capacity(dims.len());
	for d in dims {
		match d.as_u64().and_then(|d| u32::try_from(d).ok()) {
			Some(d) => shape.push(d),
			None => return err(format!("tensor {name}: shape entries must be sizes, got {d}")),
		}
	}
	let Some(values) = v.get("data").and_then(Value::as_array) else {
		return err(format!("tensor {name}: missing \"data\" (a list of elements)"));
	};
	let expected = shape.iter().try_fold(1u64, |a, d| a.checked_mul(u64::from(*d)));
	if expected != Some(values.len() as u64) {
		return err(format!(
			"tensor {name}: shape {shape:?} needs {} elements, data has {}",
			expected.map_or_else(|| String::from("too many"), |n| format!("{n}")),
			values.len()
		));
	}
	let mut data = Vec::with_capacity(values.len() * dtype.size() as usize);
	for (i, x) in values.iter().enumerate() {
		if !element(dtype, x, &mut data) {
			return err(format!("tensor {name}: element {i} ({x}) is not a {}", dtype_name(dtype)));
		}
	}
	Ok(Tensor { name: name.as_bytes().to_vec(), dtype, shape, data })
}

/// The tensors of a `{"tensors": [...]}` document.
pub fn tensors_from_json(doc: &Value) -> Result<Vec<Tensor>, JsonError> {
	let Some(list) = doc.get("tensors").and_then(Value::as_array) else {
		return err("expected an object with a \"tensors\" list".into());
	};
	list.iter().map(tensor_from_json).collect()
}

/// Parses a `{"tensors": [...]}` document.
pub fn parse_tensors(text: &str) -> Result<Vec<Tensor>, JsonError> {
	let doc: Value = serde_json::from_str(text).map_err(|e| JsonError(format!("not JSON: {e}")))?;
	tensors_from_json(&doc)
}

/// A tensor's JSON object. Elements of inconsistent tensors beyond the data
/// are left out.
pub fn tensor_to_json(t: &Tensor) -> Value {
	let n = t.data.len() / t.dtype.size() as usize;
	let data: Vec<Value> = (0..n)
		.map(|i| {
			let s = t.dtype.size() as usize;
			let b = &t.data[i * s..(i + 1) * s];
			match t.dtype {
				DType::Float32 => json!(f32::from_le_bytes(b.try_into().expect("4 bytes"))),
				DType::Float64 => json!(f64::from_le_bytes(b.try_into().expect("8 bytes"))),
				DType::Int64 => json!(i64::from_le_bytes(b.try_into().expect("8 bytes"))),
				DType::Int32 => json!(i32::from_le_bytes(b.try_into().expect("4 bytes"))),
				DType::Uint8 => json!(b[0]),
				DType::Bool => json!(b[0] != 0),
			}
		})
		.collect();
	let mut m = Map::new();
	m.insert("name".into(), json!(String::from_utf8_lossy(&t.name)));
	m.insert("dtype".into(), json!(dtype_name(t.dtype)));
	m.insert("shape".into(), json!(t.shape));
	m.insert("data".into(), Value::Array(data));
	Value::Object(m)
}

/// The `{"tensors": [...]}` document of `tensors`.
pub fn tensors_to_json(tensors: &[Tensor]) -> Value {
	json!({ "tensors": tensors.iter().map(tensor_to_json).collect::<Vec<_>>() })
}

#[cfg(test)]
mod tests {
	use super::*;
	use alloc::vec;

	#[test]
	fn every_dtype_round_trips() {
		let doc = json!({"tensors": [
			{"name": "a", "dtype": "float32", "shape": [2], "data": [1.5, -2.0]},
			{"name": "b", "dtype": "float64", "shape": [1], "data": [0.1]},
			{"name": "c", "dtype": "int64", "shape": [2], "data": [-9007199254740993i64, 3]},
			{"name": "d", "dtype": "int32", "shape": [1, 1], "data": [-7]},
			{"name": "e", "dtype": "uint8", "shape": [3], "data": [0, 128, 255]},
			{"name": "f", "dtype": "bool", "shape": [2], "data": [true, false]},
			{"name": "g", "dtype": "float32", "shape": [], "data": [4.0]}
		]});
		let tensors = tensors_from_json(&doc).unwrap();
		assert_eq!(tensors[0].data, [1.5f32.to_le_bytes(), (-2.0f32).to_le_bytes()].concat());
		assert_eq!(tensors[2].data[..8], (-9007199254740993i64).to_le_bytes());
		assert_eq!(tensors[4].data, vec![0, 128, 255]);
		assert_eq!(tensors[5].data, vec![1, 0]);
		assert!(tensors.iter().all(Tensor::is_consistent));
		assert_eq!(tensors_to_json(&tensors), doc);
	}

	#[test]
	fn bad_documents_say_what_is_wrong() {
		let e = |s: &str| parse_tensors(s).unwrap_err().0;
		assert!(e("{").starts_with("not JSON"));
		assert!(e("[]").contains("\"tensors\" list"));
		assert!(e(r#"{"tensors":[{"dtype":"float32","shape":[1],"data":[1]}]}"#).contains("name"));
		assert!(e(r#"{"tensors":[{"name":"x","dtype":"f16","shape":[1],"data":[1]}]}"#)
			.contains("unknown dtype"));
		assert!(e(r#"{"tensors":[{"name":"x","dtype":"float32","shape":[2],"data":[1]}]}"#)
			.contains("needs 2 elements, data has 1"));
		assert!(e(r#"{"tensors":[{"name":"x","dtype":"uint8","shape":[1],"data":[256]}]}"#)
			.contains("element 0 (256) is not a uint8"));
		assert!(e(r#"{"tensors":[{"name":"x","dtype":"int32","shape":[-1],"data":[]}]}"#)
			.contains("shape entries"));
		let huge = r#"{"tensors":[{"name":"x","dtype":"bool","shape":[4294967295,4294967295,4294967295],"data":[]}]}"#;
		assert!(e(huge).contains("needs too many elements"));
	}
}
