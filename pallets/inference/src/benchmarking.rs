//! Benchmarks of the inference market (frame-benchmarking v2).
//!
//! `on_initialize(s, b)` measures a block that runs `s` settlements while
//! scanning `b` deadline slots; `on_initialize_pending(p)` measures the same
//! block with `p` other jobs pending (not yet due), to show that a block's
//! cost does not depend on how many jobs wait.

use super::*;
use alloc::{vec, vec::Vec};
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate, Hooks};
use frame_system::RawOrigin;
use pallet_model_registry::{TensorSpec, TensorSpecs};
use sp_runtime::traits::Bounded;
use verity_primitives::{DType, Dim, Name, Tensor};

/// The salt of every commitment in the benchmarks.
const SALT: [u8; 32] = [7; 32];

/// Every member commits to its finding: reveals open.
fn commit_all<T: Config>(job: JobId, committee: &[T::AccountId], findings: &[FindingOf<T>]) {
	for (m, f) in committee.iter().zip(findings) {
		let c = Pallet::<T>::verdict_commitment(job, m, f, &SALT);
		Pallet::<T>::commit_verdict(RawOrigin::Signed(m.clone()).into(), job, c).unwrap();
	}
}

/// Runs the draw of disputed `job`'s committee: returns it.
fn drawn<T: Config>(job: JobId) -> BoundedVec<T::AccountId, T::CommitteeSize> {
	let j = Jobs::<T>::get(job).unwrap();
	frame_system::Pallet::<T>::set_block_number(j.deadline);
	Pallet::<T>::dispute_deadline(job, j.clone(), j.deadline);
	Disputes::<T>::get(job).unwrap().committee
}

fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	// Benchmarks may start from an empty genesis: the treasury must exist for
	// protocol fees and slashes to reach it, as on a real chain.
	let treasury = T::Treasury::get();
	if T::Currency::balance(&treasury).is_zero() {
		T::Currency::set_balance(&treasury, T::Currency::minimum_balance());
	}
	let who: T::AccountId = account(name, index, 0);
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 1024u32.into());
	who
}

fn spec(name: &[u8], n: u32) -> TensorSpecs {
	TensorSpecs::truncate_from(vec![TensorSpec {
		name: Name::truncate_from(name.to_vec()),
		dtype: DType::Float32,
		shape: BoundedVec::truncate_from(vec![Dim::Batch, Dim::Fixed(n)]),
	}])
}

/// SCALE-encoded tensors: one named `name`, holding `n` floats.
fn tensors(name: &[u8], n: u32) -> Vec<u8> {
	vec![Tensor {
		name: name.to_vec(),
		dtype: DType::Float32,
		shape: vec![1, n],
		data: (0..n).flat_map(|i| (i as f32).to_le_bytes()).collect(),
	}]
	.encode()
}

/// Floats that fit in `max_bytes` of encoded tensors.
fn floats_in(max_bytes: u32) -> u32 {
	(max_bytes.saturating_sub(64) / 4).max(1)
}

fn model<T: Config>(inputs: u32, outputs: u32) -> ModelId {
	let owner = funded::<T>("publisher", 0);
	T::Models::benchmark_model(
		&owner,
		spec(b"x", inputs),
		spec(b"y", outputs),
		VerificationPolicy::Tolerance {
			abs: sp_runtime::FixedU64::from_rational(1, 1_000_000),
			rel: sp_runtime::FixedU64::from_rational(1, 1_000),
		},
	)
}

fn executors<T: Config>(n: u32) -> Vec<T::AccountId> {
	(0..n)
		.map(|i| {
			let e = funded::<T>("executor", i);
			Pallet::<T>::do_register_executor(&e, T::MinExecutorStake::get(), None).unwrap();
			e
		})
		.collect()
}

fn verifiers<T: Config>(n: u32) -> Vec<T::AccountId> {
	(0..n)
		.map(|i| {
			let v = funded::<T>("verifier", i);
			Pallet::<T>::do_register_verifier(&v, T::MinVerifierStake::get()).unwrap();
			v
		})
		.collect()
}

/// A job on `model` (4 floats in), assigned and awaiting its result.
fn submitted_job<T: Config>(model: ModelId) -> JobId {
	submitted_job_in::<T>(model, VerificationMode::Optimistic)
}

