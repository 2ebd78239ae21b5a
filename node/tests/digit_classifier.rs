//! The example dApp pallet end to end on a `--dev` node: a user asks
//! `DigitClassifier` to classify a handwritten digit; the pallet requests
//! inference from the market; the executor's offchain worker runs the real
//! model; the job settles after its challenge window; the market calls the
//! pallet back, which stores the label.
//!
//! Then consensus mode on the same node: the model with its compact graph,
//! admitted by verifiers that compile it again; a classification answered
//! in the block that includes it; a job whose output is the interpreter's,
//! run natively here, bit for bit; and a model whose uploaded graph is not
//! its compilation, rejected by admission.

mod common;

use std::time::Duration;

use common::{
	insert_inference_key,
	market::{
		argmax, digits_golden, digits_reference, models_dir, publish, publish_consensus,
		tensor_spec, tolerance, wait_for_admission, wait_for_event,
	},
	submit, Node,
};
use subxt::dynamic::{self, At, Value};
use subxt_signer::sr25519::dev;

const UNIT: u128 = 1_000_000_000_000;

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_pallet_receives_the_settled_label() {
	let mut node = Node::dev(&["--dev-block-time", "500"]);
	let (rpc, api) = node.connect(Duration::from_secs(180)).await;
	insert_inference_key(&rpc, "//Bob", dev::bob().public_key().0).await;
	// The genesis verifiers admit the model.
	for (suri, kp) in
		[("//Charlie", dev::charlie()), ("//Dave", dev::dave()), ("//Eve", dev::eve())]
	{
		insert_inference_key(&rpc, suri, kp.public_key().0).await;
	}

	let bytes = std::fs::read(models_dir().join("digits-mlp.onnx")).unwrap();
	let specs =
		(tensor_spec("x", &[None, Some(64)]), tensor_spec("probabilities", &[None, Some(10)]));
	let policy = tolerance(10_000, 100_000);
	let model =
		publish(&api, &dev::charlie(), "digits-mlp", &bytes, specs, UNIT, policy, digits_golden())
			.await;
	assert!(wait_for_admission(&api, model).await, "the verifiers admit digits-mlp");

	// Governance (sudo on the dev chain) points the classifier at the model.
	let set_model = Value::unnamed_variant(
		"DigitClassifier",
		[Value::named_variant("set_model", [("model", Value::from_bytes(model))])],
	);
	submit(&api, &dev::alice(), dynamic::transaction("Sudo", "sudo", (set_model,))).await;

	// A user classifies a held-out digit: 64 pixels, 0 to 16.
	let reference = digits_reference();
	let image = &reference.inputs[5];
	let pixels: Vec<Value> =
		(0..64).map(|i| Value::u128(image.element_f64(i).unwrap() as u128)).collect();
	submit(
		&api,
		&dev::eve(),
		dynamic::transaction(
			"DigitClassifier",
			"classify",
			(
				Value::unnamed_composite(pixels),
				Value::u128(2 * UNIT),
				Value::unnamed_variant("Optimistic", []),
			),
		),
	)
	.await;

	// The market settles the job and calls the pallet back.
	let (classified, _) = wait_for_event(
		&api,
		("DigitClassifier", "DigitClassified"),
		|f| f.at("request").and_then(|r| r.as_u128()) == Some(0),
		Duration::from_secs(120),
	)
	.await;
	let label = classified.at("label").and_then(|l| l.as_u128()).unwrap() as u32;
	assert_eq!(label, reference.labels[5], "the true digit");
	assert_eq!(label, argmax(&reference.outputs[5]), "onnxruntime's answer");

	// The label is stored with the request.
	let addr = dynamic::storage::<(u64,), Value>("DigitClassifier", "Requests");
	let at = api.at_current_block().await.unwrap();
	let request = at.storage().fetch(addr, (0u64,)).await.unwrap().decode().unwrap();
	let state = subxt::ext::scale_value::stringify::to_string(request.at("state").unwrap());
	assert_eq!(state, format!("Label ({label})"));

	consensus_mode(&api, &bytes, &reference).await;
}

/// `bytes` with a `doc_string` field appended: the same ONNX model under
/// another id (a protobuf reader merges the field in).
fn renamed(bytes: &[u8], doc: &str) -> Vec<u8> {
	let mut renamed = bytes.to_vec();
	renamed.extend([0x32, doc.len() as u8]);
	renamed.extend(doc.as_bytes());
	renamed
}

