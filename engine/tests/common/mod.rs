//! ONNX protobuf builders shared by the engine's test binaries.

#![allow(dead_code)]

use tract_onnx::pb::{self, tensor_proto::DataType};

/// An int64 vector initializer `name`.
pub fn i64_tensor(name: &str, values: &[i64]) -> pb::TensorProto {
	pb::TensorProto {
		name: name.into(),
		dims: vec![values.len() as i64],
		data_type: DataType::Int64 as i32,
		int64_data: values.to_vec(),
		..Default::default()
	}
}

/// A model around `graph`, importing `opset` of the default domain and
/// the ai.onnx.ml domain.
pub fn model(graph: pb::GraphProto, opset: i64) -> pb::ModelProto {
	pb::ModelProto {
		ir_version: 8,
		opset_import: vec![
			pb::OperatorSetIdProto { domain: String::new(), version: opset },
			pb::OperatorSetIdProto { domain: "ai.onnx.ml".into(), version: 3 },
		],
		graph: Some(graph),
		..Default::default()
	}
}
