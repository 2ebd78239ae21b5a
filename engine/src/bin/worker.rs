//! `verity-inference-worker`: the sandboxed engine process, standalone (the
//! node and the CLI run the same loop as a subcommand of their own binary).

fn main() -> std::io::Result<()> {
	let arg = std::env::args().nth(1);
	let threads = std::env::args().nth(2).and_then(|t| t.parse().ok());
	verity_engine::sandbox::serve(arg.as_deref(), threads)
}
