//! Test runtime: System, Balances, the registry, the inference market, and
//! the classifier wired as the market's consumer.

use crate as pallet_digit_classifier;
use crate::*;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU32, ConstU64, Hooks},
};
use frame_system::EnsureRoot;
use pallet_model_registry::{ModelSpec, ModelVersion, TensorSpec};
use sp_runtime::{
	testing::{TestSignature, UintAuthorityId},
	BoundedVec, BuildStorage, Perbill,
};
use verity_primitives::{Dim, Name, VerificationPolicy};

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Registry: pallet_model_registry,
		Inference: pallet_inference,
		Digits: pallet_digit_classifier,
	}
);

pub type AccountId = u64;
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
	pub const TreasuryAccount: AccountId = TREASURY;
	pub const Ten: Perbill = Perbill::from_percent(10);
	pub const Fifty: Perbill = Perbill::from_percent(50);
}

impl pallet_model_registry::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Slash = frame_support::traits::tokens::imbalance::ResolveTo<TreasuryAccount, Balances>;
	type Admission = ();
	type MaxGoldenVectors = ConstU32<4>;
	type MinGoldenVectors = ConstU32<0>;
	type MaxGoldenVectorSize = ConstU32<4096>;
	type MaxConsensusGraphSize = ConstU32<{ 64 * 1024 }>;
	type MaxConsensusParams = ConstU32<4096>;
	type MaxConsensusMemory = ConstU32<{ 1024 * 1024 }>;
	type RejectionSlash = RejectionSlash;
	type ModelUsage = Inference;
	type MaxOutputSize = ConstU32<4096>;
	type MaxModelSize = ConstU32<{ 1024 * 1024 }>;
	type ChunkSize = ConstU32<1024>;
	type ModelDeposit = ConstU64<10>;
	type ByteDeposit = ConstU64<1>;
	type PublisherBond = ConstU64<500>;
	type MinChallengePeriod = ConstU64<2>;
	type MaxChallengePeriod = ConstU64<100>;
	type RecommendedChallengePeriod = ConstU64<10>;
	type WeightInfo = ();
}

type Extrinsic = sp_runtime::testing::TestXt<RuntimeCall, ()>;

impl frame_system::offchain::SigningTypes for Test {
	type Public = UintAuthorityId;
	type Signature = TestSignature;
}

impl<C> frame_system::offchain::CreateTransactionBase<C> for Test
where
	RuntimeCall: From<C>,
{
	type Extrinsic = Extrinsic;
	type RuntimeCall = RuntimeCall;
}

impl<C> frame_system::offchain::CreateSignedTransaction<C> for Test
where
	RuntimeCall: From<C>,
{
	fn create_signed_transaction<
		A: frame_system::offchain::AppCrypto<Self::Public, Self::Signature>,
	>(
		call: RuntimeCall,
		_public: UintAuthorityId,
		account: AccountId,
		_nonce: u32,
	) -> Option<Extrinsic> {
		Some(Extrinsic::new_signed(call, account, (), ()))
	}
}

/// Signs with [`UintAuthorityId`]s in tests.
pub struct TestAuthId;
impl frame_system::offchain::AppCrypto<UintAuthorityId, TestSignature> for TestAuthId {
	type RuntimeAppPublic = UintAuthorityId;
	type GenericPublic = UintAuthorityId;
	type GenericSignature = TestSignature;
}

pub const PRICE: Balance = 50;
pub const EXECUTOR_FEE: Balance = 20;
pub const PROTOCOL_FEE: Balance = 5;
pub const FEE: Balance = PRICE + EXECUTOR_FEE + PROTOCOL_FEE;
pub const CHALLENGE_PERIOD: u64 = 10;
pub const RESULT_TIMEOUT: u64 = 5;

/// Test randomness: a hash of the subject and the block number.
pub struct TestRandomness;
impl frame_support::traits::Randomness<Option<sp_runtime::testing::H256>, u64> for TestRandomness {
	fn random(subject: &[u8]) -> (Option<sp_runtime::testing::H256>, u64) {
		use sp_runtime::traits::Hash;
		let block = System::block_number();
		(Some(sp_runtime::traits::BlakeTwo256::hash_of(&(subject, block))), block)
	}
}

