//! A node killed (SIGKILL, as a crash) while its executor runs a job, and
//! again while its committee members re-execute a disputed one, then
//! restarted on the same base path: every job still ends, each answer is
//! included once, nobody honest is slashed, the chain's books balance, and
//! the node's offchain storage keeps nothing of the finished jobs.
//!
//! One `--dev` node holds every executor and verifier key, so killing it
//! kills the whole market at once: the hardest case for a restart, since
//! nothing progresses while it is down and its transaction pool is lost.
//! `--inference-delay-ms` (fault injection) holds every run for two seconds,
//! so that the kill lands while a run is under way.

mod common;

use std::time::{Duration, Instant};

use common::{
	market::{
		account_of, challenge, check_invariants, events_between, publish_digits, serve_market,
		set_audit_rate, stash, storage_value, submit_job, wait_for_job_event_since,
	},
	Api, Node,
};
use subxt::dynamic::{self, At, Value};
use subxt_signer::sr25519::dev;

const STARTUP: Duration = Duration::from_secs(180);

/// Waits until the node's log, after its first `from` bytes, has `needle`.
async fn wait_for_log(node: &Node, from: usize, needle: &str, timeout: Duration) {
	let deadline = Instant::now() + timeout;
	loop {
		if node.log().get(from..).is_some_and(|l| l.contains(needle)) {
			return;
		}
		assert!(Instant::now() < deadline, "no {needle:?} in the log within {timeout:?}");
		tokio::time::sleep(Duration::from_millis(50)).await;
	}
}

/// Total issuance, and the sum of every account's free and reserved balance.
async fn issuance_and_balances(api: &Api) -> (u128, u128) {
	let at = api.at_current_block().await.unwrap();
	let issuance = storage_value(api, Some(at.block_number()), "Balances", "TotalIssuance")
		.await
		.as_u128()
		.unwrap();
	let mut sum = 0;
	let mut accounts = at
		.storage()
		.iter(dynamic::storage::<([u8; 32],), Value>("System", "Account"), ())
		.await
		.unwrap();
	while let Some(entry) = accounts.next().await {
		let info = entry.unwrap().value().decode().unwrap();
		let data = info.at("data").unwrap();
		sum += data.at("free").and_then(|v| v.as_u128()).unwrap();
		sum += data.at("reserved").and_then(|v| v.as_u128()).unwrap();
	}
	(issuance, sum)
}

