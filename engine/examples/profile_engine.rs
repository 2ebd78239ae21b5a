//! Where the engine's time goes on one model and one input: each operator
//! of the plan timed over several runs (medians), summed per kind of
//! operation, and the slowest operators.
//!
//! ```text
//! profile_engine MODEL.onnx INPUT.json [RUNS] [THREADS]
//! ```
//!
//! `PROFILE_TOP=N` lists the N slowest operators (default 25),
//! `PROFILE_WIDTH=N` prints N characters of each operator's description
//! (default 110; tract's full description names the matrix kernel).
//!
//! Build it as `scripts/bench-engine` builds `bench_engine` (release), so
//! that the times are the operator's. The model size limit is raised to
//! 512 MiB, as in `bench_engine`.

use std::{collections::BTreeMap, error::Error};

use verity_engine::{engine::Engine, Limits};
use verity_primitives::json;

fn main() -> Result<(), Box<dyn Error>> {
	let args: Vec<String> = std::env::args().collect();
	let (model, input) = match &args[..] {
		[_, m, i, ..] => (m, i),
		_ => return Err("usage: profile_engine MODEL.onnx INPUT.json [RUNS] [THREADS]".into()),
	};
	let runs: usize = args.get(3).map(|r| r.parse()).transpose()?.unwrap_or(20);
	let threads: usize = args.get(4).map(|t| t.parse()).transpose()?.unwrap_or(1);
	let bytes = std::fs::read(model)?;
	let id = sp_crypto_hashing::blake2_256(&bytes);
	let inputs = json::parse_tensors(&std::fs::read_to_string(input)?)?;
	let limits = Limits { max_model_bytes: 512 << 20, ..Limits::default() };
	let mut engine = Engine::new(limits).with_threads(threads);
	engine.load(&id, &bytes)?;
	engine.run(&id, &inputs)?;
	let rows = engine.profile(&id, &inputs, runs)?;
	let total: f64 = rows.iter().map(|r| r.2).sum();
	let mut kinds: BTreeMap<String, (f64, usize)> = BTreeMap::new();
	for (_, op, ms) in &rows {
		let kind = op.split(['(', ' ', '<', '{']).next().unwrap_or(op).to_string();
		let e = kinds.entry(kind).or_default();
		e.0 += ms;
		e.1 += 1;
	}
	let mut kinds: Vec<_> = kinds.into_iter().collect();
	kinds.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
	println!("sum of operator medians: {total:.3} ms over {} operators", rows.len());
	println!("\nby kind of operation:");
	for (kind, (ms, n)) in &kinds {
		println!("{:>9.3} ms {:>5.1} % {:>4}x {kind}", ms, 100.0 * ms / total, n);
	}
	let mut slowest: Vec<_> = rows.iter().collect();
	slowest.sort_by(|a, b| b.2.total_cmp(&a.2));
	println!("\nslowest operators:");
	let top = std::env::var("PROFILE_TOP").ok().and_then(|t| t.parse().ok()).unwrap_or(25);
	for (name, op, ms) in slowest.iter().take(top) {
		let op: String = op
			.chars()
			.take(std::env::var("PROFILE_WIDTH").ok().and_then(|w| w.parse().ok()).unwrap_or(110))
			.collect();
		println!("{ms:>9.3} ms  {name}  {op}");
	}
	Ok(())
}