frame_support::parameter_types! {
	/// A tenth of a second of evaluation per consensus job.
	pub MaxConsensusWeight: frame_support::weights::Weight =
		frame_support::weights::Weight::from_parts(100_000_000_000, u64::MAX);
}

impl pallet_inference::Config for Test {
	type AuthorityId = TestAuthId;
	type Randomness = TestRandomness;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Models = Registry;
	type Treasury = TreasuryAccount;
	type ForceOrigin = EnsureRoot<AccountId>;
	type OnSettled = Digits;
	type ExecutorFee = ConstU64<EXECUTOR_FEE>;
	type ProtocolFee = ConstU64<PROTOCOL_FEE>;
	type MinExecutorStake = ConstU64<1_000>;
	type MinVerifierStake = ConstU64<1_000>;
	type UnbondingPeriod = ConstU64<10>;
	type ResultTimeout = ConstU64<RESULT_TIMEOUT>;
	type TimeoutPenalty = ConstU32<2>;
	type MaxDeclines = ConstU32<3>;
	type MaxMissedDeadlines = ConstU32<3>;
	type ExecutorSlash = Fifty;
	type ChallengeBond = ConstU64<1_000>;
	type ChallengerReward = Ten;
	type VerifierReward = Ten;
	type ExecutorShare = Fifty;
	type VerifierPenalty = Ten;
	type DefaultAuditRate = ();
	type AuditReward = ConstU64<20>;
	type MinorityPenalty = Ten;
	type CommitteeSize = ConstU32<3>;
	type DisputePeriod = ConstU64<5>;
	type MaxDisputeRounds = ConstU32<3>;
	type MaxMissedDuties = ConstU32<3>;
	type DataByteDeposit = ConstU64<0>;
	type ResultRetention = ConstU64<20>;
	type MaxInputSize = ConstU32<4096>;
	type MaxOutputSize = ConstU32<4096>;
	type MaxExecutors = ConstU32<8>;
	type MaxVerifiers = ConstU32<8>;
	type MaxModelsPerExecutor = ConstU32<4>;
	type MaxOpenJobs = ConstU32<8>;
	type MaxOpenDisputes = ConstU32<8>;
	type MaxDeadlinesPerBlock = ConstU32<4>;
	type MaxStepsPerBlock = ConstU32<8>;
	type MaxDrawsPerBlock = ConstU32<3>;
	type MaxConsensusWeight = MaxConsensusWeight;
	type WeightInfo = ();
}

/// Blocks an answered request stays readable in the tests.
pub const REQUEST_RETENTION: u64 = 10;

impl Config for Test {
	type Inference = Inference;
	type AdminOrigin = EnsureRoot<AccountId>;
	type RequestRetention = ConstU64<REQUEST_RETENTION>;
	type WeightInfo = ();
}

pub const PUBLISHER: AccountId = 1;
pub const USER: AccountId = 10;
pub const EXECUTOR: AccountId = 20;
pub const VERIFIERS: [AccountId; 3] = [30, 31, 32];
pub const TREASURY: AccountId = 99;
pub const ENDOWMENT: Balance = 1_000_000;
pub const STAKE: Balance = 10_000;

fn spec(name: &str, n: u32) -> TensorSpec {
	TensorSpec {
		name: Name::try_from(name.as_bytes().to_vec()).unwrap(),
		dtype: DType::Float32,
		shape: BoundedVec::try_from(vec![Dim::Batch, Dim::Fixed(n)]).unwrap(),
	}
}

