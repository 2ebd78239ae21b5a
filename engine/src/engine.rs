//! The inference engine: tract-onnx, in-process. The node never calls it
//! directly; it runs inside the sandbox worker process ([`crate::sandbox`]).

use std::{
	collections::{HashMap, VecDeque},
	panic::{catch_unwind, AssertUnwindSafe},
	sync::Arc,
};

use codec::Encode;
use tract_onnx::{prelude::*, tract_hir::infer::Factoid};
use verity_primitives::{decode_tensors, Tensor};

use crate::{convert, EngineError, Limits};

/// An error with the engine's explanation, for logs and command-line users.
#[derive(Debug, Clone, PartialEq, Eq, codec::Encode, codec::Decode)]
pub struct Failure {
	/// What kind of failure.
	pub kind: EngineError,
	/// What happened, in words.
	pub message: String,
}

impl Failure {
	/// A failure of `kind` explained by `message`.
	pub fn new(kind: EngineError, message: impl Into<String>) -> Self {
		Failure { kind, message: message.into() }
	}
}

impl std::fmt::Display for Failure {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		write!(f, "{:?}: {}", self.kind, self.message)
	}
}

impl std::error::Error for Failure {}

/// A model parsed and decluttered, with the plans made for the shapes it
/// ran at.
struct Loaded {
	/// The model its plans are made from, its free dimensions (batch,
	/// exporter-named dimensions) still symbols.
	base: Base,
	/// The symbols of the inputs' dimensions, in the order of the inputs:
	/// a plan is made for each combination of their values.
	symbols: Vec<Symbol>,
	/// Plans made for concrete symbol values (in the order of `symbols`),
	/// most recently used last, at most [`PLANS_PER_MODEL`]. A model without
	/// symbols has one, made at load.
	plans: Vec<(Vec<i64>, Arc<TypedRunnableModel>)>,
	inputs: Vec<(String, TypedFact)>,
	outputs: Vec<String>,
}

/// What a model's plans are made from.
#[derive(Clone)]
enum Base {
	/// The decluttered typed model (symbols bound per plan): the usual case.
	Typed(Arc<TypedModel>),
	/// The model as parsed, for graphs tract can only type at concrete input
	/// shapes (its recurrent layers need a concrete batch): each plan sets
	/// the input facts to the job's shapes, then types and optimizes.
	Inference(Arc<InferenceModel>),
}

/// Models the engine keeps loaded at most (least recently used evicted first).
pub const CACHE_CAPACITY: usize = 8;

/// Plans a model keeps for the shapes it ran at (least recently used
/// evicted first; an evicted one is made again, the same, when its shape
/// returns).
///
/// A plan is the decluttered model with every symbol bound to the job's
/// concrete dimensions, then optimized: tract picks convolution and matrix
/// kernels for concrete shapes, which a symbolic batch would not get. The
/// kernels chosen change rounding, so the plan depends only on the model and
/// the input shapes, the same on every node, never on which shapes the
/// node's cache saw before.
pub const PLANS_PER_MODEL: usize = 8;

/// Runs ONNX models with tract, within [`Limits`].
pub struct Engine {
	limits: Limits,
	capacity: usize,
	options: RunOptions,
	models: HashMap<[u8; 32], Loaded>,
	recent: VecDeque<[u8; 32]>,
}

impl Engine {
	/// An engine with no models loaded, keeping up to [`CACHE_CAPACITY`],
	/// single-threaded.
	pub fn new(limits: Limits) -> Self {
		Self::with_capacity(limits, CACHE_CAPACITY)
	}

	/// An engine keeping up to `capacity` (at least 1) models loaded.
	pub fn with_capacity(limits: Limits, capacity: usize) -> Self {
		Engine {
			limits,
			capacity: capacity.max(1),
			options: RunOptions::default(),
			models: HashMap::new(),
			recent: VecDeque::new(),
		}
	}

