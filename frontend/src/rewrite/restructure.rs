//! `--restructure`: a final stage that compiles is split in two. Its `FROM` line
//! becomes a build stage on `$BUILDPLATFORM` (named `build`, or `<name>-build`),
//! which the toolchain modules then rewrite as any other; right after its last
//! compiling `RUN` a new final stage starts from the same image, repeats the
//! `ENV`/`ARG`/`WORKDIR`/`LABEL` lines of the build part, and `COPY --from`s the
//! built binaries to the same paths. What followed the compile (`CMD`, `EXPOSE`, …)
//! stays in the final stage.
//!
//! Only simple cases: the binaries must be known (`go build -o`, `gcc -o`, `cargo
//! build` with the manifest's binary names), the build part holds only `RUN`,
//! `COPY`, `ADD`, `ENV`, `ARG`, `WORKDIR` and `LABEL`, `WORKDIR` paths are literal,
//! and the stage does not run what it built. The final image no longer holds the
//! sources and toolchain, which is usually the point; the note says so.

use crossbuild::Role;

use super::{Decline, Edit, Job, Note, StepRef};
use crate::analysis::StepKind;
use crate::eval::Base;
use crate::instructions::CommandKind;

/// The edits that split the stage.
pub(crate) struct Split {
    /// Edits of the FROM line (the build stage's name), placed before the ARG line.
    pub from_edits: Vec<Edit>,
    /// The new final stage, inserted after the last compiling RUN.
    pub tail_edits: Vec<Edit>,
    pub notes: Vec<Note>,
}

/// The `-o` value of a step.
fn output_flag(words: &[String]) -> Option<String> {
    let mut it = words.iter();
    while let Some(w) = it.next() {
        if w == "-o" {
            return it.next().cloned();
        }
        if let Some(v) = w.strip_prefix("-o=") {
            return Some(v.to_string());
        }
    }
    None
}

fn join(dir: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        let p = path.trim_start_matches("./");
        format!("{}/{p}", dir.trim_end_matches('/'))
    }
}

pub(crate) fn split_final(job: &Job<'_, '_>, steps: &[StepRef<'_>]) -> Result<Split, Decline> {
    let ctx = job.ctx;
    let stage = job.stage();
    let from = ctx.from_instruction(stage);
    let no = |why: &str| {
        job.decline(
            format!("the compile happens in the final image stage and --restructure cannot split it: {why}; split it by hand into a build stage and COPY its output"),
            from.span.clone(),
        )
    };
    if !matches!(ctx.eval_stage(job.p, job.s).base, Base::Image(_)) {
        return Err(no("it does not start from an image"));
    }
    let runs_built = job.runs().iter().any(|r| {
        r.analysis.steps.iter().any(|st| match &st.kind {
            StepKind::RunsBuiltBinary { .. } => true,
            StepKind::Toolchain(t) => t.role == Role::Test || t.role == Role::RunHost,
            _ => false,
        })
    });
    if runs_built {
        return Err(no("it runs what it built"));
    }
    let Some(last) = steps
        .iter()
        .filter(|r| r.tool.role.targets_platform())
        .map(|r| r.command)
        .max()
    else {
        return Err(no("no compile step found"));
    };
    // The build part: what it may hold, and the working directory of each command.
    let mut workdir = "/".to_string();
    let mut workdirs = Vec::new();
    let mut repeated = Vec::new();
    for cmd in &stage.commands[..=last] {
        let inst = ctx.instruction(cmd.instruction);
        match &cmd.kind {
            CommandKind::Run(_) | CommandKind::Copy(_) => {}
            CommandKind::Env(_) | CommandKind::Arg(_) | CommandKind::Label(_) => {
                repeated.push(job.slice(&inst.span).to_string());
            }
            CommandKind::Workdir(w) => {
                if w.contains('$') {
                    return Err(no("a WORKDIR uses a variable"));
                }
                workdir = join(&workdir, w);
                repeated.push(job.slice(&inst.span).to_string());
            }
            _ => {
                return Err(no(&format!(
                    "it has {} before its last compile step",
                    inst.keyword_upper()
                )))
            }
        }
        workdirs.push(workdir.clone());
    }
    // The binaries.
    let mut outputs = Vec::new();
    for r in steps.iter().filter(|r| r.tool.role.targets_platform()) {
        let dir = &workdirs[r.command];
        let words = &r.step.words;
        let out = match r.tool.toolchain.as_str() {
            "go" | "c" if output_flag(words).is_some() => {
                output_flag(words).map(|o| vec![join(dir, &o)])
            }
            "rust" if words.iter().any(|w| w == "build") => {
                let profile = if words.iter().any(|w| w == "--release" || w == "-r") {
                    "release"
                } else {
                    "debug"
                };
                job.opts
                    .cargo_bins
                    .as_ref()
                    .filter(|b| !b.is_empty())
                    .map(|bins| {
                        bins.iter()
                            .map(|b| join(dir, &format!("target/{profile}/{b}")))
                            .collect()
                    })
            }
            _ => None,
        };
        match out {
            Some(o) if o.iter().all(|p| !p.contains('$')) => outputs.extend(o),
            _ => {
                return Err(no(&format!(
                    "it cannot tell where `{}` writes its binaries",
                    r.tool.summary
                )))
            }
        }
    }
    outputs.dedup();

    let lower = from.keyword.chars().all(|c| c.is_ascii_lowercase());
    let kw = |k: &str| {
        if lower {
            k.to_ascii_lowercase()
        } else {
            k.to_string()
        }
    };
    let taken = |n: &str| {
        ctx.program.stages.iter().any(|st| {
            st.name
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case(n))
        })
    };
    let build_name = match &stage.name {
        Some(n) => format!("{n}-build"),
        None if !taken("build") => "build".to_string(),
        None => "crossdock-build".to_string(),
    };
    let mut from_edits = Vec::new();
    match (&stage.name, &stage.name_span) {
        (Some(_), Some(span)) => from_edits.push(Edit {
            span: span.clone(),
            text: build_name.clone(),
        }),
        _ => from_edits.push(Edit {
            span: from.span.end..from.span.end,
            text: format!(" {} {build_name}", kw("AS")),
        }),
    }
    let newline = if job.text().contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let mut tail = format!(
        "{newline}{newline}{} {}",
        from.keyword,
        job.slice(&stage.base_span)
    );
    if let Some(n) = &stage.name {
        tail.push_str(&format!(" {} {n}", kw("AS")));
    }
    for line in repeated {
        tail.push_str(newline);
        tail.push_str(&line);
    }
    for o in &outputs {
        tail.push_str(&format!(
            "{newline}{} --from={build_name} {o} {o}",
            kw("COPY")
        ));
    }
    let last_inst = ctx.instruction(stage.commands[last].instruction);
    let name = &job.name;
    Ok(Split {
        from_edits,
        tail_edits: vec![Edit {
            span: last_inst.span.end..last_inst.span.end,
            text: tail,
        }],
        notes: vec![Note {
            stage: name.clone(),
            span: from.span.clone(),
            message: format!(
                "stage {name} was split: it now compiles in stage {build_name} on the build platform, and the final image copies {} from it (the sources and toolchain are no longer in the final image)",
                outputs.join(", ")
            ),
        }],
    })
}
