//! `verity-node`: the Verity chain's node.
//!
//! `--dev` runs a single-node chain that seals its own blocks (manual seal,
//! block time `--dev-block-time`), with offchain workers and offchain indexing
//! on. Any other chain (e.g. `--chain local`) runs BABE block production with
//! GRANDPA finality.

// sc-cli's API fixes the error type (`sc_cli::Error`, large) of every command.
#![allow(clippy::result_large_err)]

mod chain_metrics;
mod chain_spec;
mod cli;
mod command;
mod metrics;
mod rpc;
mod service;

/// The inference worker runs as a subcommand of this binary: single
/// allocations over the engine's cap fail alike on every machine
/// (`verity_engine::alloc`; no cap outside the worker).
#[global_allocator]
static ALLOCATOR: verity_engine::alloc::CappedAllocator = verity_engine::alloc::CappedAllocator;

fn main() -> sc_cli::Result<()> {
	command::run()
}
