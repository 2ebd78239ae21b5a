//! Test runtime: System, Balances, the model registry and the inference pallet.

use crate as pallet_inference;
use crate::*;
use codec::Encode;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU32, ConstU64, Hooks},
};
use frame_system::EnsureRoot;
use pallet_model_registry::{ModelSpec, TensorSpec};
use sp_runtime::{
	testing::{TestSignature, UintAuthorityId},
	BuildStorage,
};
use verity_primitives::{DType, Dim, Name, Tensor};

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Registry: pallet_model_registry,
		Inference: pallet_inference,
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
	/// Scheduled steps per block; tests of the carry-over lower it.
	pub static MaxSteps: u32 = 8;
	/// Deposit per byte of job data; 0 except in the deposit tests.
	pub static DataDeposit: Balance = 0;
	/// Blocks of unbonding; a test of withdrawal mid-dispute shortens it.
	pub static UnbondingBlocks: u64 = UNBONDING;
}

impl pallet_model_registry::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Slash = frame_support::traits::tokens::imbalance::ResolveTo<TreasuryAccount, Balances>;
	type Admission = Inference;
	type MaxGoldenVectors = ConstU32<4>;
	type MinGoldenVectors = ConstU32<1>;
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
	type PublisherBond = ConstU64<PUBLISHER_BOND>;
	type MinChallengePeriod = ConstU64<2>;
	type MaxChallengePeriod = ConstU64<100>;
	type RecommendedChallengePeriod = ConstU64<10>;
	type WeightInfo = ();
}

/// Fees and parameters of the test market.
pub const PRICE: Balance = 50;
pub const EXECUTOR_FEE: Balance = 20;
pub const PROTOCOL_FEE: Balance = 5;
pub const FEE: Balance = PRICE + EXECUTOR_FEE + PROTOCOL_FEE;
/// Paid to an auditor whose output agrees; the audit premium is this times
/// the audit rate (zero by default in the tests).
pub const AUDIT_REWARD: Balance = 20;
pub const STAKE: Balance = 10_000;
pub const BOND: Balance = 1_000;
pub const PUBLISHER_BOND: Balance = 500;
pub const CHALLENGE_PERIOD: u64 = 10;
pub const RESULT_TIMEOUT: u64 = 5;
pub const DISPUTE_PERIOD: u64 = 5;
pub const RETENTION: u64 = 20;
pub const UNBONDING: u64 = 10;

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

parameter_types! {
	/// The "VRF output" of each block, as BABE would record it; blocks
	/// without an entry have one derived from their number.
	pub static Vrf: Vec<(u64, [u8; 32])> = vec![];
}

/// `ParentBlockRandomness` of the test chain: the VRF output of the parent
/// block, settable per block with [`set_vrf`].
pub struct TestRandomness;
impl frame_support::traits::Randomness<Option<sp_core::H256>, u64> for TestRandomness {
	fn random(subject: &[u8]) -> (Option<sp_core::H256>, u64) {
		let parent = System::block_number().saturating_sub(1);
		let vrf = Vrf::get()
			.iter()
			.rev()
			.find(|(b, _)| *b == parent)
			.map(|(_, v)| *v)
			.unwrap_or_else(|| sp_io::hashing::blake2_256(&parent.to_le_bytes()));
		let h = sp_io::hashing::blake2_256(&(subject, vrf).encode());
		(Some(h.into()), parent)
	}
}

/// Makes `vrf` the VRF output of block `block`.
pub fn set_vrf(block: u64, vrf: [u8; 32]) {
	Vrf::mutate(|v| v.push((block, vrf)));
}

frame_support::parameter_types! {
	/// A tenth of a second of evaluation per consensus job (tests lower it).
	pub static MaxConsensusWeight: frame_support::weights::Weight =
		frame_support::weights::Weight::from_parts(100_000_000_000, u64::MAX);
}

