//! `verity-inference-worker`: the sandboxed engine process, standalone (the
//! node and the CLI run the same loop as a subcommand of their own binary).

fn main() -> std::io::Result<()> {
	let arg = std::env::args().nth(1);
	verity_engine::sandbox::serve(arg.as_deref())
}
