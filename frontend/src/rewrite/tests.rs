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
