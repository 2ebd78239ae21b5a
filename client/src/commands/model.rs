//! `verity model ...`: what publishers do.

use std::io::{IsTerminal, Write};

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use codec::Encode;
use pallet_model_registry::{ModelInfo, ModelSpec, ModelStatus, ModelVersion};
use sp_arithmetic::FixedU64;
use sp_core::H256;
use verity_engine::Limits;
use verity_engine::Signature;
use verity_primitives::{
	encoded_size_bound, is_float, DType, Dim, Tensor, TensorSpec, VerificationPolicy,
};
use verity_runtime::{AccountId, Balance, BlockNumber, RuntimeCall};

use super::{local::signature, parse_model_id, read_file, read_tensors, Context};
use crate::{
	amount::{parse_decimal, Amount},
	chain::{account_of, parse_account, Chain},
	format,
};

/// A registered model as the runtime API returns it.
pub type Info = ModelInfo<AccountId, Balance, BlockNumber>;

/// `verity model`.
#[derive(Subcommand, Debug)]
pub enum ModelCmd {
	/// Registers an ONNX model and uploads its bytes; prints its id. An
	/// interrupted upload resumes where it stopped when run again.
	Register(Register),
	/// Lists every registered model.
	List,
	/// Shows a model (by id, or as FAMILY@VERSION).
	Show {
		/// `0x…` id or `family@1.0`.
		model: String,
	},
	/// Changes the price per job (owner only).
	SetPrice {
		/// `0x…` id or `family@1.0`.
		model: String,
		/// New price, in VRT.
		price: Amount,
	},
	/// Stops new jobs; running jobs finish (owner only).
	Deprecate {
		/// `0x…` id or `family@1.0`.
		model: String,
	},
	/// Removes the bytes and returns the deposit and bond (owner only; no jobs
	/// in flight).
	Retire {
		/// `0x…` id or `family@1.0`.
		model: String,
	},
	/// Gives up an unfinished upload and returns the deposit.
	AbortUpload {
		/// `0x…` id.
		model: String,
	},
	/// Offers the model to another account (it must accept).
	Transfer {
		/// `0x…` id or `family@1.0`.
		model: String,
		/// The new owner: SS58 address, 0x public key or secret URI.
		#[arg(long)]
		to: String,
	},
	/// Accepts a model offered to the `--suri` account.
	Accept {
		/// `0x…` id or `family@1.0`.
		model: String,
	},
	/// Downloads a model's bytes from the chain and checks them against its id.
	Download {
		/// `0x…` id or `family@1.0`.
		model: String,
		/// Where to write the ONNX file.
		#[arg(long)]
		out: String,
	},
}

/// `verity model register`.
#[derive(Args, Debug)]
pub struct Register {
	/// The ONNX file.
	#[arg(long)]
	pub file: String,
	/// The model family's name (a release series, like a repository).
	#[arg(long)]
	pub name: String,
	/// Release number MAJOR.MINOR.
	#[arg(long, default_value = "1.0")]
	pub version: String,
	/// Price per job paid to the publisher, in VRT.
	#[arg(long)]
	pub price: Amount,
	/// When two outputs agree: `exact` (integer and boolean outputs only),
	/// `tolerance:ABS,REL`, `argmax`, `topk:K`. Default: `exact` for a model
	/// whose outputs are all integers or booleans, otherwise
	/// `tolerance:0.00001,0.0001` (floats differ in the last bits between
	/// honest machines).
	#[arg(long)]
	pub policy: Option<String>,
	/// Blocks during which a result can be challenged (default: the chain's
	/// recommended period, `RecommendedChallengePeriod`).
	#[arg(long)]
	pub challenge_period: Option<BlockNumber>,
	/// Most items per job. Default: as many as the chain's `MaxOutputSize`
	/// allows for the declared outputs, at most 1024.
	#[arg(long)]
	pub max_batch: Option<u32>,
	/// A golden vector's input (tensor JSON; repeatable). Its expected output
	/// is this machine's run of the model. Admission verifiers run each one
	/// twice and compare under the policy. Default: one generated input of
	/// batch 1 (every float 0.5, every integer 0, every boolean false).
	#[arg(long = "golden")]
	pub golden: Vec<String>,
	/// The largest size a free dimension (a sequence length: a symbolic
	/// dimension other than the batch) takes in a job. The runtime checks
	/// inputs and outputs against it and bounds their sizes with it.
	#[arg(long, default_value_t = verity_primitives::DEFAULT_FREE_MAX)]
	pub free_dim_max: u32,
	/// Allow consensus mode: compile the model into the interpreter's graph
	/// and upload it with the bytes, so that jobs may be evaluated by every
	/// validator inside the block (`verity job submit --mode consensus`).
	/// Refused, with the reason, for a model outside the interpreter's
	/// subset or over the chain's `MaxConsensusParams`.
	#[arg(long)]
	pub consensus: bool,
	/// Return once the bytes are uploaded instead of waiting for the
	/// verifiers' admission (`verity model show` tells the outcome later).
	#[arg(long)]
	pub no_wait: bool,
}

