//! Command-line interface of `verity-node`.

/// Subcommands besides running the node.
#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
	/// Key management (generate, inspect, insert keys).
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),

	/// Build a chain specification.
	#[deprecated(note = "build-spec will be removed; use export-chain-spec")]
	BuildSpec(sc_cli::BuildSpecCmd),

	/// Export the chain specification.
	ExportChainSpec(sc_cli::ExportChainSpecCmd),

	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),

	/// Export blocks.
	ExportBlocks(sc_cli::ExportBlocksCmd),

	/// Export the state of a given block into a chain spec.
	ExportState(sc_cli::ExportStateCmd),

	/// Import blocks.
	ImportBlocks(sc_cli::ImportBlocksCmd),

	/// Remove the whole chain.
	PurgeChain(sc_cli::PurgeChainCmd),

	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),

	/// Benchmark the runtime's pallets (`benchmark pallet`) and more. Needs a
	/// node built with `--features runtime-benchmarks`.
	#[cfg(feature = "runtime-benchmarks")]
	#[command(subcommand)]
	Benchmark(frame_benchmarking_cli::BenchmarkCmd),

	/// Database metadata.
	ChainInfo(sc_cli::ChainInfoCmd),
}

/// `verity-node`'s arguments.
#[derive(Debug, clap::Parser)]
#[command(propagate_version = true, args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Cli {
	/// A subcommand; without one, the node runs.
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	/// Options of a running node.
	#[clap(flatten)]
	pub run: sc_cli::RunCmd,

	/// Options of the development chain.
	#[clap(flatten)]
	pub dev: DevParams,
}

/// Options that only apply to a development chain (`--dev`, `--chain dev`).
#[derive(Debug, Clone, clap::Args)]
pub struct DevParams {
	/// Milliseconds between two sealed blocks; 0 seals only on the
	/// `engine_createBlock` RPC. Chain time never goes backwards, and each block
	/// advances it by at least one Aura slot (2 s): with a block time under 2 s
	/// the chain's clock runs ahead of the wall clock.
	#[arg(long, value_name = "MS", default_value_t = 2000)]
	pub dev_block_time: u64,
}
