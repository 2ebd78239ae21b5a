//! Talking to a Verity node: connect, sign and submit calls, read storage,
//! runtime APIs and events.
//!
//! subxt carries everything over the wire and builds the transaction
//! extensions from the node's metadata. Calls, events and storage values are
//! the runtime's and pallets' own Rust types (this client links the runtime
//! natively), SCALE-encoded and decoded here, so the client cannot drift from
//! the pallets; [`Chain::connect`] refuses a node whose runtime version differs
//! from the one the client was built with.

use anyhow::{anyhow, bail, Context as _};
use codec::{Decode, Encode};
use frame_support::traits::GetCallMetadata;
use subxt::{
	dynamic,
	ext::{
		scale_encode::{self, EncodeAsFields, FieldIter, TypeResolver},
		scale_value::Value,
	},
	OnlineClient, PolkadotConfig,
};
use subxt_signer::{sr25519::Keypair, SecretUri};
use verity_runtime::{AccountId, Hash, RuntimeCall, RuntimeEvent};

/// The subxt client.
pub type Api = OnlineClient<PolkadotConfig>;
/// One event of a block, as the runtime stores it.
pub type EventRecord = frame_system::EventRecord<RuntimeEvent, Hash>;

/// A connection to a Verity node.
pub struct Chain {
	/// The subxt client.
	pub api: Api,
	/// The node's metadata (at connection time).
	metadata: subxt::metadata::ArcMetadata,
}

/// A transaction that made it into a finalized block and succeeded.
pub struct Included {
	/// The block's number.
	pub block: u64,
	/// The events the transaction emitted.
	pub events: Vec<RuntimeEvent>,
}

/// A runtime call as a subxt payload: pallet and call name for subxt, the
/// SCALE-encoded arguments as the runtime's own `RuntimeCall` encodes them.
struct Payload {
	pallet: &'static str,
	call: &'static str,
	args: Args,
}

/// Pre-encoded call arguments.
struct Args(Vec<u8>);

impl EncodeAsFields for Args {
	fn encode_as_fields_to<R: TypeResolver>(
		&self,
		_fields: &mut dyn FieldIter<'_, R::TypeId>,
		_types: &R,
		out: &mut Vec<u8>,
	) -> Result<(), scale_encode::Error> {
		out.extend_from_slice(&self.0);
		Ok(())
	}
}

impl subxt::transactions::Payload for Payload {
	type CallData = Args;
	fn pallet_name(&self) -> &str {
		self.pallet
	}
	fn call_name(&self) -> &str {
		self.call
	}
	fn call_data(&self) -> &Args {
		&self.args
	}
}

impl From<RuntimeCall> for Payload {
	fn from(call: RuntimeCall) -> Self {
		let meta = call.get_call_metadata();
		// A `RuntimeCall` encodes as pallet index, call index, arguments.
		let args = call.encode()[2..].to_vec();
		Payload { pallet: meta.pallet_name, call: meta.function_name, args: Args(args) }
	}
}

/// The sr25519 key pair of a secret URI (`//Alice`, a mnemonic, a 0x seed).
pub fn keypair(suri: &str) -> anyhow::Result<Keypair> {
	let uri: SecretUri = suri.parse().map_err(|e| anyhow!("invalid secret URI {suri:?}: {e}"))?;
	Keypair::from_uri(&uri).map_err(|e| anyhow!("invalid secret URI {suri:?}: {e}"))
}

/// The account id of a key pair.
pub fn account_of(key: &Keypair) -> AccountId {
	AccountId::new(key.public_key().0)
}

