//! The `verity` binary, as users run it: offline (`infer-local`, bad input)
//! and against a real `verity-node --dev`.

#[path = "../../node/tests/common/mod.rs"]
mod common;

use std::{
	path::PathBuf,
	process::{Command, Output},
	time::{Duration, Instant},
};

use common::Node;
use subxt::rpcs::rpc_params;
use subxt_signer::sr25519::dev;

fn models() -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models")
}

fn model(name: &str) -> String {
	models().join(name).display().to_string()
}

fn verity(args: &[&str]) -> Output {
	Command::new(env!("CARGO_BIN_EXE_verity")).args(args).output().expect("verity runs")
}

fn stdout(o: &Output) -> String {
	String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
	String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `verity args`, expecting success; returns stdout.
fn ok(args: &[&str]) -> String {
	let o = verity(args);
	assert!(o.status.success(), "verity {args:?} failed: {}", stderr(&o));
	stdout(&o)
}

/// Runs `verity args`, expecting exit code 1 and a one-line error containing
/// `expected`.
fn fails(args: &[&str], expected: &str) {
	let o = verity(args);
	let err = stderr(&o);
	assert_eq!(o.status.code(), Some(1), "verity {args:?}: {err}");
	assert_eq!(err.lines().count(), 1, "one line expected, got: {err}");
	assert!(err.starts_with("error: "), "{err}");
	assert!(err.contains(expected), "verity {args:?}: expected {expected:?} in {err:?}");
	assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{err}");
}

/// The first `n` digits reference images as a tensor JSON file; returns its path.
fn digits_input(dir: &std::path::Path, row: usize) -> String {
	let doc: serde_json::Value = serde_json::from_str(
		&std::fs::read_to_string(models().join("digits-mlp.reference.json")).unwrap(),
	)
	.unwrap();
	let data = doc["input"]["data"].as_array().unwrap()[row * 64..(row + 1) * 64].to_vec();
	let input = serde_json::json!({"tensors": [
		{"name": "x", "dtype": "float32", "shape": [1, 64], "data": data}
	]});
	let path = dir.join(format!("digit-{row}.json"));
	std::fs::write(&path, input.to_string()).unwrap();
	path.display().to_string()
}

fn temp_dir(name: &str) -> PathBuf {
	let dir = std::env::temp_dir().join(format!("verity-cli-{}-{name}", std::process::id()));
	std::fs::create_dir_all(&dir).unwrap();
	dir
}

#[test]
fn infer_local_runs_the_engine_and_matches_onnxruntime() {
	let dir = temp_dir("local");
	let out = ok(&[
		"infer-local",
		"--model",
		&model("digits-mlp.onnx"),
		"--input",
		&digits_input(&dir, 0),
	]);
	let doc: serde_json::Value = serde_json::from_str(&out).expect("stdout is JSON");
	let t = &doc["tensors"][0];
	assert_eq!(t["name"], "probabilities");
	assert_eq!(t["dtype"], "float32");
	assert_eq!(t["shape"], serde_json::json!([1, 10]));
	let reference: serde_json::Value = serde_json::from_str(
		&std::fs::read_to_string(models().join("digits-mlp.reference.json")).unwrap(),
	)
	.unwrap();
	let want = &reference["outputs"][0]["data"].as_array().unwrap()[..10];
	for (got, want) in t["data"].as_array().unwrap().iter().zip(want) {
		assert!((got.as_f64().unwrap() - want.as_f64().unwrap()).abs() < 1e-6);
	}
	std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_files_and_inputs_get_one_line_errors() {
	let dir = temp_dir("errors");
	let input = digits_input(&dir, 0);
	let digits = model("digits-mlp.onnx");
	fails(
		&["infer-local", "--model", "/nonexistent.onnx", "--input", &input],
		"cannot read /nonexistent.onnx",
	);
	fails(&["infer-local", "--model", &input, "--input", &input], "is not a usable ONNX model");
	fails(&["infer-local", "--model", &digits, "--input", "/nonexistent.json"], "cannot read");
	std::fs::write(dir.join("bad.json"), "{\"tensors\": [}").unwrap();
	let bad = dir.join("bad.json").display().to_string();
	fails(&["infer-local", "--model", &digits, "--input", &bad], "not JSON");
	let wrong = serde_json::json!({"tensors": [
		{"name": "x", "dtype": "float32", "shape": [1, 63], "data": vec![0.0; 63]}
	]});
	std::fs::write(dir.join("wrong.json"), wrong.to_string()).unwrap();
	let wrong = dir.join("wrong.json").display().to_string();
	fails(
		&["infer-local", "--model", &digits, "--input", &wrong],
		"does not match the model's declared inputs (WrongShape); it takes: x float32 [N,64]",
	);
	fails(
		&["job", "show", "1", "--url", "ws://127.0.0.1:1"],
		"cannot reach a Verity node at ws://127.0.0.1:1",
	);
	fails(&["model", "register", "--file", &digits, "--name", "d", "--price", "1"], "pass --suri");
	fails(&["model", "show", "0x1234"], "is not a model id");
	std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_hostile_model_errors_within_its_limit() {
	let dir = temp_dir("hostile");
	let input = serde_json::json!({"tensors": [
		{"name": "x", "dtype": "float32", "shape": [1], "data": [1.0]}
	]});
	std::fs::write(dir.join("x.json"), input.to_string()).unwrap();
	let x = dir.join("x.json").display().to_string();
	let start = Instant::now();
	fails(
		&[
			"infer-local",
			"--model",
			&model("hostile-expand.onnx"),
			"--input",
			&x,
			"--timeout-ms",
			"5000",
		],
		"TensorTooLarge",
	);
	assert!(start.elapsed() < Duration::from_secs(30));
	// A model that outruns its time limit is stopped, with its own error.
	let slow = serde_json::json!({"tensors": [
		{"name": "x", "dtype": "float32", "shape": [64, 512], "data": vec![0.5; 64 * 512]}
	]});
	std::fs::write(dir.join("slow.json"), slow.to_string()).unwrap();
	let slow = dir.join("slow.json").display().to_string();
	fails(
		&[
			"infer-local",
			"--model",
			&model("slow-matmul.onnx"),
			"--input",
			&slow,
			"--timeout-ms",
			"1",
		],
		"Timeout",
	);
	std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_submit_and_settle_on_a_dev_node() {
	// A plain `--dev` node, as a new user starts it: nobody inserts keys.
	let mut node = Node::start("dev", &["--dev", "--dev-block-time", "500"]);
	let (rpc, _api) = node.connect(Duration::from_secs(180)).await;
	// Its keystore holds the `vrty` key of every genesis executor (Alice,
	// Bob) and verifier (Charlie..Ferdie), so every job below is served
	// whoever is drawn, and the genesis verifiers admit registered models.
	for kp in [dev::alice(), dev::bob(), dev::charlie(), dev::dave(), dev::eve(), dev::ferdie()] {
		let public = format!("0x{}", hex::encode(kp.public_key().0));
		let held: bool = rpc.request("author_hasKey", rpc_params![public, "vrty"]).await.unwrap();
		assert!(held, "the dev keystore lacks a genesis key");
	}
	let url = node.url();
	let dir = temp_dir("node");
	let digits = model("digits-mlp.onnx");
	let with = |args: &[&str], suri: &str| -> Vec<String> {
		let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
		v.extend(["--url".into(), url.clone(), "--suri".into(), suri.into()]);
		v
	};
	let run_ok = |args: Vec<String>| ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
	let run_fails = |args: Vec<String>, expected: &str| {
		fails(&args.iter().map(String::as_str).collect::<Vec<_>>(), expected)
	};

	// A publisher registers the model; its id is the file's blake2-256.
	let id = run_ok(with(
		&[
			"model",
			"register",
			"--file",
			&digits,
			"--name",
			"digits-mlp",
			"--version",
			"1.0",
			"--price",
			"1",
			"--policy",
			"tolerance:0.00001,0.0001",
			// The chain's minimum: the default (its recommended 150 blocks)
			// would keep `--wait settled` below waiting for minutes.
			"--challenge-period",
			"10",
		],
		"//Charlie",
	));
	let expected = format!(
		"0x{}",
		hex::encode(sp_crypto_hashing::blake2_256(&std::fs::read(&digits).unwrap()))
	);
	assert_eq!(id.trim(), expected);
	let shown = run_ok(with(&["model", "show", "digits-mlp@1.0"], "//Charlie"));
	assert!(shown.contains("status:           Active"), "{shown}");
	assert!(shown.contains("input:            x float32 [N,64]"), "{shown}");
	assert!(shown.contains("policy:           tolerance:0.00001,0.0001"), "{shown}");
	assert!(run_ok(with(&["model", "list"], "//Charlie")).contains(&expected));
	run_fails(
		with(
			&["model", "register", "--file", &digits, "--name", "digits-mlp", "--price", "1"],
			"//Charlie",
		),
		"is already registered",
	);
	run_fails(with(&["model", "retire", &expected], "//Dave"), "ModelRegistry.NotOwner");
	// Exact is refused for float outputs before anything is sent.
	let noisy = model("noisy-scores.onnx");
	run_fails(
		with(
			&[
				"model", "register", "--file", &noisy, "--name", "n", "--price", "1", "--policy",
				"exact",
			],
			"//Charlie",
		),
		"--policy exact needs integer or boolean outputs",
	);

	// A dApp submits a job and waits until it settles; the output is what
	// the engine computes locally, bit for bit.
	let input = digits_input(&dir, 3);
	let out = run_ok(with(
		&[
			"job",
			"submit",
			"--model",
			&expected,
			"--input",
			&input,
			"--wait",
			"settled",
			"--timeout",
			"120",
		],
		"//Eve",
	));
	let mut lines = out.lines();
	let job: u64 = lines.next().unwrap().parse().expect("first line: the job id");
	let chain_output: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
	let local: serde_json::Value =
		serde_json::from_str(&ok(&["infer-local", "--model", &digits, "--input", &input])).unwrap();
	assert_eq!(chain_output, local);
	let shown = run_ok(with(&["job", "show", &job.to_string()], "//Eve"));
	assert!(shown.contains("status:     settled; output kept until block"), "{shown}");

	// Every error is one line and exit code 1.
	let wrong = serde_json::json!({"tensors": [
		{"name": "x", "dtype": "float32", "shape": [1, 8], "data": vec![0.0; 8]}
	]});
	std::fs::write(dir.join("wrong.json"), wrong.to_string()).unwrap();
	let wrong = dir.join("wrong.json").display().to_string();
	run_fails(
		with(&["job", "submit", "--model", &expected, "--input", &wrong], "//Eve"),
		"does not match the model's declared inputs",
	);
	run_fails(with(&["job", "show", "999"], "//Eve"), "unknown job 999");
	run_fails(
		with(&["model", "show", &format!("0x{}", "ab".repeat(32))], "//Eve"),
		"unknown model",
	);
	run_fails(
		with(&["model", "show", "nothing@1.0"], "//Eve"),
		"no model nothing@1.0 is registered",
	);
	run_fails(
		with(
			&["job", "submit", "--model", &expected, "--input", &input, "--wait", "none"],
			"//Nobody",
		),
		"insufficient balance",
	);
	run_fails(
		with(
			&["job", "submit", "--model", &expected, "--input", &input, "--max-fee", "0.001"],
			"//Eve",
		),
		"Inference.",
	);
	run_fails(
		with(&["challenge", &job.to_string()], "//Dave"),
		"cannot be challenged: it is settled",
	);

	// A PyTorch-style transformer encoder layer: its sequence dimension is
	// declared free (at most 16 here), admitted by the verifiers, and a job of
	// 2 sequences of 7 tokens runs on the chain as it runs locally.
	let encoder = corpus_model("pt-transformer-encoder");
	let encoder_id = run_ok(with(
		&[
			"model",
			"register",
			"--file",
			&encoder,
			"--name",
			"encoder",
			"--price",
			"1",
			"--free-dim-max",
			"16",
			"--challenge-period",
			"10",
		],
		"//Charlie",
	));
	let shown = run_ok(with(&["model", "show", "encoder@1.0"], "//Charlie"));
	assert!(shown.contains("status:           Active"), "{shown}");
	assert!(shown.contains("src float32 [N,<=16,32]"), "{shown}");
	// A job on model `id` (file `file`) with the tensor JSON `input`: its
	// output on the chain, checked equal to this machine's engine's.
	let job_matches_local = |id: &str, file: &str, input: &str| -> serde_json::Value {
		let out = run_ok(with(
			&[
				"job",
				"submit",
				"--model",
				id,
				"--input",
				input,
				"--wait",
				"result",
				"--timeout",
				"120",
			],
			"//Eve",
		));
		let chain_output: serde_json::Value =
			serde_json::from_str(out.lines().nth(1).expect("the output")).unwrap();
		let local: serde_json::Value =
			serde_json::from_str(&ok(&["infer-local", "--model", file, "--input", input])).unwrap();
		assert_eq!(chain_output, local, "{file}");
		chain_output
	};
	let tokens = corpus_input(&dir, "pt-transformer-encoder");
	let chain_output = job_matches_local(encoder_id.trim(), &encoder, &tokens);
	assert_eq!(chain_output["tensors"][0]["shape"], serde_json::json!([2, 7, 32]));
	// 17 tokens: over the declared maximum, refused before anything is paid.
	let long = serde_json::json!({"tensors": [
		{"name": "src", "dtype": "float32", "shape": [1, 17, 32], "data": vec![0.0; 17 * 32]}
	]});
	std::fs::write(dir.join("long.json"), long.to_string()).unwrap();
	let long = dir.join("long.json").display().to_string();
	run_fails(
		with(&["job", "submit", "--model", encoder_id.trim(), "--input", &long], "//Eve"),
		"does not match the model's declared inputs",
	);

	// More of the exporter corpus as jobs: a recurrent layer (typed by the
	// engine only at concrete shapes), a support-vector classifier and a
	// XGBoost booster (operators of ours). Each output is the local one,
	// which the corpus test compares with onnxruntime's.
	for name in ["pt-lstm", "sk-svc-rbf", "xgboost-classifier"] {
		let file = corpus_model(name);
		let id = run_ok(with(
			&[
				"model",
				"register",
				"--file",
				&file,
				"--name",
				name,
				"--price",
				"1",
				"--challenge-period",
				"10",
			],
			"//Charlie",
		));
		job_matches_local(id.trim(), &file, &corpus_input(&dir, name));
	}

	// Consensus mode: a random forest registered with `--consensus` (the
	// verifiers' admission compiles it again and compares), and a job the
	// runtime evaluates in the block that includes it. Its output is this
	// machine's engine's, bit for bit (both run the same tree code).
	let forest = corpus_model("sk-random-forest");
	let forest_id = run_ok(with(
		&[
			"model",
			"register",
			"--file",
			&forest,
			"--name",
			"forest",
			"--price",
			"1",
			"--consensus",
			"--challenge-period",
			"10",
		],
		"//Charlie",
	));
	let forest_input = corpus_input(&dir, "sk-random-forest");
	let out = run_ok(with(
		&[
			"job",
			"submit",
			"--model",
			forest_id.trim(),
			"--input",
			&forest_input,
			"--mode",
			"consensus",
		],
		"//Eve",
	));
	let mut lines = out.lines();
	let job: u64 = lines.next().unwrap().parse().expect("first line: the job id");
	let chain_output: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
	let local: serde_json::Value =
		serde_json::from_str(&ok(&["infer-local", "--model", &forest, "--input", &forest_input]))
			.unwrap();
	assert_eq!(chain_output, local);
	let shown = run_ok(with(&["job", "show", &job.to_string()], "//Eve"));
	assert!(shown.contains("mode:       Consensus") && shown.contains("settled"), "{shown}");
	// A model outside the interpreter's subset is refused before anything
	// is sent; a model without a graph cannot take consensus jobs.
	run_fails(
		with(
			&[
				"model",
				"register",
				"--file",
				&corpus_model("pt-cnn"),
				"--name",
				"cnn",
				"--price",
				"1",
				"--consensus",
			],
			"//Charlie",
		),
		"cannot run in consensus mode: operator PRelu",
	);
	run_fails(
		with(
			&["job", "submit", "--model", &expected, "--input", &input, "--mode", "consensus"],
			"//Eve",
		),
		"Inference.NotConsensusModel",
	);
	std::fs::remove_dir_all(dir).unwrap();
}

fn corpus_model(name: &str) -> String {
	models().join("corpus").join(format!("{name}.onnx")).display().to_string()
}

/// A corpus model's reference input as a tensor JSON file; returns its path.
fn corpus_input(dir: &std::path::Path, name: &str) -> String {
	let doc: serde_json::Value = serde_json::from_str(
		&std::fs::read_to_string(models().join("corpus").join(format!("{name}.reference.json")))
			.unwrap(),
	)
	.unwrap();
	let path = dir.join(format!("{name}.input.json"));
	std::fs::write(&path, serde_json::json!({"tensors": [doc["input"]]}).to_string()).unwrap();
	path.display().to_string()
}

#[test]
fn infer_local_runs_the_exporter_corpus_as_onnxruntime_does() {
	let dir = temp_dir("corpus");
	let mut names: Vec<String> = std::fs::read_dir(models().join("corpus"))
		.unwrap()
		.filter_map(|e| {
			e.unwrap().file_name().into_string().unwrap().strip_suffix(".onnx").map(String::from)
		})
		.collect();
	names.sort();
	let mut agreeing = 0;
	for name in &names {
		let reference: serde_json::Value = serde_json::from_str(
			&std::fs::read_to_string(
				models().join("corpus").join(format!("{name}.reference.json")),
			)
			.unwrap(),
		)
		.unwrap();
		let mut input = corpus_input(&dir, name);
		let mut rows = None;
		let mut o = verity(&["infer-local", "--model", &corpus_model(name), "--input", &input]);
		if stderr(&o).contains("does not match its declared outputs") {
			// onnxmltools declares LightGBM's binary label as [1]: such a model
			// is registered with --max-batch 1, so it runs one row at a time.
			let mut one = reference["input"].clone();
			let width: usize = one["shape"].as_array().unwrap()[1..]
				.iter()
				.map(|d| d.as_u64().unwrap() as usize)
				.product();
			one["shape"][0] = 1.into();
			one["data"] =
				serde_json::Value::Array(one["data"].as_array().unwrap()[..width].to_vec());
			let path = dir.join(format!("{name}.row.json"));
			std::fs::write(&path, serde_json::json!({"tensors": [one]}).to_string()).unwrap();
			input = path.display().to_string();
			rows = Some(1);
			o = verity(&["infer-local", "--model", &corpus_model(name), "--input", &input]);
		}
		assert!(o.status.success(), "{name}: {}", stderr(&o));
		let ours: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
		for want in reference["outputs"].as_array().unwrap() {
			let got = ours["tensors"]
				.as_array()
				.unwrap()
				.iter()
				.find(|t| t["name"] == want["name"])
				.unwrap_or_else(|| panic!("{name}: no output {}", want["name"]));
			let shape = want["shape"].as_array().unwrap();
			let mut want_data = want["data"].as_array().unwrap().clone();
			if let Some(rows) = rows {
				let per_row = want_data.len() / shape[0].as_u64().unwrap() as usize;
				want_data.truncate(rows * per_row);
			} else {
				assert_eq!(got["shape"], want["shape"], "{name}");
			}
			assert_eq!(got["data"].as_array().unwrap().len(), want_data.len(), "{name}");
			for (g, w) in got["data"].as_array().unwrap().iter().zip(&want_data) {
				let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
				assert!((g - w).abs() <= 1e-5 * w.abs().max(1.0), "{name}: {g} vs {w}");
			}
		}
		agreeing += 1;
	}
	assert_eq!(agreeing, names.len(), "every corpus model agrees with onnxruntime");
	std::fs::remove_dir_all(dir).unwrap();
}
