//! # Digit classifier: an example Verity dApp
//!
//! A dApp on a Substrate chain is first of all another pallet. This one
//! classifies handwritten digits: a user submits an 8x8 image
//! ([`Pallet::classify`]), the pallet asks the inference market for a run of
//! the classifier model it is configured with, and when the job settles the
//! inference pallet calls back ([`pallet_inference::OnInferenceSettled`]); the
//! pallet stores the predicted label and emits [`Event::DigitClassified`]. If
//! the job fails (timed out, result overturned, model unrunnable), it records
//! why ([`Event::ClassificationFailed`]); the user's fee was refunded by the
//! inference pallet.
//!
//! It is the reference for writing your own consumer:
//! 1. depend on `pallet-inference` and take an
//!    [`InferenceProvider`](pallet_inference::InferenceProvider) in `Config`;
//! 2. request inference with your own `tag` (here: the request id), paying
//!    from the user's account, and remember what the tag stands for;
//! 3. implement [`OnInferenceSettled`](pallet_inference::OnInferenceSettled)
//!    for your pallet, answering only callbacks carrying your
//!    [`CONSUMER`] id, and add the pallet to the runtime's `OnSettled` tuple;
//! 4. weigh your callback (its worst case is charged for every settlement).
//!
//! The callback runs inside settlement, in its own storage layer: if it
//! returns an error its changes are discarded and the inference pallet emits
//! `CallbackFailed`, but nobody's funds are affected.
//!
//! Answered requests stay readable for `RequestRetention` blocks; then the
//! pallet prunes them, oldest first, in the block's spare weight (`on_idle`),
//! so that its storage does not grow with every classification ever made.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

use alloc::vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{pallet_prelude::*, weights::Weight};
use frame_system::pallet_prelude::*;
use pallet_inference::{
	Callback, ConsumerId, FailReason, InferenceProvider, JobId, JobResult, OnInferenceSettled,
	VerificationMode,
};
use scale_info::TypeInfo;
use sp_runtime::Saturating;
use verity_primitives::{decode_tensors, DType, ModelId, Tensor};

pub use pallet::*;
pub use weights::WeightInfo;

/// This pallet's consumer id: callbacks carrying it are ours.
pub const CONSUMER: ConsumerId = *b"digits01";

/// Pixels of an image: 8x8, row by row, each 0 (white) to 16 (black), like
/// scikit-learn's digits data set.
pub const PIXELS: usize = 64;

/// Balance type of the inference market.
pub type BalanceOf<T> = <<T as Config>::Inference as InferenceProvider<
	<T as frame_system::Config>::AccountId,
>>::Balance;

/// A classification request's state.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum Classification {
	/// Waiting for the job to settle.
	Pending,
	/// The settled label, 0 to 9.
	Label(u8),
	/// The job failed; the fee was refunded.
	Failed(FailReason),
}

/// A classification request.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct Request<AccountId, BlockNumber> {
	/// Who asked (and paid).
	pub who: AccountId,
	/// The inference job (`JobId::MAX` while it is being requested).
	pub job: JobId,
	/// When.
	pub at: BlockNumber,
	/// Where it is.
	pub state: Classification,
}

#[frame_support::pallet]
pub mod pallet {
	use super::*;

	/// The layout of this pallet's storage: the first, no migration yet.
	pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of the classifier.
	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The inference market.
		type Inference: InferenceProvider<Self::AccountId>;
		/// May choose the classifier model.
		type AdminOrigin: EnsureOrigin<Self::RuntimeOrigin>;
		/// Blocks an answered request stays readable before it is pruned.
		#[pallet::constant]
		type RequestRetention: Get<BlockNumberFor<Self>>;
		/// Weights from this pallet's benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// The model images are classified with: takes `x` float32 `[N, 64]`,
	/// returns ten scores per image as its first output.
	#[pallet::storage]
	pub type ClassifierModel<T: Config> = StorageValue<_, ModelId>;

	/// Id of the next request.
	#[pallet::storage]
	pub type NextRequest<T: Config> = StorageValue<_, u64, ValueQuery>;

	/// Requests by id.
	#[pallet::storage]
	pub type Requests<T: Config> =
		StorageMap<_, Twox64Concat, u64, Request<T::AccountId, BlockNumberFor<T>>>;