async fn consensus_mode(api: &common::Api, bytes: &[u8], reference: &common::market::Reference) {
	use codec::{Decode, Encode};
	// The digits model (under another id: `doc`) published as `family` with
	// `graph` as its consensus graph; whether admission admits it.
	let publish = |family: &'static str, bytes: Vec<u8>, graph: verity_interp::Graph| async move {
		let specs = (
			vec![tensor_spec("x", &[None, Some(64)])],
			vec![tensor_spec("probabilities", &[None, Some(10)])],
		);
		let policy = tolerance(10_000, 100_000);
		let golden = digits_golden();
		let graph = Some(graph.encode());
		let model = publish_consensus(
			api,
			&dev::charlie(),
			family,
			&bytes,
			specs,
			UNIT,
			policy,
			golden,
			graph,
		)
		.await;
		(model, wait_for_admission(api, model).await)
	};
	// The digits model with its graph, compiled as the CLI compiles it.
	let consensus_bytes = renamed(bytes, "consensus");
	let graph = verity_engine::consensus::compile(&consensus_bytes).unwrap();
	let (model, admitted) = publish("digits-consensus", consensus_bytes, graph.clone()).await;
	assert!(admitted, "the verifiers admit the compiled graph");

	// The classifier answers in the block that includes the request.
	let set_model = Value::unnamed_variant(
		"DigitClassifier",
		[Value::named_variant("set_model", [("model", Value::from_bytes(model))])],
	);
	submit(api, &dev::alice(), dynamic::transaction("Sudo", "sudo", (set_model,))).await;
	let image = &reference.inputs[7];
	let pixels: Vec<Value> =
		(0..64).map(|i| Value::u128(image.element_f64(i).unwrap() as u128)).collect();
	let events = submit(
		api,
		&dev::eve(),
		dynamic::transaction(
			"DigitClassifier",
			"classify",
			(
				Value::unnamed_composite(pixels),
				Value::u128(2 * UNIT),
				Value::unnamed_variant("Consensus", []),
			),
		),
	)
	.await;
	let label = events
		.iter()
		.map(|e| e.unwrap())
		.find(|e| e.pallet_name() == "DigitClassifier" && e.event_name() == "DigitClassified")
		.expect("classified in the block of the request")
		.decode_fields_unchecked_as::<Value>()
		.unwrap()
		.at("label")
		.and_then(|l| l.as_u128())
		.unwrap() as u32;
	assert_eq!(label, argmax(&reference.outputs[7]), "onnxruntime's answer");

	// A job of four digits: its output on chain is the interpreter's, run
	// natively here, bit for bit.
	let batch = verity_primitives::Tensor {
		name: b"x".to_vec(),
		dtype: verity_primitives::DType::Float32,
		shape: vec![4, 64],
		data: reference.inputs[8..12].iter().flat_map(|t| t.data.clone()).collect(),
	};
	let input = vec![batch.clone()].encode();
	let events = submit(
		api,
		&dev::eve(),
		dynamic::transaction(
			"Inference",
			"submit_job",
			(
				Value::from_bytes(model),
				Value::from_bytes(&input),
				Value::u128(2 * UNIT),
				Value::unnamed_variant("Consensus", []),
			),
		),
	)
	.await;
	let job = events
		.iter()
		.map(|e| e.unwrap())
		.find(|e| e.event_name() == "ConsensusJobEvaluated")
		.expect("evaluated in the block of the submission")
		.decode_fields_unchecked_as::<Value>()
		.unwrap()
		.at("job")
		.and_then(|j| j.as_u128())
		.unwrap() as u64;
	let at = api.at_current_block().await.unwrap();
	let on_chain: Vec<u8> = at
		.storage()
		.fetch(dynamic::storage::<(u64,), Vec<u8>>("Inference", "Outputs"), (job,))
		.await
		.unwrap()
		.decode()
		.unwrap();
	let limits = verity_interp::Limits { max_memory: 16 << 20 };
	let (native, _) = verity_interp::run(&graph, &[batch], &limits).unwrap();
	assert_eq!(on_chain, native.encode(), "the runtime's output is the native interpreter's");
	// The runtime API evaluates a graph without a job: the same bits again,
	// and for a graph of every operator of the interpreter (the engine's
	// consensus tests hold each against tract).
	let interpret = |graph: Vec<u8>, input: Vec<u8>| async move {
		let call = dynamic::runtime_api_call::<_, Value>(
			"InferenceApi",
			"interpret",
			(Value::from_bytes(graph), Value::from_bytes(input)),
		);
		let answer = api.at_current_block().await.unwrap().runtime_apis().call(call).await.unwrap();
		let ok = answer.at(0).and_then(|pair| pair.at(0)).expect("Ok((output, cost))");
		common::market::value_bytes(ok)
	};
	assert_eq!(interpret(graph.encode(), input.clone()).await, native.encode());
	let (every_op, x) = every_operator();
	let (native, _) = verity_interp::run(&every_op, std::slice::from_ref(&x), &limits).unwrap();
	assert_eq!(native.len(), 4);
	let in_wasm = interpret(every_op.encode(), vec![x].encode()).await;
	assert_eq!(in_wasm, native.encode(), "every operator: the runtime's WASM and native agree");
	let scores = Vec::<verity_primitives::Tensor>::decode(&mut &on_chain[..]).unwrap();
	for (row, label) in scores[0].argmax_rows().iter().zip(8..12) {
		assert_eq!(*row, argmax(&reference.outputs[label]), "digit {label}");
	}

	// A publisher uploads a graph that is not its model's compilation (one
	// weight changed): admission compiles the ONNX bytes again and rejects.
	let tampered_bytes = renamed(bytes, "tampered");
	let mut tampered = verity_engine::consensus::compile(&tampered_bytes).unwrap();
	if let verity_interp::ConstData::F32(w) = &mut tampered.constants[0].data {
		w[0] = (f32::from_bits(w[0]) + 1.0).to_bits();
	}
	let (_, admitted) = publish("digits-tampered", tampered_bytes, tampered).await;
	assert!(!admitted, "a graph that is not the model's is rejected");
}