/// The largest default `--max-batch`.
const MAX_BATCH_DEFAULT: u32 = 1024;

/// Seconds `model register` waits for the verifiers' admission.
const ADMISSION_WAIT_SECS: u32 = 120;

/// The golden vectors to register with: each `--golden` input (or one
/// generated input) with the output this machine's engine gives for it.
fn golden_vectors(
	r: &Register,
	sig: &Signature,
	id: &H256,
	bytes: &[u8],
) -> anyhow::Result<Vec<(Vec<u8>, Vec<u8>)>> {
	let inputs = if r.golden.is_empty() {
		vec![generated_input(&sig.inputs)]
	} else {
		r.golden.iter().map(|p| read_tensors(p)).collect::<anyhow::Result<Vec<_>>>()?
	};
	let sandbox = super::local::sandbox(Limits::default());
	sandbox.load(&id.0, bytes).map_err(|e| anyhow!("the engine cannot load {}: {e}", r.file))?;
	inputs
		.into_iter()
		.map(|input| {
			super::local::check_inputs(&input, &sig.inputs)?;
			let encoded = input.encode();
			let output = sandbox
				.run(&id.0, &encoded)
				.map_err(|e| anyhow!("the model fails on a golden input: {e}"))?;
			Ok((encoded, output))
		})
		.collect()
}

/// One item for each declared input: floats 0.5, integers 0, booleans false.
pub fn generated_input(specs: &[TensorSpec]) -> Vec<Tensor> {
	specs
		.iter()
		.map(|s| {
			let shape: Vec<u32> = s
				.shape
				.iter()
				.map(|d| match d {
					Dim::Batch | Dim::Free(_) => 1,
					Dim::Fixed(n) => *n,
				})
				.collect();
			let n = shape.iter().product::<u32>() as usize;
			let data = match s.dtype {
				DType::Float32 => 0.5f32.to_le_bytes().repeat(n),
				DType::Float64 => 0.5f64.to_le_bytes().repeat(n),
				other => vec![0; n * other.size() as usize],
			};
			Tensor { name: s.name.to_vec(), dtype: s.dtype, shape, data }
		})
		.collect()
}

/// The policy a model gets when its publisher names none: `exact` for
/// integer and boolean outputs, a tight tolerance for floats.
pub fn default_policy(outputs: &[TensorSpec]) -> VerificationPolicy {
	if outputs.iter().any(|o| is_float(o.dtype)) {
		VerificationPolicy::Tolerance {
			abs: FixedU64::from_rational(1, 100_000),
			rel: FixedU64::from_rational(1, 10_000),
		}
	} else {
		VerificationPolicy::Exact
	}
}

