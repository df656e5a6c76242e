//! The OCI runtime binary (runc, or crun) and one `run` of it: output streamed line by
//! line to the caller's sink, a timeout, and `delete -f` whenever the run did not end
//! cleanly.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The environment variable that names the runtime binary (a path or a name on PATH).
pub const RUNTIME_ENV: &str = "CROSSDOCK_RUNTIME";

/// Runtimes tried on PATH, in order. runc first: crun 1.8 refuses hybrid cgroup
/// hierarchies that runc handles.
const CANDIDATES: [&str; 2] = ["runc", "crun"];

/// Lines of output kept for error messages.
pub(crate) const TAIL_LINES: usize = 20;

/// Longest line passed to the sink at once; longer lines arrive in pieces.
const MAX_LINE: usize = 64 * 1024;

/// No OCI runtime binary was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no OCI runtime found ({tried}); run `crossdock setup` as root to install runc, \
     or set {RUNTIME_ENV} to a runc-compatible binary"
)]
pub struct NoRuntime {
    /// What was looked for, and where.
    pub tried: String,
}

/// A runc-compatible runtime binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeBinary {
    path: PathBuf,
}

fn on_path(name: &str, path_var: Option<&OsString>) -> Option<PathBuf> {
    let path_var = path_var?;
    std::env::split_paths(path_var)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl RuntimeBinary {
    /// `$CROSSDOCK_RUNTIME` if set (a path, or a name looked up on PATH), else runc,
    /// else crun, on PATH.
    pub fn find() -> Result<Self, NoRuntime> {
        Self::find_with(
            std::env::var_os(RUNTIME_ENV).as_ref(),
            std::env::var_os("PATH").as_ref(),
        )
    }

    pub(crate) fn find_with(
        configured: Option<&OsString>,
        path_var: Option<&OsString>,
    ) -> Result<Self, NoRuntime> {
        if let Some(value) = configured.filter(|v| !v.is_empty()) {
            let as_path = PathBuf::from(value);
            let found = if as_path.components().count() > 1 {
                is_executable(&as_path).then_some(as_path.clone())
            } else {
                on_path(&value.to_string_lossy(), path_var)
            };
            return found.map(|path| Self { path }).ok_or_else(|| NoRuntime {
                tried: format!("{RUNTIME_ENV}={} is not an executable", as_path.display()),
            });
        }
        CANDIDATES
            .iter()
            .find_map(|name| on_path(name, path_var))
            .map(|path| Self { path })
            .ok_or_else(|| NoRuntime {
                tried: format!("{} on PATH", CANDIDATES.join(", ")),
            })
    }

    /// A binary at a known path.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Where the binary is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Receives a step's output as it happens, one line at a time (with its newline when
/// it had one), e.g. for a progress display.
pub trait OutputSink {
    /// One line of output.
    fn line(&mut self, stream: Stream, line: &[u8]);
}

impl<F: FnMut(Stream, &[u8])> OutputSink for F {
    fn line(&mut self, stream: Stream, line: &[u8]) {
        self(stream, line)
    }
}

/// How one run ended.
#[derive(Debug)]
pub(crate) enum Ended {
    /// The runtime exited (with the step's exit status, or its own failure).
    Exited(ExitStatus),
    /// The deadline passed; the container was killed.
    TimedOut,
}

/// The last lines of output, for error messages.
#[derive(Debug, Default)]
pub(crate) struct Tail {
    lines: VecDeque<String>,
    partial: bool,
}

impl Tail {
    fn push(&mut self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let complete = text.ends_with('\n');
        let text = text.trim_end_matches(['\n', '\r']);
        match (self.partial, self.lines.back_mut()) {
            (true, Some(last)) => last.push_str(text),
            _ => self.lines.push_back(text.to_owned()),
        }
        self.partial = !complete;
        while self.lines.len() > TAIL_LINES {
            self.lines.pop_front();
        }
    }

    pub(crate) fn into_lines(self) -> Vec<String> {
        self.lines.into()
    }
}

fn pump(stream: Stream, reader: impl Read, tx: mpsc::Sender<(Stream, Vec<u8>)>) {
    let mut reader = BufReader::with_capacity(MAX_LINE, reader);
    loop {
        let mut line = Vec::new();
        // Bounded read_until: a step printing without newlines cannot grow this.
        let n = (&mut reader)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .unwrap_or_default();
        if n == 0 || tx.send((stream, line)).is_err() {
            return;
        }
    }
}

/// `runtime --root <state_root> run --bundle <bundle> <id>`, streaming output to
/// `sink` and into `tail`, killed at `timeout`. Whatever happens, the container is
/// gone afterwards (`delete -f` after any failure).
pub(crate) fn run(
    runtime: &RuntimeBinary,
    state_root: &Path,
    bundle: &Path,
    id: &str,
    timeout: Option<Duration>,
    sink: &mut dyn OutputSink,
    tail: &mut Tail,
) -> std::io::Result<Ended> {
    let mut child = Command::new(&runtime.path)
        .arg("--root")
        .arg(state_root)
        .arg("run")
        .arg("--bundle")
        .arg(bundle)
        .arg(id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let (tx, rx) = mpsc::channel();
    let mut pumps = Vec::new();
    if let Some(out) = child.stdout.take() {
        let tx = tx.clone();
        pumps.push(std::thread::spawn(move || pump(Stream::Stdout, out, tx)));
    }
    if let Some(err) = child.stderr.take() {
        let tx = tx.clone();
        pumps.push(std::thread::spawn(move || pump(Stream::Stderr, err, tx)));
    }
    drop(tx);
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut timed_out = false;
    loop {
        let message = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(m) => m,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        timed_out = true;
                        break;
                    }
                }
            }
            None => match rx.recv() {
                Ok(m) => m,
                Err(_) => break,
            },
        };
        sink.line(message.0, &message.1);
        tail.push(&message.1);
    }
    if timed_out {
        kill(runtime, state_root, id);
        let _ = child.kill();
    }
    let status = child.wait();
    // Output written before the kill still reaches the sink.
    for (stream, line) in rx.try_iter() {
        sink.line(stream, &line);
        tail.push(&line);
    }
    for p in pumps {
        let _ = p.join();
    }
    let status = status?;
    if timed_out {
        delete(runtime, state_root, id);
        return Ok(Ended::TimedOut);
    }
    if !status.success() {
        // `run` removes the container when the process exits, but not when the runtime
        // itself failed half-way.
        delete(runtime, state_root, id);
    }
    Ok(Ended::Exited(status))
}

