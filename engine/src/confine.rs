//! What confines the inference worker (Linux).
//!
//! The worker parses and runs models nobody vouched for, so it gets only what
//! inference needs. The node, before `exec`ing it ([`before_exec`]):
//! * limits its address space (`RLIMIT_AS`, the engine's memory limit), its
//!   open files (`RLIMIT_NOFILE`, [`MAX_FILES`]) and its core dumps
//!   (`RLIMIT_CORE` 0);
//! * sets `no_new_privs`, so that nothing it executes gains privileges;
//! * marks every inherited file descriptor above stderr close-on-exec, so
//!   the worker starts with stdin, stdout and stderr only;
//! * clears its environment (in [`crate::sandbox`]).
//!
//! The worker itself, once started and before it reads a request
//! ([`confine`]), checks those limits and installs a seccomp filter on all
//! its threads: an allow-list of the system calls inference needs (memory,
//! threads, futexes, time, randomness, reading stdin and writing
//! stdout/stderr). Everything else fails with `EPERM`: opening any file (so
//! the keystore and the rest of the filesystem are out of reach: the model
//! arrives on stdin), sockets (no network), `fork`, `vfork`, `execve` and a
//! `clone` that is not a thread's (no processes; `RLIMIT_NPROC` would not
//! bind a root node), `ptrace`, signals to other processes. `clone3` fails
//! with `ENOSYS`, so that the C library creates threads with `clone`, whose
//! flags the filter can check.
//!
//! A denied call is an error inside the worker, which the node treats like
//! any other failure of its own worker (node-local: the job is retried,
//! then declined), never as the model's fault.

// Syscall numbers are `c_long`: `i64` only on 64-bit targets.
#![allow(clippy::unnecessary_cast)]

use std::collections::BTreeMap;

use codec::{Decode, Encode};
use seccompiler::{
	BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
	SeccompRule, TargetArch,
};

/// Most file descriptors the worker may hold (`RLIMIT_NOFILE`). It needs
/// three; the rest is room for the C library.
pub const MAX_FILES: u64 = 16;

/// What the worker found when it confined itself, for [`crate::sandbox::Request::Probe`].
#[derive(Encode, Decode, Debug, Clone, PartialEq, Eq)]
pub struct Confinement {
	/// The file descriptors open in the worker.
	pub open_files: Vec<i32>,
	/// Its `RLIMIT_NOFILE` (soft).
	pub max_files: u64,
	/// Its `RLIMIT_CORE` (soft).
	pub max_core: u64,
	/// How many environment variables it has.
	pub env_vars: u32,
	/// Whether `no_new_privs` is set.
	pub no_new_privs: bool,
}

/// Between `fork` and `exec` of the worker, in the child: limits, privileges
/// and inherited descriptors (see the module's docs). Only async-signal-safe
/// calls.
///
/// # Safety
/// To be called only in a `pre_exec` hook.
pub unsafe fn before_exec(memory_bytes: u64) -> std::io::Result<()> {
	let set = |resource, value: u64| {
		let lim = libc::rlimit { rlim_cur: value, rlim_max: value };
		if libc::setrlimit(resource, &lim) == 0 {
			Ok(())
		} else {
			Err(std::io::Error::last_os_error())
		}
	};
	set(libc::RLIMIT_AS, memory_bytes)?;
	set(libc::RLIMIT_NOFILE, MAX_FILES)?;
	set(libc::RLIMIT_CORE, 0)?;
	libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
	if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
		return Err(std::io::Error::last_os_error());
	}
	// Close-on-exec for every descriptor above stderr (std's own pipes
	// already are): `close_range(3, ~0, CLOSE_RANGE_CLOEXEC)`, or one by one
	// on kernels without it.
	const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
	if libc::syscall(
		libc::SYS_close_range,
		3 as libc::c_uint,
		!0 as libc::c_uint,
		CLOSE_RANGE_CLOEXEC,
	) != 0
	{
		for fd in 3..1024 {
			libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
		}
	}
	Ok(())
}

