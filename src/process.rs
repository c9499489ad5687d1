//! Running a program kctx does not control — a credential exec plugin, a profile's
//! `credential_process` — with bounds, so that nothing outside kctx can hang it or fill its
//! memory: a deadline after which its whole process group is killed (also children that keep
//! its output open after it exited), a cap on what it may print on stdout, and its stderr
//! passed on (or kept for an error message) up to a cap, the rest read and dropped so that it
//! never blocks on a full pipe.

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What happens to the program's stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stderr {
    /// The terminal's (an interactive plugin may prompt there); no process group either, so
    /// that it stays in the terminal's foreground group.
    Terminal,
    /// Passed on to kctx's stderr, up to this many bytes.
    Forward(usize),
    /// Kept (up to this many bytes) for the error message.
    Capture(usize),
}

/// The bounds of one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) time: Duration,
    pub(crate) stdout: usize,
    pub(crate) stderr: Stderr,
}

/// A run that finished within its bounds.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: Vec<u8>,
    /// What was captured (empty unless [`Stderr::Capture`]).
    pub(crate) stderr: Vec<u8>,
}

/// Why a run did not finish.
#[derive(Debug)]
pub(crate) enum Failure {
    NotFound,
    Spawn(std::io::Error),
    /// The deadline passed; `exited` when the program itself had exited but something it
    /// started kept its output open.
    TimedOut {
        exited: bool,
    },
    /// It printed more than the stdout cap.
    TooMuchOutput,
    Wait(std::io::Error),
}

/// Runs `cmd` within `limits` (stdin is the terminal only with [`Stderr::Terminal`]).
pub(crate) fn run(mut cmd: Command, limits: Limits) -> Result<Finished, Failure> {
    let interactive = limits.stderr == Stderr::Terminal;
    cmd.stdout(Stdio::piped());
    if interactive {
        cmd.stdin(Stdio::inherit()).stderr(Stdio::inherit());
    } else {
        cmd.stdin(Stdio::null()).stderr(Stdio::piped());
        // its own process group, so that a stalled program goes with everything it started
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Failure::NotFound),
        Err(e) => return Err(Failure::Spawn(e)),
    };
    let captured = child
        .stderr
        .take()
        .map(|err| drain_stderr(err, limits.stderr));
    let chunks = read_chunks(child.stdout.take().expect("piped"));
    let deadline = Instant::now() + limits.time;
    let mut out = Vec::new();
    let mut status: Option<ExitStatus> = None;
    let mut eof = false;
    // until it has exited and its stdout is closed (by every process holding it)
    while status.is_none() || !eof {
        let now = Instant::now();
        if now >= deadline {
            kill(&mut child, interactive);
            if status.is_some_and(|s| s.success()) && !out.is_empty() {
                // it answered and exited; what it left behind held the pipe open
                break;
            }
            return Err(Failure::TimedOut {
                exited: status.is_some(),
            });
        }
        if eof {
            std::thread::sleep(Duration::from_millis(5));
        } else {
            match chunks.recv_timeout((deadline - now).min(Duration::from_millis(5))) {
                Ok(Some(c)) => {
                    out.extend_from_slice(&c);
                    if out.len() > limits.stdout {
                        kill(&mut child, interactive);
                        return Err(Failure::TooMuchOutput);
                    }
                }
                Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => eof = true,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
        if status.is_none() {
            status = child.try_wait().map_err(Failure::Wait)?;
        }
    }
    let status = status.expect("the loop ends once it exited");
    // what it wrote on stderr before it exited (a few milliseconds at most to arrive)
    let stderr = captured
        .and_then(|rx| rx.recv_timeout(Duration::from_millis(200)).ok())
        .unwrap_or_default();
    Ok(Finished {
        status,
        stdout: out,
        stderr,
    })
}

/// Kills the program and, when it has a group of its own, everything in it.
fn kill(child: &mut Child, interactive: bool) {
    if !interactive {
        // SAFETY: signalling the process group `run` created for this child.
        unsafe {
            libc::kill(-(child.id() as i32), libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Reads a pipe on a thread, chunk by chunk (`None` at its end). The thread is not waited
/// for: when a process kctx cannot kill holds the pipe, it is left behind with it.
fn read_chunks(mut r: impl Read + Send + 'static) -> mpsc::Receiver<Option<Vec<u8>>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 << 10];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(None);
                    return;
                }
                Ok(n) => {
                    if tx.send(Some(buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// Reads stderr to its end on a thread: passes on or keeps up to the cap, drops the rest
/// (saying so once when passing on). The kept bytes arrive on the channel at the end.
fn drain_stderr(mut r: impl Read + Send + 'static, mode: Stderr) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        let mut kept = Vec::new();
        let mut passed = 0usize;
        let mut said = false;
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            match mode {
                Stderr::Forward(cap) => {
                    let take = n.min(cap.saturating_sub(passed));
                    if take > 0 {
                        let _ = std::io::stderr().write_all(&buf[..take]);
                        passed += take;
                    }
                    if take < n && !said {
                        said = true;
                        eprintln!(
                            "\nkctx: (the program's further messages are dropped after {} KiB)",
                            cap >> 10
                        );
                    }
                }
                Stderr::Capture(cap) => {
                    let take = n.min(cap.saturating_sub(kept.len()));
                    kept.extend_from_slice(&buf[..take]);
                }
                Stderr::Terminal => {}
            }
        }
        let _ = tx.send(kept);
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    fn limits(ms: u64) -> Limits {
        Limits {
            time: Duration::from_millis(ms),
            stdout: 1 << 10,
            stderr: Stderr::Capture(64),
        }
    }

    #[test]
    fn output_status_and_stderr_within_bounds() {
        let f = run(sh("echo out; echo err >&2; exit 3"), limits(5000)).unwrap();
        assert_eq!(f.stdout, b"out\n");
        assert_eq!(f.stderr, b"err\n");
        assert_eq!(f.status.code(), Some(3));
        assert!(matches!(
            run(Command::new("/nonexistent/kctx-test"), limits(1000)),
            Err(Failure::NotFound)
        ));
    }

    #[test]
    fn a_stall_an_endless_output_and_a_child_holding_the_pipe_are_all_bounded() {
        let t = Instant::now();
        assert!(matches!(
            run(sh("sleep 30"), limits(300)),
            Err(Failure::TimedOut { exited: false })
        ));
        assert!(matches!(
            run(sh("yes"), limits(5000)),
            Err(Failure::TooMuchOutput)
        ));
        // it prints nothing and exits; a background child keeps stdout open
        assert!(matches!(
            run(sh("sleep 30 & exit 0"), limits(300)),
            Err(Failure::TimedOut { exited: true })
        ));
        // it answers and exits; the child left behind does not hold kctx
        let f = run(sh("echo '{}'; sleep 30 & exit 0"), limits(300)).unwrap();
        assert_eq!(f.stdout, b"{}\n");
        // a flood on stderr neither blocks it nor is kept beyond the cap
        let f = run(sh("yes >&2 & sleep 0.2; kill $!; echo done"), limits(5000)).unwrap();
        assert_eq!(f.stdout, b"done\n");
        assert_eq!(f.stderr.len(), 64);
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    }
}
