//! Matrix products in tiles twice as tall as tract's, on AVX-512.
//!
//! On AVX-512 tract runs most products (convolutions as im2col products,
//! fully-connected layers) with its `16 × 12` kernel: per step of the
//! reduction, one 16-float load of the left panel, twelve broadcasts of the
//! right panel and twelve fused multiply-adds. Thirteen loads for twelve
//! multiply-adds keep the load ports, not the arithmetic units, busy:
//! measured here at 40-48 GMAC/s on inception_v2's convolutions, where
//! onnxruntime's kernels (24 accumulators) run the network at about 75.
//!
//! [`WideGemm`] runs the same product, on the panels tract packed for its
//! kernel, with `32 × 12` tiles (two left panels at once): fourteen loads
//! for twenty-four multiply-adds, 71 GMAC/s against 61 for `16 × 12` tiles
//! written the same way, outside tract. tract's other AVX-512 packings
//! (`32 × 5`, `48 × 4`, `64 × 3`, ...) get tiles of two panels likewise
//! ([`KERNELS`]). Each output
//! element is accumulated as tract's kernel does it, one fused multiply-add
//! per step of the reduction in order from zero, so the product is tract's
//! bit for bit. The operator's fused steps (bias, scale, residual, `Relu`)
//! are applied to the tile in registers as tract's kernel applies them (the
//! same IEEE operation, the same operand order), steps ours does not take
//! through tract's own kernel over the output afterwards (`load, steps,
//! store` per tile): tract's bits either way (a unit test compares the
//! bits). Lazily gathered convolution patches are gathered panel by panel
//! as the walk reaches them, or all at once ([`super::im2col`]) where the
//! left panels take several blocks.
//!
//! Only where tract chose one of those kernels (so the panels are packed
//! for it), which it does only on a CPU with AVX-512; elsewhere tract's
//! operator runs. The tiles are stored straight into the output.

use tract_linalg::{
	mmm::{FusedSpec, MMMInputFormat, MMMInputValue},
	pack::PackedFormat,
	BinOp,
};
use tract_onnx::{
	prelude::*,
	tract_core::{
		internal::bail,
		ops::matmul::optimized::{OptMatMul, ProtoFusedSpec},
	},
};

use super::{
	dense_f32, flat,
	im2col::{Gathered, MAX_GATHERED},
	Fast, Product,
};

/// tract's AVX-512 `f32` kernels whose packing ours reads, as (rows of a
/// left panel, columns of a right panel): ours runs each with tiles of two
/// left panels (16-24 accumulators where tract's have 10-12).
const KERNELS: [(usize, usize); 7] =
	[(16, 12), (16, 8), (32, 5), (32, 6), (48, 4), (64, 3), (80, 2)];
/// The most bytes of left panels a block of tiles streams while a right
/// panel stays in the first-level cache: a quarter of a typical
/// second-level cache, so that the block stays there too.
const BLOCK_BYTES: usize = 512 << 10;

#[cfg(test)]
thread_local! {
	/// How many products this thread ran in wide tiles (tests only).
	pub(super) static WIDE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// tract's `OptMatMul` with one of its AVX-512 packings ([`KERNELS`]), run
/// in tiles of two left panels: see the module's documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WideGemm {
	pub(super) inner: OptMatMul,
}

impl WideGemm {
	/// `op` as a [`WideGemm`], if it is a product that can be (a
	/// [`Product`] first among its steps, its store last, with plain panels
	/// of one of the [`KERNELS`]) and the CPU has AVX-512.
	pub fn of(op: &OptMatMul) -> Option<WideGemm> {
		let product = Product::of(op)?;
		let ordered = matches!(op.micro_ops.first(), Some(ProtoFusedSpec::AddMatMul { .. }))
			&& matches!(op.micro_ops.last(), Some(ProtoFusedSpec::Store(_)));
		(avx512()
			&& ordered
			&& op.c_m_axis.is_some()
			&& wide_packing(&*op.mmm[0], product.packing).is_some())
		.then(|| WideGemm { inner: op.clone() })
	}
}

/// Whether this CPU runs AVX-512 (foundation) instructions.
pub(super) fn avx512() -> bool {
	#[cfg(target_arch = "x86_64")]
	return std::arch::is_x86_feature_detected!("avx512f");
	#[cfg(not(target_arch = "x86_64"))]
	return false;
}

