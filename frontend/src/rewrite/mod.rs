//! Rewrite: turn stages that compile under emulation into cross-compiling
//! `FROM --platform=$BUILDPLATFORM` stages, as a minimal text edit.
//!
//! The rewrite works from the same [`Context`] as lint: a stage is moved when it is
//! emulated for some target, compiles, and nothing blocks the move (see
//! [`Context::rewrite_blocker`]). Each change is an [`Edit`] of a span of the original
//! text, so comments, casing, continuations, heredocs and the escape character outside
//! the changed spans stay byte for byte. Rewriting the output again changes nothing: a
//! moved stage runs on the build platform, so it no longer qualifies.
//!
//! This module is the engine: which stages move, the `FROM` and `ARG` edits, the
//! per-`RUN` `case "$TARGETPLATFORM"` prelude (`shell.rs`) and the package set-up
//! `RUN` (`setup.rs`). One module per toolchain says what its steps need: `go.rs`,
//! `rust.rs`, `c.rs` (make, Autotools, CMake, Meson). `restructure.rs` splits a final
//! stage that compiles, and runs tests only for the build machine's platform, when
//! asked to ([`RewriteOptions::restructure`]). docs/rewrite.md lists every rewrite
//! and decline.

mod c;
mod go;
mod restructure;
mod rust;
mod setup;
mod shell;

use std::collections::{BTreeMap, BTreeSet};

use crossbuild::{Platform, Role, Target};

use crate::analysis::{Step, StepKind, ToolchainStep};
use crate::eval::Base;
use crate::instructions::Stage;
use crate::lint::Context;
use crate::source::Span;
use crate::syntax::parse;

pub use rust::cargo_binaries;

/// Replace `span` of the original text with `text` (an empty span inserts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// What to replace.
    pub span: Span,
    /// The replacement.
    pub text: String,
}

/// A stage the rewrite left alone (or changed in a way worth knowing), and why.
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
    /// Stages declined, and changes the user should know about.
    pub notes: Vec<Note>,
}

/// What the rewrite may do and what it knows about the build context.
#[derive(Debug, Clone, Default)]
pub struct RewriteOptions {
    /// Split a final stage that compiles into a build-platform stage and a `COPY` of
    /// its results, and run a stage's tests only when building for the build
    /// machine's platform (`--restructure`).
    pub restructure: bool,
    /// The names of the binaries `cargo build` makes, from the Cargo manifest in the
    /// build context ([`cargo_binaries`]); `None` when there is none.
    pub cargo_bins: Option<Vec<String>>,
    /// The text of the Makefile in the build context, if any: `make` gets `CC`,
    /// `CXX` and `AR` on its command line only for the ones it uses.
    pub makefile: Option<String>,
}

/// A rewrite that would produce a file BuildKit cannot parse: a bug in crossdock.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("internal error: the rewritten Dockerfile does not parse ({0}); please report this with the input file")]
pub struct RewriteError(pub String);

/// Roles whose steps run a compiler.
fn compiles(role: Role) -> bool {
    matches!(
        role,
        Role::Compile | Role::Install | Role::Test | Role::RunHost | Role::Configure
    )
}

/// Why a stage is left alone: the message of its [`Note`] and where it points.
pub(crate) struct Decline {
    message: String,
    span: Span,
}

impl Decline {
    pub(crate) fn new(message: impl Into<String>, span: Span) -> Self {
        Decline {
            message: message.into(),
            span,
        }
    }
}

/// The distribution a stage's image is built from, as far as the rewrite cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Distro {
    /// Debian or Ubuntu: `apt-get`, multiarch, GCC cross packages.
    Debian,
    /// Alpine: `apk`, musl, no cross GCC.
    Alpine,
    /// Neither could be told.
    Unknown,
}

/// The Rust standard library source of a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RustStd {
    /// Decided when the stage runs: `rustup target add` when rustup is on the PATH,
    /// else Debian's `libstd-rust-dev:<arch>` (the official `rust` images have rustup;
    /// a `rust` image built from Debian packages does not).
    Detect,
    /// rustc comes from Debian packages installed by the stage (`rustc-web` when
    /// `web`).
    Debian { web: bool },
}

