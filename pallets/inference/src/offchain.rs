//! The offchain worker: the executor and verifier sides of the market.
//!
//! On every block, for each `vrty` key in the node's keystore:
//! * as an executor, it runs the jobs assigned to that account that still wait
//!   for a result, and posts [`Call::submit_result`];
//! * as a verifier, it re-executes the disputed jobs awaiting that account's
//!   vote and posts [`Call::submit_verdict`] with its [`Finding`].
//!
//! When the engine fails, [`EngineError::blame`] says who answers for it, the
//! same way on every node: the model ([`Call::report_fault`] with
//! [`Fault::Model`], or the finding [`Finding::ModelFault`]), the job's
//! input (`Fault::Input`, `Finding::InputTooLarge`), or this node. A
//! node-local failure (timeout, crashed worker) is retried up to
//! [`MAX_ATTEMPTS`] times; then an executor declines the job
//! ([`Call::decline_job`]) so that another executor gets it, and a verifier
//! gives up (its missing vote is its own node's fault).
//!
//! Models run in the node's engine through the `verity_inference` host
//! functions; a model is loaded once (from the registry's on-chain bytes) and
//! then referred to by its id.
//!
//! A claim in the node's persistent offchain storage, taken atomically before
//! running, keeps two workers (overlapping blocks, or a restarted node) from
//! posting the same answer twice; a claim whose transaction did not land is
//! retried after [`RETRY_AFTER`] blocks.

use super::*;
use frame_system::offchain::{Account, SendSignedTransaction, Signer};
use sp_runtime::offchain::storage::{MutateStorageError, StorageValueRef};
use verity_offchain_worker::{
	host::{verity_inference, PURPOSE_EXECUTE, PURPOSE_VERIFY},
	Blame, EngineError,
};

/// Blocks after which a claimed job whose answer did not land is tried again.
pub const RETRY_AFTER: u32 = 10;

/// Runs of one job that may fail for node-local reasons before the worker
/// stops retrying (an executor then declines the job).
pub const MAX_ATTEMPTS: u32 = 3;

/// The key type of the accounts an inference node signs with.
pub const KEY_TYPE: sp_core::crypto::KeyTypeId = sp_core::crypto::KeyTypeId(*b"vrty");

/// The crypto of executor and verifier keys: sr25519 under [`KEY_TYPE`].
pub mod crypto {
	use super::KEY_TYPE;
	use sp_runtime::{
		app_crypto::{app_crypto, sr25519},
		MultiSignature, MultiSigner,
	};
	app_crypto!(sr25519, KEY_TYPE);

	/// Signs the offchain worker's transactions with a `vrty` key.
	pub struct InferenceAuthId;

	impl frame_system::offchain::AppCrypto<MultiSigner, MultiSignature> for InferenceAuthId {
		type RuntimeAppPublic = Public;
		type GenericSignature = sp_core::sr25519::Signature;
		type GenericPublic = sp_core::sr25519::Public;
	}
}

enum Role {
	Execute,
	Verify,
}

impl<T: Config> Pallet<T> {
	/// The offchain worker's entry point.
	pub(crate) fn run_offchain_worker(now: BlockNumberFor<T>) {
		let accounts: Vec<Account<T>> = Signer::<T, T::AuthorityId>::keystore_accounts().collect();
		for account in &accounts {
			for job in Assignments::<T>::get(&account.id) {
				if Jobs::<T>::get(job).is_some_and(|j| j.status == JobStatus::Assigned) {
					Self::work(job, account, Role::Execute, now);
				}
			}
			for job in Duties::<T>::get(&account.id) {
				Self::work(job, account, Role::Verify, now);
			}
		}
	}

	/// Claims `(job, role, account)` in persistent offchain storage, unless a
	/// claim younger than [`RETRY_AFTER`] blocks exists.
	fn claim(key: &[u8], now: BlockNumberFor<T>) -> bool {
		let claim = StorageValueRef::persistent(key);
		let result = claim.mutate(|prev: Result<Option<BlockNumberFor<T>>, _>| match prev {
			Ok(Some(at)) if now < at.saturating_add(RETRY_AFTER.into()) => Err(()),
			_ => Ok(now),
		});
		match result {
			Ok(_) => true,
			Err(MutateStorageError::ValueFunctionFailed(())) => false,
			Err(MutateStorageError::ConcurrentModification(_)) => false,
		}
	}