/// The rows and columns of `mmm`'s packing `packing`'s panels, if they are
/// plain `f32` panels of one of the [`KERNELS`].
fn wide_packing(mmm: &dyn tract_linalg::mmm::MatMatMul, packing: usize) -> Option<(usize, usize)> {
	let plain = |f: &dyn MMMInputFormat| {
		f.downcast_ref::<PackedFormat>().filter(|p| p.dt == f32::datum_type()).map(|p| p.r)
	};
	let (a, b) = mmm.packings().get(packing)?;
	let rc = (plain(&**a)?, plain(&**b)?);
	KERNELS.contains(&rc).then_some(rc)
}

/// An operand's panels: where each starts, and the gathered copy they are
/// in if the operand was lazy.
struct Panels {
	starts: Vec<*const f32>,
	_gathered: Option<Gathered>,
}

impl Panels {
	/// `v`'s panels (eager), or all of them gathered as `format` says.
	fn of(v: &dyn MMMInputValue, format: Box<dyn MMMInputFormat>) -> TractResult<Panels> {
		let starts = |v: &dyn MMMInputValue| {
			(0..v.panels_count())
				.map(|i| v.panel_bytes(i, None).map(|p| p as *const f32))
				.collect::<TractResult<Vec<_>>>()
		};
		if v.scratch_panel_buffer_layout().is_none() {
			return Ok(Panels { starts: starts(v)?, _gathered: None });
		}
		// The panels are in the gathered copy's heap buffer, which stays
		// where it is while the copy moves.
		let gathered = Gathered::of(v, format)?;
		Ok(Panels { starts: starts(&gathered)?, _gathered: Some(gathered) })
	}
}

/// The right operand: panels in memory, or a lazy operand whose panels
/// the walk gathers as it reaches them (once each, when the left panels fit
/// one block), into buffers of `floats` floats.
enum RightSource<'a> {
	Panels(Panels),
	Lazy(&'a dyn MMMInputValue, usize),
}

/// A walk's reader of the right operand ([`RightSource`]), with its own
/// buffer if the operand is lazy.
enum Right<'a> {
	Panels(&'a [*const f32]),
	Lazy(&'a dyn MMMInputValue, Vec<f32>),
}

impl RightSource<'_> {
	fn reader(&self) -> Right<'_> {
		match self {
			RightSource::Panels(p) => Right::Panels(&p.starts),
			// 16 floats more, to start the panel on a 64-byte boundary.
			RightSource::Lazy(v, floats) => Right::Lazy(*v, vec![0f32; floats + 16]),
		}
	}
}

impl Right<'_> {
	/// Where right panel `jb` starts.
	fn panel(&mut self, jb: usize) -> TractResult<*const f32> {
		match self {
			Right::Panels(starts) => Ok(starts[jb]),
			Right::Lazy(v, buffer) => {
				let skip = buffer.as_ptr().align_offset(64).min(16);
				let at = buffer[skip..].as_mut_ptr() as *mut u8;
				Ok(v.panel_bytes(jb, Some(at))? as *const f32)
			}
		}
	}
}

/// A step after the product, applied in registers as tract's kernel
/// applies it (the same IEEE operation, the same operand order).
#[derive(Clone, Copy)]
enum Step {
	/// `op(value, acc)`: one value per row of the output, per column, or
	/// one for all.
	PerRow(BinOp, *const f32),
	PerCol(BinOp, *const f32),
	Scalar(BinOp, f32),
	/// `acc + other[at]`, `other` laid out as the output.
	AddUnicast(*const f32),
}

