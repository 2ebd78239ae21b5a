//! Executors, verifiers, challengers: `verity executor|verifier|challenge|dispute|balance`.

use anyhow::{anyhow, bail};
use clap::Subcommand;
use pallet_inference::{Dispute, JobStatus};
use subxt::ext::scale_value::Value;
use verity_runtime::{AccountId, Balance, Runtime, RuntimeCall};

use super::{job, model, Context};
use crate::{
	amount::Amount,
	chain::{account_of, parse_account},
	format,
};

/// `verity executor`.
#[derive(Subcommand, Debug)]
pub enum ExecutorCmd {
	/// Becomes an executor with a held stake.
	Register {
		/// Stake to hold, in VRT (at least the chain's `MinExecutorStake`).
		#[arg(long)]
		stake: Amount,
		/// Serve only these models (`0x…` or `family@1.0`; repeatable).
		/// Default: every model.
		#[arg(long = "model")]
		models: Vec<String>,
	},
	/// Adds to the stake.
	TopUp {
		/// Extra stake, in VRT.
		#[arg(long)]
		amount: Amount,
	},
	/// Sets how many jobs the executor runs at once (default: the chain's
	/// `MaxOpenJobs`); assignment gives it no more.
	SetCapacity {
		/// Jobs at once.
		capacity: u32,
	},
	/// Takes jobs again after a suspension for missed deadlines (the node's
	/// offchain worker does this by itself when it runs).
	Resume,
	/// Stops taking jobs; the stake is released after the unbonding period.
	Unbond,
	/// Takes the stake back after unbonding.
	Withdraw,
}

/// `verity verifier`.
#[derive(Subcommand, Debug)]
pub enum VerifierCmd {
	/// Becomes a verifier with a held stake.
	Register {
		/// Stake to hold, in VRT (at least the chain's `MinVerifierStake`).
		#[arg(long)]
		stake: Amount,
	},
	/// Stops joining committees; the stake is released after unbonding.
	Unbond,
	/// Takes the stake back after unbonding.
	Withdraw,
	/// Is drawn into committees again after a suspension (missed duties).
	Resume,
}

/// `verity dispute`.
#[derive(Subcommand, Debug)]
pub enum DisputeCmd {
	/// Shows a job's dispute: challenger, bond, committee and votes.
	Show {
		/// The job id.
		job: u64,
	},
	/// Ends a stalled dispute (no quorum after the last round) without a
	/// verdict: the requester is refunded, the bond returned. Anyone may.
	End {
		/// The job id.
		job: u64,
	},
}

/// Runs `verity executor ...`.
pub async fn executor(ctx: &Context, cmd: ExecutorCmd) -> anyhow::Result<()> {
	use pallet_inference::Call;
	let signer = ctx.signer()?;
	let chain = ctx.chain().await?;
	let (call, done) = match cmd {
		ExecutorCmd::Register { stake, models } => {
			let models = if models.is_empty() {
				None
			} else {
				let mut ids = Vec::new();
				for m in &models {
					ids.push(model::resolve(&chain, m).await?);
				}
				Some(ids.try_into().map_err(|_| anyhow!("too many models for one executor"))?)
			};
			(
				Call::register_executor { stake: stake.0, models },
				format!("registered as an executor with {stake} staked"),
			)
		}
		ExecutorCmd::TopUp { amount } => (
			Call::top_up_executor { extra: amount.0 },
			format!("executor stake increased by {amount}"),
		),
		ExecutorCmd::SetCapacity { capacity } => (
			Call::set_capacity { capacity },
			format!("executor capacity set to {capacity} jobs at once"),
		),
		ExecutorCmd::Resume => (Call::resume_executor {}, "executor resumed".into()),
		ExecutorCmd::Unbond => (Call::unbond_executor {}, "unbonding as an executor".into()),
		ExecutorCmd::Withdraw => (Call::withdraw_executor {}, "executor stake withdrawn".into()),
	};
	chain.submit(&signer, RuntimeCall::Inference(call)).await?;
	eprintln!("{} ({})", done, format::account(&account_of(&signer)));
	Ok(())
}

/// Runs `verity verifier ...`.
pub async fn verifier(ctx: &Context, cmd: VerifierCmd) -> anyhow::Result<()> {
	use pallet_inference::Call;
	let signer = ctx.signer()?;
	let chain = ctx.chain().await?;
	let (call, done) = match cmd {
		VerifierCmd::Register { stake } => (
			Call::register_verifier { stake: stake.0 },
			format!("registered as a verifier with {stake} staked"),
		),
		VerifierCmd::Unbond => (Call::unbond_verifier {}, "unbonding as a verifier".into()),
		VerifierCmd::Withdraw => (Call::withdraw_verifier {}, "verifier stake withdrawn".into()),
		VerifierCmd::Resume => (Call::resume_verifier {}, "verifier resumed".into()),
	};
	chain.submit(&signer, RuntimeCall::Inference(call)).await?;
	eprintln!("{} ({})", done, format::account(&account_of(&signer)));
	Ok(())
}

/// Runs `verity audit-rate`: governance sets the audit rate through sudo.
pub async fn audit_rate(ctx: &Context, percent: u32, model: Option<String>) -> anyhow::Result<()> {
	if percent > 100 {
		bail!("the audit rate is a percentage: 0 to 100, not {percent}");
	}
	let signer = ctx.signer()?;
	let chain = ctx.chain().await?;
	let model = match &model {
		Some(m) => Some(super::model::resolve(&chain, m).await?),
		None => None,
	};
	let rate = Some(sp_runtime::Perbill::from_percent(percent));
	let inner = RuntimeCall::Inference(pallet_inference::Call::set_audit_rate { model, rate });
	let call = RuntimeCall::Sudo(pallet_sudo::Call::sudo { call: Box::new(inner) });
	chain.submit(&signer, call).await?;
	match model {
		Some(m) => eprintln!("audit rate of model {} set to {percent} %", format::hash(&m)),
		None => eprintln!("audit rate set to {percent} %"),
	}
	Ok(())
}