/// One stage being rewritten: what every toolchain module reads.
pub(crate) struct Job<'c, 'a> {
    pub ctx: &'c Context<'a>,
    pub opts: &'c RewriteOptions,
    /// The stage.
    pub s: usize,
    /// The platform whose analysis is used (the first emulated one).
    pub p: usize,
    /// Its display name.
    pub name: String,
    /// Every platform the stage is needed for, with its cross settings.
    pub targets: Vec<(Platform, Target)>,
    pub distro: Distro,
    /// Packages installed by the stage and the stages it is built FROM.
    pub installed: Vec<crate::analysis::Package>,
    /// Whether tests and runs of built programs are to be kept, on the build
    /// machine's platform only (`--restructure`).
    pub gate_tests: bool,
}

/// A toolchain step of the stage, with the `RUN` it is in.
pub(crate) struct StepRef<'c> {
    /// Index of the command in the stage.
    pub command: usize,
    /// Index of the instruction in the file.
    pub instruction: usize,
    pub step: &'c Step,
    pub tool: &'c ToolchainStep,
}

/// What the toolchain modules ask for, merged for the stage.
#[derive(Default)]
pub(crate) struct StagePlan {
    /// Edits inside steps.
    pub edits: Vec<Edit>,
    /// Platform ARGs the new text uses.
    pub args: BTreeSet<&'static str>,
    /// Per RUN instruction: where its `case` prelude goes, and what it sets.
    pub preludes: BTreeMap<usize, (usize, shell::CaseBlock, Vec<String>)>,
    /// The packages a set-up RUN installs.
    pub setup: setup::Setup,
    /// The first command that needs the set-up.
    pub setup_before: Option<usize>,
    /// Notes on changes the user should know about.
    pub notes: Vec<Note>,
    /// Steps left alone because they build tools for the build machine
    /// (`cargo install cargo-chef`, `go install tool@version`).
    pub tools: usize,
}

impl StagePlan {
    /// The `case` prelude of a RUN, created at `pos` (the first step that needs it).
    pub fn prelude(&mut self, instruction: usize, pos: usize) -> &mut shell::CaseBlock {
        self.args.insert("TARGETPLATFORM");
        let entry = self
            .preludes
            .entry(instruction)
            .or_insert_with(|| (pos, shell::CaseBlock::default(), Vec::new()));
        if pos < entry.0 {
            entry.0 = pos;
        }
        &mut entry.1
    }

    /// A command to run right after the `case` prelude of a RUN (writing a file).
    pub fn after_prelude(&mut self, instruction: usize, pos: usize, command: String) {
        self.prelude(instruction, pos);
        let entry = self.preludes.get_mut(&instruction).expect("just created");
        if !entry.2.contains(&command) {
            entry.2.push(command);
        }
    }

    /// Records that the set-up RUN must come before `command`.
    pub fn needs_setup(&mut self, command: usize) {
        self.args.insert("TARGETPLATFORM");
        self.setup_before = Some(self.setup_before.map_or(command, |c| c.min(command)));
    }

    /// Inserts `text` at `pos`.
    pub fn insert(&mut self, pos: usize, text: impl Into<String>) {
        self.edits.push(Edit {
            span: pos..pos,
            text: text.into(),
        });
    }
}