	/// Runs models on `threads` threads (tract-linalg's multithreaded
	/// executor; 1 or 0: single-threaded). tract splits work only into
	/// independent tiles and keeps its reduction blocks fixed, so outputs are
	/// bit-identical at any thread count (checked on the test corpus by
	/// `one_and_two_threads_give_identical_bytes`).
	pub fn with_threads(mut self, threads: usize) -> Self {
		self.options.executor = (threads > 1).then(|| {
			tract_linalg::multithread::Executor::multithread_with_name(threads, "verity-engine")
		});
		self
	}

	/// Whether model `id` is loaded.
	pub fn is_loaded(&self, id: &[u8; 32]) -> bool {
		self.models.contains_key(id)
	}

	/// Ids of the loaded models, most recently used last.
	pub fn loaded(&self) -> Vec<[u8; 32]> {
		self.recent.iter().copied().collect()
	}

	fn touch(&mut self, id: &[u8; 32]) {
		self.recent.retain(|x| x != id);
		self.recent.push_back(*id);
	}

	/// Parses, optimizes and caches model `id` from `bytes`, which must hash
	/// (blake2-256) to `id`.
	pub fn load(&mut self, id: &[u8; 32], bytes: &[u8]) -> Result<(), Failure> {
		if self.is_loaded(id) {
			self.touch(id);
			return Ok(());
		}
		if bytes.len() as u64 > self.limits.max_model_bytes {
			return Err(Failure::new(
				EngineError::ModelTooLarge,
				format!("{} bytes, limit {}", bytes.len(), self.limits.max_model_bytes),
			));
		}
		if sp_crypto_hashing::blake2_256(bytes) != *id {
			return Err(Failure::new(
				EngineError::HashMismatch,
				"bytes do not hash to the model id",
			));
		}
		let (limits, options) = (self.limits, self.options.clone());
		let loaded = guard(|| prepare(bytes, &limits, &options))?;
		while self.models.len() >= self.capacity {
			let Some(old) = self.recent.pop_front() else { break };
			self.models.remove(&old);
		}
		self.models.insert(*id, loaded);
		self.touch(id);
		Ok(())
	}

	/// Runs model `id` on SCALE-encoded tensors, returning SCALE-encoded
	/// tensors of at most `max_output` bytes (a larger output is refused as
	/// [`EngineError::OutputTooLarge`] before it leaves the engine).
	pub fn run_encoded(
		&mut self,
		id: &[u8; 32],
		input: &[u8],
		max_output: u64,
	) -> Result<Vec<u8>, Failure> {
		let tensors = decode_tensors(input)
			.map_err(|e| Failure::new(EngineError::InvalidInput, format!("{e:?}")))?;
		let outputs = self.run(id, &tensors)?;
		let size = outputs.encoded_size() as u64;
		if size > max_output {
			return Err(Failure::new(
				EngineError::OutputTooLarge,
				format!("the output has {size} bytes, at most {max_output} are accepted"),
			));
		}
		Ok(outputs.encode())
	}

	/// Runs model `id` on `inputs`.
	pub fn run(&mut self, id: &[u8; 32], inputs: &[Tensor]) -> Result<Vec<Tensor>, Failure> {
		self.touch(id);
		let limits = self.limits;
		let (model, plan, tract_inputs) = self.plan_for(id, inputs)?;
		// A fresh state per run: operators with inter-turn state (tract's
		// recurrent layers) would otherwise carry one job's state into the
		// next, and a verifier's re-execution would differ from the
		// executor's (`a_stateful_model_gives_the_same_output_whatever_ran_before`).
		let outputs = guard(move || {
			plan.run(tract_inputs)
				.map_err(|e| Failure::new(EngineError::RunFailed, format!("{e:#}")))
		})?;
		outputs
			.iter()
			.zip(&model.outputs)
			.map(|(t, name)| {
				check_size(t.len() as u64, t.datum_type().size_of() as u64, &limits, name)?;
				convert::from_tract(name, t)
					.map_err(|k| Failure::new(k, format!("output {name} ({:?})", t.datum_type())))
			})
			.collect()
	}

