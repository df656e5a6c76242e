//! CD111–CD114: a stage that runs on the build platform (or a constant platform)
//! compiles without the target settings, or hard-codes an architecture, and what it
//! produces ends up in the images of the other platforms: the `linux/arm64` image then
//! holds `linux/amd64` binaries. BuildKit reports nothing; the container fails with
//! `exec format error` when it starts.
//!
//! Everything is decided once per stage (for the first platform concerned) and each
//! offending step is reported once, naming every platform whose image is affected.
//!
//! What the analysis of a RUN does not keep, the shell context of each command, is
//! recomputed here: a literal `GOARCH=amd64` inside a `case "$TARGETARCH"` branch (or
//! after `[ "$TARGETARCH" = amd64 ] &&`) is one branch of a per-target choice, not a
//! hard-coded architecture.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::rc::Rc;

use crossbuild::{Platform, Role};

use crate::analysis::{Step, StepKind, ToolchainStep};
use crate::eval::{Base, PlatformSource};
use crate::instructions::{CommandKind, ExecOrShell, RunCommand};
use crate::lint::{Category, Context, Finding, Rule, Severity};
use crate::shell::{split_commands, Construct};
use crate::syntax::Instruction;

/// Go built on the build platform without the target's GOOS/GOARCH.
pub static CD111: Rule = Rule {
    id: "CD111",
    name: "go-build-without-target-arch",
    category: Category::WrongArchitecture,
    default_severity: Severity::Error,
    summary: "A build-platform stage runs go build/install without GOOS/GOARCH from the TARGET args: the images get the build machine's binaries",
    doc: include_str!("../../../../docs/rules/CD111.md"),
    check: check_cd111,
};

/// Cargo building on the build platform without `--target`.
pub static CD112: Rule = Rule {
    id: "CD112",
    name: "cargo-build-without-target",
    category: Category::WrongArchitecture,
    default_severity: Severity::Error,
    summary: "A build-platform stage runs cargo build/install without --target: the images get the build machine's binaries",
    doc: include_str!("../../../../docs/rules/CD112.md"),
    check: check_cd112,
};

/// A host C compiler used on the build platform.
pub static CD113: Rule = Rule {
    id: "CD113",
    name: "c-build-with-host-compiler",
    category: Category::WrongArchitecture,
    default_severity: Severity::Error,
    summary: "A build-platform stage compiles C/C++ with the host compiler: the images get the build machine's binaries",
    doc: include_str!("../../../../docs/rules/CD113.md"),
    check: check_cd113,
};

/// A hard-coded architecture shipped to every platform.
pub static CD114: Rule = Rule {
    id: "CD114",
    name: "hard-coded-architecture",
    category: Category::WrongArchitecture,
    default_severity: Severity::Warning,
    summary: "A hard-coded architecture (GOARCH=amd64, --target x86_64-..., CC=..., constant --platform) ends up in every platform's image",
    doc: include_str!("../../../../docs/rules/CD114.md"),
    check: check_cd114,
};

// ---------------------------------------------------------------------------------
// Which platforms a stage affects.

/// The platforms (indexes) whose image gets what stage `s` compiles for its own
/// platform: `s` runs off the target (build or constant platform), is needed, its
/// output reaches a target-platform stage, and its binaries do not run on the target.
fn wrong_arch_platforms(st: &Stages<'_, '_>, s: usize) -> Vec<usize> {
    let ctx = st.ctx;
    if !ctx.runs_off_target(s) {
        return Vec::new();
    }
    (0..ctx.platforms.len())
        .filter(|&p| {
            ctx.needed(p, s)
                && ships(st, p, s)
                && !ctx
                    .eval_stage(p, s)
                    .platform
                    .runs_natively_on(&ctx.platforms[p])
        })
        .collect()
}

/// The platforms (indexes) whose image gets what stage `s` produces, whatever it
/// runs on: it is needed and either runs on the target platform or feeds a stage
/// that does.
fn shipping_platforms(st: &Stages<'_, '_>, s: usize) -> Vec<usize> {
    let ctx = st.ctx;
    let off_target = ctx.runs_off_target(s);
    (0..ctx.platforms.len())
        .filter(|&p| ctx.needed(p, s) && (!off_target || ships(st, p, s)))
        .collect()
}

/// Whether what stage `s` produces reaches a target-platform stage needed for
/// platform `p` ([`Context::reaches_target_stage`]), leaving out the stages that take
/// only build tools or headers from `s` for their own cross build.
fn ships(st: &Stages<'_, '_>, p: usize, s: usize) -> bool {
    let ctx = st.ctx;
    ctx.consumers(p, s).into_iter().any(|c| {
        if !ctx.runs_off_target(c) {
            ctx.needed(p, c)
        } else {
            !takes_only_tools(st, p, s, c) && ctx.reaches_target_stage(p, c)
        }
    })
}

/// Directories where a build stage puts what it runs or compiles against.
const TOOL_DIRS: &[&str] = &[
    "/usr/local/bin",
    "/usr/bin",
    "/bin",
    "/go/bin",
    "/usr/local/go/bin",
    "/usr/local/cargo/bin",
    "/usr/local/include",
    "/usr/include",
];

/// Whether off-target stage `c` takes from stage `s` only what it uses to build:
/// programs it runs, or (when `c` cross-compiles) files put on the PATH or include
/// path; `RUN --mount=from=s` leaves nothing in `c`. A stage built `FROM s` takes
/// everything.
fn takes_only_tools(st: &Stages<'_, '_>, p: usize, s: usize, c: usize) -> bool {
    let ctx = st.ctx;
    if base_chain(ctx, p, c).contains(&s) {
        return false;
    }
    let cross = st.steps(p, c).iter().any(|i| {
        i.tool.role.targets_platform()
            && (i.tool.cross_aware
                || (C_TOOLCHAINS.contains(&i.tool.toolchain.as_str()) && c_cross(i)))
    });
    let programs: Vec<String> = all_words(ctx, p, c)
        .iter()
        .filter_map(|w| w.first().cloned())
        .collect();
    ctx.program.stages[c].commands.iter().all(|cmd| {
        let CommandKind::Copy(copy) = &cmd.kind else {
            return true;
        };
        if copy.from.as_ref().and_then(|f| stage_ref(ctx, &f.value)) != Some(s) {
            return true;
        }
        let dest = copy.dest.trim_end_matches('/');
        let dest_is_tool_dir = TOOL_DIRS.contains(&dest);
        let in_tool_dir = TOOL_DIRS
            .iter()
            .any(|d| dest == *d || dest.strip_prefix(d).is_some_and(|r| r.starts_with('/')));
        let file_in_tool_dir = dest
            .rsplit_once('/')
            .is_some_and(|(d, _)| TOOL_DIRS.contains(&d));
        let runs_it = programs.iter().any(|prog| {
            prog == dest
                || (file_in_tool_dir && !prog.contains('/') && prog == basename(dest))
                || copy.sources.iter().any(|src| {
                    let name = basename(src.trim_end_matches('/'));
                    !name.is_empty()
                        && (*prog == format!("{dest}/{name}")
                            || (dest_is_tool_dir && !prog.contains('/') && prog == name))
                })
        });
        runs_it || (cross && in_tool_dir)
    })
}

/// Stage `s` and the stages it is built `FROM`, innermost first, for platform `p`.
fn base_chain(ctx: &Context<'_>, p: usize, s: usize) -> Vec<usize> {
    let mut chain = vec![s];
    let mut i = s;
    while let Base::Stage(b) = ctx.eval_stage(p, i).base {
        // Evaluation only lets a stage build FROM an earlier one; guard anyway.
        if b >= i || chain.contains(&b) {
            break;
        }
        chain.push(b);
        i = b;
    }
    chain
}

/// How a stage's platform is described in messages (`the build platform
/// linux/amd64`, `the constant platform linux/amd64`).
fn platform_phrase(ctx: &Context<'_>, p: usize, s: usize) -> String {
    let chain = base_chain(ctx, p, s);
    let root = chain.last().copied().unwrap_or(s);
    let platform = &ctx.eval_stage(p, s).platform;
    match ctx.eval_stage(p, root).platform_source {
        PlatformSource::Build => format!("the build platform {platform}"),
        PlatformSource::Constant => format!("the constant platform {platform}"),
        _ => platform.to_string(),
    }
}

/// `the linux/arm64 image gets` / `the linux/arm64, linux/arm/v7 images get`.
fn images_get(ctx: &Context<'_>, ps: &[usize]) -> String {
    if ps.len() == 1 {
        format!("the {} image gets", ctx.platform_names(ps))
    } else {
        format!("the {} images get", ctx.platform_names(ps))
    }
}

// ---------------------------------------------------------------------------------
// The shell around each command.

/// A variable set in a RUN script: `export NAME=value`, a bare `NAME=value` line, or
/// a `NAME=value` prefix of the command itself.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ShellAssign {
    name: String,
    value: String,
    /// Set inside a branch chosen by the target platform.
    conditional: bool,
}

