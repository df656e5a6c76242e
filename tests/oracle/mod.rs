//! BuildKit's own Dockerfile parser as a test oracle: the PyPI package `dockerfile`
//! in a virtualenv under `target/`, shared by the conformance test and the rewrite
//! tests (every rewritten file must parse).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// The oracle package version the corpus was checked against.
pub const ORACLE_PACKAGE: &str = "dockerfile==3.4.0";
pub const ORACLE_VERSION: &str = "3.4.0";

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn conformance_dir() -> PathBuf {
    workspace_root().join("tests").join("conformance")
}

pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => workspace_root().join("target"),
    }
}

pub fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

// ---------------------------------------------------------------- oracle setup

pub fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// Returns the installed `dockerfile` version, or a description of the failure.
pub fn oracle_version(python: &Path) -> Result<String, String> {
    let out = Command::new(python)
        .args([
            "-c",
            "import importlib.metadata as m, dockerfile; print(m.version('dockerfile'))",
        ])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "{} cannot import `dockerfile`: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

pub fn setup_help(venv: &Path) -> String {
    let py = venv_python(venv);
    format!(
        "To fix: make sure `python3` (with the venv module) is on PATH and PyPI is reachable, or create \
         the oracle by hand:\n    python3 -m venv {venv}\n    {py} -m pip install {ORACLE_PACKAGE}\n\
         or point CROSSDOCK_CONFORMANCE_PYTHON at a Python that has {ORACLE_PACKAGE} installed.\n\
         (A broken venv can be deleted: rm -rf {venv})",
        venv = venv.display(),
        py = py.display(),
    )
}

pub fn run_setup_step(cmd: &mut Command, what: &str, venv: &Path) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot run {cmd:?}: {e}\n{}", setup_help(venv)))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}):\n{}{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            setup_help(venv)
        ))
    }
}

/// Finds or creates the Python that runs the oracle.
///
/// The venv is built in a private temporary directory and then renamed into
/// place, so concurrent test processes never see (or use) a half-built venv;
/// the loser of a rename race just uses the winner's venv.
pub fn oracle_python() -> Result<PathBuf, String> {
    if let Some(py) = std::env::var_os("CROSSDOCK_CONFORMANCE_PYTHON").filter(|p| !p.is_empty()) {
        let py = PathBuf::from(py);
        let version = oracle_version(&py).map_err(|e| {
            format!(
                "CROSSDOCK_CONFORMANCE_PYTHON: {e}\nInstall it: {} -m pip install {ORACLE_PACKAGE}",
                py.display()
            )
        })?;
        if version != ORACLE_VERSION {
            return Err(format!(
                "CROSSDOCK_CONFORMANCE_PYTHON={} has dockerfile {version}, the corpus needs {ORACLE_VERSION}",
                py.display()
            ));
        }
        return Ok(py);
    }

    let target = target_dir();
    let venv = target.join("conformance-venv");
    let python = venv_python(&venv);
    if venv.exists() {
        return match oracle_version(&python) {
            Ok(v) if v == ORACLE_VERSION => Ok(python),
            Ok(v) => Err(format!(
                "{} has dockerfile {v}, expected {ORACLE_VERSION}.\n{}",
                venv.display(),
                setup_help(&venv)
            )),
            Err(e) => Err(format!("{e}\n{}", setup_help(&venv))),
        };
    }

    std::fs::create_dir_all(&target)
        .map_err(|e| format!("cannot create {}: {e}", target.display()))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = target.join(format!(
        "conformance-venv.tmp-{}-{nanos}",
        std::process::id()
    ));
    let result = (|| {
        let mut created = false;
        let mut last_err = String::new();
        for base in ["python3", "python"] {
            match run_setup_step(
                Command::new(base).arg("-m").arg("venv").arg(&tmp),
                "creating the oracle venv",
                &venv,
            ) {
                Ok(()) => {
                    created = true;
                    break;
                }
                Err(e) => last_err = e,
            }
        }
        if !created {
            return Err(last_err);
        }
        run_setup_step(
            Command::new(venv_python(&tmp)).args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                ORACLE_PACKAGE,
            ]),
            &format!("pip install {ORACLE_PACKAGE}"),
            &venv,
        )?;
        oracle_version(&venv_python(&tmp)).map_err(|e| format!("{e}\n{}", setup_help(&venv)))?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if std::fs::rename(&tmp, &venv).is_err() {
        // Another process won the race; use its venv.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    match oracle_version(&python) {
        Ok(v) if v == ORACLE_VERSION => Ok(python),
        Ok(v) => Err(format!(
            "{} has dockerfile {v}, expected {ORACLE_VERSION}",
            venv.display()
        )),
        Err(e) => Err(format!("{e}\n{}", setup_help(&venv))),
    }
}

/// Runs the oracle once over all files; returns path -> result document.
pub fn run_oracle(python: &Path, files: &[String]) -> BTreeMap<String, Value> {
    let script = conformance_dir().join("oracle.py");
    let mut child = Command::new(python)
        .arg(&script)
        .current_dir(workspace_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} {}: {e}", python.display(), script.display()));
    let mut stdin = child.stdin.take().expect("oracle stdin is piped");
    let input: String = files.iter().map(|f| format!("{f}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("waiting for the oracle");
    writer
        .join()
        .expect("oracle stdin writer panicked")
        .expect("writing file list to the oracle");
    assert!(
        out.status.success(),
        "oracle.py failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let map: BTreeMap<String, Value> =
        serde_json::from_slice(&out.stdout).expect("oracle.py printed invalid JSON");
    for f in files {
        assert!(map.contains_key(f), "oracle.py gave no result for {f}");
    }
    map
}