/// What the node's offchain worker lists in its ledger of work it keeps
/// state for (`pallet_inference::offchain::LEDGER_KEY`): SCALE bytes.
async fn offchain_ledger(rpc: &subxt::rpcs::RpcClient) -> Option<Vec<u8>> {
	let key = common::to_hex(pallet_inference::offchain::LEDGER_KEY);
	let value: Option<String> = rpc
		.request("offchain_localStorageGet", subxt::rpcs::rpc_params!["PERSISTENT", key])
		.await
		.expect("offchain_localStorageGet");
	value.map(|v| common::from_hex(&v))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_killed_mid_job_and_mid_dispute_restarts_and_every_job_ends_cleanly() {
	let mut node = Node::dev(&["--dev-block-time", "1000"]);
	let (rpc, api) = node.connect(STARTUP).await;
	serve_market(&rpc).await;
	// No audits: the executor reveals at once, and the dispute is the
	// challenger's below.
	set_audit_rate(&api, 0).await;
	let model = publish_digits(&api, &dev::charlie()).await;
	let reference = common::market::digits_reference();
	let (issuance_before, _) = issuance_and_balances(&api).await;

	// From now on every run takes two seconds. (The model was admitted
	// without the delay; the restart is itself a crash, between jobs.)
	node.restart_with(&["--inference-delay-ms", "2000"]);
	let (_, api) = node.connect(STARTUP).await;
	let (requester, challenger) = (stash("Alice"), stash("Bob"));
	let start = api.at_current_block().await.unwrap().block_number();

	// 1. Killed while the executor runs the job.
	let log_from = node.log().len();
	let job = submit_job(&api, &requester, model, &reference.inputs[0]).await;
	wait_for_log(
		&node,
		log_from,
		&format!("job {job}: running it as its executor"),
		Duration::from_secs(60),
	)
	.await;
	node.kill();
	assert!(
		!node.log()[log_from..].contains(&format!("job {job}: answer submitted")),
		"killed before the answer left"
	);
	node.restart();
	let (_, api) = node.connect(STARTUP).await;
	let (_, revealed_at) =
		wait_for_job_event_since(&api, job, "ResultSubmitted", start, Duration::from_secs(120))
			.await;

	// 2. Challenged (the output is right), and killed while the committee
	// members re-execute it.
	let log_from = node.log().len();
	challenge(&api, &challenger, job).await;
	wait_for_log(
		&node,
		log_from,
		&format!("job {job}: re-executing it as a committee member"),
		Duration::from_secs(60),
	)
	.await;
	node.kill();
	node.restart();
	let (rpc, api) = node.connect(STARTUP).await;
	let (resolved, _) = wait_for_job_event_since(
		&api,
		job,
		"DisputeResolved",
		revealed_at,
		Duration::from_secs(180),
	)
	.await;
	let outcome = subxt::ext::scale_value::stringify::to_string(resolved.at("outcome").unwrap());
	assert!(outcome.contains("ExecutorRight"), "{outcome}");
	let (_, settled_at) =
		wait_for_job_event_since(&api, job, "JobSettled", revealed_at, Duration::from_secs(60))
			.await;

	// Each answer was included once, nothing failed, nobody was slashed or
	// suspended.
	let evs = events_between(&api, start, settled_at).await;
	let count = |name: &str| evs.iter().filter(|(p, n, _)| p == "Inference" && n == name).count();
	assert_eq!(count("ResultCommitted"), 1, "one commitment");
	assert_eq!(count("ResultSubmitted"), 1, "one reveal");
	// Each member committed and revealed at most once (a quorum may end
	// the dispute before the last reveal).
	for name in ["VerdictCommitted", "VerdictSubmitted"] {
		let mut members: Vec<[u8; 32]> = evs
			.iter()
			.filter(|(p, n, _)| p == "Inference" && n == name)
			.map(|(_, _, f)| account_of(f.at("verifier").unwrap()))
			.collect();
		let all = members.len();
		members.sort();
		members.dedup();
		assert_eq!(members.len(), all, "{name}: a member answered twice");
		assert!(all >= 2, "{name}: a quorum answered");
	}
	// Only the challenger (it challenged a right answer) loses anything.
	let slashed: Vec<[u8; 32]> = evs
		.iter()
		.filter(|(p, n, _)| p == "Inference" && n == "Slashed")
		.map(|(_, _, f)| account_of(f.at("who").unwrap()))
		.collect();
	assert_eq!(slashed, vec![challenger.public_key().0], "nobody honest is slashed");
	assert_eq!(count("ExecutorSuspended") + count("VerifierSuspended"), 0);
	let failed: Vec<_> =
		evs.iter().filter(|(p, n, _)| p == "System" && n == "ExtrinsicFailed").collect();
	assert!(failed.is_empty(), "no duplicate answer was included and failed: {failed:?}");

	// The books balance on the restarted chain: the market's invariants
	// (its try_state), and the balances' (issuance = the sum of accounts;
	// only transaction fees burn).
	check_invariants(&api).await.expect("the market's invariants hold");
	let (issuance, sum) = issuance_and_balances(&api).await;
	assert_eq!(issuance, sum, "total issuance is the sum of all balances");
	assert!(issuance <= issuance_before);

	// Nothing of the finished job is kept offchain: the ledger empties a
	// block or two after the job settled.
	common::eventually("the offchain ledger to empty", Duration::from_secs(30), || async {
		offchain_ledger(&rpc).await.filter(|l| l == &[0u8]).map(|_| ())
	})
	.await;
}