impl<'c, 'a> Job<'c, 'a> {
    /// The source text.
    pub fn text(&self) -> &'a str {
        self.ctx.df.source.text()
    }

    /// The text of a span.
    pub fn slice(&self, span: &Span) -> &'a str {
        &self.ctx.df.source.text()[span.clone()]
    }

    /// The stage.
    pub fn stage(&self) -> &'a Stage {
        &self.ctx.program.stages[self.s]
    }

    /// A decline for this stage.
    pub fn decline(&self, why: impl std::fmt::Display, span: Span) -> Decline {
        Decline::new(format!("stage {} left as it is: {why}", self.name), span)
    }

    /// Whether a step's words map exactly onto the source, so that it can be edited
    /// in place (not exec form, not inside a quoted `sh -c` script).
    pub fn editable(&self, step: &Step) -> bool {
        step.word_spans.len() == step.words.len()
            && !step.words.is_empty()
            && step.word_spans.windows(2).all(|w| w[0].end <= w[1].start)
            && step
                .word_spans
                .first()
                .is_some_and(|sp| sp.end <= self.text().len() && self.slice(sp) == step.words[0])
    }

    /// Whether text can be put right before and after a step without changing what
    /// the script runs: not on the right of `||`, in a pipeline, a negation, an
    /// `if`/`while` condition or in the background, where `case … esac && step` or
    /// `step && cp …` would group differently.
    pub fn insertable(&self, step: &Step) -> bool {
        use crate::shell::Construct as C;
        !step.context.iter().any(|c| {
            matches!(
                c,
                C::OrRight | C::Pipeline | C::Negated | C::Condition | C::Background
            )
        })
    }

    /// A decline for a step [`Job::insertable`] rejects.
    pub fn not_insertable(&self, r: &StepRef<'_>) -> Decline {
        self.decline(
            format!(
                "`{}` is on the right of `||`, in a pipeline or in a condition, where crossdock cannot add its set-up safely; put it in a plain `&&` chain",
                r.tool.summary
            ),
            r.step.span.clone(),
        )
    }

    /// The value of a variable for a step: its own assignments, then ENV and ARG.
    pub fn var(&self, r: &StepRef<'_>, name: &str) -> Option<String> {
        if let Some((_, v)) = r.step.env.iter().rev().find(|(k, _)| k == name) {
            return Some(v.trim_matches(['"', '\'']).to_string());
        }
        self.ctx
            .eval_stage(self.p, self.s)
            .scopes
            .get(r.command)
            .and_then(|sc| sc.vars().get(name).cloned())
    }

    /// The `(command, instruction)` of every RUN of the stage.
    fn runs(&self) -> &'c [crate::lint::RunInfo] {
        &self.ctx.views[self.p][self.s].runs
    }
}

