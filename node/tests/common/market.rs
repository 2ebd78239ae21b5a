//! Driving the market from tests: the bundled models and reference outputs,
//! publishing a model, and waiting for events.

use std::{path::PathBuf, time::Duration};

use subxt::dynamic::{self, At, Value};
use subxt_signer::sr25519::Keypair;
use verity_primitives::{json::tensor_from_json, Tensor};

use codec::Encode;
use verity_primitives::VerificationPolicy;

use super::{submit, Api};

/// One VRT.
pub const UNIT: u128 = 1_000_000_000_000;
const MILLI: u128 = UNIT / 1000;
/// The price the tests publish the digits model at.
pub const PRICE: u128 = UNIT;
/// The runtime's `ExecutorFee`.
pub const EXECUTOR_FEE: u128 = 20 * MILLI;
/// The runtime's `ProtocolFee` (optimistic jobs).
pub const PROTOCOL_FEE: u128 = 2 * MILLI;
/// The runtime's `AuditReward`: paid to an auditor whose output agrees.
pub const AUDIT_REWARD: u128 = 20 * MILLI;
/// What an optimistic job on the digits model costs before its audit
/// premium (`AUDIT_REWARD` times the audit rate; all of it at rate 100 %).
pub const FEE: u128 = PRICE + EXECUTOR_FEE + PROTOCOL_FEE;
/// Tolerance of the digits model: 1e-5 absolute, 1e-4 relative (9 decimals).
pub const ABS: u64 = 10_000;
/// See [`ABS`].
pub const REL: u64 = 100_000;

/// The digits model's policy, as published by [`publish_digits`].
pub fn digits_policy() -> VerificationPolicy {
	VerificationPolicy::Tolerance {
		abs: sp_arithmetic::FixedU64::from_inner(ABS),
		rel: sp_arithmetic::FixedU64::from_inner(REL),
	}
}

/// The repository's `models/` directory.
pub fn models_dir() -> PathBuf {
	std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
}

/// Held-out digits, their labels, and onnxruntime's outputs for them.
pub struct Reference {
	/// One `x` tensor `[1, 64]` per image.
	pub inputs: Vec<Tensor>,
	/// The true digits.
	pub labels: Vec<u32>,
	/// onnxruntime's `probabilities` `[1, 10]` per image.
	pub outputs: Vec<Tensor>,
}

/// The digits reference (`models/digits-mlp.reference.json`), one image per entry.
pub fn digits_reference() -> Reference {
	let doc: serde_json::Value = serde_json::from_str(
		&std::fs::read_to_string(models_dir().join("digits-mlp.reference.json")).unwrap(),
	)
	.unwrap();
	let all_in = tensor_from_json(&doc["input"]).unwrap();
	let all_out = tensor_from_json(&doc["outputs"][0]).unwrap();
	let rows = all_in.shape[0] as usize;
	let split = |t: &Tensor| -> Vec<Tensor> {
		let row = t.data.len() / rows;
		(0..rows)
			.map(|i| Tensor {
				name: t.name.clone(),
				dtype: t.dtype,
				shape: vec![1, t.shape[1]],
				data: t.data[i * row..(i + 1) * row].to_vec(),
			})
			.collect()
	};
	Reference {
		inputs: split(&all_in),
		labels: doc["labels"]
			.as_array()
			.unwrap()
			.iter()
			.map(|l| l.as_u64().unwrap() as u32)
			.collect(),
		outputs: split(&all_out),
	}
}

/// A float32 tensor spec; `None` is the batch dimension.
pub fn tensor_spec(name: &str, dims: &[Option<u32>]) -> Value {
	typed_spec(name, "Float32", dims)
}

/// A tensor spec of element type `dtype` (`Float32`, `Int64`, ...).
pub fn typed_spec(name: &str, dtype: &str, dims: &[Option<u32>]) -> Value {
	let shape = dims.iter().map(|d| match d {
		None => Value::unnamed_variant("Batch", []),
		Some(n) => Value::unnamed_variant("Fixed", [Value::u128(*n as u128)]),
	});
	Value::named_composite([
		("name", Value::from_bytes(name)),
		("dtype", Value::unnamed_variant(dtype, [])),
		("shape", Value::unnamed_composite(shape)),
	])
}