/// An account given as an SS58 address, 0x-hex public key, or secret URI.
pub fn parse_account(s: &str) -> anyhow::Result<AccountId> {
	use sp_core::crypto::Ss58Codec;
	if let Ok(a) = AccountId::from_ss58check(s) {
		return Ok(a);
	}
	if let Some(hex) = s.strip_prefix("0x") {
		if let Ok(bytes) = <[u8; 32]>::try_from(hex::decode(hex).unwrap_or_default()) {
			return Ok(AccountId::new(bytes));
		}
	}
	keypair(s)
		.map(|k| account_of(&k))
		.map_err(|_| anyhow!("{s:?} is not an SS58 address, a 0x public key or a secret URI"))
}

/// An account's SS58 address (generic Substrate prefix 42).
pub fn ss58(a: &AccountId) -> String {
	use sp_core::crypto::Ss58Codec;
	a.to_ss58check()
}

impl Chain {
	/// Connects to the node at `url` and checks that it runs the runtime this
	/// client was built for.
	pub async fn connect(url: &str) -> anyhow::Result<Chain> {
		let api = Api::from_insecure_url(url)
			.await
			.map_err(|e| anyhow!("cannot reach a Verity node at {url}: {e}"))?;
		let at = api.at_current_block().await?;
		let metadata = at.metadata();
		if metadata.pallet_by_name("Inference").is_none()
			|| metadata.pallet_by_name("ModelRegistry").is_none()
		{
			bail!("the node at {url} is not a Verity node (no Inference/ModelRegistry pallets)");
		}
		let ours = verity_runtime::VERSION.spec_version;
		if at.spec_version() != ours {
			bail!(
				"the node at {url} runs runtime version {}, this client was built for {ours}; \
				 build verity from the same source as the node",
				at.spec_version()
			);
		}
		Ok(Chain { metadata, api })
	}

	/// Signs `call` as `signer`, submits it and waits until it is in a
	/// finalized block. A call that fails in the runtime is an error naming
	/// the pallet's error and its meaning.
	pub async fn submit(&self, signer: &Keypair, call: RuntimeCall) -> anyhow::Result<Included> {
		let payload = Payload::from(call);
		let what = format!("{}.{}", payload.pallet, payload.call);
		let progress = self
			.api
			.at_current_block()
			.await?
			.transactions()
			.sign_and_submit_then_watch_default(&payload, signer)
			.await
			.map_err(|e| anyhow!("the node refused {what}: {}", pool_error(&e.to_string())))?;
		let in_block = progress.wait_for_finalized().await.map_err(|e| {
			anyhow!("{what} did not make it into a block: {}", pool_error(&e.to_string()))
		})?;
		let events = in_block.fetch_events().await.with_context(|| format!("events of {what}"))?;
		let index = events.extrinsic_index() as u32;
		let records = <Vec<EventRecord>>::decode(&mut events.all_events_in_block().bytes())
			.context("cannot decode the block's events")?;
		let block = in_block.at().await?.block_number();
		let mine: Vec<RuntimeEvent> = records
			.into_iter()
			.filter(|r| r.phase == frame_system::Phase::ApplyExtrinsic(index))
			.map(|r| r.event)
			.collect();
		for e in &mine {
			if let RuntimeEvent::System(frame_system::Event::ExtrinsicFailed {
				dispatch_error,
				..
			}) = e
			{
				bail!("{what} failed: {}", self.describe_error(dispatch_error));
			}
		}
		Ok(Included { block, events: mine })
	}

	/// A dispatch error in words: `Pallet.Error: its documentation`.
	pub fn describe_error(&self, error: &sp_runtime::DispatchError) -> String {
		use sp_runtime::{DispatchError, TokenError};
		match error {
			DispatchError::Module(m) => {
				let found = self.metadata.pallet_by_error_index(m.index).and_then(|p| {
					p.error_variant_by_index(m.error[0])
						.map(|v| (p.name().to_string(), v.name.clone(), v.docs.join(" ")))
				});
				match found {
					Some((pallet, name, docs)) if docs.is_empty() => format!("{pallet}.{name}"),
					Some((pallet, name, docs)) => format!("{pallet}.{name}: {}", docs.trim()),
					None => format!("{error:?}"),
				}
			}
			DispatchError::Token(TokenError::FundsUnavailable) => {
				"insufficient balance (Token.FundsUnavailable)".into()
			}
			DispatchError::Token(t) => format!("token error: {t:?}"),
			DispatchError::BadOrigin => "not allowed for this account (BadOrigin)".into(),
			other => format!("{other:?}"),
		}
	}

