//! `crossdock rewrite` over every case of `tests/rewrite/<case>/` (a Dockerfile,
//! maybe a Cargo manifest or Makefile as its build context, and an `args` file with
//! extra flags such as `--restructure`) and over the four `examples/`.
//!
//! For each one: the output and the notes are an insta snapshot; the edits are
//! minimal (only single words are replaced, every comment line is kept); rewriting
//! the output changes nothing (`--check` exits 0); the output has no CD10x/CD11x/CD13x lint
//! finding; and BuildKit's own parser (the PyPI `dockerfile` oracle of the
//! conformance test) accepts every output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod oracle;

const PLATFORMS: &str = "linux/amd64,linux/arm64,linux/arm/v7";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn crossdock(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crossdock"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("crossdock runs")
}

/// `(snapshot name, context directory, extra flags)` of every case.
fn cases() -> Vec<(String, PathBuf, Vec<String>)> {
    let mut out = Vec::new();
    let dir = root().join("tests/rewrite");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/rewrite")
        .flatten()
        .filter(|e| e.path().join("Dockerfile").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let args = std::fs::read_to_string(path.join("args"))
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        out.push((name, path, args));
    }
    for (example, args) in [
        ("go", vec![]),
        ("rust", vec![]),
        // `make check` runs the tests it built: only --restructure rewrites it.
        ("c-make", vec!["--restructure".to_string()]),
        ("c-cmake", vec![]),
    ] {
        out.push((
            format!("example-{example}"),
            root().join("examples").join(example),
            args,
        ));
    }
    assert!(out.len() >= 19, "cases went missing: {}", out.len());
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root())
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

fn rewrite(dir: &Path, extra: &[String], mode: Option<&str>) -> Output {
    let d = rel(dir);
    let mut args = vec!["rewrite"];
    if let Some(m) = mode {
        args.push(m);
    }
    args.extend([
        d.as_str(),
        "--platform",
        PLATFORMS,
        "--build-platform",
        "linux/amd64",
    ]);
    args.extend(extra.iter().map(String::as_str));
    crossdock(&args)
}

/// Copies the context files a rewrite reads (not the Dockerfile) into `to`.
fn copy_context(from: &Path, to: &Path) {
    for name in ["Cargo.toml", "Makefile", "GNUmakefile", "makefile"] {
        if from.join(name).is_file() {
            std::fs::copy(from.join(name), to.join(name)).expect("copy context file");
        }
    }
    for sub in ["src/main.rs"] {
        if from.join(sub).is_file() {
            std::fs::create_dir_all(to.join("src")).expect("mkdir");
            std::fs::write(to.join(sub), "").expect("write");
        }
    }
    if let Ok(entries) = std::fs::read_dir(from.join("src/bin")) {
        std::fs::create_dir_all(to.join("src/bin")).expect("mkdir");
        for e in entries.flatten() {
            std::fs::write(to.join("src/bin").join(e.file_name()), "").expect("write");
        }
    }
}

/// The edits of the library, checked for minimality.
fn check_minimal(
    name: &str,
    text: &str,
    output: &str,
    extra: &[String],
    dir: &Path,
) -> Vec<String> {
    let df = frontend::syntax::parse(frontend::source::SourceFile::new("Dockerfile", text))
        .expect("parses");
    let program = frontend::instructions::parse_program(&df).expect("program");
    let opts = frontend::eval::EvalOptions {
        build_platform: crossbuild::Platform::parse("linux/amd64").expect("platform"),
        build_args: Default::default(),
        target_stage: None,
    };
    let platforms = crossbuild::parse_platform_list(PLATFORMS).expect("platforms");
    let ctx = frontend::lint::Context::new(&df, &program, &platforms, &opts).expect("context");
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok();
    let mut bin_files = Vec::new();
    if dir.join("src/main.rs").is_file() {
        bin_files.push("src/main.rs".to_string());
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("src/bin")) {
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .map(|n| format!("src/bin/{n}"))
            .collect();
        names.sort();
        bin_files.extend(names);
    }
    let ropts = frontend::rewrite::RewriteOptions {
        restructure: extra.iter().any(|a| a == "--restructure"),
        cargo_bins: manifest.and_then(|m| frontend::rewrite::cargo_binaries(&m, &bin_files)),
        makefile: std::fs::read_to_string(dir.join("Makefile")).ok(),
    };
    let r = frontend::rewrite::rewrite(&ctx, &ropts).expect("rewrite");
    assert_eq!(r.output, output, "{name}: the library and the CLI agree");
    for e in &r.edits {
        let replaced = &text[e.span.clone()];
        assert!(
            !replaced.contains(char::is_whitespace),
            "{name}: an edit replaces more than one word: {replaced:?}"
        );
    }
    for w in r.edits.windows(2) {
        assert!(
            w[0].span.end <= w[1].span.start,
            "{name}: overlapping edits"
        );
    }
    for line in text.lines() {
        if line.trim_start().starts_with('#') {
            assert!(
                output.lines().any(|l| l == line),
                "{name}: comment line {line:?} kept"
            );
        }
    }
    // The stages left alone.
    r.notes
        .iter()
        .filter(|n| n.message.contains("left as it is"))
        .map(|n| n.stage.clone())
        .collect()
}

