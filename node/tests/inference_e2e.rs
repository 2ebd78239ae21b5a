//! End to end on the real `verity-node`, with real ONNX models and the real
//! engine behind the host functions:
//! (a) a job runs, its output matches onnxruntime's, and it settles with
//!     every balance moving exactly;
//! (b) a faulty executor (`--inference-fault always`) is challenged, the
//!     verifier committee re-executes, the executor is slashed and the
//!     requester refunded;
//! (c) hostile models (random bytes; an Expand to 2^34 elements) fail cleanly
//!     with an event, and the node keeps producing blocks.

mod common;

use std::{collections::HashMap, time::Duration};

use codec::Encode;
use common::{
	insert_inference_key,
	market::{
		account_of, argmax, digits_reference, models_dir, publish, tensor_spec, tolerance,
		value_bytes, wait_for_job_event,
	},
	submit, Api, Node,
};
use subxt::{
	dynamic::{self, At, Value},
	ext::scale_decode::{self, DecodeAsType},
};
use subxt_signer::sr25519::{dev, Keypair};
use verity_primitives::{decode_tensors, outputs_agree, DType, Tensor, VerificationPolicy};

const STARTUP: Duration = Duration::from_secs(180);
const UNIT: u128 = 1_000_000_000_000;
const MILLI: u128 = UNIT / 1000;
const PRICE: u128 = UNIT;
const EXECUTOR_FEE: u128 = 20 * MILLI;
const PROTOCOL_FEE: u128 = 2 * MILLI;
const FEE: u128 = PRICE + EXECUTOR_FEE + PROTOCOL_FEE;
/// Tolerance of the digits model: 1e-5 absolute, 1e-4 relative (9 decimals).
const ABS: u64 = 10_000;
const REL: u64 = 100_000;

async fn publish_digits(api: &Api, publisher: &Keypair) -> [u8; 32] {
	let bytes = std::fs::read(models_dir().join("digits-mlp.onnx")).unwrap();
	let specs =
		(tensor_spec("x", &[None, Some(64)]), tensor_spec("probabilities", &[None, Some(10)]));
	publish(api, publisher, "digits-mlp", &bytes, specs, PRICE, tolerance(ABS, REL)).await
}

