//! The engine on real ONNX files, in-process and behind the sandbox's process
//! boundary, against onnxruntime's reference outputs and hostile models.

use std::path::PathBuf;

use verity_engine::{
	engine::{describe, Engine},
	sandbox::{perturb_output, Fault, Sandbox, SandboxConfig},
	Blame, EngineError, Limits,
};
use verity_primitives::{
	json::tensor_from_json, outputs_agree, DType, Dim, Tensor, VerificationPolicy,
};

fn model(name: &str) -> (Vec<u8>, [u8; 32]) {
	let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models").join(name);
	let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
	let id = sp_crypto_hashing::blake2_256(&bytes);
	(bytes, id)
}

fn f32_tensor(name: &str, shape: Vec<u32>, values: impl IntoIterator<Item = f32>) -> Tensor {
	Tensor {
		name: name.as_bytes().to_vec(),
		dtype: DType::Float32,
		shape,
		data: values.into_iter().flat_map(|v| v.to_le_bytes()).collect(),
	}
}

fn reference(name: &str) -> (Tensor, Vec<Tensor>) {
	let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models").join(name);
	let doc: serde_json::Value =
		serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
	let outputs =
		doc["outputs"].as_array().unwrap().iter().map(|t| tensor_from_json(t).unwrap()).collect();
	(tensor_from_json(&doc["input"]).unwrap(), outputs)
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
	let n = a.data.len() / 4;
	(0..n)
		.map(|i| (a.element_f64(i).unwrap() - b.element_f64(i).unwrap()).abs())
		.fold(0.0, f64::max)
}

const TIGHT: VerificationPolicy = VerificationPolicy::Tolerance {
	abs: sp_arithmetic::FixedU64::from_inner(1_000), // 1e-6
	rel: sp_arithmetic::FixedU64::from_inner(1_000), // 1e-6
};

#[test]
fn digits_mlp_matches_onnxruntime() {
	let (bytes, id) = model("digits-mlp.onnx");
	let (input, expected) = reference("digits-mlp.reference.json");
	let mut engine = Engine::new(Limits::default());
	engine.load(&id, &bytes).unwrap();
	let out = engine.run(&id, &[input]).unwrap();
	assert_eq!(out.len(), 1);
	assert_eq!(out[0].name, b"probabilities");
	assert_eq!(out[0].shape, vec![32, 10]);
	assert!(
		outputs_agree(&TIGHT, &out, &expected),
		"max |diff| = {}",
		max_abs_diff(&out[0], &expected[0])
	);
	assert!(outputs_agree(&VerificationPolicy::ArgMax, &out, &expected));
}

#[test]
fn a_tree_ensemble_matches_onnxruntime() {
	let (bytes, id) = model("iris-forest.onnx");
	let (input, expected) = reference("iris-forest.reference.json");
	let mut engine = Engine::new(Limits::default());
	engine.load(&id, &bytes).unwrap();
	let out = engine.run(&id, &[input]).unwrap();
	let probabilities =
		out.iter().find(|t| t.name == b"probabilities").expect("probabilities output");
	assert!(
		outputs_agree(&TIGHT, std::slice::from_ref(probabilities), &expected[..1]),
		"max |diff| = {}",
		max_abs_diff(probabilities, &expected[0])
	);
}

#[test]
fn runs_are_bit_identical() {
	let (bytes, id) = model("digits-mlp.onnx");
	let (input, _) = reference("digits-mlp.reference.json");
	let mut engine = Engine::new(Limits::default());
	engine.load(&id, &bytes).unwrap();
	let first = engine.run(&id, std::slice::from_ref(&input)).unwrap();
	for _ in 0..3 {
		assert_eq!(engine.run(&id, std::slice::from_ref(&input)).unwrap(), first);
	}
}

/// The first `rows` rows of the digits reference input.
fn digits_rows(rows: u32) -> Tensor {
	let (input, _) = reference("digits-mlp.reference.json");
	let take = (rows * 64 * 4) as usize;
	assert!(input.data.len() >= take);
	Tensor { shape: vec![rows, 64], data: input.data[..take].to_vec(), ..input }
}

