//! Sustained load on the three-validator network (issue 15, part 4): a
//! benchmark, not part of CI (`#[ignore]`); `scripts/bench-load` runs it and
//! prints the rows of `docs/BENCHMARKS.md`'s section 5.
//!
//! On the `local` chain's three validators (BABE and GRANDPA on loopback,
//! executors and verifiers spread over their keystores, the chain's default
//! audit rate), in one run:
//! 1. signed balance transfers from six accounts, as fast as the pools take
//!    them, for `VERITY_LOAD_TRANSFER_SECS` (120 s): transfers per second;
//! 2. inference jobs from the same six accounts for `VERITY_LOAD_MINUTES`
//!    (10 minutes) at most `VERITY_LOAD_IN_FLIGHT` (64) open at once: two
//!    models (digits-mlp at batch 1, 4 and 16; iris-forest at batch 1 and
//!    8), optimistic and vanilla; then until every job has ended (up to 5
//!    minutes). Settled, failed and lost (submitted, never ended) jobs,
//!    result latency in blocks (p50, p90, p99), jobs per second, and what
//!    the blocks were full of.

mod common;

use std::{
	collections::BTreeMap,
	sync::{
		atomic::{AtomicU64, Ordering},
		Arc,
	},
	time::{Duration, Instant},
};

use codec::Encode;
use common::{
	market::{
		account_of, digits_reference, events_between, models_dir, publish_digits, publish_with,
		stash, storage_value, tensor_spec, tolerance, typed_spec, ABS, FEE, REL,
	},
	network::Network,
	Api,
};
use subxt::{
	config::polkadot::PolkadotExtrinsicParamsBuilder,
	dynamic::{self, At, Value},
	PolkadotConfig,
};
use subxt_signer::sr25519::{dev, Keypair};
use verity_primitives::{json::tensor_from_json, Tensor};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
	std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The six accounts that send transfers and jobs: they hold no `vrty` key,
/// so no offchain worker uses their nonces.
fn senders() -> Vec<Keypair> {
	["Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie"].iter().map(|n| stash(n)).collect()
}

/// `who`'s nonce in the best block's state.
async fn nonce(api: &Api, who: &Keypair) -> u64 {
	let addr = dynamic::storage::<([u8; 32],), Value>("System", "Account");
	let at = api.at_current_block().await.unwrap();
	let info = at.storage().fetch(addr, (who.public_key().0,)).await.unwrap().decode().unwrap();
	info.at("nonce").and_then(|n| n.as_u128()).unwrap() as u64
}

/// Signs `call` as `who` with `nonce` (offline, immortal) and hands it to
/// the node of `api`; whether the pool took it.
async fn send(api: &Api, who: &Keypair, nonce: u64, call: &impl subxt::tx::Payload) -> bool {
	send_batch(api, who, nonce, std::slice::from_ref(call)).await == 1
}

/// Signs `calls` as `who` with nonces from `first` on (offline, immortal)
/// and hands them to the node of `api` all at once; how many of the first
/// ones the pool took, in order.
async fn send_batch(
	api: &Api,
	who: &Keypair,
	first: u64,
	calls: &[impl subxt::tx::Payload],
) -> u64 {
	let at = api.at_current_block().await.unwrap();
	let txs = at.transactions();
	let mut signed = vec![];
	for (i, call) in calls.iter().enumerate() {
		let params =
			PolkadotExtrinsicParamsBuilder::<PolkadotConfig>::new().nonce(first + i as u64).build();
		let Ok(mut signable) = txs.create_signable_offline(call, params) else { break };
		let Ok(tx) = signable.sign(who) else { break };
		signed.push(tx);
	}
	let results = futures::future::join_all(signed.iter().map(|tx| tx.submit())).await;
	results.iter().take_while(|r| r.is_ok()).count() as u64
}

/// The chain's timestamp at block `n`, in milliseconds.
async fn timestamp(api: &Api, n: u64) -> u64 {
	storage_value(api, Some(n), "Timestamp", "Now").await.as_u128().unwrap() as u64
}

/// What a block held: extrinsics, and its normal-class weight as a share
/// of the block's maximum.
async fn block_load(api: &Api, n: u64) -> (usize, f64) {
	let at = api.at_block(n).await.unwrap();
	let extrinsics = at.extrinsics().fetch().await.unwrap().len();
	let weight = storage_value(api, Some(n), "System", "BlockWeight").await;
	let normal = weight.at("normal").and_then(|w| w.at("ref_time")).and_then(|v| v.as_u128());
	// 2 s of ref time per block, 75 % of it for normal extrinsics.
	let max = 2_000_000_000_000u128 * 3 / 4;
	(extrinsics, normal.unwrap_or(0) as f64 / max as f64)
}