#[test]
fn rewrite_cases() {
    let scratch =
        std::env::temp_dir().join(format!("crossdock-rewrite-cases-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let mut outputs = Vec::new();
    let mut changed = 0;
    for (name, dir, extra) in cases() {
        let input = std::fs::read_to_string(dir.join("Dockerfile")).expect("Dockerfile");
        let out = rewrite(&dir, &extra, None);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let output = String::from_utf8(out.stdout).expect("utf-8");
        let notes: Vec<String> = String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.starts_with(&rel(&dir)))
            .map(|l| l.trim_start_matches(&rel(&dir)).to_string())
            .collect();
        insta::assert_snapshot!(
            format!("rewrite-{name}"),
            format!("{output}\n----- notes -----\n{}\n", notes.join("\n"))
        );
        if output != input {
            changed += 1;
        }
        let declined = check_minimal(&name, &input, &output, &extra, &dir);

        // Idempotent, and what lint wants.
        let copy = scratch.join(&name);
        std::fs::create_dir_all(&copy).expect("scratch dir");
        copy_context(&dir, &copy);
        std::fs::write(copy.join("Dockerfile"), &output).expect("write output");
        let again = rewrite(&copy, &extra, None);
        assert_eq!(
            String::from_utf8_lossy(&again.stdout),
            output,
            "{name}: rewriting the output changes nothing"
        );
        assert_eq!(
            rewrite(&copy, &extra, Some("--check")).status.code(),
            Some(0),
            "{name}: --check finds nothing left"
        );
        let file = copy.join("Dockerfile");
        let lint = crossdock(&[
            "lint",
            "--format",
            "json",
            "--fail-on",
            "none",
            file.to_str().expect("utf-8 path"),
            "--platform",
            PLATFORMS,
            "--build-platform",
            "linux/amd64",
        ]);
        let findings: serde_json::Value =
            serde_json::from_slice(&lint.stdout).expect("lint prints JSON");
        let bad: Vec<String> = findings
            .as_array()
            .expect("array")
            .iter()
            .filter(|f| {
                let r = f["rule"].as_str().unwrap_or("");
                // CD13x too: the rewrite must not create the cross hazards it avoids.
                r.starts_with("CD10") || r.starts_with("CD11") || r.starts_with("CD13")
            })
            .filter(|f| !declined.iter().any(|d| f["stage"].as_str() == Some(d)))
            .map(|f| f.to_string())
            .collect();
        assert!(bad.is_empty(), "{name}: lint findings left: {bad:#?}");
        outputs.push(file.to_string_lossy().into_owned());
    }
    assert!(changed >= 15, "only {changed} cases were rewritten");

    // BuildKit's parser accepts every output.
    match oracle::oracle_python() {
        Ok(python) => {
            let results = oracle::run_oracle(&python, &outputs);
            for (file, doc) in results {
                assert!(
                    doc.get("error").is_none(),
                    "{file}: BuildKit's parser rejects the rewritten file: {}",
                    doc["error"]
                );
                assert!(
                    doc["instructions"]
                        .as_array()
                        .is_some_and(|a| !a.is_empty()),
                    "{file}: no instructions"
                );
            }
        }
        Err(e) => panic!("the BuildKit parser oracle is needed: {e}"),
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