#[test]
fn a_plan_depends_on_the_input_shape_only_never_on_what_the_cache_saw() {
	let (bytes, id) = model("digits-mlp.onnx");
	let batch = digits_rows(4);
	let alone = {
		let mut engine = Engine::new(Limits::default());
		engine.load(&id, &bytes).unwrap();
		engine.run(&id, std::slice::from_ref(&batch)).unwrap()
	};
	let mut engine = Engine::new(Limits::default());
	engine.load(&id, &bytes).unwrap();
	// More batch sizes than a model keeps plans for: batch 4's plan is
	// evicted, then made again.
	for rows in 1..=(verity_engine::engine::PLANS_PER_MODEL as u32 + 2) {
		let out = engine.run(&id, &[digits_rows(rows)]).unwrap();
		assert_eq!(out[0].shape[0], rows);
		if rows == 4 {
			assert_eq!(out, alone);
		}
	}
	assert_eq!(engine.run(&id, std::slice::from_ref(&batch)).unwrap(), alone);
}

#[test]
fn bad_models_and_inputs_get_specific_errors() {
	let mut engine = Engine::new(Limits::default());
	let (bytes, id) = model("digits-mlp.onnx");
	assert_eq!(engine.load(&[0; 32], &bytes).unwrap_err().kind, EngineError::HashMismatch);
	let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
	let garbage_id = sp_crypto_hashing::blake2_256(&garbage);
	assert_eq!(engine.load(&garbage_id, &garbage).unwrap_err().kind, EngineError::InvalidModel);
	assert_eq!(engine.run(&id, &[]).unwrap_err().kind, EngineError::NotLoaded);

	engine.load(&id, &bytes).unwrap();
	let run = |engine: &mut Engine, t: Tensor| engine.run(&id, &[t]).unwrap_err().kind;
	assert_eq!(
		run(&mut engine, f32_tensor("x", vec![1, 63], vec![0.0; 63])),
		EngineError::InvalidInput
	);
	assert_eq!(
		run(&mut engine, f32_tensor("y", vec![1, 64], vec![0.0; 64])),
		EngineError::InvalidInput
	);
	let mut wrong_type = f32_tensor("x", vec![1, 64], vec![0.0; 64]);
	wrong_type.dtype = DType::Int32;
	assert_eq!(run(&mut engine, wrong_type), EngineError::InvalidInput);
	assert_eq!(
		engine.run_encoded(&id, &[1, 2, 3], u64::MAX).unwrap_err().kind,
		EngineError::InvalidInput
	);

	let small = Limits { max_model_bytes: 100, ..Limits::default() };
	assert_eq!(Engine::new(small).load(&id, &bytes).unwrap_err().kind, EngineError::ModelTooLarge);
}

#[test]
fn an_expand_to_2_pow_34_is_refused_before_allocating() {
	let (bytes, id) = model("hostile-expand.onnx");
	let mut engine = Engine::new(Limits::default());
	let err = engine.load(&id, &bytes).unwrap_err();
	assert_eq!(err.kind, EngineError::TensorTooLarge, "{err}");
}

#[test]
fn huge_inputs_are_refused() {
	let (bytes, id) = model("digits-mlp.onnx");
	let limits = Limits { max_tensor_elements: 64 * 100, ..Limits::default() };
	let mut engine = Engine::new(limits);
	engine.load(&id, &bytes).unwrap();
	let big = f32_tensor("x", vec![101, 64], vec![0.0; 101 * 64]);
	assert_eq!(engine.run(&id, &[big]).unwrap_err().kind, EngineError::TensorTooLarge);
}

#[test]
fn the_cache_evicts_the_least_recently_used_model() {
	let (digits, digits_id) = model("digits-mlp.onnx");
	let (iris, iris_id) = model("iris-forest.onnx");
	let (expand, expand_id) = model("dynamic-range.onnx");
	let mut engine = Engine::with_capacity(Limits::default(), 2);
	engine.load(&digits_id, &digits).unwrap();
	engine.load(&iris_id, &iris).unwrap();
	// Using digits makes iris the least recently used.
	let (input, _) = reference("digits-mlp.reference.json");
	engine.run(&digits_id, &[input]).unwrap();
	engine.load(&expand_id, &expand).unwrap();
	assert!(engine.is_loaded(&digits_id) && engine.is_loaded(&expand_id));
	assert!(!engine.is_loaded(&iris_id));
	assert_eq!(engine.loaded(), vec![digits_id, expand_id]);
}