/// Parses `exact`, `tolerance:ABS,REL`, `argmax`, `topk:K`.
pub fn parse_policy(s: &str) -> anyhow::Result<VerificationPolicy> {
	let fixed = |v: &str| -> anyhow::Result<FixedU64> {
		let inner = parse_decimal(v.trim(), 9).map_err(|e| anyhow!("policy {s:?}: {e}"))?;
		Ok(FixedU64::from_inner(u64::try_from(inner).map_err(|_| anyhow!("{v} is too large"))?))
	};
	let policy = match s.split_once(':') {
		None if s == "exact" => VerificationPolicy::Exact,
		None if s == "argmax" => VerificationPolicy::ArgMax,
		Some(("tolerance", rest)) => match rest.split_once(',') {
			Some((abs, rel)) => {
				VerificationPolicy::Tolerance { abs: fixed(abs)?, rel: fixed(rel)? }
			}
			None => {
				bail!("policy {s:?}: expected tolerance:ABS,REL (e.g. tolerance:0.00001,0.0001)")
			}
		},
		Some(("topk", k)) => VerificationPolicy::TopK(
			k.parse().map_err(|_| anyhow!("policy {s:?}: K must be a positive integer"))?,
		),
		_ => bail!("unknown policy {s:?}: exact, tolerance:ABS,REL, argmax or topk:K"),
	};
	if !policy.is_valid() {
		bail!("policy {s:?} is out of range");
	}
	Ok(policy)
}

fn parse_version(s: &str) -> anyhow::Result<ModelVersion> {
	let parsed = s.split_once('.').and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
	match parsed {
		Some((major, minor)) => Ok(ModelVersion { major, minor }),
		None => bail!("{s:?} is not a version MAJOR.MINOR (e.g. 1.0)"),
	}
}

/// Checks that `s` is a `0x…` id or `family@MAJOR.MINOR`, before connecting.
pub fn check_ref(s: &str) -> anyhow::Result<()> {
	match s.split_once('@') {
		Some((_, version)) => parse_version(version).map(|_| ()),
		None => parse_model_id(s).map(|_| ()),
	}
}

/// A model's id from `0x…` or `family@MAJOR.MINOR`.
pub async fn resolve(chain: &Chain, s: &str) -> anyhow::Result<H256> {
	match s.split_once('@') {
		Some((family, version)) => {
			let version = parse_version(version)?;
			let id: Option<H256> = chain
				.runtime_api("ModelRegistryApi_release", (family.as_bytes().to_vec(), version))
				.await?;
			id.ok_or_else(|| anyhow!("no model {s} is registered"))
		}
		None => parse_model_id(s),
	}
}

/// A model's record; an error naming the id when there is none.
pub async fn fetch(chain: &Chain, id: H256) -> anyhow::Result<Info> {
	let info: Option<Info> = chain.runtime_api("ModelRegistryApi_model", id).await?;
	info.ok_or_else(|| anyhow!("unknown model {}", format::hash(&id)))
}

struct Progress {
	tty: bool,
	total: u32,
	bytes: u64,
}

impl Progress {
	fn show(&self, done: u32) {
		let mib = |b: u64| b as f64 / (1 << 20) as f64;
		let sent = (self.bytes * done as u64 / self.total.max(1) as u64).min(self.bytes);
		let width = 30usize;
		let filled = width * done as usize / self.total.max(1) as usize;
		let line = format!(
			"uploading [{}{}] chunk {done}/{} ({:.1}/{:.1} MiB)",
			"#".repeat(filled),
			".".repeat(width - filled),
			self.total,
			mib(sent),
			mib(self.bytes)
		);
		let mut err = std::io::stderr();
		if self.tty {
			let _ = write!(err, "\r{line}");
			if done == self.total {
				let _ = writeln!(err);
			}
		} else {
			let _ = writeln!(err, "{line}");
		}
	}
}

