//! The offchain worker against a fake engine, as `frame/examples/offchain-worker`
//! tests its worker: the node's extensions (offchain storage, transaction
//! pool, and the inference engine the host functions reach through
//! [`InferenceExt`]) are registered in the test externalities; the
//! transactions the worker sends are read back from the pool, checked, and
//! dispatched as the signed calls a block would include.

use super::*;
use sp_core::offchain::{
	testing::{TestOffchainExt, TestTransactionPoolExt},
	OffchainDbExt, OffchainWorkerExt, TransactionPoolExt,
};
use sp_externalities::ExternalitiesExt;
use sp_runtime::testing::UintAuthorityId;
use sp_runtime::traits::Dispatchable;
use std::sync::{Arc, Mutex};
use verity_engine_interface::{
	host::{InferenceEngine, InferenceExt, PURPOSE_EXECUTE, PURPOSE_VERIFY},
	EngineError, Signature,
};
use verity_primitives::{DType, Tensor};

/// What the fake engine was asked and answers.
#[derive(Default)]
struct State {
	loaded: Vec<[u8; 32]>,
	/// Every load: (model, bytes).
	loads: Vec<([u8; 32], Vec<u8>)>,
	/// Every run: (model, purpose, output cap).
	runs: Vec<([u8; 32], u32, u64)>,
	/// Models described (admission checks).
	described: usize,
	/// Answers to the next runs, in order, before `execute`/`verify`.
	next: Vec<Result<Vec<u8>, EngineError>>,
	/// The answer to an executor's run.
	execute: Option<Result<Vec<u8>, EngineError>>,
	/// The answer to a verifier's run.
	verify: Option<Result<Vec<u8>, EngineError>>,
	/// Models compiled for consensus mode.
	compiled: usize,
}

/// An engine that runs nothing: it answers what the test told it to and
/// records what it was asked.
#[derive(Default)]
struct FakeEngine(Mutex<State>);

impl FakeEngine {
	fn state(&self) -> std::sync::MutexGuard<'_, State> {
		self.0.lock().unwrap()
	}
}

impl InferenceEngine for FakeEngine {
	fn is_loaded(&self, id: &[u8; 32]) -> bool {
		self.state().loaded.contains(id)
	}

	fn load(&self, id: &[u8; 32], bytes: &[u8]) -> Result<(), EngineError> {
		let mut s = self.state();
		s.loads.push((*id, bytes.to_vec()));
		s.loaded.push(*id);
		Ok(())
	}

	fn describe(&self, _bytes: &[u8]) -> Result<Signature, EngineError> {
		self.state().described += 1;
		Err(EngineError::InvalidModel)
	}

	fn run(
		&self,
		id: &[u8; 32],
		_input: &[u8],
		purpose: u32,
		max_output: u64,
	) -> Result<Vec<u8>, EngineError> {
		let mut s = self.state();
		s.runs.push((*id, purpose, max_output));
		if !s.loaded.contains(id) {
			return Err(EngineError::NotLoaded);
		}
		if !s.next.is_empty() {
			return s.next.remove(0);
		}
		let answer = if purpose == PURPOSE_EXECUTE { &s.execute } else { &s.verify };
		answer.clone().unwrap_or(Err(EngineError::Internal))
	}

	fn compile_consensus(&self, _bytes: &[u8]) -> Result<Vec<u8>, EngineError> {
		self.state().compiled += 1;
		Err(EngineError::UnsupportedModel)
	}
}

/// A node around the test externalities: its engine, its offchain storage
/// and its transaction pool.
struct Node {
	engine: Arc<FakeEngine>,
	pool: Arc<parking_lot::RwLock<sp_core::offchain::testing::PoolState>>,
}

/// Registers a node's extensions in the running externalities, with `keys`
/// in its keystore and `engine` (if any) as its inference engine.
fn node(keys: &[AccountId], engine: Option<FakeEngine>) -> Node {
	let (offchain, _) = TestOffchainExt::new();
	let (pool, pool_state) = TestTransactionPoolExt::new();
	let engine = Arc::new(engine.unwrap_or_default());
	let registered = engine.clone();
	UintAuthorityId::set_all_keys(keys.iter().copied());
	sp_externalities::with_externalities(|mut ext| {
		ext.register_extension(OffchainWorkerExt::new(offchain.clone())).unwrap();
		ext.register_extension(OffchainDbExt::new(offchain)).unwrap();
		ext.register_extension(TransactionPoolExt::new(pool)).unwrap();
		if engine_wanted(&registered) {
			ext.register_extension(InferenceExt::new(registered)).unwrap();
		}
	})
	.expect("inside externalities");
	Node { engine, pool: pool_state }
}

