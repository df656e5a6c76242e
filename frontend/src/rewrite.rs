//! Rewrite: turn stages that compile under emulation into cross-compiling
//! `FROM --platform=$BUILDPLATFORM` stages, as a minimal text edit.
//!
//! The rewrite works from the same [`Context`] as lint: a stage is moved when it is
//! emulated for some target, compiles, and nothing blocks the move (see
//! [`Context::rewrite_blocker`]). Each change is an [`Edit`] of a span of the original text, so
//! comments, casing, continuations, heredocs and the escape character outside the
//! changed spans stay byte for byte. Rewriting the output again changes nothing: a
//! moved stage runs on the build platform and its steps carry the target settings, so
//! it no longer qualifies.
//!
//! Supported so far: Go (`go build`). Other toolchains are declined with a note saying
//! why, and the stage is left as it is.

use std::collections::BTreeSet;

use crossbuild::Role;

use crate::analysis::Step;
use crate::lint::Context;
use crate::source::Span;
use crate::syntax::parse;

/// Replace `span` of the original text with `text` (an empty span inserts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// What to replace.
    pub span: Span,
    /// The replacement.
    pub text: String,
}

/// A stage the rewrite left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The stage's display name.
    pub stage: String,
    /// Where (the stage's FROM, or the step concerned).
    pub span: Span,
    /// Why it was not rewritten, and what to do instead.
    pub message: String,
}

/// The result of a rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    /// The new text (equal to the input when `edits` is empty).
    pub output: String,
    /// The edits applied, in text order.
    pub edits: Vec<Edit>,
    /// Stages declined.
    pub notes: Vec<Note>,
}

/// A rewrite that would produce a file BuildKit cannot parse: a bug in crossdock.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("internal error: the rewritten Dockerfile does not parse ({0}); please report this with the input file")]
pub struct RewriteError(pub String);

/// Roles whose steps run a compiler.
fn compiles(role: Role) -> bool {
    matches!(
        role,
        Role::Compile | Role::Install | Role::Test | Role::RunHost
    )
}

/// The environment prefix that makes `go build` produce binaries for the target.
const GO_TARGET_ENV: &str = "GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} ";
/// The platform ARGs the Go prefix uses.
const GO_TARGET_ARGS: [&str; 3] = ["TARGETOS", "TARGETARCH", "TARGETVARIANT"];

