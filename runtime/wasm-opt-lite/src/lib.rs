//! The part of the [`wasm-opt`](https://crates.io/crates/wasm-opt) API that
//! `substrate-wasm-builder` calls, implemented without binaryen.
//!
//! `substrate-wasm-builder` always runs two binaryen passes over the runtime
//! blob: `SignextLowering` (rewrite sign-extension operators into MVP code) and,
//! for the compact blob, `StripDwarf`. Linking binaryen means compiling a large
//! C++ code base, which dominates a cold build on a small machine.
//!
//! Verity builds its runtime for `wasm32v1-none`, whose code generation is
//! restricted to the WebAssembly MVP plus mutable globals, so there is nothing
//! to lower. This crate therefore:
//! * **validates** the module against exactly the MVP feature set (plus mutable
//!   globals), so a blob that needed lowering (e.g. one built for
//!   `wasm32-unknown-unknown` by a toolchain that emits sign-extension
//!   operators) fails the build with a clear error instead of being silently
//!   accepted, and
//! * implements `StripDwarf` by dropping the `.debug_*` custom sections.
//!
//! Every other pass is refused with [`OptimizationError::UnsupportedPass`].

use std::path::Path;

/// The optimization passes known to this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
	/// Lower sign-extension operators to MVP code. Here: require that there are none.
	SignextLowering,
	/// Remove DWARF debug information (`.debug_*` custom sections).
	StripDwarf,
}

/// Errors of [`OptimizationOptions::run`].
#[derive(Debug, thiserror::Error)]
pub enum OptimizationError {
	/// The input could not be read or the output not written.
	#[error("wasm-opt-lite: I/O error on {path}: {source}")]
	Io {
		/// The file concerned.
		path: String,
		/// The underlying error.
		source: std::io::Error,
	},
	/// The module is not valid MVP WebAssembly.
	#[error(
		"wasm-opt-lite: the runtime blob is not MVP WebAssembly ({0}); build it for the \
         `wasm32v1-none` target (see scripts/setup)"
	)]
	NotMvp(String),
	/// The module's section structure is malformed.
	#[error("wasm-opt-lite: malformed module: {0}")]
	Malformed(&'static str),
	/// A pass this crate does not implement was requested.
	#[error("wasm-opt-lite: pass {0:?} is not supported")]
	UnsupportedPass(Pass),
}

/// Builder for a run over one module, mirroring `wasm_opt::OptimizationOptions`.
#[derive(Clone, Debug, Default)]
pub struct OptimizationOptions {
	passes: Vec<Pass>,
}

impl OptimizationOptions {
	/// Options equivalent to `wasm-opt -O0`: run only the passes added.
	pub fn new_opt_level_0() -> Self {
		Self::default()
	}

	/// Add a pass to run.
	pub fn add_pass(&mut self, pass: Pass) -> &mut Self {
		self.passes.push(pass);
		self
	}

	/// Keep or drop debug info. DWARF is only removed by [`Pass::StripDwarf`].
	pub fn debug_info(&mut self, _keep: bool) -> &mut Self {
		self
	}

	/// Restrict the module to MVP features. The module is always validated as MVP.
	pub fn mvp_features_only(&mut self) -> &mut Self {
		self
	}

	/// Run the passes over `infile` and write the result to `outfile` (which may be the same).
	pub fn run(
		&self,
		infile: impl AsRef<Path>,
		outfile: impl AsRef<Path>,
	) -> Result<(), OptimizationError> {
		let infile = infile.as_ref();
		let bytes = std::fs::read(infile).map_err(|source| OptimizationError::Io {
			path: infile.display().to_string(),
			source,
		})?;
		validate_mvp(&bytes)?;
		let mut out = bytes;
		for pass in &self.passes {
			match pass {
				Pass::SignextLowering => {} // validated above: nothing to lower
				Pass::StripDwarf => out = strip_dwarf(&out)?,
			}
		}
		let outfile = outfile.as_ref();
		std::fs::write(outfile, out)
			.map_err(|source| OptimizationError::Io { path: outfile.display().to_string(), source })
	}
}

