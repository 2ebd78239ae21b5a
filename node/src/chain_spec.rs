//! Chain specifications: `dev` and `local`, both built from the runtime's
//! genesis presets.

use sc_service::ChainType;
use verity_runtime::WASM_BINARY;

/// A chain spec of the Verity runtime.
pub type ChainSpec = sc_service::GenericChainSpec;

fn properties() -> sc_chain_spec::Properties {
	let mut p = sc_chain_spec::Properties::new();
	p.insert("tokenSymbol".into(), "VRT".into());
	p.insert("tokenDecimals".into(), 12.into());
	p.insert("ss58Format".into(), 42.into());
	p
}

fn wasm() -> Result<&'static [u8], String> {
	WASM_BINARY.ok_or_else(|| "the runtime's wasm blob was not built (SKIP_WASM_BUILD?)".into())
}

/// Single-node development chain: Alice authors and is sudo.
pub fn development_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm()?, None)
		.with_name("Verity Development")
		.with_id("verity_dev")
		.with_chain_type(ChainType::Development)
		.with_genesis_config_preset_name(sp_genesis_builder::DEV_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}

/// Local testnet: Alice, Bob and Charlie author with BABE and finalize with GRANDPA.
pub fn local_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm()?, None)
		.with_name("Verity Local Testnet")
		.with_id("verity_local")
		.with_chain_type(ChainType::Local)
		.with_genesis_config_preset_name(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}