/// Runs `test` at block 1 with an active digits model set as the classifier,
/// one executor and three verifiers; checks every pallet's invariants after.
pub fn new_test_ext(test: impl FnOnce(ModelId)) {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let balances = [PUBLISHER, USER, EXECUTOR, TREASURY]
		.into_iter()
		.chain(VERIFIERS)
		.map(|a| (a, ENDOWMENT))
		.collect();
	pallet_balances::GenesisConfig::<Test> { balances, ..Default::default() }
		.assimilate_storage(&mut storage)
		.unwrap();
	pallet_inference::GenesisConfig::<Test> {
		executors: vec![(EXECUTOR, STAKE)],
		verifiers: VERIFIERS.iter().map(|v| (*v, STAKE)).collect(),
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	sp_io::TestExternalities::new(storage).execute_with(|| {
		System::set_block_number(1);
		let bytes = b"digits-model";
		let id = ModelId::from(sp_io::hashing::blake2_256(bytes));
		let s = ModelSpec {
			family: Name::try_from(bytes.to_vec()).unwrap(),
			version: ModelVersion { major: 1, minor: 0 },
			size: bytes.len() as u32,
			inputs: BoundedVec::try_from(vec![spec("x", PIXELS as u32)]).unwrap(),
			outputs: BoundedVec::try_from(vec![spec("probabilities", 10)]).unwrap(),
			price: PRICE,
			challenge_period: CHALLENGE_PERIOD,
			max_batch: 1,
			policy: VerificationPolicy::ArgMax,
		};
		Registry::register(RuntimeOrigin::signed(PUBLISHER), id, s).unwrap();
		let graph = BoundedVec::try_from(codec::Encode::encode(&sevens())).unwrap();
		Registry::set_consensus_graph(RuntimeOrigin::signed(PUBLISHER), id, graph).unwrap();
		let chunk = BoundedVec::try_from(bytes.to_vec()).unwrap();
		Registry::upload_chunk(RuntimeOrigin::signed(PUBLISHER), id, 0, chunk).unwrap();
		Digits::set_model(RuntimeOrigin::root(), id).unwrap();
		System::reset_events();
		test(id);
		Digits::do_try_state().expect("classifier invariants hold after the test");
		Inference::do_try_state().expect("inference invariants hold after the test");
	});
}

/// The test model's consensus graph: ten scores, the sum of the pixels for
/// class 7 and zero for the others (`x W` with a one-column `W`).
pub fn sevens() -> verity_interp::Graph {
	use verity_interp::{ConstData, Constant, Elem, Graph, Input, Node, Op, Output};
	let w: Vec<u32> =
		(0..PIXELS * 10).map(|i| if i % 10 == 7 { 1.0f32 } else { 0.0 }.to_bits()).collect();
	Graph {
		version: verity_interp::FORMAT_VERSION,
		inputs: vec![Input { name: b"x".to_vec(), elem: Elem::F32 }],
		constants: vec![Constant { shape: vec![PIXELS as u32, 10], data: ConstData::F32(w) }],
		nodes: vec![Node { op: Op::MatMul, inputs: vec![0, 1] }],
		outputs: vec![Output { name: b"probabilities".to_vec(), value: 2 }],
	}
}

/// Advances to block `n`, running the inference pallet's `on_initialize`.
pub fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Inference::on_initialize(next);
		Digits::do_try_state().expect("classifier invariants hold after every block");
	}
}

/// Ten scores, the largest at `label`, as the model's output.
pub fn scores(label: usize) -> pallet_inference::OutputOf<Test> {
	let s: Vec<f32> = (0..10).map(|i| if i == label { 0.9 } else { 0.01 }).collect();
	let t = Tensor {
		name: b"probabilities".to_vec(),
		dtype: DType::Float32,
		shape: vec![1, 10],
		data: s.iter().flat_map(|v| v.to_le_bytes()).collect(),
	};
	BoundedVec::try_from(vec![t].encode()).unwrap()
}

/// The classifier's events so far.
pub fn events() -> Vec<Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|r| match r.event {
			RuntimeEvent::Digits(e) => Some(e),
			_ => None,
		})
		.collect()
}

/// An empty chain for the benchmarks' tests: each benchmark sets up what it
/// needs, as on the benchmark CLI's empty genesis.
#[cfg(feature = "runtime-benchmarks")]
pub fn new_bench_ext() -> sp_io::TestExternalities {
	let storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}