/// The steps of `op` between its product and its store as [`Step`]s, if
/// each is one ours applies: `Add`, `Mul`, `Max`, `Min` by row, column or
/// scalar, and the addition of a tensor laid out as the output `c`.
fn steps(op: &OptMatMul, inputs: &[TValue], c: &Tensor, m: usize, n: usize) -> Option<Vec<Step>> {
	let ours = |op: &BinOp| matches!(op, BinOp::Add | BinOp::Mul | BinOp::Max | BinOp::Min);
	let vector = |t: &Tensor, len: usize| flat(t).filter(|v| v.len() == len).map(|v| v.as_ptr());
	let middle = &op.micro_ops[1..op.micro_ops.len() - 1];
	middle
		.iter()
		.map(|proto| match proto {
			ProtoFusedSpec::BinPerRow(i, op, _) if ours(op) => {
				Some(Step::PerRow(*op, vector(&inputs[*i], m)?))
			}
			ProtoFusedSpec::BinPerCol(i, op, _) if ours(op) => {
				Some(Step::PerCol(*op, vector(&inputs[*i], n)?))
			}
			ProtoFusedSpec::BinScalar(i, op) if ours(op) => {
				Some(Step::Scalar(*op, *flat(&inputs[*i]).filter(|v| v.len() == 1)?.first()?))
			}
			ProtoFusedSpec::AddUnicast(_, i, _) => {
				let other = &inputs[*i];
				(dense_f32(other) && other.shape() == c.shape())
					.then(|| Some(Step::AddUnicast(flat(other)?.as_ptr())))
					.flatten()
			}
			_ => None,
		})
		.collect()
}

impl Fast for WideGemm {
	fn fast(&self, inputs: &mut TVec<TValue>) -> TractResult<Option<TValue>> {
		let op = &self.inner;
		let (Some(c_shape), Some(m_axis)) = (op.c_fact.shape.as_concrete(), op.c_m_axis) else {
			return Ok(None);
		};
		let m = c_shape[m_axis];
		let n = op.c_n_axis.map(|ax| c_shape[ax]).unwrap_or(1);
		let mode = op.mode_picker.pick(n)?;
		let mmm = &*op.mmm[mode];
		let mut c = unsafe { Tensor::uninitialized_dt(f32::datum_type(), c_shape)? };
		let rs = c.strides()[m_axis];
		let cs = op.c_n_axis.map(|ax| c.strides()[ax]).unwrap_or(0);
		// Scatters and gathers index 16 rows with `i32` offsets.
		if rs.checked_mul(16).is_none_or(|s| s > i32::MAX as isize) {
			return Ok(None);
		}
		let uops: Vec<FusedSpec> =
			op.micro_ops.iter().map(|o| o.resolve_trivial(inputs, &mut c, mmm, mode)).collect();
		let (Some(FusedSpec::AddMatMul { a, b, packing }), Some(FusedSpec::Store(store))) =
			(uops.first(), uops.last())
		else {
			return Ok(None);
		};
		let Some((mr, nr)) = wide_packing(mmm, *packing) else { return Ok(None) };
		if a.k() != b.k() || a.k() == 0 {
			return Ok(None);
		}
		let k = a.k();
		let (pa, pb) = &mmm.packings()[*packing];
		let pairs_per_block = (BLOCK_BYTES / (2 * mr * k * 4)).max(1);
		let one_block = a.panels_count() <= 2 * pairs_per_block;
		// No more memory for gathered patches than `GatherOnce` would take:
		// above it, tract's lazy panels.
		let gathered = |v: &dyn MMMInputValue| {
			v.scratch_panel_buffer_layout()
				.map_or(0, |l| l.pad_to_align().size() * v.panels_count())
		};
		if gathered(&**a) > MAX_GATHERED || (!one_block && gathered(&**b) > MAX_GATHERED) {
			return Ok(None);
		}
		let left = Panels::of(&**a, pa.clone())?;
		let right = match b.scratch_panel_buffer_layout() {
			Some(layout) if one_block => RightSource::Lazy(&**b, layout.size().div_ceil(4)),
			_ => RightSource::Panels(Panels::of(&**b, pb.clone())?),
		};
		if left.starts.len() != m.div_ceil(mr) || b.panels_count() != n.div_ceil(nr) {
			return Ok(None);
		}
		// The steps between product and store: ours in registers, or all
		// of them through tract's kernel afterwards.
		let ours = steps(op, inputs, &c, m, n);
		let out = c.as_ptr_mut::<f32>()?;
		let walk = Walk { m, n, k, mr, nr, rs, cs, pairs_per_block };
		let steps = ours.as_deref().unwrap_or(&[]);
		#[cfg(target_arch = "x86_64")]
		walk.run_all(&left.starts, &right, out, steps)?;
		#[cfg(test)]
		WIDE.with(|w| w.set(w.get() + 1));
		if ours.is_none() {
			// The steps through tract's kernel: each tile of the output
			// loaded, stepped and stored again.
			let mut steps = vec![FusedSpec::AddUnicast(*store)];
			steps.extend(uops[1..].iter().cloned());
			unsafe {
				let mut scratch = mmm.allocate_scratch_space();
				mmm.run_with_scratch_space(m, n, scratch.as_mut(), &steps)?;
			}
		}
		drop(uops);
		Ok(Some(c.into_tvalue()))
	}
}