/// Computes the rewrite of the file in `ctx`.
pub fn rewrite(ctx: &Context<'_>, opts: &RewriteOptions) -> Result<Rewrite, RewriteError> {
    let mut edits = Vec::new();
    let mut notes = Vec::new();
    for stage in &ctx.program.stages {
        match rewrite_stage(ctx, opts, stage) {
            Ok(None) => {}
            Ok(Some((stage_edits, stage_notes))) => {
                edits.extend(stage_edits);
                notes.extend(stage_notes);
            }
            Err(d) => notes.push(Note {
                stage: ctx
                    .emulated_platforms(stage.index)
                    .first()
                    .map(|&p| ctx.eval_stage(p, stage.index).display_name())
                    .unwrap_or_else(|| stage.index.to_string()),
                span: d.span,
                message: d.message,
            }),
        }
    }
    // Stable: inserts at the same place keep the order they were made in.
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

/// A stage's edits and notes.
type StageEdits = (Vec<Edit>, Vec<Note>);

/// The edits for one stage: `Ok(None)` when it needs none, `Err` when it is declined.
fn rewrite_stage(
    ctx: &Context<'_>,
    opts: &RewriteOptions,
    stage: &Stage,
) -> Result<Option<StageEdits>, Decline> {
    let s = stage.index;
    let Some(&p) = ctx.emulated_platforms(s).first() else {
        return Ok(None);
    };
    let ev = ctx.eval_stage(p, s);
    let name = ev.display_name();
    let from = ctx.from_instruction(stage);
    let steps = toolchain_steps(ctx, p, s);
    if steps.is_empty() {
        return Ok(None);
    }
    let mut targets = Vec::new();
    for q in ctx.needed_platforms(s) {
        let platform = ctx.platforms[q].clone();
        match platform.target() {
            Ok(t) => targets.push((platform, t)),
            Err(e) => {
                return Err(Decline::new(
                    format!("stage {name} left as it is: {e}"),
                    from.span.clone(),
                ))
            }
        }
    }
    let mut job = Job {
        ctx,
        opts,
        s,
        p,
        name: name.clone(),
        targets,
        distro: distro(ctx, p, s),
        installed: installed_packages(ctx, p, s),
        gate_tests: false,
    };
    let mut split = None;
    if let Some(why) = ctx.rewrite_blocker(s) {
        let final_stage = ctx.evals[p].target == s;
        let runs_built = !final_stage && !matches!(ev.base, Base::Stage(_));
        if opts.restructure && final_stage {
            split = Some(restructure::split_final(&job, &steps)?);
        } else if opts.restructure && runs_built {
            job.gate_tests = true;
        } else {
            let hint = if final_stage || runs_built {
                "; `crossdock rewrite --restructure` can do it for simple cases"
            } else {
                ""
            };
            return Err(Decline::new(
                format!("stage {name} left as it is: {why}{hint}"),
                from.span.clone(),
            ));
        }
    }

    let mut plan = StagePlan::default();
    for r in &steps {
        if r.tool.cross_aware {
            continue;
        }
        match r.tool.toolchain.as_str() {
            "go" => go::plan(&job, r, &mut plan)?,
            "rust" => rust::plan(&job, r, &mut plan)?,
            "c" | "cmake" | "autotools" | "meson" => c::plan(&job, r, &steps, &mut plan)?,
            other => {
                return Err(job.decline(
                    format!(
                        "`{}` ({other}) builds native add-ons, which crossdock does not rewrite; build them in a stage on the target platform",
                        r.tool.summary
                    ),
                    r.step.span.clone(),
                ))
            }
        }
        if job.gate_tests && (r.tool.role == Role::Test || r.tool.role == Role::RunHost) {
            gate(&job, r.step, &mut plan);
        }
    }
    if job.gate_tests {
        for run in job.runs() {
            for st in &run.analysis.steps {
                if matches!(st.kind, StepKind::RunsBuiltBinary { .. }) {
                    if !job.editable(st) {
                        return Err(job.decline(
                            "it runs a program it built, in a form crossdock cannot edit exactly",
                            st.span.clone(),
                        ));
                    }
                    gate(&job, st, &mut plan);
                }
            }
        }
        plan.notes.push(Note {
            stage: name.clone(),
            span: from.span.clone(),
            message: format!(
                "stage {name}: the tests and built programs it runs now run only when the target platform is the build platform (they cannot run cross-compiled)"
            ),
        });
    }
    if plan.edits.is_empty() && plan.preludes.is_empty() && split.is_none() {
        // A stage that only builds tools for the build machine moves as it is, unless
        // a stage built FROM it compiles for the target (it would move too).
        let descendants_compile = (s + 1..ctx.program.stages.len()).any(|t| {
            lineage(ctx, p, t).contains(&s)
                && toolchain_steps(ctx, p, t)
                    .iter()
                    .any(|r| !r.tool.cross_aware && r.tool.role.targets_platform())
        });
        if plan.tools == 0 || descendants_compile {
            return Ok(None);
        }
    }

    let mut edits = Vec::new();
    let newline = if ctx.df.source.text().contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let lower = from.keyword.chars().all(|c| c.is_ascii_lowercase());
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
    if let Some(split) = &split {
        edits.extend(split.from_edits.iter().cloned());
    }
    // ARG for the platform values the new text uses, unless already declared before
    // the first edited command.
    let first_cmd = steps.first().map_or(0, |r| r.command);
    let declared: BTreeSet<&str> = ev
        .scopes
        .get(first_cmd.min(plan.setup_before.unwrap_or(usize::MAX)))
        .map(|sc| sc.args.keys().map(String::as_str).collect())
        .unwrap_or_default();
    const ORDER: [&str; 6] = [
        "BUILDPLATFORM",
        "TARGETPLATFORM",
        "TARGETOS",
        "TARGETARCH",
        "TARGETVARIANT",
        "BUILDARCH",
    ];
    let missing: Vec<&str> = ORDER
        .iter()
        .copied()
        .filter(|a| plan.args.contains(a) && !declared.contains(a))
        .collect();
    if !missing.is_empty() {
        let keyword = if lower { "arg" } else { "ARG" };
        edits.push(Edit {
            span: from.span.end..from.span.end,
            text: format!("{newline}{keyword} {}", missing.join(" ")),
        });
    }
    // The set-up RUN, right before the first command that needs it.
    if let Some(c) = plan.setup_before {
        let inst = &ctx.df.instructions[stage.commands[c].instruction];
        let keyword = if lower { "run" } else { "RUN" };
        let text = plan
            .setup
            .render(&job, keyword, newline)
            .map_err(|e| job.decline(format!("internal error: {e}"), inst.span.clone()))?;
        edits.push(Edit {
            span: inst.span.start..inst.span.start,
            text: format!("{text}{newline}"),
        });
    }
    // The per-RUN preludes.
    for (pos, block, after) in plan.preludes.values() {
        let mut text = block
            .render(&job.targets, " ")
            .map_err(|e| job.decline(format!("internal error: {e}"), from.span.clone()))?;
        for cmd in after {
            text.push_str(" && ");
            text.push_str(cmd);
        }
        text.push_str(" && ");
        edits.push(Edit {
            span: *pos..*pos,
            text,
        });
    }
    edits.extend(plan.edits);
    if let Some(split) = split {
        edits.extend(split.tail_edits);
        plan.notes.extend(split.notes);
    }
    Ok(Some((edits, plan.notes)))
}

/// Runs a step only when the target platform is the build platform: what it runs
/// was built for the target.
fn gate(job: &Job<'_, '_>, step: &Step, plan: &mut StagePlan) {
    plan.args.insert("BUILDPLATFORM");
    plan.args.insert("TARGETPLATFORM");
    let _ = job;
    plan.insert(
        step.span.start,
        "if [ \"$TARGETPLATFORM\" = \"$BUILDPLATFORM\" ]; then ",
    );
    plan.insert(step.span.end, "; fi");
}

/// The toolchain steps of stage `s` that compile, configure or run what they built,
/// in order.
fn toolchain_steps<'c>(ctx: &'c Context<'_>, p: usize, s: usize) -> Vec<StepRef<'c>> {
    ctx.views[p][s]
        .runs
        .iter()
        .flat_map(|r| {
            r.analysis
                .toolchain_steps()
                .filter(|(_, t)| compiles(t.role))
                .map(move |(step, tool)| StepRef {
                    command: r.command,
                    instruction: r.instruction,
                    step,
                    tool,
                })
        })
        .collect()
}

/// Stage `s` and the stages it is built FROM, the root first.
fn lineage(ctx: &Context<'_>, p: usize, s: usize) -> Vec<usize> {
    let mut chain = vec![s];
    let mut i = s;
    while let Base::Stage(b) = ctx.eval_stage(p, i).base {
        if b >= i || chain.contains(&b) {
            break;
        }
        chain.push(b);
        i = b;
    }
    chain.reverse();
    chain
}

/// The distribution of a stage: from the package managers its RUNs use, else from
/// its base image's name.
fn distro(ctx: &Context<'_>, p: usize, s: usize) -> Distro {
    let chain = lineage(ctx, p, s);
    for &i in &chain {
        for run in &ctx.views[p][i].runs {
            for st in &run.analysis.steps {
                if let StepKind::Packages(pk) = &st.kind {
                    match pk.manager.as_str() {
                        "apt-get" | "apt" | "aptitude" => return Distro::Debian,
                        "apk" => return Distro::Alpine,
                        _ => {}
                    }
                }
            }
        }
    }
    let Some(Base::Image(image)) = chain.first().map(|&r| &ctx.eval_stage(p, r).base) else {
        return Distro::Unknown;
    };
    image_distro(image)
}

/// The distribution of a base image, from its name: the Debian-based official
/// language images (`golang`, `rust`, `gcc`, `buildpack-deps`) unless tagged Alpine.
fn image_distro(image: &str) -> Distro {
    let image = image.to_ascii_lowercase();
    let (path, tag) = match image.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p, t),
        _ => (image.as_str(), ""),
    };
    let repo = path.rsplit('/').next().unwrap_or(path);
    if repo == "alpine" || tag.contains("alpine") {
        return Distro::Alpine;
    }
    if matches!(
        repo,
        "debian" | "ubuntu" | "golang" | "rust" | "gcc" | "buildpack-deps"
    ) {
        return Distro::Debian;
    }
    Distro::Unknown
}

/// The packages the stage (and the stages it is built FROM) installs.
fn installed_packages(ctx: &Context<'_>, p: usize, s: usize) -> Vec<crate::analysis::Package> {
    let mut out = Vec::new();
    for i in lineage(ctx, p, s) {
        for run in &ctx.views[p][i].runs {
            for st in &run.analysis.steps {
                if let StepKind::Packages(pk) = &st.kind {
                    out.extend(pk.packages.iter().cloned());
                }
            }
        }
    }
    out
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
mod tests;
