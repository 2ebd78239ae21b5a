//! The offchain worker: the executor and verifier sides of the market.
//!
//! On every block, for each `vrty` key in the node's keystore:
//! * as an executor, it runs the jobs assigned to that account that still wait
//!   for a result. A `Vanilla` result is posted at once
//!   ([`Call::submit_result`]); for an optimistic job it keeps the output and a
//!   fresh salt in the node's persistent offchain storage, commits to their
//!   hash ([`Call::commit_result`]) and reveals them once the audit is drawn
//!   and a drawn auditor has committed ([`Call::reveal_result`]);
//! * as a verifier, it re-executes the disputed jobs awaiting that account's
//!   vote, commits to its [`Finding`] ([`Call::commit_verdict`]) and reveals
//!   it once every member has committed ([`Call::submit_verdict`]).
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
//! An executor suspended for missing deadlines resumes as soon as its node
//! runs again ([`Call::resume_executor`]), the heartbeat that shows it alive.
//!
//! As an auditor ([`crate::audits`]), it re-executes each job it was drawn
//! to audit while the executor's output is still hidden, commits to its
//! finding ([`Call::commit_audit`]) and reveals it once the output is public
//! ([`Call::reveal_audit`]); the pallet compares the two. With `--watch all`
//! on the node, its first active verifier key also re-executes every other
//! optimistic result once and challenges the wrong ones.
//!
//! As an admission committee member, it checks each model awaiting its vote
//! ([`Pallet::check_model`]) and posts [`Call::submit_admission_vote`].
//!
//! Models run in the node's engine through the `verity_inference` host
//! functions; a model is loaded once (from the registry's on-chain bytes) and
//! then referred to by its id.
//!
//! A claim in the node's persistent offchain storage, taken atomically before
//! running, keeps two workers (overlapping blocks, or a restarted node) from
//! posting the same answer twice; a claim whose transaction did not land is
//! retried after [`RETRY_AFTER`] blocks. A node killed while it runs a job
//! (or after its answer left the pool but before a block included it) thus
//! answers again [`RETRY_AFTER`] blocks later, well inside the job's and the
//! dispute's windows; the account's nonce lets at most one of the two
//! answers in.
//!
//! Everything the worker keeps for a job or a model (claims, attempt
//! counters, the outputs and findings it committed to) is listed in a
//! ledger ([`LEDGER_KEY`]) and cleared once the job is settled or failed (or
//! the model's admission decided and the duty gone), so that the node's
//! offchain storage does not grow with every job it ever served.

use super::*;
use frame_system::offchain::{Account, SendSignedTransaction, Signer};
use sp_runtime::offchain::storage::{MutateStorageError, StorageValueRef};
use verity_engine_interface::{
	host::{verity_inference, PURPOSE_EXECUTE, PURPOSE_VERIFY},
	Blame, EngineError,
};

/// Blocks after which a claimed job whose answer did not land is tried
/// again, at most: [`Pallet::retry_after`] shortens it to a third of the
/// shorter of the result and dispute windows, so that a node restarted after
/// a crash still answers in time.
pub const RETRY_AFTER: u32 = 10;

/// Runs of one job that may fail for node-local reasons before the worker
/// stops retrying (an executor then declines the job).
pub const MAX_ATTEMPTS: u32 = 3;

/// Where the worker lists the work it keeps offchain state for ([`Work`]).
pub const LEDGER_KEY: &[u8] = b"verity/ocw/ledger";

/// Most entries the ledger holds: far more than a node's open work (every
/// open job once per role), so that a full ledger means a bug, logged.
pub const MAX_LEDGER: usize = 8192;

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

/// A piece of work the offchain worker keeps state for, and for which of
/// this node's accounts.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub enum Work<AccountId> {
	/// A job, in any role (executor, auditor, committee member, watcher).
	Job(JobId, AccountId),
	/// A model's admission check.
	Model(ModelId, AccountId),
}

