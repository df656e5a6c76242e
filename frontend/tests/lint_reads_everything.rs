//! Lint must read every Dockerfile BuildKit accepts without a false error: the whole
//! valid conformance corpus (heredocs, `# escape=`, ONBUILD, Windows-style files, CRLF,
//! BOM), the examples, and a generated 500-line file with 50 stages.

use std::fmt::Write as _;
use std::path::Path;

use crossbuild::Platform;
use frontend::lint::{lint_source, LintOptions};
use frontend::source::SourceFile;

fn options() -> LintOptions {
    LintOptions {
        platforms: crossbuild::parse_platform_list("linux/amd64,linux/arm64,linux/arm/v7")
            .expect("valid"),
        build_platform: Platform::parse("linux/amd64").expect("valid"),
        build_args: Default::default(),
        settings: Default::default(),
    }
}

/// Corpus files BuildKit's parser accepts but its build refuses, with BuildKit's message.
const BUILD_INVALID: &[(&str, &str)] = &[
    (
        "flags-single-dash-and-value-forms.Dockerfile",
        "circular dependency detected on stage: stage-0",
    ),
    (
        "json-empty-array.Dockerfile",
        "VOLUME requires at least one argument",
    ),
];

#[test]
fn every_valid_corpus_file_and_example_lints_without_error() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut paths: Vec<_> = std::fs::read_dir(root.join("tests/conformance/cases"))
        .expect("corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    for ex in ["go", "rust", "c-make", "c-cmake"] {
        paths.push(root.join("examples").join(ex).join("Dockerfile"));
    }
    assert!(paths.len() > 60);
    let mut errors = Vec::new();
    for path in &paths {
        let source = SourceFile::read(path).expect("readable");
        if let Err(e) = lint_source(source, &options()) {
            // Files the parser accepts but BuildKit's build refuses fail here too, with
            // BuildKit's message; anything else is a false error.
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let expected = BUILD_INVALID
                .iter()
                .find(|(f, _)| *f == name)
                .map(|(_, m)| *m);
            if expected != Some(e.message.as_str()) {
                errors.push(format!("{}: {}", path.display(), e.message));
            }
        }
    }
    assert!(errors.is_empty(), "false errors:\n{}", errors.join("\n"));
}

#[test]
fn fifty_stages_in_five_hundred_lines() {
    let mut text = String::from("# syntax=docker/dockerfile:1\nARG GO_VERSION=1.22\n");
    for i in 0..50 {
        let base = if i == 0 {
            "golang:${GO_VERSION}".to_string()
        } else {
            format!("s{}", i - 1)
        };
        let _ = writeln!(text, "FROM {base} AS s{i}");
        let _ = writeln!(text, "WORKDIR /src/{i}");
        let _ = writeln!(text, "COPY part{i}/ ./");
        let _ = writeln!(text, "RUN --mount=type=cache,target=/root/.cache \\");
        let _ = writeln!(text, "    go build -o /out/bin{i} ./cmd/{i} && \\");
        let _ = writeln!(text, "    echo built {i}");
        let _ = writeln!(text, "ENV STEP={i}");
        let _ = writeln!(text, "LABEL stage.{i}=\"yes\"");
        let _ = writeln!(text, "# stage {i} done\n");
    }
    assert!(text.lines().count() >= 500);
    let (df, findings) =
        lint_source(SourceFile::new("big.Dockerfile", text), &options()).expect("lints");
    assert_eq!(df.instructions.len(), 1 + 50 * 6);
    // Every stage compiles Go on the target platform: one CD101 per stage.
    assert_eq!(findings.iter().filter(|f| f.rule == "CD101").count(), 50);
}