/// [`submitted_job`] in `mode`.
fn submitted_job_in<T: Config>(model: ModelId, mode: VerificationMode) -> JobId {
	let requester = funded::<T>("requester", 0);
	let input = InputOf::<T>::truncate_from(tensors(b"x", 4));
	let job = Pallet::<T>::do_submit_job(
		requester,
		model,
		input,
		BalanceOf::<T>::max_value(),
		mode,
		None,
	)
	.unwrap()
	.0;
	Pallet::<T>::draw_assignment(job);
	job
}

/// The executor of `job` commits to `output`.
fn commit_output<T: Config>(job: JobId, output: &OutputOf<T>) -> T::AccountId {
	let executor = Jobs::<T>::get(job).unwrap().executor;
	let c = Pallet::<T>::result_commitment(job, &executor, output, &SALT);
	Pallet::<T>::commit_result(RawOrigin::Signed(executor.clone()).into(), job, c).unwrap();
	executor
}

/// Runs `job`'s audit draw now, if one is pending.
fn decide_audit<T: Config>(job: JobId) {
	if Jobs::<T>::get(job).unwrap().audit == AuditState::Undecided {
		Pallet::<T>::draw_audit(job);
	}
}

/// A job on `model` with its result committed and revealed (not audited):
/// returns the job and its executor.
fn job_with_result<T: Config>(model: ModelId, outputs: u32) -> (JobId, T::AccountId) {
	AuditRate::<T>::put(Perbill::zero());
	let job = submitted_job::<T>(model);
	let output = OutputOf::<T>::truncate_from(tensors(b"y", outputs));
	let executor = commit_output::<T>(job, &output);
	Pallet::<T>::reveal_result(RawOrigin::Signed(executor.clone()).into(), job, output, SALT)
		.unwrap();
	(job, executor)
}

/// `n` jobs with results whose challenge windows all end at `at` (spread over
/// as many deadline slots as needed), shared by as many executors as their
/// `MaxOpenJobs` requires. Executors are written directly, without stakes.
fn pending_jobs<T: Config>(n: u32, at: BlockNumberFor<T>, index: u32) {
	let model = model::<T>(4, 4);
	let requester = funded::<T>("pending-requester", index);
	let fees = Fees {
		price: 1u32.into(),
		executor: 1u32.into(),
		protocol: 1u32.into(),
		audit: Zero::zero(),
	};
	T::Currency::hold(&HoldReason::JobEscrow.into(), &requester, fees.total() * n.into()).unwrap();
	let per_executor = T::MaxOpenJobs::get().max(1);
	let first = NextJobId::<T>::get();
	let mut block = at;
	let mut executor = funded::<T>("pending-executor", index * 1_000_000);
	for (i, job) in (first..first + u64::from(n)).enumerate() {
		if i as u32 % per_executor == 0 {
			executor = funded::<T>("pending-executor", index * 1_000_000 + i as u32);
			Executors::<T>::insert(
				&executor,
				ExecutorInfo {
					stake: Zero::zero(),
					models: None,
					unbonding_until: None,
					capacity: T::MaxOpenJobs::get(),
					missed: 0,
				},
			);
		}
		let deadline = Pallet::<T>::schedule(job, block).unwrap();
		block = deadline;
		Assignments::<T>::mutate(&executor, |list| list.try_push(job).unwrap());
		Jobs::<T>::insert(
			job,
			Job {
				requester: requester.clone(),
				model,
				executor: executor.clone(),
				fees,
				status: JobStatus::Submitted,
				audit: AuditState::NotSelected,
				submitted_at: Zero::zero(),
				deadline,
				commitment: None,
				output_hash: Some(Default::default()),
				mode: VerificationMode::Optimistic,
				callback: None,
				result_at: Some(Zero::zero()),
			},
		);
	}
	NextJobId::<T>::put(first + u64::from(n));
	JobsInFlight::<T>::mutate(model, |c| *c += n);
}