/// The walk over the output's tiles: sizes, the panels' rows and columns,
/// the output's strides (in elements), how many pairs of left panels a
/// block holds.
struct Walk {
	m: usize,
	n: usize,
	k: usize,
	mr: usize,
	nr: usize,
	rs: isize,
	cs: isize,
	pairs_per_block: usize,
}

/// What the threads of [`Walk::run_all`] share: read-only operands, and an
/// output each writes its own tiles of.
struct Shared<'a> {
	walk: &'a Walk,
	a: &'a [*const f32],
	b: &'a RightSource<'a>,
	c: *mut f32,
	steps: &'a [Step],
}

// The pointers are into tensors and buffers that outlive the walk; the
// operands are only read, and each thread writes only its own tiles.
unsafe impl Sync for Shared<'_> {}

#[cfg(target_arch = "x86_64")]
impl Shared<'_> {
	fn run(&self, jbs: std::ops::Range<usize>) -> TractResult<()> {
		let mut reader = self.b.reader();
		// `WideGemm::of` took the product only where the CPU has AVX-512.
		unsafe { self.walk.run(self.a, &mut reader, self.c, self.steps, jbs) }
	}
}

/// A tile: where it is in the output, how much of it is, and its panels
/// (the left ones at `a0` and, if `pair`, `a1`; the right one at `b`).
struct Tile {
	row0: usize,
	col0: usize,
	rows: usize,
	cols: usize,
	a0: *const f32,
	a1: *const f32,
	pair: bool,
	b: *const f32,
}

#[cfg(target_arch = "x86_64")]
impl Walk {
	/// `c = steps(a · b)`, on the threads of tract's executor if it has
	/// several and the product is over its threshold, each walking a share
	/// of the right panels (the tiles are independent: the same bits on
	/// any number of threads).
	fn run_all(
		&self,
		a: &[*const f32],
		b: &RightSource,
		c: *mut f32,
		steps: &[Step],
	) -> TractResult<()> {
		use tract_linalg::multithread::{current_tract_executor, Executor};
		let panels = self.n.div_ceil(self.nr);
		let pool = match current_tract_executor() {
			Executor::MultiThread(pool)
				if self.m * self.n * self.k
					>= tract_linalg::multithread::current_threading_mac_threshold() =>
			{
				Some(pool)
			}
			_ => None,
		};
		let parts = pool.as_ref().map_or(1, |p| p.current_num_threads()).min(panels).max(1);
		let share = |t: usize| t * panels / parts..(t + 1) * panels / parts;
		let shared = Shared { walk: self, a, b, c, steps };
		match pool {
			Some(pool) if parts > 1 => {
				let failure = std::sync::Mutex::new(None);
				pool.scope(|scope| {
					for t in 0..parts {
						let (shared, failure) = (&shared, &failure);
						scope.spawn(move |_| {
							if let Err(e) = shared.run(share(t)) {
								*failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
							}
						});
					}
				});
				failure.into_inner().unwrap_or_else(|p| p.into_inner()).map_or(Ok(()), Err)
			}
			_ => shared.run(0..panels),
		}
	}