	/// The oldest request not yet pruned: requests below it are gone.
	#[pallet::storage]
	pub type OldestRequest<T: Config> = StorageValue<_, u64, ValueQuery>;

	/// Requests not yet answered. Every request enters once and leaves once,
	/// when its callback arrives.
	#[pallet::storage]
	pub type PendingCount<T: Config> = StorageValue<_, u32, ValueQuery>;

	/// What happened.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// The classifier model was chosen.
		ModelSet {
			/// Its id.
			model: ModelId,
		},
		/// An image was sent for classification.
		ClassificationRequested {
			/// The request.
			request: u64,
			/// Who asked.
			who: T::AccountId,
			/// The inference job running it.
			job: JobId,
		},
		/// A settled job gave the image's label.
		DigitClassified {
			/// The request.
			request: u64,
			/// Who asked.
			who: T::AccountId,
			/// The predicted digit.
			label: u8,
		},
		/// The job failed; the fee was refunded to the requester.
		ClassificationFailed {
			/// The request.
			request: u64,
			/// Who asked.
			who: T::AccountId,
			/// Why.
			reason: FailReason,
		},
	}

	/// Why a call failed.
	#[pallet::error]
	pub enum Error<T> {
		/// No classifier model has been set.
		NoModel,
		/// A pixel is above 16.
		InvalidPixel,
		/// A callback for a request this pallet does not know.
		UnknownRequest,
		/// A callback for a request already answered.
		AlreadyAnswered,
		/// The model's output is not ten scores per image.
		UnexpectedOutput,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_idle(now: BlockNumberFor<T>, remaining: Weight) -> Weight {
			Self::prune(now, remaining)
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Chooses the model images are classified with.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::set_model())]
		pub fn set_model(origin: OriginFor<T>, model: ModelId) -> DispatchResult {
			T::AdminOrigin::ensure_origin(origin)?;
			ClassifierModel::<T>::put(model);
			Self::deposit_event(Event::ModelSet { model });
			Ok(())
		}

		/// Classifies an 8x8 image (64 pixels, 0 to 16, row by row). The caller
		/// pays the inference job, at most `max_fee`, in `mode`. In
		/// `VerificationMode::Consensus` the label is known when this call
		/// returns: the request is recorded before the job is requested,
		/// because the market's callback arrives inside the request.
		#[pallet::call_index(1)]
		#[pallet::weight(Pallet::<T>::classify_weight(*mode))]
		pub fn classify(
			origin: OriginFor<T>,
			pixels: [u8; PIXELS],
			max_fee: BalanceOf<T>,
			mode: VerificationMode,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(pixels.iter().all(|p| *p <= 16), Error::<T>::InvalidPixel);
			let model = ClassifierModel::<T>::get().ok_or(Error::<T>::NoModel)?;
			let request = NextRequest::<T>::get();
			let input = vec![image_tensor(&pixels)].encode();
			let callback = Callback { consumer: CONSUMER, tag: request };
			// Recorded first: a consensus job's callback comes back inside
			// `request` and must find the request. (If the request fails,
			// the whole call is undone, this record with it.)
			NextRequest::<T>::put(request.saturating_add(1));
			let at = frame_system::Pallet::<T>::block_number();
			Requests::<T>::insert(
				request,
				Request { who: who.clone(), job: JobId::MAX, at, state: Classification::Pending },
			);
			PendingCount::<T>::mutate(|n| *n = n.saturating_add(1));
			let job = T::Inference::request(&who, model, input, max_fee, mode, Some(callback))?;
			Requests::<T>::mutate(request, |r| {
				if let Some(r) = r {
					r.job = job;
				}
			});
			Self::deposit_event(Event::ClassificationRequested { request, who, job });
			Ok(())
		}
	}
}

/// The model input for an image: `x`, float32, `[1, 64]`.
pub fn image_tensor(pixels: &[u8; PIXELS]) -> Tensor {
	Tensor {
		name: b"x".to_vec(),
		dtype: DType::Float32,
		shape: vec![1, PIXELS as u32],
		data: pixels.iter().flat_map(|p| f32::from(*p).to_le_bytes()).collect(),
	}
}