/// A one-input graph `x` of `shape` with `nodes` applied in a chain (each
/// node reads the previous value, and `extra` constants after the input),
/// its last value the output; with an input tensor of ones.
fn consensus_graph(
	shape: Vec<u32>,
	constants: Vec<verity_interp::Constant>,
	nodes: Vec<(verity_interp::Op, Vec<u32>)>,
) -> (verity_interp::Graph, Vec<Tensor>) {
	use verity_interp::{Elem, Graph, Input, Node, Output};
	let values = 1 + constants.len() + nodes.len();
	let graph = Graph {
		version: verity_interp::FORMAT_VERSION,
		inputs: vec![Input { name: b"x".to_vec(), elem: Elem::F32 }],
		constants,
		nodes: nodes.into_iter().map(|(op, inputs)| Node { op, inputs }).collect(),
		outputs: vec![Output { name: b"y".to_vec(), value: values as u32 - 1 }],
	};
	let n: u32 = shape.iter().product();
	let x = Tensor {
		name: b"x".to_vec(),
		dtype: DType::Float32,
		shape,
		data: 1.0f32.to_le_bytes().repeat(n as usize),
	};
	(graph, vec![x])
}

/// One tree of `depth` decision nodes in a chain (`x > 0.5` goes deeper; the
/// benchmarks' rows are all 1.0), each with a leaf of one weight on its
/// false branch and the last one's true branch.
fn chain_tree(depth: u32) -> verity_interp::trees::Ensemble {
	use verity_interp::trees::{Aggregate, Child, Cmp, Ensemble, PostTransform, TreeNode};
	let nodes = (0..depth)
		.map(|i| TreeNode {
			feature: 0,
			threshold: 0.5.into(),
			cmp: Cmp::Gt,
			missing_true: false,
			if_true: if i + 1 < depth { Child::Node(i + 1) } else { Child::Leaf(depth) },
			if_false: Child::Leaf(i),
		})
		.collect();
	Ensemble {
		roots: vec![Child::Node(0)],
		nodes,
		leaves: (0..=depth).map(|i| vec![(0, (i as f32).into())]).collect::<Vec<_>>().into(),
		n_targets: 1,
		n_features: 1,
		base_values: vec![],
		aggregate: Aggregate::Sum,
		post_transform: PostTransform::None,
	}
}