/// The offchain storage keys of one job and account, one per use. The
/// prefix is followed by the SCALE encoding of `(job, account)`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum JobKey {
	/// The executor's claim of its run.
	Exec,
	/// The executor's claim of its reveal.
	RevealResult,
	/// The output and salt an executor committed to.
	Result,
	/// A committee member's claim of its re-execution.
	Verify,
	/// A committee member's claim of its reveal.
	Reveal,
	/// The finding and salt a committee member committed to.
	Finding,
	/// An auditor's claim of its re-execution.
	Audit,
	/// An auditor's claim of its reveal.
	AuditReveal,
	/// The finding and salt an auditor committed to.
	AuditFinding,
	/// A watcher's claim of its check.
	Watch,
	/// A watcher's note that it checked (and challenged if wrong).
	WatchDone,
}

impl JobKey {
	const ALL: [JobKey; 11] = [
		JobKey::Exec,
		JobKey::RevealResult,
		JobKey::Result,
		JobKey::Verify,
		JobKey::Reveal,
		JobKey::Finding,
		JobKey::Audit,
		JobKey::AuditReveal,
		JobKey::AuditFinding,
		JobKey::Watch,
		JobKey::WatchDone,
	];

	fn prefix(self) -> &'static [u8] {
		match self {
			JobKey::Exec => b"verity/ocw/exec",
			JobKey::RevealResult => b"verity/ocw/reveal-result",
			JobKey::Result => b"verity/ocw/result",
			JobKey::Verify => b"verity/ocw/verify",
			JobKey::Reveal => b"verity/ocw/reveal",
			JobKey::Finding => b"verity/ocw/finding",
			JobKey::Audit => b"verity/ocw/audit",
			JobKey::AuditReveal => b"verity/ocw/audit-reveal",
			JobKey::AuditFinding => b"verity/ocw/audit-finding",
			JobKey::Watch => b"verity/ocw/watch",
			JobKey::WatchDone => b"verity/ocw/watch/done",
		}
	}

	/// The key for `job` and `who`.
	fn of<A: Encode>(self, job: JobId, who: &A) -> Vec<u8> {
		let mut key = self.prefix().to_vec();
		(job, who).encode_to(&mut key);
		key
	}
}

/// The key of a model's admission claim for `who`.
fn admission_key<A: Encode>(model: ModelId, who: &A) -> Vec<u8> {
	let mut key = b"verity/ocw/admit".to_vec();
	(model, who).encode_to(&mut key);
	key
}

/// The key of the attempt counter of the work claimed under `key`.
fn attempts_key(key: &[u8]) -> Vec<u8> {
	(key, b"/attempts").encode()
}

impl<AccountId: Encode> Work<AccountId> {
	/// Every offchain storage key this work may have written.
	pub fn keys(&self) -> Vec<Vec<u8>> {
		let claims: Vec<Vec<u8>> = match self {
			Work::Job(job, who) => JobKey::ALL.iter().map(|k| k.of(*job, who)).collect(),
			Work::Model(model, who) => vec![admission_key(*model, who)],
		};
		claims.iter().map(|k| attempts_key(k)).chain(claims.iter().cloned()).collect()
	}
}

impl<T: Config> Pallet<T> {
	/// The offchain worker's entry point.
	pub(crate) fn run_offchain_worker(now: BlockNumberFor<T>) {
		let accounts: Vec<Account<T>> = Signer::<T, T::AuthorityId>::keystore_accounts().collect();
		Self::sweep();
		for account in &accounts {
			Self::heartbeat(account, now);
			for job in Assignments::<T>::get(&account.id) {
				match Jobs::<T>::get(job) {
					Some(j) if j.status == JobStatus::Assigned => {
						Self::execute_work(job, &j, account, now)
					}
					Some(j) if Self::reveal_open(&j) => Self::reveal_work(job, account, now),
					_ => {}
				}
			}
			for job in Duties::<T>::get(&account.id) {
				Self::verify_work(job, account, now);
			}
			for model in AdmissionDuties::<T>::get(&account.id) {
				Self::admission_work(model, account, now);
			}
			for job in AuditDuties::<T>::get(&account.id) {
				Self::audit_work(job, account, now);
			}
		}
		if Self::watching() {
			Self::watch(&accounts, now);
		}
	}

