//! End to end on the real `verity-node`, with real ONNX models and the real
//! engine behind the host functions:
//! (a) a job runs, its output matches onnxruntime's, and it settles with
//!     every balance moving exactly;
//! (b) a faulty executor (`--inference-fault always`) is caught by an audit
//!     with nobody challenging: the drawn auditor's node re-executes the
//!     job and challenges, the committee (drawn later) re-executes, the
//!     executor is slashed, the requester refunded, the auditor rewarded;
//!     and, with audits off, a verifier on a `--watch all` node catches it;
//! (c) admission rejects hostile or misdeclared models (random bytes, an
//!     Expand to 2^34 elements, an unseeded random operator, digits-mlp
//!     declared with an input its graph does not have) at the publisher's
//!     cost, no executor or verifier balance changes, and the node keeps
//!     producing blocks.

mod common;

use std::{collections::HashMap, time::Duration};

use codec::Encode;
use common::{
	eventually,
	market::{
		account_of, argmax, digits_policy as policy, digits_reference, models_dir, publish,
		publish_digits, serve_market, set_audit_rate, submit_job, tensor_spec, tolerance,
		value_bytes, wait_for_admission, wait_for_job_event, wait_for_job_event_since, ABS,
		AUDIT_REWARD, EXECUTOR_FEE, FEE, PRICE, REL,
	},
	Api, Node,
};
use subxt::{
	dynamic::{self, At, Value},
	ext::scale_decode::{self, DecodeAsType},
};
use subxt_signer::sr25519::{dev, Keypair};
use verity_primitives::{decode_tensors, outputs_agree, DType, Tensor};

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

