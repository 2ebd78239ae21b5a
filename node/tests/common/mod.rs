//! Starts real `verity-node` processes for the integration tests.
//!
//! Every node gets its own free ports and a fresh base path. Its output goes
//! to `node.log` in that directory; the path is printed when a test fails.
//! A node is killed when its [`Node`] is dropped, also while a failing test
//! unwinds, and (on Linux) when the test process itself dies.

#![allow(dead_code)]

pub mod market;
pub mod network;

use std::{
	net::TcpListener,
	os::unix::process::CommandExt,
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	sync::atomic::{AtomicU32, Ordering},
	time::{Duration, Instant},
};

use subxt::{rpcs::RpcClient, OnlineClient, PolkadotConfig};

/// The client type the tests use.
pub type Api = OnlineClient<PolkadotConfig>;

/// A running `verity-node`.
pub struct Node {
	child: Child,
	/// Its JSON-RPC (WebSocket + HTTP) port.
	pub rpc_port: u16,
	/// Its libp2p port.
	pub p2p_port: u16,
	/// Its base path, holding the database, keystore and `node.log`.
	pub dir: PathBuf,
	name: String,
	args: Vec<String>,
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn fresh_dir(name: &str) -> PathBuf {
	static N: AtomicU32 = AtomicU32::new(0);
	let dir = std::env::temp_dir().join(format!(
		"verity-test-{}-{}-{name}",
		std::process::id(),
		N.fetch_add(1, Ordering::SeqCst)
	));
	let _ = std::fs::remove_dir_all(&dir);
	std::fs::create_dir_all(&dir).unwrap();
	dir
}

/// The node binary cargo built for these tests: cargo names it for the
/// node's own tests; other crates' tests (the client's) find it beside their
/// own binaries, where `cargo test --workspace` builds it.
pub fn node_binary() -> PathBuf {
	if let Some(path) = option_env!("CARGO_BIN_EXE_verity-node") {
		return path.into();
	}
	let exe = std::env::current_exe().expect("the test binary's path");
	let dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps");
	let node = dir.join("verity-node");
	assert!(node.exists(), "{} missing: run `cargo test --workspace`", node.display());
	node
}

impl Node {
	/// Starts `verity-node` with `args` plus ports, base path and quiet defaults.
	pub fn start(name: &str, args: &[&str]) -> Node {
		let dir = fresh_dir(name);
		let (rpc_port, p2p_port) = (free_port(), free_port());
		let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
		let child = Self::spawn(name, &args, &dir, rpc_port, p2p_port);
		Node { child, rpc_port, p2p_port, dir, name: name.into(), args }
	}

	fn spawn(name: &str, args: &[String], dir: &Path, rpc_port: u16, p2p_port: u16) -> Child {
		let log = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.open(dir.join("node.log"))
			.unwrap();
		let mut cmd = Command::new(node_binary());
		cmd.args(args)
			.arg("--base-path")
			.arg(dir)
			.args(["--rpc-port", &rpc_port.to_string(), "--port", &p2p_port.to_string()])
			.args(["--no-telemetry", "--no-mdns", "--name", name])
			.args(if args.iter().any(|a| a == "--prometheus-port") {
				&[][..]
			} else {
				&["--no-prometheus"][..]
			})
			.stdin(Stdio::null())
			.stdout(log.try_clone().unwrap())
			.stderr(log);
		// SAFETY: `prctl` is async-signal-safe; the closure allocates nothing.
		unsafe {
			cmd.pre_exec(|| {
				libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
				Ok(())
			});
		}
		cmd.spawn().expect("verity-node starts")
	}

	/// Kills the node (SIGKILL, as a crash would).
	pub fn kill(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}

	/// Starts it again with the same arguments, ports and base path (after
	/// [`Node::kill`]).
	pub fn restart(&mut self) {
		self.kill();
		self.child = Self::spawn(&self.name, &self.args, &self.dir, self.rpc_port, self.p2p_port);
	}

	/// Kills the node and starts it again on the same base path and ports,
	/// with `extra` added to its arguments (kept for later restarts).
	pub fn restart_with(&mut self, extra: &[&str]) {
		self.args.extend(extra.iter().map(|a| a.to_string()));
		self.restart();
	}

	/// Its whole log so far (all its runs).
	pub fn log(&self) -> String {
		std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
	}

	/// Starts a `--dev` node.
	pub fn dev(extra: &[&str]) -> Node {
		// Each test puts the `vrty` keys it needs into the keystore itself.
		let mut args = vec!["--dev", "--no-dev-inference-keys"];
		args.extend_from_slice(extra);
		Node::start("dev", &args)
	}