impl Config for Test {
	type AuthorityId = TestAuthId;
	type Randomness = TestRandomness;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Models = Registry;
	type Treasury = TreasuryAccount;
	type ForceOrigin = EnsureRoot<AccountId>;
	type OnSettled = TestConsumer;
	type ExecutorFee = ConstU64<EXECUTOR_FEE>;
	type ProtocolFee = ConstU64<PROTOCOL_FEE>;
	type MinExecutorStake = ConstU64<1_000>;
	type MinVerifierStake = ConstU64<1_000>;
	type UnbondingPeriod = UnbondingBlocks;
	type ResultTimeout = ConstU64<RESULT_TIMEOUT>;
	type TimeoutPenalty = ConstU32<2>;
	type MaxDeclines = ConstU32<3>;
	type MaxMissedDeadlines = ConstU32<3>;
	type ExecutorSlash = ExecutorSlash;
	type ChallengeBond = ConstU64<BOND>;
	type ChallengerReward = ChallengerReward;
	type VerifierReward = VerifierReward;
	type ExecutorShare = ExecutorShare;
	type VerifierPenalty = VerifierPenalty;
	type DefaultAuditRate = AuditRateDefault;
	type AuditReward = ConstU64<AUDIT_REWARD>;
	type MinorityPenalty = MinorityPenalty;
	type CommitteeSize = ConstU32<3>;
	type DisputePeriod = ConstU64<DISPUTE_PERIOD>;
	type MaxDisputeRounds = ConstU32<3>;
	type MaxMissedDuties = ConstU32<3>;
	type DataByteDeposit = DataDeposit;
	type ResultRetention = ConstU64<RETENTION>;
	type MaxInputSize = ConstU32<4096>;
	type MaxOutputSize = ConstU32<4096>;
	type MaxExecutors = ConstU32<8>;
	type MaxVerifiers = ConstU32<8>;
	type MaxModelsPerExecutor = ConstU32<4>;
	type MaxOpenJobs = ConstU32<8>;
	type MaxOpenDisputes = ConstU32<8>;
	type MaxDeadlinesPerBlock = ConstU32<4>;
	type MaxStepsPerBlock = MaxSteps;
	type MaxDrawsPerBlock = ConstU32<3>;
	type MaxConsensusWeight = MaxConsensusWeight;
	type WeightInfo = ();
}

/// The test consumer's id.
pub const TEST_CONSUMER: ConsumerId = *b"testcons";

parameter_types! {
	/// Callbacks the test consumer received: (job, tag, result).
	pub static Delivered: Vec<(JobId, u64, JobResult)> = vec![];
	/// Whether the test consumer fails to handle results.
	pub static ConsumerFails: bool = false;
}

/// A consumer that records what it is told and, when told to, fails after
/// writing to storage (which must then be discarded).
pub struct TestConsumer;

/// Where the test consumer writes.
pub const CONSUMER_KEY: &[u8] = b"test-consumer";

impl OnInferenceSettled for TestConsumer {
	fn on_result(
		callback: &Callback,
		job: JobId,
		result: &JobResult,
	) -> Option<sp_runtime::DispatchResult> {
		if callback.consumer != TEST_CONSUMER {
			return None;
		}
		frame_support::storage::unhashed::put(CONSUMER_KEY, &job);
		Delivered::mutate(|d| d.push((job, callback.tag, result.clone())));
		Some(if ConsumerFails::get() {
			Err(DispatchError::Other("consumer fails"))
		} else {
			Ok(())
		})
	}

	fn max_weight() -> Weight {
		Weight::from_parts(1_000_000, 100)
	}
}

parameter_types! {
	pub const ExecutorSlash: Perbill = Perbill::from_percent(50);
	pub const ChallengerReward: Perbill = Perbill::from_percent(20);
	pub const VerifierReward: Perbill = Perbill::from_percent(30);
	pub const ExecutorShare: Perbill = Perbill::from_percent(50);
	pub const VerifierPenalty: Perbill = Perbill::from_percent(5);
	pub const MinorityPenalty: Perbill = Perbill::from_percent(10);
	/// No audits unless a test sets a rate.
	pub const AuditRateDefault: Perbill = Perbill::zero();
}

pub const PUBLISHER: AccountId = 1;
pub const REQUESTER: AccountId = 10;
pub const EXECUTOR: AccountId = 20;
pub const EXECUTOR_2: AccountId = 21;
pub const VERIFIERS: [AccountId; 4] = [30, 31, 32, 33];
pub const CHALLENGER: AccountId = 40;
pub const POOR: AccountId = 50;
pub const TREASURY: AccountId = 99;
pub const ENDOWMENT: Balance = 1_000_000;

/// Runs `test` at block 1 with a published model, one executor and four
/// verifiers; checks the invariants afterwards.
pub fn new_test_ext(test: impl FnOnce(ModelId)) {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut balances: Vec<(AccountId, Balance)> =
		[PUBLISHER, REQUESTER, EXECUTOR, EXECUTOR_2, CHALLENGER, TREASURY]
			.into_iter()
			.chain(VERIFIERS)
			.map(|a| (a, ENDOWMENT))
			.collect();
	balances.push((POOR, 60));
	pallet_balances::GenesisConfig::<Test> { balances, ..Default::default() }
		.assimilate_storage(&mut storage)
		.unwrap();
	pallet_inference::GenesisConfig::<Test> {
		executors: vec![(EXECUTOR, STAKE)],
		verifiers: VERIFIERS.iter().map(|v| (*v, STAKE)).collect(),
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| {
		MaxSteps::set(8);
		DataDeposit::set(0);
		UnbondingBlocks::set(UNBONDING);
		Delivered::set(vec![]);
		ConsumerFails::set(false);
		System::set_block_number(1);
		let model = publish_model(b"model-bytes", VerificationPolicy::ArgMax);
		System::reset_events();
		test(model);
		Inference::do_try_state().expect("inference invariants hold after the test");
		Registry::do_try_state().expect("registry invariants hold after the test");
	});
}