/// The iris forest, registered with its two outputs and a golden vector the
/// engine computes (its label output is int64).
async fn publish_iris(api: &Api, publisher: &Keypair) -> ([u8; 32], Tensor) {
	let bytes = std::fs::read(models_dir().join("iris-forest.onnx")).unwrap();
	let doc: serde_json::Value = serde_json::from_str(
		&std::fs::read_to_string(models_dir().join("iris-forest.reference.json")).unwrap(),
	)
	.unwrap();
	let all = tensor_from_json(&doc["input"]).unwrap();
	let input = Tensor { shape: vec![1, 4], data: all.data[..16].to_vec(), ..all.clone() };
	let id = sp_crypto_hashing::blake2_256(&bytes);
	let mut engine = verity_engine::engine::Engine::new(verity_engine::Limits::default());
	engine.load(&id, &bytes).unwrap();
	let output = engine.run(&id, std::slice::from_ref(&input)).unwrap();
	let specs = (
		vec![tensor_spec("x", &[None, Some(4)])],
		vec![
			typed_spec("probabilities", "Float32", &[None, Some(3)]),
			typed_spec("label", "Int64", &[None]),
		],
	);
	let id = publish_with(
		api,
		publisher,
		"iris-forest",
		&bytes,
		specs,
		common::market::PRICE,
		tolerance(ABS, REL),
		(vec![input].encode(), output.encode()),
	)
	.await;
	assert!(common::market::wait_for_admission(api, id).await, "iris-forest admitted");
	(id, all)
}

