//! Prometheus metrics of what the chain says about this node's own keys and
//! of the market's state, on the node's endpoint (`--prometheus-port`).
//!
//! They come from imported blocks, not from the offchain worker's view: for
//! every finalized block (each exactly once, also those finalized together),
//! the node reads `System::Events` and counts the inference pallet's events
//! that name one of the `vrty` keys in its keystore:
//!
//! * `verity_jobs_executed_total`: results this node's executors revealed
//!   (`ResultSubmitted`);
//! * `verity_verdicts_total{vote}`: dispute verdicts its verifiers revealed
//!   (`VerdictSubmitted`), by vote (`agrees`, `disagrees`, `unrunnable`,
//!   `input_too_large`);
//! * `verity_audits_total{outcome}`: its verifiers' audits, `passed`
//!   (`AuditPassed`) or `lapsed` (`AuditLapsed`);
//! * `verity_challenges_total`: results its verifiers challenged
//!   (`JobChallenged`, e.g. after an audit that disagreed);
//! * `verity_slashes_total`: slashes of its accounts (`Slashed`).
//!
//! And, read from the finalized state: `verity_open_jobs` (jobs neither
//! settled nor failed, queued ones included: the pallet's `JobsInFlight`
//! summed over models) and `verity_open_disputes` (entries of the pallet's
//! `Disputes`).

use std::{collections::BTreeSet, sync::Arc};

use futures::StreamExt;
use prometheus_endpoint::{register, CounterVec, Gauge, Opts, PrometheusError, Registry, U64};
use sc_client_api::{BlockchainEvents, StorageProvider};
use sp_core::crypto::AccountId32;
use sp_io::hashing::twox_128;
use sp_keystore::KeystorePtr;
use sp_runtime::codec::Decode;
use sp_runtime::traits::Block as BlockT;
use verity_runtime::{opaque::Block, RuntimeEvent};

type Counter = prometheus_endpoint::Counter<U64>;

/// The chain's metrics for this node.
#[derive(Clone)]
pub struct ChainMetrics {
	executed: Counter,
	verdicts: CounterVec<U64>,
	audits: CounterVec<U64>,
	challenges: Counter,
	slashes: Counter,
	open_jobs: Gauge<U64>,
	open_disputes: Gauge<U64>,
}

impl ChainMetrics {
	/// Registers the metrics in `registry`.
	pub fn register(registry: &Registry) -> Result<Self, PrometheusError> {
		let counter = |name: &str, help: &str| register(Counter::new(name, help)?, registry);
		let counter_vec = |name: &str, help: &str, label: &str| {
			register(CounterVec::new(Opts::new(name, help), &[label])?, registry)
		};
		let gauge = |name: &str, help: &str| register(Gauge::new(name, help)?, registry);
		Ok(ChainMetrics {
			executed: counter(
				"verity_jobs_executed_total",
				"Results revealed on chain by this node's executor keys",
			)?,
			verdicts: counter_vec(
				"verity_verdicts_total",
				"Dispute verdicts revealed on chain by this node's verifier keys, by vote",
				"vote",
			)?,
			audits: counter_vec(
				"verity_audits_total",
				"Audits by this node's verifier keys, by outcome (passed, lapsed)",
				"outcome",
			)?,
			challenges: counter(
				"verity_challenges_total",
				"Results challenged on chain by this node's verifier keys",
			)?,
			slashes: counter("verity_slashes_total", "Slashes of this node's accounts")?,
			open_jobs: gauge(
				"verity_open_jobs",
				"Jobs queued or running (neither settled nor failed), at the finalized block",
			)?,
			open_disputes: gauge(
				"verity_open_disputes",
				"Disputes not yet resolved, at the finalized block",
			)?,
		})
	}

	/// Counts `events` that name one of `mine`.
	fn count(&self, events: &[RuntimeEvent], mine: &BTreeSet<AccountId32>) {
		use pallet_inference::{Event as E, Vote};
		for event in events {
			let RuntimeEvent::Inference(event) = event else { continue };
			match event {
				E::ResultSubmitted { executor, .. } if mine.contains(executor) => {
					self.executed.inc()
				}
				E::VerdictSubmitted { verifier, vote, .. } if mine.contains(verifier) => {
					let vote = match vote {
						Vote::Agrees => "agrees",
						Vote::Disagrees { .. } => "disagrees",
						Vote::Unrunnable => "unrunnable",
						Vote::InputTooLarge => "input_too_large",
					};
					self.verdicts.with_label_values(&[vote]).inc()
				}
				E::AuditPassed { auditor, .. } if mine.contains(auditor) => {
					self.audits.with_label_values(&["passed"]).inc()
				}
				E::AuditLapsed { auditor, .. } if mine.contains(auditor) => {
					self.audits.with_label_values(&["lapsed"]).inc()
				}
				E::JobChallenged { challenger: Some(who), .. } if mine.contains(who) => {
					self.challenges.inc()
				}
				E::Slashed { who, .. } if mine.contains(who) => self.slashes.inc(),
				_ => {}
			}
		}
	}
}

/// The key of storage item `item` of pallet `pallet` (its prefix, for maps).
fn storage_prefix(pallet: &str, item: &str) -> Vec<u8> {
	[twox_128(pallet.as_bytes()), twox_128(item.as_bytes())].concat()
}

/// The accounts of the `vrty` keys in the keystore now (keys can be added
/// while the node runs).
fn my_accounts(keystore: &KeystorePtr) -> BTreeSet<AccountId32> {
	keystore
		.sr25519_public_keys(pallet_inference::offchain::KEY_TYPE)
		.into_iter()
		.map(AccountId32::from)
		.collect()
}

/// Follows finality and updates `metrics` for every finalized block, until
/// the node stops.
pub async fn run<C, B>(client: Arc<C>, keystore: KeystorePtr, metrics: ChainMetrics)
where
	C: BlockchainEvents<Block> + StorageProvider<Block, B> + Send + Sync,
	B: sc_client_api::Backend<Block>,
{
	let events_key = sp_core::storage::StorageKey(storage_prefix("System", "Events"));
	let mut finality = client.finality_notification_stream();
	while let Some(notification) = finality.next().await {
		let mine = my_accounts(&keystore);
		// The blocks finalized with this one, oldest first, then itself.
		let hashes = notification.tree_route.iter().copied().chain([notification.hash]);
		for hash in hashes {
			let Ok(Some(data)) = client.storage(hash, &events_key) else { continue };
			type Records = Vec<frame_system::EventRecord<RuntimeEvent, <Block as BlockT>::Hash>>;
			match Records::decode(&mut &data.0[..]) {
				Ok(records) => {
					let events: Vec<RuntimeEvent> = records.into_iter().map(|r| r.event).collect();
					metrics.count(&events, &mine);
				}
				Err(e) => log::warn!(target: "verity", "cannot decode the events of {hash}: {e}"),
			}
		}
		let hash = notification.hash;
		let in_flight: u64 = client
			.storage_pairs(
				hash,
				Some(&sp_core::storage::StorageKey(storage_prefix("Inference", "JobsInFlight"))),
				None,
			)
			.map(|pairs| {
				pairs.filter_map(|(_, v)| u32::decode(&mut &v.0[..]).ok()).map(u64::from).sum()
			})
			.unwrap_or_default();
		let disputes = client
			.storage_keys(
				hash,
				Some(&sp_core::storage::StorageKey(storage_prefix("Inference", "Disputes"))),
				None,
			)
			.map(|keys| keys.count() as u64)
			.unwrap_or_default();
		metrics.open_jobs.set(in_flight);
		metrics.open_disputes.set(disputes);
	}
}
