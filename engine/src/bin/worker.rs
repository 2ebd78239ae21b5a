//! `verity-inference-worker`: the sandboxed engine process, standalone (the
//! node and the CLI run the same loop as a subcommand of their own binary).

/// Single allocations over the engine's cap fail alike on every machine.
#[global_allocator]
static ALLOCATOR: verity_engine::alloc::CappedAllocator = verity_engine::alloc::CappedAllocator;

fn main() -> std::io::Result<()> {
	let arg = std::env::args().nth(1);
	let threads = std::env::args().nth(2).and_then(|t| t.parse().ok());
	verity_engine::sandbox::serve(arg.as_deref(), threads)
}