fn sandbox(limits: Limits, fault: Fault) -> Sandbox {
	Sandbox::new(SandboxConfig {
		program: env!("CARGO_BIN_EXE_verity-inference-worker").into(),
		args: vec![],
		limits,
		fault,
		threads: 1,
		delay: std::time::Duration::ZERO,
	})
}

fn digits_input() -> Vec<u8> {
	use codec::Encode;
	let (input, _) = reference("digits-mlp.reference.json");
	vec![input].encode()
}

#[test]
fn the_worker_cannot_open_files_open_sockets_or_start_processes_and_still_runs_models() {
	// A file the worker would like: a stand-in for the node's keystore,
	// readable by this (the same) user.
	let dir = std::env::temp_dir().join(format!("verity-confine-{}", std::process::id()));
	std::fs::create_dir_all(dir.join("keystore")).unwrap();
	let secret = dir.join("keystore/76727479d43593c7");
	std::fs::write(&secret, "\"//Alice\"").unwrap();
	// Inherited by the node's process, not close-on-exec: the worker must
	// not get it.
	let leaked = std::fs::File::open(&secret).unwrap();
	let leaked_fd = std::os::fd::AsRawFd::as_raw_fd(&leaked);
	// SAFETY: clearing FD_CLOEXEC on our own open file.
	unsafe { libc::fcntl(leaked_fd, libc::F_SETFD, 0) };
	// SAFETY: tests in this binary do not read the environment concurrently.
	unsafe { std::env::set_var("VERITY_SECRET_FOR_THE_TEST", "the worker must not see it") };
	let for_the_worker = sandbox(Limits::default(), Fault::None);
	let report = for_the_worker.probe(secret.as_os_str().as_encoded_bytes()).unwrap();
	let c = &report.confinement;
	assert_eq!(c.open_files, vec![0, 1, 2], "only stdin, stdout and stderr: {c:?}");
	assert_eq!(c.env_vars, 0, "{c:?}");
	assert_eq!((c.max_files, c.max_core), (verity_engine::confine::MAX_FILES, 0), "{c:?}");
	assert!(c.no_new_privs, "{c:?}");
	assert_eq!(report.open_errno, libc::EPERM, "the keystore file is out of reach");
	assert_eq!(report.socket_errno, libc::EPERM, "no network");
	assert!(report.spawn_failed, "no processes");
	assert!(report.thread_started, "threads still start");
	// The same file opens from outside the worker: the filter, not the file,
	// stopped it.
	assert!(std::fs::read(&secret).is_ok());

	// Models still load and run, single- and multi-threaded.
	let (bytes, id) = model("digits-mlp.onnx");
	for threads in [1, 2] {
		let sb = Sandbox::new(SandboxConfig {
			program: env!("CARGO_BIN_EXE_verity-inference-worker").into(),
			args: vec![],
			limits: Limits::default(),
			fault: Fault::None,
			threads,
			delay: std::time::Duration::ZERO,
		});
		sb.load(&id, &bytes).unwrap();
		let out = sb.run(&id, &digits_input()).unwrap();
		let tensors = verity_primitives::decode_tensors(&out).unwrap();
		let (_, expected) = reference("digits-mlp.reference.json");
		assert!(outputs_agree(&TIGHT, &tensors, &expected), "{threads} threads");
	}
	drop(leaked);
	std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_sandbox_runs_models_in_a_worker_process() {
	let (bytes, id) = model("digits-mlp.onnx");
	let sb = sandbox(Limits::default(), Fault::None);
	assert!(!sb.is_loaded(&id));
	assert_eq!(sb.run(&id, &digits_input()).unwrap_err().kind, EngineError::NotLoaded);
	sb.load(&id, &bytes).unwrap();
	assert!(sb.is_loaded(&id));
	let out = verity_primitives::decode_tensors(&sb.run(&id, &digits_input()).unwrap()).unwrap();
	let (_, expected) = reference("digits-mlp.reference.json");
	assert!(outputs_agree(&TIGHT, &out, &expected));
}

#[test]
fn a_slow_model_times_out_and_the_sandbox_recovers() {
	use codec::Encode;
	let (slow, slow_id) = model("slow-matmul.onnx");
	let sb = sandbox(Limits { timeout_ms: 300, ..Limits::default() }, Fault::None);
	// 4096 rows through 64 layers of 512x512: about 70 GFLOP, seconds on one core.
	let input = vec![f32_tensor("x", vec![4096, 512], vec![0.5; 4096 * 512])].encode();
	let err = match sb.load(&slow_id, &slow) {
		Err(e) => e,
		Ok(()) => sb.run(&slow_id, &input).unwrap_err(),
	};
	assert_eq!(err.kind, EngineError::Timeout, "{err}");
	assert!(!sb.is_loaded(&slow_id), "a killed worker's models are forgotten");
	// The next request gets a fresh worker.
	let (bytes, id) = model("digits-mlp.onnx");
	sb.load(&id, &bytes).unwrap();
	assert!(sb.run(&id, &digits_input()).is_ok());
}

fn limit(n: i64) -> Vec<u8> {
	use codec::Encode;
	vec![Tensor {
		name: b"limit".to_vec(),
		dtype: DType::Int64,
		shape: vec![],
		data: n.to_le_bytes().to_vec(),
	}]
	.encode()
}

#[test]
fn a_data_dependent_huge_allocation_is_refused_alike_on_every_machine() {
	// Range(0, 2^34) asks for 128 GiB, a size no check can see before it runs.
	// It used to fail in the system allocator (or not, on a machine with the
	// memory) and kill the worker; the worker's allocation cap
	// (verity_engine::alloc) refuses it on every machine, and the engine
	// answers TensorTooLarge, judged by the size rule like any other.
	let (bytes, id) = model("dynamic-range.onnx");
	let sb = sandbox(Limits { memory_bytes: 1 << 30, ..Limits::default() }, Fault::None);
	sb.load(&id, &bytes).unwrap();
	let err = sb.run(&id, &limit(1 << 34)).unwrap_err();
	assert_eq!(err.kind, EngineError::TensorTooLarge, "{err}");
	assert_eq!(err.kind.blame(1), Blame::Model);
	// The worker survived and serves a reasonable request at once.
	let out = verity_primitives::decode_tensors(&sb.run(&id, &limit(5)).unwrap()).unwrap();
	assert_eq!(out[0].shape, vec![5]);
	assert_eq!(out[0].element_f64(4), Some(4.0));
	assert_eq!(sb.worker_starts(), 1);
}

#[test]
fn fault_injection_changes_executed_answers_only() {
	let (bytes, id) = model("digits-mlp.onnx");
	let sb = sandbox(Limits::default(), Fault::Always);
	sb.load(&id, &bytes).unwrap();
	let honest = sb.run_for(&id, &digits_input(), verity_engine::PURPOSE_VERIFY, u64::MAX).unwrap();
	let faulty =
		sb.run_for(&id, &digits_input(), verity_engine::PURPOSE_EXECUTE, u64::MAX).unwrap();
	assert_eq!(faulty, perturb_output(&honest));
	let (h, f) = (
		verity_primitives::decode_tensors(&honest).unwrap(),
		verity_primitives::decode_tensors(&faulty).unwrap(),
	);
	assert!(!outputs_agree(&VerificationPolicy::ArgMax, &h, &f));
	assert!("0.5".parse::<Fault>().is_ok() && "2".parse::<Fault>().is_err());
}

#[test]
fn describe_reads_the_declared_inputs_and_outputs() {
	let spec = |s: &verity_primitives::TensorSpec| {
		(String::from_utf8(s.name.to_vec()).unwrap(), s.dtype, s.shape.to_vec())
	};
	let sig = describe(&model("iris-forest.onnx").0).unwrap();
	assert_eq!(
		sig.inputs.iter().map(spec).collect::<Vec<_>>(),
		[("x".into(), DType::Float32, vec![Dim::Batch, Dim::Fixed(4)])]
	);
	assert_eq!(
		sig.outputs.iter().map(spec).collect::<Vec<_>>(),
		[
			("probabilities".into(), DType::Float32, vec![Dim::Batch, Dim::Fixed(3)]),
			("label".into(), DType::Int64, vec![Dim::Batch]),
		]
	);
	let err = describe(b"definitely not onnx").unwrap_err();
	assert_eq!(err.kind, EngineError::InvalidModel);
}

#[test]
fn describe_finds_unseeded_random_operators() {
	let sig = describe(&model("noisy-scores.onnx").0).unwrap();
	assert_eq!(sig.unseeded_random_ops, vec![b"noise".to_vec()]);
	assert!(describe(&model("digits-mlp.onnx").0).unwrap().unseeded_random_ops.is_empty());
	// In the sandbox too, as the admission check calls it.
	let sb = sandbox(Limits::default(), Fault::None);
	assert_eq!(sb.describe(&model("noisy-scores.onnx").0).unwrap(), sig);
	assert_eq!(sb.describe(b"not onnx").unwrap_err().kind, EngineError::InvalidModel);
}

#[test]
fn an_output_over_the_cap_is_refused_inside_the_worker() {
	use codec::Encode;
	let (bytes, id) = model("digits-mlp.onnx");
	let sb = sandbox(Limits::default(), Fault::None);
	sb.load(&id, &bytes).unwrap();
	let full = sb.run(&id, &digits_input()).unwrap();
	let cap = full.len() as u64;
	assert_eq!(sb.run_capped(&id, &digits_input(), cap).unwrap(), full);
	let err = sb.run_capped(&id, &digits_input(), cap - 1).unwrap_err();
	assert_eq!(err.kind, EngineError::OutputTooLarge, "{err}");
	// Nothing was lost: the worker still serves the model.
	assert_eq!(sb.run(&id, &digits_input()).unwrap(), full);
	// Too large for one item is the model's fault; for a batch, the requester's.
	assert_eq!(EngineError::OutputTooLarge.blame(1), Blame::Model);
	assert_eq!(EngineError::OutputTooLarge.blame(64), Blame::Input);
	let _ = full.encode();
}

#[test]
fn node_local_failures_are_nobodys_fault_but_the_nodes() {
	for e in [
		EngineError::Timeout,
		EngineError::Crashed,
		EngineError::Internal,
		EngineError::NotLoaded,
		EngineError::ModelTooLarge,
	] {
		assert_eq!(e.blame(1), Blame::Node, "{e:?}");
		assert_eq!(e.blame(8), Blame::Node, "{e:?}");
	}
	for e in [EngineError::InvalidModel, EngineError::UnsupportedModel, EngineError::RunFailed] {
		assert_eq!(e.blame(8), Blame::Model, "{e:?}");
	}
	assert_eq!(EngineError::TensorTooLarge.blame(8), Blame::Input);
	assert_eq!(EngineError::MemoryLimit.blame(1), Blame::Model);
}

#[test]
fn the_host_functions_reach_the_sandbox_registered_as_the_extension() {
	use verity_engine_interface::host::verity_inference;
	let (bytes, id) = model("digits-mlp.onnx");
	let sb = std::sync::Arc::new(sandbox(Limits::default(), Fault::Always));
	let mut ext = sp_io::TestExternalities::default();
	ext.register_extension(verity_engine::InferenceExt::new(sb.clone()));
	let expected = {
		sb.load(&id, &bytes).unwrap();
		sb.run(&id, &digits_input()).unwrap()
	};
	ext.execute_with(|| {
		assert!(verity_inference::is_loaded(id), "the extension is the node's sandbox");
		let verified =
			verity_inference::run(id, &digits_input(), verity_engine::PURPOSE_VERIFY, u32::MAX)
				.unwrap();
		assert_eq!(verified, expected);
		// Fault injection happens behind the extension, for executions only.
		let executed =
			verity_inference::run(id, &digits_input(), verity_engine::PURPOSE_EXECUTE, u32::MAX)
				.unwrap();
		assert_eq!(executed, perturb_output(&expected));
		assert_eq!(
			verity_inference::run(id, &digits_input(), verity_engine::PURPOSE_VERIFY, 8),
			Err(EngineError::OutputTooLarge)
		);
		let signature = verity_inference::describe(&bytes).unwrap();
		assert_eq!(signature, codec::Encode::encode(&sb.describe(&bytes).unwrap()));
	});
	// Externalities without the extension: no engine, this node's fault.
	sp_io::TestExternalities::default().execute_with(|| {
		assert!(!verity_inference::is_loaded(id));
		let err = verity_inference::load(id, &bytes).unwrap_err();
		assert_eq!((err, err.blame(1)), (EngineError::Internal, Blame::Node));
	});
}
