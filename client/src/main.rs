//! # `verity`
//!
//! The command-line client of Verity for every role, with the conventions of
//! `subkey` and polkadot.js: `--url` picks the node (default
//! `ws://127.0.0.1:9944`), `--suri` the signing account (`//Alice`, a mnemonic,
//! or a hex seed). Amounts are in VRT (`1.5` is 1.5 VRT); tensors are JSON
//! files (see [`verity_primitives::json`]), `-` meaning stdin.
//!
//! * publishers: `verity infer-local` checks a model with the node's own
//!   engine before paying to register it; `verity model register|list|show|...`;
//! * dApps: `verity job submit|show|watch`;
//! * executors and verifiers: `verity executor ...`, `verity verifier ...`;
//! * anyone: `verity challenge JOB`, `verity dispute show JOB`;
//! * operators: `verity dashboard` serves the live web dashboard.
//!
//! Every error is one line on stderr and exit code 1.

mod amount;
mod chain;
mod commands;
mod format;

use clap::{Args, Parser, Subcommand};

use amount::Amount;

/// Command-line client for Verity: verifiable AI inference on a Substrate chain.
#[derive(Parser, Debug)]
#[command(name = "verity", version)]
struct Cli {
	/// The node's WebSocket RPC endpoint.
	#[arg(long, global = true, env = "VERITY_URL", default_value = "ws://127.0.0.1:9944")]
	url: String,
	/// Secret URI of the signing account: `//Alice`, a mnemonic, or a 0x seed
	/// (with optional `//hard/soft` derivations and `///password`).
	#[arg(long, global = true, env = "VERITY_SURI")]
	suri: Option<String>,
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
	/// Runs a model with the node's own engine on this machine (no chain
	/// needed) and prints the output tensors as JSON.
	InferLocal(commands::local::InferLocal),
	/// Publish and manage models.
	#[command(subcommand)]
	Model(commands::model::ModelCmd),
	/// Submit and follow inference jobs.
	#[command(subcommand)]
	Job(commands::job::JobCmd),
	/// Run jobs for fees: register, top up, leave.
	#[command(subcommand)]
	Executor(commands::roles::ExecutorCmd),
	/// Re-execute disputed jobs: register, leave.
	#[command(subcommand)]
	Verifier(commands::roles::VerifierCmd),
	/// Challenges a job's result inside its challenge window, holding a bond.
	Challenge(ChallengeArgs),
	/// Disputes: who sits on the committee, how they voted.
	#[command(subcommand)]
	Dispute(commands::roles::DisputeCmd),
	/// Sets the share of optimistic results that are audited, in percent
	/// (governance: signed by the chain's sudo key, e.g. `--suri //Alice` on
	/// a dev chain).
	AuditRate {
		/// Percent of results audited (0 to 100).
		percent: u32,
		/// Only for this model (`family@major.minor` or its id); without
		/// it, the chain-wide rate.
		#[arg(long)]
		model: Option<String>,
	},
	/// Puts the `--suri` account's inference key into the node's keystore, so
	/// that the node's offchain worker executes and verifies for it (needs the
	/// node's unsafe RPC methods, e.g. a `--dev` node).
	InsertKey,
	/// Serves the live web dashboard for the `--url` node on a local port.
	Dashboard(commands::dashboard::Dashboard),
	/// An account's free and held balance.
	Balance {
		/// SS58 address or secret URI; default: the `--suri` account.
		account: Option<String>,
	},
	/// The engine's worker process (used by `infer-local`; speaks a binary
	/// protocol on stdin/stdout).
	#[command(hide = true)]
	InferenceWorker {
		/// Hex-encoded engine limits.
		limits: Option<String>,
		/// The engine's threads.
		threads: Option<usize>,
	},
}

/// `verity challenge`.
#[derive(Args, Debug)]
struct ChallengeArgs {
	/// The job.
	job: u64,
	/// Bond to hold, in VRT (default: the chain's minimum `ChallengeBond`).
	#[arg(long)]
	bond: Option<Amount>,
}

async fn run(cli: Cli) -> anyhow::Result<()> {
	let ctx = commands::Context { url: cli.url, suri: cli.suri };
	match cli.command {
		Command::InferLocal(cmd) => commands::local::infer_local(cmd),
		Command::Model(cmd) => commands::model::run(&ctx, cmd).await,
		Command::Job(cmd) => commands::job::run(&ctx, cmd).await,
		Command::Executor(cmd) => commands::roles::executor(&ctx, cmd).await,
		Command::Verifier(cmd) => commands::roles::verifier(&ctx, cmd).await,
		Command::Challenge(a) => commands::roles::challenge(&ctx, a.job, a.bond).await,
		Command::Dispute(cmd) => commands::roles::dispute(&ctx, cmd).await,
		Command::AuditRate { percent, model } => {
			commands::roles::audit_rate(&ctx, percent, model).await
		}
		Command::InsertKey => commands::roles::insert_key(&ctx).await,
		Command::Balance { account } => commands::roles::balance(&ctx, account).await,
		Command::Dashboard(args) => {
			tokio::task::block_in_place(|| commands::dashboard::serve(&ctx.url, args))
		}
		Command::InferenceWorker { .. } => unreachable!("served in main, outside tokio"),
	}
}

/// The inference worker runs as a subcommand of this binary: single
/// allocations over the engine's cap fail alike on every machine
/// (`verity_engine::alloc`; no cap outside the worker).
#[global_allocator]
static ALLOCATOR: verity_engine::alloc::CappedAllocator = verity_engine::alloc::CappedAllocator;

fn main() {
	// A panic is a bug; still, the user gets one line, not a backtrace.
	std::panic::set_hook(Box::new(|info| {
		let msg = info.to_string().replace('\n', " ");
		eprintln!("error: internal error: {msg}");
		std::process::exit(1);
	}));
	let cli = Cli::parse();
	// The engine's worker confines itself with a seccomp filter on all its
	// threads: it must not share its process with tokio's.
	if let Command::InferenceWorker { limits, threads } = &cli.command {
		if let Err(e) = verity_engine::sandbox::serve(limits.as_deref(), *threads) {
			eprintln!("error: inference worker: {e}");
			std::process::exit(1);
		}
		return;
	}
	let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
		Ok(r) => r,
		Err(e) => {
			eprintln!("error: cannot start: {e}");
			std::process::exit(1);
		}
	};
	if let Err(e) = runtime.block_on(run(cli)) {
		eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
		std::process::exit(1);
	}
}