/// The `Tolerance` policy with `abs` and `rel` in billionths.
pub fn tolerance(abs: u64, rel: u64) -> Value {
	Value::named_variant(
		"Tolerance",
		[("abs", Value::u128(abs as u128)), ("rel", Value::u128(rel as u128))],
	)
}

/// Registers `bytes` as release 1.0 of `family` (challenge period 5 blocks)
/// with one golden vector (`golden`: SCALE-encoded input and expected output)
/// and uploads it; returns its id. The model then awaits admission
/// ([`wait_for_admission`]).
pub async fn publish(
	api: &Api,
	publisher: &Keypair,
	family: &str,
	bytes: &[u8],
	(inputs, outputs): (Value, Value),
	price: u128,
	policy: Value,
	golden: (Vec<u8>, Vec<u8>),
) -> [u8; 32] {
	publish_with(
		api,
		publisher,
		family,
		bytes,
		(vec![inputs], vec![outputs]),
		price,
		policy,
		golden,
	)
	.await
}

/// [`publish`] for a model of several inputs or outputs.
#[allow(clippy::too_many_arguments)]
pub async fn publish_with(
	api: &Api,
	publisher: &Keypair,
	family: &str,
	bytes: &[u8],
	specs: (Vec<Value>, Vec<Value>),
	price: u128,
	policy: Value,
	golden: (Vec<u8>, Vec<u8>),
) -> [u8; 32] {
	publish_consensus(api, publisher, family, bytes, specs, price, policy, golden, None).await
}

/// [`publish_with`], giving the model the consensus `graph` (encoded) before
/// its bytes when there is one.
#[allow(clippy::too_many_arguments)]
pub async fn publish_consensus(
	api: &Api,
	publisher: &Keypair,
	family: &str,
	bytes: &[u8],
	(inputs, outputs): (Vec<Value>, Vec<Value>),
	price: u128,
	policy: Value,
	golden: (Vec<u8>, Vec<u8>),
	graph: Option<Vec<u8>>,
) -> [u8; 32] {
	let id = sp_crypto_hashing::blake2_256(bytes);
	let spec = Value::named_composite([
		("family", Value::from_bytes(family)),
		("version", Value::named_composite([("major", Value::u128(1)), ("minor", Value::u128(0))])),
		("size", Value::u128(bytes.len() as u128)),
		("inputs", Value::unnamed_composite(inputs)),
		("outputs", Value::unnamed_composite(outputs)),
		("price", Value::u128(price)),
		("challenge_period", Value::u128(10)),
		("policy", policy),
		("max_batch", Value::u128(16)),
	]);
	submit(
		api,
		publisher,
		dynamic::transaction("ModelRegistry", "register", (Value::from_bytes(id), spec)),
	)
	.await;
	submit(
		api,
		publisher,
		dynamic::transaction(
			"ModelRegistry",
			"add_golden_vector",
			(Value::from_bytes(id), Value::from_bytes(golden.0), Value::from_bytes(golden.1)),
		),
	)
	.await;
	if let Some(graph) = graph {
		submit(
			api,
			publisher,
			dynamic::transaction(
				"ModelRegistry",
				"set_consensus_graph",
				(Value::from_bytes(id), Value::from_bytes(graph)),
			),
		)
		.await;
	}
	for (index, chunk) in bytes.chunks(1024 * 1024).enumerate() {
		submit(
			api,
			publisher,
			dynamic::transaction(
				"ModelRegistry",
				"upload_chunk",
				(Value::from_bytes(id), Value::u128(index as u128), Value::from_bytes(chunk)),
			),
		)
		.await;
	}
	id
}

/// Waits until the verifiers decide model `id`'s admission; returns whether
/// they admitted it. The node must hold the verifiers' keys.
pub async fn wait_for_admission(api: &Api, id: [u8; 32]) -> bool {
	let (decided, _) = wait_for_event(
		api,
		("Inference", "AdmissionDecided"),
		|f| f.at("model").is_some_and(|m| value_bytes(m) == id),
		Duration::from_secs(120),
	)
	.await;
	decided.at("admitted").and_then(|v| v.as_bool()) == Some(true)
}