/// Computes the rewrite of the file in `ctx`.
pub fn rewrite(ctx: &Context<'_>) -> Result<Rewrite, RewriteError> {
    let mut edits = Vec::new();
    let mut notes = Vec::new();
    for stage in &ctx.program.stages {
        let s = stage.index;
        let Some(&p) = ctx.emulated_platforms(s).first() else {
            continue;
        };
        let ev = ctx.eval_stage(p, s);
        let name = ev.display_name();
        let from = ctx.from_instruction(stage);
        let view = &ctx.views[p][s];
        // (command index, step) of every compiling toolchain step.
        let steps: Vec<(usize, &Step, &crate::analysis::ToolchainStep)> = view
            .runs
            .iter()
            .flat_map(|r| {
                r.analysis
                    .toolchain_steps()
                    .filter(|(_, t)| compiles(t.role))
                    .map(move |(st, t)| (r.command, st, t))
            })
            .collect();
        if steps.is_empty() {
            continue;
        }
        let decline = |message: String, span: Span| Note {
            stage: name.clone(),
            span,
            message,
        };
        if let Some(why) = ctx.rewrite_blocker(s) {
            notes.push(decline(
                format!("stage {name} left as it is: {why}"),
                from.span.clone(),
            ));
            continue;
        }
        if let Some((_, st, t)) = steps.iter().find(|(_, _, t)| t.toolchain != "go") {
            notes.push(decline(
                format!(
                    "stage {name} left as it is: `{}` ({}) is not rewritten yet; only Go is",
                    t.summary, t.toolchain
                ),
                st.span.clone(),
            ));
            continue;
        }
        let mut step_edits = Vec::new();
        let mut blocked = None;
        for (_, st, t) in &steps {
            if t.cross_aware {
                continue;
            }
            if t.role != Role::Compile {
                blocked = Some((
                    format!(
                        "stage {name} left as it is: `{}` must be handled by hand (a cross `go install` writes to $GOPATH/bin/<os>_<arch>/; tests and `go run` execute what they build)",
                        t.summary
                    ),
                    st.span.clone(),
                ));
                break;
            }
            if st
                .env
                .iter()
                .any(|(k, v)| k == "CGO_ENABLED" && v.trim_matches(['"', '\'']) == "1")
            {
                blocked = Some((
                    format!("stage {name} left as it is: cgo is enabled, and setting up a C cross compiler for Go is not rewritten yet"),
                    st.span.clone(),
                ));
                break;
            }
            let Some(program) = st.word_spans.first() else {
                continue;
            };
            if program.len() != st.words.first().map_or(0, String::len)
                || st.word_spans.len() != st.words.len()
            {
                blocked = Some((
                    format!("stage {name} left as it is: the `{}` command is in a form crossdock cannot edit exactly (exec form or a quoted script)", t.summary),
                    st.span.clone(),
                ));
                break;
            }
            step_edits.push(Edit {
                span: program.start..program.start,
                text: GO_TARGET_ENV.to_string(),
            });
        }
        if let Some((message, span)) = blocked {
            notes.push(decline(message, span));
            continue;
        }

        // FROM --platform=$BUILDPLATFORM
        match &stage.platform {
            Some(flag) => edits.push(Edit {
                span: flag.span.clone(),
                text: "--platform=$BUILDPLATFORM".to_string(),
            }),
            None => edits.push(Edit {
                span: from.keyword_span.end..from.keyword_span.end,
                text: " --platform=$BUILDPLATFORM".to_string(),
            }),
        }
        // ARG for the platform values the new commands use, unless already declared
        // before the first edited step.
        let first_cmd = steps.first().map_or(0, |(c, _, _)| *c);
        let declared: BTreeSet<&str> = ev
            .scopes
            .get(first_cmd)
            .map(|sc| sc.args.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let missing: Vec<&str> = GO_TARGET_ARGS
            .iter()
            .copied()
            .filter(|a| !declared.contains(a))
            .collect();
        if !missing.is_empty() && !step_edits.is_empty() {
            let keyword = if from.keyword.chars().all(|c| c.is_ascii_lowercase()) {
                "arg"
            } else {
                "ARG"
            };
            let newline = if ctx.df.source.text().contains("\r\n") {
                "\r\n"
            } else {
                "\n"
            };
            edits.push(Edit {
                span: from.span.end..from.span.end,
                text: format!("{newline}{keyword} {}", missing.join(" ")),
            });
        }
        edits.extend(step_edits);
    }
    edits.sort_by_key(|e| (e.span.start, e.span.end));
    let output = apply(ctx.df.source.text(), &edits);
    if !edits.is_empty() {
        let reparsed = crate::source::SourceFile::new(ctx.df.source.path(), output.clone());
        if let Err(e) = parse(reparsed) {
            return Err(RewriteError(e.message));
        }
    }
    Ok(Rewrite {
        output,
        edits,
        notes,
    })
}

/// Applies sorted, non-overlapping edits.
fn apply(text: &str, edits: &[Edit]) -> String {
    let mut out =
        String::with_capacity(text.len() + edits.iter().map(|e| e.text.len()).sum::<usize>());
    let mut at = 0;
    for e in edits {
        if e.span.start < at || e.span.end > text.len() {
            continue;
        }
        out.push_str(&text[at..e.span.start]);
        out.push_str(&e.text);
        at = e.span.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
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
        rewrite(&ctx).unwrap()
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
        let rust =
            run("FROM rust AS b\nRUN cargo build --release\nFROM scratch\nCOPY --from=b /x /x\n");
        assert!(
            rust.notes[0].message.contains("only Go is"),
            "{:?}",
            rust.notes
        );
        let cgo = run("FROM golang AS b\nRUN CGO_ENABLED=1 go build -o /x .\nFROM scratch\nCOPY --from=b /x /x\n");
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
}