/// One command of a RUN, as the analysis counts them, with its shell context.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ShellCommand {
    words: Vec<String>,
    /// Runs only in a branch chosen by the target platform (`case "$TARGETARCH"`,
    /// `if [ "$TARGETARCH" = ... ]`, `[ ... ] &&`).
    conditional: bool,
    /// Variables in effect from the script, in the order they were set.
    assigned: Vec<ShellAssign>,
}

const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh", "ksh"];

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// Quotes a word for a shell (exec-form arguments joined into one command line).
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The scripts a RUN hands to a shell, in the order the analysis reads them.
fn run_scripts(inst: &Instruction, run: &RunCommand) -> Vec<String> {
    let mut out = Vec::new();
    match &run.command {
        ExecOrShell::Shell(text) => {
            out.push(text.clone());
            let feeds_shell = match text.split_whitespace().next() {
                Some(w) if w.contains("<<") => true,
                Some(w) => SHELLS.contains(&basename(w)),
                None => false,
            };
            if feeds_shell {
                for (doc, _) in run.heredocs.iter().zip(&inst.heredocs) {
                    let shebang = doc.1.lines().next().unwrap_or("");
                    let shell_script = !shebang.starts_with("#!")
                        || SHELLS
                            .iter()
                            .any(|s| shebang.ends_with(s) || shebang.contains(&format!("/{s} ")));
                    if shell_script {
                        out.push(doc.1.clone());
                    }
                }
            }
        }
        ExecOrShell::Exec(args) => {
            if let [sh, flag, script, ..] = args.as_slice() {
                if SHELLS.contains(&basename(sh)) && flag.starts_with('-') && flag.contains('c') {
                    out.push(script.clone());
                    return out;
                }
            }
            let quoted: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
            out.push(quoted.join(" "));
        }
    }
    out
}

/// Whether a name is one of the target platform ARGs.
fn is_target_arg(name: &str) -> bool {
    name.starts_with("TARGET") && name != "TARGETSTAGE"
}

/// The variable names a text expands (`$NAME`, `${NAME...}`).
fn referenced_names(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let start = if bytes.get(i + 1) == Some(&b'{') {
                i + 2
            } else {
                i + 1
            };
            let mut end = start;
            while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
                end += 1;
            }
            if end > start {
                if let Some(name) = text.get(start..end) {
                    out.push(name);
                }
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// Whether a text depends on the target platform: it expands a TARGET* arg or a
/// variable derived from one, or asks `xx-info`.
fn mentions_target(text: &str, derived: &BTreeSet<String>) -> bool {
    text.contains("xx-info")
        || referenced_names(text)
            .into_iter()
            .any(|n| is_target_arg(n) || derived.contains(n))
}

/// A word of a script for finding `case`/`if` and their subjects.
#[derive(Debug)]
struct Token<'s> {
    text: &'s str,
    start: usize,
    end: usize,
    /// Where a command (or reserved word) may start.
    command_position: bool,
}

/// Splits a script into words, roughly as a shell reads them: quotes, `$(...)`,
/// `${...}` and backquotes stay inside a word; comments are skipped.
fn tokens(script: &str) -> Vec<Token<'_>> {
    let bytes = script.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut command_position = true;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'\\' if bytes.get(i + 1) == Some(&b'\n') => {
                i += 2;
                continue;
            }
            b'\n' | b';' | b'&' | b'|' | b'(' | b')' => {
                command_position = true;
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        let start = i;
        let mut depth = 0usize;
        while i < bytes.len() {
            let c = bytes[i];
            if depth == 0
                && matches!(
                    c,
                    b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b'(' | b')'
                )
            {
                break;
            }
            match c {
                b'\\' => i += 2,
                b'\'' => {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                }
                b'"' => {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' {
                        if bytes[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    i += 1;
                }
                b'`' => {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'`' {
                        i += 1;
                    }
                    i += 1;
                }
                b'$' if matches!(bytes.get(i + 1), Some(b'(') | Some(b'{')) => {
                    depth += 1;
                    i += 2;
                }
                b'(' | b'{' if depth > 0 => {
                    depth += 1;
                    i += 1;
                }
                b')' | b'}' if depth > 0 => {
                    depth -= 1;
                    i += 1;
                }
                _ => i += 1,
            }
        }
        let end = i.min(bytes.len());
        let text = script.get(start..end).unwrap_or("");
        out.push(Token {
            text,
            start,
            end,
            command_position,
        });
        // After a reserved word that opens a list, a command follows.
        command_position = matches!(
            text,
            "then" | "do" | "else" | "elif" | "if" | "while" | "until" | "!" | "{" | "}" | "time"
        ) || (command_position && text.contains('=') && !text.starts_with('='));
    }
    out
}

/// The parts of a script inside a `case` whose subject, or an `if` whose condition,
/// depends on the target platform.
fn target_branches(script: &str, derived: &BTreeSet<String>) -> Vec<Range<usize>> {
    #[derive(PartialEq)]
    enum Kind {
        Case,
        If,
    }
    struct Frame {
        kind: Kind,
        start: usize,
        relevant: bool,
        condition_start: usize,
    }
    let toks = tokens(script);
    let mut frames: Vec<Frame> = Vec::new();
    let mut out = Vec::new();
    let mut close = |frames: &mut Vec<Frame>, kind: Kind, end: usize| {
        while let Some(f) = frames.pop() {
            if f.relevant {
                out.push(f.start..end);
            }
            if f.kind == kind {
                break;
            }
        }
    };
    for (i, t) in toks.iter().enumerate() {
        if !t.command_position {
            continue;
        }
        match t.text {
            "case" => {
                let subject = toks.get(i + 1).map_or("", |n| n.text);
                frames.push(Frame {
                    kind: Kind::Case,
                    start: t.start,
                    relevant: mentions_target(subject, derived),
                    condition_start: t.end,
                });
            }
            "if" => frames.push(Frame {
                kind: Kind::If,
                start: t.start,
                relevant: false,
                condition_start: t.end,
            }),
            "elif" => {
                if let Some(f) = frames.iter_mut().rev().find(|f| f.kind == Kind::If) {
                    f.condition_start = t.end;
                }
            }
            "then" => {
                if let Some(f) = frames.iter_mut().rev().find(|f| f.kind == Kind::If) {
                    let condition = script.get(f.condition_start..t.start).unwrap_or("");
                    f.relevant |= mentions_target(condition, derived);
                }
            }
            "esac" if frames.iter().any(|f| f.kind == Kind::Case) => {
                close(&mut frames, Kind::Case, t.end)
            }
            "fi" if frames.iter().any(|f| f.kind == Kind::If) => {
                close(&mut frames, Kind::If, t.end)
            }
            _ => {}
        }
    }
    for f in frames.into_iter().rev() {
        if f.relevant {
            out.push(f.start..script.len());
        }
    }
    out
}

/// Whether the command starting at `start`, with `context`, runs only for some
/// target platforms.
fn is_conditional(
    script: &str,
    start: usize,
    context: &[Construct],
    branches: &[Range<usize>],
    derived: &BTreeSet<String>,
) -> bool {
    let in_branch = context
        .iter()
        .any(|c| matches!(c, Construct::Case | Construct::If))
        && branches.iter().any(|r| r.contains(&start));
    if in_branch {
        return true;
    }
    // `[ "$TARGETARCH" = arm64 ] && export GOARCH=arm64`
    if context
        .iter()
        .any(|c| matches!(c, Construct::AndRight | Construct::OrRight))
    {
        let before = script.get(..start).unwrap_or("");
        let segment_start = before.rfind([';', '\n']).map_or(0, |i| i + 1);
        let segment = before.get(segment_start..).unwrap_or("");
        return mentions_target(segment, derived);
    }
    false
}

