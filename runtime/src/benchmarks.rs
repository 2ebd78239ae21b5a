//! The pallets whose benchmarks `verity-node benchmark pallet` can run.

frame_benchmarking::define_benchmarks!(
	[pallet_balances, Balances]
	[pallet_timestamp, Timestamp]
	[pallet_sudo, Sudo]
	[pallet_model_registry, ModelRegistry]
	[pallet_inference, Inference]
	[pallet_digit_classifier, DigitClassifier]
);
