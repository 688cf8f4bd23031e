//! Waiting with a bound: commands killed at their deadline, and polling
//! until something holds.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Poll interval of every wait (each wait also has a deadline).
pub const POLL: Duration = Duration::from_millis(250);

/// Output of a command that finished in time.
pub struct Out {
    /// Whether it exited 0.
    pub ok: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `cmd`, killing it if it is still running at `timeout`.
pub fn run_with_deadline(mut cmd: Command, timeout: Duration) -> Result<Out, String> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    // Readers on threads, so a full pipe never blocks the child.
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL / 5),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{shown} did not finish within {timeout:?}"));
            }
            Err(e) => return Err(format!("waiting for {shown}: {e}")),
        }
    };
    Ok(Out {
        ok: status.success(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// Polls `probe` until it gives `Ok`, returning its last complaint at the
/// deadline.
pub fn poll_until<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    let started = Instant::now();
    loop {
        match probe() {
            Ok(v) => {
                eprintln!("{what}: after {:.1}s", started.elapsed().as_secs_f64());
                return Ok(v);
            }
            Err(why) if started.elapsed() >= timeout => {
                return Err(format!(
                    "{what}: still not the case after {timeout:?}: {why}"
                ))
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// [`poll_until`], panicking at the deadline.
pub fn wait_until<T>(what: &str, timeout: Duration, probe: impl FnMut() -> Result<T, String>) -> T {
    poll_until(what, timeout, probe).unwrap_or_else(|e| panic!("{e}"))
}