	/// Model `id`, checked `inputs` in its order for tract, and the plan for
	/// their shapes.
	fn plan_for(
		&mut self,
		id: &[u8; 32],
		inputs: &[Tensor],
	) -> Result<(&Loaded, Arc<TypedRunnableModel>, TVec<TValue>), Failure> {
		let (limits, options) = (self.limits, self.options.clone());
		let model = self
			.models
			.get_mut(id)
			.ok_or_else(|| Failure::new(EngineError::NotLoaded, "model not loaded"))?;
		let values = check_inputs(model, inputs, &limits)?;
		let tract_inputs = order_inputs(model, inputs)?;
		let plan = model.plan_for(&values, &options, &limits)?;
		Ok((model, plan, tract_inputs))
	}

	/// Where the time of model `id`'s run on `inputs` goes: the plan for
	/// their shapes run `runs` times, each operator timed; returns one row
	/// per operator of the plan (its name and operation, in plan order) with
	/// its median time in milliseconds. For `examples/profile_engine`;
	/// the node never calls it.
	pub fn profile(
		&mut self,
		id: &[u8; 32],
		inputs: &[Tensor],
		runs: usize,
	) -> Result<Vec<(String, String, f64)>, Failure> {
		let (_, plan, tract_inputs) = self.plan_for(id, inputs)?;
		let failed = |e: TractError| Failure::new(EngineError::RunFailed, format!("{e:#}"));
		let mut times: Vec<Vec<f64>> = vec![Vec::new(); plan.model().nodes.len()];
		for _ in 0..runs.max(1) {
			let mut state =
				tract_onnx::tract_core::plan::SimpleState::new(&plan).map_err(failed)?;
			state
				.run_plan_with_eval(tract_inputs.clone(), |ctx, op_state, node, input| {
					let start = std::time::Instant::now();
					let out = tract_onnx::tract_core::plan::eval(ctx, op_state, node, input);
					times[node.id].push(start.elapsed().as_secs_f64() * 1e3);
					out
				})
				.map_err(failed)?;
		}
		Ok(plan
			.model()
			.nodes
			.iter()
			.map(|n| {
				let t = &mut times[n.id];
				t.sort_by(f64::total_cmp);
				let median = t.get(t.len() / 2).copied().unwrap_or_default();
				(n.name.clone(), format!("{} {:?}", n.op().name(), n.op), median)
			})
			.collect())
	}
}

impl Loaded {
	/// The plan for these symbol values (made now if the model has none for
	/// them yet), moved to the most recently used end.
	fn plan_for(
		&mut self,
		values: &SymbolValues,
		options: &RunOptions,
		limits: &Limits,
	) -> Result<Arc<TypedRunnableModel>, Failure> {
		let key: Vec<i64> =
			self.symbols.iter().map(|s| values.get(s).unwrap_or_default()).collect();
		match self.plans.iter().position(|(k, _)| *k == key) {
			Some(i) => {
				let plan = self.plans.remove(i);
				self.plans.push(plan);
			}
			None => {
				// Every tensor size these inputs determine, checked before
				// anything is optimized or allocated; a shape that passed
				// has a plan, so runs at known shapes skip this walk.
				if let Base::Typed(typed) = &self.base {
					check_model_tensors(typed, values, limits)?;
				}
				let bound: HashMap<Symbol, TDim> = self
					.symbols
					.iter()
					.zip(&key)
					.map(|(s, v)| (s.clone(), TDim::Val(*v)))
					.collect();
				let base = self.base.clone();
				let state = guard(move || plan(&base, &bound, options, limits))?;
				if self.plans.len() >= PLANS_PER_MODEL {
					self.plans.remove(0);
				}
				self.plans.push((key, state));
			}
		}
		Ok(self.plans.last().expect("pushed above; qed").1.clone())
	}
}