	/// Calls runtime API `method` (e.g. `InferenceApi_job`) with SCALE `args`
	/// at the latest finalized block.
	pub async fn runtime_api<R: Decode>(
		&self,
		method: &str,
		args: impl Encode,
	) -> anyhow::Result<R> {
		let at = self.api.at_current_block().await?;
		let bytes = at
			.runtime_apis()
			.call_raw(method, Some(&args.encode()))
			.await
			.with_context(|| format!("runtime API {method}"))?;
		R::decode(&mut &bytes[..]).with_context(|| format!("cannot decode the answer of {method}"))
	}

	/// The value of a storage map entry (`key` as a SCALE value, e.g.
	/// `Value::u128(job)`), SCALE-decoded as `R`.
	pub async fn storage<R: Decode>(
		&self,
		pallet: &str,
		entry: &str,
		key: Value,
	) -> anyhow::Result<Option<R>> {
		let at = self.api.at_current_block().await?;
		let addr = dynamic::storage::<(Value,), Value>(pallet, entry);
		let found = at
			.storage()
			.try_fetch(addr, (key,))
			.await
			.with_context(|| format!("reading {pallet}.{entry}"))?;
		found
			.map(|v| R::decode(&mut v.bytes()))
			.transpose()
			.with_context(|| format!("cannot decode {pallet}.{entry}"))
	}

	/// Every entry of a storage map: (the raw key, the value decoded as `R`).
	pub async fn storage_entries<R: Decode>(
		&self,
		pallet: &str,
		entry: &str,
	) -> anyhow::Result<Vec<(Vec<u8>, R)>> {
		let at = self.api.at_current_block().await?;
		let addr = dynamic::storage::<(Value,), Value>(pallet, entry);
		let mut entries = at
			.storage()
			.iter(addr, ())
			.await
			.with_context(|| format!("reading {pallet}.{entry}"))?;
		let mut out = Vec::new();
		while let Some(kv) = entries.next().await {
			let kv = kv.with_context(|| format!("reading {pallet}.{entry}"))?;
			let value = R::decode(&mut kv.value().bytes())
				.with_context(|| format!("cannot decode {pallet}.{entry}"))?;
			out.push((kv.key_bytes().to_vec(), value));
		}
		Ok(out)
	}

	/// A pallet constant, SCALE-decoded as `R`.
	pub fn constant<R: Decode>(&self, pallet: &str, name: &str) -> anyhow::Result<R> {
		let c = self
			.metadata
			.pallet_by_name(pallet)
			.and_then(|p| p.constant_by_name(name))
			.ok_or_else(|| anyhow!("the node has no constant {pallet}.{name}"))?;
		R::decode(&mut c.value()).with_context(|| format!("cannot decode {pallet}.{name}"))
	}

	/// Number of the latest finalized block.
	pub async fn finalized(&self) -> anyhow::Result<u64> {
		Ok(self.api.at_current_block().await?.block_number())
	}

	/// The events of finalized block `number`.
	pub async fn events_at(&self, number: u64) -> anyhow::Result<Vec<EventRecord>> {
		let at = self.api.at_block(number).await?;
		let events = at.events().fetch().await?;
		<Vec<EventRecord>>::decode(&mut events.bytes()).context("cannot decode the block's events")
	}
}

/// Transaction pool errors in plain words where they have a common cause.
fn pool_error(e: &str) -> String {
	if e.contains("Inability to pay some fees") {
		format!("insufficient balance to pay the transaction fee ({e})")
	} else {
		e.to_string()
	}
}
