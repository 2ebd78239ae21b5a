//! A `--dev` node seals blocks, answers RPC and executes a signed transfer.

mod common;

use std::time::Duration;

use common::{block_number, eventually, Node};
use subxt::{
	dynamic,
	ext::scale_decode::{self, DecodeAsType},
	rpcs::rpc_params,
};
use subxt_signer::sr25519::dev;

const STARTUP: Duration = Duration::from_secs(180);

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct AccountInfo {
	data: AccountData,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct AccountData {
	free: u128,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct TransactionFeePaid {
	who: [u8; 32],
	actual_fee: u128,
	tip: u128,
}

async fn free_balance(
	api: &common::Api,
	at: subxt::config::HashFor<subxt::PolkadotConfig>,
	who: [u8; 32],
) -> u128 {
	let addr = dynamic::storage::<([u8; 32],), AccountInfo>("System", "Account");
	let at = api.at_block(at).await.unwrap();
	let info = at.storage().fetch(addr, (who,)).await.unwrap();
	info.decode().unwrap().data.free
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_node_seals_blocks_answers_rpc_and_transfers() {
	let mut node = Node::dev(&["--dev-block-time", "1000"]);
	let (rpc, api) = node.connect(STARTUP).await;

	// Standard RPC: health and metadata.
	let health: serde_json::Value = rpc.request("system_health", rpc_params![]).await.unwrap();
	assert_eq!(health["isSyncing"], serde_json::Value::Bool(false), "{health}");
	assert_eq!(health["shouldHavePeers"], serde_json::Value::Bool(false), "{health}");
	let metadata: String = rpc.request("state_getMetadata", rpc_params![]).await.unwrap();
	// SCALE-encoded metadata starts with the magic "meta".
	assert!(metadata.starts_with("0x6d657461"), "unexpected metadata prefix");
	let chain: String = rpc.request("system_chain", rpc_params![]).await.unwrap();
	assert_eq!(chain, "Verity Development");

	// At least three blocks, and the dev chain finalizes what it seals.
	eventually("block #3", Duration::from_secs(60), || async {
		(block_number(&rpc, None).await >= 3).then_some(())
	})
	.await;
	assert!(common::finalized_number(&rpc).await >= 3);

	// A signed transfer from Alice to Bob, checked to the unit.
	let (alice, bob) = (dev::alice(), dev::bob());
	let amount: u128 = 1_234_567_890_000;
	let before = api.at_current_block().await.unwrap().block_hash();
	let alice_before = free_balance(&api, before, alice.public_key().0).await;
	let bob_before = free_balance(&api, before, bob.public_key().0).await;

	let tx = dynamic::transaction(
		"Balances",
		"transfer_keep_alive",
		(bob.public_key().to_address::<()>(), amount),
	);
	let in_block = api
		.at_current_block()
		.await
		.unwrap()
		.transactions()
		.sign_and_submit_then_watch_default(&tx, &alice)
		.await
		.unwrap()
		.wait_for_finalized()
		.await
		.expect("transfer is finalized");
	let included = in_block.block_hash();
	let events = in_block.wait_for_success().await.expect("transfer succeeds");

	let mut fee = None;
	for ev in events.iter() {
		let ev = ev.unwrap();
		if ev.pallet_name() == "TransactionPayment" && ev.event_name() == "TransactionFeePaid" {
			fee = Some(ev.decode_fields_unchecked_as::<TransactionFeePaid>().unwrap());
		}
	}
	let fee = fee.expect("a TransactionFeePaid event");
	assert_eq!(fee.who, alice.public_key().0);
	assert_eq!(fee.tip, 0);
	assert!(fee.actual_fee > 0);

	assert_eq!(free_balance(&api, included, bob.public_key().0).await, bob_before + amount);
	assert_eq!(
		free_balance(&api, included, alice.public_key().0).await,
		alice_before - amount - fee.actual_fee
	);
}
