//! Storage migrations, run natively on storage written in the old layouts:
//! the same checks `try-runtime` runs before and after the upgrade.

use super::*;
use crate::migrations::v1::{v0, MigrateToV1, UncheckedMigrateToV1};
use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};

/// Rewrites every stored job in version 0's layout (as a chain before the
/// upgrade holds it) and sets the pallet's on-chain version to 0.
fn downgrade_jobs() -> usize {
	let jobs: Vec<(JobId, JobOf<Test>)> = Jobs::<Test>::iter().collect();
	for (id, j) in &jobs {
		let old = v0::Job {
			requester: j.requester,
			model: j.model,
			executor: j.executor,
			fees: j.fees,
			status: j.status,
			audit: j.audit.clone(),
			submitted_at: j.submitted_at,
			deadline: j.deadline,
			commitment: j.commitment,
			output_hash: j.output_hash,
			mode: j.mode,
			callback: j.callback,
		};
		frame_support::storage::unhashed::put_raw(&Jobs::<Test>::hashed_key_for(id), &old.encode());
	}
	StorageVersion::new(0).put::<Inference>();
	jobs.len()
}

#[test]
fn version_1_gives_every_job_its_result_block_field_and_keeps_the_rest() {
	new_test_ext(|model| {
		// Jobs in several states: assigned, with a posted result, disputed.
		let assigned = submit(model);
		let posted = submit_with_result(model, [0.2, 0.7, 0.1]);
		let disputed = submit_with_result(model, [0.1, 0.1, 0.8]);
		challenge(disputed);
		let result_at = Jobs::<Test>::get(posted).unwrap().result_at;
		assert!(result_at.is_some_and(|n| n <= System::block_number()), "{result_at:?}");
		assert_eq!(downgrade_jobs(), 3);
		// In the old layout the new code cannot read them.
		assert!(Jobs::<Test>::get(assigned).is_none(), "the old layout does not decode");

		let before = UncheckedMigrateToV1::<Test>::snapshot();
		MigrateToV1::<Test>::on_runtime_upgrade();
		UncheckedMigrateToV1::<Test>::check(before).expect("post-upgrade check");
		Inference::do_try_state().expect("invariants hold after the migration");
		assert_eq!(Inference::on_chain_storage_version(), 1);
		assert_eq!(Inference::on_chain_storage_version(), Inference::in_code_storage_version());
		for job in [assigned, posted, disputed] {
			assert_eq!(Jobs::<Test>::get(job).unwrap().result_at, None);
		}

		// Jobs in flight go on: the dispute is decided and the posted job
		// settles.
		let deadline = Jobs::<Test>::get(posted).unwrap().deadline;
		run_to_block(deadline);
		assert_eq!(status(posted), JobStatus::Settled);
	});
}

#[test]
fn version_1_runs_once() {
	new_test_ext(|model| {
		submit_with_result(model, [0.2, 0.7, 0.1]);
		downgrade_jobs();
		MigrateToV1::<Test>::on_runtime_upgrade();
		let after = UncheckedMigrateToV1::<Test>::snapshot();
		// Already at version 1: a second run changes nothing (it would fail to
		// decode the new layout as the old one and drop every job).
		MigrateToV1::<Test>::on_runtime_upgrade();
		assert_eq!(UncheckedMigrateToV1::<Test>::snapshot(), after);
		assert_eq!(after.len(), 1);
	});
}

#[test]
fn the_post_upgrade_check_catches_a_lost_or_changed_job() {
	new_test_ext(|model| {
		let job = submit_with_result(model, [0.2, 0.7, 0.1]);
		downgrade_jobs();
		let before = UncheckedMigrateToV1::<Test>::snapshot();
		MigrateToV1::<Test>::on_runtime_upgrade();
		let kept = Jobs::<Test>::get(job).unwrap();
		Jobs::<Test>::mutate(job, |j| j.as_mut().unwrap().deadline += 1);
		assert_eq!(
			UncheckedMigrateToV1::<Test>::check(before.clone()),
			Err("a job's fields changed")
		);
		Jobs::<Test>::remove(job);
		assert_eq!(
			UncheckedMigrateToV1::<Test>::check(before.clone()),
			Err("the number of jobs changed")
		);
		Jobs::<Test>::insert(job, kept);
		assert_eq!(UncheckedMigrateToV1::<Test>::check(before), Ok(()));
	});
}

/// The same migration through `try-runtime`'s hooks (`pre_upgrade`, the
/// version guard, `post_upgrade` with the pallet's invariants):
/// `cargo test -p pallet-inference --features try-runtime`.
#[cfg(feature = "try-runtime")]
#[test]
fn version_1_passes_try_runtime() {
	new_test_ext(|model| {
		submit_with_result(model, [0.2, 0.7, 0.1]);
		downgrade_jobs();
		MigrateToV1::<Test>::try_on_runtime_upgrade(true).expect("pre and post checks pass");
	});
}
