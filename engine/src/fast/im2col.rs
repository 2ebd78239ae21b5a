//! Convolutions whose patches tract gathers again for every block of
//! output channels: gathered once.
//!
//! tract runs a convolution as a matrix product of its weights (packed once,
//! when the plan is made) and its input's patches, which a `LazyIm2col`
//! gathers panel by panel while the kernel runs: each panel is gathered into
//! a small buffer just before the tiles that read it. tract walks the tiles
//! in cache-sized blocks; where the weights are larger than its cache budget
//! (resnet50's 3 × 3 convolutions: 512 output channels × 4,608 = 9 MiB) a
//! block holds few weight panels, and each patch panel is gathered again for
//! every block: sixteen times over for those layers, which then run at a
//! third of the rate of the network's other products.
//!
//! [`GatherOnce`] gathers every patch panel once, into one buffer, in the
//! layout the lazy gatherer writes, and runs tract's kernel over it with the
//! operator's fused steps. Same panels, same kernel calls: the result is
//! tract's bit for bit (a unit test compares the bits). Where the weights
//! are small and the patches many, tract's walk gathers each panel once
//! anyway and keeps it hot in the first-level cache, which beats a buffer
//! too large for the caches: [`gather_up_front`] says which.

use std::alloc::Layout;

use tract_linalg::{
	mmm::{AsInputValue, FusedSpec, MMMInputFormat, MMMInputValue, PackedExoticFact},
	pack::PackedFormat,
};
use tract_onnx::{
	prelude::*,
	tract_core::{
		internal::*,
		ops::matmul::optimized::{MatMulOperand, OptMatMul},
	},
};

use super::{Fast, Product};

/// The size of packed weights above which [`GatherOnce`] gathers a
/// convolution's patches up front, however many there are (up to
/// [`MAX_GATHERED`]): tract's tile blocks take a third of the second-level
/// cache (at least 256 KiB), so from about here on its walk splits the
/// weights into several blocks and gathers each patch panel once per block.
pub const REGATHERED_ABOVE: usize = 1 << 20;

/// The size of gathered patches up to which [`GatherOnce`] gathers them up
/// front whatever the weights: gathering in one pass costs less than
/// tract's panel at a time (squeezenet's first convolution, 27 values per
/// patch: 2.8 ms lazily, 1.5 ms gathered), while the buffer stays in the
/// caches. Above it, a product whose weights fit one block keeps tract's
/// lazy panels, hot in the first-level cache, where a larger buffer would
/// stream from memory.
pub const GATHERED_FITS: usize = 8 << 20;

/// The largest buffer of gathered patches, for this operator, `WideGemm`
/// and the direct convolutions alike: above it, tract's lazy panels, which
/// need no memory beyond one panel, so that no model needs much more
/// memory with ours than with tract's alone (a hostile convolution's
/// patches can be many times its input and output).
pub const MAX_GATHERED: usize = 64 << 20;

/// Whether to gather a product's patches up front ([`GatherOnce`]), given
/// the sizes of its packed weights and of its patches once gathered.
fn gather_up_front(weights: usize, gathered: usize) -> bool {
	gathered <= MAX_GATHERED && (weights > REGATHERED_ABOVE || gathered <= GATHERED_FITS)
}

#[cfg(test)]
thread_local! {
	/// How many products this thread ran gathered (tests only).
	pub(super) static GATHERED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// tract's `OptMatMul` of packed weights and a `LazyIm2col`'s patches: see
/// the module's documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatherOnce {
	pub(super) inner: OptMatMul,
}

impl GatherOnce {
	/// `op` as a [`GatherOnce`], if it is a product that can be (a
	/// [`Product`] of plain panels), one of whose operands is input `lazy`
	/// (a `LazyIm2col`'s output).
	pub fn of(op: &OptMatMul, lazy: impl Fn(usize) -> bool) -> Option<GatherOnce> {
		let Product { a, b, packing } = Product::of(op)?;
		let (pa, pb) = op.mmm[0].packings().get(packing)?;
		let plain = |f: &dyn MMMInputFormat| {
			f.downcast_ref::<PackedFormat>().is_some_and(|p| p.dt == f32::datum_type())
		};
		let from_lazy = |o: &MatMulOperand| matches!(o, MatMulOperand::Input(i) if lazy(*i));
		(plain(&**pa) && plain(&**pb) && (from_lazy(a) || from_lazy(b)))
			.then(|| GatherOnce { inner: op.clone() })
	}
}

