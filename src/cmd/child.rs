//! Running a child (a shell, a command) the way a wrapper should: its exit status becomes
//! ours, and signals sent to kctx reach it.

use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::{Context, Result};

static CHILD: AtomicI32 = AtomicI32::new(0);

const FORWARDED: [libc::c_int; 6] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// Forwards a signal someone sent to kctx (kill, systemd, a closing terminal's SIGHUP) to the
/// child. A signal the terminal generated (Ctrl-C, Ctrl-\) already went to the child, which is
/// in the same foreground process group: it is not sent twice.
extern "C" fn forward(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let child = CHILD.load(Ordering::SeqCst);
    // SAFETY: reading the siginfo the kernel passed; kill is async-signal-safe.
    unsafe {
        let from_terminal = !info.is_null() && (*info).si_code == libc::SI_KERNEL;
        if child > 0 && !from_terminal {
            libc::kill(child, sig);
        }
    }
}

/// Runs `cmd`, then `cleanup`; exits as the child did (its code, or the signal that killed it,
/// re-raised on kctx after the cleanup). A command that cannot be started exits 127 when it
/// is not found and 126 when it cannot be executed, as `env`, `sudo` and shells do.
pub(crate) fn run(mut cmd: Command, what: &str, cleanup: impl FnOnce()) -> Result<ExitCode> {
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            cleanup();
            eprintln!("kctx: error: cannot run {what}: {e}");
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            return Ok(ExitCode::from(code));
        }
    };
    CHILD.store(child.id() as i32, Ordering::SeqCst);
    // SAFETY: installing a handler that only calls async-signal-safe functions.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = forward as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        for sig in FORWARDED {
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
    let status = child.wait();
    CHILD.store(0, Ordering::SeqCst);
    cleanup();
    let status = status.with_context(|| format!("waiting for {what}"))?;
    use std::os::unix::process::ExitStatusExt;
    if let Some(sig) = status.signal() {
        // die the way the child died, so that the caller sees the same status
        // SAFETY: restoring the default disposition and raising a signal on ourselves.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
        return Ok(ExitCode::from(128 + sig as u8));
    }
    Ok(ExitCode::from(
        status.code().unwrap_or(1).clamp(0, 255) as u8
    ))
}