async fn register(ctx: &Context, r: Register) -> anyhow::Result<()> {
	let bytes = read_file(&r.file)?;
	let mut sig = signature(&r.file, &bytes)?;
	for spec in sig.inputs.iter_mut().chain(sig.outputs.iter_mut()) {
		for d in spec.shape.iter_mut() {
			if let Dim::Free(max) = d {
				*max = r.free_dim_max;
			}
		}
	}
	let signer = ctx.signer()?;
	let policy = match &r.policy {
		Some(p) => parse_policy(p)?,
		None => default_policy(&sig.outputs),
	};
	if policy == VerificationPolicy::Exact && sig.outputs.iter().any(|o| is_float(o.dtype)) {
		bail!(
			"--policy exact needs integer or boolean outputs; {} has float outputs, which honest \
			 machines compute differently in the last bits: use tolerance:ABS,REL, argmax or topk:K",
			r.file
		);
	}
	let version = parse_version(&r.version)?;
	let id = H256(sp_crypto_hashing::blake2_256(&bytes));
	// The publisher's bond is slashed for a model admission rejects: run it
	// here first, for free, which also gives the golden vectors' outputs.
	let golden = golden_vectors(&r, &sig, &id, &bytes)?;
	let chain = ctx.chain().await?;
	let consensus =
		if r.consensus { Some(consensus_graph(&chain, &r.file, &bytes)?) } else { None };
	let max_size: u32 = chain.constant("ModelRegistry", "MaxModelSize")?;
	if bytes.len() as u64 > max_size as u64 {
		bail!("{} has {} bytes; the chain accepts at most {max_size}", r.file, bytes.len());
	}
	let chunk: u32 = chain.constant("ModelRegistry", "ChunkSize")?;
	let max_output: u32 = chain.constant("ModelRegistry", "MaxOutputSize")?;
	let fits = |batch: u32| encoded_size_bound(&sig.outputs, batch) <= u64::from(max_output);
	let max_batch = match r.max_batch {
		Some(b) if b >= 1 && fits(b) => b,
		Some(b) => bail!(
			"--max-batch {b}: the outputs of {b} items could exceed the chain's {max_output} bytes"
		),
		// An output whose first dimension the exporter fixed at 1 (LightGBM's
		// label, for one) cannot follow a larger batch: one item per job.
		None if sig.outputs.iter().any(|o| o.shape.first() == Some(&Dim::Fixed(1))) => {
			eprintln!(
				"an output's first dimension is fixed at 1: one item per job (--max-batch 1)"
			);
			1
		}
		None => (1..=MAX_BATCH_DEFAULT).rev().find(|b| fits(*b)).ok_or_else(|| {
			anyhow!("the declared outputs of one item could exceed the chain's {max_output} bytes")
		})?,
	};
	let challenge_period = match r.challenge_period {
		Some(p) => p,
		None => chain.constant("ModelRegistry", "RecommendedChallengePeriod")?,
	};
	let me = account_of(&signer);
	let start = match chain.runtime_api::<Option<Info>>("ModelRegistryApi_model", id).await? {
		None => {
			let bounded = |v: Vec<_>, what: &str| {
				v.try_into().map_err(|_| anyhow!("the model declares too many {what}"))
			};
			let spec = ModelSpec::<Balance, BlockNumber> {
				family: r
					.name
					.as_bytes()
					.to_vec()
					.try_into()
					.map_err(|_| anyhow!("the name {:?} is too long", r.name))?,
				version,
				size: bytes.len() as u32,
				inputs: bounded(sig.inputs, "inputs")?,
				outputs: bounded(sig.outputs, "outputs")?,
				price: r.price.0,
				challenge_period,
				policy,
				max_batch,
			};
			let call = pallet_model_registry::Call::register { id, spec };
			chain.submit(&signer, RuntimeCall::ModelRegistry(call)).await?;
			for (input, output) in golden {
				let bounded = |v: Vec<u8>| {
					v.try_into()
						.map_err(|_| anyhow!("a golden vector is larger than the chain accepts"))
				};
				let call = pallet_model_registry::Call::add_golden_vector {
					id,
					input: bounded(input)?,
					output: bounded(output)?,
				};
				chain.submit(&signer, RuntimeCall::ModelRegistry(call)).await?;
			}
			if let Some(graph) = consensus {
				let call = pallet_model_registry::Call::set_consensus_graph {
					id,
					graph: graph.try_into().map_err(|_| {
						anyhow!("the consensus graph is larger than the chain accepts")
					})?,
				};
				chain.submit(&signer, RuntimeCall::ModelRegistry(call)).await?;
			}
			0
		}
		Some(info) if info.status == ModelStatus::Uploading && info.owner == me => {
			eprintln!("resuming the upload at chunk {}", info.chunks);
			info.chunks
		}
		Some(info) => bail!(
			"model {} is already registered ({} {}, {}, owner {})",
			format::hash(&id),
			String::from_utf8_lossy(&info.family),
			format::version(&info.version),
			format::model_status(&info.status),
			format::account(&info.owner)
		),
	};
	let chunks: Vec<&[u8]> = bytes.chunks(chunk as usize).collect();
	let progress = Progress {
		tty: std::io::stderr().is_terminal(),
		total: chunks.len() as u32,
		bytes: bytes.len() as u64,
	};
	for (index, data) in chunks.iter().enumerate().skip(start as usize) {
		let data = data.to_vec().try_into().map_err(|_| anyhow!("chunk larger than ChunkSize"))?;
		let call = pallet_model_registry::Call::upload_chunk { id, index: index as u32, data };
		chain.submit(&signer, RuntimeCall::ModelRegistry(call)).await?;
		progress.show(index as u32 + 1);
	}
	let mut info = fetch(&chain, id).await?;
	if info.status == ModelStatus::Pending && !r.no_wait {
		eprintln!("uploaded; verifiers are checking the model (admission)");
		for _ in 0..ADMISSION_WAIT_SECS {
			tokio::time::sleep(std::time::Duration::from_secs(1)).await;
			info = fetch(&chain, id).await?;
			if info.status != ModelStatus::Pending {
				break;
			}
		}
	}
	match info.status {
		ModelStatus::Active => {}
		ModelStatus::Pending if r.no_wait => {}
		ModelStatus::Pending => bail!(
			"model {} still awaits admission after {ADMISSION_WAIT_SECS} s; \
			 `verity model show` follows it",
			format::hash(&id)
		),
		status => bail!(
			"the upload finished but the model is {}; `verity model show {}` gives the votes",
			format::model_status(&status),
			format::hash(&id)
		),
	}
	eprintln!(
		"registered {} {} ({} bytes): deposit {}, bond {} held",
		r.name,
		format::version(&info.version),
		info.size,
		format::vrt(info.deposit),
		format::vrt(info.bond)
	);
	println!("{}", format::hash(&id));
	Ok(())
}