fn soft_limit(resource: libc::__rlimit_resource_t) -> u64 {
	let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
	// SAFETY: `lim` is a valid out-pointer.
	if unsafe { libc::getrlimit(resource, &mut lim) } == 0 {
		lim.rlim_cur
	} else {
		u64::MAX
	}
}

/// The system calls the worker may make: `(number, conditions)`, where no
/// condition means any arguments.
fn allowed() -> Result<BTreeMap<i64, Vec<SeccompRule>>, seccompiler::Error> {
	let any = |n: libc::c_long| (n, Vec::new());
	let when =
		|arg: u8, op: SeccompCmpOp, value: u64| -> Result<Vec<SeccompRule>, seccompiler::Error> {
			Ok(vec![SeccompRule::new(vec![SeccompCondition::new(
				arg,
				SeccompCmpArgLen::Qword,
				op,
				value,
			)?])?])
		};
	let own_pid = std::process::id() as u64;
	let mut rules: BTreeMap<i64, Vec<SeccompRule>> = [
		// Requests in, answers and log lines out.
		any(libc::SYS_read),
		any(libc::SYS_write),
		any(libc::SYS_readv),
		any(libc::SYS_writev),
		any(libc::SYS_close),
		// Memory.
		any(libc::SYS_brk),
		any(libc::SYS_mmap),
		any(libc::SYS_munmap),
		any(libc::SYS_mremap),
		any(libc::SYS_mprotect),
		any(libc::SYS_madvise),
		// Threads (the engine's multithreaded executor) and their locks.
		any(libc::SYS_futex),
		any(libc::SYS_set_robust_list),
		any(libc::SYS_rseq),
		any(libc::SYS_sched_yield),
		any(libc::SYS_sched_getaffinity),
		any(libc::SYS_gettid),
		any(libc::SYS_getpid),
		any(libc::SYS_membarrier),
		// Signals: handlers, masks, alternate stacks; a signal only to itself.
		any(libc::SYS_rt_sigaction),
		any(libc::SYS_rt_sigprocmask),
		any(libc::SYS_rt_sigreturn),
		any(libc::SYS_sigaltstack),
		// Time, sleeping and randomness (hash maps' keys).
		any(libc::SYS_clock_gettime),
		any(libc::SYS_clock_getres),
		any(libc::SYS_clock_nanosleep),
		any(libc::SYS_nanosleep),
		any(libc::SYS_getrandom),
		any(libc::SYS_restart_syscall),
		any(libc::SYS_exit),
		any(libc::SYS_exit_group),
	]
	.into_iter()
	.map(|(n, r)| (n as i64, r))
	.collect();
	rules.insert(libc::SYS_tgkill as i64, when(0, SeccompCmpOp::Eq, own_pid)?);
	// Naming its threads; and `no_new_privs` and `seccomp`, which installing
	// the second filter (`clone3`) after this one takes: a filter can only
	// restrict further.
	let prctl = |option: libc::c_int| -> Result<SeccompRule, seccompiler::Error> {
		Ok(SeccompRule::new(vec![SeccompCondition::new(
			0,
			SeccompCmpArgLen::Qword,
			SeccompCmpOp::Eq,
			option as u64,
		)?])?)
	};
	rules.insert(
		libc::SYS_prctl as i64,
		vec![prctl(libc::PR_SET_NAME)?, prctl(libc::PR_SET_NO_NEW_PRIVS)?],
	);
	rules.insert(libc::SYS_seccomp as i64, Vec::new());
	// `clone` only for a thread: with CLONE_THREAD (which needs CLONE_VM and
	// CLONE_SIGHAND), never a new process.
	let thread = (libc::CLONE_THREAD | libc::CLONE_VM | libc::CLONE_SIGHAND) as u64;
	rules.insert(libc::SYS_clone as i64, when(0, SeccompCmpOp::MaskedEq(thread), thread)?);
	Ok(rules)
}

