//! Consensus mode: the runtime evaluates the model's compact graph in the
//! extrinsic that submits the job, which settles there.

use super::*;
use codec::Encode;
use frame_support::dispatch::GetDispatchInfo;
use verity_interp::{ConstData, Constant, Elem, Graph, Input, Node, Op, Output};

/// The test model (4 floats in, 3 out) as a graph: `y = x W + b`.
fn affine() -> Graph {
	let w: Vec<f32> = (0..12).map(|i| i as f32 / 8.0 - 0.5).collect();
	Graph {
		version: verity_interp::FORMAT_VERSION,
		inputs: vec![Input { name: b"x".to_vec(), elem: Elem::F32 }],
		constants: vec![
			Constant {
				shape: vec![4, 3],
				data: ConstData::F32(w.iter().map(|v| v.to_bits()).collect()),
			},
			Constant { shape: vec![3], data: ConstData::F32(vec![0.25f32.to_bits(); 3]) },
		],
		nodes: vec![
			Node { op: Op::MatMul, inputs: vec![0, 1] },
			Node { op: Op::Add, inputs: vec![3, 2] },
		],
		outputs: vec![Output { name: b"y".to_vec(), value: 4 }],
	}
}

/// `y = float(int(x) / int(x)) W`: an integer division by zero for inputs
/// below 1, which the plan cannot see.
fn divides_by_its_input() -> Graph {
	let mut g = affine();
	g.nodes = vec![
		Node { op: Op::Cast { to: Elem::I64 }, inputs: vec![0] },
		Node { op: Op::Div, inputs: vec![3, 3] },
		Node { op: Op::Cast { to: Elem::F32 }, inputs: vec![4] },
		Node { op: Op::MatMul, inputs: vec![5, 1] },
	];
	g.outputs[0].value = 6;
	g
}

/// Registers `bytes` with `graph` as its consensus graph, uploads and admits it.
fn publish_consensus(bytes: &[u8], graph: &Graph) -> ModelId {
	let id = ModelId::from(sp_io::hashing::blake2_256(bytes));
	let s = pallet_model_registry::ModelSpec {
		family: verity_primitives::Name::try_from(bytes.to_vec()).unwrap(),
		version: pallet_model_registry::ModelVersion { major: 1, minor: 0 },
		size: bytes.len() as u32,
		inputs: BoundedVec::try_from(vec![spec("x", 4)]).unwrap(),
		outputs: BoundedVec::try_from(vec![spec("y", 3)]).unwrap(),
		price: PRICE,
		challenge_period: CHALLENGE_PERIOD,
		max_batch: 8,
		policy: VerificationPolicy::ArgMax,
	};
	assert_ok!(Registry::register(RuntimeOrigin::signed(PUBLISHER), id, s));
	assert_ok!(Registry::set_consensus_graph(
		RuntimeOrigin::signed(PUBLISHER),
		id,
		BoundedVec::try_from(graph.encode()).unwrap()
	));
	upload_pending(id, bytes, 3);
	admit(id);
	id
}

fn submit_consensus(
	model: ModelId,
	items: usize,
) -> frame_support::dispatch::DispatchResultWithPostInfo {
	Inference::submit_job(
		RuntimeOrigin::signed(REQUESTER),
		model,
		batch_input(items),
		PRICE,
		VerificationMode::Consensus,
	)
}

#[test]
fn a_consensus_job_settles_in_the_extrinsic_that_submits_it() {
	new_test_ext(|_| {
		let model = publish_consensus(b"affine", &affine());
		let (publisher, requester) = (free(PUBLISHER), free(REQUESTER));
		let job = NextJobId::<Test>::get();
		assert_ok!(submit_consensus(model, 2));
		let j = Jobs::<Test>::get(job).unwrap();
		assert_eq!(
			(j.status, j.mode, j.result_at),
			(JobStatus::Settled, VerificationMode::Consensus, Some(1))
		);
		// The output is the interpreter's, bit for bit, run natively here.
		let input = verity_primitives::decode_tensors(&batch_input(2)).unwrap();
		let limits = verity_interp::Limits { max_memory: 1 << 20 };
		let (expected, cost) = verity_interp::run(&affine(), &input, &limits).unwrap();
		assert_eq!(Outputs::<Test>::get(job).unwrap().into_inner(), expected.encode());
		// The price went to the publisher; no executor fee, no protocol fee.
		assert_eq!(free(PUBLISHER), publisher + PRICE);
		let deposit = held(HoldReason::JobData, REQUESTER);
		assert_eq!(free(REQUESTER), requester - PRICE - deposit);
		assert_eq!(held(HoldReason::JobEscrow, REQUESTER), 0);
		assert_eq!(JobsInFlight::<Test>::get(model), 0);
		let evaluated = events().into_iter().any(
			|e| matches!(e, Event::ConsensusJobEvaluated { job: j, cost: c, .. } if j == job && c == cost),
		);
		assert!(
			evaluated
				&& events().contains(&Event::JobSettled {
					job,
					executor: REQUESTER,
					fee: 0,
					price: PRICE,
					protocol_fee: 0,
				})
		);
		// Pruned like any other job after the retention period.
		run_to_block(1 + RETENTION);
		assert!(!Jobs::<Test>::contains_key(job) && !Outputs::<Test>::contains_key(job));
		assert_eq!(held(HoldReason::JobData, REQUESTER), 0);
	});
}