/// Whether the node gets an engine (see [`no_engine`]).
fn engine_wanted(engine: &Arc<FakeEngine>) -> bool {
	engine.state().loaded != [[0xff; 32]]
}

/// An engine the node does not register.
fn no_engine() -> FakeEngine {
	let e = FakeEngine::default();
	e.state().loaded = vec![[0xff; 32]];
	e
}

/// An engine answering executors with `execute` and verifiers with `verify`.
fn engine(
	execute: Result<Vec<u8>, EngineError>,
	verify: Result<Vec<u8>, EngineError>,
) -> FakeEngine {
	let e = FakeEngine::default();
	e.state().execute = Some(execute);
	e.state().verify = Some(verify);
	e
}

/// The executor's node, whose engine answers its runs with `s`.
fn executor_node(s: [f32; 3]) -> Node {
	node(&[EXECUTOR], Some(engine(Ok(scores(s)), Err(EngineError::Internal))))
}

/// The verifiers' node, whose engine answers their re-executions with `s`.
fn committee_node(s: [f32; 3]) -> Node {
	node(&VERIFIERS, Some(engine(Err(EngineError::Internal), Ok(scores(s)))))
}

fn scores(s: [f32; 3]) -> Vec<u8> {
	output(s).into_inner()
}

impl Node {
	/// Takes the transactions sent since the last call: (signer, call).
	fn sent(&self) -> Vec<(AccountId, Call<Test>)> {
		let txs = std::mem::take(&mut self.pool.write().transactions);
		txs.into_iter()
			.map(|tx| {
				let xt = sp_runtime::testing::TestXt::<RuntimeCall, ()>::decode(&mut &tx[..])
					.expect("the worker sends decodable extrinsics");
				let sp_runtime::generic::Preamble::Signed(who, _, _) = xt.preamble else {
					panic!("the worker sends signed transactions")
				};
				let RuntimeCall::Inference(call) = xt.function else {
					panic!("the worker sends inference calls")
				};
				(who, call)
			})
			.collect()
	}

	/// Includes the sent transactions, as a block would.
	fn include(&self) -> Vec<Call<Test>> {
		self.sent()
			.into_iter()
			.map(|(who, call)| {
				let result =
					RuntimeCall::Inference(call.clone()).dispatch(RuntimeOrigin::signed(who));
				assert!(result.is_ok(), "{who}: {call:?}: {result:?}");
				call
			})
			.collect()
	}
}

/// Runs the offchain worker of the current block.
fn offchain_worker() {
	Inference::offchain_worker(System::block_number());
}

#[test]
fn an_executor_runs_its_job_once_commits_and_reveals_what_the_pallet_accepts() {
	new_test_ext(|model| {
		let job = submit(model);
		let node = executor_node([0.1, 0.8, 0.1]);
		offchain_worker();
		{
			let s = node.engine.state();
			assert_eq!(
				s.loads,
				vec![(model.0, b"model-bytes".to_vec())],
				"loaded once, from the registry"
			);
			assert_eq!(
				s.runs,
				vec![(model.0, PURPOSE_EXECUTE, 4096)],
				"run once, capped at MaxOutputSize"
			);
		}
		// The output stays hidden: only a commitment is sent.
		let calls = node.include();
		assert!(matches!(calls[..], [Call::commit_result { job: j, .. }] if j == job), "{calls:?}");
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Committed);
		// At the mock's audit rate of zero no auditor is drawn, so the
		// next run reveals the output and salt the node kept, and the pallet
		// finds them matching the commitment; the engine is not asked again.
		offchain_worker();
		let calls = node.include();
		assert!(
			matches!(&calls[..], [Call::reveal_result { job: j, output: o, .. }]
			if *j == job && *o == output([0.1, 0.8, 0.1])),
			"{calls:?}"
		);
		assert_eq!(node.engine.state().runs.len(), 1);
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Submitted);
		assert_eq!(Outputs::<Test>::get(job).unwrap(), output([0.1, 0.8, 0.1]));
		offchain_worker();
		assert!(node.sent().is_empty(), "revealed once");
	});
}

#[test]
fn a_vanilla_job_gets_its_output_posted_at_once() {
	new_test_ext(|model| {
		let job = submit_vanilla(model);
		let node = executor_node([0.7, 0.2, 0.1]);
		offchain_worker();
		let calls = node.include();
		assert_eq!(calls, vec![Call::submit_result { job, output: output([0.7, 0.2, 0.1]) }]);
	});
}

