//! `upload_chunk` and `abort_upload`: getting the bytes on-chain, in order,
//! verified against the id.

use super::*;

#[docify::export]
#[test]
fn register_and_upload_one_chunk() {
	new_test_ext(|| {
		let bytes = b"an ONNX file".to_vec();
		let id = ModelId::from(sp_io::hashing::blake2_256(&bytes));
		let alice = RuntimeOrigin::signed(ALICE);

		assert_ok!(Registry::register(alice.clone(), id, spec(bytes.len() as u32)));
		let chunk = BoundedVec::try_from(bytes.clone()).unwrap();
		assert_ok!(Registry::upload_chunk(alice, id, 0, chunk));

		assert!(<Registry as ModelRegistry<_, _, _>>::is_active(&id));
		assert_eq!(<Registry as ModelRegistry<_, _, _>>::model_bytes(&id), Some(bytes));
	});
}

#[test]
fn chunks_are_stored_in_order_and_the_last_one_activates() {
	new_test_ext(|| {
		let bytes = fake_model(2500, 3);
		let id = register(ALICE, &bytes, spec(2500));
		let c = chunks(&bytes);
		assert_eq!(c.len(), 3);
		for (i, chunk) in c.into_iter().enumerate() {
			assert_eq!(status(id), ModelStatus::Uploading);
			assert_ok!(Registry::upload_chunk(RuntimeOrigin::signed(ALICE), id, i as u32, chunk));
		}
		assert_eq!(status(id), ModelStatus::Active);
		let events = registry_events();
		assert_eq!(
			events[1..],
			[
				Event::ChunkUploaded { model: id, index: 0, received: 1024 },
				Event::ChunkUploaded { model: id, index: 1, received: 2048 },
				Event::ChunkUploaded { model: id, index: 2, received: 2500 },
				Event::UploadCompleted { model: id },
				Event::ModelActivated { model: id },
			]
		);
		assert_eq!(Registry::model_chunk(&id, 2).unwrap(), bytes[2048..].to_vec());
		assert_eq!(Registry::model_chunk(&id, 3), None);
	});
}

#[test]
fn out_of_order_chunks_are_refused() {
	new_test_ext(|| {
		let bytes = fake_model(2500, 3);
		let id = register(ALICE, &bytes, spec(2500));
		let c = chunks(&bytes);
		let alice = || RuntimeOrigin::signed(ALICE);
		// Skipping ahead.
		assert_noop!(
			Registry::upload_chunk(alice(), id, 1, c[1].clone()),
			Error::<Test>::ChunkOutOfOrder
		);
		assert_ok!(Registry::upload_chunk(alice(), id, 0, c[0].clone()));
		// Sending a chunk again (e.g. a retried transaction).
		assert_noop!(
			Registry::upload_chunk(alice(), id, 0, c[0].clone()),
			Error::<Test>::ChunkOutOfOrder
		);
		assert_noop!(
			Registry::upload_chunk(alice(), id, 2, c[2].clone()),
			Error::<Test>::ChunkOutOfOrder
		);
		assert_ok!(Registry::upload_chunk(alice(), id, 1, c[1].clone()));
		assert_ok!(Registry::upload_chunk(alice(), id, 2, c[2].clone()));
		assert_eq!(bytes_of(id), Some(bytes));
	});
}

#[test]
fn chunk_sizes_are_enforced() {
	new_test_ext(|| {
		let bytes = fake_model(2500, 3);
		let id = register(ALICE, &bytes, spec(2500));
		let alice = || RuntimeOrigin::signed(ALICE);
		let short = BoundedVec::try_from(bytes[..1000].to_vec()).unwrap();
		assert_noop!(Registry::upload_chunk(alice(), id, 0, short), Error::<Test>::WrongChunkSize);
		upload_first(id, &bytes, 2);
		// The last chunk must be exactly the rest: 452 bytes.
		let long =
			BoundedVec::try_from(bytes[2048..].iter().chain(&[0u8]).copied().collect::<Vec<_>>())
				.unwrap();
		assert_noop!(Registry::upload_chunk(alice(), id, 2, long), Error::<Test>::WrongChunkSize);
		let short = BoundedVec::try_from(bytes[2048..2400].to_vec()).unwrap();
		assert_noop!(Registry::upload_chunk(alice(), id, 2, short), Error::<Test>::WrongChunkSize);
	});
}

fn upload_first(id: ModelId, bytes: &[u8], n: usize) {
	for (i, chunk) in chunks(bytes).into_iter().take(n).enumerate() {
		assert_ok!(Registry::upload_chunk(RuntimeOrigin::signed(ALICE), id, i as u32, chunk));
	}
}

#[test]
fn a_wrong_final_hash_is_refused_and_can_be_corrected() {
	new_test_ext(|| {
		let bytes = fake_model(2500, 3);
		let id = register(ALICE, &bytes, spec(2500));
		upload_first(id, &bytes, 2);
		let mut corrupt = bytes[2048..].to_vec();
		corrupt[0] ^= 1;
		assert_noop!(
			Registry::upload_chunk(
				RuntimeOrigin::signed(ALICE),
				id,
				2,
				BoundedVec::try_from(corrupt).unwrap()
			),
			Error::<Test>::HashMismatch
		);
		let m = Models::<Test>::get(id).unwrap();
		assert_eq!((m.status, m.chunks, m.received), (ModelStatus::Uploading, 2, 2048));
		assert_eq!(bytes_of(id), None);

		let last = BoundedVec::try_from(bytes[2048..].to_vec()).unwrap();
		assert_ok!(Registry::upload_chunk(RuntimeOrigin::signed(ALICE), id, 2, last));
		assert_eq!(status(id), ModelStatus::Active);
	});
}

