//! Benchmark (not a test): a consensus job's evaluation in the runtime, as
//! validators run it (the runtime's WebAssembly, compiled by the node's
//! executor), against the same model natively in the engine (tract) and
//! natively in the interpreter; with the weight the chain charges for it.
//!
//! `bench_consensus MODEL.onnx ROWS RUNS [NAME]` prints one Markdown row:
//! medians of RUNS runs of a job of ROWS items (inputs from a seeded
//! generator), in milliseconds. The runtime's time is the
//! `InferenceApi_interpret` call's median minus the median of an empty
//! runtime call (`InferenceApi_next_job_id`), so it includes passing the
//! graph and the input into the runtime and decoding them, as a job does.
//! Then the largest batch whose weight fits `MaxConsensusWeight`.
//! `scripts/bench-consensus` runs it on the benchmark's models.

use std::time::Instant;

use codec::{Decode, Encode};
use sp_core::traits::{CallContext, CodeExecutor, RuntimeCode, WrappedRuntimeCode};
use verity_engine::{engine::Engine, Limits};
use verity_interp::{Cost, Meta};
use verity_primitives::{DType, Dim, Tensor};

type Executor = sc_executor::WasmExecutor<(
	sp_io::SubstrateHostFunctions,
	verity_engine_interface::host::verity_inference::HostFunctions,
)>;

fn median(mut v: Vec<f64>) -> f64 {
	v.sort_by(|a, b| a.partial_cmp(b).unwrap());
	v[v.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut()) -> f64 {
	f();
	median(
		(0..runs)
			.map(|_| {
				let start = Instant::now();
				f();
				start.elapsed().as_secs_f64() * 1e3
			})
			.collect(),
	)
}

/// A seeded input of `rows` items for the model's first input.
fn input(bytes: &[u8], rows: u32) -> Tensor {
	let sig = verity_engine::engine::describe(bytes).expect("a model the engine reads");
	let spec = &sig.inputs[0];
	assert_eq!(spec.dtype, DType::Float32, "float inputs only");
	let shape: Vec<u32> = spec
		.shape
		.iter()
		.map(|d| match d {
			Dim::Fixed(n) => *n,
			Dim::Batch => rows,
			Dim::Free(_) => 8,
		})
		.collect();
	let n: u32 = shape.iter().product();
	let mut x = 0x2545_f491_4f6c_dd1du64;
	let data = (0..n)
		.flat_map(|_| {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			((x >> 40) as f32 / (1u64 << 24) as f32 * 4.0).to_le_bytes()
		})
		.collect();
	Tensor { name: spec.name.to_vec(), dtype: DType::Float32, shape, data }
}

fn weight_ms(cost: &Cost, size: u32) -> f64 {
	let w = pallet_inference::Pallet::<verity_runtime::Runtime>::consensus_weight(cost, size);
	w.ref_time() as f64 / 1e9
}

fn main() {
	let args: Vec<String> = std::env::args().collect();
	let [_, path, rows, runs, rest @ ..] = &args[..] else {
		panic!("usage: bench_consensus MODEL.onnx ROWS RUNS [NAME]")
	};
	let (rows, runs): (u32, usize) = (rows.parse().unwrap(), runs.parse().unwrap());
	let name = rest.first().cloned().unwrap_or_else(|| path.clone());
	let bytes = std::fs::read(path).unwrap();
	let graph = verity_engine::consensus::compile(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
	let encoded = graph.encode();
	let x = input(&bytes, rows);
	let tensors = vec![x.clone()];
	let encoded_input = tensors.encode();
	let limits = verity_interp::Limits { max_memory: 16 << 20 };

	// tract, natively.
	let id = sp_crypto_hashing::blake2_256(&bytes);
	let mut engine = Engine::new(Limits { max_model_bytes: 256 << 20, ..Limits::default() });
	engine.load(&id, &bytes).unwrap();
	let tract = time(runs, || {
		engine.run(&id, &tensors).unwrap();
	});
	// The interpreter, natively.
	let (native, cost) = verity_interp::run(&graph, &tensors, &limits).unwrap();
	let interp = time(runs, || {
		verity_interp::run(&graph, &tensors, &limits).unwrap();
	});
	// The interpreter in the runtime, as validators run it.
	let executor = Executor::builder().build();
	let code = WrappedRuntimeCode(verity_runtime::WASM_BINARY.expect("a runtime blob").into());
	let runtime_code = RuntimeCode {
		code_fetcher: &code,
		heap_pages: None,
		hash: sp_crypto_hashing::blake2_256(verity_runtime::WASM_BINARY.unwrap()).to_vec(),
	};
	let mut ext = sp_io::TestExternalities::default();
	let mut ext = ext.ext();
	let mut call = |method: &str, data: &[u8]| -> Vec<u8> {
		executor.call(&mut ext, &runtime_code, method, data, CallContext::Offchain).0.unwrap()
	};
	let args = (encoded.clone(), encoded_input.clone()).encode();
	let answer = call("InferenceApi_interpret", &args);
	let answer = Result::<(Vec<u8>, Cost), Vec<u8>>::decode(&mut &answer[..]).unwrap();
	let (in_wasm, wasm_cost) = answer.map_err(|e| String::from_utf8_lossy(&e).to_string()).unwrap();
	assert_eq!(
		in_wasm,
		native.encode(),
		"{name}: the runtime's output is the native interpreter's"
	);
	assert_eq!(wasm_cost, cost);
	let full = time(runs, || {
		call("InferenceApi_interpret", &args);
	});
	let empty = time(runs, || {
		call("InferenceApi_next_job_id", &[]);
	});
	let wasm = full - empty;

	// What the chain charges, and the largest batch within the cap.
	let size = encoded.len() as u32;
	let cap = verity_runtime::configs::MaxConsensusWeight::get();
	let cap_ms = cap.ref_time() as f64 / 1e9;
	let priced = weight_ms(&cost, size);
	let shape_at = |batch: usize| {
		let mut s: Vec<usize> = x.shape.iter().map(|d| *d as usize).collect();
		s[0] = batch;
		vec![Meta::new(verity_interp::Elem::F32, s)]
	};
	let fits = |batch: usize| {
		let big = verity_interp::Limits { max_memory: u64::MAX };
		verity_interp::plan(&graph, &shape_at(batch), &big)
			.is_ok_and(|p| weight_ms(&p.cost, size) <= cap_ms)
	};
	let (mut lo, mut hi) = (0usize, 1usize);
	while fits(hi) && hi < 1 << 24 {
		(lo, hi) = (hi, hi * 2);
	}
	while hi - lo > 1 {
		let mid = (lo + hi) / 2;
		if fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	println!(
		"| {name} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2} | {:.1} % | {lo} |",
		graph.parameter_count(),
		rows,
		tract,
		interp,
		wasm,
		priced,
		wasm / tract,
		100.0 * priced / cap_ms,
	);
	eprintln!("{name}: empty runtime call {empty:.3} ms; graph {size} bytes");
}