/// The model in `bytes` compiled for consensus mode, checked against the
/// chain's caps: the encoded graph to upload.
fn consensus_graph(
	chain: &crate::chain::Chain,
	file: &str,
	bytes: &[u8],
) -> anyhow::Result<Vec<u8>> {
	let graph = verity_engine::consensus::compile(bytes)
		.map_err(|e| anyhow!("{file} cannot run in consensus mode: {}", e.message))?;
	let encoded = graph.encode();
	let max_params: u32 = chain.constant("ModelRegistry", "MaxConsensusParams")?;
	let max_size: u32 = chain.constant("ModelRegistry", "MaxConsensusGraphSize")?;
	let params = graph.parameter_count();
	if params > u64::from(max_params) {
		bail!(
			"{file} cannot run in consensus mode: {params} parameters, the chain's \
			 MaxConsensusParams is {max_params}"
		);
	}
	if encoded.len() as u64 > u64::from(max_size) {
		bail!(
			"{file} cannot run in consensus mode: its graph has {} bytes, the chain's \
			 MaxConsensusGraphSize is {max_size}",
			encoded.len()
		);
	}
	eprintln!(
		"consensus mode: {} operators, {params} parameters, a {}-byte graph",
		graph.nodes.len(),
		encoded.len()
	);
	Ok(encoded)
}

/// A model's admission as stored.
type AdmissionInfo = pallet_inference::Admission<
	AccountId,
	BlockNumber,
	<verity_runtime::Runtime as pallet_inference::Config>::CommitteeSize,
