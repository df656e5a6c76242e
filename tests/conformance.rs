//! Conformance test: `crossdock parse --json FILE` must agree with BuildKit's
//! own Dockerfile parser on every Dockerfile of the corpus.
//!
//! The oracle is `tests/conformance/oracle.py`, which wraps the PyPI package
//! `dockerfile` (BuildKit's Go parser compiled into a Python extension). It
//! runs from a virtualenv at `<target>/conformance-venv`, created on first use.
//! See `tests/conformance/README.md`.
//!
//! Environment variables:
//! - `CROSSDOCK_CONFORMANCE_PYTHON`: use this Python (which must already have
//!   `dockerfile==3.4.0`) instead of the managed virtualenv.
//! - `CROSSDOCK_CONFORMANCE_FILTER`: only compare files whose path contains
//!   this substring.
//! - `CROSSDOCK_CONFORMANCE_SELFTEST=1`: replace crossdock by the oracle
//!   itself (checks the harness and the corpus; must always pass).
//! - `CROSSDOCK_CONFORMANCE_TIMEOUT`: seconds allowed per crossdock run
//!   (default 60).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod oracle;
use oracle::*;

/// A broken file search must not make the test pass vacuously.
const MIN_CORPUS_FILES: usize = 60;
/// Exit code of `crossdock parse` on a file BuildKit's parser rejects.
const PARSE_ERROR_EXIT: i32 = 2;
/// Report at most this many differences per file.
const MAX_DIFFS_PER_FILE: usize = 15;
/// Field order of the instruction schema, for readable reports.
const FIELDS: [&str; 8] = [
    "keyword",
    "sub_keyword",
    "start_line",
    "end_line",
    "flags",
    "json",
    "args",
    "heredocs",
];

// ---------------------------------------------------------------- corpus

fn is_dockerfile_name(name: &str) -> bool {
    (name.starts_with("Dockerfile") && !name.ends_with(".dockerignore"))
        || name.ends_with(".Dockerfile")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let entry = entry.expect("reading a directory entry");
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let file_type = entry.file_type().expect("reading a file type");
        if file_type.is_dir() {
            if name == "target" || name.starts_with('.') || name == "node_modules" {
                continue;
            }
            walk(&path, out);
        } else if is_dockerfile_name(&name) {
            out.push(path);
        }
    }
}