	/// Blocks after which a claim whose answer did not land is taken again:
	/// [`RETRY_AFTER`], or a third of the shorter of `ResultTimeout` and
	/// `DisputePeriod` if that is less (at least one block). A node killed
	/// while it held a claim, or whose transaction was lost with its pool,
	/// thus has two thirds of the window left when it answers again.
	pub fn retry_after() -> BlockNumberFor<T> {
		let window = T::ResultTimeout::get().min(T::DisputePeriod::get());
		(window / 3u32.into()).min(RETRY_AFTER.into()).max(1u32.into())
	}

	/// Claims the part of `work` stored under `key` ([`Self::claim`]) and,
	/// when it took the claim, lists `work` in the ledger.
	fn claim_for(work: Work<T::AccountId>, key: &[u8], now: BlockNumberFor<T>) -> bool {
		if !Self::claim(key, now) {
			return false;
		}
		Self::note(work);
		true
	}

	/// Claims `key` in persistent offchain storage, unless a claim younger
	/// than [`Self::retry_after`] blocks exists.
	fn claim(key: &[u8], now: BlockNumberFor<T>) -> bool {
		let claim = StorageValueRef::persistent(key);
		let result = claim.mutate(|prev: Result<Option<BlockNumberFor<T>>, _>| match prev {
			Ok(Some(at)) if now < at.saturating_add(Self::retry_after()) => Err(()),
			_ => Ok(now),
		});
		match result {
			Ok(_) => true,
			Err(MutateStorageError::ValueFunctionFailed(())) => false,
			Err(MutateStorageError::ConcurrentModification(_)) => false,
		}
	}

	/// Applies `change` to the ledger ([`LEDGER_KEY`]), again when another
	/// worker (an overlapping block) wrote it meanwhile; `change` returns
	/// whether there is anything to write.
	fn change_ledger(change: impl Fn(&mut Vec<Work<T::AccountId>>) -> bool) {
		let ledger = StorageValueRef::persistent(LEDGER_KEY);
		for _ in 0..8 {
			let result = ledger.mutate(|prev: Result<Option<Vec<Work<T::AccountId>>>, _>| {
				let mut list = prev.ok().flatten().unwrap_or_default();
				if change(&mut list) {
					Ok(list)
				} else {
					Err(())
				}
			});
			match result {
				Ok(_) | Err(MutateStorageError::ValueFunctionFailed(())) => return,
				Err(MutateStorageError::ConcurrentModification(_)) => continue,
			}
		}
	}

	/// Lists `work` in the ledger, if it is not there yet.
	fn note(work: Work<T::AccountId>) {
		let full = core::cell::Cell::new(false);
		Self::change_ledger(|list| {
			if list.contains(&work) {
				return false;
			}
			if list.len() >= MAX_LEDGER {
				full.set(true);
				return false;
			}
			list.push(work.clone());
			true
		});
		if full.get() {
			log::error!(target: LOG_TARGET, "the offchain ledger is full; {work:?} is not listed and its state will not be cleared");
		}
	}

	/// Whether `work` is over for this node, so that what it kept can go:
	/// the job settled, failed or pruned; the model's admission decided and
	/// no duty of `who` left for it.
	fn finished(work: &Work<T::AccountId>) -> bool {
		match work {
			Work::Job(job, _) => Jobs::<T>::get(job)
				.is_none_or(|j| matches!(j.status, JobStatus::Settled | JobStatus::Failed(_))),
			Work::Model(model, who) => {
				!Admissions::<T>::contains_key(model)
					&& !AdmissionDuties::<T>::get(who).contains(model)
			}
		}
	}

