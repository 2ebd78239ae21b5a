//! Assembles the node: client, database, transaction pool, networking, RPC,
//! offchain workers and consensus.
//!
//! Two consensus set-ups share one runtime:
//! * [`Consensus::ManualSeal`] (a development chain): the node seals a block
//!   every `--dev-block-time` ms, and on `engine_createBlock`. Each block
//!   carries a BABE pre-digest with the dev authority's VRF output for its
//!   slot (BABE's consensus data provider, imported through BABE's block
//!   import), so the runtime sees the same randomness as on a real network;
//!   blocks are final as soon as they are sealed.
//! * [`Consensus::BabeGrandpa`] (every other chain): BABE slots (primary and
//!   secondary VRF slots) for block production, GRANDPA for finality.
//!
//! Both go through the same import pipeline: GRANDPA's block import wrapped
//! in BABE's, which tracks epochs and checks each imported block's inherents
//! against this node's clock.

use std::{sync::Arc, time::Duration};

use futures::FutureExt;
use sc_client_api::{Backend, BlockBackend};
use sc_consensus_babe::{BabeLink, SlotProportion};
use sc_consensus_grandpa::SharedVoterState;
use sc_service::{error::Error as ServiceError, Configuration, TaskManager, WarpSyncConfig};
use sc_telemetry::{Telemetry, TelemetryWorker};
use sc_transaction_pool_api::OffchainTransactionPoolFactory;
use sp_runtime::traits::Block as BlockT;
use verity_runtime::{opaque::Block, RuntimeApi};

/// Host functions Verity adds to substrate's own: the inference engine.
pub type HostFunctions = verity_engine_interface::host::verity_inference::HostFunctions;

/// The executor of the runtime's wasm.
pub type Executor = sc_executor::WasmExecutor<(sp_io::SubstrateHostFunctions, HostFunctions)>;

/// The full client.
pub type FullClient = sc_service::TFullClient<Block, RuntimeApi, Executor>;
type FullBackend = sc_service::TFullBackend<Block>;
type FullSelectChain = sc_consensus::LongestChain<FullBackend, Block>;
type GrandpaLink = sc_consensus_grandpa::LinkHalf<Block, FullClient, FullSelectChain>;

/// Blocks between two GRANDPA justifications that are stored.
const GRANDPA_JUSTIFICATION_PERIOD: u32 = 512;

/// How the node produces and finalizes blocks.
#[derive(Debug, Clone, Copy)]
pub enum Consensus {
	/// Seal blocks ourselves every `block_time_ms` (0: only on RPC), final at once.
	ManualSeal {
		/// Milliseconds between blocks.
		block_time_ms: u64,
	},
	/// BABE block production with GRANDPA finality.
	BabeGrandpa,
}

/// The parts subcommands need (check-block, export, revert, ...).
pub type Service = sc_service::PartialComponents<
	FullClient,
	FullBackend,
	FullSelectChain,
	sc_consensus::DefaultImportQueue<Block>,
	sc_transaction_pool::TransactionPoolHandle<Block, FullClient>,
	(sc_consensus::BoxBlockImport<Block>, BabeLink<Block>, GrandpaLink, Option<Telemetry>),
>;

/// Use ParityDB unless the operator chose a database: this node is built
/// without RocksDB.
pub fn prefer_paritydb(config: &mut Configuration) {
	if let sc_service::config::DatabaseSource::Auto { paritydb_path, .. } = &config.database {
		config.database =
			sc_service::config::DatabaseSource::ParityDb { path: paritydb_path.clone() };
	}
}

fn is_dev(config: &Configuration) -> bool {
	config.chain_spec.chain_type() == sc_service::ChainType::Development
}