/// A float tensor of `rows` values per item, named `name`.
pub fn spec(name: &str, rows: u32) -> TensorSpec {
	TensorSpec {
		name: Name::try_from(name.as_bytes().to_vec()).unwrap(),
		dtype: DType::Float32,
		shape: BoundedVec::try_from(vec![Dim::Batch, Dim::Fixed(rows)]).unwrap(),
	}
}

/// Publishes `bytes` as an active model (4 floats in, 3 scores out).
pub fn publish_model(bytes: &[u8], policy: VerificationPolicy) -> ModelId {
	publish_model_with_outputs(bytes, policy, 3)
}

/// Publishes `bytes` as an active model with 4 floats in and `outputs` out
/// per item.
pub fn publish_model_with_outputs(
	bytes: &[u8],
	policy: VerificationPolicy,
	outputs: u32,
) -> ModelId {
	let id = ModelId::from(sp_io::hashing::blake2_256(bytes));
	let s = ModelSpec {
		family: Name::try_from(bytes.to_vec()).unwrap(),
		version: pallet_model_registry::ModelVersion { major: 1, minor: 0 },
		size: bytes.len() as u32,
		inputs: BoundedVec::try_from(vec![spec("x", 4)]).unwrap(),
		outputs: BoundedVec::try_from(vec![spec("y", outputs)]).unwrap(),
		price: PRICE,
		challenge_period: CHALLENGE_PERIOD,
		// As many items as fit `MaxOutputSize` (4096 bytes), at most 8.
		max_batch: (4000 / (outputs * 4)).clamp(1, 8),
		policy,
	};
	Registry::register(RuntimeOrigin::signed(PUBLISHER), id, s).unwrap();
	upload_pending(id, bytes, outputs);
	admit(id);
	id
}

/// Gives registered model `id` a golden vector (for `outputs` scores out) and
/// uploads its `bytes`: the model is then pending admission.
pub fn upload_pending(id: ModelId, bytes: &[u8], outputs: u32) {
	let scores: Vec<f32> = (0..outputs).map(|i| i as f32).collect();
	Registry::add_golden_vector(
		RuntimeOrigin::signed(PUBLISHER),
		id,
		BoundedVec::try_from(tensors("x", &[0.1, 0.2, 0.3, 0.4], 4)).unwrap(),
		BoundedVec::try_from(tensors("y", &scores, outputs)).unwrap(),
	)
	.unwrap();
	Registry::upload_chunk(
		RuntimeOrigin::signed(PUBLISHER),
		id,
		0,
		BoundedVec::try_from(bytes.to_vec()).unwrap(),
	)
	.unwrap();
}

/// Has a quorum of `model`'s admission committee vote to admit it.
pub fn admit(model: ModelId) {
	drawn_admission(model);
	let committee = Admissions::<Test>::get(model).expect("admission under way").committee;
	for m in committee.iter().take(2) {
		Inference::submit_admission_vote(RuntimeOrigin::signed(*m), model, AdmissionVote::Admit)
			.unwrap();
	}
	assert!(Registry::is_active(&model), "admitted");
}

/// Draws `model`'s admission committee now, as its scheduled draw would
/// (the tests' randomness is as good in this block as in a later one).
pub fn drawn_admission(model: ModelId) {
	Inference::draw_admission(model);
}

fn tensors(name: &str, values: &[f32], rows: u32) -> Vec<u8> {
	vec![Tensor {
		name: name.as_bytes().to_vec(),
		dtype: DType::Float32,
		shape: vec![values.len() as u32 / rows, rows],
		data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
	}]
	.encode()
}

/// A one-item input for the test model.
pub fn input() -> InputOf<Test> {
	batch_input(1)
}

/// An input of `items` items for the test model.
pub fn batch_input(items: usize) -> InputOf<Test> {
	BoundedVec::try_from(tensors("x", &[0.1, 0.2, 0.3, 0.4].repeat(items), 4)).unwrap()
}

/// A one-item output of the test model with these scores.
pub fn output(scores: [f32; 3]) -> OutputOf<Test> {
	BoundedVec::try_from(tensors("y", &scores, 3)).unwrap()
}

/// Advances to block `n`, running `on_initialize` and checking the invariants
/// after every block.
pub fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Inference::on_initialize(next);
		Inference::do_try_state().expect("invariants hold after every block");
	}
}

/// The inference events emitted so far.
pub fn events() -> Vec<Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|r| match r.event {
			RuntimeEvent::Inference(e) => Some(e),
			_ => None,
		})
		.collect()
}

/// An account's free balance.
pub fn free(who: AccountId) -> Balance {
	Balances::free_balance(who)
}

/// What `who` holds for `reason`.
pub fn held(reason: HoldReason, who: AccountId) -> Balance {
	use frame_support::traits::fungible::InspectHold;
	Balances::balance_on_hold(&reason.into(), &who)
}

/// Externalities for the benchmark test suite: an empty chain at block 1.
#[cfg(feature = "runtime-benchmarks")]
pub fn new_bench_ext() -> sp_io::TestExternalities {
	let storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}
