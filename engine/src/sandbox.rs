//! The engine in a separate worker process.
//!
//! A hostile model must not crash, hang or exhaust the node. So the node runs
//! the [`Engine`] in a child process ([`serve`] is its main loop) with an
//! address-space limit (`RLIMIT_AS`), and waits for each answer at most the
//! wall-clock limit. A worker that times out is killed; one that dies is
//! noticed; either way the call fails with a specific [`EngineError`] and the
//! next call starts a fresh worker (whose cache is empty, so models are
//! loaded again).
//!
//! Messages are length-prefixed (u32, little-endian) SCALE: a [`Request`] to
//! the worker, a `Result<(Vec<u8>, u64), Failure>` back (the answer and the
//! engine's time on it in microseconds, which the node logs at debug level).
//! The answer to a load is the SCALE-encoded list of the models the engine
//! then holds: the engine alone decides what stays loaded (it evicts the
//! least recently used), and the sandbox mirrors its list. The node reads no
//! reply frame longer than the request allows (the output cap of a run plus
//! room for an error message): a worker that sends one is killed as crashed.

use std::{
	collections::HashSet,
	io::{Read, Write},
	path::PathBuf,
	process::{Child, ChildStdin, Command, Stdio},
	sync::{
		atomic::{AtomicU64, Ordering},
		mpsc::{self, Receiver, RecvTimeoutError},
		Arc, Mutex,
	},
	time::Duration,
};

use codec::{Decode, Encode};

use crate::{
	engine::{Engine, Failure},
	EngineError, Limits,
};

/// What the node asks the worker.
#[derive(Encode, Decode, Debug)]
pub enum Request {
	/// Load a model.
	Load {
		/// Its id.
		id: [u8; 32],
		/// Its ONNX bytes.
		bytes: Vec<u8>,
	},
	/// Read a model's [`crate::Signature`] from its bytes (parsing untrusted
	/// protobuf happens in the worker too).
	Describe {
		/// The ONNX bytes.
		bytes: Vec<u8>,
	},
	/// The confinement's self-check, for tests: the worker tries to open
	/// `path`, open a socket, start a process and a thread, and answers a
	/// [`crate::confine::ProbeReport`].
	Probe {
		/// A file to try to open (e.g. the node's keystore).
		path: Vec<u8>,
	},
	/// Run a loaded model.
	Run {
		/// Its id.
		id: [u8; 32],
		/// SCALE-encoded input tensors.
		input: Vec<u8>,
		/// Largest encoded output accepted, in bytes.
		max_output: u64,
	},
	/// Compile a model for consensus mode ([`crate::consensus::compile`]):
	/// the encoded graph, or why the model is outside the subset.
	CompileConsensus {
		/// The ONNX bytes.
		bytes: Vec<u8>,
	},
}

/// Makes an executor's outputs wrong on purpose, to exercise challenges.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
	/// Honest outputs.
	None,
	/// Every executed output is perturbed.
	Always,
	/// A share (0..=1) of executed outputs is perturbed, chosen by the input's hash.
	Rate(f64),
}

impl std::str::FromStr for Fault {
	type Err = String;
	fn from_str(s: &str) -> Result<Self, String> {
		match s {
			"none" => Ok(Fault::None),
			"always" => Ok(Fault::Always),
			rate => match rate.parse::<f64>() {
				Ok(r) if (0.0..=1.0).contains(&r) => Ok(Fault::Rate(r)),
				_ => Err(format!("expected none, always or a rate in [0, 1], got {s:?}")),
			},
		}
	}
}

/// How to start and bound the worker.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
	/// The worker program.
	pub program: PathBuf,
	/// Its arguments.
	pub args: Vec<String>,
	/// The engine's limits.
	pub limits: Limits,
	/// Fault injection for executed (not verified) outputs.
	pub fault: Fault,
	/// Threads the engine runs a model on (1: single-threaded). Outputs do
	/// not depend on it.
	pub threads: usize,
	/// Fault injection: how long every run (a job executed, audited or
	/// verified, or an admission check) waits before it starts, so that tests can kill a node while it runs
	/// one. Zero in production.
	pub delay: std::time::Duration,
}