/// The commands of a RUN as the analysis lists its steps (every command with a
/// program other than `export`), with their shell context. `derived` starts with the
/// variables of the stage that depend on the target and grows with the script's.
fn shell_commands(
    inst: &Instruction,
    run: &RunCommand,
    derived: &mut BTreeSet<String>,
) -> Vec<ShellCommand> {
    let mut out = Vec::new();
    for script in run_scripts(inst, run) {
        let commands = split_commands(&script);
        // Variables that depend on the target, anywhere in the script.
        for _ in 0..2 {
            for cmd in &commands {
                let words = cmd.program_words();
                let mut pairs: Vec<(&str, &str)> = cmd.env();
                if words.first() == Some(&"export") {
                    pairs.extend(words[1..].iter().filter_map(|w| w.split_once('=')));
                }
                for (name, value) in pairs {
                    if mentions_target(value, derived) {
                        derived.insert(name.to_string());
                    }
                }
            }
        }
        let mut branches = target_branches(&script, derived);
        // A variable set in a per-target branch (`amd64) prefix=x86_64-linux-gnu- ;;`)
        // depends on the target too.
        for _ in 0..2 {
            let before = derived.len();
            for cmd in &commands {
                if !is_conditional(&script, cmd.span.start, &cmd.context, &branches, derived) {
                    continue;
                }
                let words = cmd.program_words();
                let mut names: Vec<&str> = cmd.env().into_iter().map(|(k, _)| k).collect();
                if words.first() == Some(&"export") {
                    names.extend(
                        words[1..]
                            .iter()
                            .filter_map(|w| w.split_once('='))
                            .map(|(k, _)| k),
                    );
                }
                derived.extend(names.into_iter().map(str::to_string));
            }
            if derived.len() == before {
                break;
            }
            branches = target_branches(&script, derived);
        }
        let mut exported: Vec<ShellAssign> = Vec::new();
        for cmd in &commands {
            let conditional =
                is_conditional(&script, cmd.span.start, &cmd.context, &branches, derived);
            let words = cmd.program_words();
            let assign = |(k, v): (&str, &str)| ShellAssign {
                name: k.to_string(),
                value: v.to_string(),
                conditional,
            };
            if words.first() == Some(&"export") {
                exported.extend(
                    words[1..]
                        .iter()
                        .filter_map(|w| w.split_once('='))
                        .map(assign),
                );
                continue;
            }
            if words.is_empty() {
                exported.extend(cmd.env().into_iter().map(assign));
                continue;
            }
            let mut assigned = exported.clone();
            assigned.extend(cmd.env().into_iter().map(assign));
            out.push(ShellCommand {
                words: words.iter().map(|w| w.to_string()).collect(),
                conditional,
                assigned,
            });
        }
    }
    out
}

// ---------------------------------------------------------------------------------
// The toolchain steps of a stage, with what the rules need to know about them.

/// A variable's value where a step runs: as written in the Dockerfile or script.
#[derive(Debug, Clone, PartialEq, Eq)]
struct VarValue {
    value: String,
    /// Set in a branch chosen by the target platform.
    conditional: bool,
}

/// A toolchain step of a stage.
struct StepInfo<'c> {
    step: &'c Step,
    tool: &'c ToolchainStep,
    /// The step runs only for some target platforms (a `case "$TARGETARCH"` branch).
    conditional: bool,
    /// Variables set by the script, in order.
    assigned: Vec<ShellAssign>,
    /// ARGs and ENV in scope, as written (quotes removed).
    scope: BTreeMap<String, String>,
    /// Variables in scope that depend on the target platform.
    derived: BTreeSet<String>,
}

impl StepInfo<'_> {
    /// The value of `name` for this step: the script's last assignment, else the
    /// stage's ARG/ENV.
    fn var(&self, name: &str) -> Option<VarValue> {
        if let Some(a) = self.assigned.iter().rev().find(|a| a.name == name) {
            return Some(VarValue {
                value: a.value.clone(),
                conditional: a.conditional,
            });
        }
        self.scope.get(name).map(|v| VarValue {
            value: v.clone(),
            conditional: false,
        })
    }

    /// `NAME=value` words among the arguments (`make CC=gcc`).
    fn arg_assignment(&self, name: &str) -> Option<&str> {
        self.step
            .words
            .iter()
            .skip(1)
            .rev()
            .find_map(|w| w.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
    }

    /// The value of an option written `--opt value` or `--opt=value`.
    fn option(&self, names: &[&str]) -> Option<&str> {
        let words = &self.step.words;
        words.iter().enumerate().skip(1).find_map(|(i, w)| {
            names.iter().find_map(|n| {
                if w == n {
                    words.get(i + 1).map(String::as_str)
                } else {
                    w.strip_prefix(n).and_then(|r| r.strip_prefix('='))
                }
            })
        })
    }

    /// The `-o` output of the step.
    fn output(&self) -> Option<&str> {
        let words = &self.step.words;
        words.iter().enumerate().find_map(|(i, w)| {
            if w == "-o" {
                words.get(i + 1).map(String::as_str)
            } else {
                w.strip_prefix("-o=")
            }
        })
    }

    /// How the step is named in messages: the pattern's description (`cargo build`),
    /// or the subcommand as written when it differs (`cargo chef cook`).
    fn label(&self) -> String {
        let summary = &self.tool.summary;
        let words = &self.step.words;
        let Some(program) = words.first().map(|w| basename(w)) else {
            return summary.clone();
        };
        let mut parts = summary.split_whitespace();
        let (Some(first), Some(sub)) = (parts.next(), parts.next()) else {
            return summary.clone();
        };
        if first != program || words.get(1).is_some_and(|w| w == sub) {
            return summary.clone();
        }
        let positional: Vec<&str> = words[1..]
            .iter()
            .take_while(|w| !w.starts_with('-'))
            .filter(|w| !w.contains('='))
            .take(2)
            .map(String::as_str)
            .collect();
        if positional.is_empty() {
            summary.clone()
        } else {
            format!("{program} {}", positional.join(" "))
        }
    }

    fn builds(&self) -> bool {
        matches!(self.tool.role, Role::Compile | Role::Install)
    }
}

/// Strips one level of matching quotes from a raw Dockerfile value.
fn unquote(v: &str) -> String {
    let t = v.trim();
    for q in ['"', '\''] {
        if let Some(inner) = t.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    t.to_string()
}

/// The ARGs and the ENV of stage `s` before command `upto`, as written (quotes
/// removed): `(args, env)`. ENV comes along from the stages it is built FROM.
fn raw_scope(
    ctx: &Context<'_>,
    p: usize,
    s: usize,
    upto: usize,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut env = BTreeMap::new();
    let chain = base_chain(ctx, p, s);
    for &b in chain.iter().skip(1).rev() {
        for cmd in &ctx.program.stages[b].commands {
            if let CommandKind::Env(pairs) = &cmd.kind {
                for kv in pairs {
                    env.insert(kv.key.clone(), unquote(&kv.value));
                }
            }
        }
    }
    let mut args = BTreeMap::new();
    let stage = &ctx.program.stages[s];
    for cmd in stage.commands.iter().take(upto) {
        match &cmd.kind {
            CommandKind::Arg(arg) => {
                for decl in &arg.args {
                    let meta = || {
                        ctx.program
                            .meta_args
                            .iter()
                            .flat_map(|m| &m.args)
                            .rev()
                            .find(|m| m.name == decl.name)
                            .and_then(|m| m.default.clone())
                    };
                    let value = match &decl.default {
                        Some(d) => unquote(d),
                        // The global value: an automatic ARG or a meta ARG's default.
                        None => meta()
                            .map(|d| unquote(&d))
                            .unwrap_or_else(|| format!("${{{}}}", decl.name)),
                    };
                    args.insert(decl.name.clone(), value);
                }
            }
            CommandKind::Env(pairs) => {
                for kv in pairs {
                    env.insert(kv.key.clone(), unquote(&kv.value));
                }
            }
            _ => {}
        }
    }
    (args, env)
}

/// The toolchain steps of stage `s` as analysed for platform `p`.
fn stage_steps<'c>(ctx: &'c Context<'_>, p: usize, s: usize) -> Vec<StepInfo<'c>> {
    let mut out = Vec::new();
    let stage = &ctx.program.stages[s];
    let ev = ctx.eval_stage(p, s);
    for run in &ctx.views[p][s].runs {
        let Some(CommandKind::Run(rc)) = stage.commands.get(run.command).map(|c| &c.kind) else {
            continue;
        };
        let inst = ctx.instruction(run.instruction);
        // Only what is really in scope (an ARG without a value is not).
        let in_scope = ev
            .scopes
            .get(run.command)
            .map(|sc| sc.vars())
            .unwrap_or_default();
        let (mut scope, env) = raw_scope(ctx, p, s, run.command);
        // An ARG without a value is not set. ENV always is, also when inherited from
        // the last instruction of a base stage (which the evaluated scope can miss).
        scope.retain(|k, _| in_scope.contains_key(k));
        scope.extend(env);
        let mut derived = BTreeSet::new();
        for _ in 0..2 {
            for (k, v) in &scope {
                if is_target_arg(k) || mentions_target(v, &derived) {
                    derived.insert(k.clone());
                }
            }
        }
        let mut shell_derived = derived.clone();
        let shells = shell_commands(inst, rc, &mut shell_derived);
        let steps = &run.analysis.steps;
        let paired = shells.len() == steps.len()
            && shells.iter().zip(steps).all(|(c, st)| c.words == st.words);
        for (i, step) in steps.iter().enumerate() {
            let StepKind::Toolchain(tool) = &step.kind else {
                continue;
            };
            let (conditional, assigned) = match shells.get(i).filter(|_| paired) {
                Some(c) => (c.conditional, c.assigned.clone()),
                None => (
                    false,
                    step.env
                        .iter()
                        .map(|(k, v)| ShellAssign {
                            name: k.clone(),
                            value: v.clone(),
                            conditional: false,
                        })
                        .collect(),
                ),
            };
            out.push(StepInfo {
                step,
                tool,
                conditional,
                assigned,
                scope: scope.clone(),
                derived: shell_derived.clone(),
            });
        }
    }
    out
}

/// Toolchain steps by (platform, stage).
type StepMap<'c> = BTreeMap<(usize, usize), Rc<Vec<StepInfo<'c>>>>;

/// The toolchain steps of every stage, computed once per platform and stage for one
/// check.
struct Stages<'c, 'a> {
    ctx: &'c Context<'a>,
    cache: RefCell<StepMap<'c>>,
}

impl<'c, 'a> Stages<'c, 'a> {
    fn new(ctx: &'c Context<'a>) -> Self {
        Stages {
            ctx,
            cache: RefCell::new(BTreeMap::new()),
        }
    }

    /// [`stage_steps`] of stage `s` for platform `p`.
    fn steps(&self, p: usize, s: usize) -> Rc<Vec<StepInfo<'c>>> {
        if let Some(v) = self.cache.borrow().get(&(p, s)) {
            return Rc::clone(v);
        }
        let v = Rc::new(stage_steps(self.ctx, p, s));
        self.cache.borrow_mut().insert((p, s), Rc::clone(&v));
        v
    }
}