>;

/// Prints the admission committee of a pending model and its votes.
async fn show_admission(chain: &Chain, id: H256) -> anyhow::Result<()> {
	let admission: Option<AdmissionInfo> =
		chain.storage("Inference", "Admissions", subxt::dynamic::Value::from_bytes(id.0)).await?;
	let Some(a) = admission else { return Ok(()) };
	if a.committee.is_empty() && a.votes.is_empty() {
		println!("admission:        committee drawn at block {} (or when verifiers are available; `retry_admission` then draws one)", a.deadline);
	}
	for member in &a.committee {
		let vote =
			a.votes.iter().find(|(v, _)| v == member).map(|(_, v)| format::admission_vote(v));
		println!(
			"admission:        {} {}",
			format::account(member),
			vote.unwrap_or("has not voted")
		);
	}
	println!("admission due:    block {}", a.deadline);
	Ok(())
}

fn show(id: H256, m: &Info) {
	println!("id:               {}", format::hash(&id));
	println!(
		"release:          {}@{}",
		String::from_utf8_lossy(&m.family),
		format::version(&m.version)
	);
	println!("status:           {}", format::model_status(&m.status));
	println!("owner:            {}", format::account(&m.owner));
	println!("size:             {} bytes ({} of them uploaded)", m.size, m.received);
	for s in &m.inputs {
		println!("input:            {}", format::spec(s));
	}
	for s in &m.outputs {
		println!("output:           {}", format::spec(s));
	}
	println!("price:            {} per job", format::vrt(m.price));
	println!("challenge period: {} blocks", m.challenge_period);
	println!("policy:           {}", format::policy(&m.policy));
	println!("max batch:        {} items per job", m.max_batch);
	println!("deposit held:     {}", format::vrt(m.deposit));
	println!("bond held:        {}", format::vrt(m.bond));
	println!("registered at:    block {}", m.registered_at);
}

async fn download(chain: &Chain, id: H256, out: &str) -> anyhow::Result<()> {
	let info = fetch(chain, id).await?;
	if matches!(info.status, ModelStatus::Uploading | ModelStatus::Retired) {
		bail!(
			"model {} has no bytes on chain ({})",
			format::hash(&id),
			format::model_status(&info.status)
		);
	}
	let mut bytes = Vec::with_capacity(info.size as usize);
	for index in 0..info.chunks {
		let chunk: Option<Vec<u8>> =
			chain.runtime_api("ModelRegistryApi_model_chunk", (id, index)).await?;
		bytes.extend(chunk.ok_or_else(|| anyhow!("chunk {index} is missing"))?);
	}
	if sp_crypto_hashing::blake2_256(&bytes) != id.0 {
		bail!("the downloaded bytes do not hash to {}", format::hash(&id));
	}
	std::fs::write(out, &bytes).map_err(|e| anyhow!("cannot write {out}: {e}"))?;
	eprintln!("{} bytes written to {out}; blake2-256 verified", bytes.len());
	Ok(())
}