impl SandboxConfig {
	/// The worker as a subcommand of the running executable (`verity-node
	/// inference-worker`, `verity inference-worker`).
	pub fn current_exe(subcommand: &str, limits: Limits) -> Self {
		SandboxConfig {
			program: std::env::current_exe().unwrap_or_else(|_| "verity-node".into()),
			args: vec![subcommand.into()],
			limits,
			fault: Fault::None,
			threads: 1,
			delay: std::time::Duration::ZERO,
		}
	}
}

struct Worker {
	child: Child,
	stdin: ChildStdin,
	replies: Receiver<Vec<u8>>,
	/// Longest reply frame the reader accepts for the request under way.
	frame_cap: Arc<AtomicU64>,
}

/// Room in a reply frame beyond the output: the result's wrapping and an
/// error's message.
const REPLY_SLACK: u64 = 1 << 20;

impl Drop for Worker {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

/// The engine behind a process boundary.
pub struct Sandbox {
	config: SandboxConfig,
	/// Worker processes started so far.
	starts: AtomicU64,
	worker: Mutex<Option<Worker>>,
	loaded: Mutex<HashSet<[u8; 32]>>,
}

fn write_frame(w: &mut impl Write, payload: &[u8]) -> std::io::Result<()> {
	w.write_all(&(payload.len() as u32).to_le_bytes())?;
	w.write_all(payload)?;
	w.flush()
}

/// Reads one frame of at most `cap` bytes (a longer one is an error and
/// nothing of it is allocated).
fn read_frame(r: &mut impl Read, cap: u64) -> std::io::Result<Vec<u8>> {
	let mut len = [0u8; 4];
	r.read_exact(&mut len)?;
	let len = u32::from_le_bytes(len);
	if u64::from(len) > cap {
		return Err(std::io::Error::new(
			std::io::ErrorKind::InvalidData,
			format!("a frame of {len} bytes exceeds the cap of {cap}"),
		));
	}
	let mut buf = vec![0u8; len as usize];
	r.read_exact(&mut buf)?;
	Ok(buf)
}

impl Sandbox {
	/// A sandbox that starts its worker on first use.
	pub fn new(config: SandboxConfig) -> Self {
		Sandbox {
			config,
			starts: AtomicU64::new(0),
			worker: Mutex::new(None),
			loaded: Mutex::new(HashSet::new()),
		}
	}

	/// Worker processes started so far: the first, and one after every
	/// crash, kill or timeout.
	pub fn worker_starts(&self) -> u64 {
		self.starts.load(Ordering::SeqCst)
	}

	/// The limits in force.
	pub fn limits(&self) -> Limits {
		self.config.limits
	}

	fn spawn(&self) -> Result<Worker, Failure> {
		let mut cmd = Command::new(&self.config.program);
		cmd.env_clear()
			.args(&self.config.args)
			.arg(self.config.limits.encode().iter().map(|b| format!("{b:02x}")).collect::<String>())
			.arg(self.config.threads.to_string())
			.stdin(Stdio::piped())
			.stdout(Stdio::piped())
			.stderr(Stdio::inherit());
		let memory = self.config.limits.memory_bytes;
		// SAFETY: `before_exec` makes only async-signal-safe calls.
		unsafe {
			use std::os::unix::process::CommandExt;
			cmd.pre_exec(move || crate::confine::before_exec(memory));
		}
		self.starts.fetch_add(1, Ordering::SeqCst);
		let mut child = cmd.spawn().map_err(|e| {
			Failure::new(EngineError::Internal, format!("cannot start the inference worker: {e}"))
		})?;
		let stdin = child.stdin.take().expect("piped; qed");
		let mut stdout = child.stdout.take().expect("piped; qed");
		let (tx, replies) = mpsc::channel();
		let frame_cap = Arc::new(AtomicU64::new(REPLY_SLACK));
		let cap = frame_cap.clone();
		std::thread::Builder::new()
			.name("inference-worker-reader".into())
			.spawn(move || {
				// An oversized frame ends the loop: the channel closes and the
				// worker is treated as crashed.
				while let Ok(frame) = read_frame(&mut stdout, cap.load(Ordering::SeqCst)) {
					if tx.send(frame).is_err() {
						break;
					}
				}
			})
			.map_err(|e| Failure::new(EngineError::Internal, e.to_string()))?;
		Ok(Worker { child, stdin, replies, frame_cap })
	}

