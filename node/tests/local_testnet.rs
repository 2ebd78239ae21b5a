//! Alice, Bob and Charlie run `--chain local` on loopback: BABE produces
//! blocks and GRANDPA finalizes them. On the same network (one per test
//! binary), executors and verifiers spread over the three nodes, each node
//! signing with its own keystore: the verifiers admit a model, a job runs,
//! a challenge of its honest result is drawn a committee from two nodes or
//! more, the committee confirms the executor, and finality keeps advancing.

mod common;

use std::{process::Command, time::Duration};

use common::{
	eventually, finalized_number, insert_inference_key,
	market::{digits_reference, publish_digits, submit_job, wait_for_job_event, UNIT},
	submit, Node,
};
use subxt::dynamic::{self, At, Value};
use subxt_signer::sr25519::dev;

/// Alice's fixed libp2p key, so the others can name her as their bootnode.
const ALICE_NODE_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000001";

fn peer_id_of(node_key: &str) -> String {
	let dir = std::env::temp_dir().join(format!("verity-nodekey-{}", std::process::id()));
	std::fs::write(&dir, node_key).unwrap();
	let out = Command::new(common::node_binary())
		.args(["key", "inspect-node-key", "--file"])
		.arg(&dir)
		.output()
		.unwrap();
	let _ = std::fs::remove_file(&dir);
	assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
	String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_validators_finalize() {
	let alice_peer = peer_id_of(ALICE_NODE_KEY);
	let mut alice =
		Node::start("alice", &["--chain", "local", "--alice", "--node-key", ALICE_NODE_KEY]);
	let bootnode = format!("/ip4/127.0.0.1/tcp/{}/p2p/{alice_peer}", alice.p2p_port);
	let mut others: Vec<Node> = [("bob", "--bob", 2u8), ("charlie", "--charlie", 3u8)]
		.into_iter()
		.map(|(name, flag, key)| {
			let node_key = format!("{:064x}", key);
			Node::start(
				name,
				&["--chain", "local", flag, "--node-key", &node_key, "--bootnodes", &bootnode],
			)
		})
		.collect();

	let (alice_rpc, _) = alice.connect(Duration::from_secs(180)).await;
	let mut rpcs = vec![alice_rpc];
	for node in others.iter_mut() {
		rpcs.push(node.connect(Duration::from_secs(180)).await.0);
	}

	// Finality needs two thirds of three authorities: all three must take part.
	for (i, rpc) in rpcs.iter().enumerate() {
		let n = eventually(
			&format!("node {i} to see block #3 finalized"),
			Duration::from_secs(240),
			|| async { Some(finalized_number(rpc).await).filter(|n| *n >= 3) },
		)
		.await;
		assert!(n >= 3);
	}
	let peers: serde_json::Value =
		rpcs[0].request("system_health", subxt::rpcs::rpc_params![]).await.unwrap();
	assert_eq!(peers["peers"], serde_json::json!(2), "{peers}");

	// Each node's offchain worker signs for its own accounts: Alice's node
	// executes for Alice and verifies for Charlie, Bob's executes for Bob and
	// verifies for Dave, Charlie's verifies for Eve and Ferdie.
	let keys = [
		[("//Alice", dev::alice()), ("//Charlie", dev::charlie())],
		[("//Bob", dev::bob()), ("//Dave", dev::dave())],
		[("//Eve", dev::eve()), ("//Ferdie", dev::ferdie())],
	];
	for (rpc, keys) in rpcs.iter().zip(keys) {
		for (suri, kp) in keys {
			insert_inference_key(rpc, suri, kp.public_key().0).await;
		}
	}
	let api = subxt::OnlineClient::<subxt::PolkadotConfig>::from_rpc_client(rpcs[0].clone())
		.await
		.unwrap();
	// Admission needs two of three verifiers drawn over the nodes.
	let model = publish_digits(&api, &dev::charlie()).await;
	let reference = digits_reference();
	let job = submit_job(&api, &dev::eve(), model, &reference.inputs[0]).await;
	wait_for_job_event(&api, job, "ResultSubmitted", Duration::from_secs(120)).await;

	// Dave challenges the honest result; the committee (never Dave) is drawn
	// two blocks later and votes from the nodes that hold its keys.
	submit(
		&api,
		&dev::dave(),
		dynamic::transaction(
			"Inference",
			"challenge",
			(Value::u128(job as u128), Value::u128(10 * UNIT)),
		),
	)
	.await;
	let (drawn, _) = wait_for_job_event(&api, job, "CommitteeDrawn", Duration::from_secs(60)).await;
	let committee: Vec<[u8; 32]> = (0..3)
		.map(|i| common::market::account_of(drawn.at("committee").unwrap().at(i).unwrap()))
		.collect();
	assert!(!committee.contains(&dev::dave().public_key().0), "the challenger never judges");
	let finalized_before = finalized_number(&rpcs[0]).await;
	let (resolved, _) =
		wait_for_job_event(&api, job, "DisputeResolved", Duration::from_secs(180)).await;
	let outcome = subxt::ext::scale_value::stringify::to_string(resolved.at("outcome").unwrap());
	assert!(outcome.contains("ExecutorRight"), "{outcome}");
	wait_for_job_event(&api, job, "JobSettled", Duration::from_secs(60)).await;

	// Finality kept advancing on every node through the dispute.
	for (i, rpc) in rpcs.iter().enumerate() {
		eventually(
			&format!("node {i} to finalize past the dispute"),
			Duration::from_secs(120),
			|| async { Some(finalized_number(rpc).await).filter(|n| *n > finalized_before + 2) },
		)
		.await;
	}
}
