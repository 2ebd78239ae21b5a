//! Prometheus metrics of the node's inference engine, on the node's own
//! endpoint (`--prometheus-port`): the engine the offchain workers reach is
//! wrapped by [`MeteredEngine`], which times and counts every call the host
//! functions make.
//!
//! * `verity_engine_run_seconds{model}`: run time of each inference, by
//!   model (the first 8 hex digits of its id), including the sandbox's
//!   process round trip;
//! * `verity_engine_model_loads_total` and `verity_engine_load_seconds`:
//!   models loaded (parsed and optimized) and the time it took;
//! * `verity_engine_worker_starts_total`: sandbox worker processes started
//!   (the first, and one after every crash, kill or timeout);
//! * `verity_engine_errors_total{call, kind}`: engine errors by call
//!   (`load`, `describe`, `run`) and `EngineError` kind.

use std::{sync::Arc, time::Instant};

use prometheus_endpoint::{
	exponential_buckets, register, CounterVec, Histogram, HistogramOpts, HistogramVec, Opts,
	PrometheusError, Registry, U64,
};
use verity_engine::{sandbox::Sandbox, EngineError, InferenceEngine, Signature};

/// The engine's metrics.
#[derive(Clone)]
pub struct EngineMetrics {
	run_seconds: HistogramVec,
	loads: prometheus_endpoint::Counter<U64>,
	load_seconds: Histogram,
	worker_starts: prometheus_endpoint::Counter<U64>,
	errors: CounterVec<U64>,
}

impl EngineMetrics {
	/// Registers the metrics in `registry`.
	pub fn register(registry: &Registry) -> Result<Self, PrometheusError> {
		Ok(EngineMetrics {
			run_seconds: register(
				HistogramVec::new(
					HistogramOpts::new(
						"verity_engine_run_seconds",
						"Run time of one inference in the engine, by model",
					)
					.buckets(exponential_buckets(0.0005, 2.0, 16)?),
					&["model"],
				)?,
				registry,
			)?,
			loads: register(
				prometheus_endpoint::Counter::new(
					"verity_engine_model_loads_total",
					"Models loaded into the engine",
				)?,
				registry,
			)?,
			load_seconds: register(
				Histogram::with_opts(
					HistogramOpts::new(
						"verity_engine_load_seconds",
						"Time to load (parse and optimize) a model",
					)
					.buckets(exponential_buckets(0.001, 2.0, 16)?),
				)?,
				registry,
			)?,
			worker_starts: register(
				prometheus_endpoint::Counter::new(
					"verity_engine_worker_starts_total",
					"Sandbox worker processes started (the first and every restart)",
				)?,
				registry,
			)?,
			errors: register(
				CounterVec::new(
					Opts::new("verity_engine_errors_total", "Engine errors by call and kind"),
					&["call", "kind"],
				)?,
				registry,
			)?,
		})
	}
}

/// The sandboxed engine, timed and counted.
pub struct MeteredEngine {
	sandbox: Arc<Sandbox>,
	metrics: EngineMetrics,
	/// Worker starts already counted.
	starts_seen: std::sync::atomic::AtomicU64,
}

impl MeteredEngine {
	/// `sandbox`, reporting to `metrics`.
	pub fn new(sandbox: Arc<Sandbox>, metrics: EngineMetrics) -> Self {
		MeteredEngine { sandbox, metrics, starts_seen: Default::default() }
	}

	fn after<T>(&self, call: &str, result: &Result<T, EngineError>) {
		use std::sync::atomic::Ordering;
		let starts = self.sandbox.worker_starts();
		let seen = self.starts_seen.swap(starts, Ordering::SeqCst);
		self.metrics.worker_starts.inc_by(starts.saturating_sub(seen));
		if let Err(kind) = result {
			self.metrics.errors.with_label_values(&[call, &format!("{kind:?}")]).inc();
		}
	}
}

fn short(id: &[u8; 32]) -> String {
	id.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

impl InferenceEngine for MeteredEngine {
	fn is_loaded(&self, id: &[u8; 32]) -> bool {
		InferenceEngine::is_loaded(&*self.sandbox, id)
	}

	fn load(&self, id: &[u8; 32], bytes: &[u8]) -> Result<(), EngineError> {
		let start = Instant::now();
		let result = InferenceEngine::load(&*self.sandbox, id, bytes);
		if result.is_ok() {
			self.metrics.loads.inc();
			self.metrics.load_seconds.observe(start.elapsed().as_secs_f64());
		}
		self.after("load", &result);
		result
	}

	fn describe(&self, bytes: &[u8]) -> Result<Signature, EngineError> {
		let result = InferenceEngine::describe(&*self.sandbox, bytes);
		self.after("describe", &result);
		result
	}

	fn run(
		&self,
		id: &[u8; 32],
		input: &[u8],
		purpose: u32,
		max_output: u64,
	) -> Result<Vec<u8>, EngineError> {
		let start = Instant::now();
		let result = InferenceEngine::run(&*self.sandbox, id, input, purpose, max_output);
		if result.is_ok() {
			self.metrics
				.run_seconds
				.with_label_values(&[&short(id)])
				.observe(start.elapsed().as_secs_f64());
		}
		self.after("run", &result);
		result
	}

	fn compile_consensus(&self, bytes: &[u8]) -> Result<Vec<u8>, EngineError> {
		let result = InferenceEngine::compile_consensus(&*self.sandbox, bytes);
		self.after("compile_consensus", &result);
		result
	}
}