/// The model of `base` with its symbols bound as `bound` says, optimized,
/// its tensor sizes checked, ready to run.
fn plan(
	base: &Base,
	bound: &HashMap<Symbol, TDim>,
	options: &RunOptions,
	limits: &Limits,
) -> Result<Arc<TypedRunnableModel>, Failure> {
	let unsupported = |e: TractError| Failure::new(EngineError::UnsupportedModel, format!("{e:#}"));
	let concrete = match base {
		Base::Typed(model) if bound.is_empty() => (**model).clone(),
		Base::Typed(model) => model.set_symbols(bound).map_err(unsupported)?,
		Base::Inference(model) => {
			let mut model = (**model).clone();
			for i in 0..model.inputs.len() {
				let fact = model.input_fact(i).map_err(unsupported)?.clone();
				let dims: Vec<TDim> = fact
					.shape
					.dims()
					.map(|d| match d.concretize() {
						Some(TDim::Sym(s)) => bound.get(&s).cloned().unwrap_or(TDim::Sym(s)),
						Some(d) => d,
						None => TDim::Val(0),
					})
					.collect();
				let dt = fact.datum_type.concretize().unwrap_or(DatumType::F32);
				model.set_input_fact(i, InferenceFact::dt_shape(dt, dims)).map_err(unsupported)?;
			}
			model.into_typed().and_then(|m| m.into_decluttered()).map_err(unsupported)?
		}
	};
	let convolutions = crate::fast::Convolutions::of(&concrete);
	let mut concrete = concrete;
	crate::fast::replace_before_optimizing(&mut concrete).map_err(unsupported)?;
	let mut optimized = concrete.into_optimized().map_err(unsupported)?;
	crate::fast::rewrite(&mut optimized, &convolutions).map_err(unsupported)?;
	// Every shape is concrete now: each tensor's size is known before the
	// plan runs (this is the check for graphs typed only per shape).
	check_model_tensors(&optimized, &SymbolValues::default(), limits)?;
	let runnable = optimized.into_runnable_with_options(options).map_err(unsupported)?;
	Ok(runnable)
}

/// Runs `f`, turning a panic inside tract into a [`Failure`]:
/// `TensorTooLarge` when an allocation over the worker's cap failed
/// ([`crate::alloc`]), `Crashed` when another allocation failed (this node's
/// memory limit), else `RunFailed`.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
	crate::alloc::take_refused();
	match catch_unwind(AssertUnwindSafe(f)) {
		Ok(r) => r,
		Err(panic) => {
			let msg = panic
				.downcast_ref::<String>()
				.cloned()
				.or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
				.unwrap_or_else(|| "panic".into());
			// An allocation over the worker's cap (crate::alloc) fails on
			// every machine alike: a tensor too large, not this node's fault.
			if let Some(size) = crate::alloc::take_refused() {
				return Err(Failure::new(
					EngineError::TensorTooLarge,
					format!("a tensor of {size} bytes, over the worker's cap: {msg}"),
				));
			}
			// Running out of memory depends on this node's limit: node-local,
			// like a worker that dies. Any other panic inside tract recurs on
			// every node for this model and input: the model's failure.
			let kind =
				if msg.contains("allocat") { EngineError::Crashed } else { EngineError::RunFailed };
			Err(Failure::new(kind, format!("the engine panicked: {msg}")))
		}
	}
}

fn check_size(elements: u64, elem_size: u64, limits: &Limits, what: &str) -> Result<(), Failure> {
	let bytes = elements.saturating_mul(elem_size);
	if elements > limits.max_tensor_elements || bytes > limits.max_tensor_bytes {
		return Err(Failure::new(
			EngineError::TensorTooLarge,
			format!("{what}: {elements} elements ({bytes} bytes) exceed the limits"),
		));
	}
	Ok(())
}