/// Runs `verity model ...`.
pub async fn run(ctx: &Context, cmd: ModelCmd) -> anyhow::Result<()> {
	use pallet_model_registry::Call;
	async fn owner_call(
		ctx: &Context,
		chain: &Chain,
		call: Call<verity_runtime::Runtime>,
	) -> anyhow::Result<()> {
		chain.submit(&ctx.signer()?, RuntimeCall::ModelRegistry(call)).await.map(|_| ())
	}
	match &cmd {
		ModelCmd::Show { model }
		| ModelCmd::SetPrice { model, .. }
		| ModelCmd::Deprecate { model }
		| ModelCmd::Retire { model }
		| ModelCmd::AbortUpload { model }
		| ModelCmd::Transfer { model, .. }
		| ModelCmd::Accept { model }
		| ModelCmd::Download { model, .. } => check_ref(model)?,
		ModelCmd::Register(_) | ModelCmd::List => {}
	}
	match cmd {
		ModelCmd::Register(r) => return register(ctx, r).await,
		ModelCmd::List => {
			let chain = ctx.chain().await?;
			let mut models = chain.storage_entries::<Info>("ModelRegistry", "Models").await?;
			models.sort_by_key(|(_, m)| (m.family.to_vec(), m.version));
			if models.is_empty() {
				eprintln!("no models registered");
			}
			for (key, m) in models {
				let id = H256::from_slice(&key[key.len() - 32..]);
				println!(
					"{}  {}@{}  {}  {} bytes  {} per job  owner {}",
					format::hash(&id),
					String::from_utf8_lossy(&m.family),
					format::version(&m.version),
					format::model_status(&m.status),
					m.size,
					format::vrt(m.price),
					format::account(&m.owner)
				);
			}
		}
		ModelCmd::Show { model } => {
			let chain = ctx.chain().await?;
			let id = resolve(&chain, &model).await?;
			let info = fetch(&chain, id).await?;
			show(id, &info);
			if info.status == ModelStatus::Pending {
				show_admission(&chain, id).await?;
			}
		}
		ModelCmd::SetPrice { model, price } => {
			let chain = ctx.chain().await?;
			let id = resolve(&chain, &model).await?;
			owner_call(ctx, &chain, Call::set_price { id, price: price.0 }).await?;
			eprintln!("price of {} set to {price}", format::hash(&id));
		}
		ModelCmd::Deprecate { model } => {
			let chain = ctx.chain().await?;
			let id = resolve(&chain, &model).await?;
			owner_call(ctx, &chain, Call::deprecate { id }).await?;
			eprintln!("{} deprecated: no new jobs", format::hash(&id));
		}
		ModelCmd::Retire { model } => {
			let chain = ctx.chain().await?;
			let id = resolve(&chain, &model).await?;
			owner_call(ctx, &chain, Call::retire { id }).await?;
			eprintln!("{} retired: bytes removed, deposit and bond released", format::hash(&id));
		}
		ModelCmd::AbortUpload { model } => {
			let chain = ctx.chain().await?;
			let id = resolve(&chain, &model).await?;
			owner_call(ctx, &chain, Call::abort_upload { id }).await?;
			eprintln!("upload of {} aborted; deposit released", format::hash(&id));
		}
		ModelCmd::Transfer { model, to } => {
			let chain = ctx.chain().await?;
			let id = resolve(&chain, &model).await?;
			let to = parse_account(&to)?;
			owner_call(ctx, &chain, Call::transfer_ownership { id, to: to.clone() }).await?;
			eprintln!("{} offered to {}; it must accept", format::hash(&id), format::account(&to));
		}
		ModelCmd::Accept { model } => {
			let chain = ctx.chain().await?;
			let id = resolve(&chain, &model).await?;
			owner_call(ctx, &chain, Call::accept_ownership { id }).await?;
			eprintln!("{} is now owned by the --suri account", format::hash(&id));
		}
		ModelCmd::Download { model, out } => {
			let chain = ctx.chain().await?;
			let id = resolve(&chain, &model).await?;
			download(&chain, id, &out).await?;
		}
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn policies_parse() {
		assert_eq!(parse_policy("exact").unwrap(), VerificationPolicy::Exact);
		assert_eq!(parse_policy("argmax").unwrap(), VerificationPolicy::ArgMax);
		assert_eq!(parse_policy("topk:5").unwrap(), VerificationPolicy::TopK(5));
		assert_eq!(
			parse_policy("tolerance:0.00001,0.0001").unwrap(),
			VerificationPolicy::Tolerance {
				abs: FixedU64::from_inner(10_000),
				rel: FixedU64::from_inner(100_000)
			}
		);
		assert!(parse_policy("topk:0").is_err());
		assert!(parse_policy("tolerance:1").is_err());
		assert!(parse_policy("fuzzy").is_err());
		assert_eq!(
			format::policy(&parse_policy("tolerance:0.00001,0.0001").unwrap()),
			"tolerance:0.00001,0.0001"
		);
	}
}
