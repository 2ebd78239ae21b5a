//! `verity infer-local`: the node's engine, in its sandbox, on this machine.

use std::time::Instant;

use anyhow::{anyhow, bail};
use clap::Args;
use codec::Encode;
use verity_engine::{
	engine::{describe, Signature},
	sandbox::{Sandbox, SandboxConfig},
	Limits,
};
use verity_primitives::{check_tensors, decode_tensors, Tensor, TensorSpec};

use super::{print_tensors, read_file, read_tensors, OutputFormat};
use crate::format;

/// `verity infer-local`.
#[derive(Args, Debug)]
pub struct InferLocal {
	/// The ONNX model file.
	#[arg(long)]
	pub model: String,
	/// Input tensors as JSON (`-`: stdin).
	#[arg(long)]
	pub input: String,
	/// Wall-clock limit of loading and of one run, in milliseconds (as the node's
	/// `--inference-timeout-ms`).
	#[arg(long, default_value_t = 10_000)]
	pub timeout_ms: u64,
	/// Memory limit of the engine's process, in MiB.
	#[arg(long, default_value_t = 4096)]
	pub memory_mib: u64,
	/// Runs the model this many times and prints the median latency on stderr.
	#[arg(long, default_value_t = 1)]
	pub repeat: u32,
	/// How to print the output.
	#[arg(long, value_enum, default_value = "json")]
	pub output: OutputFormat,
}

/// The node's engine sandbox, with this binary's `inference-worker` as its
/// worker process.
pub fn sandbox(limits: Limits) -> Sandbox {
	Sandbox::new(SandboxConfig::current_exe("inference-worker", limits))
}

/// The model's declared inputs and outputs, or a clear error.
pub fn signature(path: &str, bytes: &[u8]) -> anyhow::Result<Signature> {
	describe(bytes).map_err(|e| anyhow!("{path} is not a usable ONNX model: {e}"))
}

/// Checks `inputs` against a model's declared input specs (read from its
/// file, or from the chain), explaining a mismatch.
pub fn check_inputs(inputs: &[Tensor], specs: &[TensorSpec]) -> anyhow::Result<()> {
	check_tensors(inputs, specs).map(|_| ()).map_err(|e| {
		let declared: Vec<String> = specs.iter().map(format::spec).collect();
		anyhow!(
			"the input does not match the model's declared inputs ({e:?}); it takes: {}",
			declared.join("; ")
		)
	})
}

/// Runs `verity infer-local`.
pub fn infer_local(cmd: InferLocal) -> anyhow::Result<()> {
	let bytes = read_file(&cmd.model)?;
	let sig = signature(&cmd.model, &bytes)?;
	let inputs = read_tensors(&cmd.input)?;
	check_inputs(&inputs, &sig.inputs)?;
	let limits = Limits {
		timeout_ms: cmd.timeout_ms,
		memory_bytes: cmd.memory_mib << 20,
		..Limits::default()
	};
	let sandbox = sandbox(limits);
	let id = sp_crypto_hashing::blake2_256(&bytes);
	sandbox.load(&id, &bytes).map_err(|e| anyhow!("the engine cannot load the model: {e}"))?;
	let encoded = inputs.encode();
	let mut times = Vec::new();
	let mut output = Vec::new();
	for _ in 0..cmd.repeat.max(1) {
		let start = Instant::now();
		output = sandbox.run(&id, &encoded).map_err(|e| anyhow!("the model failed: {e}"))?;
		times.push(start.elapsed());
	}
	let tensors = decode_tensors(&output).map_err(|e| anyhow!("the engine's output: {e:?}"))?;
	if check_tensors(&tensors, &sig.outputs).is_err() {
		bail!("the model's output does not match its declared outputs; the chain would reject it");
	}
	if cmd.repeat > 1 {
		times.sort();
		eprintln!(
			"median {:.3} ms over {} runs",
			times[times.len() / 2].as_secs_f64() * 1e3,
			times.len()
		);
	}
	print_tensors(&tensors, cmd.output);
	Ok(())
}