/// Bytes of a fact's tensor, once its symbols have `values`; `None` when it
/// depends on data only known while running.
fn fact_bytes(fact: &TypedFact, values: &SymbolValues) -> Option<(u64, u64)> {
	let mut elements: u64 = 1;
	for d in fact.shape.dims() {
		let n = d.eval_to_i64(values).ok()?;
		elements = elements.saturating_mul(u64::try_from(n).ok()?);
	}
	Some((elements, fact.datum_type.size_of() as u64))
}

/// Checks every tensor whose size is known from the model and the input
/// shapes against the limits, before anything is allocated.
fn check_model_tensors(
	model: &TypedModel,
	values: &SymbolValues,
	limits: &Limits,
) -> Result<(), Failure> {
	let mut total: u64 = 0;
	for node in model.nodes() {
		for output in &node.outputs {
			if let Some((elements, size)) = fact_bytes(&output.fact, values) {
				check_size(elements, size, limits, &node.name)?;
				total = total.saturating_add(elements.saturating_mul(size));
			}
		}
	}
	if total > limits.max_total_bytes {
		return Err(Failure::new(
			EngineError::MemoryLimit,
			format!("intermediate tensors need {total} bytes, limit {}", limits.max_total_bytes),
		));
	}
	Ok(())
}

/// Gives every input dimension an exporter left blank (no value, no name:
/// skl2onnx writes the batch dimension so) a symbol, as if it were named: the
/// first dimension `N`, the batch dimension of every input and of the
/// models that name it `N`, any other its own. Without it tract cannot type
/// the graph ("Source node without a determined fact").
fn name_blank_dimensions(model: &mut InferenceModel) -> TractResult<()> {
	use tract_onnx::tract_hir::infer::{Factoid, GenericFactoid, ShapeFactoid};
	for i in 0..model.inputs.len() {
		let fact = model.input_fact(i)?.clone();
		if fact.shape.is_open() || fact.shape.dims().all(|d| d.concretize().is_some()) {
			continue;
		}
		let dims = fact
			.shape
			.dims()
			.enumerate()
			.map(|(k, d)| match d {
				GenericFactoid::Any => {
					let name = if k == 0 { "N".to_string() } else { format!("input{i}_dim{k}") };
					GenericFactoid::Only(TDim::from(model.symbols.sym(&name)))
				}
				known => known.clone(),
			})
			.collect();
		model.set_input_fact(i, InferenceFact { shape: ShapeFactoid::closed(dims), ..fact })?;
	}
	Ok(())
}