	fn work(job: JobId, account: &Account<T>, role: Role, now: BlockNumberFor<T>) {
		let tag: &[u8] = match role {
			Role::Execute => b"exec",
			Role::Verify => b"verify",
		};
		let key = (b"verity/ocw/", tag, job, &account.id).encode();
		if !Self::claim(&key, now) {
			return;
		}
		let Some(j) = Jobs::<T>::get(job) else { return };
		let Some(input) = Inputs::<T>::get(job) else { return };
		log::debug!(target: LOG_TARGET, "job {job}: {} started", core::str::from_utf8(tag).unwrap_or("?"));
		let purpose = match role {
			Role::Execute => PURPOSE_EXECUTE,
			Role::Verify => PURPOSE_VERIFY,
		};
		let call = match (Self::infer(&j.model, &input, purpose), role) {
			(Ok(output), Role::Execute) => Call::submit_result { job, output },
			(Ok(output), Role::Verify) => {
				Call::submit_verdict { job, finding: Finding::Output(output) }
			}
			(Err((e, batch)), role) => match (e.blame(batch), role) {
				(Blame::Model, Role::Execute) => Call::report_fault { job, fault: Fault::Model },
				(Blame::Input, Role::Execute) => Call::report_fault { job, fault: Fault::Input },
				(Blame::Model, Role::Verify) => {
					Call::submit_verdict { job, finding: Finding::ModelFault }
				}
				(Blame::Input, Role::Verify) => {
					Call::submit_verdict { job, finding: Finding::InputTooLarge }
				}
				(Blame::Node, role) => {
					let attempts = Self::count_attempt(&key);
					if attempts < MAX_ATTEMPTS {
						log::warn!(target: LOG_TARGET, "job {job}: engine error {e:?} on this node; will retry ({attempts}/{MAX_ATTEMPTS})");
						StorageValueRef::persistent(&key).clear();
						return;
					}
					match role {
						Role::Execute => {
							log::warn!(target: LOG_TARGET, "job {job}: engine error {e:?} on this node {attempts} times; declining it");
							Call::decline_job { job }
						}
						Role::Verify => {
							log::error!(target: LOG_TARGET, "job {job}: engine error {e:?} on this node {attempts} times; not voting");
							return;
						}
					}
				}
			},
		};
		let sent = Signer::<T, T::AuthorityId>::all_accounts()
			.with_filter(vec![account.public.clone()])
			.send_single_signed_transaction(account, call);
		match sent {
			Some(Ok(())) => log::info!(target: LOG_TARGET, "job {job}: answer submitted"),
			_ => {
				log::warn!(target: LOG_TARGET, "job {job}: could not submit; will retry");
				StorageValueRef::persistent(&key).clear();
			}
		}
	}

	/// Counts one more node-local failure of the work under `key` and
	/// returns the count.
	fn count_attempt(key: &[u8]) -> u32 {
		let counter_key = (key, b"/attempts").encode();
		let counter = StorageValueRef::persistent(&counter_key);
		let n = counter.get::<u32>().ok().flatten().unwrap_or(0).saturating_add(1);
		counter.set(&n);
		n
	}

	/// Runs `model` on `input` in the node's engine, loading it first if
	/// needed (and again if the engine evicted it meanwhile). The output is
	/// capped at `MaxOutputSize` inside the engine's worker. An output that
	/// is not what the model declares counts as the model's fault (it runs,
	/// but not as published). Errors come with the job's batch size, which
	/// [`EngineError::blame`] needs.
	fn infer(
		model: &ModelId,
		input: &[u8],
		purpose: u32,
	) -> Result<OutputOf<T>, (EngineError, u32)> {
		let info = T::Models::model(model).ok_or((EngineError::NotLoaded, 1))?;
		let batch = decode_tensors(input)
			.ok()
			.and_then(|t| check_tensors(&t, &info.inputs).ok())
			.unwrap_or(1);
		let load = || -> Result<(), EngineError> {
			let bytes = T::Models::model_bytes(model).ok_or(EngineError::NotLoaded)?;
			verity_inference::load(model.0, &bytes)
		};
		let run = || verity_inference::run(model.0, input, purpose, T::MaxOutputSize::get());
		if !verity_inference::is_loaded(model.0) {
			load().map_err(|e| (e, batch))?;
		}
		let output = match run() {
			Err(EngineError::NotLoaded) => {
				load().map_err(|e| (e, batch))?;
				run()
			}
			other => other,
		}
		.map_err(|e| (e, batch))?;
		let declared =
			decode_tensors(&output).ok().is_some_and(|t| check_tensors(&t, &info.outputs).is_ok());
		match OutputOf::<T>::try_from(output) {
			Ok(output) if declared => Ok(output),
			Ok(_) => {
				log::warn!(target: LOG_TARGET, "model {model:?}: output does not match its declaration");
				Err((EngineError::RunFailed, batch))
			}
			Err(_) => Err((EngineError::OutputTooLarge, batch)),
		}
	}
}
