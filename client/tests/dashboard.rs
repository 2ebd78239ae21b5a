//! What a person and a third-party dApp see of a `--dev` node: the example
//! JavaScript dApp (`examples/js`, `@polkadot/api` from npm) classifies a
//! digit through the chain, and the web dashboard (`verity dashboard`), opened
//! in headless Chromium, shows the model, a settled job, a challenged job's
//! dispute with its votes, and the node going away and coming back.
//!
//! Needs what `scripts/setup` installs: Node.js packages in `examples/js` and
//! `dashboard` (with the dashboard built), and Debian's `chromium`.

#[path = "../../node/tests/common/mod.rs"]
mod common;

use std::{
	io::{BufRead, BufReader, Write},
	path::{Path, PathBuf},
	process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio},
	time::Duration,
};

use common::Node;

fn repo() -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn verity(args: &[&str]) -> Output {
	Command::new(env!("CARGO_BIN_EXE_verity")).args(args).output().expect("verity runs")
}

/// Runs `verity args`, expecting success; returns stdout.
fn ok(args: &[&str]) -> String {
	let o = verity(args);
	assert!(o.status.success(), "verity {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
	String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Fails with a pointer to `scripts/setup` when `path` is missing.
fn needs(path: &Path) {
	assert!(
		path.exists(),
		"{} is missing: run scripts/setup (npm packages, chromium)",
		path.display()
	);
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
	fn drop(&mut self) {
		let _ = self.0.kill();
		let _ = self.0.wait();
	}
}

/// `dashboard/test/browser.mjs`: headless Chromium on the dashboard,
/// answering one command at a time.
struct Browser {
	_child: Killed,
	stdin: ChildStdin,
	stdout: BufReader<ChildStdout>,
}

impl Browser {
	fn open(url: &str) -> Browser {
		let mut child = Command::new("node")
			.arg(repo().join("dashboard/test/browser.mjs"))
			.arg(url)
			.stdin(Stdio::piped())
			.stdout(Stdio::piped())
			.spawn()
			.expect("node runs dashboard/test/browser.mjs");
		let stdin = child.stdin.take().unwrap();
		let stdout = BufReader::new(child.stdout.take().unwrap());
		let mut browser = Browser { _child: Killed(child), stdin, stdout };
		assert_eq!(browser.line(), "ready");
		browser
	}

	fn line(&mut self) -> String {
		let mut line = String::new();
		self.stdout.read_line(&mut line).expect("the browser script answers");
		line.trim().to_string()
	}

	fn ask(&mut self, command: serde_json::Value) -> String {
		writeln!(self.stdin, "{command}").unwrap();
		self.line()
	}

	/// Asserts that the first element matching `selector` shows `text`
	/// within `timeout`.
	fn sees(&mut self, selector: &str, text: &str, timeout: Duration) {
		let answer = self.ask(serde_json::json!({
			"wait": selector, "text": text, "timeout_ms": timeout.as_millis() as u64
		}));
		assert_eq!(answer, "ok", "the page does not show {text:?} in {selector}");
	}

	/// Saves a screenshot of the whole page (`full`) or of the viewport.
	fn screenshot(&mut self, path: &Path, full: bool) {
		assert_eq!(self.ask(serde_json::json!({ "shot": path, "full": full })), "ok");
		let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
		assert!(size > 10_000, "{} is {size} bytes", path.display());
	}

	fn click(&mut self, selector: &str) {
		assert_eq!(self.ask(serde_json::json!({ "click": selector })), "ok", "click {selector}");
	}

	fn goto(&mut self, url: &str) {
		assert_eq!(self.ask(serde_json::json!({ "open": url })), "ok");
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn a_javascript_dapp_and_the_dashboard_see_the_chain() {
	for path in [
		"examples/js/node_modules/@polkadot/api",
		"dashboard/dist/app.js",
		"dashboard/node_modules/playwright-core",
	] {
		needs(&repo().join(path));
	}
	needs(Path::new("/usr/bin/chromium"));

	// A plain dev node: its keystore serves every genesis executor and verifier.
	let mut node = Node::start("dashboard", &["--dev", "--dev-block-time", "500"]);
	node.connect(Duration::from_secs(180)).await;
	let url = node.url();
	let digits = repo().join("models/digits-mlp.onnx").display().to_string();
	let input = repo().join("models/digits/00-label-2.json").display().to_string();
	let model = ok(&[
		"--url",
		&url,
		"--suri",
		"//Charlie",
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
		"--challenge-period",
		"10",
	]);
	let model = model.trim();

	// 1. The JavaScript dApp: lists the models, submits a job, follows its
	// events to the end, and prints the argmax the runtime API returns,
	// which is what this machine's engine computes.
	let local = ok(&["infer-local", "--model", &digits, "--input", &input, "--output", "argmax"]);
	let js = Command::new("node")
		.arg(repo().join("examples/js/classify.mjs"))
		.args(["--url", &url, "--input", &input, "--suri", "//Eve"])
		.output()
		.expect("node runs the example");
	let out = String::from_utf8_lossy(&js.stdout);
	assert!(js.status.success(), "{out}{}", String::from_utf8_lossy(&js.stderr));
	assert!(out.contains(&format!("digits-mlp@1.0 Active price 1000000000000 {model}")), "{out}");
	let settled = out.lines().last().unwrap();
	assert!(settled.ends_with(&format!("settled: predicted {}", local.trim())), "{out}");
	let settled_job: u64 = settled.split(' ').nth(1).unwrap().parse().unwrap();

	// 2. A challenged job: Dave disputes an honest result, a committee of
	// the other verifiers re-executes it and agrees with the executor.
	let submitted = ok(&[
		"--url", &url, "--suri", "//Eve", "job", "submit", "--model", model, "--input", &input,
		"--wait", "result",
	]);
	let challenged: u64 = submitted.lines().next().unwrap().parse().expect("the job id");
	ok(&["--url", &url, "--suri", "//Dave", "challenge", &challenged.to_string()]);
	// `job wait` returns once the dispute ended and the job settled, printing
	// the output (the dashboard shows the verdict below).
	let waited = ok(&["--url", &url, "job", "wait", &challenged.to_string(), "--timeout", "120"]);
	assert!(waited.starts_with("{\"tensors\""), "{waited}");

	// 3. The dashboard, opened in Chromium. A bad node URL is refused first.
	let bad = verity(&["--url", "http://127.0.0.1:1", "dashboard", "--port", "1"]);
	let err = String::from_utf8_lossy(&bad.stderr);
	assert_eq!(bad.status.code(), Some(1), "{err}");
	assert!(err.contains("is not a node's WebSocket address"), "{err}");
	let port = common::free_port();
	let mut server = Command::new(env!("CARGO_BIN_EXE_verity"))
		.args(["--url", &url, "dashboard", "--port", &port.to_string()])
		.stdout(Stdio::piped())
		.spawn()
		.unwrap();
	let mut first = String::new();
	BufReader::new(server.stdout.take().unwrap()).read_line(&mut first).unwrap();
	let _server = Killed(server);
	let page = format!("http://127.0.0.1:{port}/");
	assert!(first.contains(&page), "{first}");
	let mut browser = Browser::open(&page);
	let long = Duration::from_secs(60);
	browser.sees("#status", &format!("connected to {url}"), long);
	let model_row = "#models tbody tr[data-family=\"digits-mlp\"]";
	browser.sees(model_row, "Active", long);
	browser.sees(model_row, "Charlie", long);
	browser.sees(model_row, "tolerance 0.00001,0.0001", long);
	let job_row = format!("#jobs tbody tr[data-job=\"{settled_job}\"]");
	browser.sees(&job_row, "Settled", long);
	browser.sees(&job_row, &format!("argmax {}", local.trim()), long);
	// Opening the job shows its timeline, block by block.
	browser.click(&job_row);
	browser.sees("#job-detail", &format!("Job {settled_job}: Settled"), long);
	for step in ["submitted", "assigned", "result committed", "window until", "settled"] {
		browser.sees("#job-detail .timeline", step, long);
	}
	browser.sees("#job-detail", &format!("argmax {}", local.trim()), long);
	let dispute = format!("#disputes .dispute[data-job=\"{challenged}\"]");
	browser.sees(&dispute, "ExecutorRight", long);
	browser.sees(&dispute, "by Dave", long);
	browser.sees(&dispute, "Agrees", long);
	browser.sees(&dispute, "slashed Dave 10 VRT", long);
	browser.sees("#verifiers tbody tr[data-account=\"Dave\"]", "1 (10 VRT)", long);
	// Kept after the test, for a person to look at.
	let shots = std::env::temp_dir().join(format!("verity-dashboard-{}", std::process::id()));
	std::fs::create_dir_all(&shots).unwrap();
	browser.screenshot(&shots.join("dashboard.png"), true);

	// 4. The node goes away: the page says so within 5 s, and is back within
	// 10 s of the node's restart, with what it showed.
	node.kill();
	browser.sees("#status", "disconnected", Duration::from_secs(5));
	node.restart();
	browser.sees("#status", &format!("connected to {url}"), Duration::from_secs(10));
	browser.sees(&job_row, "Settled", long);
	browser.screenshot(&shots.join("dashboard-after-restart.png"), true);

	// 5. The architecture picture renders.
	let svg = repo().join("docs/architecture.svg");
	browser.goto(&format!("file://{}", svg.display()));
	browser.sees("svg", "verifiers", long);
	browser.screenshot(&shots.join("architecture.png"), false);
	println!("screenshots in {}", shots.display());
}
