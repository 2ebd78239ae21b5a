//! A 16 MiB model goes on-chain through a `--dev` node and comes back byte for
//! byte through the `ModelRegistryApi` runtime API.

mod common;

use std::time::Duration;

use common::{market::tensor_spec as tensor, submit, Node};
use subxt::dynamic::{self, Value};
use subxt_signer::sr25519::dev;

const MIB: usize = 1024 * 1024;

fn fake_model(len: usize) -> Vec<u8> {
	let mut x: u64 = 0x2545_F491_4F6C_DD1D;
	(0..len)
		.map(|_| {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			x as u8
		})
		.collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_16_mib_model_round_trips_through_the_chain() {
	let mut node = Node::dev(&["--dev-block-time", "500"]);
	let (_rpc, api) = node.connect(Duration::from_secs(180)).await;
	let alice = dev::alice();

	let bytes = fake_model(16 * MIB);
	let id = sp_crypto_hashing::blake2_256(&bytes);
	let spec = Value::named_composite([
		("family", Value::from_bytes("big-model")),
		("version", Value::named_composite([("major", Value::u128(1)), ("minor", Value::u128(0))])),
		("size", Value::u128(bytes.len() as u128)),
		("inputs", Value::unnamed_composite([tensor("x", &[None, Some(64)])])),
		("outputs", Value::unnamed_composite([tensor("y", &[None, Some(10)])])),
		("price", Value::u128(1_000_000_000)),
		("challenge_period", Value::u128(10)),
		("policy", Value::unnamed_variant("ArgMax", [])),
		("max_batch", Value::u128(16)),
	]);

	submit(
		&api,
		&alice,
		dynamic::transaction("ModelRegistry", "register", (Value::from_bytes(id), spec)),
	)
	.await;
	// The golden vector the last chunk needs (admission is not run here: no
	// verifier keys in this node).
	let golden = |name: &str, n: u32| {
		codec::Encode::encode(&vec![verity_primitives::Tensor {
			name: name.as_bytes().to_vec(),
			dtype: verity_primitives::DType::Float32,
			shape: vec![1, n],
			data: vec![0; n as usize * 4],
		}])
	};
	submit(
		&api,
		&alice,
		dynamic::transaction(
			"ModelRegistry",
			"add_golden_vector",
			(
				Value::from_bytes(id),
				Value::from_bytes(golden("x", 64)),
				Value::from_bytes(golden("y", 10)),
			),
		),
	)
	.await;
	let mut activated = false;
	for (index, chunk) in bytes.chunks(MIB).enumerate() {
		let events = submit(
			&api,
			&alice,
			dynamic::transaction(
				"ModelRegistry",
				"upload_chunk",
				(Value::from_bytes(id), Value::u128(index as u128), Value::from_bytes(chunk)),
			),
		)
		.await;
		activated |= events.iter().any(|e| e.unwrap().event_name() == "UploadCompleted");
	}
	assert!(activated, "the last chunk completes the upload (admission follows)");

	let at = api.at_current_block().await.unwrap();
	let mut read_back = Vec::with_capacity(bytes.len());
	for index in 0u32.. {
		let call = dynamic::runtime_api_call::<_, Option<Vec<u8>>>(
			"ModelRegistryApi",
			"model_chunk",
			(Value::from_bytes(id), Value::u128(index as u128)),
		);
		match at.runtime_apis().call(call).await.unwrap() {
			Some(chunk) => read_back.extend_from_slice(&chunk),
			None => break,
		}
	}
	assert_eq!(read_back.len(), bytes.len());
	assert!(read_back == bytes, "bytes read back differ from those uploaded");
}
