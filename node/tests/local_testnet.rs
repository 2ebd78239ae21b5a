//! Alice, Bob and Charlie run `--chain local` on loopback: BABE produces
//! blocks and GRANDPA finalizes them. On the same network (one per test
//! binary), executors and verifiers spread over the three nodes, each node
//! signing with its own keystore, and Bob's node started with
//! `--inference-fault always`: the verifiers admit a model; a challenge of an
//! honest result gets a committee across the nodes that confirms the
//! executor; every one of Bob's wrong results is caught by an audit (nobody
//! challenges by hand) and slashed, exactly 10 % of his stake each time; and
//! finality keeps advancing on all three.

mod common;

use std::time::Duration;

use common::{
	eventually, finalized_number,
	market::{
		account_of, challenge, digits_reference, events_between, publish_digits, set_audit_rate,
		stash, submit_job, wait_for_job_event, wait_for_job_event_since,
	},
	network::Network,
};
use subxt::dynamic::{self, At, Value};
use subxt_signer::sr25519::dev;

#[tokio::test(flavor = "multi_thread")]
async fn three_validators_finalize() {
	// Bob's node lies: every result its executor (Bob) computes is wrong.
	let net = Network::start(["none", "always", "none"], &[]).await;
	let rpcs = &net.rpcs;
	let api = subxt::OnlineClient::<subxt::PolkadotConfig>::from_rpc_client(rpcs[0].clone())
		.await
		.unwrap();
	// Governance audits every result; the sudo key is Alice's.
	set_audit_rate(&api, 1_000_000_000).await;
	let bob = dev::bob().public_key().0;
	let bob_stake_before = executor_stake(&api, bob).await;
	let start = api.at_current_block().await.unwrap().block_number();
	// Admission needs two of three verifiers drawn over the nodes.
	let model = publish_digits(&api, &dev::charlie()).await;
	let reference = digits_reference();
	// Requester and challenger hold no key in any node's keystore, so that
	// no offchain worker sends transactions with their nonces meanwhile.
	let (requester, challenger) = (stash("Alice"), stash("Bob"));

	// Jobs until both executors ran at least one (assignment is random). The
	// first honest result is challenged at once, inside its window, by a
	// watcher: its committee is drawn two blocks later and commits and
	// reveals from the nodes that hold its keys.
	let (mut honest, mut lies) = (vec![], vec![]);
	for input in reference.inputs.iter().cycle().take(8) {
		let job = submit_job(&api, &requester, model, input).await;
		let (result, _) =
			wait_for_job_event(&api, job, "ResultSubmitted", Duration::from_secs(120)).await;
		if account_of(result.at("executor").unwrap()) == bob {
			lies.push(job);
		} else {
			if honest.is_empty() {
				challenge(&api, &challenger, job).await;
			}
			honest.push(job);
		}
		if !honest.is_empty() && !lies.is_empty() {
			break;
		}
	}
	assert!(!honest.is_empty() && !lies.is_empty(), "both executors got jobs");
	let job = honest[0];
	let (drawn, _) =
		wait_for_job_event_since(&api, job, "CommitteeDrawn", start, Duration::from_secs(60)).await;
	let committee: Vec<[u8; 32]> =
		(0..3).map(|i| account_of(drawn.at("committee").unwrap().at(i).unwrap())).collect();
	let verifiers =
		[dev::charlie(), dev::dave(), dev::eve(), dev::ferdie()].map(|k| k.public_key().0);
	assert!(committee.iter().all(|m| verifiers.contains(m)), "genesis verifiers judge");
	let finalized_before = finalized_number(&rpcs[0]).await;
	let (resolved, _) =
		wait_for_job_event_since(&api, job, "DisputeResolved", start, Duration::from_secs(480))
			.await;
	let outcome = subxt::ext::scale_value::stringify::to_string(resolved.at("outcome").unwrap());
	assert!(outcome.contains("ExecutorRight"), "{outcome}");
	wait_for_job_event_since(&api, job, "JobSettled", start, Duration::from_secs(60)).await;

	// Bob's lies: nobody challenges by hand; each is audited, challenged by
	// its auditor and overturned by a committee.
	let mut end = 0;
	for job in &lies {
		let (resolved, _) = wait_for_job_event_since(
			&api,
			*job,
			"DisputeResolved",
			start,
			Duration::from_secs(480),
		)
		.await;
		let outcome =
			subxt::ext::scale_value::stringify::to_string(resolved.at("outcome").unwrap());
		assert!(outcome.contains("ExecutorWrong"), "job {job}: {outcome}");
		let (_, failed_at) =
			wait_for_job_event_since(&api, *job, "JobFailed", start, Duration::from_secs(60)).await;
		end = end.max(failed_at);
	}
	// Exactly one slash of ExecutorSlash (10 %) of Bob's stake per lie, and
	// nothing else taken from it.
	let mut expected = bob_stake_before;
	let slashes = slashes_of(&api, bob, start, end).await;
	assert_eq!(slashes.len(), lies.len(), "{slashes:?}");
	for amount in &slashes {
		assert_eq!(*amount, sp_arithmetic::Perbill::from_percent(10) * expected);
		expected -= amount;
	}
	assert_eq!(executor_stake(&api, bob).await, expected);

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

/// `who`'s executor stake now.
async fn executor_stake(api: &subxt::OnlineClient<subxt::PolkadotConfig>, who: [u8; 32]) -> u128 {
	let addr = dynamic::storage::<([u8; 32],), Value>("Inference", "Executors");
	let at = api.at_current_block().await.unwrap();
	let info = at.storage().fetch(addr, (who,)).await.unwrap().decode().unwrap();
	info.at("stake").and_then(|s| s.as_u128()).unwrap()
}

/// The amounts of the `Inference.Slashed` events of `who` in blocks `from..=to`.
async fn slashes_of(
	api: &subxt::OnlineClient<subxt::PolkadotConfig>,
	who: [u8; 32],
	from: u64,
	to: u64,
) -> Vec<u128> {
	events_between(api, from, to)
		.await
		.into_iter()
		.filter(|(p, n, f)| {
			p == "Inference" && n == "Slashed" && account_of(f.at("who").unwrap()) == who
		})
		.map(|(_, _, f)| f.at("amount").and_then(|a| a.as_u128()).unwrap())
		.collect()
}
