//! A runtime upgrade with work in flight: a dev chain starts on the previous
//! release's runtime (spec_version 102, committed as
//! `runtime/res/verity-runtime-102.wasm`, from before `Job::result_at`),
//! publishes a model, runs jobs and opens a dispute, and is upgraded with
//! `sudo(set_code)` to the runtime this node embeds while a job waits in its
//! challenge window, another for its result and the dispute for its
//! committee. The inference pallet's migration to storage version 1 runs in
//! the next block; afterwards every job in flight ends as it should, the
//! migrated jobs read `result_at: None`, new results record their block,
//! and the market's invariants hold.

mod common;

use std::{process::Command, time::Duration};

use common::{
	from_hex,
	market::{
		account_of, challenge, check_invariants, digits_reference, publish_digits, serve_market,
		set_audit_rate, stash, submit_job, wait_for_job_event_since,
	},
	submit, to_hex, Api, Node,
};
use subxt::dynamic::{self, At, Value};
use subxt_signer::sr25519::dev;

const STARTUP: Duration = Duration::from_secs(180);

/// The dev chain spec with the previous release's runtime as its genesis
/// code, and the code this node embeds (the new runtime).
fn specs(dir: &std::path::Path) -> (std::path::PathBuf, Vec<u8>) {
	let out = Command::new(common::node_binary())
		.args(["build-spec", "--dev"])
		.output()
		.expect("build-spec runs");
	assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
	let mut spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
	let code = &mut spec["genesis"]["runtimeGenesis"]["code"];
	let new_code = from_hex(code.as_str().unwrap());
	let old_code = std::fs::read(
		std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
			.join("../runtime/res/verity-runtime-102.wasm"),
	)
	.unwrap();
	*code = serde_json::Value::String(to_hex(&old_code));
	let path = dir.join("dev-102.json");
	std::fs::write(&path, serde_json::to_vec(&spec).unwrap()).unwrap();
	(path, new_code)
}

async fn spec_version(rpc: &subxt::rpcs::RpcClient) -> u64 {
	let v: serde_json::Value =
		rpc.request("state_getRuntimeVersion", subxt::rpcs::rpc_params![]).await.unwrap();
	v["specVersion"].as_u64().unwrap()
}

/// The inference pallet's on-chain storage version.
async fn storage_version(rpc: &subxt::rpcs::RpcClient) -> u16 {
	let key = [
		sp_crypto_hashing::twox_128(b"Inference"),
		sp_crypto_hashing::twox_128(b":__STORAGE_VERSION__:"),
	]
	.concat();
	let v: Option<String> =
		rpc.request("state_getStorage", subxt::rpcs::rpc_params![to_hex(&key)]).await.unwrap();
	v.map(|v| {
		let b = from_hex(&v);
		u16::from_le_bytes([b[0], b[1]])
	})
	.unwrap_or(0)
}

/// Job `job`'s `result_at`, read through the runtime API, as text.
async fn result_at(api: &Api, job: u64) -> String {
	let call =
		dynamic::runtime_api_call::<_, Value>("InferenceApi", "job", (Value::u128(job as u128),));
	let v = api.at_current_block().await.unwrap().runtime_apis().call(call).await.unwrap();
	// Some((job, output))
	let j = v.at(0).and_then(|pair| pair.at(0)).expect("the job exists");
	subxt::ext::scale_value::stringify::to_string(j.at("result_at").expect("a result_at field"))
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_and_a_dispute_in_flight_survive_an_upgrade_with_a_storage_migration() {
	let dir = std::env::temp_dir().join(format!("verity-upgrade-{}", std::process::id()));
	std::fs::create_dir_all(&dir).unwrap();
	let (spec, new_code) = specs(&dir);
	let mut node = Node::start(
		"upgrade",
		&[
			"--dev",
			"--chain",
			spec.to_str().unwrap(),
			"--no-dev-inference-keys",
			"--dev-block-time",
			"1000",
		],
	);
	let (rpc, api) = node.connect(STARTUP).await;
	assert_eq!(spec_version(&rpc).await, 102, "the chain starts on the previous release");
	assert_eq!(storage_version(&rpc).await, 0);
	serve_market(&rpc).await;
	set_audit_rate(&api, 0).await;
	let model = publish_digits(&api, &dev::charlie()).await;
	let reference = digits_reference();
	let (requester, challenger) = (stash("Alice"), stash("Bob"));
	let start = api.at_current_block().await.unwrap().block_number();

	// A disputed job, and one in its challenge window.
	let disputed = submit_job(&api, &requester, model, &reference.inputs[0]).await;
	wait_for_job_event_since(&api, disputed, "ResultSubmitted", start, Duration::from_secs(60))
		.await;
	challenge(&api, &challenger, disputed).await;
	let windowed = submit_job(&api, &requester, model, &reference.inputs[1]).await;
	wait_for_job_event_since(&api, windowed, "ResultSubmitted", start, Duration::from_secs(60))
		.await;

	// The upgrade.
	let sudo = dev::alice();
	let set_code = Value::unnamed_variant(
		"System",
		[Value::named_variant("set_code", [("code", Value::from_bytes(&new_code))])],
	);
	let weight =
		Value::named_composite([("ref_time", Value::u128(0)), ("proof_size", Value::u128(0))]);
	let upgraded = submit(
		&api,
		&sudo,
		dynamic::transaction("Sudo", "sudo_unchecked_weight", (set_code, weight)),
	)
	.await;
	assert!(upgraded.iter().any(|e| e.unwrap().event_name() == "CodeUpdated"), "the code was set");
	common::eventually("the new runtime", Duration::from_secs(60), || async {
		(spec_version(&rpc).await == 104).then_some(())
	})
	.await;
	common::eventually("storage version 1", Duration::from_secs(30), || async {
		(storage_version(&rpc).await == 1).then_some(())
	})
	.await;
	let log = node.log();
	let migrated = log
		.lines()
		.find_map(|l| l.split("storage version 1: ").nth(1))
		.and_then(|rest| rest.split(' ').next())
		.and_then(|n| n.parse::<u32>().ok())
		.expect("the migration logs what it did");
	assert!(migrated >= 2, "the jobs in flight were migrated: {migrated}");

	// Everything in flight ends as it would have, and a new job runs.
	let api = Api::from_rpc_client(rpc.clone()).await.unwrap();
	let fresh = submit_job(&api, &requester, model, &reference.inputs[2]).await;
	let (resolved, _) = wait_for_job_event_since(
		&api,
		disputed,
		"DisputeResolved",
		start,
		Duration::from_secs(180),
	)
	.await;
	let outcome = subxt::ext::scale_value::stringify::to_string(resolved.at("outcome").unwrap());
	assert!(outcome.contains("ExecutorRight"), "{outcome}");
	for job in [disputed, windowed, fresh] {
		wait_for_job_event_since(&api, job, "JobSettled", start, Duration::from_secs(120)).await;
	}
	// A job migrated after its result says nothing of its block; the new
	// one records it.
	assert!(result_at(&api, windowed).await.starts_with("None"));
	let (posted, posted_at) =
		wait_for_job_event_since(&api, fresh, "ResultSubmitted", start, Duration::from_secs(10))
			.await;
	assert_ne!(account_of(posted.at("executor").unwrap()), [0; 32]);
	let recorded = result_at(&api, fresh).await;
	let digits: String = recorded.chars().filter(|c| c.is_ascii_digit()).collect();
	assert!(recorded.starts_with("Some") && digits == posted_at.to_string(), "{recorded}");
	check_invariants(&api).await.expect("the market's invariants hold after the upgrade");
	let _ = std::fs::remove_dir_all(&dir);
}