	/// `c = steps(a · b)` over right panels `jbs`: for each block of left
	/// panels, each right panel against each pair of the block's left
	/// panels (the right panel stays in the first-level cache, the block in
	/// the second).
	#[target_feature(enable = "avx512f")]
	unsafe fn run(
		&self,
		a: &[*const f32],
		b: &mut Right,
		c: *mut f32,
		steps: &[Step],
		jbs: std::ops::Range<usize>,
	) -> TractResult<()> {
		let (mr, nr) = (self.mr, self.nr);
		let mut first = 0;
		while first < a.len() {
			let end = (first + 2 * self.pairs_per_block).min(a.len());
			for jb in jbs.clone() {
				let bp = b.panel(jb)?;
				let mut ia = first;
				while ia < end {
					let pair = ia + 1 < end;
					let (row0, col0) = (ia * mr, jb * nr);
					let rows = (if pair { 2 * mr } else { mr }).min(self.m - row0);
					let cols = nr.min(self.n - col0);
					let a1 = if pair { a[ia + 1] } else { a[ia] };
					let at = Tile { row0, col0, rows, cols, a0: a[ia], a1, pair, b: bp };
					unsafe {
						match (mr, nr) {
							(16, 12) => self.tile(&at, steps, accumulate_2::<12>, accumulate_1, c),
							(16, 8) => self.tile(&at, steps, accumulate_2::<8>, accumulate_1, c),
							(32, 5) => self.tile(&at, steps, accumulate_4::<5>, accumulate_2, c),
							(32, 6) => self.tile(&at, steps, accumulate_4::<6>, accumulate_2, c),
							(48, 4) => self.tile(&at, steps, accumulate_6::<4>, accumulate_3, c),
							(64, 3) => self.tile(&at, steps, accumulate_8::<3>, accumulate_4, c),
							(80, 2) => self.tile(&at, steps, accumulate_10::<2>, accumulate_5, c),
							_ => bail!("no tile for {mr} x {nr} panels"),
						}
					};
					ia += if pair { 2 } else { 1 };
				}
			}
			first = end;
		}
		Ok(())
	}

	/// One tile (`W` vectors of 16 rows by `N` columns; half the rows if
	/// not `at.pair`), stepped, stored into the output at `c`: vector
	/// stores where its rows are contiguous, scatters where they are not.
	/// `H` is `W / 2`, the vectors of one left panel; `pair` and `single`
	/// accumulate two left panels and one.
	#[target_feature(enable = "avx512f")]
	unsafe fn tile<const W: usize, const H: usize, const N: usize>(
		&self,
		at: &Tile,
		steps: &[Step],
		pair: Accumulate<W, N>,
		single: Accumulate<H, N>,
		c: *mut f32,
	) {
		use std::arch::x86_64::*;
		let mut acc = [[_mm512_setzero_ps(); W]; N];
		let vector = |z: usize| {
			let panel = if z < H { at.a0 } else { at.a1 };
			unsafe { panel.add((z % H) * 16) }
		};
		if at.pair {
			let rows: [*const f32; W] = std::array::from_fn(vector);
			unsafe { pair(self.k, self.mr, rows, at.b, &mut acc) };
		} else {
			let rows: [*const f32; H] = std::array::from_fn(vector);
			let mut half = [[_mm512_setzero_ps(); H]; N];
			unsafe { single(self.k, self.mr, rows, at.b, &mut half) };
			for (acc, half) in acc.iter_mut().zip(&half) {
				acc[..H].copy_from_slice(half);
			}
		}
		// The rows of each vector that are in the output.
		let masks: [__mmask16; W] = std::array::from_fn(|z| {
			let valid = at.rows.saturating_sub(z * 16).min(16);
			((1u32 << valid) - 1) as __mmask16
		});
		let lanes = _mm512_mullo_epi32(
			_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
			_mm512_set1_epi32(self.rs as i32),
		);
		for step in steps {
			for (z, &mask) in masks.iter().enumerate() {
				if mask == 0 {
					continue;
				}
				let row = at.row0 + z * 16;
				match *step {
					Step::PerRow(op, v) => {
						let v = unsafe { _mm512_maskz_loadu_ps(mask, v.add(row)) };
						for acc in acc.iter_mut() {
							acc[z] = apply(op, v, acc[z]);
						}
					}
					Step::PerCol(op, v) => {
						for (j, acc) in acc.iter_mut().enumerate().take(at.cols) {
							let v = _mm512_set1_ps(unsafe { *v.add(at.col0 + j) });
							acc[z] = apply(op, v, acc[z]);
						}
					}
					Step::Scalar(op, v) => {
						let v = _mm512_set1_ps(v);
						for acc in acc.iter_mut() {
							acc[z] = apply(op, v, acc[z]);
						}
					}
					Step::AddUnicast(other) => {
						for (j, acc) in acc.iter_mut().enumerate().take(at.cols) {
							let at = row as isize * self.rs + (at.col0 + j) as isize * self.cs;
							let base = unsafe { other.offset(at) };
							let v = if self.rs == 1 {
								unsafe { _mm512_maskz_loadu_ps(mask, base) }
							} else {
								unsafe {
									_mm512_mask_i32gather_ps::<4>(
										_mm512_setzero_ps(),
										mask,
										lanes,
										base,
									)
								}
							};
							acc[z] = _mm512_add_ps(acc[z], v);
						}
					}
				}
			}
		}
		let corner = c.wrapping_offset(at.col0 as isize * self.cs + at.row0 as isize * self.rs);
		for (j, acc) in acc.iter().enumerate().take(at.cols) {
			let column = corner.wrapping_offset(j as isize * self.cs);
			for (z, acc) in acc.iter().enumerate().filter(|(z, _)| masks[*z] != 0) {
				let rows = column.wrapping_offset(16 * z as isize * self.rs);
				// Only the rows and columns inside the output are written.
				unsafe {
					if self.rs == 1 {
						_mm512_mask_storeu_ps(rows, masks[z], *acc);
					} else {
						_mm512_mask_i32scatter_ps::<4>(rows, masks[z], lanes, *acc);
					}
				}
			}
		}
	}
}

