//! # The Verity runtime
//!
//! A solochain runtime for verifiable AI inference. Block production is Aura,
//! finality GRANDPA (a `--dev` node seals blocks itself instead). Alongside the
//! usual System, Timestamp, Balances, TransactionPayment and Sudo pallets it
//! hosts Verity's own pallets.
//!
//! Layout: [`configs`] holds each pallet's `Config`, `apis` the runtime APIs,
//! [`genesis`] the genesis presets (`development`, `local_testnet`).

#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime`/`#[frame_support::runtime]` generate many undocumented items.
#![allow(missing_docs)]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

extern crate alloc;

// Defines `list_benchmarks!`/`add_benchmarks!`, used by `apis`: it must come first.
#[cfg(feature = "runtime-benchmarks")]
#[macro_use]
mod benchmarks;
mod apis;
pub mod configs;
pub mod genesis;

use alloc::vec::Vec;
use sp_runtime::{
	generic, impl_opaque_keys,
	traits::{BlakeTwo256, IdentifyAccount, Verify},
	MultiAddress, MultiSignature,
};
use sp_version::RuntimeVersion;

pub use apis::RuntimeApi;
pub use frame_support::weights::constants::{
	BlockExecutionWeight, ExtrinsicBaseWeight, RocksDbWeight,
};
pub use pallet_balances::Call as BalancesCall;
pub use pallet_timestamp::Call as TimestampCall;
pub use sp_runtime::{Perbill, Permill};

/// Opaque types: what the node needs to know about the runtime without
/// knowing its calls.
pub mod opaque {
	use super::*;
	use sp_runtime::traits::Hash as HashT;

	pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

	/// Opaque block header type.
	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	/// Opaque block type.
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;
	/// Opaque block identifier type.
	pub type BlockId = generic::BlockId<Block>;
	/// Opaque block hash type.
	pub type Hash = <BlakeTwo256 as HashT>::Output;
}

impl_opaque_keys! {
	/// The keys a node holds: BABE for block production, GRANDPA for finality,
	/// and the `vrty` key its inference offchain worker signs with.
	pub struct SessionKeys {
		pub babe: Babe,
		pub grandpa: Grandpa,
		pub inference: Inference,
	}
}

/// The runtime version.
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("verity"),
	impl_name: alloc::borrow::Cow::Borrowed("verity"),
	authoring_version: 1,
	spec_version: 104,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 1,
	system_version: 1,
};

/// Time and blocks.
pub mod time {
	use super::BlockNumber;

	/// Target block time of the BABE + GRANDPA chain, and the timestamp step of a `--dev` node.
	pub const MILLISECS_PER_BLOCK: u64 = 2000;
	/// BABE slot duration: at most one block per slot.
	pub const SLOT_DURATION: u64 = MILLISECS_PER_BLOCK;
	/// Slots per BABE epoch (10 minutes). The randomness an epoch's VRFs
	/// accumulate seeds the epoch after next; Verity's draws use the VRF
	/// output of single blocks (see `pallet_inference`'s assignment module).
	pub const EPOCH_DURATION_IN_SLOTS: u64 = 10 * 60 * 1000 / SLOT_DURATION;
	/// BABE's genesis epoch configuration: a slot has a primary (VRF lottery)
	/// author with probability 1 - (1 - 1/4)^(authorities); any other slot
	/// goes to its secondary author, who also signs a VRF output. So every
	/// block carries fresh VRF randomness (`ParentBlockRandomness` is never
	/// `None`), which secondary-plain slots would not.
	pub const BABE_GENESIS_EPOCH_CONFIG: sp_consensus_babe::BabeEpochConfiguration =
		sp_consensus_babe::BabeEpochConfiguration {
			c: (1, 4),
			allowed_slots: sp_consensus_babe::AllowedSlots::PrimaryAndSecondaryVRFSlots,
		};
	/// Blocks per minute.
	pub const MINUTES: BlockNumber = 60_000 / (MILLISECS_PER_BLOCK as BlockNumber);
	/// Blocks per hour.
	pub const HOURS: BlockNumber = MINUTES * 60;
	/// Blocks per day.
	pub const DAYS: BlockNumber = HOURS * 24;
}

/// Currency units. Balances have 12 decimals, the token symbol is `VRT`.
pub mod currency {
	use super::Balance;

	/// One VRT.
	pub const UNIT: Balance = 1_000_000_000_000;
	/// 1/1000 VRT.
	pub const MILLI_UNIT: Balance = 1_000_000_000;
	/// 1/1_000_000 VRT.
	pub const MICRO_UNIT: Balance = 1_000_000;
	/// The existential deposit.
	pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNIT;
	/// One byte of on-chain model storage.
	pub const BYTE_DEPOSIT: Balance = MICRO_UNIT;
}

/// Signature type of transactions.
pub type Signature = MultiSignature;
/// An account: the public key behind a [`Signature`].
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;
/// Balance of an account.
pub type Balance = u128;
/// Transaction index of an account.
pub type Nonce = u32;
/// Block hash.
pub type Hash = sp_core::H256;
/// Block number.
pub type BlockNumber = u32;
/// The address format for describing accounts.
pub type Address = MultiAddress<AccountId, ()>;
/// Block header type.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
/// Block type.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;
/// A block id.
pub type BlockId = generic::BlockId<Block>;

/// The extensions that every signed transaction carries.
pub type TxExtension = (
	frame_system::AuthorizeCall<Runtime>,
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
	frame_metadata_hash_extension::CheckMetadataHash<Runtime>,
	frame_system::WeightReclaim<Runtime>,
);

/// An extrinsic as it goes on the wire.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;
/// The payload a signer signs.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Storage migrations run on runtime upgrade, each guarded by its pallet's
/// storage version (spec_version 103: the inference pallet's version 1).
type Migrations = (pallet_inference::migrations::v1::MigrateToV1<Runtime>,);

/// Dispatches calls to the pallets.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

/// The runtime: its pallets and their indices (never reuse an index).
#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;
	#[runtime::pallet_index(2)]
	pub type Babe = pallet_babe;
	#[runtime::pallet_index(3)]
	pub type Grandpa = pallet_grandpa;
	#[runtime::pallet_index(4)]
	pub type Balances = pallet_balances;
	#[runtime::pallet_index(5)]
	pub type TransactionPayment = pallet_transaction_payment;
	#[runtime::pallet_index(6)]
	pub type Sudo = pallet_sudo;

	// Verity's own pallets.
	#[runtime::pallet_index(10)]
	pub type ModelRegistry = pallet_model_registry;
	#[runtime::pallet_index(11)]
	pub type Inference = pallet_inference;

	// An example dApp pallet: consumes inference results.
	#[runtime::pallet_index(20)]
	pub type DigitClassifier = pallet_digit_classifier;
}