fn compile(
	rules: BTreeMap<i64, Vec<SeccompRule>>,
	mismatch: SeccompAction,
	matched: SeccompAction,
) -> Result<BpfProgram, String> {
	let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| format!("{e:?}"))?;
	let filter = SeccompFilter::new(rules, mismatch, matched, arch).map_err(|e| e.to_string())?;
	filter.try_into().map_err(|e: seccompiler::BackendError| e.to_string())
}

/// In the worker, before it reads its first request: checks the limits the
/// node set, records them, and installs the seccomp filters on every thread.
/// An error means the worker must not serve.
pub fn confine() -> Result<Confinement, String> {
	let open_files = (0..MAX_FILES as i32)
		// SAFETY: F_GETFD on any integer is harmless.
		.filter(|fd| unsafe { libc::fcntl(*fd, libc::F_GETFD) } != -1)
		.collect();
	let found = Confinement {
		open_files,
		max_files: soft_limit(libc::RLIMIT_NOFILE),
		max_core: soft_limit(libc::RLIMIT_CORE),
		env_vars: std::env::vars_os().count() as u32,
		// SAFETY: a query.
		no_new_privs: unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) } == 1,
	};
	if found.max_files > MAX_FILES || found.max_core != 0 || !found.no_new_privs {
		return Err(format!("started without the node's limits: {found:?}"));
	}
	let allow_list = compile(
		allowed().map_err(|e| e.to_string())?,
		SeccompAction::Errno(libc::EPERM as u32),
		SeccompAction::Allow,
	)?;
	// Installed last, so that its answer wins over the allow-list's EPERM.
	let no_clone3 = compile(
		[(libc::SYS_clone3 as i64, Vec::new())].into_iter().collect(),
		SeccompAction::Allow,
		SeccompAction::Errno(libc::ENOSYS as u32),
	)?;
	for program in [&allow_list, &no_clone3] {
		seccompiler::apply_filter_all_threads(program).map_err(|e| e.to_string())?;
	}
	Ok(found)
}

/// What the confined worker could do, as [`crate::sandbox::Request::Probe`]
/// reports it: `None` where the attempt failed as it should, the success
/// otherwise.
#[derive(Encode, Decode, Debug, Clone, PartialEq, Eq)]
pub struct ProbeReport {
	/// What [`confine`] found.
	pub confinement: Confinement,
	/// The errno of opening the probed path for reading (0: it opened).
	pub open_errno: i32,
	/// The errno of creating a TCP socket (0: it was created).
	pub socket_errno: i32,
	/// Whether spawning `/bin/true` failed.
	pub spawn_failed: bool,
	/// Whether a thread could still be started (the engine's threads).
	pub thread_started: bool,
}

/// Tries, from inside the confined worker, what the confinement forbids.
pub fn probe(confinement: Confinement, path: &[u8]) -> ProbeReport {
	let errno = |ret: libc::c_int| {
		if ret >= 0 {
			// SAFETY: closing what was just opened.
			unsafe { libc::close(ret) };
			0
		} else {
			std::io::Error::last_os_error().raw_os_error().unwrap_or(-1)
		}
	};
	let path = std::ffi::CString::new(path.to_vec()).unwrap_or_default();
	// SAFETY: a valid C string and flags.
	let open_errno = errno(unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) });
	// SAFETY: plain arguments.
	let socket_errno = errno(unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) });
	let spawn_failed = std::process::Command::new("/bin/true")
		.stdin(std::process::Stdio::null())
		.stdout(std::process::Stdio::null())
		.stderr(std::process::Stdio::null())
		.status()
		.is_err();
	let thread_started = std::thread::spawn(|| 7).join().is_ok_and(|v| v == 7);
	ProbeReport { confinement, open_errno, socket_errno, spawn_failed, thread_started }
}
