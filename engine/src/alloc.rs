//! The worker process's allocator: the system allocator, refusing any single
//! allocation above a cap once the worker serves ([`cap_allocations`]).
//!
//! The engine checks every tensor size it can know before running
//! ([`crate::engine`]), but some shapes are only known while a model runs
//! (a `ConstantOfShape` or `Range` whose size comes out of the graph). Such a
//! tensor of, say, 500 TB would otherwise reach the system allocator, fail
//! there or not depending on the machine's memory, and count as this node's
//! failure (`Crashed`), so that every executor would decline the job and no
//! admission committee could decide the model. With the cap, the allocation
//! fails on every machine alike; tract turns the failed tensor allocation
//! into a panic, which the engine answers as
//! [`EngineError::TensorTooLarge`](crate::EngineError::TensorTooLarge) (whose
//! fault that is follows the size rule: the model's for one item, the
//! input's for a batch).
//!
//! The cap is twice the larger of the tensor and model limits: no tensor the
//! engine accepts, packed or padded by any machine's kernels, comes near it,
//! so that where the cap bites does not depend on the machine.
//!
//! The binaries that can serve as the worker (`verity-node`, `verity`,
//! `verity-inference-worker`) install [`CappedAllocator`] as their global
//! allocator; it does nothing until [`cap_allocations`] is called, which
//! only the worker loop does.

use std::{
	alloc::{GlobalAlloc, Layout, System},
	sync::atomic::{AtomicUsize, Ordering},
};

/// The system allocator with a cap on single allocations.
pub struct CappedAllocator;

/// Largest single allocation served (no cap until the worker sets one).
static CAP: AtomicUsize = AtomicUsize::new(usize::MAX);
/// The size of the last refused allocation (0: none since the last take).
static REFUSED: AtomicUsize = AtomicUsize::new(0);

impl CappedAllocator {
	fn refuse(size: usize) -> bool {
		if size > CAP.load(Ordering::Relaxed) {
			REFUSED.store(size, Ordering::Relaxed);
			true
		} else {
			false
		}
	}
}

// SAFETY: every call is forwarded to `System` unchanged, or answered with a
// null pointer, which `GlobalAlloc` allows for any failed allocation.
unsafe impl GlobalAlloc for CappedAllocator {
	unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
		if Self::refuse(layout.size()) {
			return std::ptr::null_mut();
		}
		// SAFETY: the caller's contract, passed on.
		unsafe { System.alloc(layout) }
	}

	unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
		if Self::refuse(layout.size()) {
			return std::ptr::null_mut();
		}
		// SAFETY: the caller's contract, passed on.
		unsafe { System.alloc_zeroed(layout) }
	}

	unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
		if Self::refuse(new_size) {
			return std::ptr::null_mut();
		}
		// SAFETY: the caller's contract, passed on.
		unsafe { System.realloc(ptr, layout, new_size) }
	}

	unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
		// SAFETY: the caller's contract, passed on.
		unsafe { System.dealloc(ptr, layout) }
	}
}

/// The cap for `limits`: twice the larger of the tensor and model limits.
pub fn cap_for(limits: &crate::Limits) -> usize {
	let bytes = limits.max_tensor_bytes.max(limits.max_model_bytes).saturating_mul(2);
	usize::try_from(bytes).unwrap_or(usize::MAX)
}

/// Refuses, from now on, every single allocation above `bytes` (in a process
/// whose global allocator is [`CappedAllocator`]; elsewhere it has no effect).
pub fn cap_allocations(bytes: usize) {
	CAP.store(bytes, Ordering::Relaxed);
}

/// The size of an allocation refused since the last call, if any.
pub fn take_refused() -> Option<usize> {
	match REFUSED.swap(0, Ordering::Relaxed) {
		0 => None,
		size => Some(size),
	}
}
