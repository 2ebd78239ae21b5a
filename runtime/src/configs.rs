//! Configuration of each pallet in the runtime.

use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU128, ConstU32, ConstU64, ConstU8, VariantCountOf},
	weights::{
		constants::{RocksDbWeight, WEIGHT_REF_TIME_PER_SECOND},
		ConstantMultiplier, IdentityFee, Weight,
	},
};
use frame_support::{traits::tokens::imbalance::ResolveTo, PalletId};
use frame_system::limits::{BlockLength, BlockWeights};
use pallet_transaction_payment::{ConstFeeMultiplier, FungibleAdapter, Multiplier};
use sp_runtime::{
	traits::{AccountIdConversion, One},
	Perbill,
};
use sp_version::RuntimeVersion;

use super::{
	currency::{BYTE_DEPOSIT, EXISTENTIAL_DEPOSIT, MILLI_UNIT, UNIT},
	time::SLOT_DURATION,
	time::{DAYS, HOURS},
	AccountId, Babe, Balance, Balances, Block, BlockNumber, DigitClassifier, Hash, Inference,
	ModelRegistry, Nonce, PalletInfo, Runtime, RuntimeCall, RuntimeEvent, RuntimeFreezeReason,
	RuntimeHoldReason, RuntimeOrigin, RuntimeTask, System, VERSION,
};

/// The shortest challenge window a model may have: 10 blocks (20 s). An
/// audit needs the draw (`DRAW_DELAY`, 2 blocks), the auditor's run (at most
/// the engine's wall-clock limit, 10 s = 5 blocks) and two blocks to get its
/// challenge included: 9. The test below keeps it so.
pub const MIN_CHALLENGE_PERIOD: BlockNumber = 10;

const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

parameter_types! {
	/// Blocks whose hashes are kept for `CheckEra`/`CheckGenesis`.
	pub const BlockHashCount: BlockNumber = 2400;
	/// The runtime version, for `CheckSpecVersion`/`CheckTxVersion`.
	pub const Version: RuntimeVersion = VERSION;

	/// Two seconds of compute per block, of which 75 % for normal extrinsics.
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
		Weight::from_parts(2u64 * WEIGHT_REF_TIME_PER_SECOND, u64::MAX),
		NORMAL_DISPATCH_RATIO,
	);
	/// 5 MiB blocks, of which 75 % for normal extrinsics (a model upload chunk must fit).
	pub RuntimeBlockLength: BlockLength = BlockLength::builder()
		.max_length(5 * 1024 * 1024)
		.modify_max_length_for_class(frame_support::dispatch::DispatchClass::Normal, |max| *max = NORMAL_DISPATCH_RATIO * *max)
		.build();
	/// Generic substrate prefix: dev accounts show as `5Grw...` addresses.
	pub const SS58Prefix: u8 = 42;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	type DbWeight = RocksDbWeight;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = ConstU32<16>;
}

parameter_types! {
	/// Slots per BABE epoch.
	pub const EpochDuration: u64 = super::time::EPOCH_DURATION_IN_SLOTS;
	/// BABE's expected block time (its slot duration).
	pub const ExpectedBlockTime: u64 = SLOT_DURATION;
}

impl pallet_babe::Config for Runtime {
	type EpochDuration = EpochDuration;
	type ExpectedBlockTime = ExpectedBlockTime;
	// A solochain without staking: the genesis authorities stay, and epochs
	// change on time.
	type EpochChangeTrigger = pallet_babe::SameAuthoritiesForever;
	type DisabledValidators = ();
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<32>;
	type MaxNominators = ConstU32<0>;
	type KeyOwnerProof = sp_core::Void;
	type EquivocationReportSystem = ();
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<32>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	type KeyOwnerProof = sp_core::Void;
	type EquivocationReportSystem = ();
}

impl pallet_timestamp::Config for Runtime {
	type Moment = u64;
	type OnTimestampSet = Babe;
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = ();
}

impl pallet_balances::Config for Runtime {
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ();
	type ReserveIdentifier = [u8; 8];
	type Balance = Balance;
	type RuntimeEvent = RuntimeEvent;
	type DustRemoval = ();
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type DoneSlashHandler = ();
}

parameter_types! {
	/// Fees are not adjusted by congestion.
	pub FeeMultiplier: Multiplier = Multiplier::one();
	/// Fee per byte of a transaction: one micro-VRT, 1 VRT per MiB, what a
	/// byte of model or job data pays as deposit (docs/ECONOMICS.md). One
	/// planck per byte made a 1 MiB job input cost a millionth of a VRT.
	pub const TransactionByteFee: Balance = BYTE_DEPOSIT;
}

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = FungibleAdapter<Balances, ()>;
	type OperationalFeeMultiplier = ConstU8<5>;
	type WeightToFee = IdentityFee<Balance>;
	type LengthToFee = ConstantMultiplier<Balance, TransactionByteFee>;
	type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// The protocol's account: receives slashes (and, later, protocol fees).
	pub TreasuryAccount: AccountId = PalletId(*b"vrt/trsy").into_account_truncating();
}

