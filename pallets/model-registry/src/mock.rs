//! Test runtime: System, Balances and the registry.

use crate as pallet_model_registry;
use crate::*;
use frame_support::{derive_impl, parameter_types, traits::ConstU32};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Registry: pallet_model_registry,
	}
);

/// Account ids in the tests.
pub type AccountId = u64;
/// Balances in the tests.
pub type Balance = u64;

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MaxFreezes = ConstU32<1>;
}

parameter_types! {
	/// Share of the publisher bond slashed when admission rejects a model.
	pub const RejectionSlash: sp_runtime::Perbill = sp_runtime::Perbill::from_percent(50);
	/// Tests may change the chunk size (e.g. to 1 MiB for the 16 MiB upload).
	pub static ChunkSize: u32 = 1024;
	/// Slashed bonds end up here.
	pub static Slashed: Balance = 0;
	/// Whether uploaded models wait for admission (and how many golden vectors they need).
	pub static AdmissionRuns: bool = false;
	pub static MinGolden: u32 = 0;
}

/// Admission as the tests set it: off (models active at once) or on
/// (models pending until a test admits or rejects them).
pub struct TestAdmission;
impl ModelAdmission for TestAdmission {
	fn start(_: &ModelId) -> bool {
		AdmissionRuns::get()
	}
	fn start_weight() -> frame_support::weights::Weight {
		frame_support::weights::Weight::zero()
	}
}

/// Counts slashed funds into [`Slashed`].
pub struct CountSlash;
impl frame_support::traits::OnUnbalanced<fungible::Credit<AccountId, Balances>> for CountSlash {
	fn on_nonzero_unbalanced(amount: fungible::Credit<AccountId, Balances>) {
		Slashed::mutate(|s| *s += amount.peek());
	}
}

parameter_types! {
	/// Jobs the tests pretend use a model.
	pub static JobsInFlight: u32 = 0;
}

/// A [`ModelUsage`] the tests control through [`JobsInFlight`].
pub struct TestUsage;
impl ModelUsage for TestUsage {
	fn jobs_in_flight(_: &ModelId) -> u32 {
		JobsInFlight::get()
	}
}

/// Deposit per model.
pub const MODEL_DEPOSIT: Balance = 100;
/// Deposit per byte.
pub const BYTE_DEPOSIT: Balance = 1;
/// Bond per model.
pub const BOND: Balance = 500;
/// Largest model: 16 MiB.
pub const MAX_MODEL_SIZE: u32 = 16 * 1024 * 1024;

impl Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Slash = CountSlash;
	type Admission = TestAdmission;
	type MaxGoldenVectors = ConstU32<4>;
	type MinGoldenVectors = MinGolden;
	type MaxGoldenVectorSize = ConstU32<4096>;
	type MaxConsensusGraphSize = ConstU32<{ 64 * 1024 }>;
	type MaxConsensusParams = ConstU32<4096>;
	type MaxConsensusMemory = ConstU32<{ 1024 * 1024 }>;
	type RejectionSlash = RejectionSlash;
	type ModelUsage = TestUsage;
	type MaxOutputSize = ConstU32<4096>;
	type MaxModelSize = ConstU32<MAX_MODEL_SIZE>;
	type ChunkSize = ChunkSize;
	type ModelDeposit = frame_support::traits::ConstU64<MODEL_DEPOSIT>;
	type ByteDeposit = frame_support::traits::ConstU64<BYTE_DEPOSIT>;
	type PublisherBond = frame_support::traits::ConstU64<BOND>;
	type MinChallengePeriod = frame_support::traits::ConstU64<5>;
	type MaxChallengePeriod = frame_support::traits::ConstU64<1000>;
	type RecommendedChallengePeriod = frame_support::traits::ConstU64<10>;
	type WeightInfo = ();
}

/// Alice publishes, Bob is another publisher, Charlie is poor, Dave has nothing.
pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
pub const CHARLIE: AccountId = 3;
pub const DAVE: AccountId = 4;
/// Starting balances.
pub const ENDOWMENT: Balance = 100_000_000;

/// Runs `test` on a fresh chain at block 1 and checks the invariants afterwards.
pub fn new_test_ext(test: impl FnOnce()) {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: vec![(ALICE, ENDOWMENT), (BOB, ENDOWMENT), (CHARLIE, 1_000)],
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| {
		System::set_block_number(1);
		ChunkSize::set(1024);
		JobsInFlight::set(0);
		Slashed::set(0);
		AdmissionRuns::set(false);
		MinGolden::set(0);
		test();
		Registry::do_try_state().expect("invariants hold after the test");
	});
}

/// The events the registry emitted so far.
pub fn registry_events() -> Vec<Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|r| match r.event {
			RuntimeEvent::Registry(e) => Some(e),
			_ => None,
		})
		.collect()
}

/// Externalities for the benchmark test suite.
#[cfg(feature = "runtime-benchmarks")]
pub fn new_bench_ext() -> sp_io::TestExternalities {
	let storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}