	/// `ws://` URL of its RPC.
	pub fn url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// The last lines of its log.
	pub fn log_tail(&self) -> String {
		let log = std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default();
		let lines: Vec<&str> = log.lines().collect();
		lines[lines.len().saturating_sub(40)..].join("\n")
	}

	fn assert_running(&mut self) {
		if let Ok(Some(status)) = self.child.try_wait() {
			panic!("verity-node exited with {status}; log:\n{}", self.log_tail());
		}
	}

	/// Waits until its RPC answers, then connects a raw RPC client and subxt.
	pub async fn connect(&mut self, timeout: Duration) -> (RpcClient, Api) {
		let deadline = Instant::now() + timeout;
		loop {
			self.assert_running();
			if let Ok(rpc) = RpcClient::from_insecure_url(self.url()).await {
				if let Ok(api) = Api::from_rpc_client(rpc.clone()).await {
					return (rpc, api);
				}
			}
			assert!(
				Instant::now() < deadline,
				"verity-node's RPC did not come up in {timeout:?}; log:\n{}",
				self.log_tail()
			);
			tokio::time::sleep(Duration::from_millis(250)).await;
		}
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
		if std::thread::panicking() {
			eprintln!("node log kept at {}", self.dir.join("node.log").display());
		} else {
			let _ = std::fs::remove_dir_all(&self.dir);
		}
	}
}

/// `chain_getHeader`'s block number at `hash` (best block when `None`).
pub async fn block_number(rpc: &RpcClient, hash: Option<&str>) -> u64 {
	let header: serde_json::Value = rpc
		.request("chain_getHeader", subxt::rpcs::rpc_params![hash])
		.await
		.expect("chain_getHeader");
	let number = header["number"].as_str().expect("header has a number");
	u64::from_str_radix(number.trim_start_matches("0x"), 16).unwrap()
}

/// The number of the latest finalized block.
pub async fn finalized_number(rpc: &RpcClient) -> u64 {
	let hash: String = rpc
		.request("chain_getFinalizedHead", subxt::rpcs::rpc_params![])
		.await
		.expect("chain_getFinalizedHead");
	block_number(rpc, Some(&hash)).await
}

/// Polls `probe` until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
	F: FnMut() -> Fut,
	Fut: std::future::Future<Output = Option<T>>,
{
	let deadline = Instant::now() + timeout;
	loop {
		if let Some(v) = probe().await {
			return v;
		}
		assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

/// Signs `call` as `signer`, waits until it is in a finalized block and
/// succeeded, and returns its events.
pub async fn submit(
	api: &Api,
	signer: &subxt_signer::sr25519::Keypair,
	call: impl subxt::tx::Payload,
) -> subxt::extrinsics::ExtrinsicEvents<subxt::PolkadotConfig> {
	api.at_current_block()
		.await
		.unwrap()
		.transactions()
		.sign_and_submit_then_watch_default(&call, signer)
		.await
		.expect("transaction accepted by the pool")
		.wait_for_finalized_success()
		.await
		.expect("extrinsic succeeds")
}

/// Puts the sr25519 dev key `suri` (e.g. `//Bob`) into the node's keystore as
/// an inference (`vrty`) key, so its offchain worker acts for that account.
pub async fn insert_inference_key(rpc: &RpcClient, suri: &str, public: [u8; 32]) {
	let public = to_hex(&public);
	let _: serde_json::Value = rpc
		.request("author_insertKey", subxt::rpcs::rpc_params!["vrty", suri, public])
		.await
		.expect("author_insertKey");
}

/// The Prometheus text a node serves on `port` (`GET /metrics`).
pub fn scrape_metrics(port: u16) -> String {
	use std::io::{Read, Write};
	let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("metrics endpoint");
	stream
		.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
		.unwrap();
	let mut response = String::new();
	stream.read_to_string(&mut response).unwrap();
	response
}

/// The value of the first sample of metric `name` whose labels contain
/// `label` (e.g. `model="ab12cd34"`; empty: any) in `text`. The node adds
/// its own labels (`chain`).
pub fn metric(text: &str, name: &str, label: &str) -> Option<f64> {
	text.lines()
		.filter(|l| !l.starts_with('#'))
		.find(|l| {
			l.strip_prefix(name).is_some_and(|rest| rest.starts_with(['{', ' ']))
				&& l.contains(label)
		})
		.and_then(|l| l.rsplit(' ').next())
		.and_then(|v| v.trim().parse().ok())
}

/// `0x`-prefixed lowercase hex, as the JSON-RPC takes bytes.
pub fn to_hex(bytes: &[u8]) -> String {
	format!("0x{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// The bytes of `0x`-prefixed (or bare) hex.
pub fn from_hex(s: &str) -> Vec<u8> {
	let s = s.trim_start_matches("0x");
	(0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}
