//! Builds the runtime's WebAssembly blob with `substrate-wasm-builder`.
//!
//! Where rustup has no wasm target (no network here), `scripts/setup` registers
//! Debian's `rustc-web` toolchain with rustup as `verity-wasm`. This script then
//! uses it for the runtime blob only, unless `WASM_BUILD_TOOLCHAIN` is set.

#[cfg(feature = "std")]
fn main() {
	const FALLBACK: &str = "verity-wasm";
	println!("cargo:rerun-if-env-changed=WASM_BUILD_TOOLCHAIN");
	// The target directory may live outside the workspace (scripts/env.sh); tell
	// wasm-builder where the workspace's Cargo.lock is, so the blob is built
	// with exactly the locked dependency versions.
	if std::env::var_os("WASM_BUILD_WORKSPACE_HINT").is_none() {
		// Read at run time: a build script compiled for another clone sharing
		// this target directory may be reused, with another path compiled in.
		let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it; qed");
		let workspace = std::path::Path::new(&manifest).join("..");
		// SAFETY: build scripts are single-threaded; wasm-builder reads it below.
		unsafe { std::env::set_var("WASM_BUILD_WORKSPACE_HINT", workspace) };
	}
	let mut builder = substrate_wasm_builder::WasmBuilder::init_with_defaults();
	if std::env::var_os("WASM_BUILD_TOOLCHAIN").is_none() && toolchain_registered(FALLBACK) {
		// SAFETY: build scripts are single-threaded; wasm-builder reads it below.
		unsafe { std::env::set_var("WASM_BUILD_TOOLCHAIN", FALLBACK) };
		// rustc >= 1.96 no longer lets undefined imports (the host functions)
		// through the wasm linker by default.
		builder = builder.append_to_rust_flags("-C link-arg=--allow-undefined");
	}
	#[cfg(feature = "metadata-hash")]
	{
		builder = builder.enable_metadata_hash("VRT", 12);
	}
	builder.build();
}

#[cfg(feature = "std")]
fn toolchain_registered(name: &str) -> bool {
	std::process::Command::new("rustup")
		.args(["toolchain", "list"])
		.output()
		.map(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.starts_with(name)))
		.unwrap_or(false)
}

/// The wasm build of the runtime itself compiles this script without `std`.
#[cfg(not(feature = "std"))]
fn main() {}