	/// Clears every key of the finished work in the ledger and drops it from
	/// the ledger (also work of accounts no longer in the keystore).
	fn sweep() {
		let ledger = StorageValueRef::persistent(LEDGER_KEY);
		let Ok(Some(list)) = ledger.get::<Vec<Work<T::AccountId>>>() else { return };
		let done: Vec<Work<T::AccountId>> = list.into_iter().filter(Self::finished).collect();
		if done.is_empty() {
			return;
		}
		Self::change_ledger(|list| {
			list.retain(|w| !done.contains(w));
			true
		});
		for work in &done {
			for key in work.keys() {
				StorageValueRef::persistent(&key).clear();
			}
		}
		log::debug!(target: LOG_TARGET, "cleared the offchain state of {} finished works", done.len());
	}

	/// Runs an assigned job and posts its result (a `Vanilla` job) or
	/// commits to it (an optimistic one), or reports a fault, or (after
	/// node-local failures) declines it.
	fn execute_work(job: JobId, j: &JobOf<T>, account: &Account<T>, now: BlockNumberFor<T>) {
		let key = JobKey::Exec.of(job, &account.id);
		if !Self::claim_for(Work::Job(job, account.id.clone()), &key, now) {
			return;
		}
		let Some(input) = Inputs::<T>::get(job) else { return };
		log::info!(target: LOG_TARGET, "job {job}: running it as its executor");
		let started = sp_io::offchain::timestamp();
		let result = Self::infer(&j.model, &input, PURPOSE_EXECUTE);
		let ran = sp_io::offchain::timestamp();
		let call = match result {
			Ok(output) if j.mode == VerificationMode::Vanilla => {
				Call::submit_result { job, output }
			}
			Ok(output) => {
				let salt = Self::keep_secret(&Self::result_key(job, &account.id), &output);
				let commitment = Self::result_commitment(job, &account.id, &output, &salt);
				Call::commit_result { job, commitment }
			}
			Err((e, batch)) => match e.blame(batch) {
				Blame::Model => Call::report_fault { job, fault: Fault::Model },
				Blame::Input => Call::report_fault { job, fault: Fault::Input },
				Blame::Node => {
					let Some(attempts) = Self::node_failure(&key) else {
						log::warn!(target: LOG_TARGET, "job {job}: engine error {e:?} on this node; will retry");
						return;
					};
					log::warn!(target: LOG_TARGET, "job {job}: engine error {e:?} on this node {attempts} times; declining it");
					Call::decline_job { job }
				}
			},
		};
		if Self::send(account, call) {
			// The spans of the per-job overhead (docs/BENCHMARKS.md section 3):
			// the engine (with loading and the sandbox's round trip), then
			// signing and the transaction pool's validation.
			let sent = sp_io::offchain::timestamp();
			log::info!(
				target: LOG_TARGET,
				"job {job}: answer submitted (engine {} ms, signing and pool {} ms)",
				ran.diff(&started).millis(),
				sent.diff(&ran).millis()
			);
		} else {
			log::warn!(target: LOG_TARGET, "job {job}: could not submit; will retry");
			StorageValueRef::persistent(&key).clear();
		}
	}