/// Builds the client, pool and import queue.
pub fn new_partial(config: &Configuration) -> Result<Service, ServiceError> {
	let telemetry = config
		.telemetry_endpoints
		.clone()
		.filter(|x| !x.is_empty())
		.map(|endpoints| -> Result<_, sc_telemetry::Error> {
			let worker = TelemetryWorker::new(16)?;
			let telemetry = worker.handle().new_telemetry(endpoints);
			Ok((worker, telemetry))
		})
		.transpose()?;

	let executor = sc_service::new_wasm_executor(&config.executor);
	let (client, backend, keystore_container, task_manager) =
		sc_service::new_full_parts::<Block, RuntimeApi, _>(
			config,
			telemetry.as_ref().map(|(_, telemetry)| telemetry.handle()),
			executor,
			Vec::new(),
		)?;
	let client = Arc::new(client);

	let telemetry = telemetry.map(|(worker, telemetry)| {
		task_manager.spawn_handle().spawn("telemetry", None, worker.run());
		telemetry
	});

	let select_chain = sc_consensus::LongestChain::new(backend.clone());

	let transaction_pool = Arc::from(
		sc_transaction_pool::Builder::new(
			task_manager.spawn_essential_handle(),
			client.clone(),
			config.role.is_authority().into(),
		)
		.with_options(config.transaction_pool.clone())
		.with_prometheus(config.prometheus_registry())
		.build(),
	);

	let (grandpa_block_import, grandpa_link) = sc_consensus_grandpa::block_import(
		client.clone(),
		GRANDPA_JUSTIFICATION_PERIOD,
		&client,
		select_chain.clone(),
		telemetry.as_ref().map(|x| x.handle()),
	)?;

	// How this node checks an imported block's inherents: against its own
	// clock (a dev chain's clock: see `dev_block_timestamp`).
	let dev = is_dev(config);
	let cidp_client = client.clone();
	let create_inherent_data_providers = move |parent: <Block as BlockT>::Hash, ()| {
		let client = cidp_client.clone();
		async move {
			let slot_duration = sc_consensus_babe::configuration(&*client)?.slot_duration();
			let timestamp = if dev {
				dev_block_timestamp(&client, parent, slot_duration)
			} else {
				sp_timestamp::Timestamp::current().as_millis()
			};
			let timestamp = sp_timestamp::InherentDataProvider::new(timestamp.into());
			let slot =
				sp_consensus_babe::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
					*timestamp,
					slot_duration,
				);
			Ok((slot, timestamp))
		}
	};
	let (block_import, babe_link) = sc_consensus_babe::block_import(
		sc_consensus_babe::configuration(&*client)?,
		grandpa_block_import.clone(),
		client.clone(),
		create_inherent_data_providers,
		select_chain.clone(),
		OffchainTransactionPoolFactory::new(transaction_pool.clone()),
	)?;

	let import_queue = if dev {
		// Sealed blocks carry no BABE seal: the manual-seal verifier reads
		// the epoch from the pre-digest, and BABE's import tracks epochs.
		let verifier = sc_consensus_manual_seal::consensus::babe::BabeVerifier::new(
			babe_link.epoch_changes().clone(),
			client.clone(),
		);
		sc_consensus::BasicQueue::new(
			verifier,
			Box::new(block_import.clone()),
			None,
			&task_manager.spawn_essential_handle(),
			config.prometheus_registry(),
		)
	} else {
		let slot_duration = babe_link.config().slot_duration();
		let (import_queue, worker) =
			sc_consensus_babe::import_queue(sc_consensus_babe::ImportQueueParams {
				link: babe_link.clone(),
				block_import: block_import.clone(),
				justification_import: Some(Box::new(grandpa_block_import)),
				client: client.clone(),
				slot_duration,
				spawner: &task_manager.spawn_essential_handle(),
				registry: config.prometheus_registry(),
				telemetry: telemetry.as_ref().map(|x| x.handle()),
			})?;
		// BABE's worker answers epoch queries while a handle to it exists
		// (its RPC's use); without one it ends, and it is an essential task.
		task_manager.spawn_handle().spawn("babe-worker-handle", None, async move {
			let _handle = worker;
			futures::future::pending::<()>().await
		});
		import_queue
	};

	Ok(sc_service::PartialComponents {
		client,
		backend,
		task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (Box::new(block_import), babe_link, grandpa_link, telemetry),
	})
}

/// What a full node does for the inference market besides following the chain.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
	/// Whether this node's verifier re-executes every optimistic result
	/// (`--watch all`); told to the offchain worker through the node's
	/// persistent offchain storage.
	pub watch: bool,
	/// Whether to put the `vrty` keys of the development genesis' executors
	/// and verifiers into the keystore (`--dev` without
	/// `--no-dev-inference-keys`).
	pub dev_inference_keys: bool,
}

