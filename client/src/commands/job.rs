//! `verity job ...`: what dApps do.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use clap::{Subcommand, ValueEnum};
use frame_support::traits::Get;
use pallet_inference::{InputOf, VerificationMode};
use verity_primitives::decode_tensors;
use verity_runtime::{AccountId, Balance, BlockNumber, Runtime, RuntimeCall, RuntimeEvent};

use super::{model, print_tensors, read_tensors, Context, OutputFormat};
use crate::{amount::Amount, chain::Chain, format};

/// A job as the runtime API returns it, with its output.
pub type JobInfo = (pallet_inference::Job<AccountId, Balance, BlockNumber>, Option<Vec<u8>>);

/// How much assurance a job buys.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
	/// Challengeable during the model's challenge period; settles after it.
	Optimistic,
	/// Settles as soon as the result arrives; cannot be challenged; no protocol fee.
	Vanilla,
	/// Every validator evaluates the model in the block that includes the
	/// job: the output is final in that block (models registered with
	/// `--consensus` only).
	Consensus,
}

impl From<Mode> for VerificationMode {
	fn from(m: Mode) -> Self {
		match m {
			Mode::Optimistic => VerificationMode::Optimistic,
			Mode::Vanilla => VerificationMode::Vanilla,
			Mode::Consensus => VerificationMode::Consensus,
		}
	}
}

/// How long `job submit` waits.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
	/// Print the job id and return.
	None,
	/// Until the executor's result is on chain (challengeable).
	Result,
	/// Until the job settled (its challenge window closed, or a dispute ended).
	Settled,
}

/// `verity job`.
#[derive(Subcommand, Debug)]
pub enum JobCmd {
	/// Submits a job; prints its id, then (with --wait) the output tensors as JSON.
	Submit {
		/// The model: `0x…` id or `family@1.0`.
		#[arg(long)]
		model: String,
		/// Input tensors as JSON (`-`: stdin).
		#[arg(long)]
		input: String,
		/// Most the job may cost, in VRT (default: the model's price plus the
		/// executor and protocol fees).
		#[arg(long)]
		max_fee: Option<Amount>,
		/// Verification mode.
		#[arg(long, value_enum, default_value = "optimistic")]
		mode: Mode,
		/// What to wait for before returning.
		#[arg(long, value_enum, default_value = "result")]
		wait: Wait,
		/// Give up waiting after this many seconds.
		#[arg(long, default_value_t = 600)]
		timeout: u64,
		/// How to print the output.
		#[arg(long, value_enum, default_value = "json")]
		output: OutputFormat,
	},
	/// Shows a job: status, fees, and its output as JSON.
	Show {
		/// The job id.
		job: u64,
		/// How to print the output.
		#[arg(long, value_enum, default_value = "json")]
		output: OutputFormat,
	},
	/// Prints a job's events from its submission until it settles or fails
	/// (waiting if it has not yet), with the slashes and rewards of its
	/// dispute; prints the output tensors of a settled job.
	Wait {
		/// The job id.
		job: u64,
		/// Give up after this many seconds.
		#[arg(long, default_value_t = 600)]
		timeout: u64,
		/// How to print the output.
		#[arg(long, value_enum, default_value = "json")]
		output: OutputFormat,
	},
	/// Prints inference events as finalized blocks arrive (Ctrl-C stops).
	Watch {
		/// Only this job's events.
		#[arg(long)]
		job: Option<u64>,
		/// Start at this block (default: the next one).
		#[arg(long)]
		from: Option<u64>,
	},
}

/// The job an `Inference` event is about, if any.
pub fn event_job(e: &pallet_inference::Event<Runtime>) -> Option<u64> {
	use pallet_inference::Event::*;
	match e {
		JobSubmitted { job, .. }
		| JobAssigned { job, .. }
		| ResultSubmitted { job, .. }
		| JobSettled { job, .. }
		| JobFailed { job, .. }
		| JobChallenged { job, .. }
		| VerdictSubmitted { job, .. }
		| DisputeResolved { job, .. }
		| CommitteeDrawn { job, .. }
		| AuditorDrawn { job, .. }
		| VerdictCommitted { job, .. }
		| RevealOpened { job, .. }
		| AuditPassed { job, .. }
		| ResultCommitted { job, .. }
		| AuditCommitted { job, .. }
		| AuditLapsed { job, .. }
		| CommitteeReplaced { job, .. }
		| DisputeEnded { job, .. }
		| DisputeStalled { job }
		| CallbackDelivered { job, .. }
		| CallbackFailed { job, .. }
		| ConsensusJobEvaluated { job, .. }
		| JobPruned { job } => Some(*job),
		_ => None,
	}
}