/// The golden vector of the digits model: the first held-out image and
/// onnxruntime's output for it.
pub fn digits_golden() -> (Vec<u8>, Vec<u8>) {
	use codec::Encode;
	let reference = digits_reference();
	(vec![reference.inputs[0].clone()].encode(), vec![reference.outputs[0].clone()].encode())
}

/// Waits for an event `pallet.name` whose fields satisfy `matches`, scanning
/// finalized blocks from a few before the current one; returns its fields and
/// block number.
pub async fn wait_for_event(
	api: &Api,
	event: (&str, &str),
	matches: impl Fn(&Value) -> bool,
	timeout: Duration,
) -> (Value, u64) {
	let from = api.at_current_block().await.unwrap().block_number().saturating_sub(5);
	wait_for_event_since(api, event, matches, from, timeout).await
}

/// [`wait_for_event`], looking at every block from `from` on.
pub async fn wait_for_event_since(
	api: &Api,
	(pallet, name): (&str, &str),
	matches: impl Fn(&Value) -> bool,
	from: u64,
	timeout: Duration,
) -> (Value, u64) {
	let deadline = std::time::Instant::now() + timeout;
	let mut next = from;
	loop {
		let head = api.at_current_block().await.unwrap().block_number();
		while next <= head {
			let at = api.at_block(next).await.unwrap();
			for ev in at.events().fetch().await.unwrap().iter() {
				let ev = ev.unwrap();
				if ev.pallet_name() == pallet && ev.event_name() == name {
					let fields = ev.decode_fields_unchecked_as::<Value>().unwrap();
					if matches(&fields) {
						return (fields, next);
					}
				}
			}
			next += 1;
		}
		assert!(std::time::Instant::now() < deadline, "no {pallet}.{name} within {timeout:?}");
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

/// Waits for an `Inference` event `name` about `job`.
pub async fn wait_for_job_event(
	api: &Api,
	job: u64,
	name: &str,
	timeout: Duration,
) -> (Value, u64) {
	let is_job = |f: &Value| f.at("job").and_then(|v| v.as_u128()) == Some(job as u128);
	wait_for_event(api, ("Inference", name), is_job, timeout).await
}

/// [`wait_for_job_event`], looking at every block from `from` on.
pub async fn wait_for_job_event_since(
	api: &Api,
	job: u64,
	name: &str,
	from: u64,
	timeout: Duration,
) -> (Value, u64) {
	let is_job = |f: &Value| f.at("job").and_then(|v| v.as_u128()) == Some(job as u128);
	wait_for_event_since(api, ("Inference", name), is_job, from, timeout).await
}

/// The bytes of a SCALE value that is (nested composites of) bytes, such as
/// an account id or a `Vec<u8>`.
pub fn value_bytes(v: &Value) -> Vec<u8> {
	use subxt::ext::scale_value::{Composite, ValueDef};
	match &v.value {
		ValueDef::Composite(Composite::Unnamed(vals)) => {
			vals.iter().flat_map(value_bytes).collect()
		}
		ValueDef::Composite(Composite::Named(vals)) => {
			vals.iter().flat_map(|(_, x)| value_bytes(x)).collect()
		}
		_ => vec![v.as_u128().expect("a byte") as u8],
	}
}

/// An account id value's 32 bytes.
pub fn account_of(v: &Value) -> [u8; 32] {
	value_bytes(v).try_into().expect("32 bytes")
}

/// Index of the largest element (primitives' rule: ties to the lower index).
pub fn argmax(t: &Tensor) -> u32 {
	let values: Vec<f64> = (0..t.data.len() / t.dtype.size() as usize)
		.map(|i| t.element_f64(i).expect("in range"))
		.collect();
	verity_primitives::argmax(&values).expect("a non-empty tensor") as u32
}

/// Publishes the digits model and waits for the verifiers to admit it (the
/// node must serve them).
pub async fn publish_digits(api: &Api, publisher: &Keypair) -> [u8; 32] {
	let bytes = std::fs::read(models_dir().join("digits-mlp.onnx")).unwrap();
	let specs =
		(tensor_spec("x", &[None, Some(64)]), tensor_spec("probabilities", &[None, Some(10)]));
	let policy = tolerance(ABS, REL);
	let id =
		publish(api, publisher, "digits-mlp", &bytes, specs, PRICE, policy, digits_golden()).await;
	assert!(wait_for_admission(api, id).await, "the verifiers admit digits-mlp");
	id
}

/// Submits a job; returns its id and the block number it was included in.
pub async fn submit_job(api: &Api, requester: &Keypair, model: [u8; 32], input: &Tensor) -> u64 {
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

/// Governance (the sudo key, Alice's on the dev and local chains) sets the
/// chain-wide audit rate to `parts_per_billion`.
pub async fn set_audit_rate(api: &Api, parts_per_billion: u128) {
	let call = Value::unnamed_variant(
		"Inference",
		[Value::named_variant(
			"set_audit_rate",
			[
				("model", Value::unnamed_variant("None", [])),
				("rate", Value::unnamed_variant("Some", [Value::u128(parts_per_billion)])),
			],
		)],
	);
	let alice = subxt_signer::sr25519::dev::alice();
	submit(api, &alice, dynamic::transaction("Sudo", "sudo", (call,))).await;
}

/// `//<name>//stash`: a funded dev account that no node signs for, so that
/// no offchain worker uses its nonces while a test sends with it.
pub fn stash(name: &str) -> Keypair {
	Keypair::from_uri(&format!("//{name}//stash").parse().unwrap()).unwrap()
}

/// Gives the node of `rpc` the `vrty` keys of Bob (an executor; `--dev`
/// already serves Alice) and of the four genesis verifiers.
pub async fn serve_market(rpc: &subxt::rpcs::RpcClient) {
	use subxt_signer::sr25519::dev;
	for (suri, kp) in [
		("//Bob", dev::bob()),
		("//Charlie", dev::charlie()),
		("//Dave", dev::dave()),
		("//Eve", dev::eve()),
		("//Ferdie", dev::ferdie()),
	] {
		super::insert_inference_key(rpc, suri, kp.public_key().0).await;
	}
}

/// `who` challenges `job`'s result with the chain's bond (10 VRT).
pub async fn challenge(api: &Api, who: &Keypair, job: u64) {
	submit(
		api,
		who,
		dynamic::transaction(
			"Inference",
			"challenge",
			(Value::u128(job as u128), Value::u128(10 * UNIT)),
		),
	)
	.await;
}

/// The runtime API's check of the market's invariants at the best block:
/// `Err` with the first broken one.
pub async fn check_invariants(api: &Api) -> Result<(), String> {
	let call = dynamic::runtime_api_call::<_, Value>("InferenceApi", "check_invariants", ());
	let v = api.at_current_block().await.unwrap().runtime_apis().call(call).await.unwrap();
	let text = subxt::ext::scale_value::stringify::to_string(&v);
	if text.starts_with("Ok") {
		Ok(())
	} else {
		Err(text)
	}
}

/// The value of storage item `pallet::item` (a plain value, no key) at
/// block `at` (the current block if `None`).
pub async fn storage_value(api: &Api, at: Option<u64>, pallet: &str, item: &str) -> Value {
	let at = match at {
		Some(n) => api.at_block(n).await.unwrap(),
		None => api.at_current_block().await.unwrap(),
	};
	at.storage()
		.fetch(dynamic::storage::<(), Value>(pallet, item), ())
		.await
		.unwrap()
		.decode()
		.unwrap()
}

/// Every event `(pallet, name, fields)` of blocks `from..=to`.
pub async fn events_between(api: &Api, from: u64, to: u64) -> Vec<(String, String, Value)> {
	let mut all = vec![];
	for n in from..=to {
		let at = api.at_block(n).await.unwrap();
		for ev in at.events().fetch().await.unwrap().iter() {
			let ev = ev.unwrap();
			let fields = ev.decode_fields_unchecked_as::<Value>().unwrap();
			all.push((ev.pallet_name().to_string(), ev.event_name().to_string(), fields));
		}
	}
	all
}
