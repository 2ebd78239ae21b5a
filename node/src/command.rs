//! Dispatches `verity-node`'s subcommands.

use crate::{
	chain_spec,
	cli::{Cli, Subcommand},
	service,
};
use sc_cli::SubstrateCli;
use sc_service::PartialComponents;

impl SubstrateCli for Cli {
	fn impl_name() -> String {
		"Verity Node".into()
	}

	fn impl_version() -> String {
		env!("SUBSTRATE_CLI_IMPL_VERSION").into()
	}

	fn description() -> String {
		env!("CARGO_PKG_DESCRIPTION").into()
	}

	fn author() -> String {
		env!("CARGO_PKG_AUTHORS").into()
	}

	fn support_url() -> String {
		"https://example.invalid/verity/issues".into()
	}

	fn copyright_start_year() -> i32 {
		2026
	}

	fn load_spec(&self, id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
		Ok(match id {
			"dev" => Box::new(chain_spec::development_chain_spec()?),
			"" | "local" => Box::new(chain_spec::local_chain_spec()?),
			path => {
				Box::new(chain_spec::ChainSpec::from_json_file(std::path::PathBuf::from(path))?)
			}
		})
	}
}

/// Parses the command line and runs the node or the subcommand.
pub fn run() -> sc_cli::Result<()> {
	let cli = Cli::from_args();

	match &cli.subcommand {
		Some(Subcommand::InferenceWorker { limits, threads }) => {
			verity_engine::sandbox::serve(limits.as_deref(), *threads).map_err(Into::into)
		}
		Some(Subcommand::Key(cmd)) => cmd.run(&cli),
		#[allow(deprecated)]
		Some(Subcommand::BuildSpec(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.chain_spec, config.network))
		}
		Some(Subcommand::ExportChainSpec(cmd)) => {
			let chain_spec = cli.load_spec(&cmd.chain)?;
			cmd.run(chain_spec)
		}
		Some(Subcommand::CheckBlock(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		}
		Some(Subcommand::ExportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.database), task_manager))
			})
		}
		Some(Subcommand::ExportState(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.chain_spec), task_manager))
			})
		}
		Some(Subcommand::ImportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		}
		Some(Subcommand::PurgeChain(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.database))
		}
		Some(Subcommand::Revert(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, backend, .. } =
					service::new_partial(&config)?;
				let aux_revert =
					Box::new(|client: std::sync::Arc<service::FullClient>, backend, blocks| {
						sc_consensus_babe::revert(client.clone(), backend, blocks)?;
						sc_consensus_grandpa::revert(client, blocks)?;
						Ok(())
					});
				Ok((cmd.run(client, backend, Some(aux_revert)), task_manager))
			})
		}
		#[cfg(feature = "runtime-benchmarks")]
		Some(Subcommand::Benchmark(cmd)) => {
			use frame_benchmarking_cli::BenchmarkCmd;
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| match cmd {
				BenchmarkCmd::Pallet(cmd) => cmd.run_with_spec::<sp_runtime::traits::HashingFor<
					verity_runtime::Block,
				>, service::HostFunctions>(Some(
					config.chain_spec,
				)),
				_ => Err("verity-node implements `benchmark pallet` only".into()),
			})
		}
		Some(Subcommand::ChainInfo(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run::<verity_runtime::opaque::Block>(&config))
		}
		None => {
			let runner = cli.create_runner(&cli.run)?;
			let dev = cli.dev.clone();
			// The engine the offchain workers reach through the host functions.
			let engine =
				std::sync::Arc::new(verity_engine::sandbox::Sandbox::new(cli.inference.sandbox()));
			let watch = cli.inference.watch == crate::cli::Watch::All;
			let dev_keys = cli.run.shared_params.dev && !dev.no_dev_inference_keys;
			runner.run_node_until_exit(|mut config| async move {
				service::prefer_paritydb(&mut config);
				let is_dev = config.chain_spec.chain_type() == sc_service::ChainType::Development;
				let options = service::Options { watch, dev_inference_keys: dev_keys && is_dev };
				if is_dev {
					// Our pallets index data for their offchain workers.
					config.offchain_worker.indexing_enabled = true;
				}
				let consensus = if is_dev {
					service::Consensus::ManualSeal { block_time_ms: dev.dev_block_time }
				} else {
					service::Consensus::BabeGrandpa
				};
				match config.network.network_backend {
					sc_network::config::NetworkBackendType::Libp2p => {
						service::new_full::<
							sc_network::NetworkWorker<
								verity_runtime::opaque::Block,
								<verity_runtime::opaque::Block as sp_runtime::traits::Block>::Hash,
							>,
						>(config, consensus, options, engine)
						.map_err(sc_cli::Error::Service)
					}
					sc_network::config::NetworkBackendType::Litep2p => {
						service::new_full::<sc_network::Litep2pNetworkBackend>(
							config, consensus, options, engine,
						)
						.map_err(sc_cli::Error::Service)
					}
				}
			})
		}
	}
}