/// Runs `verity challenge`.
pub async fn challenge(ctx: &Context, job: u64, bond: Option<Amount>) -> anyhow::Result<()> {
	let signer = ctx.signer()?;
	let chain = ctx.chain().await?;
	let (j, _) = job::fetch(&chain, job).await?;
	if j.status != JobStatus::Submitted {
		bail!("job {job} cannot be challenged: it is {}", format::job_status(&j.status));
	}
	let bond = match bond {
		Some(b) => b.0,
		None => chain.constant("Inference", "ChallengeBond")?,
	};
	let call = pallet_inference::Call::challenge { job, bond };
	let included = chain.submit(&signer, RuntimeCall::Inference(call)).await?;
	for e in &included.events {
		if let verity_runtime::RuntimeEvent::Inference(e) = e {
			println!("{}", format::inference_event(e));
		}
	}
	Ok(())
}

type DisputeInfo =
	Dispute<AccountId, Balance, <Runtime as pallet_inference::Config>::CommitteeSize>;

/// Runs `verity dispute ...`.
pub async fn dispute(ctx: &Context, cmd: DisputeCmd) -> anyhow::Result<()> {
	let job = match cmd {
		DisputeCmd::Show { job } => job,
		DisputeCmd::End { job } => {
			let signer = ctx.signer()?;
			let chain = ctx.chain().await?;
			let call = pallet_inference::Call::end_dispute { job };
			let included = chain.submit(&signer, RuntimeCall::Inference(call)).await?;
			for e in &included.events {
				if let verity_runtime::RuntimeEvent::Inference(e) = e {
					println!("{}", format::inference_event(e));
				}
			}
			return Ok(());
		}
	};
	let chain = ctx.chain().await?;
	let (j, _) = job::fetch(&chain, job).await?;
	let d: Option<DisputeInfo> =
		chain.storage("Inference", "Disputes", Value::u128(job as u128)).await?;
	let Some(d) = d else {
		bail!("job {job} has no open dispute (it is {})", format::job_status(&j.status));
	};
	println!("job:        {job} ({})", format::job_status(&j.status));
	match &d.challenger {
		Some(c) => println!("challenger: {} (bond {})", format::account(c), format::vrt(d.bond)),
		None => println!("challenger: the executor reported the model unrunnable"),
	}
	println!("executor:   {}", format::account(&j.executor));
	if d.stalled {
		println!(
			"stalled:    no quorum after its last round; anyone may end it (`verity dispute end {job}`)"
		);
	} else if d.round == 0 {
		println!("committee:  drawn at block {}", j.deadline);
	} else if d.reveals_open() {
		println!(
			"round:      {} (every member committed; reveals due by block {})",
			d.round, j.deadline
		);
	} else {
		println!("round:      {} (commitments due by block {})", d.round, j.deadline);
	}
	for member in &d.committee {
		let vote = d.votes.iter().find(|(v, _)| v == member).map(|(_, v)| format::vote_word(v));
		let committed = d.committed(member);
		let state = match (vote, committed) {
			(Some(v), _) => v,
			(None, true) => "committed, not revealed yet",
			(None, false) => "has not committed",
		};
		println!("verifier:   {} {}", format::account(member), state);
	}
	Ok(())
}

/// Runs `verity balance`.
pub async fn balance(ctx: &Context, account: Option<String>) -> anyhow::Result<()> {
	let who = match (&account, &ctx.suri) {
		(Some(a), _) => parse_account(a)?,
		(None, Some(s)) => parse_account(s)?,
		(None, None) => bail!("whose balance? pass an account or --suri"),
	};
	let chain = ctx.chain().await?;
	let info: Option<frame_system::AccountInfo<u32, pallet_balances::AccountData<Balance>>> = chain
		.storage("System", "Account", Value::from_bytes(<AccountId as AsRef<[u8]>>::as_ref(&who)))
		.await?;
	let data = info.map(|i| i.data).unwrap_or_default();
	println!(
		"{}: free {}, held {}",
		format::account(&who),
		format::vrt(data.free),
		format::vrt(data.reserved)
	);
	Ok(())
}

/// Runs `verity insert-key`.
pub async fn insert_key(ctx: &Context) -> anyhow::Result<()> {
	let signer = ctx.signer()?;
	let suri = ctx.suri.clone().unwrap_or_default();
	let public = format!("0x{}", hex::encode(signer.public_key().0));
	let rpc = subxt::rpcs::RpcClient::from_insecure_url(&ctx.url)
		.await
		.map_err(|e| anyhow!("cannot reach a Verity node at {}: {e}", ctx.url))?;
	let _: serde_json::Value = rpc
		.request(
			"author_insertKey",
			subxt::rpcs::rpc_params![
				pallet_inference::KEY_TYPE.0.iter().map(|b| *b as char).collect::<String>(),
				suri,
				public
			],
		)
		.await
		.map_err(|e| {
			anyhow!("the node refused the key (are its unsafe RPC methods enabled?): {e}")
		})?;
	eprintln!(
		"the node at {} now executes and verifies as {}",
		ctx.url,
		format::account(&account_of(&signer))
	);
	Ok(())
}