/// The label a classifier's output stands for: the index of the largest of
/// the ten scores of the first output ([`verity_primitives::argmax`]'s rule).
pub fn label_of(output: &[u8]) -> Option<u8> {
	let tensors = decode_tensors(output).ok()?;
	let scores = tensors.first()?;
	if scores.element_count()? != 10 {
		return None;
	}
	match scores.argmax_rows()[..] {
		[label] => Some(label as u8),
		_ => None,
	}
}

impl<T: Config> Pallet<T> {
	/// Weight of [`Pallet::classify`] in `mode`: the market's request of the
	/// configured model (in consensus mode its evaluation and settlement,
	/// with this pallet's callback) and one storage read.
	pub fn classify_weight(mode: VerificationMode) -> Weight {
		let input_len = PIXELS as u32 * 4 + 16;
		let request = match ClassifierModel::<T>::get() {
			Some(model) => T::Inference::request_weight(&model, mode, input_len),
			None => Weight::zero(),
		};
		T::WeightInfo::classify()
			.saturating_add(request)
			.saturating_add(T::DbWeight::get().reads(1))
	}

	fn answer(tag: u64, result: &JobResult) -> DispatchResult {
		Requests::<T>::try_mutate(tag, |r| {
			let r = r.as_mut().ok_or(Error::<T>::UnknownRequest)?;
			ensure!(r.state == Classification::Pending, Error::<T>::AlreadyAnswered);
			let who = r.who.clone();
			match result {
				JobResult::Settled { output } => {
					let label = label_of(output).ok_or(Error::<T>::UnexpectedOutput)?;
					r.state = Classification::Label(label);
					Self::deposit_event(Event::DigitClassified { request: tag, who, label });
				}
				JobResult::Failed { reason } => {
					r.state = Classification::Failed(*reason);
					Self::deposit_event(Event::ClassificationFailed {
						request: tag,
						who,
						reason: *reason,
					});
				}
			}
			PendingCount::<T>::mutate(|n| *n = n.saturating_sub(1));
			Ok(())
		})
	}

	/// Removes answered requests older than `RequestRetention`, oldest first,
	/// while `remaining` weight allows; stops at the first request still
	/// pending or too young (ids grow with time, so later ones are younger).
	pub(crate) fn prune(now: BlockNumberFor<T>, remaining: Weight) -> Weight {
		let each = T::WeightInfo::prune_request();
		let mut used = T::DbWeight::get().reads(2);
		if !used.saturating_add(each).all_lte(remaining) {
			return Weight::zero();
		}
		let mut oldest = OldestRequest::<T>::get();
		let next = NextRequest::<T>::get();
		while oldest < next && used.saturating_add(each).all_lte(remaining) {
			used.saturating_accrue(each);
			match Requests::<T>::get(oldest) {
				Some(r)
					if r.state == Classification::Pending
						|| now < r.at.saturating_add(T::RequestRetention::get()) =>
				{
					break
				}
				_ => Requests::<T>::remove(oldest),
			}
			oldest += 1;
		}
		if oldest != OldestRequest::<T>::get() {
			OldestRequest::<T>::put(oldest);
			used.saturating_accrue(T::DbWeight::get().writes(1));
		}
		used
	}

	/// Checks that the pending count matches the pending requests.
	#[cfg(any(feature = "try-runtime", test))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		let pending = Requests::<T>::iter_values()
			.filter(|r| r.state == Classification::Pending)
			.count() as u32;
		ensure!(pending == PendingCount::<T>::get(), "PendingCount differs from the requests");
		ensure!(
			Requests::<T>::iter_keys().all(|k| k < NextRequest::<T>::get()),
			"a request id at or beyond NextRequest"
		);
		ensure!(
			Requests::<T>::iter_keys().all(|k| k >= OldestRequest::<T>::get()),
			"a request below OldestRequest was not pruned"
		);
		Ok(())
	}
}

impl<T: Config> OnInferenceSettled for Pallet<T> {
	fn on_result(callback: &Callback, job: JobId, result: &JobResult) -> Option<DispatchResult> {
		if callback.consumer != CONSUMER {
			return None;
		}
		let _ = job;
		Some(Self::answer(callback.tag, result))
	}

	fn max_weight() -> Weight {
		T::WeightInfo::on_result()
	}
}