#[test]
fn a_model_without_a_graph_cannot_run_in_consensus_mode() {
	new_test_ext(|model| {
		let job = NextJobId::<Test>::get();
		assert_noop!(submit_consensus(model, 1), Error::<Test>::NotConsensusModel);
		assert_eq!(NextJobId::<Test>::get(), job);
	});
}

#[test]
fn an_input_the_interpreter_refuses_fails_the_call_and_holds_nothing() {
	new_test_ext(|_| {
		let model = publish_consensus(b"divides", &divides_by_its_input());
		// 0.1..0.4 truncate to 0: a division by zero.
		assert_noop!(submit_consensus(model, 1), Error::<Test>::ConsensusFailed);
		assert_eq!(held(HoldReason::JobEscrow, REQUESTER), 0);
		assert_eq!(held(HoldReason::JobData, REQUESTER), 0);
	});
}

#[test]
fn a_run_over_the_per_call_cap_is_refused() {
	new_test_ext(|_| {
		let model = publish_consensus(b"affine", &affine());
		let info = <Registry as ModelRegistry<_, _, _>>::consensus_info(&model).unwrap();
		let one = Inference::consensus_weight(
			&verity_interp::plan(
				&affine(),
				&[verity_interp::Meta::new(Elem::F32, vec![1, 4])],
				&verity_interp::Limits { max_memory: 1 << 20 },
			)
			.unwrap()
			.cost,
			info.size,
		);
		MaxConsensusWeight::set(one);
		assert_ok!(submit_consensus(model, 1));
		assert_noop!(submit_consensus(model, 2), Error::<Test>::ConsensusTooExpensive);
	});
}

#[test]
fn the_call_is_weighed_at_the_largest_batch_and_charged_for_its_run() {
	new_test_ext(|_| {
		let model = publish_consensus(b"affine", &affine());
		let call = crate::Call::<Test>::submit_job {
			model,
			input: batch_input(1),
			max_fee: PRICE,
			mode: VerificationMode::Consensus,
		};
		let declared = call.get_dispatch_info().call_weight;
		let optimistic = crate::Call::<Test>::submit_job {
			model,
			input: batch_input(1),
			max_fee: PRICE,
			mode: VerificationMode::Optimistic,
		}
		.get_dispatch_info()
		.call_weight;
		let info = <Registry as ModelRegistry<_, _, _>>::consensus_info(&model).unwrap();
		assert!(declared.all_gte(
			optimistic.saturating_add(Inference::consensus_weight(&info.cost, info.size))
		));
		let actual = submit_consensus(model, 1).unwrap().actual_weight.unwrap();
		assert!(actual.all_lte(declared) && actual != declared, "{actual:?} of {declared:?}");
		assert!(
			submit_consensus(model, 8).unwrap().actual_weight.unwrap().ref_time()
				> actual.ref_time()
		);
	});
}

#[test]
fn a_consumer_hears_of_a_consensus_job_in_the_request_itself() {
	new_test_ext(|_| {
		let model = publish_consensus(b"affine", &affine());
		let job = <Inference as InferenceProvider<AccountId>>::request(
			&REQUESTER,
			model,
			input().into_inner(),
			PRICE,
			VerificationMode::Consensus,
			Some(Callback { consumer: TEST_CONSUMER, tag: 9 }),
		)
		.unwrap();
		let output = Outputs::<Test>::get(job).unwrap().into_inner();
		assert_eq!(Delivered::get(), vec![(job, 9, JobResult::Settled { output })]);
		assert_eq!(
			<Inference as InferenceProvider<AccountId>>::quote(&model, VerificationMode::Consensus),
			Some(PRICE)
		);
	});
}

#[test]
fn interpret_evaluates_a_graph_without_a_job_and_no_more_than_a_job_may() {
	new_test_ext(|_| {
		let input = batch_input(2).into_inner();
		let (output, cost) = Inference::interpret(&affine().encode(), &input, 1 << 20).unwrap();
		let tensors = verity_primitives::decode_tensors(&input).unwrap();
		let limits = verity_interp::Limits { max_memory: 1 << 20 };
		assert_eq!((output, cost), {
			let (o, c) = verity_interp::run(&affine(), &tensors, &limits).unwrap();
			(o.encode(), c)
		});
		assert_eq!(
			Inference::interpret(b"junk", &input, 1 << 20).unwrap_err(),
			b"malformed graph: not a SCALE graph".to_vec()
		);
		MaxConsensusWeight::set(frame_support::weights::Weight::from_parts(1, u64::MAX));
		assert_eq!(
			Inference::interpret(&affine().encode(), &input, 1 << 20).unwrap_err(),
			b"over MaxConsensusWeight".to_vec()
		);
	});
}