/// Submits a job; returns its id and the block number it was included in.
async fn submit_job(api: &Api, requester: &Keypair, model: [u8; 32], input: &Tensor) -> u64 {
	let events = submit(
		api,
		requester,
		dynamic::transaction(
			"Inference",
			"submit_job",
			(
				Value::from_bytes(model),
				Value::from_bytes(vec![input.clone()].encode()),
				Value::u128(FEE * 2),
				Value::unnamed_variant("Optimistic", []),
			),
		),
	)
	.await;
	let submitted = events
		.iter()
		.map(|e| e.unwrap())
		.find(|e| e.event_name() == "JobSubmitted")
		.expect("a JobSubmitted event");
	let fields = submitted.decode_fields_unchecked_as::<Value>().unwrap();
	fields.at("job").and_then(|v| v.as_u128()).unwrap() as u64
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct AccountInfo {
	data: AccountData,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct AccountData {
	free: u128,
	reserved: u128,
}

async fn balance(api: &Api, who: &Keypair) -> (u128, u128) {
	let addr = dynamic::storage::<([u8; 32],), AccountInfo>("System", "Account");
	let at = api.at_current_block().await.unwrap();
	let info = at.storage().fetch(addr, (who.public_key().0,)).await.unwrap().decode().unwrap();
	(info.data.free, info.data.reserved)
}

/// Transaction fees each account paid in blocks `from..=to`.
async fn fees_paid(api: &Api, from: u64, to: u64) -> HashMap<[u8; 32], u128> {
	let mut paid = HashMap::new();
	for n in from..=to {
		let at = api.at_block(n).await.unwrap();
		for ev in at.events().fetch().await.unwrap().iter() {
			let ev = ev.unwrap();
			if ev.pallet_name() == "TransactionPayment" && ev.event_name() == "TransactionFeePaid" {
				let f = ev.decode_fields_unchecked_as::<Value>().unwrap();
				let who: [u8; 32] = account_of(f.at("who").unwrap());
				*paid.entry(who).or_default() +=
					f.at("actual_fee").and_then(|v| v.as_u128()).unwrap();
			}
		}
	}
	paid
}

async fn job_output(api: &Api, job: u64) -> Vec<Tensor> {
	let call =
		dynamic::runtime_api_call::<_, Value>("InferenceApi", "job", (Value::u128(job as u128),));
	let v = api.at_current_block().await.unwrap().runtime_apis().call(call).await.unwrap();
	// Some((job, Some(output)))
	let out = v.at(0).and_then(|pair| pair.at(1)).and_then(|o| o.at(0)).expect("job has an output");
	let bytes = value_bytes(out);
	decode_tensors(&bytes).expect("output is tensors")
}

fn policy() -> VerificationPolicy {
	VerificationPolicy::Tolerance {
		abs: sp_arithmetic::FixedU64::from_inner(ABS),
		rel: sp_arithmetic::FixedU64::from_inner(REL),
	}
}

/// Both genesis executors (Alice, Bob) are served by this node.
async fn serve_executors(rpc: &subxt::rpcs::RpcClient) {
	insert_inference_key(rpc, "//Bob", dev::bob().public_key().0).await;
}

/// The four genesis verifiers are served by this node too.
async fn serve_verifiers(rpc: &subxt::rpcs::RpcClient) {
	for (suri, kp) in [
		("//Charlie", dev::charlie()),
		("//Dave", dev::dave()),
		("//Eve", dev::eve()),
		("//Ferdie", dev::ferdie()),
	] {
		insert_inference_key(rpc, suri, kp.public_key().0).await;
	}
}

fn executor_keypair(id: [u8; 32]) -> Keypair {
	if id == dev::alice().public_key().0 {
		dev::alice()
	} else {
		assert_eq!(id, dev::bob().public_key().0, "jobs go to the genesis executors");
		dev::bob()
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_matches_onnxruntime_and_settles_with_exact_balances() {
	let mut node = Node::dev(&["--dev-block-time", "1000"]);
	let (rpc, api) = node.connect(STARTUP).await;
	serve_executors(&rpc).await;
	let (publisher, requester) = (dev::charlie(), dev::eve());
	let model = publish_digits(&api, &publisher).await;
	let reference = digits_reference();

	let start = api.at_current_block().await.unwrap().block_number();
	let publisher_before = balance(&api, &publisher).await.0;
	let requester_before = balance(&api, &requester).await.0;
	let job = submit_job(&api, &requester, model, &reference.inputs[0]).await;

	let (result, _) =
		wait_for_job_event(&api, job, "ResultSubmitted", Duration::from_secs(90)).await;
	let executor = executor_keypair(account_of(result.at("executor").unwrap()));
	let output = job_output(&api, job).await;
	assert!(
		outputs_agree(&policy(), &output, &[reference.outputs[0].clone()]),
		"engine output differs from onnxruntime's: {output:?}"
	);
	assert_eq!(argmax(&output[0]), reference.labels[0], "the digit is recognised");
	let executor_before_settle = balance(&api, &executor).await.0;

	let (_, settled_at) =
		wait_for_job_event(&api, job, "JobSettled", Duration::from_secs(60)).await;
	let fees = fees_paid(&api, start, settled_at).await;
	let fee_of = |k: &Keypair| fees.get(&k.public_key().0).copied().unwrap_or(0);

	assert_eq!(balance(&api, &requester).await.0, requester_before - FEE - fee_of(&requester));
	assert_eq!(balance(&api, &publisher).await.0, publisher_before + PRICE);
	// The executor's result transaction was paid before `executor_before_settle`.
	assert_eq!(balance(&api, &executor).await.0, executor_before_settle + EXECUTOR_FEE);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_faulty_executor_is_challenged_and_slashed() {
	let mut node = Node::dev(&["--dev-block-time", "1000", "--inference-fault", "always"]);
	let (rpc, api) = node.connect(STARTUP).await;
	serve_executors(&rpc).await;
	serve_verifiers(&rpc).await;
	let (publisher, requester, challenger) = (dev::charlie(), dev::eve(), dev::ferdie());
	let model = publish_digits(&api, &publisher).await;
	let reference = digits_reference();

	let requester_before = balance(&api, &requester).await.0;
	let start = api.at_current_block().await.unwrap().block_number();
	let job = submit_job(&api, &requester, model, &reference.inputs[1]).await;
	let (result, _) =
		wait_for_job_event(&api, job, "ResultSubmitted", Duration::from_secs(90)).await;
	let executor = executor_keypair(account_of(result.at("executor").unwrap()));
	let output = job_output(&api, job).await;
	assert!(
		!outputs_agree(&policy(), &output, &[reference.outputs[1].clone()]),
		"the fault took effect"
	);

	// A watcher compares with its own reference and challenges.
	let stake_before = executor_stake(&api, &executor).await;
	let challenger_before = balance(&api, &challenger).await.0;
	submit(
		&api,
		&challenger,
		dynamic::transaction(
			"Inference",
			"challenge",
			(Value::u128(job as u128), Value::u128(10 * UNIT)),
		),
	)
	.await;
	let (resolved, _) =
		wait_for_job_event(&api, job, "DisputeResolved", Duration::from_secs(120)).await;
	let (_, failed_at) = wait_for_job_event(&api, job, "JobFailed", Duration::from_secs(30)).await;
	let fees = fees_paid(&api, start, failed_at).await;
	let fee_of = |k: &Keypair| fees.get(&k.public_key().0).copied().unwrap_or(0);

	let slash = stake_before / 10;
	assert_eq!(executor_stake(&api, &executor).await, stake_before - slash);
	assert_eq!(balance(&api, &requester).await.0, requester_before - fee_of(&requester));
	// Bond back, plus 20 % of the slash.
	assert_eq!(
		balance(&api, &challenger).await.0,
		challenger_before + slash / 5 - fee_of(&challenger)
	);
	let outcome = subxt::ext::scale_value::stringify::to_string(resolved.at("outcome").unwrap());
	assert!(outcome.contains("ExecutorWrong"), "{outcome}");
}

async fn executor_stake(api: &Api, who: &Keypair) -> u128 {
	let addr = dynamic::storage::<([u8; 32],), Value>("Inference", "Executors");
	let at = api.at_current_block().await.unwrap();
	let info = at.storage().fetch(addr, (who.public_key().0,)).await.unwrap().decode().unwrap();
	info.at("stake").and_then(|s| s.as_u128()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_models_fail_cleanly_and_the_node_lives_on() {
	let mut node = Node::dev(&["--dev-block-time", "1000"]);
	let (rpc, api) = node.connect(STARTUP).await;
	serve_executors(&rpc).await;
	serve_verifiers(&rpc).await;
	let publisher = dev::charlie();
	let requester = dev::eve();

	let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
	let expand = std::fs::read(models_dir().join("hostile-expand.onnx")).unwrap();
	let cases = [("garbage", garbage), ("expand", expand)];
	for (family, bytes) in cases {
		let specs = (tensor_spec("x", &[Some(1)]), tensor_spec("y", &[None]));
		let model =
			publish(&api, &publisher, family, &bytes, specs, PRICE, tolerance(ABS, REL)).await;
		let input = Tensor {
			name: b"x".to_vec(),
			dtype: DType::Float32,
			shape: vec![1],
			data: 1f32.to_le_bytes().to_vec(),
		};
		let job = submit_job(&api, &requester, model, &input).await;
		let (resolved, _) =
			wait_for_job_event(&api, job, "DisputeResolved", Duration::from_secs(120)).await;
		let outcome =
			subxt::ext::scale_value::stringify::to_string(resolved.at("outcome").unwrap());
		assert!(outcome.contains("ModelUnrunnable"), "{family}: {outcome}");
		let (failed, _) = wait_for_job_event(&api, job, "JobFailed", Duration::from_secs(30)).await;
		let reason = subxt::ext::scale_value::stringify::to_string(failed.at("reason").unwrap());
		assert!(reason.contains("ModelUnrunnable"), "{family}: {reason}");
	}
	// The node is alive and still producing blocks.
	let before = api.at_current_block().await.unwrap().block_number();
	tokio::time::sleep(Duration::from_secs(4)).await;
	assert!(api.at_current_block().await.unwrap().block_number() > before);
}
