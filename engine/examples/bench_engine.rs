//! Times the engine, in-process (no sandbox), on one model and one input:
//! the numbers `scripts/bench-engine` puts next to onnxruntime's.
//!
//! ```text
//! bench_engine MODEL.onnx INPUT.json RUNS OUTPUT.json [THREADS]
//! ```
//!
//! Loads the model (parse + declutter, timed), runs it once to warm up (which
//! makes the plan for the input's shape), then `RUNS` times, on `THREADS`
//! threads (default 1); prints
//! `{"load_ms":…,"first_ms":…,"median_ms":…,"min_ms":…,"runs":…}` and writes the
//! output tensors as JSON to `OUTPUT.json`. The model size limit is raised to
//! 512 MiB (the node's default is 64 MiB), so that resnet50 and alexnet with
//! real weights load.

use std::{error::Error, time::Instant};

use verity_engine::{engine::Engine, Limits};
use verity_primitives::json;

fn main() -> Result<(), Box<dyn Error>> {
	let args: Vec<String> = std::env::args().collect();
	let (model, input, runs, output, threads) = match &args[..] {
		[_, m, i, r, o] => (m, i, r, o, 1),
		[_, m, i, r, o, t] => (m, i, r, o, t.parse()?),
		_ => {
			return Err(
				"usage: bench_engine MODEL.onnx INPUT.json RUNS OUTPUT.json [THREADS]".into()
			)
		}
	};
	let runs: usize = runs.parse()?;
	let bytes = std::fs::read(model)?;
	let id = sp_crypto_hashing::blake2_256(&bytes);
	let inputs = json::parse_tensors(&std::fs::read_to_string(input)?)?;
	let limits = Limits { max_model_bytes: 512 << 20, ..Limits::default() };
	let mut engine = Engine::new(limits).with_threads(threads);
	let start = Instant::now();
	engine.load(&id, &bytes)?;
	let load_ms = start.elapsed().as_secs_f64() * 1e3;
	let start = Instant::now();
	let out = engine.run(&id, &inputs)?;
	let first_ms = start.elapsed().as_secs_f64() * 1e3;
	let mut times: Vec<f64> = (0..runs.max(1))
		.map(|_| {
			let start = Instant::now();
			engine.run(&id, &inputs).map(|_| start.elapsed().as_secs_f64() * 1e3)
		})
		.collect::<Result<_, _>>()?;
	times.sort_by(f64::total_cmp);
	std::fs::write(output, json::tensors_to_json(&out).to_string())?;
	println!(
		"{{\"load_ms\":{load_ms:.3},\"first_ms\":{first_ms:.3},\"median_ms\":{:.3},\"min_ms\":{:.3},\"runs\":{}}}",
		times[times.len() / 2],
		times[0],
		times.len()
	);
	Ok(())
}
