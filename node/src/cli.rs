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

	/// The sandboxed inference engine process the node starts for itself
	/// (it speaks a binary protocol on stdin/stdout; not for interactive use).
	#[command(hide = true)]
	InferenceWorker {
		/// Hex-encoded engine limits, passed by the node.
		limits: Option<String>,
		/// The engine's threads, passed by the node.
		threads: Option<usize>,
	},
}

/// `verity-node`'s arguments.
#[derive(Debug, clap::Parser)]
#[command(
	propagate_version = true,
	args_conflicts_with_subcommands = true,
	subcommand_negates_reqs = true
)]
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

	/// Options of the inference engine.
	#[clap(flatten)]
	pub inference: InferenceParams,
}

/// Options of the inference engine behind the host functions.
#[derive(Debug, Clone, clap::Args)]
pub struct InferenceParams {
	/// Wall-clock limit of one inference, in milliseconds.
	#[arg(long, value_name = "MS", default_value_t = 10_000)]
	pub inference_timeout_ms: u64,

	/// Memory limit of the inference worker process, in MiB.
	#[arg(long, value_name = "MIB", default_value_t = 4096)]
	pub inference_memory_mib: u64,

	/// Largest model the engine loads, in MiB.
	#[arg(long, value_name = "MIB", default_value_t = 64)]
	pub inference_max_model_mib: u64,

	/// Fault injection, for tests and demos: `none`, `always`, or a rate in
	/// [0, 1]. This node's executor then posts perturbed outputs (its
	/// verifier still re-executes honestly).
	#[arg(long, value_name = "FAULT", default_value = "none")]
	pub inference_fault: verity_engine::sandbox::Fault,

	/// Fault injection, for tests: every run (a job executed, audited or
	/// verified, or an admission check) waits this long before it starts, so that a test can kill
	/// the node while it runs one.
	#[arg(long, value_name = "MS", default_value_t = 0, hide = true)]
	pub inference_delay_ms: u64,

	/// Threads the engine runs one model on (tract-linalg's multithreaded
	/// executor). Outputs are bit-identical at any count; more threads make
	/// big models faster and take cores from block import.
	#[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
	pub inference_threads: u16,

	/// `all`: besides its duties, this node's first staked verifier key
	/// re-executes every optimistic result while it is challengeable and
	/// challenges what it finds wrong (with its own bond). `none` (the
	/// default): only drawn duties and audits.
	#[arg(long, value_name = "WHICH", default_value = "none")]
	pub watch: Watch,
}

/// Which results a node's verifier re-executes unasked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Watch {
	/// Only the node's duties (committees, audits, admission).
	None,
	/// Every optimistic result in its challenge window.
	All,
}

impl InferenceParams {
	/// The sandbox these options describe, running `exe inference-worker`.
	pub fn sandbox(&self) -> verity_engine::sandbox::SandboxConfig {
		let limits = verity_engine::Limits {
			timeout_ms: self.inference_timeout_ms,
			memory_bytes: self.inference_memory_mib << 20,
			max_model_bytes: self.inference_max_model_mib << 20,
			..Default::default()
		};
		let mut config =
			verity_engine::sandbox::SandboxConfig::current_exe("inference-worker", limits);
		config.fault = self.inference_fault;
		config.threads = usize::from(self.inference_threads);
		config.delay = std::time::Duration::from_millis(self.inference_delay_ms);
		config
	}
}

/// Options that only apply to a development chain (`--dev`, `--chain dev`).
#[derive(Debug, Clone, clap::Args)]
pub struct DevParams {
	/// Milliseconds between two sealed blocks; 0 seals only on the
	/// `engine_createBlock` RPC. Chain time never goes backwards, and each block
	/// advances it by at least one BABE slot (2 s): with a block time under 2 s
	/// the chain's clock runs ahead of the wall clock.
	#[arg(long, value_name = "MS", default_value_t = 2000)]
	pub dev_block_time: u64,

	/// With `--dev`, the node's keystore gets the `vrty` key of every account
	/// the development genesis makes an executor or verifier (Alice and Bob
	/// execute, Charlie, Dave, Eve and Ferdie verify), so that a plain
	/// `verity-node --dev` serves every job. This flag leaves the keystore as
	/// it is, for networks of several dev nodes that share the roles out.
	#[arg(long)]
	pub no_dev_inference_keys: bool,
}