	/// A committee member's duty, in two steps. While commitments are open
	/// and it has none, it re-executes the job, keeps its [`Finding`] and a
	/// fresh salt in the node's persistent offchain storage and posts only
	/// their hash ([`Call::commit_verdict`]). Once every seated member has
	/// committed, it reveals them ([`Call::submit_verdict`]).
	fn verify_work(job: JobId, account: &Account<T>, now: BlockNumberFor<T>) {
		let Some(dispute) = Disputes::<T>::get(job) else { return };
		let me = &account.id;
		let kept = JobKey::Finding.of(job, me);
		if dispute.committed(me) {
			if !dispute.reveals_open() || dispute.votes.iter().any(|(v, _)| v == me) {
				return;
			}
			let key = JobKey::Reveal.of(job, me);
			if !Self::claim_for(Work::Job(job, me.clone()), &key, now) {
				return;
			}
			let Some((finding, salt)) = Self::kept_secret::<FindingOf<T>>(&kept) else {
				log::error!(target: LOG_TARGET, "job {job}: committed, but this node lost its finding; cannot reveal");
				return;
			};
			if !Self::send(account, Call::submit_verdict { job, finding, salt }) {
				log::warn!(target: LOG_TARGET, "job {job}: could not reveal; will retry");
				StorageValueRef::persistent(&key).clear();
			}
			return;
		}
		if dispute.reveals_open() {
			return;
		}
		let key = JobKey::Verify.of(job, me);
		if !Self::claim_for(Work::Job(job, me.clone()), &key, now) {
			return;
		}
		log::info!(target: LOG_TARGET, "job {job}: re-executing it as a committee member");
		let Some(finding) = Self::find(job, &key) else { return };
		let salt = Self::keep_secret(&kept, &finding);
		let commitment = Self::verdict_commitment(job, me, &finding, &salt);
		if Self::send(account, Call::commit_verdict { job, commitment }) {
			log::info!(target: LOG_TARGET, "job {job}: verdict committed");
		} else {
			log::warn!(target: LOG_TARGET, "job {job}: could not commit; will retry");
			StorageValueRef::persistent(&key).clear();
		}
	}

	/// Whether the node runs with `--watch all`.
	fn watching() -> bool {
		StorageValueRef::persistent(verity_engine_interface::WATCH_ALL_KEY)
			.get::<bool>()
			.ok()
			.flatten()
			.unwrap_or(false)
	}

	/// `--watch all`: this node's first active verifier key re-executes
	/// every optimistic result in its challenge window that it is not
	/// already auditing and did not produce, and challenges the wrong ones.
	fn watch(accounts: &[Account<T>], now: BlockNumberFor<T>) {
		let Some(watcher) = accounts
			.iter()
			.find(|a| Verifiers::<T>::get(&a.id).is_some_and(|v| v.unbonding_until.is_none()))
		else {
			return;
		};
		for (job, j) in Jobs::<T>::iter() {
			let mine = j.executor == watcher.id || j.audit.pending_auditor() == Some(&watcher.id);
			if j.status == JobStatus::Submitted && j.mode == VerificationMode::Optimistic && !mine {
				Self::watch_result(job, &j, watcher, now);
			}
		}
	}

	/// A watcher checks `job`'s posted result once: it re-executes it and
	/// compares with the posted output under the model's policy. Anything
	/// else than agreement (another output, or the model failing where the
	/// executor produced one) is challenged with this verifier's own bond,
	/// and a committee decides.
	fn watch_result(job: JobId, j: &JobOf<T>, account: &Account<T>, now: BlockNumberFor<T>) {
		let key = JobKey::Watch.of(job, &account.id);
		let done = JobKey::WatchDone.of(job, &account.id);
		let done = StorageValueRef::persistent(&done);
		if done.get::<bool>().ok().flatten().is_some()
			|| !Self::claim_for(Work::Job(job, account.id.clone()), &key, now)
		{
			return;
		}
		let (Some(posted), Some(model)) = (Outputs::<T>::get(job), T::Models::model(&j.model))
		else {
			return;
		};
		let Some(finding) = Self::find(job, &key) else { return };
		let agrees = match (finding, decode_tensors(&posted)) {
			(Finding::Output(ours), Ok(theirs)) => {
				decode_tensors(&ours).is_ok_and(|ours| outputs_agree(&model.policy, &ours, &theirs))
			}
			_ => false,
		};
		if agrees {
			done.set(&true);
			return;
		}
		log::warn!(target: LOG_TARGET, "job {job}: re-executed, disagrees with the executor; challenging");
		if Self::send(account, Call::challenge { job, bond: T::ChallengeBond::get() }) {
			done.set(&true);
		} else {
			log::warn!(target: LOG_TARGET, "job {job}: could not challenge; will retry");
			StorageValueRef::persistent(&key).clear();
		}
	}

