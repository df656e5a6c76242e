//! Unit tests of the engine; the per-case snapshots are in tests/rewrite_cases.rs.

use super::*;
use crate::eval::EvalOptions;
use crate::instructions::parse_program;
use crate::source::SourceFile;
use crossbuild::Platform;

fn run(text: &str) -> Rewrite {
    let df = parse(SourceFile::new("Dockerfile", text)).unwrap();
    let program = parse_program(&df).unwrap();
    let opts = EvalOptions {
        build_platform: Platform::parse("linux/amd64").unwrap(),
        build_args: Default::default(),
        target_stage: None,
    };
    let platforms =
        crossbuild::parse_platform_list("linux/amd64,linux/arm64,linux/arm/v7").unwrap();
    let ctx = Context::new(&df, &program, &platforms, &opts).unwrap();
    rewrite(&ctx, &RewriteOptions::default()).unwrap()
}

#[test]
fn go_stage_moves_to_the_build_platform() {
    let text = "# build it\nFROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go mod download\nRUN CGO_ENABLED=0 go build \\\n    -o /out/app ./cmd/app\n\nFROM scratch\nCOPY --from=build /out/app /app\n";
    let r = run(text);
    assert_eq!(
        r.output,
        "# build it\nFROM --platform=$BUILDPLATFORM golang:1.22 AS build\nARG TARGETOS TARGETARCH TARGETVARIANT\nWORKDIR /src\nCOPY . .\nRUN go mod download\nRUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} go build \\\n    -o /out/app ./cmd/app\n\nFROM scratch\nCOPY --from=build /out/app /app\n"
    );
    assert!(r.notes.is_empty());
    // Idempotent.
    let again = run(&r.output);
    assert!(again.edits.is_empty());
    assert_eq!(again.output, r.output);
}

#[test]
fn nothing_to_do_gives_the_same_bytes() {
    let text = "FROM --platform=$BUILDPLATFORM golang AS b\r\nARG TARGETARCH\r\nRUN GOARCH=$TARGETARCH go build -o /x .\r\nFROM scratch\r\nCOPY --from=b /x /x\r\n";
    let r = run(text);
    assert!(r.edits.is_empty());
    assert_eq!(r.output, text);
}

#[test]
fn declines_with_reasons() {
    let final_stage = run("FROM golang:1.22\nRUN go build -o /app .\nCMD [\"/app\"]\n");
    assert!(final_stage.edits.is_empty());
    assert!(
        final_stage.notes[0].message.contains("final image stage"),
        "{:?}",
        final_stage.notes
    );
    for grouped in [
        "FROM rust:1.80 AS b\nRUN cargo fetch || cargo build --release\nFROM scratch\nCOPY --from=b /x /x\n",
        "FROM rust:1.80 AS b\nRUN cargo build --release 2>&1 | tee /log\nFROM scratch\nCOPY --from=b /x /x\n",
    ] {
        let r = run(grouped);
        assert!(r.edits.is_empty(), "{}", r.output);
        assert!(
            r.notes[0].message.contains("right of `||`, in a pipeline"),
            "{:?}",
            r.notes
        );
    }
    let cgo = run("FROM golang:alpine AS b\nRUN CGO_ENABLED=1 go build -o /x .\nFROM scratch\nCOPY --from=b /x /x\n");
    assert!(cgo.notes[0].message.contains("cgo"), "{:?}", cgo.notes);
}

#[test]
fn existing_platform_flag_and_lowercase_keywords() {
    let r = run("from --platform=$TARGETPLATFORM golang as b\nrun go build -o /x .\nfrom scratch\ncopy --from=b /x /x\n");
    assert_eq!(
        r.output,
        "from --platform=$BUILDPLATFORM golang as b\narg TARGETOS TARGETARCH TARGETVARIANT\nrun GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} go build -o /x .\nfrom scratch\ncopy --from=b /x /x\n"
    );
}

/// The shell of a rewritten RUN (continuations joined), by its position among the
/// RUNs of the output.
fn run_script(output: &str, nth: usize) -> String {
    let joined = output.replace("\\\n", "");
    joined
        .lines()
        .filter_map(|l| l.strip_prefix("RUN "))
        .nth(nth)
        .unwrap_or_else(|| panic!("no RUN #{nth} in {output}"))
        .to_string()
}