	fn request(&self, req: &Request) -> Result<(Vec<u8>, u64), Failure> {
		let mut slot = self.worker.lock().unwrap_or_else(|p| p.into_inner());
		if slot.is_none() {
			self.loaded.lock().unwrap_or_else(|p| p.into_inner()).clear();
			*slot = Some(self.spawn()?);
		}
		let worker = slot.as_mut().expect("set above; qed");
		let timeout = Duration::from_millis(self.config.limits.timeout_ms);
		let cap = match req {
			Request::Run { max_output, .. } => max_output.saturating_add(REPLY_SLACK),
			Request::Load { .. } | Request::Describe { .. } | Request::Probe { .. } => REPLY_SLACK,
			// A graph is no larger than the model it is compiled from.
			Request::CompileConsensus { .. } => {
				self.config.limits.max_model_bytes.saturating_add(REPLY_SLACK)
			}
		};
		worker.frame_cap.store(cap, Ordering::SeqCst);
		let sent = write_frame(&mut worker.stdin, &req.encode());
		let reply = match sent {
			Ok(()) => worker.replies.recv_timeout(timeout),
			Err(_) => Err(RecvTimeoutError::Disconnected),
		};
		match reply {
			Ok(frame) => {
				Result::<(Vec<u8>, u64), Failure>::decode(&mut &frame[..]).unwrap_or_else(|_| {
					Err(Failure::new(EngineError::Internal, "undecodable reply from the worker"))
				})
			}
			Err(RecvTimeoutError::Timeout) => {
				*slot = None; // kills the worker
				self.loaded.lock().unwrap_or_else(|p| p.into_inner()).clear();
				Err(Failure::new(
					EngineError::Timeout,
					format!("no answer within {} ms; the worker was killed", timeout.as_millis()),
				))
			}
			Err(RecvTimeoutError::Disconnected) => {
				let status = worker.child.wait().ok();
				*slot = None;
				self.loaded.lock().unwrap_or_else(|p| p.into_inner()).clear();
				Err(Failure::new(
					EngineError::Crashed,
					format!("the inference worker died ({status:?}), e.g. out of memory"),
				))
			}
		}
	}

	/// Whether model `id` is loaded in the current worker.
	pub fn is_loaded(&self, id: &[u8; 32]) -> bool {
		self.loaded.lock().unwrap_or_else(|p| p.into_inner()).contains(id)
	}

	/// Loads model `id` from `bytes` into the worker.
	pub fn load(&self, id: &[u8; 32], bytes: &[u8]) -> Result<(), Failure> {
		if bytes.len() as u64 > self.config.limits.max_model_bytes {
			return Err(Failure::new(EngineError::ModelTooLarge, format!("{} bytes", bytes.len())));
		}
		let (reply, _) = self.request(&Request::Load { id: *id, bytes: bytes.to_vec() })?;
		let held = Vec::<[u8; 32]>::decode(&mut &reply[..]).map_err(|_| {
			Failure::new(EngineError::Internal, "undecodable list of loaded models")
		})?;
		*self.loaded.lock().unwrap_or_else(|p| p.into_inner()) = held.into_iter().collect();
		Ok(())
	}

	/// Has the worker try what its confinement forbids (open `path`, a
	/// socket, a process) and report ([`crate::confine`]): for tests and
	/// operators checking a machine.
	pub fn probe(&self, path: &[u8]) -> Result<crate::confine::ProbeReport, Failure> {
		let (reply, _) = self.request(&Request::Probe { path: path.to_vec() })?;
		crate::confine::ProbeReport::decode(&mut &reply[..])
			.map_err(|_| Failure::new(EngineError::Internal, "undecodable probe report"))
	}

	/// Reads the signature of the model in `bytes`, in the worker process.
	pub fn describe(&self, bytes: &[u8]) -> Result<crate::Signature, Failure> {
		if bytes.len() as u64 > self.config.limits.max_model_bytes {
			return Err(Failure::new(EngineError::ModelTooLarge, format!("{} bytes", bytes.len())));
		}
		let (reply, _) = self.request(&Request::Describe { bytes: bytes.to_vec() })?;
		crate::Signature::decode(&mut &reply[..])
			.map_err(|_| Failure::new(EngineError::Internal, "undecodable signature"))
	}

	/// Compiles the model in `bytes` for consensus mode, in the worker
	/// process: the SCALE-encoded `verity_interp::Graph`.
	pub fn compile_consensus(&self, bytes: &[u8]) -> Result<Vec<u8>, Failure> {
		if bytes.len() as u64 > self.config.limits.max_model_bytes {
			return Err(Failure::new(EngineError::ModelTooLarge, format!("{} bytes", bytes.len())));
		}
		let (reply, _) = self.request(&Request::CompileConsensus { bytes: bytes.to_vec() })?;
		Ok(reply)
	}

