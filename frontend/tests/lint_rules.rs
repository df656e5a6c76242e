//! Lint rule tests: for every rule, `frontend/tests/lint/<ID>/bad*.Dockerfile` must
//! produce that rule and `good*.Dockerfile` must not; the findings of every file are
//! snapshotted (insta). Every file in `frontend/tests/lint/correct/` is a correct
//! cross-compiling Dockerfile and must produce no CD1xx finding at all.
//!
//! Each case is linted for linux/amd64 and linux/arm64 on a linux/amd64 build machine,
//! unless its first line is `# platforms: p1,p2`.

use std::path::{Path, PathBuf};

use crossbuild::Platform;
use frontend::lint::{lint_source, report::finding_json, LintOptions, RULES};
use frontend::source::SourceFile;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint")
}

fn files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.retain(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".Dockerfile"))
    });
    out.sort();
    out
}

/// Lints a case file; returns the findings as JSON values (file path relative).
fn lint(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).expect("readable case");
    let platforms = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# platforms:"))
        .unwrap_or("linux/amd64,linux/arm64");
    let opts = LintOptions {
        platforms: crossbuild::parse_platform_list(platforms.trim()).expect("valid platforms"),
        build_platform: Platform::parse("linux/amd64").expect("valid"),
        build_args: Default::default(),
        settings: Default::default(),
    };
    let rel = path
        .strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")))
        .unwrap_or(path)
        .to_path_buf();
    let (df, findings) = match lint_source(SourceFile::new(&rel, text), &opts) {
        Ok(r) => r,
        Err(e) => panic!("{}: {}", path.display(), e.message),
    };
    findings
        .iter()
        .map(|f| finding_json(&df.source, f))
        .collect()
}

#[test]
fn every_rule_has_bad_and_good_cases_and_they_behave() {
    let mut problems = Vec::new();
    // `LINT_RULES=CD111,CD112` limits the run to some rules while working on them.
    let only = std::env::var("LINT_RULES").unwrap_or_default();
    for rule in RULES {
        if !only.is_empty()
            && !only
                .split(',')
                .any(|r| r.trim().eq_ignore_ascii_case(rule.id))
        {
            continue;
        }
        let dir = cases_dir().join(rule.id);
        let bad = files(&dir, "bad");
        let good = files(&dir, "good");
        if bad.is_empty() || good.is_empty() {
            problems.push(format!(
                "{}: needs bad*.Dockerfile and good*.Dockerfile in {}",
                rule.id,
                dir.display()
            ));
            continue;
        }
        for path in bad.iter().chain(&good) {
            let findings = lint(path);
            let hits = findings.iter().filter(|f| f["rule"] == rule.id).count();
            let is_bad = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("bad"));
            if is_bad && hits == 0 {
                problems.push(format!(
                    "{}: {} should produce {}",
                    rule.id,
                    path.display(),
                    rule.id
                ));
            }
            if !is_bad && hits > 0 {
                problems.push(format!(
                    "{}: {} should not produce {}: {findings:#?}",
                    rule.id,
                    path.display(),
                    rule.id
                ));
            }
            let name = format!(
                "{}-{}",
                rule.id,
                path.file_stem().and_then(|n| n.to_str()).unwrap_or("case")
            );
            insta::assert_json_snapshot!(name, findings);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn correct_cross_compiling_files_have_no_findings() {
    let correct = files(&cases_dir().join("correct"), "");
    assert!(
        correct.len() >= 8,
        "the no-false-positive set has only {} files",
        correct.len()
    );
    let mut problems = Vec::new();
    for path in &correct {
        for f in lint(path) {
            let rule = f["rule"].as_str().unwrap_or("");
            if rule.starts_with("CD1") {
                problems.push(format!("{}: {f}", path.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "false positives:\n{}",
        problems.join("\n")
    );
}