/// `acc[j][z] += rows[z][16 s..] × b[N s + j]` for each step `s` of `k`
/// (left panels of `mr` rows), one fused multiply-add per step in order, as
/// tract's kernels accumulate.
type Accumulate<const Z: usize, const N: usize> =
	unsafe fn(usize, usize, [*const f32; Z], *const f32, &mut [[std::arch::x86_64::__m512; Z]; N]);

/// An [`Accumulate`] for `Z` vectors, written out (a loop over the vectors,
/// or a closure, leaves the compiler free to broadcast each right value
/// once per vector, as many loads as tract's kernel).
macro_rules! accumulate {
	($name:ident, $z:literal, [$($i:literal)*]) => {
		#[cfg(target_arch = "x86_64")]
		#[target_feature(enable = "avx512f")]
		unsafe fn $name<const N: usize>(
			k: usize,
			mr: usize,
			rows: [*const f32; $z],
			b: *const f32,
			acc: &mut [[std::arch::x86_64::__m512; $z]; N],
		) {
			use std::arch::x86_64::*;
			for step in 0..k {
				let x = unsafe { [$(_mm512_loadu_ps(rows[$i].add(step * mr))),*] };
				for (j, acc) in acc.iter_mut().enumerate() {
					let y = _mm512_set1_ps(unsafe { *b.add(step * N + j) });
					$(acc[$i] = _mm512_fmadd_ps(x[$i], y, acc[$i]);)*
				}
			}
		}
	};
}

accumulate!(accumulate_1, 1, [0]);
accumulate!(accumulate_2, 2, [0 1]);
accumulate!(accumulate_3, 3, [0 1 2]);
accumulate!(accumulate_4, 4, [0 1 2 3]);
accumulate!(accumulate_5, 5, [0 1 2 3 4]);
accumulate!(accumulate_6, 6, [0 1 2 3 4 5]);
accumulate!(accumulate_8, 8, [0 1 2 3 4 5 6 7]);
accumulate!(accumulate_10, 10, [0 1 2 3 4 5 6 7 8 9]);

/// `op(v, acc)` as tract's kernel computes it: `vmaxps v, acc` is `v` where
/// `v > acc`, else `acc` (NaNs and signed zeros included).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn apply(
	op: BinOp,
	v: std::arch::x86_64::__m512,
	acc: std::arch::x86_64::__m512,
) -> std::arch::x86_64::__m512 {
	use std::arch::x86_64::*;
	match op {
		BinOp::Add => _mm512_add_ps(v, acc),
		BinOp::Mul => _mm512_mul_ps(v, acc),
		BinOp::Max => _mm512_max_ps(v, acc),
		BinOp::Min => _mm512_min_ps(v, acc),
		// Not taken (see `steps`).
		BinOp::Sub | BinOp::SubF => acc,
	}
}
