//! One module per role; each subcommand is a function from its arguments to
//! what it prints.

pub mod dashboard;
pub mod job;
pub mod local;
pub mod model;
pub mod roles;

use std::io::Read;

use anyhow::{anyhow, bail, Context as _};
use sp_core::H256;
use subxt_signer::sr25519::Keypair;
use verity_primitives::{json, Tensor};

use crate::chain::{self, Chain};

/// What every command may need: where the node is, who signs.
pub struct Context {
	/// The node's RPC URL.
	pub url: String,
	/// The signer's secret URI, if given.
	pub suri: Option<String>,
}

impl Context {
	/// Connects to the node.
	pub async fn chain(&self) -> anyhow::Result<Chain> {
		Chain::connect(&self.url).await
	}

	/// The signing key; an error when `--suri` is missing.
	pub fn signer(&self) -> anyhow::Result<Keypair> {
		match &self.suri {
			Some(s) => chain::keypair(s),
			None => bail!("this command signs a transaction: pass --suri (e.g. --suri //Alice)"),
		}
	}
}

/// Reads a file (`-`: stdin), saying which file failed and why.
pub fn read_file(path: &str) -> anyhow::Result<Vec<u8>> {
	if path == "-" {
		let mut buf = Vec::new();
		std::io::stdin().read_to_end(&mut buf).context("cannot read stdin")?;
		return Ok(buf);
	}
	std::fs::read(path).map_err(|e| anyhow!("cannot read {path}: {e}"))
}

/// Reads a tensor JSON file (`-`: stdin).
pub fn read_tensors(path: &str) -> anyhow::Result<Vec<Tensor>> {
	let bytes = read_file(path)?;
	let text = std::str::from_utf8(&bytes).map_err(|_| anyhow!("{path} is not UTF-8 JSON"))?;
	json::parse_tensors(text).map_err(|e| anyhow!("{path}: {e}"))
}

/// How output tensors are printed.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
	/// The tensor JSON document.
	#[default]
	Json,
	/// For classifiers: the index of the largest element of each row of the
	/// first output, one per line.
	Argmax,
}

/// Prints tensors on stdout as `format` says.
pub fn print_tensors(tensors: &[Tensor], format: OutputFormat) {
	match format {
		OutputFormat::Json => println!("{}", json::tensors_to_json(tensors)),
		OutputFormat::Argmax => {
			for label in tensors.first().map(Tensor::argmax_rows).unwrap_or_default() {
				println!("{label}");
			}
		}
	}
}

/// A model id: `0x` and 64 hex digits.
pub fn parse_model_id(s: &str) -> anyhow::Result<H256> {
	let hex = s.strip_prefix("0x").unwrap_or(s);
	match hex::decode(hex) {
		Ok(b) if b.len() == 32 => Ok(H256::from_slice(&b)),
		_ => bail!("{s:?} is not a model id (0x and 64 hex digits)"),
	}
}
