//! Consensus graphs: checked against the declarations, priced, paid for by
//! the storage deposit, removed with the model's bytes.

use super::*;
use codec::Encode;
use verity_interp::{ConstData, Constant, Elem, Graph, Input, Node, Op, OpClass, Output};

/// The digits classifier of [`spec`] as a graph: `softmax(x W + b)` with a
/// `[64, columns]` weight (10 columns match the declaration).
fn graph(input: &str, columns: u32) -> Graph {
	Graph {
		version: verity_interp::FORMAT_VERSION,
		inputs: vec![Input { name: input.as_bytes().to_vec(), elem: Elem::F32 }],
		constants: vec![
			Constant {
				shape: vec![64, columns],
				data: ConstData::F32(vec![0.5f32.to_bits(); 64 * columns as usize]),
			},
			Constant { shape: vec![columns], data: ConstData::F32(vec![0; columns as usize]) },
		],
		nodes: vec![
			Node {
				op: Op::Gemm {
					alpha: 1.0.into(),
					beta: 1.0.into(),
					trans_a: false,
					trans_b: false,
				},
				inputs: vec![0, 1, 2],
			},
			Node { op: Op::Softmax { axis: -1, flat: false }, inputs: vec![3] },
		],
		outputs: vec![Output { name: b"probabilities".to_vec(), value: 4 }],
	}
}

fn bounded(g: &Graph) -> BoundedVec<u8, <Test as Config>::MaxConsensusGraphSize> {
	BoundedVec::try_from(g.encode()).unwrap()
}

fn uploading() -> ModelId {
	let bytes = fake_model(3000, 1);
	register(ALICE, &bytes, spec(3000))
}

#[test]
fn a_graph_matching_the_declarations_is_stored_priced_and_paid_for() {
	new_test_ext(|| {
		let id = uploading();
		let deposit = held_deposit(ALICE);
		let g = bounded(&graph("x", 10));
		assert_ok!(Registry::set_consensus_graph(RuntimeOrigin::signed(ALICE), id, g.clone()));
		let info = ConsensusModels::<Test>::get(id).unwrap();
		assert_eq!(info.size, g.len() as u32);
		assert_eq!(info.parameters, 64 * 10 + 10);
		// One row (max_batch 1): 64 x 10 multiply-adds, 10 exponentials.
		assert_eq!(info.cost.of(OpClass::Linear), 2 * 64 * 10);
		assert_eq!(info.cost.of(OpClass::Transcendental), 10);
		assert_eq!(info.cost.nodes, 2);
		assert_eq!(held_deposit(ALICE), deposit + BYTE_DEPOSIT * g.len() as u64);
		System::assert_last_event(
			Event::ConsensusGraphSet { model: id, parameters: 650, size: g.len() as u32 }.into(),
		);
		assert_eq!(
			<Registry as ModelRegistry<_, _, _>>::consensus_graph(&id),
			Some(g.into_inner())
		);
	});
}

#[test]
fn the_price_is_taken_at_the_largest_batch() {
	new_test_ext(|| {
		let bytes = fake_model(3000, 1);
		let mut s = spec(3000);
		s.max_batch = 8;
		let id = register(ALICE, &bytes, s);
		assert_ok!(Registry::set_consensus_graph(
			RuntimeOrigin::signed(ALICE),
			id,
			bounded(&graph("x", 10))
		));
		assert_eq!(ConsensusModels::<Test>::get(id).unwrap().cost.of(OpClass::Linear), 8 * 2 * 640);
	});
}

#[test]
fn a_graph_that_breaks_the_rules_or_the_declarations_is_refused() {
	new_test_ext(|| {
		let id = uploading();
		let set = |bytes: Vec<u8>| {
			Registry::set_consensus_graph(
				RuntimeOrigin::signed(ALICE),
				id,
				BoundedVec::try_from(bytes).unwrap(),
			)
		};
		assert_noop!(set(b"not a graph".to_vec()), Error::<Test>::ConsensusGraphInvalid);
		// An input the model does not declare.
		assert_noop!(set(graph("pixels", 10).encode()), Error::<Test>::ConsensusGraphInvalid);
		// Nine scores where ten are declared.
		assert_noop!(set(graph("x", 9).encode()), Error::<Test>::ConsensusGraphInvalid);
		// An output read from a value that does not exist.
		let mut g = graph("x", 10);
		g.outputs[0].value = 9;
		assert_noop!(set(g.encode()), Error::<Test>::ConsensusGraphInvalid);
		// 64 x 64 weights: over the mock's 4096 parameters.
		let mut g = graph("x", 64);
		g.nodes.push(Node { op: Op::Identity, inputs: vec![4] });
		assert_noop!(set(g.encode()), Error::<Test>::ConsensusGraphTooLarge);
		assert!(!ConsensusGraphs::<Test>::contains_key(id));
	});
}

#[test]
fn a_run_over_the_memory_cap_at_the_largest_batch_is_refused() {
	new_test_ext(|| {
		let id = uploading();
		// The input concatenated with itself 14 times: a [1, 2^20] value,
		// 4 MiB, over the mock's 1 MiB.
		let mut g = graph("x", 10);
		let mut last = 0;
		for i in 0..14 {
			g.nodes.insert(i, Node { op: Op::Concat { axis: 1 }, inputs: vec![last, last] });
			last = if i == 0 { 3 } else { last + 1 };
		}
		g.nodes.truncate(14);
		g.outputs[0].value = last;
		assert_noop!(
			Registry::set_consensus_graph(RuntimeOrigin::signed(ALICE), id, bounded(&g)),
			Error::<Test>::ConsensusGraphTooLarge
		);
	});
}

#[test]
fn only_the_owner_sets_it_once_while_uploading_and_it_goes_with_the_bytes() {
	new_test_ext(|| {
		let bytes = fake_model(3000, 1);
		let id = register(ALICE, &bytes, spec(3000));
		let g = bounded(&graph("x", 10));
		assert_noop!(
			Registry::set_consensus_graph(RuntimeOrigin::signed(BOB), id, g.clone()),
			Error::<Test>::NotOwner
		);
		assert_ok!(Registry::set_consensus_graph(RuntimeOrigin::signed(ALICE), id, g.clone()));
		assert_noop!(
			Registry::set_consensus_graph(RuntimeOrigin::signed(ALICE), id, g.clone()),
			Error::<Test>::ConsensusGraphAlreadySet
		);
		assert_ok!(Registry::abort_upload(RuntimeOrigin::signed(ALICE), id));
		assert!(!ConsensusGraphs::<Test>::contains_key(id));
		assert!(!ConsensusModels::<Test>::contains_key(id));
		assert_eq!(held_deposit(ALICE), 0);

		// Uploaded, deprecated and retired: gone with the bytes, deposit back.
		let id = register(ALICE, &bytes, spec(3000));
		assert_ok!(Registry::set_consensus_graph(RuntimeOrigin::signed(ALICE), id, g.clone()));
		upload_all(ALICE, id, &bytes);
		assert_noop!(
			Registry::set_consensus_graph(RuntimeOrigin::signed(ALICE), id, g),
			Error::<Test>::NotUploading
		);
		assert_ok!(Registry::deprecate(RuntimeOrigin::signed(ALICE), id));
		assert_ok!(Registry::retire(RuntimeOrigin::signed(ALICE), id));
		assert!(!ConsensusGraphs::<Test>::contains_key(id));
		assert_eq!(held_deposit(ALICE), 0);
	});
}