fn relative(path: &Path) -> String {
    let rel = path.strip_prefix(workspace_root()).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Every Dockerfile under tests/ (incl. the conformance corpus) and examples/.
fn collect_files() -> Vec<String> {
    let root = workspace_root();
    let mut paths = Vec::new();
    walk(&root.join("tests"), &mut paths);
    walk(&root.join("examples"), &mut paths);
    let set: BTreeSet<String> = paths.iter().map(|p| relative(p)).collect();
    set.into_iter().collect()
}

/// Files in the case directory that the search would silently skip.
fn misnamed_cases() -> Vec<String> {
    fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                all_files(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    all_files(&conformance_dir().join("cases"), &mut files);
    files
        .iter()
        .filter(|p| {
            !is_dockerfile_name(
                &p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            )
        })
        .map(|p| relative(p))
        .collect()
}

/// Byte patterns some cases exist for; guards against git/editor normalisation
/// (CRLF conversion, BOM or trailing-whitespace stripping) silently emptying them.
const REQUIRED_BYTES: [(&str, &[u8]); 6] = [
    ("cases/lex-crlf.Dockerfile", b"\r\n"),
    ("cases/heredoc-crlf.Dockerfile", b"\r\n"),
    ("cases/lex-utf8-bom.Dockerfile", b"\xEF\xBB\xBF"),
    ("cases/lex-trailing-whitespace.Dockerfile", b" \n"),
    (
        "cases/continuation-trailing-whitespace.Dockerfile",
        b"\\\t\n",
    ),
    ("cases/heredoc-chomp-tabs.Dockerfile", b"\n\t"),
];

fn normalised_cases() -> Vec<String> {
    REQUIRED_BYTES
        .iter()
        .filter_map(|(name, needle)| {
            let path = conformance_dir().join(name);
            let data = std::fs::read(&path).unwrap_or_default();
            let found = data.windows(needle.len()).any(|w| w == *needle);
            (!found).then(|| {
                format!(
                    "{} no longer contains {:?}",
                    path.display(),
                    String::from_utf8_lossy(needle)
                )
            })
        })
        .collect()
}

const CASES_PREFIX: &str = "tests/conformance/cases/";
const INVALID_PREFIX: &str = "tests/conformance/cases/invalid/";

// ---------------------------------------------------------------- running crossdock

/// What one `crossdock parse --json FILE` run produced.
struct Run {
    /// `None` if killed by a signal or timed out.
    code: Option<i32>,
    stdout: String,
    stderr: String,
    timed_out: bool,
}

fn run_crossdock(file: &str, timeout: Duration) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crossdock"))
        .args(["parse", "--json", file])
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning the crossdock binary");
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait().expect("waiting for crossdock") {
            Some(status) => break Some(status),
            None if Instant::now() >= deadline => {
                timed_out = true;
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let stdout = out_reader.join().expect("stdout reader panicked");
    let stderr = err_reader.join().expect("stderr reader panicked");
    Run {
        code: status.and_then(|s| s.code()),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        timed_out,
    }
}

/// Self-test stand-in for crossdock: answers with the oracle's own result.
fn fake_run(file: &str, oracle: &Value) -> Run {
    match oracle.get("error") {
        Some(msg) => Run {
            code: Some(PARSE_ERROR_EXIT),
            stdout: String::new(),
            stderr: format!("{file}:1:1: {}\n", msg.as_str().unwrap_or_default()),
            timed_out: false,
        },
        None => Run {
            code: Some(0),
            stdout: serde_json::to_string_pretty(oracle).expect("serializing"),
            stderr: String::new(),
            timed_out: false,
        },
    }
}

fn run_all(files: &[String], oracle: &BTreeMap<String, Value>, selftest: bool) -> Vec<Run> {
    if selftest {
        return files.iter().map(|f| fake_run(f, &oracle[f])).collect();
    }
    let timeout = Duration::from_secs(
        std::env::var("CROSSDOCK_CONFORMANCE_TIMEOUT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(60),
    );
    let workers = std::thread::available_parallelism()
        .map_or(4, |n| n.get())
        .min(16);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Run>>> =
        files.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(file) = files.get(i) else { break };
                let run = run_crossdock(file, timeout);
                *results[i].lock().expect("result lock") = Some(run);
            });
        }
    });
    results
        .into_iter()
        .map(|m| {
            m.into_inner()
                .expect("result lock")
                .expect("every file was run")
        })
        .collect()
}

// ---------------------------------------------------------------- comparison

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let head: String = s.chars().take(max).collect();
        format!("{head}… ({} chars in all)", s.chars().count())
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "<missing>".to_string(),
        Some(v) => truncate(&serde_json::to_string(v).unwrap_or_default(), 240),
    }
}

/// Describes how `got` differs from `expected` (both known to differ).
fn describe(expected: Option<&Value>, got: Option<&Value>) -> String {
    match (expected, got) {
        (Some(Value::String(e)), Some(Value::String(g)))
            if e.chars().count() > 80 || g.chars().count() > 80 =>
        {
            let at = e.chars().zip(g.chars()).take_while(|(a, b)| a == b).count();
            let ctx = |s: &str| -> String {
                let start = at.saturating_sub(20);
                let piece: String = s.chars().skip(start).take(60).collect();
                serde_json::to_string(&piece).unwrap_or_default()
            };
            format!(
                "strings differ at char {at} (lengths {} vs {}): expected …{}…, got …{}…",
                e.chars().count(),
                g.chars().count(),
                ctx(e),
                ctx(g)
            )
        }
        (Some(Value::Array(e)), Some(Value::Array(g))) if e.len() == g.len() && !e.is_empty() => {
            let parts: Vec<String> = e
                .iter()
                .zip(g)
                .enumerate()
                .filter(|(_, (a, b))| a != b)
                .map(|(i, (a, b))| format!("[{i}]: {}", describe(Some(a), Some(b))))
                .collect();
            parts.join("; ")
        }
        _ => format!("expected {}, got {}", show(expected), show(got)),
    }
}