#[test]
fn engine_failures_are_blamed_by_the_shared_rule() {
	for (error, expected) in [
		(EngineError::RunFailed, Some(Fault::Model)),
		(EngineError::InvalidModel, Some(Fault::Model)),
		// One item: no input of the declared shape could run.
		(EngineError::MemoryLimit, Some(Fault::Model)),
		(EngineError::Timeout, None),
		(EngineError::Crashed, None),
	] {
		new_test_ext(|model| {
			let job = submit(model);
			let node = node(&[EXECUTOR], Some(engine(Err(error), Err(EngineError::Internal))));
			offchain_worker();
			let calls = node.include();
			match expected {
				Some(fault) => {
					assert_eq!(calls, vec![Call::report_fault { job, fault }], "{error:?}")
				}
				// This node's problem: nobody is blamed, the job is retried.
				None => assert!(calls.is_empty(), "{error:?}: {calls:?}"),
			}
		});
	}
}

#[test]
fn a_node_failure_is_retried_then_the_job_declined_to_another_executor() {
	new_test_ext(|model| {
		let job = submit(model);
		let node =
			node(&[EXECUTOR], Some(engine(Err(EngineError::Timeout), Err(EngineError::Internal))));
		for attempt in 1..crate::offchain::MAX_ATTEMPTS {
			offchain_worker();
			assert!(node.sent().is_empty(), "attempt {attempt} is retried");
		}
		offchain_worker();
		assert_eq!(node.include(), vec![Call::decline_job { job }]);
		assert_eq!(node.engine.state().runs.len() as u32, crate::offchain::MAX_ATTEMPTS);
		// Nobody else's fault: the executor's bond is untouched.
		assert_eq!(held(HoldReason::ExecutorStake, EXECUTOR), STAKE);
	});
}

#[test]
fn an_output_unlike_the_declaration_is_the_models_fault_and_an_evicted_model_is_reloaded() {
	new_test_ext(|model| {
		let job = submit(model);
		// Two outputs per item where the model declares three.
		let wrong = vec![Tensor {
			name: b"y".to_vec(),
			dtype: DType::Float32,
			shape: vec![1, 2],
			data: [0.5f32, 0.5].iter().flat_map(|v| v.to_le_bytes()).collect(),
		}]
		.encode();
		let node = node(&[EXECUTOR], Some(engine(Ok(wrong), Err(EngineError::Internal))));
		// The engine evicted the model after the worker asked.
		node.engine.state().next = vec![Err(EngineError::NotLoaded)];
		offchain_worker();
		assert_eq!(
			node.engine.state().loads.len(),
			2,
			"loaded, then loaded again after the eviction"
		);
		assert_eq!(node.include(), vec![Call::report_fault { job, fault: Fault::Model }]);
	});
}

#[test]
fn a_node_without_an_engine_answers_nothing_and_blames_nobody() {
	new_test_ext(|model| {
		let job = submit(model);
		let node = node(&[EXECUTOR], Some(no_engine()));
		for _ in 0..crate::offchain::MAX_ATTEMPTS {
			offchain_worker();
		}
		// The engine error is this node's: it declines, it reports no fault.
		assert_eq!(node.include(), vec![Call::decline_job { job }]);
	});
}

#[test]
fn committee_members_re_execute_commit_then_reveal_and_the_liar_is_slashed() {
	new_test_ext(|model| {
		let job = submit(model);
		post(job, [0.1, 0.1, 0.8]);
		let committee = challenge(job);
		let node = committee_node([0.8, 0.1, 0.1]);
		offchain_worker();
		// (The mock's model was admitted by two of three members; the third's
		// late, free vote clears its duty.)
		let commits: Vec<_> = node
			.include()
			.into_iter()
			.filter(|c| !matches!(c, Call::submit_admission_vote { .. }))
			.collect();
		assert_eq!(commits.len(), committee.len(), "every member commits: {commits:?}");
		assert!(commits
			.iter()
			.all(|c| matches!(c, Call::commit_verdict { job: j, .. } if *j == job)));
		assert!(node.engine.state().runs.iter().all(|(_, purpose, _)| *purpose == PURPOSE_VERIFY));
		// Every member has committed: the next worker reveals what it kept.
		offchain_worker();
		let reveals = node.include();
		assert_eq!(reveals.len(), committee.len(), "{reveals:?}");
		assert!(reveals
			.iter()
			.all(|c| matches!(c, Call::submit_verdict { finding: Finding::Output(o), .. }
			if *o == output([0.8, 0.1, 0.1]))));
		if Disputes::<Test>::contains_key(job) {
			run_to_block(Jobs::<Test>::get(job).unwrap().deadline);
		}
		assert!(
			events().contains(&Event::DisputeResolved { job, outcome: Outcome::ExecutorWrong }),
			"{:?}",
			events()
		);
	});
}