fn prepare(bytes: &[u8], limits: &Limits, options: &RunOptions) -> Result<Loaded, Failure> {
	let mut read = bytes;
	let mut onnx = tract_onnx::onnx();
	crate::ml::register(&mut onnx.op_register);
	crate::lrn::register(&mut onnx.op_register);
	crate::svm::register(&mut onnx.op_register);
	let mut inference = onnx
		.model_for_read(&mut read)
		.map_err(|e| Failure::new(EngineError::InvalidModel, format!("{e:#}")))?;
	name_blank_dimensions(&mut inference)
		.map_err(|e| Failure::new(EngineError::InvalidModel, format!("{e:#}")))?;
	// Typed with its symbols when tract can; otherwise per concrete shape.
	let symbolic = inference.clone();
	let typed = guard(move || {
		symbolic
			.into_typed()
			.and_then(|m| m.into_decluttered())
			.map_err(|e| Failure::new(EngineError::UnsupportedModel, format!("{e:#}")))
	});
	let (base, inputs) = match typed {
		Ok(typed) => {
			// Tensors of a fixed size known now (e.g. a constant Expand) are
			// checked at load.
			check_model_tensors(&typed, &SymbolValues::default(), limits)?;
			let inputs = typed
				.input_outlets()
				.map_err(|e| Failure::new(EngineError::Internal, format!("{e:#}")))?
				.iter()
				.map(|o| {
					let fact = typed.outlet_fact(*o).cloned();
					let fact =
						fact.map_err(|e| Failure::new(EngineError::Internal, format!("{e:#}")))?;
					Ok((typed.node(o.node).name.clone(), fact))
				})
				.collect::<Result<Vec<_>, Failure>>()?;
			(Base::Typed(Arc::new(typed)), inputs)
		}
		Err(symbolic_failure) => {
			let unsupported = |_| symbolic_failure.clone();
			let inputs = inference
				.input_outlets()
				.map_err(unsupported)?
				.iter()
				.map(|o| {
					let fact = inference.outlet_fact(*o).map_err(unsupported)?;
					let dt =
						fact.datum_type.concretize().ok_or_else(|| symbolic_failure.clone())?;
					let dims: Option<Vec<TDim>> =
						fact.shape.dims().map(|d| d.concretize()).collect();
					let dims = dims.ok_or_else(|| symbolic_failure.clone())?;
					Ok((inference.node(o.node).name.clone(), TypedFact::dt_shape(dt, dims)))
				})
				.collect::<Result<Vec<_>, Failure>>()?;
			(Base::Inference(Arc::new(inference)), inputs)
		}
	};
	let outputs: Vec<String> = match &base {
		Base::Typed(typed) => typed
			.output_outlets()
			.map_err(|e| Failure::new(EngineError::Internal, format!("{e:#}")))?
			.iter()
			.map(|o| typed.outlet_label(*o).unwrap_or(&typed.node(o.node).name).to_string())
			.collect(),
		Base::Inference(model) => model
			.output_outlets()
			.map_err(|e| Failure::new(EngineError::Internal, format!("{e:#}")))?
			.iter()
			.map(|o| model.outlet_label(*o).unwrap_or(&model.node(o.node).name).to_string())
			.collect(),
	};
	let mut symbols: Vec<Symbol> = Vec::new();
	for (_, fact) in &inputs {
		for d in fact.shape.dims() {
			if let TDim::Sym(s) = d {
				if !symbols.contains(s) {
					symbols.push(s.clone());
				}
			}
		}
	}
	let mut loaded = Loaded { base, symbols, plans: Vec::new(), inputs, outputs };
	if loaded.symbols.is_empty() {
		// A model of fixed shapes: its one plan now, so that an unsupported
		// operator is refused at load.
		loaded.plan_for(&SymbolValues::default(), options, limits)?;
	}
	Ok(loaded)
}

/// Checks `inputs` against the model's input facts and returns the values
/// they give the model's symbols (the tensor sizes those determine are
/// checked when the plan for them is made).
fn check_inputs(
	model: &Loaded,
	inputs: &[Tensor],
	limits: &Limits,
) -> Result<SymbolValues, Failure> {
	let bad = |m: String| Failure::new(EngineError::InvalidInput, m);
	if inputs.len() != model.inputs.len() {
		return Err(bad(format!(
			"{} inputs given, the model takes {}",
			inputs.len(),
			model.inputs.len()
		)));
	}
	let mut values = SymbolValues::default();
	for (name, fact) in &model.inputs {
		let t = inputs
			.iter()
			.find(|t| t.name == name.as_bytes())
			.ok_or_else(|| bad(format!("no input named {name}")))?;
		if convert::datum_type(t.dtype) != fact.datum_type {
			return Err(bad(format!(
				"{name}: {:?} given, {:?} expected",
				t.dtype, fact.datum_type
			)));
		}
		if !t.is_consistent() {
			return Err(bad(format!("{name}: data length does not match shape")));
		}
		let elements = t.element_count().unwrap_or(u64::MAX);
		check_size(elements, t.dtype.size() as u64, limits, name)?;
		let dims = fact.shape.dims();
		if dims.len() != t.shape.len() {
			return Err(bad(format!(
				"{name}: rank {} given, {} expected",
				t.shape.len(),
				dims.len()
			)));
		}
		for (d, n) in dims.iter().zip(&t.shape) {
			match d {
				TDim::Sym(s) => values.set(s, i64::from(*n)),
				d => match d.eval_to_i64(&values) {
					Ok(v) if v == i64::from(*n) => {}
					Ok(v) => return Err(bad(format!("{name}: dimension {n} given, {v} expected"))),
					Err(_) => {}
				},
			}
		}
	}
	Ok(values)
}