/// Calls `f` with every `Inference` event of finalized blocks from `from` on,
/// until it returns `Some`, or errors after `timeout`.
pub async fn follow<T>(
	chain: &Chain,
	from: u64,
	timeout: Option<Duration>,
	mut f: impl FnMut(u64, &pallet_inference::Event<Runtime>) -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
	let start = Instant::now();
	let mut next = from;
	loop {
		let head = chain.finalized().await?;
		while next <= head {
			for record in chain.events_at(next).await? {
				if let RuntimeEvent::Inference(e) = &record.event {
					if let Some(done) = f(next, e)? {
						return Ok(done);
					}
				}
			}
			next += 1;
		}
		if timeout.is_some_and(|t| start.elapsed() > t) {
			bail!("gave up waiting after {} s (at block {head})", start.elapsed().as_secs());
		}
		tokio::time::sleep(Duration::from_millis(300)).await;
	}
}

/// The job and its output; an error when the chain does not know it.
pub async fn fetch(chain: &Chain, job: u64) -> anyhow::Result<JobInfo> {
	let found: Option<JobInfo> = chain.runtime_api("InferenceApi_job", job).await?;
	if let Some(found) = found {
		return Ok(found);
	}
	let queued: Option<pallet_inference::QueuedJobOf<Runtime>> =
		chain.storage("Inference", "QueuedJobs", subxt::dynamic::Value::u128(job as u128)).await?;
	match queued {
		Some(q) => bail!(
			"job {job} is queued: its executor is drawn at block {} (`verity job wait {job}` follows it)",
			q.draw_at
		),
		None => bail!("unknown job {job} (never submitted, or pruned)"),
	}
}

fn print_output(job: u64, output: Option<Vec<u8>>, format: OutputFormat) -> anyhow::Result<()> {
	let output = output.ok_or_else(|| anyhow!("job {job} has no output"))?;
	let tensors = decode_tensors(&output).map_err(|e| anyhow!("job {job}'s output: {e:?}"))?;
	print_tensors(&tensors, format);
	Ok(())
}

async fn submit(
	ctx: &Context,
	model_ref: &str,
	input: &str,
	max_fee: Option<Amount>,
	mode: Mode,
	wait: Wait,
	timeout: u64,
	format: OutputFormat,
) -> anyhow::Result<()> {
	let signer = ctx.signer()?;
	model::check_ref(model_ref)?;
	let inputs = read_tensors(input)?;
	let chain = ctx.chain().await?;
	let model = model::resolve(&chain, model_ref).await?;
	let info = model::fetch(&chain, model).await?;
	if !info.is_active() {
		bail!(
			"model {} is {}: it takes no new jobs",
			format::hash(&model),
			format::model_status(&info.status)
		);
	}
	super::local::check_inputs(&inputs, &info.inputs)?;
	let encoded = codec::Encode::encode(&inputs);
	let size = encoded.len();
	let input: InputOf<Runtime> = encoded.try_into().map_err(|_| {
		anyhow!(
			"the input has {size} bytes; the chain accepts at most {}",
			<<Runtime as pallet_inference::Config>::MaxInputSize as Get<u32>>::get()
		)
	})?;
	let max_fee = match max_fee {
		Some(f) => f.0,
		// The chain's own quote: price, executor and protocol fees and the
		// audit premium at the model's current audit rate.
		None => chain
			.runtime_api::<Option<Balance>>(
				"InferenceApi_quote",
				(model, VerificationMode::from(mode)),
			)
			.await?
			.ok_or_else(|| anyhow!("the chain quotes no fee for model {}", format::hash(&model)))?,
	};
	let call = pallet_inference::Call::submit_job { model, input, max_fee, mode: mode.into() };
	let included = chain.submit(&signer, RuntimeCall::Inference(call)).await?;
	if mode == Mode::Consensus {
		// Evaluated and settled in the block that included it.
		let mut job = None;
		for e in &included.events {
			if let RuntimeEvent::Inference(e) = e {
				if let pallet_inference::Event::ConsensusJobEvaluated { job: j, .. } = e {
					job = Some(*j);
				}
				if job.is_some() && event_job(e) == job {
					eprintln!("{}", format::inference_event(e));
				}
			}
		}
		let job =
			job.ok_or_else(|| anyhow!("submit_job succeeded without ConsensusJobEvaluated"))?;
		println!("{job}");
		return print_output(job, fetch(&chain, job).await?.1, format);
	}
	let job = included
		.events
		.iter()
		.find_map(|e| match e {
			RuntimeEvent::Inference(e @ pallet_inference::Event::JobSubmitted { job, .. }) => {
				eprintln!("{}", format::inference_event(e));
				Some(*job)
			}
			_ => None,
		})
		.ok_or_else(|| anyhow!("submit_job succeeded without a JobSubmitted event"))?;
	println!("{job}");
	if wait == Wait::None {
		return Ok(());
	}
	let timeout = Some(Duration::from_secs(timeout));
	follow(&chain, included.block, timeout, |_, e| {
		// JobSubmitted was printed above.
		if event_job(e) != Some(job) || matches!(e, pallet_inference::Event::JobSubmitted { .. }) {
			return Ok(None);
		}
		eprintln!("{}", format::inference_event(e));
		use pallet_inference::Event::*;
		match e {
			ResultSubmitted { .. } if wait == Wait::Result => Ok(Some(())),
			JobSettled { .. } => Ok(Some(())),
			JobFailed { reason, refund, .. } => bail!(
				"job {job} failed: {}; {} refunded",
				format::fail_reason(reason),
				format::vrt(*refund)
			),
			_ => Ok(None),
		}
	})
	.await?;
	print_output(job, fetch(&chain, job).await?.1, format)
}

