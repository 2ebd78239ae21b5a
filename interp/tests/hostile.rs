//! Graphs as a hostile publisher could upload them: random operators with
//! random attributes wired to random earlier values, random constants and
//! input shapes, and random bytes. The runtime decodes, checks, plans and
//! runs such graphs inside block import, where a panic would make the block
//! invalid: every case must end as an answer or an [`Error`], and a run
//! must stay within the memory its plan allowed.

use codec::Encode;
use proptest::prelude::*;
use verity_interp::{
	run, trees::Classifier, ConstData, Constant, Elem, Error, Graph, Input, Limits, Node, Op,
	Output, Pads, FORMAT_VERSION,
};
use verity_primitives::{DType, Tensor};

fn pads() -> impl Strategy<Value = Pads> {
	prop_oneof![
		prop::array::uniform4(0u32..3).prop_map(Pads::Explicit),
		Just(Pads::SameUpper),
		Just(Pads::SameLower),
	]
}

fn small() -> impl Strategy<Value = [u32; 2]> {
	prop::array::uniform2(0u32..4)
}

fn op() -> impl Strategy<Value = Op> {
	prop_oneof![
		Just(Op::Identity),
		Just(Op::Add),
		Just(Op::Sub),
		Just(Op::Mul),
		Just(Op::Div),
		Just(Op::Relu),
		Just(Op::Sigmoid),
		Just(Op::Tanh),
		Just(Op::Exp),
		Just(Op::Log),
		Just(Op::Sqrt),
		Just(Op::MatMul),
		Just(Op::GlobalAveragePool),
		any::<u32>().prop_map(|b| Op::LeakyRelu { alpha: verity_interp::F32(b) }),
		(any::<bool>(), any::<bool>()).prop_map(|(a, b)| Op::Clip {
			min: a.then_some((-1.0).into()),
			max: b.then_some(f32::NAN.into())
		}),
		prop_oneof![Just(Elem::F32), Just(Elem::I64)].prop_map(|to| Op::Cast { to }),
		(any::<bool>(), any::<bool>()).prop_map(|(trans_a, trans_b)| Op::Gemm {
			alpha: 1.0.into(),
			beta: 0.5.into(),
			trans_a,
			trans_b
		}),
		(small(), small(), pads(), 0u32..3).prop_map(|(strides, dilations, pads, group)| {
			Op::Conv { strides, dilations, pads, group }
		}),
		(small(), small(), pads(), any::<bool>()).prop_map(|(kernel, strides, pads, ceil_mode)| {
			Op::MaxPool { kernel, strides, pads, ceil_mode }
		}),
		(small(), small(), pads(), any::<bool>(), any::<bool>()).prop_map(
			|(kernel, strides, pads, ceil_mode, count_include_pad)| Op::AveragePool {
				kernel,
				strides,
				pads,
				ceil_mode,
				count_include_pad
			}
		),
		(-4i32..4, any::<bool>()).prop_map(|(axis, flat)| Op::Softmax { axis, flat }),
		(-4i32..4, any::<bool>()).prop_map(|(axis, keepdims)| Op::ArgMax { axis, keepdims }),
		prop::collection::vec(-2i64..7, 0..4).prop_map(|shape| Op::Reshape { shape }),
		(-4i32..5).prop_map(|axis| Op::Flatten { axis }),
		(-4i32..4).prop_map(|axis| Op::Concat { axis }),
		prop::collection::vec(0u32..4, 0..4).prop_map(|perm| Op::Transpose { perm }),
		tree(),
	]
}

/// A classifier whose indices are random: mostly refused by the check.
fn tree() -> impl Strategy<Value = Op> {
	use verity_interp::trees::{Aggregate, Child, Cmp, Ensemble, PostTransform, TreeNode};
	let child = prop_oneof![(0u32..4).prop_map(Child::Node), (0u32..4).prop_map(Child::Leaf)];
	let node =
		(0u32..4, child.clone(), child.clone()).prop_map(|(feature, if_true, if_false)| TreeNode {
			feature,
			threshold: 0.5.into(),
			cmp: Cmp::Leq,
			missing_true: false,
			if_true,
			if_false,
		});
	(prop::collection::vec(node, 0..4), prop::collection::vec(child, 1..3), 0u32..4).prop_map(
		|(nodes, roots, n_features)| {
			Op::TreeClassifier(Classifier {
				trees: Ensemble {
					roots,
					nodes,
					leaves: vec![vec![(0, 1.0.into())], vec![(1, 2.0.into())]].into(),
					n_targets: 2,
					n_features,
					base_values: vec![],
					aggregate: Aggregate::Sum,
					post_transform: PostTransform::None,
				},
				labels: vec![0, 1],
				base_values: vec![],
				post_transform: PostTransform::Softmax,
				binary: false,
				weights_positive: true,
			})
		},
	)
}