	/// Runs model `id` on SCALE-encoded `input`, with no cap on the output
	/// beyond the engine's tensor limits.
	pub fn run(&self, id: &[u8; 32], input: &[u8]) -> Result<Vec<u8>, Failure> {
		self.run_capped(id, input, u64::MAX - REPLY_SLACK)
	}

	/// Runs model `id` on SCALE-encoded `input`; an encoded output over
	/// `max_output` bytes is refused by the worker as
	/// [`EngineError::OutputTooLarge`] before it is sent.
	pub fn run_capped(
		&self,
		id: &[u8; 32],
		input: &[u8],
		max_output: u64,
	) -> Result<Vec<u8>, Failure> {
		if !self.is_loaded(id) {
			return Err(Failure::new(EngineError::NotLoaded, "load the model first"));
		}
		let start = std::time::Instant::now();
		let req = Request::Run { id: *id, input: input.to_vec(), max_output };
		let (output, engine_us) = self.request(&req).inspect_err(|f| {
			if f.kind == EngineError::NotLoaded {
				// The engine evicted it: the next call loads it again.
				self.loaded.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
			}
		})?;
		log::debug!(
			target: "verity::inference",
			"model 0x{}: engine {:.3} ms, with the process round trip {:.3} ms",
			id.iter().take(4).map(|b| format!("{b:02x}")).collect::<String>(),
			engine_us as f64 / 1e3,
			start.elapsed().as_secs_f64() * 1e3
		);
		Ok(output)
	}

	/// [`Sandbox::run_capped`] for `purpose` ([`crate::PURPOSE_EXECUTE`]
	/// or `PURPOSE_VERIFY`); executed outputs are perturbed as the fault
	/// injection setting says.
	pub fn run_for(
		&self,
		id: &[u8; 32],
		input: &[u8],
		purpose: u32,
		max_output: u64,
	) -> Result<Vec<u8>, Failure> {
		if !self.config.delay.is_zero() {
			log::warn!(target: "verity::inference", "fault injection: holding a run for {:?}", self.config.delay);
			std::thread::sleep(self.config.delay);
		}
		let output = self.run_capped(id, input, max_output)?;
		if purpose != crate::PURPOSE_EXECUTE {
			return Ok(output);
		}
		let perturb = match self.config.fault {
			Fault::None => false,
			Fault::Always => true,
			Fault::Rate(r) => {
				let h = sp_crypto_hashing::blake2_256(&(id, input).encode());
				(u64::from_le_bytes(h[..8].try_into().expect("8 bytes; qed")) as f64)
					< r * u64::MAX as f64
			}
		};
		if perturb {
			log::warn!(target: "verity::inference", "fault injection: perturbing an output");
			Ok(perturb_output(&output))
		} else {
			Ok(output)
		}
	}
}

/// The sandbox is the engine the node registers for its offchain workers
/// (`InferenceExt`); a failure's message is logged here, its kind crosses
/// into the runtime.
impl crate::InferenceEngine for Sandbox {
	fn is_loaded(&self, id: &[u8; 32]) -> bool {
		Sandbox::is_loaded(self, id)
	}

	fn load(&self, id: &[u8; 32], bytes: &[u8]) -> Result<(), EngineError> {
		Sandbox::load(self, id, bytes).map_err(|f| log_failure("load", f))
	}

	fn describe(&self, bytes: &[u8]) -> Result<crate::Signature, EngineError> {
		Sandbox::describe(self, bytes).map_err(|f| log_failure("describe", f))
	}

	fn run(
		&self,
		id: &[u8; 32],
		input: &[u8],
		purpose: u32,
		max_output: u64,
	) -> Result<Vec<u8>, EngineError> {
		self.run_for(id, input, purpose, max_output).map_err(|f| log_failure("run", f))
	}