impl pallet_model_registry::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Slash = ResolveTo<TreasuryAccount, Balances>;
	type ModelUsage = Inference;
	// Verifiers check every uploaded model before jobs may use it.
	type Admission = Inference;
	type MaxGoldenVectors = ConstU32<8>;
	type MinGoldenVectors = ConstU32<1>;
	type MaxGoldenVectorSize = ConstU32<{ 128 * 1024 }>;
	// Consensus mode (docs/ECONOMICS.md): every validator holds and runs
	// these graphs inside block import. 1 MiB of float parameters; the
	// encoded graph (trees take about 20 bytes a node) within 2 MiB, which
	// fits one extrinsic; a run within 16 MiB of the runtime's heap.
	type MaxConsensusGraphSize = ConstU32<{ 2 * 1024 * 1024 }>;
	type MaxConsensusParams = ConstU32<{ 256 * 1024 }>;
	type MaxConsensusMemory = ConstU32<{ 16 * 1024 * 1024 }>;
	type RejectionSlash = RejectionSlash;
	type MaxOutputSize = MaxOutputSize;
	type MaxModelSize = ConstU32<{ 16 * 1024 * 1024 }>;
	type ChunkSize = ConstU32<{ 1024 * 1024 }>;
	type ModelDeposit = ConstU128<UNIT>;
	type ByteDeposit = ConstU128<BYTE_DEPOSIT>;
	type PublisherBond = ConstU128<{ 100 * UNIT }>;
	// Long enough for an audit: see `MIN_CHALLENGE_PERIOD`.
	type MinChallengePeriod = ConstU32<MIN_CHALLENGE_PERIOD>;
	type MaxChallengePeriod = ConstU32<DAYS>;
	// Five minutes: an audit (10 blocks) with room for a person or a
	// watcher to read and check a result before it settles.
	type RecommendedChallengePeriod = ConstU32<{ 5 * super::time::MINUTES }>;
	type WeightInfo = pallet_model_registry::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// Most weight one consensus job's evaluation may take: a tenth of the
	/// block (docs/ECONOMICS.md), so that a block still has room for nine
	/// such jobs' worth of other work and for the market's own steps.
	pub MaxConsensusWeight: Weight = Perbill::from_percent(10) * RuntimeBlockWeights::get().max_block;
	/// Share of the publisher bond slashed when admission rejects a model: a
	/// wrong declaration costs verifiers a check, not a dispute.
	pub const RejectionSlash: Perbill = Perbill::from_percent(20);
	/// Largest job output (the registry refuses models that could not fit one item).
	pub const MaxOutputSize: u32 = 256 * 1024;
	/// Share of its stake an executor loses for a wrong result.
	pub const ExecutorSlash: Perbill = Perbill::from_percent(10);
	/// Share of an executor's slash paid to the successful challenger.
	pub const ChallengerReward: Perbill = Perbill::from_percent(20);
	/// Share of an executor's slash paid to the verifiers of the quorum.
	pub const VerifierReward: Perbill = Perbill::from_percent(30);
	/// Share of a failed challenger's bond paid to the executor.
	pub const ExecutorShare: Perbill = Perbill::from_percent(50);
	/// Share of its stake a verifier loses for not voting.
	pub const VerifierPenalty: Perbill = Perbill::from_percent(1);
	/// A committee member outvoted by a quorum loses 10 % of its stake
	/// (docs/ECONOMICS.md: it must exceed what copying saves).
	pub const MinorityPenalty: Perbill = Perbill::from_percent(10);
	/// One optimistic result in ten is re-executed by a drawn verifier
	/// (docs/ECONOMICS.md: lying then loses 10 VRT per job in expectation
	/// against a 0.02 VRT fee saved). Governance can change it.
	pub const DefaultAuditRate: Perbill = Perbill::from_percent(10);
}

impl frame_system::offchain::SigningTypes for Runtime {
	type Public = <crate::Signature as sp_runtime::traits::Verify>::Signer;
	type Signature = crate::Signature;
}

impl<C> frame_system::offchain::CreateTransactionBase<C> for Runtime
where
	RuntimeCall: From<C>,
{
	type Extrinsic = crate::UncheckedExtrinsic;
	type RuntimeCall = RuntimeCall;
}