fn executor_keypair(id: [u8; 32]) -> Keypair {
	if id == dev::alice().public_key().0 {
		dev::alice()
	} else {
		assert_eq!(id, dev::bob().public_key().0, "jobs go to the genesis executors");
		dev::bob()
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_matches_onnxruntime_passes_its_audit_and_settles_with_exact_balances() {
	let metrics_port = common::free_port();
	let port_arg = metrics_port.to_string();
	let mut node = Node::dev(&["--dev-block-time", "1000", "--prometheus-port", &port_arg]);
	let (rpc, api) = node.connect(STARTUP).await;
	serve_market(&rpc).await;
	let (publisher, requester) = (dev::charlie(), dev::eve());
	// Every result audited: the requester pays the whole `AuditReward` as
	// the audit premium, and the auditor is paid it from the treasury.
	set_audit_rate(&api, 1_000_000_000).await;
	let model = publish_digits(&api, &publisher).await;
	let reference = digits_reference();

	let publisher_before = balance(&api, &publisher).await.0;
	let requester_before = balance(&api, &requester).await.0;
	let start = api.at_current_block().await.unwrap().block_number();
	let job = submit_job(&api, &requester, model, &reference.inputs[0]).await;

	// The executor commits first; its output stays hidden until the drawn
	// auditor has committed to its own.
	let (committed, _) =
		wait_for_job_event_since(&api, job, "ResultCommitted", start, Duration::from_secs(90))
			.await;
	let executor = executor_keypair(account_of(committed.at("executor").unwrap()));
	let (drawn, _) =
		wait_for_job_event_since(&api, job, "AuditorDrawn", start, Duration::from_secs(30)).await;
	let auditor = account_of(drawn.at("auditor").unwrap());
	let (_, audit_committed_at) =
		wait_for_job_event_since(&api, job, "AuditCommitted", start, Duration::from_secs(60)).await;
	let (_, revealed_at) =
		wait_for_job_event_since(&api, job, "ResultSubmitted", start, Duration::from_secs(60))
			.await;
	assert!(
		revealed_at > audit_committed_at,
		"the output is revealed after the audit's commitment"
	);
	let output = job_output(&api, job).await;
	assert!(
		outputs_agree(&policy(), &output, &[reference.outputs[0].clone()]),
		"engine output differs from onnxruntime's: {output:?}"
	);
	assert_eq!(argmax(&output[0]), reference.labels[0], "the digit is recognised");
	let executor_before_settle = balance(&api, &executor).await.0;
	let (passed, _) =
		wait_for_job_event_since(&api, job, "AuditPassed", start, Duration::from_secs(60)).await;
	let reward = passed.at("reward").and_then(|r| r.as_u128()).unwrap();
	assert_eq!(reward, AUDIT_REWARD, "the treasury pays the auditor");

	let (_, settled_at) =
		wait_for_job_event_since(&api, job, "JobSettled", start, Duration::from_secs(60)).await;
	let fees = fees_paid(&api, start, settled_at).await;
	let fee_of = |k: &Keypair| fees.get(&k.public_key().0).copied().unwrap_or(0);
	// The auditor's commitment and reveal are free.
	assert_eq!(fees.get(&auditor).copied().unwrap_or(0), 0);

	// The fee is paid; the job's data deposit stays held until it is pruned.
	let deposit = data_deposit(&api, job).await;
	assert!(deposit > 0, "job data pays a deposit");
	assert_eq!(
		balance(&api, &requester).await.0,
		requester_before - FEE - AUDIT_REWARD - fee_of(&requester) - deposit
	);
	let publisher_reward = if auditor == publisher.public_key().0 { AUDIT_REWARD } else { 0 };
	assert_eq!(balance(&api, &publisher).await.0, publisher_before + PRICE + publisher_reward);
	// The executor's result transactions were paid before `executor_before_settle`.
	assert_eq!(balance(&api, &executor).await.0, executor_before_settle + EXECUTOR_FEE);

	// The node's engine metrics moved: the model was loaded, and run by the
	// executor, the auditor and the admission committee (golden vectors).
	let text = common::scrape_metrics(metrics_port);
	let short: String = model.iter().take(4).map(|b| format!("{b:02x}")).collect();
	let model_label = format!("model=\"{short}\"");
	let runs = common::metric(&text, "verity_engine_run_seconds_count", &model_label);
	assert!(runs.is_some_and(|n| n >= 2.0), "runs of the model: {runs:?}\n{text}");
	let loads = common::metric(&text, "verity_engine_model_loads_total", "");
	assert!(loads.is_some_and(|n| n >= 1.0), "{loads:?}");
	let starts = common::metric(&text, "verity_engine_worker_starts_total", "");
	assert!(starts.is_some_and(|n| n >= 1.0), "{starts:?}");

	// What the chain's finalized events say about this node's keys (it holds
	// the executor's and the auditor's): the executor's result and the
	// passed audit, and no slash; the job is settled, nothing is open.
	// The node counts a block once it handled its finality notification,
	// which may come a moment after the RPC saw the block.
	let text = eventually("the settled block counted", Duration::from_secs(20), || async {
		let text = common::scrape_metrics(metrics_port);
		(common::metric(&text, "verity_open_jobs", "") == Some(0.0)).then_some(text)
	})
	.await;
	let executed = common::metric(&text, "verity_jobs_executed_total", "");
	assert_eq!(executed, Some(1.0), "{text}");
	let audits = common::metric(&text, "verity_audits_total", "outcome=\"passed\"");
	assert_eq!(audits, Some(1.0), "{text}");
	assert_eq!(common::metric(&text, "verity_slashes_total", ""), Some(0.0), "{text}");
	assert_eq!(common::metric(&text, "verity_open_disputes", ""), Some(0.0), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_faulty_executor_is_caught_by_an_audit_without_any_challenge() {
	let mut node = Node::dev(&["--dev-block-time", "1000", "--inference-fault", "always"]);
	let (rpc, api) = node.connect(STARTUP).await;
	serve_market(&rpc).await;
	let (publisher, requester) = (dev::charlie(), dev::eve());
	// Governance audits every result; nobody in this test challenges.
	set_audit_rate(&api, 1_000_000_000).await;
	let model = publish_digits(&api, &publisher).await;
	let reference = digits_reference();

	let requester_before = balance(&api, &requester).await.0;
	let start = api.at_current_block().await.unwrap().block_number();
	let job = submit_job(&api, &requester, model, &reference.inputs[1]).await;
	let (result, _) =
		wait_for_job_event(&api, job, "ResultSubmitted", Duration::from_secs(90)).await;
	let executor = executor_keypair(account_of(result.at("executor").unwrap()));
	let stake_before = executor_stake(&api, &executor).await;
	let output = job_output(&api, job).await;
	assert!(
		!outputs_agree(&policy(), &output, &[reference.outputs[1].clone()]),
		"the fault took effect"
	);

	// The audit draw picks a verifier, whose node re-runs the job, disagrees
	// and challenges with its own bond.
	let (drawn, drawn_at) =
		wait_for_job_event(&api, job, "AuditorDrawn", Duration::from_secs(30)).await;
	let auditor = account_of(drawn.at("auditor").unwrap());
	let free_at = |block: u64| {
		let api = api.clone();
		async move {
			let at = api.at_block(block).await.unwrap();
			let addr = dynamic::storage::<([u8; 32],), Value>("System", "Account");
			let info = at.storage().fetch(addr, (auditor,)).await.unwrap().decode().unwrap();
			info.at("data").and_then(|d| d.at("free")).and_then(|f| f.as_u128()).unwrap()
		}
	};
	let auditor_before = free_at(drawn_at).await;
	let (challenged, _) =
		wait_for_job_event(&api, job, "JobChallenged", Duration::from_secs(60)).await;
	assert_eq!(account_of(challenged.at("challenger").unwrap().at(0).unwrap()), auditor);
	let (resolved, _) =
		wait_for_job_event(&api, job, "DisputeResolved", Duration::from_secs(120)).await;
	let (_, failed_at) = wait_for_job_event(&api, job, "JobFailed", Duration::from_secs(30)).await;
	let fees = fees_paid(&api, start, failed_at).await;
	let fee_of = |k: &Keypair| fees.get(&k.public_key().0).copied().unwrap_or(0);

	let outcome = subxt::ext::scale_value::stringify::to_string(resolved.at("outcome").unwrap());
	assert!(outcome.contains("ExecutorWrong"), "{outcome}");
	let slash = stake_before / 10;
	assert_eq!(executor_stake(&api, &executor).await, stake_before - slash);
	assert_eq!(
		balance(&api, &requester).await.0,
		requester_before - fee_of(&requester) - data_deposit(&api, job).await
	);
	// The auditor's bond came back with 20 % of the slash; its commitment
	// and its reveal (which challenged) were free.
	let auditor_fees = fees_paid(&api, drawn_at + 1, failed_at).await;
	assert_eq!(auditor_fees.get(&auditor).copied().unwrap_or(0), 0);
	assert_eq!(free_at(failed_at).await, auditor_before + slash / 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watching_verifier_catches_a_lie_with_audits_off() {
	let mut node =
		Node::dev(&["--dev-block-time", "1000", "--inference-fault", "always", "--watch", "all"]);
	let (rpc, api) = node.connect(STARTUP).await;
	serve_market(&rpc).await;
	// No audits: only the watcher looks.
	set_audit_rate(&api, 0).await;
	let model = publish_digits(&api, &dev::charlie()).await;
	let reference = digits_reference();
	let job = submit_job(&api, &dev::eve(), model, &reference.inputs[2]).await;
	wait_for_job_event(&api, job, "ResultSubmitted", Duration::from_secs(90)).await;
	let (challenged, _) =
		wait_for_job_event(&api, job, "JobChallenged", Duration::from_secs(60)).await;
	let watcher = account_of(challenged.at("challenger").unwrap().at(0).unwrap());
	let verifiers = [dev::charlie(), dev::dave(), dev::eve(), dev::ferdie()];
	assert!(verifiers.iter().any(|v| v.public_key().0 == watcher), "a verifier watched");
	let (resolved, _) =
		wait_for_job_event(&api, job, "DisputeResolved", Duration::from_secs(120)).await;
	let outcome = subxt::ext::scale_value::stringify::to_string(resolved.at("outcome").unwrap());
	assert!(outcome.contains("ExecutorWrong"), "{outcome}");
	let audit = {
		let addr = dynamic::storage::<(u64,), Value>("Inference", "Jobs");
		let at = api.at_current_block().await.unwrap();
		let j = at.storage().fetch(addr, (job,)).await.unwrap().decode().unwrap();
		subxt::ext::scale_value::stringify::to_string(j.at("audit").unwrap())
	};
	assert!(audit.contains("NotSelected"), "nobody audited it: {audit}");
}

async fn executor_stake(api: &Api, who: &Keypair) -> u128 {
	let addr = dynamic::storage::<([u8; 32],), Value>("Inference", "Executors");
	let at = api.at_current_block().await.unwrap();
	let info = at.storage().fetch(addr, (who.public_key().0,)).await.unwrap().decode().unwrap();
	info.at("stake").and_then(|s| s.as_u128()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn admission_rejects_hostile_and_misdeclared_models_at_the_publishers_cost() {
	let mut node = Node::dev(&["--dev-block-time", "1000"]);
	let (rpc, api) = node.connect(STARTUP).await;
	serve_market(&rpc).await;
	let publisher = dev::charlie();
	let market = [dev::alice(), dev::bob(), dev::dave(), dev::eve(), dev::ferdie()];
	let mut before = Vec::new();
	for who in &market {
		before.push(balance(&api, who).await);
	}
	let one = |name: &str, dtype: DType, shape: Vec<u32>, data: Vec<u8>| {
		vec![Tensor { name: name.as_bytes().to_vec(), dtype, shape, data }].encode()
	};
	let floats = |n: usize| 0.5f32.to_le_bytes().repeat(n);

	let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
	let expand = std::fs::read(models_dir().join("hostile-expand.onnx")).unwrap();
	let noisy = std::fs::read(models_dir().join("noisy-scores.onnx")).unwrap();
	let digits = std::fs::read(models_dir().join("digits-mlp.onnx")).unwrap();
	let tiny = || {
		let golden = (
			one("x", DType::Float32, vec![1], floats(1)),
			one("y", DType::Float32, vec![1], floats(1)),
		);
		((tensor_spec("x", &[Some(1)]), tensor_spec("y", &[None])), golden)
	};
	let cases = [
		("garbage", garbage, tiny(), "Unrunnable"),
		("expand", expand, tiny(), "Unrunnable"),
		(
			"noisy-scores",
			noisy,
			(
				(tensor_spec("x", &[None, Some(4)]), tensor_spec("y", &[None, Some(4)])),
				(
					one("x", DType::Float32, vec![1, 4], floats(4)),
					one("y", DType::Float32, vec![1, 4], floats(4)),
				),
			),
			"UnseededRandom",
		),
		(
			// The real digits graph, declared with an input name it does not have.
			"digits-misdeclared",
			digits,
			(
				(
					tensor_spec("pixels", &[None, Some(64)]),
					tensor_spec("probabilities", &[None, Some(10)]),
				),
				(
					one("pixels", DType::Float32, vec![1, 64], floats(64)),
					one("probabilities", DType::Float32, vec![1, 10], floats(10)),
				),
			),
			"SpecMismatch",
		),
	];
	for (family, bytes, (specs, golden), fault) in cases {
		let model =
			publish(&api, &publisher, family, &bytes, specs, PRICE, tolerance(ABS, REL), golden)
				.await;
		assert!(!wait_for_admission(&api, model).await, "{family} is rejected");
		let (voted, _) = common::market::wait_for_event(
			&api,
			("Inference", "AdmissionVoted"),
			|f| f.at("model").is_some_and(|m| value_bytes(m) == model),
			Duration::from_secs(5),
		)
		.await;
		let vote = subxt::ext::scale_value::stringify::to_string(voted.at("vote").unwrap());
		assert!(vote.contains(fault), "{family}: {vote}");
		// A job on it is refused: it never reached an executor.
		let status = model_status(&api, model).await;
		assert!(status.contains("Rejected"), "{family}: {status}");
	}
	// Nobody in the market paid anything: admission votes are free.
	for (who, was) in market.iter().zip(before) {
		assert_eq!(balance(&api, who).await, was, "{}", account_of_keypair(who));
	}
	// The node is alive and still producing blocks.
	let before = api.at_current_block().await.unwrap().block_number();
	tokio::time::sleep(Duration::from_secs(4)).await;
	assert!(api.at_current_block().await.unwrap().block_number() > before);
}

/// The data deposit held for `job` (0 when none).
async fn data_deposit(api: &Api, job: u64) -> u128 {
	let addr = dynamic::storage::<(Value,), u128>("Inference", "DataDeposits");
	let at = api.at_current_block().await.unwrap();
	match at.storage().try_fetch(addr, (Value::u128(job as u128),)).await.unwrap() {
		Some(v) => v.decode().unwrap(),
		None => 0,
	}
}

/// A model's status, as text (e.g. `Rejected`).
async fn model_status(api: &Api, id: [u8; 32]) -> String {
	let at = api.at_current_block().await.unwrap();
	let addr = dynamic::storage::<(Value,), Value>("ModelRegistry", "Models");
	let info = at.storage().try_fetch(addr, (Value::from_bytes(id),)).await.unwrap().unwrap();
	let info = info.decode().unwrap();
	subxt::ext::scale_value::stringify::to_string(info.at("status").unwrap())
}

fn account_of_keypair(k: &Keypair) -> String {
	format!("0x{}", k.public_key().0.iter().map(|b| format!("{b:02x}")).collect::<String>())
}
