//! Threads change speed, never bytes: every model of the test corpus and the
//! bundled models (all under 5 MiB), at small and large batches, gives
//! byte-identical outputs on one thread and on two. tract-linalg splits work
//! into independent tiles and keeps its reduction blocks fixed; this test
//! holds it to that, both at tract's default thresholds for threading (what
//! a node runs) and with every threshold at zero, so that every kernel that
//! can thread does, even on the small models.
//!
//! One test function: the thresholds are process-global.

use std::path::PathBuf;

use codec::Encode;
use verity_engine::{engine::Engine, Limits};
use verity_primitives::{json::tensor_from_json, DType, Tensor};

fn root() -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A seeded float tensor of `shape` (values in [-1, 1)).
fn seeded(name: &str, shape: Vec<u32>, seed: u64) -> Tensor {
	let n: u32 = shape.iter().product();
	let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
	let data = (0..n)
		.flat_map(|_| {
			x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
			((x >> 40) as f32 / (1u64 << 23) as f32 - 1.0).to_le_bytes()
		})
		.collect();
	Tensor { name: name.as_bytes().to_vec(), dtype: DType::Float32, shape, data }
}

/// Every model with the inputs to run it on.
fn cases() -> Vec<(String, Vec<u8>, Vec<Tensor>)> {
	let mut cases = Vec::new();
	let corpus = root().join("models/corpus");
	let mut names: Vec<_> = std::fs::read_dir(&corpus)
		.unwrap()
		.filter_map(|e| {
			e.unwrap().file_name().into_string().unwrap().strip_suffix(".onnx").map(String::from)
		})
		.collect();
	names.sort();
	for name in names {
		let bytes = std::fs::read(corpus.join(format!("{name}.onnx"))).unwrap();
		let doc: serde_json::Value = serde_json::from_str(
			&std::fs::read_to_string(corpus.join(format!("{name}.reference.json"))).unwrap(),
		)
		.unwrap();
		cases.push((name, bytes, vec![tensor_from_json(&doc["input"]).unwrap()]));
	}
	let model = |f: &str| std::fs::read(root().join("models").join(f)).unwrap();
	for batch in [1, 256] {
		let mut x = seeded("x", vec![batch, 64], batch.into());
		// Pixel values 0..16, as the digits are.
		let pixels: Vec<f32> = x
			.data
			.chunks(4)
			.map(|c| (f32::from_le_bytes(c.try_into().unwrap()) * 8.0 + 8.0).round())
			.collect();
		x.data = pixels.iter().flat_map(|v| v.to_le_bytes()).collect();
		cases.push((format!("digits-mlp batch {batch}"), model("digits-mlp.onnx"), vec![x]));
	}
	for batch in [1, 64] {
		cases.push((
			format!("slow-matmul batch {batch}"),
			model("slow-matmul.onnx"),
			vec![seeded("x", vec![batch, 512], 7)],
		));
	}
	cases.push((
		"iris-forest batch 128".into(),
		model("iris-forest.onnx"),
		vec![seeded("x", vec![128, 4], 3)],
	));
	cases
}

/// The SCALE-encoded outputs of each case on an engine of `threads` threads;
/// a case the engine refuses gives its error.
fn outputs(cases: &[(String, Vec<u8>, Vec<Tensor>)], threads: usize) -> Vec<Vec<u8>> {
	let mut engine = Engine::new(Limits::default()).with_threads(threads);
	cases
		.iter()
		.map(|(_, bytes, input)| {
			let id = sp_crypto_hashing::blake2_256(bytes);
			engine
				.load(&id, bytes)
				.and_then(|()| engine.run(&id, input))
				.map(|o| o.encode())
				.unwrap_or_else(|e| format!("{:?}", e.kind).into_bytes())
		})
		.collect()
}

#[test]
fn one_and_two_threads_give_identical_bytes() {
	let cases = cases();
	assert!(cases.iter().all(|(_, bytes, _)| bytes.len() < 5 << 20));
	let single = outputs(&cases, 1);
	let ran = single.iter().filter(|o| !o.starts_with(b"Unsupported")).count();
	assert_eq!(ran, cases.len(), "every model runs");
	let check = |two: Vec<Vec<u8>>, how: &str| {
		for ((name, _, _), (a, b)) in cases.iter().zip(single.iter().zip(&two)) {
			assert!(a == b, "{name}: one and two threads differ ({how})");
		}
	};
	check(outputs(&cases, 2), "default thresholds");
	use tract_linalg::multithread as mt;
	mt::set_threading_panel_threshold(0);
	mt::set_threading_mac_threshold(0);
	mt::set_threading_element_threshold(0);
	check(outputs(&cases, 2), "every threshold at zero");
	// And single-threaded, the forced thresholds change nothing either.
	check(outputs(&cases, 1), "one thread, thresholds at zero");
}
