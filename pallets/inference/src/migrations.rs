//! Storage migrations of the inference market, one module per storage
//! version ([`crate::pallet::STORAGE_VERSION`]). Each is a
//! [`VersionedMigration`]: it runs only when the pallet's on-chain version
//! is the one it migrates from, and sets the new one.
//!
//! Their checks (what `pre_upgrade` records and `post_upgrade` verifies
//! under `try-runtime`) are ordinary functions too, so that the pallet's unit
//! tests run them without the `try-runtime` build.

use super::*;
use frame_support::{migrations::VersionedMigration, traits::UncheckedOnRuntimeUpgrade};

/// Version 1: [`Job::result_at`], the block a job's result was posted in.
///
/// Every stored job gets `result_at: None` (the pre-upgrade storage does not
/// say when results came). A job is rewritten in place, so the migration
/// reads and writes each stored job once, in the upgrade's block: jobs are
/// pruned `ResultRetention` blocks after they end, which bounds how many
/// there are, and the weight it returns is charged to that block. A chain
/// holding more jobs than a block can rewrite would need this as a
/// multi-block migration.
pub mod v1 {
	use super::*;

	/// The layouts before version 1.
	pub mod v0 {
		use super::*;

		/// [`crate::Job`] before version 1: without `result_at`.
		#[derive(Encode, Decode, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug)]
		pub struct Job<AccountId, Balance, BlockNumber> {
			/// See [`crate::Job::requester`].
			pub requester: AccountId,
			/// See [`crate::Job::model`].
			pub model: ModelId,
			/// See [`crate::Job::executor`].
			pub executor: AccountId,
			/// See [`crate::Job::fees`].
			pub fees: Fees<Balance>,
			/// See [`crate::Job::status`].
			pub status: JobStatus,
			/// See [`crate::Job::audit`].
			pub audit: AuditState<AccountId>,
			/// See [`crate::Job::submitted_at`].
			pub submitted_at: BlockNumber,
			/// See [`crate::Job::deadline`].
			pub deadline: BlockNumber,
			/// See [`crate::Job::commitment`].
			pub commitment: Option<sp_core::H256>,
			/// See [`crate::Job::output_hash`].
			pub output_hash: Option<sp_core::H256>,
			/// See [`crate::Job::mode`].
			pub mode: VerificationMode,
			/// See [`crate::Job::callback`].
			pub callback: Option<Callback>,
		}

		impl<A, B, N> Job<A, B, N> {
			/// The job in version 1's layout.
			pub fn upgraded(self) -> crate::Job<A, B, N> {
				crate::Job {
					requester: self.requester,
					model: self.model,
					executor: self.executor,
					fees: self.fees,
					status: self.status,
					audit: self.audit,
					submitted_at: self.submitted_at,
					deadline: self.deadline,
					commitment: self.commitment,
					output_hash: self.output_hash,
					mode: self.mode,
					callback: self.callback,
					result_at: None,
				}
			}
		}

		/// A stored job in the old layout.
		pub type JobOf<T> =
			Job<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
	}

	/// The migration without its version guard; use [`MigrateToV1`].
	pub struct UncheckedMigrateToV1<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedMigrateToV1<T> {
		/// What `pre_upgrade` records: each stored job's id and raw bytes.
		pub fn snapshot() -> Vec<(JobId, Vec<u8>)> {
			Jobs::<T>::iter_keys()
				.filter_map(|id| {
					frame_support::storage::unhashed::get_raw(&Jobs::<T>::hashed_key_for(id))
						.map(|raw| (id, raw))
				})
				.collect()
		}

		/// What `post_upgrade` verifies against the [`Self::snapshot`]: the
		/// same jobs, each with its old fields byte for byte and
		/// `result_at: None`, and nothing else.
		pub fn check(before: Vec<(JobId, Vec<u8>)>) -> Result<(), &'static str> {
			if Jobs::<T>::iter_keys().count() != before.len() {
				return Err("the number of jobs changed");
			}
			for (id, old) in before {
				let job = Jobs::<T>::get(id).ok_or("a job no longer decodes")?;
				if job.result_at.is_some() {
					return Err("a migrated job claims a result block");
				}
				let was = v0::JobOf::<T>::decode(&mut &old[..])
					.map_err(|_| "a job was not in the old layout")?;
				if was.upgraded() != job {
					return Err("a job's fields changed");
				}
			}
			Ok(())
		}
	}

	impl<T: Config> UncheckedOnRuntimeUpgrade for UncheckedMigrateToV1<T> {
		fn on_runtime_upgrade() -> Weight {
			let mut jobs: u64 = 0;
			Jobs::<T>::translate::<v0::JobOf<T>, _>(|_, old| {
				jobs.saturating_inc();
				Some(old.upgraded())
			});
			log::info!(target: LOG_TARGET, "storage version 1: {jobs} jobs migrated");
			T::DbWeight::get().reads_writes(jobs, jobs)
		}

		#[cfg(feature = "try-runtime")]
		fn pre_upgrade() -> Result<Vec<u8>, sp_runtime::TryRuntimeError> {
			Ok(Self::snapshot().encode())
		}

		#[cfg(feature = "try-runtime")]
		fn post_upgrade(state: Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
			let before = Vec::<(JobId, Vec<u8>)>::decode(&mut &state[..])
				.map_err(|_| "undecodable pre-upgrade state")?;
			Self::check(before)?;
			Pallet::<T>::do_try_state()
		}
	}

	/// Storage version 0 to 1 ([`Job::result_at`]), in the runtime's
	/// `Migrations`.
	pub type MigrateToV1<T> = VersionedMigration<
		0,
		1,
		UncheckedMigrateToV1<T>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;
}