/// Lets offchain workers (the inference pallet's executors and verifiers)
/// sign transactions with the keys in the node's keystore.
impl<C> frame_system::offchain::CreateSignedTransaction<C> for Runtime
where
	RuntimeCall: From<C>,
{
	fn create_signed_transaction<
		A: frame_system::offchain::AppCrypto<Self::Public, Self::Signature>,
	>(
		call: RuntimeCall,
		public: Self::Public,
		account: AccountId,
		nonce: Nonce,
	) -> Option<crate::UncheckedExtrinsic> {
		use codec::Encode;
		use sp_runtime::{generic::Era, traits::StaticLookup, SaturatedConversion};
		let period = BlockHashCount::get().checked_next_power_of_two().map_or(2, |c| c / 2) as u64;
		let current = System::block_number().saturated_into::<u64>().saturating_sub(1);
		let tx_ext: crate::TxExtension = (
			frame_system::AuthorizeCall::<Runtime>::new(),
			frame_system::CheckNonZeroSender::<Runtime>::new(),
			frame_system::CheckSpecVersion::<Runtime>::new(),
			frame_system::CheckTxVersion::<Runtime>::new(),
			frame_system::CheckGenesis::<Runtime>::new(),
			frame_system::CheckEra::<Runtime>::from(Era::mortal(period, current)),
			frame_system::CheckNonce::<Runtime>::from(nonce),
			frame_system::CheckWeight::<Runtime>::new(),
			pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(0),
			frame_metadata_hash_extension::CheckMetadataHash::<Runtime>::new(false),
			frame_system::WeightReclaim::<Runtime>::new(),
		);
		let payload = crate::SignedPayload::new(call, tx_ext).ok()?;
		let signature = payload.using_encoded(|bytes| A::sign(bytes, public))?;
		let (call, tx_ext, _) = payload.deconstruct();
		let address = <Runtime as frame_system::Config>::Lookup::unlookup(account);
		Some(crate::UncheckedExtrinsic::new_signed(call, address, signature, tx_ext))
	}
}

impl pallet_inference::Config for Runtime {
	type AuthorityId = pallet_inference::crypto::InferenceAuthId;
	// The parent block's BABE VRF output (primary and secondary VRF slots
	// only, so every block has one).
	type Randomness = pallet_babe::ParentBlockRandomness<Runtime>;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Models = ModelRegistry;
	type Treasury = TreasuryAccount;
	type ForceOrigin = frame_system::EnsureRoot<AccountId>;
	type OnSettled = (DigitClassifier,);
	type ExecutorFee = ConstU128<{ 20 * MILLI_UNIT }>;
	type ProtocolFee = ConstU128<{ 2 * MILLI_UNIT }>;
	type MinExecutorStake = ConstU128<{ 1_000 * UNIT }>;
	type MinVerifierStake = ConstU128<{ 1_000 * UNIT }>;
	type UnbondingPeriod = ConstU32<HOURS>;
	type ResultTimeout = ConstU32<30>;
	// Twice the job's fee (docs/ECONOMICS.md): more than an executor earns
	// by taking a job it cannot run, and declining costs nothing.
	type TimeoutPenalty = ConstU32<2>;
	type MaxDeclines = ConstU32<3>;
	type MaxMissedDeadlines = ConstU32<3>;
	type ExecutorSlash = ExecutorSlash;
	type ChallengeBond = ConstU128<{ 10 * UNIT }>;
	type ChallengerReward = ChallengerReward;
	type VerifierReward = VerifierReward;
	type ExecutorShare = ExecutorShare;
	type VerifierPenalty = VerifierPenalty;
	type DefaultAuditRate = DefaultAuditRate;
	// An audit is the executor's work again, paid as such (docs/ECONOMICS.md).
	type AuditReward = ConstU128<{ 20 * MILLI_UNIT }>;
	type MinorityPenalty = MinorityPenalty;
	type CommitteeSize = ConstU32<3>;
	type DisputePeriod = ConstU32<30>;
	type MaxDisputeRounds = ConstU32<3>;
	type MaxMissedDuties = ConstU32<3>;
	// Job data pays what model bytes pay (docs/ECONOMICS.md).
	type DataByteDeposit = ConstU128<BYTE_DEPOSIT>;
	type ResultRetention = ConstU32<DAYS>;
	type MaxInputSize = ConstU32<{ 1024 * 1024 }>;
	type MaxOutputSize = MaxOutputSize;
	type MaxExecutors = ConstU32<64>;
	type MaxVerifiers = ConstU32<64>;
	type MaxModelsPerExecutor = ConstU32<16>;
	type MaxOpenJobs = ConstU32<256>;
	type MaxOpenDisputes = ConstU32<64>;
	type MaxDeadlinesPerBlock = ConstU32<128>;
	type MaxStepsPerBlock = ConstU32<128>;
	// Draws are cheap (a few milliseconds at 64 executors); 16 a block
	// carry about 10 jobs a block (docs/ECONOMICS.md), and the integrity
	// test keeps the worst block's scheduled work under a quarter of it.
	type MaxDrawsPerBlock = ConstU32<16>;
	type MaxConsensusWeight = MaxConsensusWeight;
	type WeightInfo = pallet_inference::weights::SubstrateWeight<Runtime>;
}

impl pallet_digit_classifier::Config for Runtime {
	type Inference = Inference;
	type AdminOrigin = frame_system::EnsureRoot<AccountId>;
	// As long as the market keeps a job's output readable.
	type RequestRetention = ConstU32<DAYS>;
	type WeightInfo = pallet_digit_classifier::weights::SubstrateWeight<Runtime>;
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_minimum_challenge_window_covers_an_audit() {
		let timeout = verity_engine_interface::Limits::default().timeout_ms;
		let run = timeout.div_ceil(super::super::time::MILLISECS_PER_BLOCK) as BlockNumber;
		assert!(MIN_CHALLENGE_PERIOD >= pallet_inference::DRAW_DELAY + run + 2);
	}
}