/// Runs `graph` on `inputs` as a consensus job does (plan, then run).
fn evaluate(graph: &verity_interp::Graph, inputs: &[Tensor]) -> verity_interp::Cost {
	let limits = verity_interp::Limits { max_memory: 256 << 20 };
	verity_interp::run(graph, inputs, &limits).expect("the benchmark graph runs").1
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register_executor() {
		executors::<T>(T::MaxExecutors::get() - 1);
		let caller = funded::<T>("caller", 0);
		let stake = T::MinExecutorStake::get();

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), stake, None);

		assert!(Executors::<T>::contains_key(&caller));
	}

	#[benchmark]
	fn top_up_executor() {
		let caller = executors::<T>(1).remove(0);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), 10u32.into());

		assert_eq!(
			Executors::<T>::get(&caller).unwrap().stake,
			T::MinExecutorStake::get() + 10u32.into()
		);
	}

	#[benchmark]
	fn unbond_executor() {
		let caller = executors::<T>(T::MaxExecutors::get()).remove(0);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()));

		assert!(Executors::<T>::get(&caller).unwrap().unbonding_until.is_some());
	}

	#[benchmark]
	fn withdraw_executor() {
		let caller = executors::<T>(1).remove(0);
		Pallet::<T>::unbond_executor(RawOrigin::Signed(caller.clone()).into()).unwrap();
		frame_system::Pallet::<T>::set_block_number(
			frame_system::Pallet::<T>::block_number() + T::UnbondingPeriod::get(),
		);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()));

		assert!(!Executors::<T>::contains_key(&caller));
	}

	#[benchmark]
	fn register_verifier() {
		verifiers::<T>(T::MaxVerifiers::get() - 1);
		let caller = funded::<T>("caller", 0);
		let stake = T::MinVerifierStake::get();

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), stake);

		assert!(Verifiers::<T>::contains_key(&caller));
	}

	#[benchmark]
	fn unbond_verifier() {
		let caller = verifiers::<T>(T::MaxVerifiers::get()).remove(0);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()));

		assert!(Verifiers::<T>::get(&caller).unwrap().unbonding_until.is_some());
	}

	#[benchmark]
	fn withdraw_verifier() {
		let caller = verifiers::<T>(1).remove(0);
		Pallet::<T>::unbond_verifier(RawOrigin::Signed(caller.clone()).into()).unwrap();
		frame_system::Pallet::<T>::set_block_number(
			frame_system::Pallet::<T>::block_number() + T::UnbondingPeriod::get(),
		);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()));

		assert!(!Verifiers::<T>::contains_key(&caller));
	}

	#[benchmark]
	fn submit_job(
		i: Linear<1, { floats_in(T::MaxInputSize::get()) }>,
		e: Linear<1, { T::MaxExecutors::get() }>,
	) {
		let model = model::<T>(i, 4);
		executors::<T>(e);
		let caller = funded::<T>("requester", 0);
		let input = InputOf::<T>::truncate_from(tensors(b"x", i));

		#[extrinsic_call]
		_(
			RawOrigin::Signed(caller),
			model,
			input,
			BalanceOf::<T>::max_value(),
			VerificationMode::Optimistic,
		);

		assert_eq!(NextJobId::<T>::get(), 1);
	}

	/// One assignment draw of `on_initialize`'s queue: a queued job's
	/// executor drawn among `e` executors.
	#[benchmark]
	fn draw_assignment(e: Linear<1, { T::MaxExecutors::get() }>) {
		let model = model::<T>(4, 4);
		executors::<T>(e);
		let requester = funded::<T>("requester", 0);
		let input = InputOf::<T>::truncate_from(tensors(b"x", 4));
		let job = Pallet::<T>::do_submit_job(
			requester,
			model,
			input,
			BalanceOf::<T>::max_value(),
			VerificationMode::Optimistic,
			None,
		)
		.unwrap()
		.0;

		#[block]
		{
			Pallet::<T>::draw_assignment(job);
		}

		assert_eq!(Jobs::<T>::get(job).unwrap().status, JobStatus::Assigned);
	}

	/// A decline that reassigns the job: the executors are scanned again,
	/// without the ones that declined it already.
	#[benchmark]
	fn decline_job(e: Linear<2, { T::MaxExecutors::get() }>) {
		let model = model::<T>(4, 4);
		executors::<T>(e);
		let job = submitted_job::<T>(model);
		let executor = Jobs::<T>::get(job).unwrap().executor;

		#[extrinsic_call]
		_(RawOrigin::Signed(executor.clone()), job);

		assert_ne!(Jobs::<T>::get(job).unwrap().executor, executor);
	}

	#[benchmark]
	fn set_capacity() {
		let executor = executors::<T>(1).remove(0);

		#[extrinsic_call]
		_(RawOrigin::Signed(executor.clone()), 1);

		assert_eq!(Executors::<T>::get(executor).unwrap().capacity, 1);
	}

	#[benchmark]
	fn resume_verifier() {
		let verifier = verifiers::<T>(1).remove(0);
		Verifiers::<T>::mutate(&verifier, |v| {
			v.as_mut().unwrap().missed = T::MaxMissedDuties::get()
		});

		#[extrinsic_call]
		_(RawOrigin::Signed(verifier.clone()));

		assert_eq!(Verifiers::<T>::get(verifier).unwrap().missed, 0);
	}

	/// The last commitment, which opens reveals (and schedules their deadline).
	#[benchmark]
	fn commit_verdict() {
		let model = model::<T>(4, 4);
		executors::<T>(1);
		verifiers::<T>(T::CommitteeSize::get());
		let (job, _) = job_with_result::<T>(model, 4);
		let challenger = funded::<T>("challenger", 0);
		Pallet::<T>::challenge(RawOrigin::Signed(challenger).into(), job, T::ChallengeBond::get())
			.unwrap();
		let committee = drawn::<T>(job);
		let findings = vec![Finding::ModelFault; committee.len()];
		let last = committee.len() - 1;
		commit_all::<T>(job, &committee[..last], &findings[..last]);
		let member = committee[last].clone();
		let c = Pallet::<T>::verdict_commitment(job, &member, &findings[last], &SALT);

		#[extrinsic_call]
		_(RawOrigin::Signed(member), job, c);

		assert!(Disputes::<T>::get(job).unwrap().reveals_open());
	}

	/// A stalled dispute ended by anyone: refund, bond released.
	#[benchmark]
	fn end_dispute() {
		let model = model::<T>(4, 4);
		executors::<T>(1);
		verifiers::<T>(T::CommitteeSize::get());
		let (job, _) = job_with_result::<T>(model, 4);
		let challenger = funded::<T>("challenger", 0);
		Pallet::<T>::challenge(
			RawOrigin::Signed(challenger.clone()).into(),
			job,
			T::ChallengeBond::get(),
		)
		.unwrap();
		drawn::<T>(job);
		Disputes::<T>::mutate(job, |d| d.as_mut().unwrap().stalled = true);

		#[extrinsic_call]
		_(RawOrigin::Signed(challenger), job);

		assert!(!Disputes::<T>::contains_key(job));
	}

	/// The auditor's commitment: the executor may reveal from then on, so
	/// its deadline is rescheduled.
	#[benchmark]
	fn commit_audit() {
		let model = model::<T>(4, 4);
		executors::<T>(1);
		verifiers::<T>(1);
		AuditRate::<T>::put(Perbill::one());
		let job = submitted_job::<T>(model);
		commit_output::<T>(job, &OutputOf::<T>::truncate_from(tensors(b"y", 4)));
		decide_audit::<T>(job);
		let AuditState::Selected(auditor) = Jobs::<T>::get(job).unwrap().audit else {
			panic!("drawn at rate 1")
		};
		let c = Pallet::<T>::verdict_commitment(job, &auditor, &Finding::ModelFault, &SALT);

		#[extrinsic_call]
		_(RawOrigin::Signed(auditor.clone()), job, c);

		assert_eq!(Jobs::<T>::get(job).unwrap().audit, AuditState::Committed(auditor, c));
	}

	/// An audit that agrees: its output (`o` floats) is compared with the
	/// executor's and the auditor paid from the treasury. (One that
	/// disagrees opens a dispute; its weight adds `challenge`'s.)
	#[benchmark]
	fn reveal_audit(o: Linear<1, { floats_in(T::MaxOutputSize::get()) }>) {
		let model = model::<T>(4, o);
		executors::<T>(1);
		verifiers::<T>(1);
		let treasury = T::Treasury::get();
		T::Currency::set_balance(&treasury, BalanceOf::<T>::max_value() / 1024u32.into());
		AuditRate::<T>::put(Perbill::one());
		let job = submitted_job::<T>(model);
		let output = OutputOf::<T>::truncate_from(tensors(b"y", o));
		let executor = commit_output::<T>(job, &output);
		decide_audit::<T>(job);
		let AuditState::Selected(auditor) = Jobs::<T>::get(job).unwrap().audit else {
			panic!("drawn at rate 1")
		};
		let finding = Finding::Output(output.clone());
		let c = Pallet::<T>::verdict_commitment(job, &auditor, &finding, &SALT);
		Pallet::<T>::commit_audit(RawOrigin::Signed(auditor.clone()).into(), job, c).unwrap();
		Pallet::<T>::reveal_result(RawOrigin::Signed(executor).into(), job, output, SALT).unwrap();

		#[extrinsic_call]
		_(RawOrigin::Signed(auditor.clone()), job, finding, SALT);

		assert_eq!(Jobs::<T>::get(job).unwrap().audit, AuditState::Passed(auditor));
	}

	/// A commitment whose audit draw is scheduled (the queue's slot found).
	#[benchmark]
	fn commit_result() {
		let model = model::<T>(4, 4);
		let executor = executors::<T>(1).remove(0);
		AuditRate::<T>::put(Perbill::one());
		let job = submitted_job::<T>(model);
		let c = Pallet::<T>::result_commitment(job, &executor, &[], &SALT);

		#[extrinsic_call]
		_(RawOrigin::Signed(executor), job, c);

		assert_eq!(Jobs::<T>::get(job).unwrap().status, JobStatus::Committed);
	}

	/// The reveal of an `o`-float output, checked against the commitment and
	/// the model's declared outputs; the challenge window opens.
	#[benchmark]
	fn reveal_result(o: Linear<1, { floats_in(T::MaxOutputSize::get()) }>) {
		let model = model::<T>(4, o);
		executors::<T>(1);
		AuditRate::<T>::put(Perbill::zero());
		let job = submitted_job::<T>(model);
		let output = OutputOf::<T>::truncate_from(tensors(b"y", o));
		let executor = commit_output::<T>(job, &output);

		#[extrinsic_call]
		_(RawOrigin::Signed(executor), job, output, SALT);

		assert_eq!(Jobs::<T>::get(job).unwrap().status, JobStatus::Submitted);
	}

	#[benchmark]
	fn set_audit_rate() -> Result<(), BenchmarkError> {
		let model = model::<T>(4, 4);
		let origin =
			T::ForceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, Some(model), Some(Perbill::one()));

		assert_eq!(Pallet::<T>::audit_rate(&model), Perbill::one());
		Ok(())
	}

	/// One draw of `on_initialize`'s queue: an audit selected at rate 1
	/// among `MaxVerifiers` verifiers.
	#[benchmark]
	fn draw_audit() {
		let model = model::<T>(4, 4);
		executors::<T>(1);
		verifiers::<T>(T::MaxVerifiers::get());
		AuditRate::<T>::put(Perbill::one());
		let job = submitted_job::<T>(model);
		commit_output::<T>(job, &OutputOf::<T>::truncate_from(tensors(b"y", 4)));

		#[block]
		{
			Pallet::<T>::draw_audit(job);
		}

		assert!(matches!(Jobs::<T>::get(job).unwrap().audit, AuditState::Selected(_)));
	}

	#[benchmark]
	fn resume_executor() {
		let executor = executors::<T>(1).remove(0);
		Executors::<T>::mutate(&executor, |e| {
			e.as_mut().unwrap().missed = T::MaxMissedDeadlines::get()
		});

		#[extrinsic_call]
		_(RawOrigin::Signed(executor.clone()));

		assert_eq!(Executors::<T>::get(executor).unwrap().missed, 0);
	}

	/// A `Vanilla` result, posted at once (it settles: the call's weight adds
	/// a settlement's on top).
	#[benchmark]
	fn submit_result(o: Linear<1, { floats_in(T::MaxOutputSize::get()) }>) {
		let model = model::<T>(4, o);
		let executor = executors::<T>(1).remove(0);
		let job = submitted_job_in::<T>(model, VerificationMode::Vanilla);
		let output = OutputOf::<T>::truncate_from(tensors(b"y", o));

		#[extrinsic_call]
		_(RawOrigin::Signed(executor), job, output);

		assert_eq!(Jobs::<T>::get(job).unwrap().status, JobStatus::Settled);
	}

	#[benchmark]
	fn challenge(v: Linear<{ T::CommitteeSize::get() }, { T::MaxVerifiers::get() }>) {
		let model = model::<T>(4, 4);
		executors::<T>(1);
		verifiers::<T>(v);
		let (job, _) = job_with_result::<T>(model, 4);
		let challenger = funded::<T>("challenger", 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(challenger), job, T::ChallengeBond::get());

		assert!(Disputes::<T>::contains_key(job));
	}

	#[benchmark]
	fn submit_verdict(o: Linear<1, { floats_in(T::MaxOutputSize::get()) }>) {
		let model = model::<T>(4, o);
		executors::<T>(1);
		verifiers::<T>(T::CommitteeSize::get());
		let (job, _) = job_with_result::<T>(model, o);
		let challenger = funded::<T>("challenger", 0);
		Pallet::<T>::challenge(RawOrigin::Signed(challenger).into(), job, T::ChallengeBond::get())
			.unwrap();
		// Worst case short of a decision: every earlier member dissented with
		// an answer of its own, so this vote is compared with the executor's
		// output and with each of theirs, and starts a group of its own.
		let committee = drawn::<T>(job);
		let distinct = |k: u32| {
			let mut t = decode_tensors(&tensors(b"y", o)).unwrap();
			t[0].data =
				(0..o).flat_map(|i| (1000.0 * (k + 1) as f32 + i as f32).to_le_bytes()).collect();
			OutputOf::<T>::truncate_from(t.encode())
		};
		let findings: Vec<FindingOf<T>> =
			(0..committee.len() as u32).map(|k| Finding::Output(distinct(k))).collect();
		commit_all::<T>(job, &committee, &findings);
		let earlier = committee.len().saturating_sub(2);
		for (m, f) in committee.iter().zip(&findings).take(earlier) {
			Pallet::<T>::submit_verdict(RawOrigin::Signed(m.clone()).into(), job, f.clone(), SALT)
				.unwrap();
		}
		let member = committee[earlier].clone();
		let finding = findings[earlier].clone();

		#[extrinsic_call]
		_(RawOrigin::Signed(member), job, finding, SALT);

		assert_eq!(Disputes::<T>::get(job).unwrap().votes.len(), earlier + 1);
	}

	/// The deciding vote: every member but one voted "disagree" already, the
	/// executor is slashed and everyone paid.
	#[benchmark]
	fn resolve() {
		let c = T::CommitteeSize::get();
		let model = model::<T>(4, 4);
		executors::<T>(1);
		verifiers::<T>(c);
		let (job, _) = job_with_result::<T>(model, 4);
		let challenger = funded::<T>("challenger", 0);
		Pallet::<T>::challenge(RawOrigin::Signed(challenger).into(), job, T::ChallengeBond::get())
			.unwrap();
		let committee = drawn::<T>(job);
		let needed = Pallet::<T>::quorum_size(c) as usize;
		let wrong = {
			let mut t = decode_tensors(&tensors(b"y", 4)).unwrap();
			t[0].data = (0..4u32).flat_map(|i| (100.0 + i as f32).to_le_bytes()).collect();
			OutputOf::<T>::truncate_from(t.encode())
		};
		let findings = vec![Finding::Output(wrong.clone()); committee.len()];
		commit_all::<T>(job, &committee, &findings);
		for m in committee.iter().take(needed - 1) {
			Pallet::<T>::submit_verdict(
				RawOrigin::Signed(m.clone()).into(),
				job,
				Finding::Output(wrong.clone()),
				SALT,
			)
			.unwrap();
		}
		let last = committee[needed - 1].clone();

		#[extrinsic_call]
		submit_verdict(RawOrigin::Signed(last), job, Finding::Output(wrong), SALT);

		assert!(!Disputes::<T>::contains_key(job));
	}

	/// The deciding admission vote: every member but one rejected already,
	/// so this vote rejects the model and slashes its publisher.
	#[benchmark]
	fn submit_admission_vote() {
		let c = T::CommitteeSize::get();
		let model = model::<T>(4, 4);
		T::Models::benchmark_pending(&model);
		verifiers::<T>(c);
		assert!(<Pallet<T> as pallet_model_registry::ModelAdmission>::start(&model));
		Pallet::<T>::draw_admission(model);
		let committee = Admissions::<T>::get(model).unwrap().committee;
		let needed = Pallet::<T>::quorum_size(c) as usize;
		let no = AdmissionVote::Reject(AdmissionFault::WrongGoldenOutput);
		for m in committee.iter().take(needed - 1) {
			Pallet::<T>::submit_admission_vote(RawOrigin::Signed(m.clone()).into(), model, no)
				.unwrap();
		}
		let last = committee[needed - 1].clone();

		#[extrinsic_call]
		_(RawOrigin::Signed(last), model, no);

		assert!(!Admissions::<T>::contains_key(model));
	}

	#[benchmark]
	fn on_initialize(s: Linear<0, { T::MaxDeadlinesPerBlock::get() }>, b: Linear<1, 64>) {
		let now: BlockNumberFor<T> = 1000u32.into();
		let first = now - (b - 1).into();
		NextDue::<T>::put(first);
		pending_jobs::<T>(s, now, 0);
		frame_system::Pallet::<T>::set_block_number(now);

		#[block]
		{
			Pallet::<T>::on_initialize(now);
		}

		// At most `MaxStepsPerBlock` blocks are visited per block.
		assert_eq!(NextDue::<T>::get(), first + b.min(T::MaxStepsPerBlock::get()).into());
	}

	#[benchmark]
	fn on_initialize_pending(p: Linear<10, 100_000>) {
		let now: BlockNumberFor<T> = 1000u32.into();
		NextDue::<T>::put(now);
		// A full block of settlements is due now...
		pending_jobs::<T>(T::MaxDeadlinesPerBlock::get(), now, 0);
		// ...and `p` more jobs wait for later blocks.
		pending_jobs::<T>(p, now + 10u32.into(), 1);
		frame_system::Pallet::<T>::set_block_number(now);

		#[block]
		{
			Pallet::<T>::on_initialize(now);
		}

		assert_eq!(NextDue::<T>::get(), now + 1u32.into());
	}

	/// What a consensus job does per byte of its graph, for a graph of
	/// about `b` KiB (`consensus::BYTES_PER_STEP`): reading it from storage,
	/// decoding and checking it, planning it (a job plans before it runs to
	/// price the run, and the run plans again) and running it on one row.
	/// The graph is a tree ensemble, the content that costs the most per
	/// byte (a field at a time, every index checked): one tree of `32 b`
	/// decision nodes.
	#[benchmark]
	fn consensus_decode(b: Linear<1, 2048>) {
		let ensemble = chain_tree(b * 32);
		let (graph, input) = consensus_graph(
			vec![1, 1],
			vec![],
			vec![(verity_interp::Op::TreeRegressor(ensemble), vec![0])],
		);
		let bytes = graph.encode();
		let key = b"verity/benchmark/consensus-graph";
		frame_support::storage::unhashed::put_raw(key, &bytes);
		let meta = [verity_interp::Meta::new(verity_interp::Elem::F32, vec![1, 1])];
		let limits = verity_interp::Limits { max_memory: 256 << 20 };

		#[block]
		{
			let stored = frame_support::storage::unhashed::get_raw(key).expect("stored above");
			let graph = verity_interp::Graph::decode_checked(&stored).expect("a valid graph");
			verity_interp::plan(&graph, &meta, &limits).expect("it plans");
			verity_interp::run(&graph, &input, &limits).expect("it runs");
		}

		assert!(bytes.len() as u32 >= b * BYTES_PER_STEP * 3 / 4);
	}

	/// `n` one-element nodes: the fixed time of a node (planning, the
	/// values' bookkeeping, an allocation).
	#[benchmark]
	fn consensus_nodes(n: Linear<1, 1000>) {
		let nodes = (0..n).map(|i| (verity_interp::Op::Relu, vec![i])).collect();
		let (graph, input) = consensus_graph(vec![1], vec![], nodes);
		let cost;

		#[block]
		{
			cost = evaluate(&graph, &input);
		}

		assert_eq!(cost.nodes, n);
	}

	/// `k` FLOPs of `MatMul`: `[1, 500] x [500, k / 1000]`.
	#[benchmark]
	fn consensus_linear(k: Linear<1000, 1_000_000>) {
		let columns = k / 1000;
		let w = verity_interp::Constant {
			shape: vec![500, columns],
			data: verity_interp::ConstData::F32(vec![0.5f32.to_bits(); 500 * columns as usize]),
		};
		let (graph, input) =
			consensus_graph(vec![1, 500], vec![w], vec![(verity_interp::Op::MatMul, vec![0, 1])]);
		let cost;

		#[block]
		{
			cost = evaluate(&graph, &input);
		}

		assert_eq!(cost.of(verity_interp::OpClass::Linear), u64::from(columns) * 1000);
	}

	/// `k` elements of `Add`.
	#[benchmark]
	fn consensus_elementwise(k: Linear<1, 1_000_000>) {
		let (graph, input) =
			consensus_graph(vec![k], vec![], vec![(verity_interp::Op::Add, vec![0, 0])]);
		let cost;

		#[block]
		{
			cost = evaluate(&graph, &input);
		}

		assert_eq!(cost.of(verity_interp::OpClass::Elementwise), u64::from(k));
	}

	/// `k` exponentials.
	#[benchmark]
	fn consensus_transcendental(k: Linear<1, 1_000_000>) {
		let (graph, input) =
			consensus_graph(vec![k], vec![], vec![(verity_interp::Op::Exp, vec![0])]);
		let cost;

		#[block]
		{
			cost = evaluate(&graph, &input);
		}

		assert_eq!(cost.of(verity_interp::OpClass::Transcendental), u64::from(k));
	}

	/// `k` bytes transposed: `[k / 1000, 250]` floats.
	#[benchmark]
	fn consensus_movement(k: Linear<1000, 4_000_000>) {
		let rows = k / 1000;
		let (graph, input) = consensus_graph(
			vec![rows, 250],
			vec![],
			vec![(verity_interp::Op::Transpose { perm: vec![] }, vec![0])],
		);
		let cost;

		#[block]
		{
			cost = evaluate(&graph, &input);
		}

		assert_eq!(cost.of(verity_interp::OpClass::Movement), u64::from(rows) * 1000);
	}

	/// `k` tree steps: `k / 10` rows down a tree nine decisions deep (the
	/// rows take every true branch) to a leaf of one weight.
	#[benchmark]
	fn consensus_tree(k: Linear<10, 1_000_000>) {
		let rows = k / 10;
		let ensemble = chain_tree(9);
		let (graph, input) = consensus_graph(
			vec![rows, 1],
			vec![],
			vec![(verity_interp::Op::TreeRegressor(ensemble), vec![0])],
		);
		let cost;

		#[block]
		{
			cost = evaluate(&graph, &input);
		}

		assert_eq!(cost.of(verity_interp::OpClass::Tree), u64::from(rows) * 10);
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_bench_ext(), crate::mock::Test);
}