fn quiet(runtime: &RuntimeBinary, state_root: &Path, args: &[&str]) {
    let _ = Command::new(&runtime.path)
        .arg("--root")
        .arg(state_root)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn kill(runtime: &RuntimeBinary, state_root: &Path, id: &str) {
    quiet(runtime, state_root, &["kill", id, "KILL"]);
    quiet(runtime, state_root, &["delete", "-f", id]);
}

fn delete(runtime: &RuntimeBinary, state_root: &Path, id: &str) {
    quiet(runtime, state_root, &["delete", "-f", id]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configured_runtime_wins_and_a_bad_one_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = dir.path().join("runc");
        std::fs::write(&fake, "#!/bin/sh\n").expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let path = OsString::from(dir.path());
        assert_eq!(
            RuntimeBinary::find_with(None, Some(&path))
                .expect("on PATH")
                .path(),
            fake
        );
        let missing = OsString::from("/nonexistent/crun");
        let err = RuntimeBinary::find_with(Some(&missing), Some(&path)).expect_err("missing");
        assert!(
            err.to_string()
                .contains("CROSSDOCK_RUNTIME=/nonexistent/crun"),
            "{err}"
        );
        let empty = OsString::from("/nonexistent-dir");
        let err = RuntimeBinary::find_with(None, Some(&empty)).expect_err("none");
        assert!(err.to_string().contains("crossdock setup"), "{err}");
    }

    #[test]
    fn the_tail_keeps_the_last_lines_and_joins_pieces() {
        let mut tail = Tail::default();
        for i in 0..30 {
            tail.push(format!("line {i}\n").as_bytes());
        }
        tail.push(b"half");
        tail.push(b" done\n");
        let lines = tail.into_lines();
        assert_eq!(lines.len(), TAIL_LINES);
        assert_eq!(lines.last().map(String::as_str), Some("half done"));
        assert_eq!(lines.first().map(String::as_str), Some("line 11"));
    }

    #[test]
    fn output_is_streamed_and_a_timeout_kills() {
        // A stand-in runtime: a shell script that ignores runc's arguments.
        let dir = tempfile::tempdir().expect("tempdir");
        let script = dir.path().join("fake-runc");
        std::fs::write(
            &script,
            "#!/bin/sh\n[ \"$3\" = run ] || exit 0\necho out; echo err >&2; exec sleep 30\n",
        )
        .expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let runtime = RuntimeBinary::at(&script);
        let mut seen = Vec::new();
        let mut sink = |s: Stream, l: &[u8]| seen.push((s, l.to_vec()));
        let mut tail = Tail::default();
        let started = Instant::now();
        let ended = run(
            &runtime,
            dir.path(),
            dir.path(),
            "id",
            Some(Duration::from_millis(500)),
            &mut sink,
            &mut tail,
        )
        .expect("ran");
        assert!(matches!(ended, Ended::TimedOut), "{ended:?}");
        assert!(started.elapsed() < Duration::from_secs(20));
        assert!(
            seen.contains(&(Stream::Stdout, b"out\n".to_vec())),
            "{seen:?}"
        );
        assert!(
            seen.contains(&(Stream::Stderr, b"err\n".to_vec())),
            "{seen:?}"
        );
    }
}