	/// An auditor's duty, in two steps. While the executor's output is
	/// hidden, it re-executes the job, keeps its [`Finding`] and a fresh salt
	/// and commits to their hash ([`Call::commit_audit`]). Once the output
	/// is public, it reveals them ([`Call::reveal_audit`]); the pallet
	/// compares, and a disagreement challenges the result with this
	/// auditor's bond.
	fn audit_work(job: JobId, account: &Account<T>, now: BlockNumberFor<T>) {
		let Some(j) = Jobs::<T>::get(job) else { return };
		let me = &account.id;
		let kept = JobKey::AuditFinding.of(job, me);
		let (key, call) = match (&j.audit, j.status) {
			(AuditState::Selected(a), JobStatus::Committed) if a == me => {
				let key = JobKey::Audit.of(job, me);
				if !Self::claim_for(Work::Job(job, me.clone()), &key, now) {
					return;
				}
				let Some(finding) = Self::find(job, &key) else { return };
				let salt = Self::keep_secret(&kept, &finding);
				let commitment = Self::verdict_commitment(job, me, &finding, &salt);
				log::info!(target: LOG_TARGET, "job {job}: audit committed");
				(key, Call::commit_audit { job, commitment })
			}
			(AuditState::Committed(a, _), JobStatus::Submitted) if a == me => {
				let key = JobKey::AuditReveal.of(job, me);
				if !Self::claim_for(Work::Job(job, me.clone()), &key, now) {
					return;
				}
				let Some((finding, salt)) = Self::kept_secret::<FindingOf<T>>(&kept) else {
					log::error!(target: LOG_TARGET, "job {job}: audit committed, but this node lost its finding; cannot reveal");
					return;
				};
				log::info!(target: LOG_TARGET, "job {job}: audit revealed");
				(key, Call::reveal_audit { job, finding, salt })
			}
			_ => return,
		};
		if !Self::send(account, call) {
			log::warn!(target: LOG_TARGET, "job {job}: could not submit the audit; will retry");
			StorageValueRef::persistent(&key).clear();
		}
	}

	/// The executor reveals the output it committed to.
	fn reveal_work(job: JobId, account: &Account<T>, now: BlockNumberFor<T>) {
		let key = JobKey::RevealResult.of(job, &account.id);
		if !Self::claim_for(Work::Job(job, account.id.clone()), &key, now) {
			return;
		}
		let Some((output, salt)) =
			Self::kept_secret::<OutputOf<T>>(&Self::result_key(job, &account.id))
		else {
			log::error!(target: LOG_TARGET, "job {job}: committed, but this node lost its output; cannot reveal");
			return;
		};
		if Self::send(account, Call::reveal_result { job, output, salt }) {
			log::info!(target: LOG_TARGET, "job {job}: result revealed");
		} else {
			log::warn!(target: LOG_TARGET, "job {job}: could not reveal; will retry");
			StorageValueRef::persistent(&key).clear();
		}
	}

	/// Where an executor keeps a committed output until it reveals it.
	fn result_key(job: JobId, who: &T::AccountId) -> Vec<u8> {
		JobKey::Result.of(job, who)
	}

	/// Keeps `value` with a fresh salt under `key` in the node's persistent
	/// offchain storage (it survives restarts) and returns the salt: what a
	/// commitment hides until its reveal.
	fn keep_secret<V: Encode>(key: &[u8], value: &V) -> [u8; 32] {
		let salt = sp_io::offchain::random_seed();
		StorageValueRef::persistent(key).set(&(value, salt));
		salt
	}

	/// A value and salt kept by [`Self::keep_secret`].
	fn kept_secret<V: Decode>(key: &[u8]) -> Option<(V, [u8; 32])> {
		StorageValueRef::persistent(key).get::<(V, [u8; 32])>().ok().flatten()
	}

