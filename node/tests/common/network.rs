//! The `local` chain's three validators (Alice, Bob, Charlie) on loopback,
//! with the market's executors and verifiers spread over their keystores:
//! Alice's node executes for Alice and verifies for Eve, Bob's executes for
//! Bob and verifies for Dave, Charlie's verifies for Charlie and Ferdie.
//! Each key on one node only: `--charlie` already puts Charlie's `vrty` key
//! into Charlie's keystore (sc-cli's dev seed covers every key type), and a
//! key served by two nodes commits twice with different salts, so that a
//! reveal can miss its commitment.

use std::{process::Command, time::Duration};

use subxt::rpcs::RpcClient;
use subxt_signer::sr25519::dev;

use super::{eventually, finalized_number, insert_inference_key, Api, Node};

/// Alice's fixed libp2p key, so the others can name her as their bootnode.
const ALICE_NODE_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000001";

fn peer_id_of(node_key: &str) -> String {
	let dir = std::env::temp_dir().join(format!("verity-nodekey-{}", std::process::id()));
	std::fs::write(&dir, node_key).unwrap();
	let out = Command::new(super::node_binary())
		.args(["key", "inspect-node-key", "--file"])
		.arg(&dir)
		.output()
		.unwrap();
	let _ = std::fs::remove_file(&dir);
	assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
	String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Three running validators and an RPC client to each.
pub struct Network {
	/// Alice's, Bob's and Charlie's nodes.
	pub nodes: Vec<Node>,
	/// Their RPC clients, in the same order.
	pub rpcs: Vec<RpcClient>,
}

impl Network {
	/// Starts the three nodes, each with its `--inference-fault` setting and
	/// `extra` arguments, waits until each sees block 3 finalized and its
	/// two peers, and gives each its executor and verifier keys.
	pub async fn start(faults: [&str; 3], extra: &[&str]) -> Network {
		let alice_peer = peer_id_of(ALICE_NODE_KEY);
		let mut args: Vec<&str> = vec![
			"--chain",
			"local",
			"--alice",
			"--node-key",
			ALICE_NODE_KEY,
			"--inference-fault",
			faults[0],
		];
		args.extend_from_slice(extra);
		let alice = Node::start("alice", &args);
		let bootnode = format!("/ip4/127.0.0.1/tcp/{}/p2p/{alice_peer}", alice.p2p_port);
		let mut nodes = vec![alice];
		for (i, (name, flag)) in
			[("bob", "--bob"), ("charlie", "--charlie")].into_iter().enumerate()
		{
			let node_key = format!("{:064x}", i + 2);
			let mut args: Vec<&str> = vec![
				"--chain",
				"local",
				flag,
				"--node-key",
				&node_key,
				"--bootnodes",
				&bootnode,
				"--inference-fault",
				faults[i + 1],
			];
			args.extend_from_slice(extra);
			nodes.push(Node::start(name, &args));
		}
		let mut rpcs = vec![];
		for node in nodes.iter_mut() {
			rpcs.push(node.connect(Duration::from_secs(180)).await.0);
		}
		// Finality needs two thirds of three authorities: all three.
		for (i, rpc) in rpcs.iter().enumerate() {
			eventually(
				&format!("node {i} to see block #3 finalized"),
				Duration::from_secs(240),
				|| async { Some(finalized_number(rpc).await).filter(|n| *n >= 3) },
			)
			.await;
		}
		let peers: serde_json::Value =
			rpcs[0].request("system_health", subxt::rpcs::rpc_params![]).await.unwrap();
		assert_eq!(peers["peers"], serde_json::json!(2), "{peers}");
		let keys = [
			[("//Alice", dev::alice()), ("//Eve", dev::eve())],
			[("//Bob", dev::bob()), ("//Dave", dev::dave())],
			[("//Charlie", dev::charlie()), ("//Ferdie", dev::ferdie())],
		];
		for (rpc, keys) in rpcs.iter().zip(keys) {
			for (suri, kp) in keys {
				insert_inference_key(rpc, suri, kp.public_key().0).await;
			}
		}
		Network { nodes, rpcs }
	}

	/// A subxt client on node `i`'s RPC.
	pub async fn api(&self, i: usize) -> Api {
		Api::from_rpc_client(self.rpcs[i].clone()).await.unwrap()
	}
}
