//! Genesis presets: `development` (one authority, Alice) and `local_testnet`
//! (Alice, Bob and Charlie as BABE + GRANDPA authorities). In both the
//! well-known dev accounts are funded and Alice is sudo.

use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_consensus_babe::AuthorityId as BabeId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_genesis_builder::{self, PresetId};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

use crate::{
	currency::UNIT, AccountId, BabeConfig, Balance, BalancesConfig, GrandpaConfig, InferenceConfig,
	RuntimeGenesisConfig, SudoConfig,
};

/// What every dev account starts with.
pub const ENDOWMENT: Balance = 1_000_000 * UNIT;

/// Stake of each genesis executor and verifier.
pub const MARKET_STAKE: Balance = 1_000 * UNIT;
/// What the development and local chains' treasury starts with: 50,000
/// audits' rewards, so that audits are paid from the first block.
pub const TREASURY_ENDOWMENT: Balance = 1_000 * UNIT;

/// The accounts the genesis presets make executors.
pub const GENESIS_EXECUTORS: [Sr25519Keyring; 2] = [Sr25519Keyring::Alice, Sr25519Keyring::Bob];

/// The accounts the genesis presets make verifiers.
pub const GENESIS_VERIFIERS: [Sr25519Keyring; 4] =
	[Sr25519Keyring::Charlie, Sr25519Keyring::Dave, Sr25519Keyring::Eve, Sr25519Keyring::Ferdie];

fn testnet_genesis(
	authorities: Vec<(BabeId, GrandpaId)>,
	endowed: Vec<AccountId>,
	root: AccountId,
) -> Value {
	let executors = GENESIS_EXECUTORS.map(|k| k.to_account_id());
	let verifiers = GENESIS_VERIFIERS.map(|k| k.to_account_id());
	// The treasury exists from genesis so that it can receive any amount,
	// and holds enough to pay audits (`AuditReward` each) before the audit
	// premiums of settled jobs flow in.
	let treasury = (crate::configs::TreasuryAccount::get(), TREASURY_ENDOWMENT);
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed
				.iter()
				.cloned()
				.map(|k| (k, ENDOWMENT))
				.chain(core::iter::once(treasury))
				.collect::<Vec<_>>(),
		},
		babe: BabeConfig {
			authorities: authorities.iter().map(|x| (x.0.clone(), 1)).collect::<Vec<_>>(),
			epoch_config: crate::time::BABE_GENESIS_EPOCH_CONFIG,
		},
		grandpa: GrandpaConfig {
			authorities: authorities.iter().map(|x| (x.1.clone(), 1)).collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(root) },
		inference: InferenceConfig {
			executors: executors.iter().cloned().map(|k| (k, MARKET_STAKE)).collect::<Vec<_>>(),
			verifiers: verifiers.iter().cloned().map(|k| (k, MARKET_STAKE)).collect::<Vec<_>>(),
		},
	})
}

/// BABE (sr25519) and GRANDPA (ed25519) keys of the dev account `name`.
fn authority(name: Sr25519Keyring) -> (BabeId, GrandpaId) {
	let grandpa = match name {
		Sr25519Keyring::Bob => Ed25519Keyring::Bob,
		Sr25519Keyring::Charlie => Ed25519Keyring::Charlie,
		_ => Ed25519Keyring::Alice,
	};
	(name.public().into(), grandpa.public().into())
}

fn dev_accounts() -> Vec<AccountId> {
	Sr25519Keyring::well_known().map(|k| k.to_account_id()).collect()
}

/// The `development` preset.
pub fn development_config_genesis() -> Value {
	testnet_genesis(
		vec![authority(Sr25519Keyring::Alice)],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// The `local_testnet` preset.
pub fn local_config_genesis() -> Value {
	testnet_genesis(
		vec![
			authority(Sr25519Keyring::Alice),
			authority(Sr25519Keyring::Bob),
			authority(Sr25519Keyring::Charlie),
		],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// The JSON of the preset `id`, if there is one.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET => development_config_genesis(),
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_config_genesis(),
		_ => return None,
	};
	Some(
		serde_json::to_string(&patch)
			.expect("serialization to json is expected to work. qed.")
			.into_bytes(),
	)
}

/// The names of the presets.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
	]
}