/// One graph through every operator of the interpreter, on an input with
/// negative, zero and positive values: four outputs.
fn every_operator() -> (verity_interp::Graph, verity_primitives::Tensor) {
	use verity_interp::{
		trees::{Aggregate, Child, Cmp, Ensemble, PostTransform, TreeNode},
		ConstData, Constant, Elem, Graph, Input, Node, Op, Output, Pads,
	};
	let floats = |n: usize, k: usize| -> ConstData {
		ConstData::F32((0..n).map(|i| (((i * k) % 13) as f32 / 6.0 - 1.0).to_bits()).collect())
	};
	let node = |op: Op, inputs: &[u32]| Node { op, inputs: inputs.to_vec() };
	let window = |kernel: u32| ([kernel, kernel], [2, 2]);
	let (k2, s2) = window(2);
	let (k3, _) = window(3);
	let tree = Ensemble {
		roots: vec![Child::Node(0)],
		nodes: vec![TreeNode {
			feature: 2,
			threshold: 0.3.into(),
			cmp: Cmp::Leq,
			missing_true: true,
			if_true: Child::Leaf(0),
			if_false: Child::Leaf(1),
		}],
		leaves: vec![vec![(0, 1.0.into())], vec![(0, 2.0.into())]].into(),
		n_targets: 1,
		n_features: 3,
		base_values: vec![0.5.into()],
		aggregate: Aggregate::Sum,
		post_transform: PostTransform::Logistic,
	};
	let graph = Graph {
		version: verity_interp::FORMAT_VERSION,
		inputs: vec![Input { name: b"x".to_vec(), elem: Elem::F32 }],
		constants: vec![
			Constant { shape: vec![4, 2, 3, 3], data: floats(72, 5) },
			Constant { shape: vec![4], data: floats(4, 3) },
			Constant { shape: vec![4, 3], data: floats(12, 7) },
		],
		nodes: vec![
			node(
				Op::Conv { strides: [1, 1], dilations: [1, 1], pads: Pads::SameUpper, group: 2 },
				&[0, 1, 2],
			),
			node(Op::LeakyRelu { alpha: 0.1.into() }, &[4]),
			node(
				Op::MaxPool {
					kernel: k2,
					strides: s2,
					pads: Pads::Explicit([0; 4]),
					ceil_mode: true,
				},
				&[5],
			),
			node(
				Op::AveragePool {
					kernel: k3,
					strides: s2,
					pads: Pads::Explicit([1; 4]),
					ceil_mode: false,
					count_include_pad: true,
				},
				&[5],
			),
			node(Op::Sub, &[6, 7]),
			node(Op::Sigmoid, &[8]),
			node(Op::Tanh, &[8]),
			node(Op::Mul, &[9, 10]),
			node(Op::Exp, &[11]),
			node(Op::Log, &[12]),
			node(Op::Sqrt, &[12]),
			node(Op::Div, &[13, 14]),
			node(Op::Clip { min: Some((-0.5).into()), max: Some(0.5.into()) }, &[15]),
			node(Op::GlobalAveragePool, &[16]),
			node(Op::Flatten { axis: 1 }, &[17]),
			node(
				Op::Gemm { alpha: 1.5.into(), beta: 1.0.into(), trans_a: false, trans_b: false },
				&[18, 3],
			),
			node(Op::Softmax { axis: -1, flat: false }, &[19]),
			node(Op::Reshape { shape: vec![1, -1] }, &[16]),
			node(Op::Transpose { perm: vec![] }, &[21]),
			node(Op::MatMul, &[21, 22]),
			node(Op::Concat { axis: 1 }, &[20, 23]),
			node(Op::Relu, &[24]),
			node(Op::Add, &[25, 18]),
			node(Op::ArgMax { axis: 1, keepdims: false }, &[26]),
			node(Op::Cast { to: Elem::F32 }, &[27]),
			node(Op::Identity, &[26]),
			node(Op::TreeRegressor(tree), &[26]),
		],
		outputs: [29u32, 28, 30, 20]
			.iter()
			.enumerate()
			.map(|(i, v)| Output { name: format!("y{i}").into_bytes(), value: *v })
			.collect(),
	};
	graph.check().unwrap();
	let x = verity_primitives::Tensor {
		name: b"x".to_vec(),
		dtype: verity_primitives::DType::Float32,
		shape: vec![1, 4, 6, 6],
		data: (0..144).flat_map(|i| ((i % 9) as f32 / 4.0 - 1.0).to_le_bytes()).collect(),
	};
	(graph, x)
}