#[test]
fn a_late_admission_vote_clears_the_duty_without_running_the_model() {
	new_test_ext(|model| {
		// The mock's model was admitted by two of its three members.
		let late: Vec<AccountId> = AdmissionDuties::<Test>::iter()
			.filter(|(_, d)| d.contains(&model))
			.map(|(who, _)| who)
			.collect();
		assert_eq!(late.len(), 1, "one member had not voted");
		let node = node(&late, Some(FakeEngine::default()));
		offchain_worker();
		assert!(
			matches!(node.include()[..], [Call::submit_admission_vote { model: m, .. }] if m == model)
		);
		assert_eq!(node.engine.state().described, 0, "the decided model was not checked again");
		assert!(node.engine.state().runs.is_empty());
		assert!(!AdmissionDuties::<Test>::get(late[0]).contains(&model));
	});
}

/// The value under `key` in the node's persistent offchain storage.
fn kept(key: &[u8]) -> Option<Vec<u8>> {
	sp_io::offchain::local_storage_get(sp_core::offchain::StorageKind::PERSISTENT, key)
}

/// The worker's ledger of the work it keeps state for.
fn ledger() -> Vec<crate::offchain::Work<AccountId>> {
	kept(crate::offchain::LEDGER_KEY)
		.map(|v| Decode::decode(&mut &v[..]).expect("a ledger"))
		.unwrap_or_default()
}

#[test]
fn what_the_worker_keeps_for_a_job_is_cleared_once_the_job_ends() {
	new_test_ext(|model| {
		let job = submit(model);
		let node = executor_node([0.1, 0.8, 0.1]);
		offchain_worker();
		node.include();
		offchain_worker();
		node.include();
		assert_eq!(status(job), JobStatus::Submitted);
		let work = crate::offchain::Work::Job(job, EXECUTOR);
		assert_eq!(ledger(), vec![work.clone()]);
		// Its claims of the run and of the reveal, and the output and salt
		// it committed to.
		let keys = work.keys();
		assert_eq!(keys.iter().filter(|k| kept(k).is_some()).count(), 3);
		// While the job is open, the worker keeps them.
		offchain_worker();
		assert_eq!(keys.iter().filter(|k| kept(k).is_some()).count(), 3);
		run_to_block(ASSIGNED_AT + CHALLENGE_PERIOD);
		assert_eq!(status(job), JobStatus::Settled);
		offchain_worker();
		assert!(ledger().is_empty());
		assert!(keys.iter().all(|k| kept(k).is_none()), "nothing of a settled job is kept");
	});
}

#[test]
fn a_dispute_and_an_admission_vote_leave_nothing_behind() {
	new_test_ext(|model| {
		let job = submit(model);
		post(job, [0.1, 0.1, 0.8]);
		let committee = challenge(job);
		let node = committee_node([0.8, 0.1, 0.1]);
		offchain_worker();
		node.include();
		// Each member's job work, and the late admission vote's model work.
		let listed = ledger();
		assert_eq!(listed.len(), committee.len() + 1, "{listed:?}");
		let keys: Vec<Vec<u8>> = listed.iter().flat_map(|w| w.keys()).collect();
		offchain_worker();
		node.include();
		if Disputes::<Test>::contains_key(job) {
			run_to_block(Jobs::<Test>::get(job).unwrap().deadline);
		}
		assert!(matches!(status(job), JobStatus::Failed(_)), "{:?}", status(job));
		assert!(keys.iter().any(|k| kept(k).is_some()));
		offchain_worker();
		assert!(ledger().is_empty(), "{:?}", ledger());
		assert!(keys.iter().all(|k| kept(k).is_none()));
	});
}

#[test]
fn a_node_killed_before_its_answer_landed_answers_once_more_in_time() {
	new_test_ext(|model| {
		let job = submit_vanilla(model);
		let node = executor_node([0.7, 0.2, 0.1]);
		offchain_worker();
		// The node dies with its transaction pool: the answer never lands.
		assert_eq!(node.sent().len(), 1);
		// Restarted, it does not run the job again while its claim is young...
		let retry = Inference::retry_after();
		let deadline = Jobs::<Test>::get(job).unwrap().deadline;
		assert!(System::block_number() + retry < deadline, "the retry fits the window");
		for _ in 1..retry {
			run_to_block(System::block_number() + 1);
			offchain_worker();
			assert!(node.sent().is_empty());
		}
		assert_eq!(node.engine.state().runs.len(), 1);
		// ...then answers once, inside the job's window.
		run_to_block(System::block_number() + 1);
		offchain_worker();
		let calls = node.include();
		assert_eq!(calls, vec![Call::submit_result { job, output: output([0.7, 0.2, 0.1]) }]);
		assert_eq!(status(job), JobStatus::Settled);
		offchain_worker();
		assert!(node.sent().is_empty(), "answered once");
	});
}