fn summary(ins: &Value) -> String {
    let kw = ins.get("keyword").and_then(Value::as_str).unwrap_or("?");
    let sub = ins
        .get("sub_keyword")
        .and_then(Value::as_str)
        .map(|s| format!(" {s}"))
        .unwrap_or_default();
    let line = |k: &str| {
        ins.get(k)
            .map(|v| v.to_string())
            .unwrap_or_else(|| "?".into())
    };
    format!(
        "{kw}{sub} (lines {}-{})",
        line("start_line"),
        line("end_line")
    )
}

/// Lists the differences between the oracle's and crossdock's documents.
fn diff_documents(expected: &Value, got: &Value) -> Vec<String> {
    let mut diffs = Vec::new();
    if expected == got {
        return diffs;
    }
    let (Some(exp), Some(act)) = (
        expected.get("instructions").and_then(Value::as_array),
        got.get("instructions").and_then(Value::as_array),
    ) else {
        diffs.push(format!(
            "output is not of the form {{\"instructions\": [...]}}: got {}",
            show(Some(got))
        ));
        return diffs;
    };
    if let (Some(e), Some(g)) = (expected.as_object(), got.as_object()) {
        let keys: BTreeSet<&String> = e.keys().chain(g.keys()).collect();
        for k in keys.into_iter().filter(|k| *k != "instructions") {
            if e.get(k) != g.get(k) {
                diffs.push(format!("top-level `{k}`: {}", describe(e.get(k), g.get(k))));
            }
        }
    }
    if exp.len() != act.len() {
        let list = |v: &[Value]| v.iter().map(summary).collect::<Vec<_>>().join(", ");
        diffs.push(format!(
            "instruction count: expected {}, got {}\n        expected: {}\n        got:      {}",
            exp.len(),
            act.len(),
            truncate(&list(exp), 600),
            truncate(&list(act), 600)
        ));
    }
    for (i, (e, g)) in exp.iter().zip(act).enumerate() {
        if e == g {
            continue;
        }
        let (Some(eo), Some(go)) = (e.as_object(), g.as_object()) else {
            diffs.push(format!("instruction #{i}: {}", describe(Some(e), Some(g))));
            continue;
        };
        let mut keys: Vec<&str> = FIELDS.to_vec();
        for k in eo.keys().chain(go.keys()) {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
        for k in keys {
            if eo.get(k) != go.get(k) {
                diffs.push(format!(
                    "instruction #{i} {}: field `{k}`: {}",
                    summary(e),
                    describe(eo.get(k), go.get(k))
                ));
            }
        }
    }
    diffs
}

/// Checks stderr of a rejected file: `FILE:LINE:COL: message`.
fn check_error_location(file: &str, stderr: &str) -> Result<(), String> {
    let rest = stderr
        .strip_prefix(file)
        .and_then(|r| r.strip_prefix(':'))
        .ok_or_else(|| format!("stderr does not start with `{file}:`"))?;
    let mut parts = rest.splitn(3, ':');
    let line = parts.next().unwrap_or_default();
    let col = parts.next().unwrap_or_default();
    let msg = parts.next().unwrap_or_default();
    let is_num = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !is_num(line) || !is_num(col) {
        return Err(format!(
            "stderr does not continue with `<line>:<col>:` after `{file}:`"
        ));
    }
    if line.parse::<u64>().unwrap_or(0) == 0 {
        return Err("line numbers are 1-based, got line 0".into());
    }
    if !msg.starts_with(' ') || msg.trim().is_empty() {
        return Err("expected `: <message>` after the column".into());
    }
    Ok(())
}

/// Compares one file; returns the list of differences (empty = conforms).
fn compare(file: &str, oracle: &Value, run: &Run) -> Vec<String> {
    if run.timed_out {
        return vec!["crossdock timed out (see CROSSDOCK_CONFORMANCE_TIMEOUT)".into()];
    }
    let stderr = truncate(run.stderr.trim_end(), 400);
    let code = run
        .code
        .map_or("killed by a signal".to_string(), |c| c.to_string());
    if let Some(msg) = oracle.get("error") {
        let msg = msg.as_str().unwrap_or_default();
        if run.code != Some(PARSE_ERROR_EXIT) {
            return vec![format!(
                "BuildKit rejects this file ({msg:?}); expected exit code {PARSE_ERROR_EXIT}, got {code}\n        stdout: {}\n        stderr: {stderr}",
                truncate(run.stdout.trim_end(), 300)
            )];
        }
        return match check_error_location(file, &run.stderr) {
            Ok(()) => Vec::new(),
            Err(e) => vec![format!(
                "{e} (BuildKit says {msg:?})\n        stderr: {stderr}"
            )],
        };
    }
    if run.code != Some(0) {
        return vec![format!("BuildKit accepts this file; expected exit code 0, got {code}\n        stderr: {stderr}")];
    }
    match serde_json::from_str::<Value>(&run.stdout) {
        Ok(got) => diff_documents(oracle, &got),
        Err(e) => vec![format!(
            "stdout is not valid JSON ({e}): {}",
            truncate(run.stdout.trim_end(), 300)
        )],
    }
}

/// Corpus sanity: cases/invalid/ must be rejected, the rest of cases/ accepted.
fn corpus_problem(file: &str, oracle: &Value) -> Option<String> {
    let rejected = oracle.get("error").is_some();
    if file.starts_with(INVALID_PREFIX) && !rejected {
        Some(format!(
            "{file}: in invalid/ but BuildKit's parser accepts it"
        ))
    } else if file.starts_with(CASES_PREFIX) && !file.starts_with(INVALID_PREFIX) && rejected {
        Some(format!(
            "{file}: BuildKit's parser rejects it ({}); move it to invalid/",
            show(oracle.get("error"))
        ))
    } else if oracle.get("error").is_none() && oracle.get("instructions").is_none() {
        Some(format!(
            "{file}: unexpected oracle output {}",
            show(Some(oracle))
        ))
    } else {
        None
    }
}

// ---------------------------------------------------------------- the tests

#[test]
fn conformance_with_buildkit_parser() {
    let selftest = env_flag("CROSSDOCK_CONFORMANCE_SELFTEST");
    let all = collect_files();
    assert!(
        all.len() >= MIN_CORPUS_FILES,
        "found only {} Dockerfiles under tests/ and examples/ (expected at least {MIN_CORPUS_FILES}); is the corpus search broken?\n{all:#?}",
        all.len()
    );
    let invalid = all.iter().filter(|f| f.starts_with(INVALID_PREFIX)).count();
    assert!(
        invalid >= 8,
        "found only {invalid} files in {INVALID_PREFIX}"
    );
    let misnamed = misnamed_cases();
    assert!(
        misnamed.is_empty(),
        "files in tests/conformance/cases that are not named *.Dockerfile / Dockerfile* (they would be skipped): {misnamed:#?}"
    );

    let normalised = normalised_cases();
    assert!(
        normalised.is_empty(),
        "corpus files lost the bytes they test (see tests/conformance/.gitattributes): {normalised:#?}"
    );

    let files: Vec<String> = match std::env::var("CROSSDOCK_CONFORMANCE_FILTER") {
        Ok(f) if !f.is_empty() => all.iter().filter(|p| p.contains(&f)).cloned().collect(),
        _ => all.clone(),
    };
    assert!(
        !files.is_empty(),
        "CROSSDOCK_CONFORMANCE_FILTER matches no file"
    );

    let python =
        oracle_python().unwrap_or_else(|e| panic!("cannot set up the conformance oracle:\n{e}"));
    let oracle = run_oracle(&python, &files);

    let problems: Vec<String> = files
        .iter()
        .filter_map(|f| corpus_problem(f, &oracle[f]))
        .collect();
    assert!(
        problems.is_empty(),
        "corpus errors:\n  {}",
        problems.join("\n  ")
    );

    let runs = run_all(&files, &oracle, selftest);
    let mut report = String::new();
    let mut failing = 0;
    let mut total_diffs = 0;
    for (file, run) in files.iter().zip(&runs) {
        let diffs = compare(file, &oracle[file], run);
        if diffs.is_empty() {
            continue;
        }
        failing += 1;
        total_diffs += diffs.len();
        let _ = writeln!(report, "\n{file}:");
        for d in diffs.iter().take(MAX_DIFFS_PER_FILE) {
            let _ = writeln!(report, "    {d}");
        }
        if diffs.len() > MAX_DIFFS_PER_FILE {
            let _ = writeln!(
                report,
                "    … and {} more",
                diffs.len() - MAX_DIFFS_PER_FILE
            );
        }
    }
    let mode = if selftest {
        " [SELFTEST: oracle vs oracle]"
    } else {
        ""
    };
    assert!(
        failing == 0,
        "crossdock disagrees with BuildKit's parser on {failing} of {} files ({total_diffs} differences){mode}:\n{report}\n\
         (focus on one file with CROSSDOCK_CONFORMANCE_FILTER=<part of its path>)",
        files.len()
    );
    eprintln!(
        "conformance: {} files agree with BuildKit's parser{mode}",
        files.len()
    );
}

/// The reporter itself must notice differences (no Python needed).
#[test]
fn conformance_reporter_detects_differences() {
    let expected = serde_json::json!({"instructions": [
        {"keyword": "FROM", "sub_keyword": null, "start_line": 1, "end_line": 1, "flags": [],
         "json": false, "args": ["alpine"], "heredocs": []},
        {"keyword": "RUN", "sub_keyword": null, "start_line": 2, "end_line": 4, "flags": [],
         "json": false, "args": ["<<EOF"], "heredocs": [{"name": "EOF", "content": "x\n"}]},
    ]});
    assert!(diff_documents(&expected, &expected).is_empty());

    let mut got = expected.clone();
    got["instructions"][1]["end_line"] = 3.into();
    got["instructions"][1]["heredocs"][0]["content"] = "x".into();
    let diffs = diff_documents(&expected, &got);
    assert_eq!(diffs.len(), 2, "{diffs:#?}");
    assert!(
        diffs[0].contains("#1 RUN") && diffs[0].contains("`end_line`"),
        "{diffs:#?}"
    );
    assert!(diffs[1].contains("`heredocs`"), "{diffs:#?}");

    let mut fewer = expected.clone();
    fewer["instructions"].as_array_mut().expect("array").pop();
    assert!(diff_documents(&expected, &fewer)[0].contains("instruction count"));
    assert!(!diff_documents(&expected, &serde_json::json!([])).is_empty());

    let ok = Run {
        code: Some(0),
        stdout: got.to_string(),
        stderr: String::new(),
        timed_out: false,
    };
    assert!(!compare("f", &expected, &ok).is_empty());
    let err = serde_json::json!({"error": "file with no instructions"});
    let good = Run {
        code: Some(2),
        stdout: String::new(),
        stderr: "a/b:1:1: no instructions\n".into(),
        timed_out: false,
    };
    assert!(compare("a/b", &err, &good).is_empty());
    for bad in [
        "a/b: no",
        "a/b:x:1: no",
        "a/b:1:1:",
        "a/b:0:1: no",
        "b:1:1: no",
    ] {
        let run = Run {
            code: Some(2),
            stdout: String::new(),
            stderr: bad.into(),
            timed_out: false,
        };
        assert!(
            !compare("a/b", &err, &run).is_empty(),
            "accepted stderr {bad:?}"
        );
    }
    let wrong_code = Run {
        code: Some(1),
        ..good
    };
    assert!(!compare("a/b", &err, &wrong_code).is_empty());
}