	/// What this node finds when it re-executes `job` (claimed under `key`):
	/// its output, or whose fault the engine's failure is. `None` after a
	/// node-local failure (retried up to [`MAX_ATTEMPTS`] times).
	fn find(job: JobId, key: &[u8]) -> Option<FindingOf<T>> {
		let j = Jobs::<T>::get(job)?;
		let input = Inputs::<T>::get(job)?;
		match Self::infer(&j.model, &input, PURPOSE_VERIFY) {
			Ok(output) => Some(Finding::Output(output)),
			Err((e, batch)) => match e.blame(batch) {
				Blame::Model => Some(Finding::ModelFault),
				Blame::Input => Some(Finding::InputTooLarge),
				Blame::Node => {
					match Self::node_failure(key) {
						None => {
							log::warn!(target: LOG_TARGET, "job {job}: engine error {e:?} on this node; will retry")
						}
						Some(n) => {
							log::error!(target: LOG_TARGET, "job {job}: engine error {e:?} on this node {n} times; giving up")
						}
					}
					None
				}
			},
		}
	}

	/// A suspended executor whose node runs is alive: it resumes.
	fn heartbeat(account: &Account<T>, now: BlockNumberFor<T>) {
		let limit = T::MaxMissedDeadlines::get();
		if !Executors::<T>::get(&account.id).is_some_and(|e| e.is_suspended(limit)) {
			return;
		}
		let key = (b"verity/ocw/resume", &account.id).encode();
		if !Self::claim(&key, now) {
			return;
		}
		if Self::send(account, Call::resume_executor {}) {
			log::info!(target: LOG_TARGET, "executor suspended for missed deadlines; resuming");
		}
	}

	fn admission_work(model: ModelId, account: &Account<T>, now: BlockNumberFor<T>) {
		let key = admission_key(model, &account.id);
		if !Self::claim_for(Work::Model(model, account.id.clone()), &key, now) {
			return;
		}
		// Decided before this member voted (the others reached a quorum):
		// its late vote only clears its duty, free, whatever it says, so the
		// model need not run again.
		let decided = !Admissions::<T>::contains_key(model);
		let vote = match if decided { Ok(AdmissionVote::Admit) } else { Self::check_model(&model) }
		{
			Ok(vote) => vote,
			Err(e) => {
				match Self::node_failure(&key) {
					None => {
						log::warn!(target: LOG_TARGET, "model {model:?}: engine error {e:?} on this node; will retry the admission check")
					}
					Some(n) => {
						log::error!(target: LOG_TARGET, "model {model:?}: engine error {e:?} on this node {n} times; not voting")
					}
				}
				return;
			}
		};
		log::info!(target: LOG_TARGET, "model {model:?}: admission vote {vote:?}");
		if !Self::send(account, Call::submit_admission_vote { model, vote }) {
			log::warn!(target: LOG_TARGET, "model {model:?}: could not submit the admission vote; will retry");
			StorageValueRef::persistent(&key).clear();
		}
	}