#[test]
fn a_wrong_early_chunk_can_only_be_aborted() {
	new_test_ext(|| {
		let bytes = fake_model(2500, 3);
		let mut corrupt = bytes.clone();
		corrupt[5] ^= 0xff;
		let id = register(ALICE, &bytes, spec(2500));
		upload_first(id, &corrupt, 2);
		let last = BoundedVec::try_from(bytes[2048..].to_vec()).unwrap();
		assert_noop!(
			Registry::upload_chunk(RuntimeOrigin::signed(ALICE), id, 2, last),
			Error::<Test>::HashMismatch
		);
		assert_ok!(Registry::abort_upload(RuntimeOrigin::signed(ALICE), id));
		// The id and version are free again: register and upload correctly.
		publish(ALICE, &bytes, spec(2500));
	});
}

#[test]
fn only_the_owner_uploads_to_an_uploading_model() {
	new_test_ext(|| {
		let bytes = fake_model(100, 3);
		let id = register(ALICE, &bytes, spec(100));
		let chunk = BoundedVec::try_from(bytes.clone()).unwrap();
		assert_noop!(
			Registry::upload_chunk(RuntimeOrigin::signed(BOB), id, 0, chunk.clone()),
			Error::<Test>::NotOwner
		);
		assert_noop!(
			Registry::upload_chunk(RuntimeOrigin::signed(ALICE), id_of(b"nope"), 0, chunk.clone()),
			Error::<Test>::ModelNotFound
		);
		assert_ok!(Registry::upload_chunk(RuntimeOrigin::signed(ALICE), id, 0, chunk.clone()));
		assert_noop!(
			Registry::upload_chunk(RuntimeOrigin::signed(ALICE), id, 1, chunk),
			Error::<Test>::NotUploading
		);
	});
}

#[test]
fn abort_upload_releases_everything_and_frees_the_version() {
	new_test_ext(|| {
		let bytes = fake_model(2500, 3);
		let id = register(ALICE, &bytes, spec(2500));
		upload_first(id, &bytes, 2);
		assert_noop!(
			Registry::abort_upload(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::NotOwner
		);
		assert_ok!(Registry::abort_upload(RuntimeOrigin::signed(ALICE), id));
		assert_eq!(free(ALICE), ENDOWMENT);
		assert_eq!((held_deposit(ALICE), held_bond(ALICE)), (0, 0));
		assert!(Models::<Test>::get(id).is_none());
		assert_eq!(Chunks::<Test>::iter_prefix(id).count(), 0);
		assert!(Families::<Test>::get(name("digits-mlp")).is_none());
		assert!(Releases::<Test>::get(name("digits-mlp"), spec(1).version).is_none());
		assert_eq!(registry_events().last(), Some(&Event::UploadAborted { model: id }));
		assert_noop!(
			Registry::abort_upload(RuntimeOrigin::signed(ALICE), id),
			Error::<Test>::ModelNotFound
		);
	});
}

#[test]
fn abort_upload_keeps_the_family_of_other_releases() {
	new_test_ext(|| {
		let (_, _) = publish_default();
		let mut s = spec(100);
		s.version.minor = 1;
		let id = register(ALICE, &fake_model(100, 9), s);
		assert_ok!(Registry::abort_upload(RuntimeOrigin::signed(ALICE), id));
		assert_eq!(Families::<Test>::get(name("digits-mlp")).unwrap().releases, 1);
	});
}

#[test]
fn a_complete_upload_cannot_be_aborted() {
	new_test_ext(|| {
		let (id, _) = publish_default();
		assert_noop!(
			Registry::abort_upload(RuntimeOrigin::signed(ALICE), id),
			Error::<Test>::NotUploading
		);
	});
}

#[test]
fn a_16_mib_model_uploads_and_reads_back_byte_for_byte() {
	new_test_ext(|| {
		ChunkSize::set(1024 * 1024);
		let size = MAX_MODEL_SIZE;
		let bytes = fake_model(size as usize, 16);
		let id = register(ALICE, &bytes, spec(size));
		upload_all(ALICE, id, &bytes);
		let m = Models::<Test>::get(id).unwrap();
		assert_eq!((m.status, m.chunks, m.received), (ModelStatus::Active, 16, size));
		assert_eq!(held_deposit(ALICE), MODEL_DEPOSIT + BYTE_DEPOSIT * size as u64);
		let read_back = bytes_of(id).unwrap();
		assert!(read_back == bytes, "bytes differ after the round trip");
		let by_chunks: Vec<u8> =
			(0..16).flat_map(|i| Registry::model_chunk(&id, i).unwrap()).collect();
		assert!(by_chunks == bytes);
	});
}