/// Puts the `vrty` key of every development executor and verifier into
/// `keystore`, so that the offchain worker signs for each of them.
fn insert_dev_inference_keys(keystore: &dyn sp_keystore::Keystore) -> Result<(), ServiceError> {
	use verity_runtime::genesis::{GENESIS_EXECUTORS, GENESIS_VERIFIERS};
	for account in GENESIS_EXECUTORS.into_iter().chain(GENESIS_VERIFIERS) {
		let suri = account.to_seed();
		keystore
			.insert(pallet_inference::offchain::KEY_TYPE, &suri, &account.public().0)
			.map_err(|()| ServiceError::Other(format!("cannot store the `vrty` key {suri}")))?;
	}
	log::info!(
		target: "verity",
		"🔑 Development keystore: the vrty keys of Alice and Bob (executors) and Charlie, Dave, Eve and Ferdie (verifiers)"
	);
	Ok(())
}

/// Builds and starts a full node with the given consensus, market `options`
/// and inference engine.
pub fn new_full<N: sc_network::NetworkBackend<Block, <Block as BlockT>::Hash>>(
	config: Configuration,
	consensus: Consensus,
	options: Options,
	sandbox: Arc<verity_engine::sandbox::Sandbox>,
) -> Result<TaskManager, ServiceError> {
	// The engine the offchain workers reach, timed and counted when the node
	// serves metrics.
	let engine: Arc<dyn verity_engine::InferenceEngine> = match config.prometheus_registry() {
		Some(registry) => Arc::new(crate::metrics::MeteredEngine::new(
			sandbox,
			crate::metrics::EngineMetrics::register(registry)
				.map_err(|e| ServiceError::Other(format!("engine metrics: {e}")))?,
		)),
		None => sandbox,
	};
	let sc_service::PartialComponents {
		client,
		backend,
		mut task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (block_import, babe_link, grandpa_link, mut telemetry),
	} = new_partial(&config)?;
	let dev = matches!(consensus, Consensus::ManualSeal { .. });

	let mut net_config = sc_network::config::FullNetworkConfiguration::<
		Block,
		<Block as BlockT>::Hash,
		N,
	>::new(&config.network, config.prometheus_registry().cloned());
	let metrics = N::register_notification_metrics(config.prometheus_registry());

	// GRANDPA's gossip protocol and warp sync, on chains that finalize with it.
	let mut grandpa_net = None;
	let mut warp_sync_config = None;
	if !dev {
		let link = &grandpa_link;
		let protocol_name = sc_consensus_grandpa::protocol_standard_name(
			&client.block_hash(0).ok().flatten().expect("Genesis block exists; qed"),
			&config.chain_spec,
		);
		let (protocol_config, notification_service) =
			sc_consensus_grandpa::grandpa_peers_set_config::<_, N>(
				protocol_name.clone(),
				metrics.clone(),
				net_config.peer_store_handle(),
			);
		net_config.add_notification_protocol(protocol_config);
		warp_sync_config = Some(WarpSyncConfig::WithProvider(Arc::new(
			sc_consensus_grandpa::warp_proof::NetworkProvider::new(
				backend.clone(),
				link.shared_authority_set().clone(),
				Vec::default(),
			),
		)));
		grandpa_net = Some((protocol_name, notification_service));
	}

	let (network, system_rpc_tx, tx_handler_controller, sync_service, _bitswap) =
		sc_service::build_network(sc_service::BuildNetworkParams {
			config: &config,
			net_config,
			client: client.clone(),
			transaction_pool: transaction_pool.clone(),
			spawn_handle: task_manager.spawn_handle(),
			spawn_essential_handle: task_manager.spawn_essential_handle(),
			import_queue,
			block_announce_validator_builder: None,
			warp_sync_config,
			block_relay: None,
			metrics,
			gap_sync_body_policy: None,
		})?;

	if let Some(mut storage) = backend.offchain_storage() {
		use sp_core::offchain::OffchainStorage;
		storage.set(
			sp_core::offchain::STORAGE_PREFIX,
			verity_engine::WATCH_ALL_KEY,
			&[u8::from(options.watch)],
		);
	}
	if options.dev_inference_keys {
		insert_dev_inference_keys(&*keystore_container.keystore())?;
	}
	if let Some(registry) = config.prometheus_registry() {
		let metrics = crate::chain_metrics::ChainMetrics::register(registry)
			.map_err(|e| ServiceError::Other(format!("chain metrics: {e}")))?;
		task_manager.spawn_handle().spawn(
			"verity-chain-metrics",
			None,
			crate::chain_metrics::run(client.clone(), keystore_container.keystore(), metrics),
		);
	}
	if config.offchain_worker.enabled {
		let offchain_workers =
			sc_offchain::OffchainWorkers::new(sc_offchain::OffchainWorkerOptions {
				runtime_api_provider: client.clone(),
				is_validator: config.role.is_authority(),
				keystore: Some(keystore_container.keystore()),
				offchain_db: backend.offchain_storage(),
				transaction_pool: Some(OffchainTransactionPoolFactory::new(
					transaction_pool.clone(),
				)),
				network_provider: Arc::new(network.clone()),
				enable_http_requests: false,
				// The inference engine, for the `verity_inference` host functions.
				custom_extensions: move |_| {
					vec![Box::new(verity_engine::InferenceExt::new(engine.clone())) as Box<_>]
				},
			})?;
		task_manager.spawn_handle().spawn(
			"offchain-workers-runner",
			"offchain-worker",
			offchain_workers.run(client.clone(), task_manager.spawn_handle()).boxed(),
		);
	}

	// Manual seal is driven through this channel, by a timer and by RPC.
	let seal_channel = match consensus {
		Consensus::ManualSeal { .. } => Some(futures::channel::mpsc::channel(1024)),
		Consensus::BabeGrandpa => None,
	};
	let seal_sink = seal_channel.as_ref().map(|(sink, _)| sink.clone());

	let role = config.role;
	let force_authoring = config.force_authoring;
	let name = config.network.node_name.clone();
	let enable_grandpa = !config.disable_grandpa;
	let prometheus_registry = config.prometheus_registry().cloned();

	let rpc_extensions_builder = {
		let client = client.clone();
		let pool = transaction_pool.clone();
		Box::new(move |_| {
			let deps = crate::rpc::FullDeps {
				client: client.clone(),
				pool: pool.clone(),
				seal: seal_sink.clone(),
			};
			crate::rpc::create_full(deps).map_err(Into::into)
		})
	};

	let _rpc_handlers = sc_service::spawn_tasks(sc_service::SpawnTasksParams {
		network: network.clone(),
		client: client.clone(),
		keystore: keystore_container.keystore(),
		task_manager: &mut task_manager,
		transaction_pool: transaction_pool.clone(),
		rpc_builder: rpc_extensions_builder,
		backend,
		system_rpc_tx,
		tx_handler_controller,
		sync_service: sync_service.clone(),
		config,
		telemetry: telemetry.as_mut(),
		tracing_execute_block: None,
	})?;

	let proposer_factory = sc_basic_authorship::ProposerFactory::new(
		task_manager.spawn_handle(),
		client.clone(),
		transaction_pool.clone(),
		prometheus_registry.as_ref(),
		telemetry.as_ref().map(|x| x.handle()),
	);

	if let (Consensus::ManualSeal { block_time_ms }, Some((sink, commands_stream))) =
		(consensus, seal_channel)
	{
		if block_time_ms > 0 {
			let mut sink = sink;
			task_manager.spawn_handle().spawn("dev-block-timer", None, async move {
				use sc_consensus_manual_seal::EngineCommand;
				loop {
					futures_timer::Delay::new(Duration::from_millis(block_time_ms)).await;
					// Sealed first, then finalized: finalizing while importing
					// would tell BABE's aux-data cleanup about a block whose
					// header is not in the database yet.
					let (sender, created) = futures::channel::oneshot::channel();
					let command = EngineCommand::SealNewBlock {
						create_empty: true,
						finalize: false,
						parent_hash: None,
						sender: Some(sender),
					};
					if let Err(e) = sink.try_send(command) {
						if e.is_disconnected() {
							break;
						}
						log::warn!(target: "verity", "block sealing is behind: {e}");
						continue;
					}
					let Ok(Ok(block)) = created.await else { continue };
					let command = EngineCommand::FinalizeBlock {
						hash: block.hash,
						sender: None,
						justification: None,
					};
					if sink.try_send(command).is_err_and(|e| e.is_disconnected()) {
						break;
					}
				}
			});
		}

		let slot_duration = babe_link.config().slot_duration();
		let cidp_client = client.clone();
		let consensus_data_provider =
			sc_consensus_manual_seal::consensus::babe::BabeConsensusDataProvider::new(
				client.clone(),
				keystore_container.keystore(),
				babe_link.epoch_changes().clone(),
				babe_link.config().authorities.clone(),
			)
			.map_err(|e| ServiceError::Other(format!("BABE for manual seal: {e}")))?;
		let params = sc_consensus_manual_seal::ManualSealParams {
			block_import,
			env: proposer_factory,
			client: client.clone(),
			pool: transaction_pool,
			select_chain,
			commands_stream: Box::pin(commands_stream),
			consensus_data_provider: Some(Box::new(consensus_data_provider)),
			create_inherent_data_providers: move |parent, ()| {
				let client = cidp_client.clone();
				async move {
					let timestamp = dev_block_timestamp(&client, parent, slot_duration);
					let timestamp = sp_timestamp::InherentDataProvider::new(timestamp.into());
					let slot =
						sp_consensus_babe::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
							*timestamp,
							slot_duration,
						);
					Ok((slot, timestamp))
				}
			},
		};
		task_manager.spawn_essential_handle().spawn_blocking(
			"manual-seal",
			None,
			sc_consensus_manual_seal::run_manual_seal(params),
		);
		return Ok(task_manager);
	}

	if role.is_authority() {
		let slot_duration = babe_link.config().slot_duration();
		let babe = sc_consensus_babe::start_babe(sc_consensus_babe::BabeParams {
			keystore: keystore_container.keystore(),
			client: client.clone(),
			select_chain,
			env: proposer_factory,
			block_import,
			sync_oracle: sync_service.clone(),
			justification_sync_link: sync_service.clone(),
			create_inherent_data_providers: move |_, ()| async move {
				let timestamp = sp_timestamp::InherentDataProvider::from_system_time();
				let slot =
					sp_consensus_babe::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
						*timestamp,
						slot_duration,
					);
				Ok((slot, timestamp))
			},
			force_authoring,
			backoff_authoring_blocks: Option::<()>::None,
			babe_link,
			block_proposal_slot_portion: SlotProportion::new(2f32 / 3f32),
			max_block_proposal_slot_portion: None,
			telemetry: telemetry.as_ref().map(|x| x.handle()),
		})?;
		task_manager.spawn_essential_handle().spawn_blocking(
			"babe-proposer",
			Some("block-authoring"),
			babe,
		);
	}

	if enable_grandpa {
		let (protocol_name, notification_service) =
			grandpa_net.expect("set up above together with `grandpa`; qed");
		let keystore = if role.is_authority() { Some(keystore_container.keystore()) } else { None };
		let grandpa_config = sc_consensus_grandpa::GrandpaParams {
			config: sc_consensus_grandpa::Config {
				gossip_duration: Duration::from_millis(333),
				justification_generation_period: GRANDPA_JUSTIFICATION_PERIOD,
				name: Some(name),
				observer_enabled: false,
				keystore,
				local_role: role,
				telemetry: telemetry.as_ref().map(|x| x.handle()),
				protocol_name,
			},
			link: grandpa_link,
			network,
			sync: Arc::new(sync_service),
			notification_service,
			voting_rule: sc_consensus_grandpa::VotingRulesBuilder::default().build(),
			prometheus_registry,
			shared_voter_state: SharedVoterState::empty(),
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			offchain_tx_pool_factory: OffchainTransactionPoolFactory::new(transaction_pool),
		};
		task_manager.spawn_essential_handle().spawn_blocking(
			"grandpa-voter",
			None,
			sc_consensus_grandpa::run_grandpa_voter(grandpa_config)?,
		);
	}

	Ok(task_manager)
}

/// The timestamp of a dev block on top of `parent`: the wall clock, but at
/// least one slot after the parent's slot, so that every block has a slot of
/// its own (BABE requires strictly increasing slots).
fn dev_block_timestamp(
	client: &FullClient,
	parent: <Block as BlockT>::Hash,
	slot_duration: sp_consensus_babe::SlotDuration,
) -> u64 {
	let now = sp_timestamp::Timestamp::current().as_millis();
	let step = slot_duration.as_millis();
	let parent_slot = client
		.header(parent)
		.ok()
		.flatten()
		.and_then(|h| sc_consensus_babe::find_pre_digest::<Block>(&h).ok())
		.map(|d| d.slot());
	match parent_slot {
		Some(slot) => now.max((u64::from(slot) + 1).saturating_mul(step)),
		None => now,
	}
}