fn shape() -> impl Strategy<Value = Vec<u32>> {
	prop::collection::vec(0u32..5, 0..5)
}

fn graph() -> impl Strategy<Value = (Graph, Vec<Tensor>)> {
	let constant = shape().prop_flat_map(|shape| {
		let n = shape.iter().product::<u32>() as usize;
		prop_oneof![
			prop::collection::vec(any::<u32>(), n).prop_map(ConstData::F32),
			prop::collection::vec(any::<i64>(), n).prop_map(ConstData::I64),
		]
		.prop_map(move |data| Constant { shape: shape.clone(), data })
	});
	(
		prop::collection::vec(shape(), 1..3),
		prop::collection::vec(constant, 0..3),
		prop::collection::vec((op(), prop::collection::vec(any::<u32>(), 1..4)), 1..8),
		prop::collection::vec(any::<u32>(), 1..3),
	)
		.prop_map(|(inputs, constants, nodes, outputs)| {
			let tensors = inputs
				.iter()
				.enumerate()
				.map(|(i, s)| {
					let n = s.iter().product::<u32>() as usize;
					Tensor {
						name: vec![b'a' + i as u8],
						dtype: DType::Float32,
						shape: s.clone(),
						data: (0..n).flat_map(|k| (k as f32 - 2.0).to_le_bytes()).collect(),
					}
				})
				.collect::<Vec<_>>();
			let graph = Graph {
				version: FORMAT_VERSION,
				inputs: tensors
					.iter()
					.map(|t| Input { name: t.name.clone(), elem: Elem::F32 })
					.collect(),
				constants,
				nodes: Vec::new(),
				outputs: Vec::new(),
			};
			let mut graph = graph;
			// Mostly well-wired: each node reads values that exist, as many
			// as it takes (the check's own refusals are covered too).
			let mut defined = graph.inputs.len() + graph.constants.len();
			for (op, picks) in nodes {
				let (least, _) = op.arity();
				let mut inputs: Vec<u32> = picks.iter().map(|p| p % defined as u32).collect();
				while inputs.len() < least {
					inputs.push(picks[0] % defined as u32);
				}
				inputs.truncate(op.arity().1.max(least));
				defined += op.output_count();
				graph.nodes.push(Node { op, inputs });
			}
			graph.outputs = outputs
				.into_iter()
				.enumerate()
				.map(|(i, v)| Output {
					name: vec![b'y', i as u8],
					value: (v as usize % defined) as u32,
				})
				.collect();
			(graph, tensors)
		})
}

const LIMITS: Limits = Limits { max_memory: 1 << 20 };

proptest! {
	#![proptest_config(ProptestConfig::with_cases(4000))]

	#[test]
	fn a_hostile_graph_ends_in_an_answer_or_an_error((graph, inputs) in graph()) {
		if graph.check().is_ok() {
			match run(&graph, &inputs, &LIMITS) {
				Ok((outputs, cost)) => {
					prop_assert_eq!(outputs.len(), graph.outputs.len());
					prop_assert!(cost.peak_memory <= LIMITS.max_memory);
					for t in &outputs {
						prop_assert!(t.is_consistent());
					}
				}
				Err(Error::Unsupported(_)) => prop_assert!(false, "only the compiler refuses as unsupported"),
				Err(_) => {}
			}
		}
	}

	#[test]
	fn random_bytes_decode_to_an_error_or_a_checked_graph(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
		let _ = Graph::decode_checked(&bytes);
		let mut versioned = vec![FORMAT_VERSION];
		versioned.extend(bytes);
		let _ = Graph::decode_checked(&versioned);
	}

	#[test]
	fn a_graph_survives_its_encoding((graph, _inputs) in graph()) {
		let bytes = graph.encode();
		prop_assert_eq!(Graph::decode_checked(&bytes).ok(), graph.check().ok().map(|_| graph.clone()));
	}
}

#[test]
fn a_run_above_the_memory_limit_is_refused_before_it_allocates() {
	// A 1x1 input broadcast against a [1 << 14, 1 << 14] constant-shaped
	// reshape: 1 GiB of f32 if it ran.
	let graph = Graph {
		version: FORMAT_VERSION,
		inputs: vec![Input { name: b"x".to_vec(), elem: Elem::F32 }],
		constants: vec![Constant {
			shape: vec![1 << 14, 1],
			data: ConstData::F32(vec![0; 1 << 14]),
		}],
		nodes: vec![
			Node { op: Op::Transpose { perm: vec![] }, inputs: vec![1] },
			Node { op: Op::Add, inputs: vec![1, 2] },
		],
		outputs: vec![Output { name: b"y".to_vec(), value: 3 }],
	};
	graph.check().unwrap();
	let x = Tensor { name: b"x".to_vec(), dtype: DType::Float32, shape: vec![1], data: vec![0; 4] };
	assert_eq!(run(&graph, &[x], &LIMITS), Err(Error::TooLarge));
}