	fn compile_consensus(&self, bytes: &[u8]) -> Result<Vec<u8>, EngineError> {
		Sandbox::compile_consensus(self, bytes).map_err(|f| log_failure("compile_consensus", f))
	}
}

fn log_failure(what: &str, failure: Failure) -> EngineError {
	log::debug!(target: "verity::inference", "{what}: {failure}");
	failure.kind
}

/// A wrong answer under every verification policy: in the first tensor, the
/// largest element of each row becomes the smallest minus one.
pub fn perturb_output(encoded: &[u8]) -> Vec<u8> {
	use verity_primitives::DType;
	let Ok(mut tensors) = verity_primitives::decode_tensors(encoded) else {
		return encoded.to_vec();
	};
	let Some(t) = tensors.first_mut() else { return encoded.to_vec() };
	let size = t.dtype.size() as usize;
	let n = t.data.len() / size;
	let row = if t.shape.len() >= 2 && t.shape[0] > 0 { n / t.shape[0] as usize } else { n };
	if row == 0 {
		return encoded.to_vec();
	}
	for start in (0..n).step_by(row) {
		let vals: Vec<f64> = (start..start + row).filter_map(|i| t.element_f64(i)).collect();
		let (mut hi, mut lo) = (0, 0);
		for (i, v) in vals.iter().enumerate() {
			if *v > vals[hi] {
				hi = i;
			}
			if *v < vals[lo] {
				lo = i;
			}
		}
		let new = vals[lo] - 1.0;
		let at = (start + hi) * size;
		let bytes: Vec<u8> = match t.dtype {
			DType::Float32 => (new as f32).to_le_bytes().to_vec(),
			DType::Float64 => new.to_le_bytes().to_vec(),
			DType::Int64 => (new as i64).to_le_bytes().to_vec(),
			DType::Int32 => (new as i32).to_le_bytes().to_vec(),
			DType::Uint8 | DType::Bool => vec![(vals[hi] as u8).wrapping_add(1)],
		};
		t.data[at..at + size].copy_from_slice(&bytes);
	}
	tensors.encode()
}

fn log_line(line: &str) {
	let _ = writeln!(std::io::stderr(), "{}", line.replace('\n', " "));
}

/// The worker's main loop: answers requests on stdin until it closes. `arg`
/// is the hex-encoded [`Limits`] the parent passed, `threads` the engine's
/// threads (default 1).
pub fn serve(arg: Option<&str>, threads: Option<usize>) -> std::io::Result<()> {
	let limits = arg
		.and_then(|hex| {
			let bytes: Option<Vec<u8>> = (0..hex.len())
				.step_by(2)
				.map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
				.collect();
			Limits::decode(&mut &bytes?[..]).ok()
		})
		.unwrap_or_default();
	// One line per panic in the node's log; the panic itself is caught and
	// answered as a `Crashed` failure.
	std::panic::set_hook(Box::new(|info| log_line(&format!("inference worker: {info}"))));
	// No single allocation above the cap (crate::alloc), the same on every
	// machine.
	crate::alloc::cap_allocations(crate::alloc::cap_for(&limits));
	let mut engine = Engine::new(limits).with_threads(threads.unwrap_or(1));
	// From here on, no files, sockets or processes (crate::confine).
	let confinement = crate::confine::confine().map_err(|e| {
		log_line(&format!("inference worker: cannot confine itself: {e}"));
		std::io::Error::other(e)
	})?;
	let (mut stdin, mut stdout) = (std::io::stdin().lock(), std::io::stdout().lock());
	loop {
		let frame = match read_frame(&mut stdin, u64::from(u32::MAX)) {
			Ok(f) => f,
			Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
			Err(e) => return Err(e),
		};
		let start = std::time::Instant::now();
		let reply: Result<Vec<u8>, Failure> = match Request::decode(&mut &frame[..]) {
			Ok(Request::Load { id, bytes }) => {
				engine.load(&id, &bytes).map(|()| engine.loaded().encode())
			}
			Ok(Request::Describe { bytes }) => crate::engine::describe(&bytes).map(|s| s.encode()),
			Ok(Request::Probe { path }) => {
				Ok(crate::confine::probe(confinement.clone(), &path).encode())
			}
			Ok(Request::Run { id, input, max_output }) => {
				engine.run_encoded(&id, &input, max_output)
			}
			Ok(Request::CompileConsensus { bytes }) => {
				crate::consensus::compile(&bytes).map(|g| g.encode())
			}
			Err(_) => Err(Failure::new(EngineError::Internal, "undecodable request")),
		};
		let reply = reply.map(|r| (r, start.elapsed().as_micros() as u64));
		write_frame(&mut stdout, &reply.encode())?;
	}
}