fn order_inputs(model: &Loaded, inputs: &[Tensor]) -> Result<TVec<TValue>, Failure> {
	model
		.inputs
		.iter()
		.map(|(name, _)| {
			let t = inputs.iter().find(|t| t.name == name.as_bytes()).expect("checked above; qed");
			convert::to_tract(t)
				.map(|t| t.into_tvalue())
				.map_err(|k| Failure::new(k, format!("input {name}")))
		})
		.collect()
}

pub use crate::Signature;

/// Reads the declared inputs and outputs of an ONNX model. A symbolic (named
/// or unknown) first dimension becomes the batch dimension; any other
/// symbolic dimension, and element types Verity does not carry, are errors.
pub fn describe(bytes: &[u8]) -> Result<Signature, Failure> {
	use tract_onnx::pb::{
		tensor_shape_proto::dimension::Value as D, type_proto::Value as T, ValueInfoProto,
	};
	use verity_primitives::{DType, Dim, TensorSpec};
	let invalid = |m: String| Failure::new(EngineError::InvalidModel, m);
	let unsupported = |m: String| Failure::new(EngineError::UnsupportedModel, m);
	let mut read = bytes;
	let proto = guard(|| {
		tract_onnx::onnx()
			.proto_model_for_read(&mut read)
			.map_err(|e| invalid(format!("not an ONNX model: {e:#}")))
	})?;
	let graph = proto.graph.ok_or_else(|| invalid("the model has no graph".into()))?;
	let initializers: std::collections::HashSet<&str> =
		graph.initializer.iter().map(|i| i.name.as_str()).collect();
	// The batch dimension is the first input's first dimension when it is
	// symbolic, and every dimension of the same name; other symbolic
	// dimensions are free (an anonymous one is its own).
	let symbol =
		|t: usize, i: usize, d: &tract_onnx::pb::tensor_shape_proto::Dimension| match &d.value {
			Some(D::DimValue(_)) => None,
			Some(D::DimParam(p)) if !p.is_empty() => Some(p.clone()),
			_ => Some(format!("?{t}.{i}")),
		};
	let dims_of = |v: &ValueInfoProto| match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
		Some(T::TensorType(t)) => t.shape.as_ref().map(|s| s.dim.clone()).unwrap_or_default(),
		_ => Vec::new(),
	};
	let declared_inputs: Vec<&ValueInfoProto> =
		graph.input.iter().filter(|v| !initializers.contains(v.name.as_str())).collect();
	let batch_symbol =
		declared_inputs.first().and_then(|v| dims_of(v).first().and_then(|d| symbol(0, 0, d)));
	let spec = |t: usize, v: &ValueInfoProto| -> Result<TensorSpec, Failure> {
		let name = &v.name;
		let Some(T::TensorType(tt)) = v.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
			return Err(unsupported(format!("{name} is not a tensor")));
		};
		let dtype = match tt.elem_type {
			1 => DType::Float32,
			2 => DType::Uint8,
			6 => DType::Int32,
			7 => DType::Int64,
			9 => DType::Bool,
			11 => DType::Float64,
			other => {
				return Err(unsupported(format!(
					"{name} has ONNX element type {other}; Verity carries float32, float64, \
					 int64, int32, uint8 and bool"
				)))
			}
		};
		let dims = tt.shape.as_ref().map(|s| s.dim.as_slice()).unwrap_or_default();
		let sizes: Vec<i64> = dims
			.iter()
			.map(|d| match d.value {
				Some(D::DimValue(n)) => n,
				_ => -1,
			})
			.collect();
		let mut shape = Vec::with_capacity(dims.len());
		for (i, d) in dims.iter().enumerate() {
			let sym = symbol(t, i, d);
			let anonymous_first = i == 0 && sym.as_deref().is_some_and(|s| s.starts_with('?'));
			shape.push(match d.value {
				Some(D::DimValue(n)) if n > 0 && n <= i64::from(u32::MAX) => Dim::Fixed(n as u32),
				Some(D::DimValue(n)) => {
					return Err(invalid(format!("{name}: dimension {i} is {n}")))
				}
				_ if sym == batch_symbol || anonymous_first => {
					if i != 0 {
						return Err(unsupported(format!(
							"{name}: dimension {i} is the batch dimension {}; Verity's batch \
							 dimension must come first",
							batch_symbol.as_deref().unwrap_or("?")
						)));
					}
					Dim::Batch
				}
				_ => Dim::Free(verity_primitives::DEFAULT_FREE_MAX),
			});
		}
		let spec = TensorSpec {
			name: name
				.as_bytes()
				.to_vec()
				.try_into()
				.map_err(|_| unsupported(format!("tensor name {name} is too long")))?,
			dtype,
			shape: shape.try_into().map_err(|_| {
				unsupported(format!("{name} has more dimensions than Verity allows"))
			})?,
		};
		if !spec.is_valid() {
			return Err(Failure::new(
				EngineError::TensorTooLarge,
				format!("{name}: its declared shape {sizes:?} exceeds Verity's tensor limits"),
			));
		}
		Ok(spec)
	};
	let inputs = declared_inputs
		.iter()
		.enumerate()
		.map(|(t, v)| spec(t, v))
		.collect::<Result<Vec<_>, _>>()?;
	let outputs = graph
		.output
		.iter()
		.enumerate()
		.map(|(t, v)| spec(1000 + t, v))
		.collect::<Result<Vec<_>, _>>()?;
	// The inputs' free dimensions take one size per job, and so do the
	// outputs' (`check_tensors`): a model with two free lengths on one side
	// cannot be declared.
	for (side, list) in [("inputs", &declared_inputs), ("outputs", &graph.output.iter().collect())]
	{
		let mut free: Vec<String> = Vec::new();
		for (t, v) in list.iter().enumerate() {
			for (i, d) in dims_of(v).iter().enumerate() {
				let Some(s) = symbol(t + if side == "outputs" { 1000 } else { 0 }, i, d) else {
					continue;
				};
				let batch = Some(&s) == batch_symbol.as_ref() || (i == 0 && s.starts_with('?'));
				if !batch && !free.contains(&s) {
					free.push(s);
				}
			}
		}
		if free.len() > 1 {
			return Err(unsupported(format!(
				"the {side} have {} free dimensions ({}); Verity's tensors have one free length \
				 besides the batch",
				free.len(),
				free.join(", ")
			)));
		}
	}
	let mut unseeded_random_ops = Vec::new();
	unseeded_random(&graph, &mut unseeded_random_ops);
	Ok(Signature { inputs, outputs, unseeded_random_ops })
}

/// ONNX operators that draw random numbers; without a `seed` attribute the
/// numbers (and so the outputs) differ from run to run and node to node.
pub const RANDOM_OPS: [&str; 6] = [
	"RandomUniform",
	"RandomNormal",
	"RandomUniformLike",
	"RandomNormalLike",
	"Bernoulli",
	"Multinomial",
];

/// Collects the names of `graph`'s random operators without a seed,
/// including those in subgraphs (`If`, `Loop`, `Scan` bodies).
fn unseeded_random(graph: &tract_onnx::pb::GraphProto, found: &mut Vec<Vec<u8>>) {
	for node in &graph.node {
		let seeded = node.attribute.iter().any(|a| a.name == "seed");
		if RANDOM_OPS.contains(&node.op_type.as_str()) && !seeded {
			let name = if node.name.is_empty() { &node.op_type } else { &node.name };
			found.push(name.as_bytes().to_vec());
		}
		for attr in &node.attribute {
			for g in attr.g.iter().chain(&attr.graphs) {
				unseeded_random(g, found);
			}
		}
	}
}