/// Runs `verity job ...`.
pub async fn run(ctx: &Context, cmd: JobCmd) -> anyhow::Result<()> {
	match cmd {
		JobCmd::Submit { model, input, max_fee, mode, wait, timeout, output } => {
			submit(ctx, &model, &input, max_fee, mode, wait, timeout, output).await
		}
		JobCmd::Show { job, output: format } => {
			let chain = ctx.chain().await?;
			let (j, output) = fetch(&chain, job).await?;
			println!("job:        {job}");
			println!("status:     {}", format::job_state(&j.status, j.deadline));
			println!("model:      {}", format::hash(&j.model));
			println!("requester:  {}", format::account(&j.requester));
			println!("executor:   {}", format::account(&j.executor));
			println!(
				"fees:       {} (publisher {}, executor {}, protocol {})",
				format::vrt(j.fees.total()),
				format::vrt(j.fees.price),
				format::vrt(j.fees.executor),
				format::vrt(j.fees.protocol)
			);
			println!("mode:       {:?}", j.mode);
			println!("audit:      {}", format::audit_state(&j.audit));
			println!("submitted:  block {}", j.submitted_at);
			if let Some(h) = j.output_hash {
				println!("output:     {} (blake2-256)", format::hash(&h));
			}
			if output.is_some() {
				print_output(job, output, format)?;
			}
			Ok(())
		}
		JobCmd::Wait { job, timeout, output: format } => {
			let chain = ctx.chain().await?;
			let (j, _) = fetch(&chain, job).await?;
			// Replays the job's story from its submission, then follows it.
			let from = u64::from(j.submitted_at);
			// Slashes and rewards name no job: they belong to this job's
			// dispute when they come between its resolution and its end.
			let mut resolving = false;
			let settled = follow(&chain, from, Some(Duration::from_secs(timeout)), |_, e| {
				use pallet_inference::Event::{DisputeResolved, Rewarded, Slashed};
				if matches!(e, Slashed { .. } | Rewarded { .. }) {
					if resolving {
						eprintln!("{}", format::inference_event(e));
					}
					return Ok(None);
				}
				if event_job(e) != Some(job) {
					if matches!(e, DisputeResolved { .. }) {
						resolving = false;
					}
					return Ok(None);
				}
				resolving = matches!(e, DisputeResolved { .. });
				eprintln!("{}", format::inference_event(e));
				Ok(match e {
					pallet_inference::Event::JobSettled { .. } => Some(true),
					pallet_inference::Event::JobFailed { .. } => Some(false),
					_ => None,
				})
			})
			.await?;
			if settled {
				print_output(job, fetch(&chain, job).await?.1, format)?;
			}
			Ok(())
		}
		JobCmd::Watch { job, from } => {
			let chain = ctx.chain().await?;
			let from = match from {
				Some(b) => b,
				None => chain.finalized().await? + 1,
			};
			eprintln!("watching inference events from block {from} (Ctrl-C stops)");
			follow::<()>(&chain, from, None, |block, e| {
				if job.is_none() || event_job(e) == job {
					println!("#{block} {}", format::inference_event(e));
				}
				Ok(None)
			})
			.await
		}
	}
}