/// Rows `from..from + n` (cycling) of a `[rows, k]` tensor, as one input.
fn batch(all: &Tensor, from: usize, n: usize) -> Tensor {
	let rows = all.shape[0] as usize;
	let row = all.data.len() / rows;
	let data = (0..n).flat_map(|i| all.data[((from + i) % rows) * row..][..row].to_vec()).collect();
	Tensor { shape: vec![n as u32, all.shape[1]], data, ..all.clone() }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
	if sorted.is_empty() {
		return 0;
	}
	sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark of about 20 minutes: scripts/bench-load"]
async fn sustained_load_of_jobs_against_transfers() {
	let transfer_secs: u64 = env_or("VERITY_LOAD_TRANSFER_SECS", 120);
	let minutes: u64 = env_or("VERITY_LOAD_MINUTES", 10);
	let in_flight: u64 = env_or("VERITY_LOAD_IN_FLIGHT", 64);
	// Archive nodes: the report reads every block's state at the end.
	let net = Network::start(["none", "none", "none"], &["--state-pruning", "archive"]).await;
	let apis = [net.api(0).await, net.api(1).await, net.api(2).await];
	let api = &apis[0];
	let digits = publish_digits(api, &dev::charlie()).await;
	let (iris, iris_rows) = publish_iris(api, &dev::charlie()).await;
	let digits_rows = {
		let r = digits_reference();
		let data = r.inputs.iter().flat_map(|t| t.data.clone()).collect();
		Tensor { shape: vec![r.inputs.len() as u32, 64], data, ..r.inputs[0].clone() }
	};
	let senders = senders();
	println!("network up, models admitted; transfers for {transfer_secs} s");

	// 1. Transfers, as fast as the pools take them.
	let first_transfer_block = api.at_current_block().await.unwrap().block_number() + 1;
	let deadline = Instant::now() + Duration::from_secs(transfer_secs);
	let mut tasks = vec![];
	for (i, who) in senders.iter().cloned().enumerate() {
		let api = apis[i % 3].clone();
		tasks.push(tokio::spawn(async move {
			let mut next = nonce(&api, &who).await;
			let dest = dev::ferdie().public_key().0;
			let call = dynamic::transaction(
				"Balances",
				"transfer_keep_alive",
				(Value::unnamed_variant("Id", [Value::from_bytes(dest)]), Value::u128(1_000_000)),
			);
			while Instant::now() < deadline {
				// At most 256 ahead of the chain (the pool's future limit is
				// per account), in batches of 32 sent at once.
				if next >= nonce(&api, &who).await + 256 {
					tokio::time::sleep(Duration::from_millis(100)).await;
					continue;
				}
				let calls = vec![call.clone(); 32];
				let taken = send_batch(&api, &who, next, &calls).await;
				if taken == 32 {
					next += 32;
				} else {
					tokio::time::sleep(Duration::from_millis(100)).await;
					next = nonce(&api, &who).await.max(next + taken);
				}
			}
			next
		}));
	}
	let mut last_nonces = vec![];
	for t in tasks {
		last_nonces.push(t.await.unwrap());
	}
	// Until every sent transfer is in a block (or a minute passed).
	let drain = Instant::now() + Duration::from_secs(60);
	while Instant::now() < drain {
		let mut done = true;
		for (who, last) in senders.iter().zip(&last_nonces) {
			done &= nonce(api, who).await >= *last;
		}
		if done {
			break;
		}
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
	let last_transfer_block = api.at_current_block().await.unwrap().block_number();
	let mut transfers = 0u64;
	let mut last_with_transfers = first_transfer_block;
	for n in first_transfer_block..=last_transfer_block {
		let at = api.at_block(n).await.unwrap();
		let count = at
			.events()
			.fetch()
			.await
			.unwrap()
			.iter()
			.filter(|e| {
				let e = e.as_ref().unwrap();
				e.pallet_name() == "Balances" && e.event_name() == "Transfer"
			})
			.count() as u64;
		if count > 0 {
			last_with_transfers = n;
		}
		transfers += count;
	}
	let transfer_ms =
		timestamp(api, last_with_transfers).await - timestamp(api, first_transfer_block - 1).await;
	let tps = transfers as f64 * 1000.0 / transfer_ms as f64;
	let mut tx_blocks = vec![];
	for n in first_transfer_block..=last_with_transfers {
		tx_blocks.push(block_load(api, n).await);
	}
	println!(
		"transfers: {transfers} in {:.1} s (blocks {first_transfer_block}..={last_with_transfers}): {tps:.1}/s",
		transfer_ms as f64 / 1000.0
	);

	// 2. Jobs, mixed models, batch sizes and modes, at most `in_flight` open.
	let first_job_block = api.at_current_block().await.unwrap().block_number() + 1;
	let sent = Arc::new(AtomicU64::new(0));
	let ended = Arc::new(AtomicU64::new(0));
	// Follows the chain: counts ended jobs, so that senders keep the load.
	let follower = {
		let (api, ended) = (api.clone(), ended.clone());
		tokio::spawn(async move {
			let mut next = first_job_block;
			loop {
				let head = api.at_current_block().await.unwrap().block_number();
				if next <= head {
					let done = events_between(&api, next, head)
						.await
						.into_iter()
						.filter(|(pallet, name, _)| {
							pallet == "Inference"
								&& matches!(name.as_str(), "JobSettled" | "JobFailed")
						})
						.count();
					ended.fetch_add(done as u64, Ordering::SeqCst);
					next = head + 1;
				}
				tokio::time::sleep(Duration::from_millis(500)).await;
			}
		})
	};
	let window = Duration::from_secs(minutes * 60);
	let deadline = Instant::now() + window;
	println!("jobs for {minutes} min, at most {in_flight} open");
	let mut tasks = vec![];
	for (i, who) in senders.iter().cloned().enumerate() {
		let api = apis[i % 3].clone();
		let (sent, ended) = (sent.clone(), ended.clone());
		let (digits_rows, iris_rows) = (digits_rows.clone(), iris_rows.clone());
		tasks.push(tokio::spawn(async move {
			let mut next = nonce(&api, &who).await;
			let mut k = i;
			while Instant::now() < deadline {
				if sent.load(Ordering::SeqCst) >= ended.load(Ordering::SeqCst) + in_flight {
					tokio::time::sleep(Duration::from_millis(200)).await;
					continue;
				}
				k += 1;
				let (model, input) = match k % 5 {
					0 => (digits, batch(&digits_rows, k, 1)),
					1 => (digits, batch(&digits_rows, k, 4)),
					2 => (digits, batch(&digits_rows, k, 16)),
					3 => (iris, batch(&iris_rows, k, 1)),
					_ => (iris, batch(&iris_rows, k, 8)),
				};
				let mode = if k % 2 == 0 { "Optimistic" } else { "Vanilla" };
				let call = dynamic::transaction(
					"Inference",
					"submit_job",
					(
						Value::from_bytes(model),
						Value::from_bytes(vec![input].encode()),
						Value::u128(FEE * 4),
						Value::unnamed_variant(mode, []),
					),
				);
				if send(&api, &who, next, &call).await {
					next += 1;
					sent.fetch_add(1, Ordering::SeqCst);
				} else {
					tokio::time::sleep(Duration::from_millis(200)).await;
					next = nonce(&api, &who).await;
				}
			}
		}));
	}
	for t in tasks {
		t.await.unwrap();
	}
	let window_end_block = api.at_current_block().await.unwrap().block_number();
	let submitted = sent.load(Ordering::SeqCst);
	println!("{submitted} jobs sent; waiting for them to end");
	let drain = Instant::now() + Duration::from_secs(300);
	while Instant::now() < drain && ended.load(Ordering::SeqCst) < submitted {
		tokio::time::sleep(Duration::from_secs(2)).await;
	}
	// Two more blocks, so that the follower has read the last one.
	tokio::time::sleep(Duration::from_secs(6)).await;
	follower.abort();
	let last_block = api.at_current_block().await.unwrap().block_number();

	// Every job's story, from the chain's events.
	#[derive(Default)]
	struct Story {
		submitted: u64,
		result: Option<u64>,
		ended: Option<(u64, bool)>,
	}
	let mut jobs: BTreeMap<u64, Story> = BTreeMap::new();
	let mut failed_extrinsics = 0;
	let mut job_blocks = vec![];
	let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
	for n in first_job_block..=last_block {
		let at = api.at_block(n).await.unwrap();
		for e in at.events().fetch().await.unwrap().iter() {
			let e = e.unwrap();
			let f = e.decode_fields_unchecked_as::<Value>().unwrap();
			let job = || f.at("job").and_then(|v| v.as_u128()).unwrap() as u64;
			match (e.pallet_name(), e.event_name()) {
				("Inference", "JobSubmitted") => {
					let requester = account_of(f.at("requester").unwrap());
					if senders.iter().any(|s| s.public_key().0 == requester) {
						jobs.insert(job(), Story { submitted: n, ..Default::default() });
					}
				}
				("Inference", "ResultSubmitted") => {
					if let Some(s) = jobs.get_mut(&job()) {
						s.result.get_or_insert(n);
					}
				}
				("Inference", "JobSettled") => {
					if let Some(s) = jobs.get_mut(&job()) {
						s.ended = Some((n, true));
					}
				}
				("Inference", "JobFailed") => {
					if let Some(s) = jobs.get_mut(&job()) {
						s.ended = Some((n, false));
						let reason =
							subxt::ext::scale_value::stringify::to_string(f.at("reason").unwrap());
						*reasons.entry(reason).or_default() += 1;
					}
				}
				("System", "ExtrinsicFailed") => failed_extrinsics += 1,
				_ => {}
			}
		}
		if n <= window_end_block {
			job_blocks.push(block_load(api, n).await);
		}
	}
	let settled = jobs.values().filter(|s| matches!(s.ended, Some((_, true)))).count();
	let failed = jobs.values().filter(|s| matches!(s.ended, Some((_, false)))).count();
	let lost = jobs.values().filter(|s| s.ended.is_none()).count();
	let mut latency: Vec<u64> =
		jobs.values().filter_map(|s| s.result.map(|r| r - s.submitted)).collect();
	latency.sort();
	let mut to_end: Vec<u64> =
		jobs.values().filter_map(|s| s.ended.map(|(e, _)| e - s.submitted)).collect();
	to_end.sort();
	let last_end =
		jobs.values().filter_map(|s| s.ended.map(|(e, _)| e)).max().unwrap_or(last_block);
	let job_ms = timestamp(api, last_end).await - timestamp(api, first_job_block - 1).await;
	let jps = (settled + failed) as f64 * 1000.0 / job_ms as f64;
	let mean = |v: &[(usize, f64)]| {
		let n = v.len().max(1) as f64;
		(v.iter().map(|b| b.0 as f64).sum::<f64>() / n, v.iter().map(|b| b.1).sum::<f64>() / n)
	};
	let (tx_ext, tx_weight) = mean(&tx_blocks);
	let (job_ext, job_weight) = mean(&job_blocks);

	println!("\n| run | count | seconds | per second | blocks | extrinsics per block | normal weight used |");
	println!("|---|---:|---:|---:|---:|---:|---:|");
	println!(
		"| transfers | {transfers} | {:.1} | {tps:.2} | {} | {tx_ext:.1} | {:.1} % |",
		transfer_ms as f64 / 1000.0,
		tx_blocks.len(),
		tx_weight * 100.0
	);
	println!(
		"| jobs (ended) | {} | {:.1} | {jps:.2} | {} | {job_ext:.1} | {:.1} % |",
		settled + failed,
		job_ms as f64 / 1000.0,
		last_end - first_job_block + 1,
		job_weight * 100.0
	);
	println!(
		"\njobs: {} submitted on chain ({submitted} sent), {settled} settled, {failed} failed {reasons:?}, {lost} lost; {failed_extrinsics} failed extrinsics",
		jobs.len()
	);
	println!(
		"result latency in blocks: p50 {} p90 {} p99 {} max {}; submission to end: p50 {} p90 {} p99 {}",
		percentile(&latency, 0.5),
		percentile(&latency, 0.9),
		percentile(&latency, 0.99),
		latency.last().copied().unwrap_or(0),
		percentile(&to_end, 0.5),
		percentile(&to_end, 0.9),
		percentile(&to_end, 0.99),
	);
	println!("jobs per second / transfers per second: {:.1} %", jps / tps * 100.0);
	assert_eq!(lost, 0, "no job may be lost");
}