	/// Checks model `model` for admission, in the node's engine: its graph
	/// declares exactly the registered inputs and outputs (names, element
	/// types, ranks, fixed versus batch dimensions), draws no unseeded random
	/// numbers, and each golden vector gives the same output twice, agreeing
	/// with the publisher's expected output under the model's policy. A
	/// model with a consensus graph must also be exactly what the engine
	/// compiles from its ONNX bytes, and give every golden vector, run
	/// here through the interpreter, an output that agrees with the
	/// engine's and the publisher's under the policy.
	/// `Err` is a node-local failure: no vote.
	pub fn check_model(model: &ModelId) -> Result<AdmissionVote, EngineError> {
		let reject = |fault| Ok(AdmissionVote::Reject(fault));
		let info = T::Models::model(model).ok_or(EngineError::NotLoaded)?;
		let bytes = T::Models::model_bytes(model).ok_or(EngineError::NotLoaded)?;
		let signature = match verity_inference::describe(&bytes) {
			Ok(encoded) => verity_engine_interface::Signature::decode(&mut &encoded[..])
				.map_err(|_| EngineError::Internal)?,
			Err(e) if e.blame(1) == Blame::Node => return Err(e),
			Err(_) => return reject(AdmissionFault::Unrunnable),
		};
		if !signature.unseeded_random_ops.is_empty() {
			return reject(AdmissionFault::UnseededRandom);
		}
		// Free dimensions' maxima are the publisher's to declare; the graph
		// says only that they are free.
		let same = |declared: &[verity_primitives::TensorSpec],
		            graph: &[verity_primitives::TensorSpec]| {
			declared.len() == graph.len()
				&& declared.iter().all(|d| graph.iter().any(|g| d.same_layout(g)))
		};
		if !same(&info.inputs, &signature.inputs) || !same(&info.outputs, &signature.outputs) {
			return reject(AdmissionFault::SpecMismatch);
		}
		let consensus = match T::Models::consensus_graph(model) {
			None => None,
			Some(uploaded) => match verity_inference::compile_consensus(&bytes) {
				Ok(compiled) if compiled == uploaded => {
					verity_interp::Graph::decode_checked(&uploaded).ok()
				}
				Err(e) if e.blame(1) == Blame::Node => return Err(e),
				_ => return reject(AdmissionFault::ConsensusMismatch),
			},
		};
		let peak = T::Models::consensus_info(model).map(|i| i.cost.peak_memory).unwrap_or(0);
		for (input, expected) in T::Models::golden_vectors(model) {
			let run = || match Self::infer(model, &input, PURPOSE_VERIFY) {
				Ok(output) => Ok(Ok(output)),
				Err((e, batch)) if e.blame(batch) == Blame::Node => Err(e),
				Err(_) => Ok(Err(())),
			};
			let (Ok(first), Ok(second)) = (run()?, run()?) else {
				return reject(AdmissionFault::Unrunnable);
			};
			if first != second {
				return reject(AdmissionFault::NotReproducible);
			}
			let agrees = match (decode_tensors(&first), decode_tensors(&expected)) {
				(Ok(ours), Ok(theirs)) => outputs_agree(&info.policy, &ours, &theirs),
				_ => false,
			};
			if !agrees {
				return reject(AdmissionFault::WrongGoldenOutput);
			}
			if let Some(graph) = &consensus {
				let limits = verity_interp::Limits { max_memory: peak };
				let interpreted = decode_tensors(&input)
					.ok()
					.and_then(|t| verity_interp::run(graph, &t, &limits).ok())
					.map(|(outputs, _)| outputs);
				let agrees = match (interpreted, decode_tensors(&first), decode_tensors(&expected))
				{
					(Some(ours), Ok(engine), Ok(theirs)) => {
						outputs_agree(&info.policy, &ours, &engine)
							&& outputs_agree(&info.policy, &ours, &theirs)
					}
					_ => false,
				};
				if !agrees {
					return reject(AdmissionFault::ConsensusMismatch);
				}
			}
		}
		Ok(AdmissionVote::Admit)
	}

	/// Counts one more node-local failure of the work claimed under `key`.
	/// Below [`MAX_ATTEMPTS`] the claim is released so that a later block
	/// tries again and `None` is returned; otherwise the count of attempts.
	fn node_failure(key: &[u8]) -> Option<u32> {
		let counter_key = attempts_key(key);
		let counter = StorageValueRef::persistent(&counter_key);
		let n = counter.get::<u32>().ok().flatten().unwrap_or(0).saturating_add(1);
		counter.set(&n);
		if n < MAX_ATTEMPTS {
			StorageValueRef::persistent(key).clear();
			None
		} else {
			Some(n)
		}
	}

	/// Sends `call` signed by `account`; whether the pool took it.
	fn send(account: &Account<T>, call: Call<T>) -> bool {
		let sent = Signer::<T, T::AuthorityId>::all_accounts()
			.with_filter(vec![account.public.clone()])
			.send_single_signed_transaction(account, call);
		matches!(sent, Some(Ok(())))
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
