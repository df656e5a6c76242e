//! End-to-end tests of `crossdock rewrite`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn crossdock(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crossdock"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("crossdock runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crossdock-rewrite-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

const COMMON: &[&str] = &[
    "--platform",
    "linux/amd64,linux/arm64,linux/arm/v7",
    "--build-platform",
    "linux/amd64",
];

#[test]
fn go_example_is_rewritten_to_cross_compile() {
    let mut args = vec!["rewrite", "examples/go"];
    args.extend(COMMON);
    let out = crossdock(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nARG TARGETOS TARGETARCH TARGETVARIANT\n"), "{text}");
    assert!(
        text.contains(
            "RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} go build"
        ),
        "{text}"
    );
    // Everything else is unchanged: the original lines are all still there, in order.
    let original = std::fs::read_to_string("examples/go/Dockerfile").expect("example");
    let kept: Vec<&str> = original
        .lines()
        .filter(|l| !l.starts_with("FROM golang") && !l.contains("go build"))
        .collect();
    let mut rest = text.lines();
    for line in kept {
        assert!(rest.any(|l| l == line), "line {line:?} kept");
    }

    // The result is what lint wants: no emulation or wrong-architecture finding.
    let dir = temp_dir("lint");
    let file = dir.join("Dockerfile");
    std::fs::write(&file, text.as_bytes()).expect("write");
    let mut lint = vec![
        "lint",
        "--format",
        "json",
        "--fail-on",
        "none",
        path_str(&file),
    ];
    lint.extend(COMMON);
    let out = crossdock(&lint);
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let bad: Vec<_> = findings
        .as_array()
        .expect("array")
        .iter()
        .filter(|f| {
            let r = f["rule"].as_str().unwrap_or("");
            r.starts_with("CD10") || r.starts_with("CD11")
        })
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");

    // Idempotent: rewriting the result changes nothing.
    let mut check = vec!["rewrite", "--check", path_str(&file)];
    check.extend(COMMON);
    assert_eq!(crossdock(&check).status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_diff_and_write() {
    let dir = temp_dir("modes");
    let file = dir.join("Dockerfile");
    let original = "# keep me\nFROM golang:1.22 AS build\nRUN go build -o /app .\nFROM scratch\nCOPY --from=build /app /app\n";
    std::fs::write(&file, original).expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");

    let mut check = vec!["rewrite", "--check", path_str(&file)];
    check.extend(COMMON);
    let out = crossdock(&check);
    assert_eq!(out.status.code(), Some(1), "a rewrite is available");
    assert!(out.stdout.is_empty());

    let mut diff = vec!["rewrite", "--diff", path_str(&file)];
    diff.extend(COMMON);
    let out = crossdock(&diff);
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "-FROM golang:1.22 AS build",
        "+FROM --platform=$BUILDPLATFORM golang:1.22 AS build",
        "+ARG TARGETOS TARGETARCH TARGETVARIANT",
        " # keep me",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} in {text}");
    }
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        original,
        "--diff does not write"
    );

    let mut write = vec!["rewrite", "--write", path_str(&file)];
    write.extend(COMMON);
    assert!(crossdock(&write).status.success());
    let written = std::fs::read_to_string(&file).expect("read");
    assert!(
        written.starts_with("# keep me\nFROM --platform=$BUILDPLATFORM golang:1.22 AS build\n"),
        "{written}"
    );
    let mode = std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "the file mode is kept");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    assert_eq!(
        crossdock(&check).status.code(),
        Some(0),
        "nothing left to rewrite"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn declined_stages_are_explained_on_stderr() {
    // examples/c-make runs `make check`: left alone unless --restructure.
    let mut args = vec!["rewrite", "examples/c-make"];
    args.extend(COMMON);
    let out = crossdock(&args);
    assert!(out.status.success());
    let original = std::fs::read_to_string("examples/c-make/Dockerfile").expect("example");
    assert_eq!(String::from_utf8_lossy(&out.stdout), original, "unchanged");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("examples/c-make/Dockerfile:1:1:"), "{err}");
    assert!(err.contains("runs a program it built"), "{err}");
    assert!(err.contains("--restructure"), "{err}");
    let mut check = vec!["rewrite", "--check", "examples/c-make"];
    check.extend(COMMON);
    assert_eq!(
        crossdock(&check).status.code(),
        Some(0),
        "nothing to rewrite"
    );
    check.push("--restructure");
    assert_eq!(
        crossdock(&check).status.code(),
        Some(1),
        "--restructure rewrites it"
    );
}