/// Runs `script` with `sh`, the platform ARGs set, and fake `dpkg` (an amd64
/// machine), `apt-get` and `cargo` that print what they were asked to do.
fn execute(script: &str, target: &str) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!(
        "crossdock-rewrite-sh-{}-{}",
        std::process::id(),
        target.replace('/', "-")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, body) in [
        (
            "dpkg",
            "if [ \"$1\" = --print-architecture ]; then echo amd64; else echo \"dpkg $*\"; fi",
        ),
        ("apt-get", "echo \"apt-get $*\""),
        (
            "cargo",
            "echo \"cargo $*\"; echo \"linker=$CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER\"",
        ),
        ("cp", "echo \"cp $*\""),
        ("mkdir", "true"),
        ("rm", "true"),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("PATH", format!("{}:/usr/bin:/bin", dir.display()))
        .env("TARGETPLATFORM", target)
        .env("BUILDPLATFORM", "linux/amd64")
        .output()
        .expect("sh runs");
    let _ = std::fs::remove_dir_all(&dir);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn generated_shell_picks_the_target_values() {
    let text = "FROM debian:bookworm AS build\nRUN apt-get install -y rustc cargo libssl-dev\nRUN cargo build --release --bin app\nFROM scratch\nCOPY --from=build /target/release/app /app\n";
    let r = run(text);
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    let setup = run_script(&r.output, 1);
    let build = run_script(&r.output, 2);

    // Cross: the cross GCC, the target's std and libraries, multiarch.
    let (ok, out) = execute(&setup, "linux/arm64");
    assert!(ok, "{out}");
    assert!(out.contains("dpkg --add-architecture arm64"), "{out}");
    assert!(
        out.contains("apt-get install -y --no-install-recommends gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross libssl-dev:arm64 libstd-rust-dev:arm64"),
        "{out}"
    );
    // Native: no cross package exists for the build machine's own architecture.
    let (ok, out) = execute(&setup, "linux/amd64");
    assert!(ok, "{out}");
    assert!(
        out.contains("apt-get install -y --no-install-recommends gcc g++ binutils libc6-dev"),
        "{out}"
    );
    assert!(!out.contains("gcc-x86-64-linux-gnu"), "{out}");
    assert!(!out.contains("libstd-rust-dev:amd64"), "{out}");

    // The build: --target, the linker, and the binary copied back.
    let (ok, out) = execute(&build, "linux/arm64");
    assert!(ok, "{out}");
    assert!(
        out.contains("cargo build --target aarch64-unknown-linux-gnu --release --bin app"),
        "{out}"
    );
    assert!(out.contains("linker=aarch64-linux-gnu-gcc"), "{out}");
    assert!(
        out.contains("cp target/aarch64-unknown-linux-gnu/release/app target/release/"),
        "{out}"
    );
    // A platform the file was not rewritten for stops the build.
    let (ok, out) = execute(&build, "linux/riscv64");
    assert!(!ok);
    assert!(out.contains("not linux/riscv64"), "{out}");
}

#[test]
fn tool_stages_move_only_when_nothing_built_from_them_targets() {
    let tools = "FROM rust:1.80 AS chef\nRUN cargo install cargo-chef\nFROM chef AS planner\nRUN cargo chef prepare --recipe-path r.json\nFROM debian\nCOPY --from=planner /r.json /r.json\n";
    let r = run(tools);
    assert!(
        r.output
            .starts_with("FROM --platform=$BUILDPLATFORM rust:1.80 AS chef\n"),
        "{}",
        r.output
    );
    // Here a stage built FROM it compiles for the target: moving it would move that
    // stage too, without target settings.
    let shared = "FROM rust:1.80 AS chef\nRUN cargo install cargo-chef\nFROM chef AS build\nRUN cargo build --release\nFROM debian\nCOPY --from=build /target/release/x /x\n";
    let r = run(shared);
    assert!(
        r.output.starts_with("FROM rust:1.80 AS chef\n"),
        "{}",
        r.output
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n.message.contains("builds FROM stage chef")),
        "{:?}",
        r.notes
    );
}
