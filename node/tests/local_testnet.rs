//! Alice, Bob and Charlie run `--chain local` on loopback: Aura produces blocks
//! and GRANDPA finalizes them.

mod common;

use std::{process::Command, time::Duration};

use common::{eventually, finalized_number, Node};

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
}
