//! The runtime's tensor decoding and checks on hostile bytes (issue 15,
//! part 5): `decode_tensors` reads every job input and executor output the
//! chain stores, `check_tensors` judges them against a model's declaration,
//! `outputs_agree` compares outputs in disputes, and the typed form is what
//! the runtime API gives clients. None of them may panic on any input, and
//! what they accept must mean one thing.

use codec::Encode;
use proptest::prelude::*;
use sp_arithmetic::FixedU64;
use sp_runtime::BoundedVec;
use verity_primitives::{
	check_tensors, decode_tensors, outputs_agree, DType, Dim, Tensor, TensorSpec,
	VerificationPolicy,
};

fn dtype() -> impl Strategy<Value = DType> {
	prop::sample::select(vec![
		DType::Float32,
		DType::Float64,
		DType::Int64,
		DType::Int32,
		DType::Uint8,
		DType::Bool,
	])
}

/// Any tensor, consistent or not.
fn tensor() -> impl Strategy<Value = Tensor> {
	(
		prop::sample::select(vec![b"x".to_vec(), b"y".to_vec(), vec![0xff, 0x00], vec![]]),
		dtype(),
		prop::collection::vec(prop_oneof![0u32..5, Just(u32::MAX)], 0..4),
		prop::collection::vec(any::<u8>(), 0..64),
	)
		.prop_map(|(name, dtype, shape, data)| Tensor { name, dtype, shape, data })
}

/// A consistent tensor with finite elements, booleans 0 or 1, and a UTF-8
/// name: what the typed form carries without loss.
fn clean_tensor() -> impl Strategy<Value = Tensor> {
	(dtype(), prop::collection::vec(1u32..4, 0..3), "[a-z_]{0,6}").prop_flat_map(
		|(dtype, shape, name)| {
			let n = shape.iter().product::<u32>() as usize;
			prop::collection::vec(-1.0e6f64..1.0e6, n).prop_map(move |values| Tensor {
				name: name.clone().into_bytes(),
				dtype,
				shape: shape.clone(),
				data: values
					.iter()
					.flat_map(|v| match dtype {
						DType::Float32 => (*v as f32).to_le_bytes().to_vec(),
						DType::Float64 => v.to_le_bytes().to_vec(),
						DType::Int64 => (*v as i64).to_le_bytes().to_vec(),
						DType::Int32 => (*v as i32).to_le_bytes().to_vec(),
						DType::Uint8 => vec![*v as u8],
						DType::Bool => vec![u8::from(*v > 0.0)],
					})
					.collect(),
			})
		},
	)
}

fn spec() -> impl Strategy<Value = TensorSpec> {
	(
		prop::sample::select(vec![b"x".to_vec(), b"y".to_vec()]),
		dtype(),
		prop::collection::vec(
			prop_oneof![
				(0u32..5).prop_map(Dim::Fixed),
				Just(Dim::Batch),
				(0u32..5).prop_map(Dim::Free)
			],
			0..4,
		),
	)
		.prop_map(|(name, dtype, shape)| TensorSpec {
			name: BoundedVec::truncate_from(name),
			dtype,
			shape: BoundedVec::truncate_from(shape),
		})
}

fn policy() -> impl Strategy<Value = VerificationPolicy> {
	prop_oneof![
		Just(VerificationPolicy::Exact),
		Just(VerificationPolicy::ArgMax),
		(0u32..4).prop_map(VerificationPolicy::TopK),
		(any::<u64>(), any::<u64>()).prop_map(|(a, r)| VerificationPolicy::Tolerance {
			abs: FixedU64::from_inner(a),
			rel: FixedU64::from_inner(r)
		}),
	]
}

/// Bytes that are mostly the encoding of tensors, edited: flipped bytes,
/// cut short, extended, or with a length prefix that claims the world.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
	prop_oneof![
		prop::collection::vec(any::<u8>(), 0..256),
		(prop::collection::vec(tensor(), 0..4), any::<prop::sample::Index>(), any::<u8>(), 0u8..4)
			.prop_map(|(ts, at, byte, how)| {
				let mut b = ts.encode();
				if b.is_empty() {
					return b;
				}
				let i = at.index(b.len());
				match how {
					0 => b[i] ^= byte | 1,
					1 => b.truncate(i),
					2 => b.push(byte),
					// A compact length of 2^30 - 1 where a length goes.
					_ => b.splice(i..i, [0xfe, 0xff, 0xff, 0xff]).for_each(drop),
				}
				b
			}),
	]
}

/// Cases per property: `VERITY_FUZZ_CASES` (`scripts/fuzz`), else 4000.
fn cases() -> u32 {
	std::env::var("VERITY_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(4000)
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(cases()))]

	/// Any bytes decode or are refused, without a panic; whatever decodes
	/// re-encodes to exactly the same bytes (one byte form per value, so
	/// that hashes and byte comparisons of inputs and outputs mean what the
	/// values mean).
	#[test]
	fn decoding_never_panics_and_is_canonical(bytes in hostile_bytes()) {
		if let Ok(tensors) = decode_tensors(&bytes) {
			prop_assert_eq!(tensors.encode(), bytes);
		}
	}

	/// The check against a declaration never panics, and what it accepts is
	/// consistent and has a positive batch.
	#[test]
	fn checking_never_panics_and_accepts_only_consistent_tensors(
		tensors in prop::collection::vec(tensor(), 0..4),
		specs in prop::collection::vec(spec(), 0..4),
	) {
		if let Ok(batch) = check_tensors(&tensors, &specs) {
			prop_assert!(batch >= 1);
			prop_assert!(tensors.iter().all(|t| t.is_consistent()));
			prop_assert_eq!(tensors.len(), specs.len());
		}
	}

	/// Comparing outputs never panics, and an output always agrees with
	/// itself under a valid policy.
	#[test]
	fn comparing_never_panics_and_an_output_agrees_with_itself(
		a in prop::collection::vec(tensor(), 0..3),
		b in prop::collection::vec(tensor(), 0..3),
		clean in prop::collection::vec(clean_tensor(), 1..3),
		policy in policy(),
	) {
		let _ = outputs_agree(&policy, &a, &b);
		if policy.is_valid() {
			prop_assert!(outputs_agree(&policy, &clean, &clean), "{:?} {:?}", policy, clean);
		}
	}

	/// The typed form of a tensor (what the runtime API gives clients) never
	/// panics, and turns back into the same bytes for finite values.
	#[test]
	fn the_typed_form_round_trips(any_tensor in tensor(), clean in clean_tensor()) {
		if let Some(typed) = any_tensor.typed() {
			let _ = typed.to_tensor();
		}
		let typed = clean.typed().expect("a consistent tensor has a typed form");
		prop_assert_eq!(typed.to_tensor(), Ok(clean));
	}
}

/// A length prefix that claims 2^30 tensors, or a tensor of 2^30 data bytes,
/// with nothing behind it, is refused without allocating what it claims.
#[test]
fn lying_length_prefixes_are_refused() {
	for bytes in [
		vec![0xfe, 0xff, 0xff, 0xff],
		// One tensor: name "x", Float32, shape [], then 2^30 - 1 data bytes
		// claimed, 3 given.
		vec![0x04, 0x04, b'x', 0x00, 0x00, 0xfe, 0xff, 0xff, 0xff, 1, 2, 3],
	] {
		assert!(decode_tensors(&bytes).is_err());
	}
}