/// Every step's words in stage `s` (all kinds), in order.
fn all_words<'c>(ctx: &'c Context<'_>, p: usize, s: usize) -> Vec<&'c [String]> {
    ctx.views[p][s]
        .runs
        .iter()
        .flat_map(|r| r.analysis.steps.iter().map(|st| st.words.as_slice()))
        .collect()
}

/// Whether the program a step wrote (`-o out`) is run later in the stage, which
/// makes it a build tool for the build machine, not something shipped.
fn output_run_later(info: &StepInfo<'_>, later: &[&[String]]) -> bool {
    let Some(out) = info.output() else {
        return false;
    };
    let out_rel = out.trim_start_matches("./");
    let out_dir = out.rsplit_once('/').map_or("", |(d, _)| d);
    later.iter().any(|words| {
        let Some(program) = words.first() else {
            return false;
        };
        program == out
            || program.trim_start_matches("./") == out_rel
            || (!program.contains('/')
                && basename(out) == program
                && matches!(
                    out_dir,
                    "/usr/local/bin" | "/usr/bin" | "/bin" | "/go/bin" | "/usr/local/go/bin"
                ))
    })
}

/// The words of the steps after `info` in the stage.
fn words_after<'c>(all: &[&'c [String]], info: &StepInfo<'_>) -> Vec<&'c [String]> {
    match all
        .iter()
        .position(|w| std::ptr::eq(w.as_ptr(), info.step.words.as_ptr()))
    {
        Some(i) => all[i + 1..].to_vec(),
        None => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------
// CD111 Go.

fn check_cd111(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let st = &Stages::new(ctx);
    for stage in &ctx.program.stages {
        let s = stage.index;
        let affected = wrong_arch_platforms(st, s);
        let Some(&p) = affected.first() else {
            continue;
        };
        // `xx-go --wrap` (here or in a stage this one builds FROM) makes `go` cross.
        let chain = base_chain(ctx, p, s);
        let wrapped = chain.iter().any(|&c| {
            all_words(ctx, p, c).iter().any(|w| {
                w.first().is_some_and(|prog| basename(prog) == "xx-go")
                    && w.iter().any(|a| a == "--wrap")
            })
        });
        if wrapped {
            continue;
        }
        let all = all_words(ctx, p, s);
        let ev = ctx.eval_stage(p, s);
        for info in st.steps(p, s).iter() {
            if info.tool.toolchain != "go" || !info.builds() || info.conditional {
                continue;
            }
            let helper = info
                .step
                .words
                .first()
                .is_some_and(|w| basename(w).starts_with("xx-"));
            // A GOARCH (from the target or literal, CD114) makes it a cross build.
            if helper || info.var("GOARCH").is_some() {
                continue;
            }
            let sets_goos = info.tool.cross_aware || info.var("GOOS").is_some();
            // Build tools: `go install tool@version`, or a program run later here.
            let remote_install = info.tool.role == Role::Install
                && info
                    .step
                    .words
                    .iter()
                    .skip(2)
                    .any(|w| !w.starts_with('-') && w.contains('@'));
            if remote_install || output_run_later(info, &words_after(&all, info)) {
                continue;
            }
            let what = if sets_goos {
                "sets GOOS but no GOARCH"
            } else {
                "has no GOOS/GOARCH from the TARGET args"
            };
            let message = format!(
                "`{}` in stage {} runs on {} and {what}: {} {} binaries",
                info.label(),
                ev.display_name(),
                platform_phrase(ctx, p, s),
                images_get(ctx, &affected),
                ev.platform
            );
            out.push(
                Finding::new(&CD111, info.step.span.clone(), message)
                    .stage(ev.display_name())
                    .help(go_help(ctx, p, s, &affected, info.tool.role)),
            );
        }
    }
}

/// Whether ARG `name` is declared in the stage's last scope.
fn declares(ctx: &Context<'_>, p: usize, s: usize, name: &str) -> bool {
    ctx.eval_stage(p, s)
        .scopes
        .last()
        .is_some_and(|sc| sc.args.contains_key(name))
}

fn go_help(ctx: &Context<'_>, p: usize, s: usize, affected: &[usize], role: Role) -> String {
    let arm = affected.iter().any(|&q| ctx.platforms[q].arch() == "arm");
    let mut env = "GOOS=$TARGETOS GOARCH=$TARGETARCH".to_string();
    let mut args = vec!["TARGETOS", "TARGETARCH"];
    if arm {
        env.push_str(" GOARM=${TARGETVARIANT#v}");
        args.push("TARGETVARIANT");
    }
    let missing: Vec<&str> = args
        .into_iter()
        .filter(|a| !declares(ctx, p, s, a))
        .collect();
    let mut help = format!("pass {env}");
    if !missing.is_empty() {
        help.push_str(&format!(
            " (declare `ARG {}` in the stage)",
            missing.join(" ")
        ));
    }
    help.push_str(", or run it through xx-go");
    if role == Role::Install {
        help.push_str(
            "; a cross `go install` writes to $GOPATH/bin/<os>_<arch>/, so `go build -o` is simpler",
        );
    }
    help
}

// ---------------------------------------------------------------------------------
// CD112 Cargo.

fn check_cd112(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let st = &Stages::new(ctx);
    for stage in &ctx.program.stages {
        let s = stage.index;
        let affected = wrong_arch_platforms(st, s);
        let Some(&p) = affected.first() else {
            continue;
        };
        let ev = ctx.eval_stage(p, s);
        for info in st.steps(p, s).iter() {
            if info.tool.toolchain != "rust"
                || !info.builds()
                || info.tool.cross_aware
                || info.conditional
            {
                continue;
            }
            // `cargo install cargo-chef`: a tool for the build machine.
            let tool_install = info.tool.role == Role::Install
                && !info
                    .step
                    .words
                    .iter()
                    .any(|w| w == "--path" || w.starts_with("--path="));
            if tool_install {
                continue;
            }
            let message = format!(
                "`{}` in stage {} runs on {} without --target: {} {} binaries",
                info.label(),
                ev.display_name(),
                platform_phrase(ctx, p, s),
                images_get(ctx, &affected),
                ev.platform
            );
            let triples: Vec<String> = affected
                .iter()
                .filter_map(|&q| {
                    let t = ctx.platforms[q].target().ok()?;
                    Some(format!("{} for {}", t.rust_triple(), ctx.platforms[q]))
                })
                .collect();
            let mut help = String::from("pass --target");
            if !triples.is_empty() {
                help.push_str(&format!(" ({})", triples.join(", ")));
            }
            help.push_str(
                ", chosen from $TARGETPLATFORM (declare `ARG TARGETPLATFORM`), after `rustup target add` and with a cross linker; or use `xx-cargo`",
            );
            out.push(
                Finding::new(&CD112, info.step.span.clone(), message)
                    .stage(ev.display_name())
                    .help(help),
            );
        }
    }
}

// ---------------------------------------------------------------------------------
// CD113 C and C++.

const C_TOOLCHAINS: &[&str] = &["c", "cmake", "autotools", "meson"];

/// What a C-family step is, for following configure steps through the builds after
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CStep {
    /// `./configure`, `cmake -B`, `meson setup`: decides the compiler.
    Configure,
    /// `make`, `make install`: builds with CC, which a configure step may have set.
    Make,
    /// `cmake --build`, `ninja`, `meson compile`: builds what was configured.
    FollowConfigured,
    /// `gcc`, `cc`, `clang`: compiles directly.
    Compiler,
    /// Tests, checks, generators: nothing shipped.
    Other,
}

fn c_step(info: &StepInfo<'_>) -> CStep {
    if !C_TOOLCHAINS.contains(&info.tool.toolchain.as_str()) {
        return CStep::Other;
    }
    match info.tool.role {
        Role::Configure => CStep::Configure,
        Role::Compile | Role::Install => {
            if info.tool.toolchain == "c" {
                if info.tool.summary.starts_with("make") {
                    CStep::Make
                } else {
                    CStep::Compiler
                }
            } else {
                CStep::FollowConfigured
            }
        }
        _ => CStep::Other,
    }
}

/// Whether a compiler value (`CC=...`) names a cross compiler or is chosen per
/// target.
fn cross_compiler_value(v: &str, derived: &BTreeSet<String>) -> bool {
    mentions_target(v, derived)
        || v.contains("xx-")
        || v.split_whitespace().any(|w| {
            w.starts_with("--target=") || triple_arch(strip_tool_suffix(basename(w))).is_some()
        })
}

/// Whether a C-family step cross-compiles: the analysis says so, or its compiler is
/// chosen from the target (`CC=$(xx-info)-gcc`, `-DCMAKE_C_COMPILER=...`).
fn c_cross(info: &StepInfo<'_>) -> bool {
    if info.tool.cross_aware {
        return true;
    }
    let derived = &info.derived;
    // Kernel-style Makefiles: `make CROSS_COMPILE=aarch64-linux-gnu-`.
    let cross_compile = info
        .arg_assignment("CROSS_COMPILE")
        .map(str::to_string)
        .or_else(|| info.var("CROSS_COMPILE").map(|v| v.value));
    if cross_compile.is_some_and(|v| !v.trim_matches(['"', '\'']).is_empty()) {
        return true;
    }
    // `make GOARCH=$TARGETARCH`, `make ARCH=$TARGETARCH`: the target is handed to the
    // Makefile.
    if c_step(info) == CStep::Make
        && info.step.words.iter().skip(1).any(|w| {
            w.split_once('=')
                .is_some_and(|(k, v)| !k.starts_with('-') && mentions_target(v, derived))
        })
    {
        return true;
    }
    for name in ["CC", "CXX"] {
        if let Some(v) = info.arg_assignment(name) {
            if cross_compiler_value(v, derived) {
                return true;
            }
        }
        if let Some(v) = info.var(name) {
            if cross_compiler_value(&v.value, derived) {
                return true;
            }
        }
    }
    info.step.words.iter().any(|w| {
        ["-DCMAKE_C_COMPILER=", "-DCMAKE_CXX_COMPILER="]
            .iter()
            .any(|p| {
                w.strip_prefix(p)
                    .is_some_and(|v| cross_compiler_value(v, derived))
            })
    })
}

/// Packages that show a stage compiles C or C++.
fn c_package(name: &str) -> bool {
    matches!(
        name,
        "gcc"
            | "g++"
            | "cc"
            | "clang"
            | "build-essential"
            | "build-base"
            | "musl-dev"
            | "libc6-dev"
            | "libc-dev"
            | "gcc-c++"
            | "glibc-devel"
            | "cmake"
            | "autoconf"
            | "automake"
            | "libtool"
            | "meson"
    ) || ["gcc-", "g++-", "clang-", "crossbuild-essential"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Whether stage `s` (or a stage it is built FROM) is set up to compile C: it installs
/// a C compiler or build tools, or starts from a compiler image (`gcc`,
/// `buildpack-deps`). A plain `make` elsewhere may run anything (Sphinx, `go build`).
fn c_intent(ctx: &Context<'_>, p: usize, s: usize) -> bool {
    let chain = base_chain(ctx, p, s);
    let image = chain
        .last()
        .map(|&r| &ctx.eval_stage(p, r).base)
        .and_then(|b| match b {
            Base::Image(name) => Some(name.to_ascii_lowercase()),
            _ => None,
        })
        .unwrap_or_default();
    let image_name = image.rsplit('/').next().unwrap_or("");
    if image_name.starts_with("gcc") || image_name.starts_with("buildpack-deps") {
        return true;
    }
    chain.iter().any(|&c| {
        ctx.views[p][c].runs.iter().any(|r| {
            r.analysis.steps.iter().any(|st| match &st.kind {
                StepKind::Packages(install) => {
                    install.packages.iter().any(|pk| c_package(&pk.name))
                }
                StepKind::Toolchain(t) => {
                    C_TOOLCHAINS.contains(&t.toolchain.as_str()) && !t.summary.starts_with("make")
                }
                _ => false,
            })
        })
    })
}

/// Whether a `make` only runs targets that compile nothing (`defconfig`, `html`,
/// `clean`, ...).
fn builds_nothing(info: &StepInfo<'_>) -> bool {
    let words = &info.step.words;
    let mut targets = Vec::new();
    let mut i = 1;
    while let Some(w) = words.get(i) {
        if matches!(
            w.as_str(),
            "-C" | "-f" | "-o" | "-W" | "-I" | "--directory" | "--file"
        ) {
            i += 2;
            continue;
        }
        if !w.starts_with('-') && !w.contains('=') {
            targets.push(w.as_str());
        }
        i += 1;
    }
    !targets.is_empty()
        && targets.iter().all(|t| {
            t.ends_with("config")
                || matches!(
                    *t,
                    "html"
                        | "docs"
                        | "doc"
                        | "man"
                        | "info"
                        | "pdf"
                        | "latexpdf"
                        | "clean"
                        | "distclean"
                        | "mrproper"
                        | "dist"
                        | "fmt"
                        | "format"
                        | "lint"
                        | "generate"
                        | "deps"
                        | "download"
                        | "vendor"
                        | "help"
                        | "version"
                        | "headers_install"
                )
        })
}

/// The configure state after stage `s` (and what it is built FROM): `Some(cross)`
/// once a configure step (or a build that chose its compiler) ran.
fn c_state_after(st: &Stages<'_, '_>, p: usize, s: usize) -> Option<bool> {
    let ctx = st.ctx;
    let mut state = None;
    for &c in base_chain(ctx, p, s).iter().rev() {
        for info in st.steps(p, c).iter() {
            let cross = c_cross(info);
            match c_step(info) {
                CStep::Configure => state = Some(cross),
                CStep::Make | CStep::FollowConfigured if cross => state = Some(true),
                CStep::Make if state.is_none() => state = Some(false),
                _ => {}
            }
        }
    }
    state
}

/// Whether stage `s`, a stage it builds FROM or a stage built FROM it cross-compiles
/// C: a host compile next to that builds a tool for the build machine.
fn family_cross_compiles_c(st: &Stages<'_, '_>, p: usize, s: usize) -> bool {
    let ctx = st.ctx;
    let chain = base_chain(ctx, p, s);
    (0..ctx.program.stages.len())
        .filter(|&d| chain.contains(&d) || base_chain(ctx, p, d).contains(&s))
        .any(|d| {
            st.steps(p, d)
                .iter()
                .any(|i| c_step(i) != CStep::Other && c_cross(i))
        })
}

fn check_cd113(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let st = &Stages::new(ctx);
    for stage in &ctx.program.stages {
        let s = stage.index;
        let affected = wrong_arch_platforms(st, s);
        let Some(&p) = affected.first() else {
            continue;
        };
        let ev = ctx.eval_stage(p, s);
        let all = all_words(ctx, p, s);
        let mut state = match ctx.eval_stage(p, s).base {
            Base::Stage(b) if b < s => c_state_after(st, p, b),
            _ => None,
        };
        let family_cross = family_cross_compiles_c(st, p, s);
        let c_intent = c_intent(ctx, p, s);
        for info in st.steps(p, s).iter() {
            let kind = c_step(info);
            if kind == CStep::Other {
                continue;
            }
            let cross = c_cross(info);
            let flag = match kind {
                CStep::Configure => {
                    state = Some(cross);
                    !cross
                }
                CStep::Make => {
                    if !cross && (!c_intent || builds_nothing(info)) {
                        // `make html` in a Python image, `make defconfig`: no C here.
                        false
                    } else if cross {
                        state = Some(true);
                        false
                    } else if state.is_some() {
                        // Builds what a configure step set up (reported there).
                        false
                    } else {
                        state = Some(false);
                        true
                    }
                }
                CStep::FollowConfigured => {
                    if cross {
                        state = Some(true);
                    }
                    false
                }
                CStep::Compiler => {
                    !cross && !family_cross && !output_run_later(info, &words_after(&all, info))
                }
                CStep::Other => false,
            };
            if !flag || info.conditional {
                continue;
            }
            let message = format!(
                "`{}` in stage {} runs on {} with the host C compiler: {} {} binaries",
                info.label(),
                ev.display_name(),
                platform_phrase(ctx, p, s),
                images_get(ctx, &affected),
                ev.platform
            );
            out.push(
                Finding::new(&CD113, info.step.span.clone(), message)
                    .stage(ev.display_name())
                    .help(c_help(ctx, &affected, info)),
            );
        }
    }
}

fn c_help(ctx: &Context<'_>, affected: &[usize], info: &StepInfo<'_>) -> String {
    let triples: Vec<(String, String)> = affected
        .iter()
        .filter_map(|&q| {
            let t = ctx.platforms[q].target().ok()?;
            Some((t.gnu_triple().to_string(), ctx.platforms[q].to_string()))
        })
        .collect();
    let list = |f: &dyn Fn(&str) -> String| -> String {
        triples
            .iter()
            .map(|(t, p)| format!("{} for {p}", f(t)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let with = |text: String| {
        if triples.is_empty() {
            String::new()
        } else {
            format!(" ({text})")
        }
    };
    match (info.tool.toolchain.as_str(), info.tool.role) {
        ("autotools", _) => format!(
            "pass --host{}, chosen from $TARGETARCH (e.g. --host=$(xx-clang --print-target-triple)), and install the target's cross compiler",
            with(list(&|t| format!("--host={t}")))
        ),
        ("cmake", _) => format!(
            "configure for the target: -DCMAKE_TOOLCHAIN_FILE, or -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=<cpu> with cross compilers{}, chosen from $TARGETARCH",
            with(list(&|t| format!("CC={t}-gcc")))
        ),
        ("meson", _) => "set up the build with --cross-file describing the target machine and its cross compilers, chosen from $TARGETARCH".to_string(),
        _ => format!(
            "use the target's cross compiler, chosen from $TARGETARCH{}, and install it; or CC=xx-clang with tonistiigi/xx",
            with(list(&|t| format!("CC={t}-gcc")))
        ),
    }
}

// ---------------------------------------------------------------------------------
// CD114 hard-coded architecture.

/// The Go architecture name (as in platforms) of a CPU name from a GNU/Rust triple,
/// a GOARCH value or `CMAKE_SYSTEM_PROCESSOR`.
fn cpu_arch(cpu: &str) -> Option<&'static str> {
    let c = cpu.to_ascii_lowercase();
    let arch = match c.as_str() {
        "x86_64" | "amd64" | "x86-64" | "x64" => "amd64",
        "aarch64" | "arm64" | "aarch64_be" => "arm64",
        "i386" | "i486" | "i586" | "i686" | "386" | "x86" => "386",
        "powerpc64le" | "ppc64le" => "ppc64le",
        "powerpc64" | "ppc64" => "ppc64",
        "s390x" => "s390x",
        "riscv64" | "riscv64gc" => "riscv64",
        "loongarch64" | "loong64" => "loong64",
        "mips64el" | "mips64le" => "mips64le",
        "mips64" => "mips64",
        "mipsel" | "mipsle" => "mipsle",
        "mips" => "mips",
        _ if c.starts_with("armv") || c == "arm" || c == "armhf" || c == "armel" => "arm",
        _ if c.starts_with("thumbv") => "arm",
        _ => return None,
    };
    Some(arch)
}

/// The architecture of a GNU or Rust triple (`x86_64-unknown-linux-gnu`,
/// `aarch64-linux-gnu`); `None` when the text is not shaped like one.
fn triple_arch(text: &str) -> Option<&'static str> {
    let parts: Vec<&str> = text.split('-').collect();
    let part_ok = |p: &&str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
    };
    if !(2..=4).contains(&parts.len()) || !parts.iter().all(part_ok) {
        return None;
    }
    cpu_arch(parts[0])
}

/// `aarch64-linux-gnu-gcc-12` → `aarch64-linux-gnu`: the triple prefix of a compiler.
fn strip_tool_suffix(program: &str) -> &str {
    let name = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    let name = name.strip_suffix('-').unwrap_or(name);
    for tool in ["gcc", "g++", "cc", "c++", "clang", "clang++", "ld", "ar"] {
        if let Some(prefix) = name.strip_suffix(tool).and_then(|p| p.strip_suffix('-')) {
            return prefix;
        }
    }
    program
}

/// A literal value: nothing expanded, nothing substituted.
fn is_literal(v: &str) -> bool {
    !v.is_empty() && !v.contains('$') && !v.contains('`')
}

/// One hard-coded choice of a step: how it is written, and which platforms it fits.
struct Literal {
    written: String,
    /// The architecture (Go name) or OS it selects.
    arch: Option<&'static str>,
    os: Option<String>,
}

impl Literal {
    fn fits(&self, platform: &Platform) -> bool {
        self.arch.is_none_or(|a| a == platform.arch())
            && self.os.as_deref().is_none_or(|o| o == platform.os())
    }
}

/// The literal architecture choices of a step that does not run in a per-target
/// branch.
fn literals(info: &StepInfo<'_>) -> Vec<Literal> {
    let mut out = Vec::new();
    if info.conditional || !info.builds() && info.tool.role != Role::Configure {
        return out;
    }
    let var = |name: &str| {
        info.var(name)
            .filter(|v| !v.conditional && is_literal(&v.value))
    };
    match info.tool.toolchain.as_str() {
        "go" if info.builds() => {
            if let Some(v) = var("GOARCH") {
                if let Some(arch) = cpu_arch(&v.value) {
                    out.push(Literal {
                        written: format!("GOARCH={}", v.value),
                        arch: Some(arch),
                        os: None,
                    });
                }
            }
            if let Some(v) = var("GOOS") {
                out.push(Literal {
                    written: format!("GOOS={}", v.value),
                    arch: None,
                    os: Some(v.value.to_ascii_lowercase()),
                });
            }
        }
        "rust" if info.builds() => {
            let target = info
                .option(&["--target"])
                .map(|t| (format!("--target {t}"), t.to_string()))
                .or_else(|| {
                    var("CARGO_BUILD_TARGET")
                        .map(|v| (format!("CARGO_BUILD_TARGET={}", v.value), v.value))
                });
            if let Some((written, t)) = target.filter(|(_, t)| is_literal(t)) {
                if let Some(arch) = triple_arch(&t) {
                    out.push(Literal {
                        written,
                        arch: Some(arch),
                        os: None,
                    });
                }
            }
        }
        t if C_TOOLCHAINS.contains(&t) => {
            let mut push = |written: String, value: &str, arch: Option<&'static str>| {
                if is_literal(value) {
                    if let Some(arch) = arch {
                        out.push(Literal {
                            written,
                            arch: Some(arch),
                            os: None,
                        });
                    }
                }
            };
            if let Some(program) = info.step.words.first() {
                let name = basename(program);
                let prefix = strip_tool_suffix(name);
                if prefix != name {
                    push(name.to_string(), name, triple_arch(prefix));
                }
            }
            for name in ["CC", "CXX"] {
                let value = info
                    .arg_assignment(name)
                    .map(str::to_string)
                    .or_else(|| var(name).map(|v| v.value));
                if let Some(v) = value {
                    let first = v.split_whitespace().next().unwrap_or("");
                    push(
                        format!("{name}={v}"),
                        &v,
                        triple_arch(strip_tool_suffix(basename(first))),
                    );
                }
            }
            let cross_compile = info
                .arg_assignment("CROSS_COMPILE")
                .map(str::to_string)
                .or_else(|| var("CROSS_COMPILE").map(|v| v.value));
            if let Some(v) = cross_compile {
                let prefix = v
                    .trim_matches(['"', '\''])
                    .trim_end_matches('-')
                    .to_string();
                push(format!("CROSS_COMPILE={v}"), &v, triple_arch(&prefix));
            }
            if let Some(h) = info.option(&["--host"]) {
                push(format!("--host={h}"), h, triple_arch(h));
            }
            if t == "c" {
                if let Some(v) = info.option(&["--target", "-target"]) {
                    push(format!("--target={v}"), v, triple_arch(v));
                }
            }
            for w in &info.step.words {
                for (key, processor) in [
                    ("-DCMAKE_C_COMPILER=", false),
                    ("-DCMAKE_CXX_COMPILER=", false),
                    ("-DCMAKE_C_COMPILER_TARGET=", false),
                    ("-DCMAKE_SYSTEM_PROCESSOR=", true),
                ] {
                    if let Some(v) = w.strip_prefix(key) {
                        let arch = if processor {
                            cpu_arch(v)
                        } else {
                            triple_arch(strip_tool_suffix(basename(v)))
                        };
                        push(w.clone(), v, arch);
                    }
                }
            }
        }
        _ => {}
    }
    out
}

fn check_cd114(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    check_literals(ctx, out);
    check_constant_platforms(ctx, out);
}

/// Literal GOARCH, `--target`, CC, ... in a stage whose output ships.
fn check_literals(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let st = &Stages::new(ctx);
    for stage in &ctx.program.stages {
        let s = stage.index;
        let shipping = shipping_platforms(st, s);
        let Some(&p) = shipping.first() else {
            continue;
        };
        let ev = ctx.eval_stage(p, s);
        for info in st.steps(p, s).iter() {
            let lits = literals(info);
            let wrong: Vec<&Literal> = lits
                .iter()
                .filter(|l| shipping.iter().any(|&q| !l.fits(&ctx.platforms[q])))
                .collect();
            if wrong.is_empty() {
                continue;
            }
            let platforms: Vec<usize> = shipping
                .iter()
                .copied()
                .filter(|&q| wrong.iter().any(|l| !l.fits(&ctx.platforms[q])))
                .collect();
            let written: Vec<String> = wrong.iter().map(|l| format!("`{}`", l.written)).collect();
            let built_for = match wrong.iter().find_map(|l| l.arch) {
                Some(a) => format!("{a} binaries"),
                None => "binaries for another system".to_string(),
            };
            let message = format!(
                "`{}` in stage {} hard-codes {}: {} {built_for}",
                info.label(),
                ev.display_name(),
                written.join(" and "),
                images_get(ctx, &platforms),
            );
            let help = match info.tool.toolchain.as_str() {
                "go" => "derive it from the target: GOOS=$TARGETOS GOARCH=$TARGETARCH (declare `ARG TARGETOS TARGETARCH`), or set the literal only inside a `case \"$TARGETARCH\"` branch".to_string(),
                "rust" => "choose the triple from $TARGETPLATFORM (a `case \"$TARGETPLATFORM\"` that sets it per platform), or use `xx-cargo`".to_string(),
                _ => "choose the cross compiler from $TARGETARCH (a `case \"$TARGETARCH\"` that sets it per platform), or use CC=xx-clang".to_string(),
            };
            out.push(
                Finding::new(&CD114, info.step.span.clone(), message)
                    .stage(ev.display_name())
                    .help(help),
            );
        }
    }
}

/// Whether a copied path holds programs or libraries (rather than certificates,
/// time zones, assets...).
fn looks_binary(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        // `COPY --from=x / /`: everything.
        return true;
    }
    let name = basename(path);
    name.ends_with(".so")
        || name.contains(".so.")
        || path.split('/').any(|c| {
            matches!(
                c,
                "bin" | "sbin" | "lib" | "lib64" | "libexec" | "lib32" | "usr/lib"
            )
        })
}

/// Finds a stage by `COPY --from` reference (name or index).
fn stage_ref(ctx: &Context<'_>, reference: &str) -> Option<usize> {
    let lower = reference.to_ascii_lowercase();
    ctx.program
        .stages
        .iter()
        .find(|s| s.name.as_deref() == Some(lower.as_str()))
        .map(|s| s.index)
        .or_else(|| {
            reference
                .parse::<usize>()
                .ok()
                .filter(|&i| i < ctx.program.stages.len())
        })
}

/// A constant `--platform` on a stage that is (or is the base of) the image, or
/// whose programs are copied into the image.
fn check_constant_platforms(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let st = &Stages::new(ctx);
    let n = ctx.program.stages.len();
    for stage in &ctx.program.stages {
        let r = stage.index;
        let Some(flag) = &stage.platform else {
            continue;
        };
        if ctx.evals.is_empty() || ctx.eval_stage(0, r).platform_source != PlatformSource::Constant
        {
            continue;
        }
        let mut image: Vec<usize> = Vec::new();
        let mut image_stage = None;
        let mut copied: Vec<usize> = Vec::new();
        let mut copy_example: Option<(String, String)> = None;
        for p in 0..ctx.platforms.len() {
            if !ctx.needed(p, r)
                || ctx
                    .eval_stage(p, r)
                    .platform
                    .runs_natively_on(&ctx.platforms[p])
            {
                continue;
            }
            let target = ctx.evals[p].target;
            if base_chain(ctx, p, target).contains(&r) {
                image.push(p);
                image_stage.get_or_insert(target);
                continue;
            }
            // Stages that carry r's files: r and the stages built FROM it, if none of
            // them compiles or adapts to the target (CD111–CD113 report compiles).
            let family: Vec<usize> = (0..n)
                .filter(|&d| base_chain(ctx, p, d).contains(&r))
                .collect();
            let adapts = family.iter().any(|&d| {
                declares_target_arg(ctx, p, d)
                    || st
                        .steps(p, d)
                        .iter()
                        .any(|i| i.tool.role.targets_platform())
            });
            if adapts {
                continue;
            }
            for t in 0..n {
                if !ctx.needed(p, t) || ctx.runs_off_target(t) {
                    continue;
                }
                for cmd in &ctx.program.stages[t].commands {
                    let CommandKind::Copy(copy) = &cmd.kind else {
                        continue;
                    };
                    let Some(from) = copy.from.as_ref().and_then(|f| stage_ref(ctx, &f.value))
                    else {
                        continue;
                    };
                    if !family.contains(&from) {
                        continue;
                    }
                    if let Some(src) = copy.sources.iter().find(|src| looks_binary(src)) {
                        if !copied.contains(&p) {
                            copied.push(p);
                        }
                        copy_example
                            .get_or_insert((ctx.eval_stage(p, t).display_name(), src.clone()));
                    }
                }
            }
        }
        let ev = ctx.eval_stage(0, r);
        let name = ev.display_name();
        let constant = &ev.platform;
        let finding = if let (Some(&p0), Some(t)) = (image.first(), image_stage) {
            let mut ps = image.clone();
            for p in copied {
                if !ps.contains(&p) {
                    ps.push(p);
                }
            }
            ps.sort_unstable();
            let target_name = ctx.eval_stage(p0, t).display_name();
            let what = if t == r {
                format!("stage {name} is the image and has the constant --platform={constant}")
            } else {
                format!(
                    "the image stage {target_name} builds FROM stage {name}, which has the constant --platform={constant}"
                )
            };
            Finding::new(
                &CD114,
                flag.span.clone(),
                format!("{what}: {} {constant} content", images_get(ctx, &ps)),
            )
            .help("remove --platform so the image follows the target platform; compile on $BUILDPLATFORM in an earlier stage and COPY the result")
        } else if let Some((into, src)) = copy_example {
            Finding::new(
                &CD114,
                flag.span.clone(),
                format!(
                    "stage {name} has the constant --platform={constant} and stage {into} copies `{src}` from it: {} {constant} binaries",
                    images_get(ctx, &copied)
                ),
            )
            .help("remove the constant --platform so the stage follows the target platform, or fetch or build the file for $TARGETARCH in a --platform=$BUILDPLATFORM stage")
        } else {
            continue;
        };
        out.push(finding.stage(name));
    }
}

/// Whether stage `s` declares a TARGET* ARG (it adapts to the target).
fn declares_target_arg(ctx: &Context<'_>, p: usize, s: usize) -> bool {
    ctx.eval_stage(p, s)
        .scopes
        .last()
        .is_some_and(|sc| sc.args.keys().any(|k| is_target_arg(k)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::{lint_source, LintOptions};
    use crate::source::SourceFile;

    /// The findings of `rule` for linux/amd64,linux/arm64 on an amd64 machine:
    /// (line, message).
    fn findings(rule: &str, text: &str) -> Vec<(usize, String)> {
        findings_for(rule, text, "linux/amd64,linux/arm64")
    }

    fn findings_for(rule: &str, text: &str, platforms: &str) -> Vec<(usize, String)> {
        let opts = LintOptions {
            platforms: crossbuild::parse_platform_list(platforms).unwrap(),
            build_platform: Platform::parse("linux/amd64").unwrap(),
            build_args: Default::default(),
            settings: Default::default(),
        };
        let (df, found) = lint_source(SourceFile::new("Dockerfile", text), &opts).unwrap();
        found
            .into_iter()
            .filter(|f| f.rule == rule)
            .map(|f| (df.source.location(f.span.start).line, f.message))
            .collect()
    }

    const GO_HEAD: &str =
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nARG TARGETOS TARGETARCH\n";
    const GO_TAIL: &str = "FROM scratch\nCOPY --from=build /out/app /app\n";

    fn go(run: &str) -> String {
        format!("{GO_HEAD}{run}\n{GO_TAIL}")
    }

    #[test]
    fn literal_goarch_in_a_target_case_is_not_hard_coded() {
        let text = go("RUN case \"$TARGETARCH\" in \\\n  amd64) GOARCH=amd64 go build -o /out/app . ;; \\\n  arm64) GOARCH=arm64 go build -o /out/app . ;; \\\n esac");
        assert_eq!(findings("CD114", &text), []);
        assert_eq!(findings("CD111", &text), []);
        let exported = go("RUN <<EOF\ncase \"${TARGETARCH}\" in\n  amd64) export GOARCH=amd64 ;;\n  arm64) export GOARCH=arm64 ;;\nesac\ngo build -o /out/app .\nEOF");
        assert_eq!(findings("CD114", &exported), []);
        assert_eq!(findings("CD111", &exported), []);
        let derived = go("RUN ARCH=$TARGETARCH; if [ \"$ARCH\" = arm64 ]; then export GOARCH=arm64; else export GOARCH=amd64; fi; go build -o /out/app .");
        assert_eq!(findings("CD114", &derived), []);
        let and = go("RUN [ \"$TARGETARCH\" = amd64 ] && GOARCH=amd64 go build -o /out/app . || GOARCH=arm64 go build -o /out/app .");
        assert_eq!(findings("CD114", &and), []);
    }

    #[test]
    fn literal_goarch_outside_a_branch_is_hard_coded_for_the_other_platforms() {
        let text = go("RUN GOOS=linux GOARCH=amd64 go build -o /out/app .");
        let f = findings("CD114", &text);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].0, 3);
        assert!(f[0].1.contains("`GOARCH=amd64`"), "{}", f[0].1);
        assert!(
            f[0].1.contains("the linux/arm64 image gets amd64"),
            "{}",
            f[0].1
        );
        // GOOS=linux fits every linux platform and is not reported.
        assert!(!f[0].1.contains("GOOS"), "{}", f[0].1);
        // Building for amd64 only, amd64 is right.
        assert_eq!(findings_for("CD114", &text, "linux/amd64"), []);
        // From ENV, a case on an unrelated variable does not help.
        let env =
            go("ENV GOARCH=arm64\nRUN case \"$FLAVOUR\" in *) go build -o /out/app . ;; esac");
        assert_eq!(findings("CD114", &env).len(), 1);
        assert_eq!(
            findings(
                "CD114",
                &go("ENV GOARCH=$TARGETARCH\nRUN go build -o /out/app .")
            ),
            []
        );
    }

    #[test]
    fn go_without_target_arch() {
        let f = findings("CD111", &go("RUN go build -o /out/app ."));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].1.contains("runs on the build platform linux/amd64"),
            "{}",
            f[0].1
        );
        assert!(
            f[0].1
                .contains("the linux/arm64 image gets linux/amd64 binaries"),
            "{}",
            f[0].1
        );
        // GOOS alone still builds for the build machine.
        let f = findings("CD111", &go("RUN GOOS=$TARGETOS go build -o /out/app ."));
        assert!(f[0].1.contains("sets GOOS but no GOARCH"), "{}", f[0].1);
        for fine in [
            "RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .",
            "RUN xx-go build -o /out/app .",
            "RUN xx-go --wrap\nRUN go build -o /out/app .",
            "RUN go install github.com/a/tool@v1.2.3 && GOARCH=$TARGETARCH go build -o /out/app .",
            "RUN go build -o /usr/local/bin/gen ./cmd/gen && gen > x.go && GOARCH=$TARGETARCH go build -o /out/app .",
        ] {
            assert_eq!(findings("CD111", &go(fine)), [], "{fine}");
        }
        // A build-platform stage whose output stays on the build side ships nothing.
        let unused = format!("{GO_HEAD}RUN go build -o /out/app .\nFROM alpine\nRUN true\n");
        assert_eq!(findings("CD111", &unused), []);
    }

    #[test]
    fn configure_then_make_is_one_finding_and_cross_configure_none() {
        let head = "FROM --platform=$BUILDPLATFORM debian AS build\nARG TARGETARCH\n";
        let tail = "FROM scratch\nCOPY --from=build /out /\n";
        let bad = format!("{head}RUN ./configure --prefix=/out && make && make install\n{tail}");
        let f = findings("CD113", &bad);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].1.starts_with("`./configure`"), "{}", f[0].1);
        let good = format!("{head}RUN ./configure --host=$(xx-clang --print-target-triple) --prefix=/out\nRUN make && make install\n{tail}");
        assert_eq!(findings("CD113", &good), []);
        let cc = format!("{head}RUN CC=\"$(xx-info)-gcc\" make\n{tail}");
        assert_eq!(findings("CD113", &cc), []);
        // A host tool next to a cross build.
        let tool = format!(
            "{head}RUN gcc -o gen gen.c && ./gen > t.h && make CC=aarch64-linux-gnu-gcc\n{tail}"
        );
        assert_eq!(findings("CD113", &tool), []);
    }

    #[test]
    fn make_without_c_or_with_the_target_handed_over() {
        let tail = "FROM scratch\nCOPY --from=build /out /\n";
        // Sphinx in a Python image: no C compiler anywhere.
        let docs =
            format!("FROM --platform=$BUILDPLATFORM python:3.12 AS build\nRUN make html\n{tail}");
        assert_eq!(findings("CD113", &docs), []);
        let head = "FROM --platform=$BUILDPLATFORM debian AS build\nARG TARGETARCH\nRUN apt-get install -y build-essential gcc-aarch64-linux-gnu\n";
        // The cross prefix is chosen in a target case and handed over.
        let kernel = format!("{head}RUN case \"$TARGETARCH\" in amd64) p=x86_64-linux-gnu- ;; arm64) p=aarch64-linux-gnu- ;; esac && make defconfig && make CROSS_COMPILE=\"$p\"\n{tail}");
        assert_eq!(findings("CD113", &kernel), []);
        assert_eq!(findings("CD114", &kernel), []);
        let go_make = format!("{head}RUN make build GOOS=$TARGETOS GOARCH=$TARGETARCH\n{tail}");
        assert_eq!(findings("CD113", &go_make), []);
        let literal = format!("{head}RUN make CROSS_COMPILE=aarch64-linux-gnu-\n{tail}");
        assert_eq!(findings("CD113", &literal), []);
        let f = findings("CD114", &literal);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].1.contains("the linux/amd64 image gets arm64"),
            "{}",
            f[0].1
        );
        // With a C toolchain installed, a plain make is the host compiler.
        assert_eq!(
            findings("CD113", &format!("{head}RUN make\n{tail}")).len(),
            1
        );
    }

    #[test]
    fn cargo_tools_are_not_shipped() {
        let text = "FROM --platform=$BUILDPLATFORM rust AS build\nRUN cargo install cargo-chef\nRUN cargo chef cook --release\nRUN cargo build --release\nFROM scratch\nCOPY --from=build /app/target/release/app /app\n";
        let f = findings("CD112", text);
        assert_eq!(f.iter().map(|f| f.0).collect::<Vec<_>>(), [3, 4]);
        let literal = "FROM --platform=$BUILDPLATFORM rust AS build\nRUN cargo build --release --target x86_64-unknown-linux-gnu\nFROM scratch\nCOPY --from=build /app/target/release/app /app\n";
        assert_eq!(findings("CD112", literal), []);
        let f = findings("CD114", literal);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].1.contains("`--target x86_64-unknown-linux-gnu`"),
            "{}",
            f[0].1
        );
    }

    #[test]
    fn constant_platforms() {
        let image = "FROM --platform=linux/amd64 debian\nRUN true\n";
        let f = findings("CD114", image);
        assert_eq!(f.len(), 1);
        assert!(f[0].1.contains("is the image"), "{}", f[0].1);
        let certs = "FROM --platform=linux/amd64 alpine AS certs\nRUN apk add ca-certificates\nFROM scratch\nCOPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/\n";
        assert_eq!(findings("CD114", certs), []);
        let tool = "FROM --platform=linux/amd64 alpine AS tools\nRUN apk add tini\nFROM alpine\nCOPY --from=tools /sbin/tini /sbin/tini\n";
        let f = findings("CD114", tool);
        assert_eq!(f.len(), 1);
        assert!(f[0].1.contains("copies `/sbin/tini`"), "{}", f[0].1);
        // Selected per platform by name: only the matching one is needed.
        let per_arch = "FROM --platform=linux/amd64 alpine AS base-amd64\nFROM --platform=linux/arm64 alpine AS base-arm64\nFROM base-${TARGETARCH}\nRUN true\n";
        assert_eq!(findings("CD114", per_arch), []);
    }

    #[test]
    fn triples_and_cpus() {
        assert_eq!(triple_arch("x86_64-unknown-linux-gnu"), Some("amd64"));
        assert_eq!(triple_arch("armv7-unknown-linux-gnueabihf"), Some("arm"));
        assert_eq!(triple_arch("aarch64-linux-gnu"), Some("arm64"));
        assert_eq!(triple_arch("my-tool"), None);
        assert_eq!(
            strip_tool_suffix("aarch64-linux-gnu-gcc-12"),
            "aarch64-linux-gnu"
        );
        assert_eq!(strip_tool_suffix("gcc"), "gcc");
        assert_eq!(cpu_arch("i686"), Some("386"));
        assert!(!is_literal("$TARGETARCH") && is_literal("amd64"));
    }

    #[test]
    fn branches_follow_case_subjects() {
        let derived = BTreeSet::new();
        let s = "case \"$TARGETARCH\" in amd64) A=1 ;; esac; case $X in y) B=1 ;; esac";
        let b = target_branches(s, &derived);
        assert_eq!(b.len(), 1);
        assert!(b[0].contains(&s.find("A=1").unwrap()));
        assert!(!b[0].contains(&s.find("B=1").unwrap()));
        let nested = "if [ \"$TARGETPLATFORM\" = linux/arm64 ]; then case $Y in *) C=1 ;; esac; fi";
        let b = target_branches(nested, &derived);
        assert!(b.iter().any(|r| r.contains(&nested.find("C=1").unwrap())));
        // Never panics on broken scripts.
        for s in [
            "case",
            "if then fi esac",
            "\"unterminated $( case",
            "esac fi",
        ] {
            let _ = target_branches(s, &derived);
            let _ = tokens(s);
        }
    }
}