fn validate_mvp(bytes: &[u8]) -> Result<(), OptimizationError> {
	use wasmparser::{Validator, WasmFeatures};
	let features = WasmFeatures::MUTABLE_GLOBAL | WasmFeatures::FLOATS;
	Validator::new_with_features(features)
		.validate_all(bytes)
		.map(|_| ())
		.map_err(|e| OptimizationError::NotMvp(e.to_string()))
}

fn read_leb_u32(bytes: &[u8], pos: &mut usize) -> Result<u32, OptimizationError> {
	let mut result: u32 = 0;
	for shift in (0..35).step_by(7) {
		let byte = *bytes.get(*pos).ok_or(OptimizationError::Malformed("truncated LEB128"))?;
		*pos += 1;
		result |= u32::from(byte & 0x7f) << shift;
		if byte & 0x80 == 0 {
			return Ok(result);
		}
	}
	Err(OptimizationError::Malformed("LEB128 too long"))
}

/// Copy a module, leaving out custom sections whose name starts with `.debug`.
fn strip_dwarf(bytes: &[u8]) -> Result<Vec<u8>, OptimizationError> {
	if bytes.len() < 8 {
		return Err(OptimizationError::Malformed("no header"));
	}
	let mut out = bytes[..8].to_vec();
	let mut pos = 8;
	while pos < bytes.len() {
		let start = pos;
		let id = bytes[pos];
		pos += 1;
		let size = read_leb_u32(bytes, &mut pos)? as usize;
		let end = pos.checked_add(size).filter(|e| *e <= bytes.len());
		let end = end.ok_or(OptimizationError::Malformed("section past end of module"))?;
		let is_debug = id == 0 && {
			let mut p = pos;
			let len = read_leb_u32(bytes, &mut p)? as usize;
			bytes.get(p..p + len).is_some_and(|name| name.starts_with(b".debug"))
		};
		if !is_debug {
			out.extend_from_slice(&bytes[start..end]);
		}
		pos = end;
	}
	Ok(out)
}

#[cfg(test)]
mod tests {
	use super::*;

	// (module (func (result i32) i32.const 1)) plus a `.debug_info` and a `name` custom section.
	fn module() -> Vec<u8> {
		let mut m = b"\0asm\x01\0\0\0".to_vec();
		m.extend_from_slice(&[1, 5, 1, 0x60, 0, 1, 0x7f]); // type section
		m.extend_from_slice(&[3, 2, 1, 0]); // function section
		m.extend_from_slice(&[10, 6, 1, 4, 0, 0x41, 1, 0x0b]); // code section
		m.extend_from_slice(&[0, 13, 11]);
		m.extend_from_slice(b".debug_info\x07");
		m.extend_from_slice(&[0, 6, 4]);
		m.extend_from_slice(b"name\x00");
		m
	}

	#[test]
	fn strips_only_debug_sections() {
		let m = module();
		let stripped = strip_dwarf(&m).unwrap();
		assert_eq!(stripped.len(), m.len() - 15);
		assert!(!stripped.windows(6).any(|w| w == b".debug"));
		assert!(stripped.windows(4).any(|w| w == b"name"));
		validate_mvp(&stripped).unwrap();
	}

	#[test]
	fn rejects_sign_extension() {
		let mut m = b"\0asm\x01\0\0\0".to_vec();
		m.extend_from_slice(&[1, 5, 1, 0x60, 0, 1, 0x7f]);
		m.extend_from_slice(&[3, 2, 1, 0]);
		// i32.const 1; i32.extend8_s
		m.extend_from_slice(&[10, 7, 1, 5, 0, 0x41, 1, 0xc0, 0x0b]);
		assert!(matches!(validate_mvp(&m), Err(OptimizationError::NotMvp(_))));
	}

	#[test]
	fn rejects_truncated_section() {
		let mut m = module();
		m.truncate(m.len() - 2);
		assert!(strip_dwarf(&m).is_err());
	}
}