impl Fast for GatherOnce {
	fn fast(&self, inputs: &mut TVec<TValue>) -> TractResult<Option<TValue>> {
		let op = &self.inner;
		let Some(c_shape) = op.c_fact.shape.as_concrete() else { return Ok(None) };
		let mut c = unsafe { Tensor::uninitialized_dt(op.c_fact.datum_type, c_shape)? };
		let m = op.c_m_axis.map(|ax| c_shape[ax]).unwrap_or(1);
		let n = op.c_n_axis.map(|ax| c_shape[ax]).unwrap_or(1);
		let mode = op.mode_picker.pick(n)?;
		let mmm = &*op.mmm[mode];
		let mut uops: Vec<FusedSpec> =
			op.micro_ops.iter().map(|o| o.resolve_trivial(inputs, &mut c, mmm, mode)).collect();
		let Some(at) = uops.iter().position(|u| matches!(u, FusedSpec::AddMatMul { .. })) else {
			return Ok(None);
		};
		let FusedSpec::AddMatMul { a, b, packing } =
			std::mem::replace(&mut uops[at], FusedSpec::ShiftLeft(0))
		else {
			return Ok(None);
		};
		let a_lazy = a.scratch_panel_buffer_layout().is_some();
		if a_lazy == b.scratch_panel_buffer_layout().is_some() {
			return Ok(None);
		}
		let (lazy, weights) = if a_lazy { (a, b) } else { (b, a) };
		let bytes = |v: &dyn MMMInputValue| v.panels_count() * v.format().r() * v.k() * 4;
		if !gather_up_front(bytes(&*weights), bytes(&*lazy)) {
			return Ok(None);
		}
		let (pa, pb) = &mmm.packings()[packing];
		let gathered = AsInputValue::Owned(Box::new(Gathered::of(
			&*lazy,
			if a_lazy { pa } else { pb }.clone(),
		)?));
		let (a, b) = if a_lazy { (gathered, weights) } else { (weights, gathered) };
		uops[at] = FusedSpec::AddMatMul { a, b, packing };
		#[cfg(test)]
		GATHERED.with(|g| g.set(g.get() + 1));
		unsafe {
			let mut scratch = mmm.allocate_scratch_space();
			mmm.run_with_scratch_space(m, n, scratch.as_mut(), &uops)?;
		}
		drop(uops);
		Ok(Some(c.into_tvalue()))
	}
}

/// A lazy operand's panels, all gathered: the packed layout the lazy
/// operand writes one panel at a time (`format`, the kernel's).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Gathered {
	buffer: std::sync::Arc<Buffer>,
	/// Bytes from one panel to the next.
	stride: usize,
	fact: PackedExoticFact,
}

impl Gathered {
	/// All of `lazy`'s panels, as the kernel reads them (`format`).
	pub(super) fn of(
		lazy: &dyn MMMInputValue,
		format: Box<dyn MMMInputFormat>,
	) -> TractResult<Gathered> {
		let panel = lazy.scratch_panel_buffer_layout().context("operand is not lazy")?;
		let count = lazy.panels_count();
		let stride = panel.pad_to_align().size();
		let buffer = Buffer::new(Layout::from_size_align(stride * count.max(1), panel.align())?)?;
		for i in 0..count {
			let at = unsafe { buffer.ptr.add(i * stride) };
			let written = lazy.panel_bytes(i, Some(at))?;
			// The lazy gatherer writes where it is told; anything else would
			// leave the panel unwritten.
			ensure!(std::ptr::eq(written, at), "lazy panel {i} written elsewhere");
		}
		let fact = PackedExoticFact { format, mn: lazy.mn().to_dim(), k: lazy.k() };
		Ok(Gathered { buffer: std::sync::Arc::new(buffer), stride, fact })
	}
}

impl std::fmt::Display for Gathered {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		write!(f, "gathered {}", self.fact)
	}
}

impl MMMInputValue for Gathered {
	fn format(&self) -> &dyn MMMInputFormat {
		&*self.fact.format
	}

	fn scratch_panel_buffer_layout(&self) -> Option<Layout> {
		None
	}

	fn panel_bytes(&self, i: usize, _buffer: Option<*mut u8>) -> TractResult<*const u8> {
		ensure!(i * self.stride < self.buffer.layout.size(), "panel {i} out of range");
		Ok(unsafe { self.buffer.ptr.add(i * self.stride) })
	}

	fn mn(&self) -> usize {
		self.fact.mn.to_usize().unwrap_or(0)
	}

	fn k(&self) -> usize {
		self.fact.k
	}

	fn exotic_fact(&self) -> &dyn ExoticFact {
		&self.fact
	}

	fn extract_at_mn_f16(&self, _mn: usize, _slice: &mut [f16]) -> TractResult<()> {
		bail!("gathered panels are only read by the kernel")
	}

	fn extract_at_mn_f32(&self, _mn: usize, _slice: &mut [f32]) -> TractResult<()> {
		bail!("gathered panels are only read by the kernel")
	}
}

/// An aligned allocation, freed on drop; compared and hashed by address
/// (a [`Gathered`] is one run's, never compared with another's).
#[derive(Debug, PartialEq, Eq, Hash)]
struct Buffer {
	ptr: *mut u8,
	layout: Layout,
}

// The buffer is written once, while it is made, and then only read.
unsafe impl Send for Buffer {}
unsafe impl Sync for Buffer {}

impl Buffer {
	fn new(layout: Layout) -> TractResult<Buffer> {
		let ptr = unsafe { std::alloc::alloc(layout) };
		ensure!(!ptr.is_null(), "no memory for {} bytes of patches", layout.size());
		Ok(Buffer { ptr, layout })
	}
}

impl Drop for Buffer {
	fn drop(&mut self) {
		unsafe { std::alloc::dealloc(self.ptr, self.layout) }
	}
}
