//! The example dApp pallet end to end on a `--dev` node: a user asks
//! `DigitClassifier` to classify a handwritten digit; the pallet requests
//! inference from the market; the executor's offchain worker runs the real
//! model; the job settles after its challenge window; the market calls the
//! pallet back, which stores the label.

mod common;

use std::time::Duration;

use common::{
	insert_inference_key,
	market::{
		argmax, digits_golden, digits_reference, models_dir, publish, tensor_spec, tolerance,
		wait_for_admission, wait_for_event,
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
}
