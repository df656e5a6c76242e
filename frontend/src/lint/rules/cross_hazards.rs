//! CD131–CD135: cross-build hazards. A stage that cross-compiles on the build machine
//! (or is about to, once moved to `$BUILDPLATFORM`) hits problems an emulated stage never
//! has: `go install` refuses GOBIN and writes elsewhere, programs built for the target
//! cannot run, cgo and C libraries need the target's compiler and libraries, and
//! `uname -m` describes the build machine.
//!
//! The checks walk the RUN steps of a stage together with the stages it is built FROM
//! (their files and `go env -w` settings carry over), per target platform, and resolve
//! the variables a step sees: its own assignments, then ENV and ARG, then the `go env`
//! file. A value that cannot be known statically (`$(...)`, a shell variable) is taken
//! to follow the target, the way cross-compiling scripts use it.

use std::collections::{BTreeMap, BTreeSet};

use crossbuild::{Platform, Role, Target};

use crate::analysis::{Step, StepKind, ToolchainStep};
use crate::eval::Base;
use crate::expand::Lexer;
use crate::instructions::CommandKind;
use crate::lint::{Category, Context, Finding, Rule, Severity};
use crate::source::Span;

/// A cross-compiling `go install` with GOBIN set, or a COPY from where `go install`
/// did not write.
pub static CD131: Rule = Rule {
    id: "CD131",
    name: "go-install-cross-gobin",
    category: Category::CrossHazard,
    default_severity: Severity::Error,
    summary: "a cross-compiling `go install` with GOBIN set, or a COPY from `$GOPATH/bin` where `go install` did not write",
    doc: include_str!("../../../../docs/rules/CD131.md"),
    check: check_cd131,
};

/// A stage runs a program or tests it built.
pub static CD132: Rule = Rule {
    id: "CD132",
    name: "runs-built-binary",
    category: Category::CrossHazard,
    default_severity: Severity::Warning,
    summary: "a stage runs a program or tests it built, which breaks once they are built for another platform",
    doc: include_str!("../../../../docs/rules/CD132.md"),
    check: check_cd132,
};

/// cgo enabled in a cross build without a C cross compiler.
pub static CD133: Rule = Rule {
    id: "CD133",
    name: "cgo-without-cross-compiler",
    category: Category::CrossHazard,
    default_severity: Severity::Warning,
    summary: "CGO_ENABLED=1 in a cross-compiling Go step with no C cross compiler",
    doc: include_str!("../../../../docs/rules/CD133.md"),
    check: check_cd133,
};

/// C library `-dev` packages for the build machine in a stage that cross-compiles C.
pub static CD134: Rule = Rule {
    id: "CD134",
    name: "host-dev-packages-in-cross-stage",
    category: Category::CrossHazard,
    default_severity: Severity::Warning,
    summary: "C library -dev packages installed for the build machine in a stage that compiles C for the target",
    doc: include_str!("../../../../docs/rules/CD134.md"),
    check: check_cd134,
};

/// `uname -m` and friends in a build-platform stage.
pub static CD135: Rule = Rule {
    id: "CD135",
    name: "build-machine-arch-probe",
    category: Category::CrossHazard,
    default_severity: Severity::Warning,
    summary: "`uname -m`, `arch`, `dpkg --print-architecture` and the like report the build machine in a build-platform stage",
    doc: include_str!("../../../../docs/rules/CD135.md"),
    check: check_cd135,
};

// ---------------------------------------------------------------------------------
// Findings collected across platforms.

/// Stands for the platform list in a message template.
const PLATFORMS: &str = "\u{1}platforms\u{1}";
/// Stands for the per-platform details in a message template.
const EXTRAS: &str = "\u{1}extras\u{1}";

struct Pending {
    span: Span,
    stage: String,
    platforms: Vec<usize>,
    extras: Vec<String>,
    message: String,
    help: String,
}

/// Findings of one rule, merged across target platforms: one per span and message.
struct Collector {
    rule: &'static Rule,
    items: BTreeMap<(usize, usize, String), Pending>,
}

impl Collector {
    fn new(rule: &'static Rule) -> Self {
        Collector {
            rule,
            items: BTreeMap::new(),
        }
    }

    /// Records an occurrence for platform `p`. `message` may contain [`PLATFORMS`] and
    /// [`EXTRAS`]; `extra` is this platform's detail.
    fn add(
        &mut self,
        span: &Span,
        stage: String,
        p: usize,
        message: String,
        extra: Option<String>,
        help: impl FnOnce() -> String,
    ) {
        let key = (span.start, span.end, message.clone());
        let entry = self.items.entry(key).or_insert_with(|| Pending {
            span: span.clone(),
            stage,
            platforms: Vec::new(),
            extras: Vec::new(),
            message,
            help: help(),
        });
        if !entry.platforms.contains(&p) {
            entry.platforms.push(p);
        }
        if let Some(x) = extra {
            if !entry.extras.contains(&x) {
                entry.extras.push(x);
            }
        }
    }

    fn finish(self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        for (_, mut item) in self.items {
            item.platforms.sort_unstable();
            let message = item
                .message
                .replace(PLATFORMS, &ctx.platform_names(&item.platforms))
                .replace(EXTRAS, &item.extras.join(", "));
            out.push(
                Finding::new(self.rule, item.span, message)
                    .stage(item.stage)
                    .help(item.help),
            );
        }
    }
}

// ---------------------------------------------------------------------------------
// Stages and platforms.

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// Whether code for `target` is cross-compiled on `host` (different OS or CPU
/// architecture, as Go and C compilers see it).
fn differs(target: &Platform, host: &Platform) -> bool {
    target.os() != host.os() || target.arch() != host.arch()
}

/// The platform the RUNs of stage `s` execute on, for target platform `p`.
fn host<'c>(ctx: &'c Context<'_>, p: usize, s: usize) -> &'c Platform {
    &ctx.eval_stage(p, s).platform
}

/// The target platforms for which stage `s` is needed, runs off the target (on the
/// build platform or a constant one) and builds for a different OS or architecture.
fn cross_platforms(ctx: &Context<'_>, s: usize) -> Vec<usize> {
    if !ctx.runs_off_target(s) {
        return Vec::new();
    }
    ctx.needed_platforms(s)
        .into_iter()
        .filter(|&p| differs(&ctx.platforms[p], host(ctx, p, s)))
        .collect()
}

/// Stage `s` and the stages it is built FROM, oldest first.
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

/// The stages whose lineage contains `s` (`s` included): they share its files.
fn descendants(ctx: &Context<'_>, p: usize, s: usize) -> Vec<usize> {
    (s..ctx.program.stages.len())
        .filter(|&d| lineage(ctx, p, d).contains(&s))
        .collect()
}

/// Whether what stage `s` (or a stage built FROM it) produces is read directly by a
/// stage that runs on the target platform, for platform `p`.
fn ships_to_target(ctx: &Context<'_>, p: usize, s: usize) -> bool {
    let family = descendants(ctx, p, s);
    family.iter().any(|&d| {
        ctx.consumers(p, d)
            .into_iter()
            .any(|c| !family.contains(&c) && ctx.needed(p, c) && !ctx.runs_off_target(c))
    })
}

fn stage_name(ctx: &Context<'_>, p: usize, s: usize) -> String {
    ctx.eval_stage(p, s).display_name()
}

// ---------------------------------------------------------------------------------
// Variables a step sees.

/// A variable's value as far as it can be known without running the script.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Val {
    /// Not set.
    Unset,
    /// Set to this value.
    Known(String),
    /// Set to something computed at run time (`$(...)`, a shell variable).
    Unknown,
}

impl Val {
    /// Set to a non-empty value (or one that cannot be known).
    fn is_set(&self) -> bool {
        match self {
            Val::Unset => false,
            Val::Known(v) => !v.is_empty(),
            Val::Unknown => true,
        }
    }
}

/// Where a variable was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Command,
    Env,
    Arg,
    GoEnv,
    None,
}

impl Origin {
    fn describe(self) -> &'static str {
        match self {
            Origin::Command => "on the command",
            Origin::Env => "by ENV",
            Origin::Arg => "by ARG",
            Origin::GoEnv => "by `go env -w`",
            Origin::None => "",
        }
    }
}

/// Expands a shell value with the variables known so far.
fn expand_value(value: &str, vars: &BTreeMap<String, String>) -> Val {
    if value.contains("$(") || value.contains('`') {
        return Val::Unknown;
    }
    if !value.contains('$') {
        return Val::Known(value.to_string());
    }
    match Lexer::default().process_word(value, vars) {
        Ok(e) if e.unmatched.is_empty() => Val::Known(e.value),
        _ => Val::Unknown,
    }
}

/// The variables one step sees: its own assignments (prefix, `export`, `env`), the
/// stage's ENV and ARGs, then the `go env` file.
struct StepEnv<'a> {
    vars: BTreeMap<String, (Val, Origin)>,
    goenv: &'a BTreeMap<String, Val>,
}

impl<'a> StepEnv<'a> {
    fn new(
        step: &Step,
        scope: &crate::eval::Scope,
        goenv: &'a BTreeMap<String, Val>,
    ) -> StepEnv<'a> {
        let mut known: BTreeMap<String, String> = scope.vars();
        let mut vars: BTreeMap<String, (Val, Origin)> = known
            .iter()
            .map(|(k, v)| {
                let origin = if scope.env.contains_key(k) {
                    Origin::Env
                } else {
                    Origin::Arg
                };
                (k.clone(), (Val::Known(v.clone()), origin))
            })
            .collect();
        for (k, v) in &step.env {
            let val = expand_value(v, &known);
            match &val {
                Val::Known(x) => {
                    known.insert(k.clone(), x.clone());
                }
                _ => {
                    known.remove(k);
                }
            }
            vars.insert(k.clone(), (val, Origin::Command));
        }
        StepEnv { vars, goenv }
    }

    fn get(&self, name: &str) -> (Val, Origin) {
        if let Some((v, o)) = self.vars.get(name) {
            return (v.clone(), *o);
        }
        match self.goenv.get(name) {
            Some(v) => (v.clone(), Origin::GoEnv),
            None => (Val::Unset, Origin::None),
        }
    }

    fn any_name(&self, pred: impl Fn(&str) -> bool) -> bool {
        self.vars.iter().any(|(k, (v, _))| pred(k) && v.is_set())
    }
}

/// Updates the `go env` file after a step (`go env -w/-u`, `xx-go --wrap/--unwrap`).
fn update_goenv(
    goenv: &mut BTreeMap<String, Val>,
    step: &Step,
    env: &StepEnv<'_>,
    target: &Platform,
) {
    let words = &step.words;
    let Some(program) = words.first().map(|w| basename(w)) else {
        return;
    };
    if program == "go" && words.get(1).map(String::as_str) == Some("env") {
        let rest = &words[2..];
        if rest.iter().any(|w| w == "-w") {
            let known: BTreeMap<String, String> = env
                .vars
                .iter()
                .filter_map(|(k, (v, _))| match v {
                    Val::Known(x) => Some((k.clone(), x.clone())),
                    _ => None,
                })
                .collect();
            for w in rest {
                if let Some((k, v)) = w.split_once('=') {
                    goenv.insert(k.to_string(), expand_value(v, &known));
                }
            }
        } else if rest.iter().any(|w| w == "-u") {
            for w in rest.iter().filter(|w| !w.starts_with('-')) {
                goenv.remove(w.as_str());
            }
        }
    } else if program == "xx-go" {
        if words.iter().any(|w| w == "--wrap") {
            goenv.insert("GOOS".into(), Val::Known(target.os().to_string()));
            goenv.insert("GOARCH".into(), Val::Known(target.arch().to_string()));
            goenv.insert("CC".into(), Val::Known("xx-clang".into()));
        } else if words.iter().any(|w| w == "--unwrap") {
            for k in ["GOOS", "GOARCH", "CC"] {
                goenv.remove(k);
            }
        }
    }
}

/// Whether a step may change the `go env` file.
fn touches_goenv(step: &Step) -> bool {
    match step.words.first().map(|w| basename(w)) {
        Some("go") => step.words.get(1).map(String::as_str) == Some("env"),
        Some("xx-go") => true,
        _ => false,
    }
}

/// One RUN step met while walking a stage's lineage.
struct Visit<'c, 'e> {
    /// The stage the step is in.
    stage: usize,
    step: &'c Step,
    env: &'e StepEnv<'e>,
}

/// Calls `f` for every RUN step of stage `s` and the stages it is built FROM, in
/// order, for platform `p`, with the variables each step sees.
fn walk<'c>(ctx: &'c Context<'_>, p: usize, s: usize, mut f: impl FnMut(&Visit<'c, '_>)) {
    let target = &ctx.platforms[p];
    let mut goenv: BTreeMap<String, Val> = BTreeMap::new();
    for d in lineage(ctx, p, s) {
        let ev = ctx.eval_stage(p, d);
        for run in &ctx.views[p][d].runs {
            let Some(scope) = ev.scopes.get(run.command) else {
                continue;
            };
            for step in &run.analysis.steps {
                let env = StepEnv::new(step, scope, &goenv);
                f(&Visit {
                    stage: d,
                    step,
                    env: &env,
                });
                if touches_goenv(step) {
                    let mut next = goenv.clone();
                    update_goenv(&mut next, step, &env, target);
                    drop(env);
                    goenv = next;
                }
            }
        }
    }
}

fn toolchain(step: &Step) -> Option<&ToolchainStep> {
    match &step.kind {
        StepKind::Toolchain(t) => Some(t),
        _ => None,
    }
}

fn is_go(step: &Step) -> Option<&ToolchainStep> {
    toolchain(step).filter(|t| t.toolchain == "go")
}

/// Whether the step runs through tonistiigi/xx's `xx-go`.
fn is_xx_go(step: &Step) -> bool {
    step.words.first().is_some_and(|w| basename(w) == "xx-go")
}

/// The GOOS/GOARCH a Go step builds for.
fn go_target(
    step: &Step,
    env: &StepEnv<'_>,
    host: &Platform,
    target: &Platform,
) -> (String, String) {
    if is_xx_go(step) {
        return (target.os().to_string(), target.arch().to_string());
    }
    let pick = |name: &str, native: &str, assumed: &str| match env.get(name).0 {
        Val::Known(v) if !v.is_empty() => v,
        Val::Unknown => assumed.to_string(),
        _ => native.to_string(),
    };
    (
        pick("GOOS", host.os(), target.os()),
        pick("GOARCH", host.arch(), target.arch()),
    )
}

/// Whether a Go step cross-compiles relative to the platform it runs on.
fn go_cross(step: &Step, env: &StepEnv<'_>, host: &Platform, target: &Platform) -> bool {
    let (goos, goarch) = go_target(step, env, host, target);
    goos != host.os() || goarch != host.arch()
}

/// Whether binaries for `goos/goarch` run on `host` without emulation.
fn go_runs_on(goos: &str, goarch: &str, host: &Platform) -> bool {
    match Platform::parse(&format!("{goos}/{goarch}")) {
        Ok(p) => p.runs_natively_on(host),
        Err(_) => goos == host.os() && goarch == host.arch(),
    }
}

const C_FAMILY: &[&str] = &["c", "cmake", "autotools", "meson"];

/// Whether the step compiles C for another platform (a cross compiler, `--target`,
/// a cross CC, a toolchain file, an xx helper).
fn c_cross_step(step: &Step) -> bool {
    toolchain(step).is_some_and(|t| {
        C_FAMILY.contains(&t.toolchain.as_str())
            && matches!(t.role, Role::Compile | Role::Install | Role::Configure)
            && t.cross_aware
    })
}

/// Whether CGO_ENABLED=1 is set explicitly for the step.
fn cgo_enabled(env: &StepEnv<'_>) -> bool {
    matches!(env.get("CGO_ENABLED").0, Val::Known(v) if v.trim() == "1")
}

// ---------------------------------------------------------------------------------
// CD131: go install with GOBIN, COPY from $GOPATH/bin.

/// GOOS values, for recognising `<GOOS>_<GOARCH>` directories.
const GOOS: &[&str] = &[
    "linux",
    "windows",
    "darwin",
    "freebsd",
    "netbsd",
    "openbsd",
    "dragonfly",
    "solaris",
    "illumos",
    "aix",
    "android",
    "ios",
    "js",
    "wasip1",
    "plan9",
];

/// Whether a path component is a `<GOOS>_<GOARCH>` directory, literal or written with
/// variables (`${TARGETOS}_${TARGETARCH}`, `$(go env GOOS)_$(go env GOARCH)`).
fn platform_dir(component: &str) -> bool {
    let Some((os, arch)) = component.split_once('_') else {
        return false;
    };
    if component.contains('$') {
        return true;
    }
    GOOS.contains(&os) && !arch.is_empty() && arch.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Whether a step handles the per-platform directory of a cross `go install` (moves
/// or copies out of `bin/<GOOS>_<GOARCH>/`).
fn handles_platform_dir(step: &Step) -> bool {
    is_go(step).is_none()
        && step.words.iter().any(|w| {
            w.match_indices("bin/").any(|(i, _)| {
                let rest = &w[i + 4..];
                platform_dir(rest.split('/').next().unwrap_or(""))
            })
        })
}

/// `go` flags that take the next word as their value.
const GO_VALUE_FLAGS: &[&str] = &[
    "-ldflags",
    "-gcflags",
    "-asmflags",
    "-tags",
    "-o",
    "-mod",
    "-modfile",
    "-p",
    "-buildmode",
    "-compiler",
    "-gccgoflags",
    "-installsuffix",
    "-overlay",
    "-pkgdir",
    "-toolexec",
    "-pgo",
    "-C",
    "-exec",
    "-coverpkg",
    "-covermode",
];

/// The names of the binaries a `go install` writes, if they can be told from its
/// arguments (`./cmd/app` → `app`, `example.com/x/cmd/tool/v2@v2.1.0` → `tool`); `None`
/// for patterns (`./...`, `.`).
fn install_names(words: &[String]) -> Option<Vec<String>> {
    let start = words.iter().position(|w| w == "install")? + 1;
    let mut names = Vec::new();
    let mut skip = false;
    for w in &words[start..] {
        if std::mem::take(&mut skip) {
            continue;
        }
        if w.starts_with('-') {
            skip = !w.contains('=') && GO_VALUE_FLAGS.contains(&w.as_str());
            continue;
        }
        let path = w.split('@').next().unwrap_or(w).trim_end_matches('/');
        if path.is_empty() || path == "." || path.contains("...") || path.contains('$') {
            return None;
        }
        let mut parts: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        let last = parts.pop()?;
        let is_major = last.len() > 1
            && last.starts_with('v')
            && last[1..].chars().all(|c| c.is_ascii_digit());
        let name = if is_major {
            parts.pop().unwrap_or(last)
        } else {
            last
        };
        if name == "." || name == ".." {
            return None;
        }
        names.push(name.to_string());
    }
    (!names.is_empty()).then_some(names)
}

/// One `go install` of a stage, for one platform.
struct Install {
    /// `Some("linux_arm64")` when it cross-compiles, `None` when native.
    dir: Option<String>,
    /// Binary names, when known.
    names: Option<Vec<String>>,
}

fn check_cd131(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let mut found = Collector::new(&CD131);
    for stage in &ctx.program.stages {
        let s = stage.index;
        for p in ctx.needed_platforms(s) {
            let (h, t) = (host(ctx, p, s), &ctx.platforms[p]);
            walk(ctx, p, s, |v| {
                if v.stage != s {
                    return;
                }
                let Some(tool) = is_go(v.step) else { return };
                if tool.role != Role::Install || !go_cross(v.step, v.env, h, t) {
                    return;
                }
                let (gobin, origin) = v.env.get("GOBIN");
                if !gobin.is_set() {
                    return;
                }
                let setting = match &gobin {
                    Val::Known(x) => format!("GOBIN={x} {}", origin.describe()),
                    _ => format!("GOBIN {}", origin.describe()),
                };
                found.add(
                    &v.step.span,
                    stage_name(ctx, p, s),
                    p,
                    format!(
                        "`{}` in stage {} cross-compiles for {PLATFORMS} with {setting}: Go refuses (\"go: cannot install cross-compiled binaries when GOBIN is set\")",
                        tool.summary,
                        stage_name(ctx, p, s)
                    ),
                    None,
                    || "build with `go build -o /out/<name> <package>` and copy /out/<name>; or leave GOBIN unset for this command (a cross `go install` then writes to $GOPATH/bin/<GOOS>_<GOARCH>/, a native one to $GOPATH/bin/)".to_string(),
                );
            });
        }
        check_copies_from_gobin(ctx, s, &mut found);
    }
    found.finish(ctx, out);
}

/// The `go install`s of stage `s` (and the stages it is built FROM) for platform `p`,
/// and whether the stage moves binaries out of the per-platform directories.
fn installs(ctx: &Context<'_>, p: usize, s: usize) -> (Vec<Install>, bool) {
    let (h, t) = (host(ctx, p, s), &ctx.platforms[p]);
    let mut list = Vec::new();
    let mut handled = false;
    walk(ctx, p, s, |v| {
        if handles_platform_dir(v.step) {
            handled = true;
        }
        let Some(tool) = is_go(v.step) else { return };
        if tool.role != Role::Install || v.env.get("GOBIN").0.is_set() {
            return;
        }
        let (goos, goarch) = go_target(v.step, v.env, h, t);
        let dir = (goos != h.os() || goarch != h.arch()).then(|| format!("{goos}_{goarch}"));
        list.push(Install {
            dir,
            names: install_names(&v.step.words),
        });
    });
    (list, handled)
}

/// CD131's second half: a stage COPYs from `$GOPATH/bin` of stage `c`'s source where
/// the `go install`s there did not write.
fn check_copies_from_gobin(ctx: &Context<'_>, c: usize, found: &mut Collector) {
    let stage = &ctx.program.stages[c];
    let lexer = Lexer::new(ctx.df.escape);
    for (i, cmd) in stage.commands.iter().enumerate() {
        let CommandKind::Copy(copy) = &cmd.kind else {
            continue;
        };
        let Some(from) = &copy.from else { continue };
        let Some(src) = find_stage(ctx, &from.value) else {
            continue;
        };
        if src == c {
            continue;
        }
        for p in ctx.needed_platforms(c) {
            let (list, handled) = installs(ctx, p, src);
            if list.is_empty() || handled {
                continue;
            }
            let gopath = ctx
                .eval_stage(p, src)
                .scopes
                .last()
                .and_then(|sc| sc.vars().get("GOPATH").cloned())
                .filter(|g| !g.is_empty())
                .unwrap_or_else(|| "/go".to_string());
            let Some(scope) = ctx.eval_stage(p, c).scopes.get(i) else {
                continue;
            };
            let vars = scope.vars();
            for raw in &copy.sources {
                let written = raw
                    .replacen("${GOPATH}", &gopath, 1)
                    .replacen("$GOPATH", &gopath, 1);
                let Ok(expanded) = lexer.process_word(&written, &vars) else {
                    continue;
                };
                let path = expanded.value;
                let Some(rest) = path
                    .strip_prefix(&gopath)
                    .and_then(|r| r.strip_prefix("/bin"))
                    .filter(|r| r.is_empty() || r.starts_with('/'))
                else {
                    continue;
                };
                let rest = rest.trim_start_matches('/');
                let Some(dirs) = missed(&list, rest) else {
                    continue;
                };
                let extra = dirs
                    .iter()
                    .map(|d| match d {
                        Some(d) => format!("{gopath}/bin/{d}/"),
                        None => format!("{gopath}/bin/"),
                    })
                    .collect::<Vec<_>>()
                    .join(" and ");
                let src_name = stage_name(ctx, p, src);
                let what = if rest.is_empty() {
                    format!("puts the binaries for {PLATFORMS} in a subdirectory")
                } else {
                    format!("finds nothing for {PLATFORMS}")
                };
                found.add(
                    &ctx.instruction(cmd.instruction).span,
                    stage_name(ctx, p, c),
                    p,
                    format!(
                        "`COPY --from={} {raw}` {what}: `go install` in stage {src_name} writes them to {EXTRAS} (cross-compiled binaries go to $GOPATH/bin/<GOOS>_<GOARCH>/, native ones to $GOPATH/bin/)",
                        from.value
                    ),
                    Some(format!("{extra} for {}", ctx.platforms[p])),
                    || format!("in stage {src_name}, build with `go build -o /out/<name> <package>` and copy /out/<name>, which is the same path for every platform; or move the binaries out of the per-platform directory there (`if [ -d {gopath}/bin/${{TARGETOS}}_${{TARGETARCH}} ]; then mv {gopath}/bin/${{TARGETOS}}_${{TARGETARCH}}/* {gopath}/bin/; fi`)"),
                );
            }
        }
    }
}

/// For a COPY of `$GOPATH/bin/<rest>`: `None` when the installs wrote there (or it
/// cannot be told), else the directories (`None` = `bin/` itself) they wrote to.
fn missed(list: &[Install], rest: &str) -> Option<Vec<Option<String>>> {
    let first = rest.split('/').next().unwrap_or("");
    if first.contains(['*', '?', '[']) {
        return None;
    }
    let dirs = |l: &[&Install]| -> Vec<Option<String>> {
        let mut d: Vec<Option<String>> = l.iter().map(|i| i.dir.clone()).collect();
        d.dedup();
        d
    };
    if rest.is_empty() {
        // The whole bin/ directory: cross-compiled binaries come in a subdirectory.
        let all: Vec<&Install> = list.iter().collect();
        return list.iter().all(|i| i.dir.is_some()).then(|| dirs(&all));
    }
    let name = rest.rsplit('/').next().unwrap_or(rest);
    let named: Vec<&Install> = list
        .iter()
        .filter(|i| {
            i.names
                .as_ref()
                .is_some_and(|n| n.iter().any(|x| x == name))
        })
        .collect();
    let relevant: Vec<&Install> = if named.is_empty() {
        list.iter().filter(|i| i.names.is_none()).collect()
    } else {
        named
    };
    if relevant.is_empty() {
        return None;
    }
    let wrote_here = |i: &&Install| match &i.dir {
        Some(d) => rest.contains('/') && first == d,
        None => !rest.contains('/') || !platform_dir(first),
    };
    if relevant.iter().any(wrote_here) {
        None
    } else {
        Some(dirs(&relevant))
    }
}

/// The stage a `COPY --from` names (by name or index), as BuildKit resolves it.
fn find_stage(ctx: &Context<'_>, reference: &str) -> Option<usize> {
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

// ---------------------------------------------------------------------------------
// CD132: running what the stage built.

/// Where the programs a step builds can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exec {
    /// On the machine the stage runs on.
    Native,
    /// Only on another platform.
    Foreign,
}

/// The `-o PATH` of a compile command.
fn output_path(words: &[String]) -> Option<String> {
    let mut it = words.iter();
    while let Some(w) = it.next() {
        if w == "-o" {
            return it.next().cloned();
        }
        if let Some(p) = w.strip_prefix("-o=") {
            return Some(p.to_string());
        }
    }
    None
}

/// Whether `program` is the file `output` names (or lies in the directory it names).
fn is_output(program: &str, output: &str) -> bool {
    if program == output {
        return true;
    }
    if output.ends_with('/') && program.starts_with(output) {
        return true;
    }
    program
        .strip_prefix("./")
        .is_some_and(|p| output == p || output.ends_with(&format!("/{p}")))
}

/// The `--target` a cargo command builds for: the value, `Unknown` when computed,
/// `Unset` when none.
fn cargo_target(step: &Step, env: &StepEnv<'_>) -> Val {
    let mut it = step.words.iter();
    while let Some(w) = it.next() {
        let value = if w == "--target" {
            it.next().map(String::as_str)
        } else {
            w.strip_prefix("--target=")
        };
        if let Some(v) = value {
            return expand_value(v, &BTreeMap::new());
        }
    }
    env.get("CARGO_BUILD_TARGET").0
}

/// Whether what a cargo step builds runs on `host`.
fn cargo_exec(step: &Step, env: &StepEnv<'_>, host: &Platform, target: &Platform) -> Exec {
    let triple = if step
        .words
        .first()
        .is_some_and(|w| basename(w) == "xx-cargo")
    {
        Val::Unknown
    } else {
        cargo_target(step, env)
    };
    let runs = |p: &Platform| {
        if p.runs_natively_on(host) {
            Exec::Native
        } else {
            Exec::Foreign
        }
    };
    match triple {
        Val::Unset => Exec::Native,
        Val::Known(x) if x.is_empty() => Exec::Native,
        Val::Known(x) => {
            let is = |p: &Platform| {
                Target::for_platform(p)
                    .is_ok_and(|t| t.rust_triple() == x || t.rust_triple_musl() == x)
            };
            if is(host) {
                Exec::Native
            } else if is(target) {
                runs(target)
            } else {
                Exec::Foreign
            }
        }
        Val::Unknown => runs(target),
    }
}

/// A test or run-host step that only compiles (`go test -c`, `cargo test --no-run`) or
/// runs through an emulator (`go test -exec`).
fn does_not_execute(step: &Step) -> bool {
    step.words
        .iter()
        .any(|w| w == "-c" || w == "--no-run" || w == "-exec" || w.starts_with("-exec="))
}

/// A program under `target/<triple>/{release,debug}/` of a cargo cross build, when the
/// triple is not the host's.
fn runs_cross_cargo_output(program: &str, host: &Platform) -> bool {
    let parts: Vec<&str> = program.split('/').collect();
    parts.windows(3).any(|w| {
        w[0] == "target"
            && matches!(w[2], "release" | "debug")
            && w[1].matches('-').count() >= 2
            && !w[1].contains('$')
            && !Target::for_platform(host)
                .is_ok_and(|t| t.rust_triple() == w[1] || t.rust_triple_musl() == w[1])
    })
}

fn check_cd132(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let mut found = Collector::new(&CD132);
    for stage in &ctx.program.stages {
        let s = stage.index;
        let emulated = ctx.emulated_platforms(s);
        for p in ctx.needed_platforms(s) {
            let (h, t) = (host(ctx, p, s), &ctx.platforms[p]);
            let name = stage_name(ctx, p, s);
            let target_exec = if t.runs_natively_on(h) {
                Exec::Native
            } else {
                Exec::Foreign
            };
            let mut outputs: Vec<(String, Exec)> = Vec::new();
            let mut c_cross = false;
            walk(ctx, p, s, |v| {
                let step = v.step;
                // What this step runs, and where that can run.
                let mut runs: Option<(String, Exec, bool)> = None;
                match &step.kind {
                    StepKind::Toolchain(tool) => {
                        let is_c = C_FAMILY.contains(&tool.toolchain.as_str());
                        let exec = match tool.toolchain.as_str() {
                            "go" => {
                                let (goos, goarch) = go_target(step, v.env, h, t);
                                if go_runs_on(&goos, &goarch, h) {
                                    Exec::Native
                                } else {
                                    Exec::Foreign
                                }
                            }
                            "rust" => cargo_exec(step, v.env, h, t),
                            _ if is_c && (tool.cross_aware || c_cross) => target_exec,
                            _ => Exec::Native,
                        };
                        if tool.role.targets_platform() {
                            if let Some(o) = output_path(&step.words) {
                                outputs.push((o, exec));
                            }
                        }
                        if c_cross_step(step) {
                            c_cross = true;
                        }
                        if tool.role.executes_output() && !does_not_execute(step) {
                            let runner = tool.toolchain == "rust"
                                && v.env.any_name(|k| {
                                    k.starts_with("CARGO_TARGET_") && k.ends_with("_RUNNER")
                                });
                            let exec = if runner { Exec::Native } else { exec };
                            runs = Some((
                                format!("`{}`", tool.summary),
                                exec,
                                tool.role == Role::Test,
                            ));
                        }
                    }
                    StepKind::RunsBuiltBinary { program } => {
                        let exec = outputs
                            .iter()
                            .rev()
                            .find(|(o, _)| is_output(program, o))
                            .map_or(Exec::Native, |(_, e)| *e);
                        runs = Some((format!("`{program}`"), exec, true));
                    }
                    StepKind::Other => {
                        if let Some(program) = step.words.first() {
                            if runs_cross_cargo_output(program, h) {
                                runs = Some((format!("`{program}`"), target_exec, true));
                            }
                        }
                    }
                    StepKind::Packages(_) => {}
                }
                if v.stage != s {
                    return;
                }
                let Some((what, exec, blocks_rewrite)) = runs else {
                    return;
                };
                if exec == Exec::Foreign {
                    found.add(
                        &step.span,
                        name.clone(),
                        p,
                        format!(
                            "{what} in stage {name} builds for {PLATFORMS} and then runs the result on {h}: that fails with `exec format error` unless QEMU binfmt handlers are installed on the build machine"
                        ),
                        None,
                        || "run it natively: drop the target settings (GOOS/GOARCH, --target, cross CC) for this command so it builds for the build machine, or run it in a stage that runs on the target platform; only the binaries you ship need the target".to_string(),
                    );
                } else if emulated.contains(&p) && blocks_rewrite {
                    let is_binary = matches!(step.kind, StepKind::RunsBuiltBinary { .. })
                        || toolchain(step).is_none();
                    found.add(
                        &step.span,
                        name.clone(),
                        p,
                        format!(
                            "{what} in stage {name} runs what the stage built: that works under QEMU emulation for {PLATFORMS}, but not once the stage cross-compiles on the build platform (the binaries would be for the target)"
                        ),
                        None,
                        || {
                            if is_binary {
                                "`crossdock rewrite` leaves this stage emulated because of this step; to cross-compile it, build the program natively in a $BUILDPLATFORM stage (without target settings) and run that, or run the target's binary only in a stage on the target platform".to_string()
                            } else {
                                "when you move the stage to $BUILDPLATFORM, run the tests natively (without the target's GOOS/GOARCH, --target or cross CC) or in a separate stage on the target platform".to_string()
                            }
                        },
                    );
                }
            });
        }
    }
    found.finish(ctx, out);
}

// ---------------------------------------------------------------------------------
// CD133: cgo without a C cross compiler.

/// Whether a CC value names a C cross compiler: `<triple>-gcc`, `xx-clang`, `zig cc`,
/// a `--target`, osxcross' `o64-clang`.
fn is_cross_cc(value: &str) -> bool {
    let mut words = value.split_whitespace();
    let Some(first) = words.next() else {
        return false;
    };
    let program = basename(first);
    if program.starts_with("xx-")
        || program == "zig"
        || program.starts_with("o64-")
        || program.starts_with("oa64-")
        || value.contains("--target")
        || value.contains("-target ")
    {
        return true;
    }
    // `aarch64-linux-gnu-gcc`, `x86_64-w64-mingw32-gcc-12`, `arm-linux-gnueabihf-clang`.
    let trimmed = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    let trimmed = trimmed.strip_suffix('-').unwrap_or(trimmed);
    ["-gcc", "-cc", "-clang", "-g++", "-c++", "-clang++"]
        .iter()
        .find_map(|suffix| trimmed.strip_suffix(suffix))
        .is_some_and(|prefix| {
            prefix.contains('-')
                && [
                    "linux", "mingw", "w64", "apple", "musl", "gnu", "eabi", "elf",
                ]
                .iter()
                .any(|k| prefix.contains(k))
        })
}

/// Whether a package is a C cross compiler (`gcc-aarch64-linux-gnu`,
/// `crossbuild-essential-arm64`, `gcc-mingw-w64-x86-64`).
fn is_cross_cc_package(name: &str) -> bool {
    name.starts_with("crossbuild-essential-")
        || ((name.starts_with("gcc-") || name.starts_with("g++-"))
            && (name.contains("-linux-") || name.contains("mingw")))
}

/// Whether a step sets up a C cross compiler: installs one, or uses tonistiigi/xx
/// to install or configure one.
fn sets_up_cross_cc(step: &Step) -> bool {
    match &step.kind {
        StepKind::Packages(install) => install
            .packages
            .iter()
            .any(|p| is_cross_cc_package(&p.name)),
        _ => {
            let Some(program) = step.words.first().map(|w| basename(w)) else {
                return false;
            };
            match program {
                "xx-apt-get" | "xx-apt" | "xx-apk" => step.words.iter().any(|w| {
                    matches!(
                        w.as_str(),
                        "gcc" | "g++" | "clang" | "xx-c-essentials" | "xx-cxx-essentials"
                    ) || is_cross_cc_package(w)
                }),
                "xx-clang" | "xx-cc" => true,
                _ => false,
            }
        }
    }
}

/// Whether stage `s` starts from an image made for cross-compiling
/// (`goreleaser/goreleaser-cross`, `...-cross`, osxcross).
fn cross_image(ctx: &Context<'_>, p: usize, s: usize) -> bool {
    let root = lineage(ctx, p, s).first().copied().unwrap_or(s);
    match &ctx.eval_stage(p, root).base {
        Base::Image(image) => {
            let image = image.to_ascii_lowercase();
            image.contains("cross") || image.contains("osxcross")
        }
        _ => false,
    }
}

fn check_cd133(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let mut found = Collector::new(&CD133);
    for stage in &ctx.program.stages {
        let s = stage.index;
        for p in ctx.needed_platforms(s) {
            if cross_image(ctx, p, s) {
                continue;
            }
            let (h, t) = (host(ctx, p, s), &ctx.platforms[p]);
            let mut has_cross_cc = false;
            walk(ctx, p, s, |v| has_cross_cc |= sets_up_cross_cc(v.step));
            if has_cross_cc {
                continue;
            }
            let name = stage_name(ctx, p, s);
            walk(ctx, p, s, |v| {
                if v.stage != s || is_xx_go(v.step) {
                    return;
                }
                let Some(tool) = is_go(v.step) else { return };
                if !matches!(
                    tool.role,
                    Role::Compile | Role::Install | Role::Test | Role::RunHost
                ) || !go_cross(v.step, v.env, h, t)
                    || !cgo_enabled(v.env)
                {
                    return;
                }
                let cc = match v.env.get("CC").0 {
                    Val::Unset => "the build machine's `gcc` (CC is unset)".to_string(),
                    Val::Known(x) if x.is_empty() => {
                        "the build machine's `gcc` (CC is empty)".to_string()
                    }
                    Val::Known(x) if !is_cross_cc(&x) => format!("`{x}` (CC={x})"),
                    _ => return,
                };
                found.add(
                    &v.step.span,
                    name.clone(),
                    p,
                    format!(
                        "`{}` in stage {name} cross-compiles for {PLATFORMS} with CGO_ENABLED=1, but the stage has no C cross compiler: cgo runs {cc}, which builds for {h}",
                        tool.summary
                    ),
                    None,
                    || {
                        let example = Target::for_platform(t)
                            .map(|tg| {
                                format!(
                                    " (for {t}: install {} and set CC={}-gcc; a `case \"$TARGETARCH\"` block picks them per platform)",
                                    tg.debian_cross_packages().first().cloned().unwrap_or_default(),
                                    tg.gnu_triple()
                                )
                            })
                            .unwrap_or_default();
                        format!("set CC to a C cross compiler for the target{example}, or use `xx-go` from tonistiigi/xx, which sets CC; if the code needs no cgo, set CGO_ENABLED=0")
                    },
                );
            });
        }
    }
    found.finish(ctx, out);
}

// ---------------------------------------------------------------------------------
// CD134: the build machine's -dev packages in a stage that cross-compiles C.

/// `-dev`/`-devel` packages that are tools or the compiler's own runtime, not libraries
/// linked into the target's binaries.
fn is_host_tool(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "pkg-config",
        "pkgconf",
        "pkgconfig",
        "build-essential",
        "ca-certificates",
        "git",
        "dpkg-dev",
        "libc6-dev",
        "libc-dev",
        "musl-dev",
        "glibc-devel",
        "linux-libc-dev",
        "linux-headers",
        "kernel-headers",
        "kernel-devel",
        "build-base",
        "alpine-sdk",
        "python3-dev",
        "python-dev",
        "libclang-dev",
        "clang-dev",
        "llvm-dev",
    ];
    const PREFIXES: &[&str] = &[
        "crossbuild-essential-",
        "gcc",
        "g++",
        "cpp-",
        "binutils",
        "libgcc",
        "libstdc++",
        "libclang-",
        "llvm-",
        "clang-",
        "golang-",
        "rust-",
        "librust-",
        "libstd-rust",
    ];
    EXACT.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p)) || name.contains("-cross")
}

/// A C library development package (`libssl-dev`, `openssl-dev`, `zlib-devel`).
fn is_library_dev(name: &str) -> bool {
    (name.ends_with("-dev") || name.ends_with("-devel")) && !is_host_tool(name)
}

/// Options that make a package manager install for another architecture or root.
fn installs_elsewhere(words: &[String]) -> bool {
    words.iter().any(|w| {
        matches!(
            w.as_str(),
            "--root" | "-p" | "--arch" | "-a" | "--host-architecture" | "--installroot"
        ) || w.starts_with("--root=")
            || w.starts_with("--arch=")
            || w.starts_with("--forcearch")
            || w.starts_with("--installroot=")
            || w.starts_with("--host-architecture=")
            || w.contains("APT::Architecture")
    })
}

/// Whether the stage family of `s` compiles C (directly, through cgo or through Rust
/// crates) for another platform, for platform `p`.
fn compiles_c_for_target(ctx: &Context<'_>, p: usize, s: usize) -> bool {
    let t = &ctx.platforms[p];
    descendants(ctx, p, s).into_iter().any(|d| {
        let h = host(ctx, p, d);
        let mut yes = false;
        walk(ctx, p, d, |v| {
            let step = v.step;
            yes |= c_cross_step(step)
                || matches!(&step.kind, StepKind::Packages(i) if i.packages.iter().any(|pk| is_cross_cc_package(&pk.name)))
                || toolchain(step).is_some_and(|tool| match tool.toolchain.as_str() {
                    "go" => {
                        tool.role.targets_platform()
                            && go_cross(step, v.env, h, t)
                            && cgo_enabled(v.env)
                    }
                    "rust" => {
                        tool.role.targets_platform()
                            && cargo_exec(step, v.env, h, t) == Exec::Foreign
                    }
                    _ => false,
                });
        });
        yes
    })
}

fn check_cd134(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let mut found = Collector::new(&CD134);
    for stage in &ctx.program.stages {
        let s = stage.index;
        for p in cross_platforms(ctx, s) {
            if !compiles_c_for_target(ctx, p, s) {
                continue;
            }
            let (h, t) = (host(ctx, p, s), &ctx.platforms[p]);
            let name = stage_name(ctx, p, s);
            let targeted = packages_with_arch(ctx, p, s);
            for run in &ctx.views[p][s].runs {
                for step in &run.analysis.steps {
                    let StepKind::Packages(install) = &step.kind else {
                        continue;
                    };
                    if installs_elsewhere(&step.words) {
                        continue;
                    }
                    let libs: Vec<&str> = install
                        .packages
                        .iter()
                        .filter(|pk| pk.arch.is_none() && !pk.name.contains('$'))
                        .map(|pk| pk.name.as_str())
                        .filter(|n| is_library_dev(n) && !targeted.contains(*n))
                        .collect();
                    let Some(first) = libs.first() else { continue };
                    let verb = if install.manager == "apk" {
                        "add"
                    } else {
                        "install"
                    };
                    found.add(
                        &step.span,
                        name.clone(),
                        p,
                        format!(
                            "`{} {verb}` in stage {name} installs {} for the build machine ({h}), but the stage compiles C for {PLATFORMS}: the target's binaries cannot link the build machine's libraries",
                            install.manager,
                            libs.join(", ")
                        ),
                        None,
                        || dev_package_help(&install.manager, first, t),
                    );
                }
            }
        }
    }
    found.finish(ctx, out);
}

/// Packages the stage also names with an architecture (`libssl-dev:arm64`,
/// `libssl-dev:$crossdock_debian_arch`), in any word: also inside a variable that a later
/// install expands, as `crossdock rewrite` writes it. The host copy beside the target's is
/// harmless (and often needed for build tools), so it is not reported.
fn packages_with_arch(ctx: &Context<'_>, p: usize, s: usize) -> BTreeSet<String> {
    ctx.views[p][s]
        .runs
        .iter()
        .flat_map(|run| run.analysis.steps.iter())
        .flat_map(|step| step.words.iter().chain(step.env.iter().map(|(_, v)| v)))
        .flat_map(|word| {
            word.split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '=')
                .filter_map(|token| token.split_once(':'))
                .filter(|(name, arch)| !name.is_empty() && !arch.is_empty())
                .map(|(name, _)| name.to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn dev_package_help(manager: &str, package: &str, target: &Platform) -> String {
    let tg = Target::for_platform(target).ok();
    match manager {
        "apt-get" | "apt" | "aptitude" => {
            let arch = tg.map_or("<arch>", |t| t.debian_arch());
            format!(
                "install the target's copies (Debian multiarch): `dpkg --add-architecture {arch}` then `{package}:{arch}`; `{package}:${{TARGETARCH}}` works where TARGETARCH is the Debian architecture (not for arm/v7: armhf, ppc64le: ppc64el); or `xx-apt-get install {package}` from tonistiigi/xx"
            )
        }
        "apk" => {
            let triple = tg.map_or("<triple>", |t| t.alpine_triple());
            format!(
                "install the target's copies into its sysroot: `xx-apk add {package}` from tonistiigi/xx (it uses /{triple}/), and compile against that sysroot"
            )
        }
        _ => {
            let arch = tg.map_or("<arch>", |t| t.rhel_arch());
            format!(
                "install the target's copies into a sysroot (`--forcearch={arch} --installroot=/sysroot`) and compile against it"
            )
        }
    }
}

// ---------------------------------------------------------------------------------
// CD135: architecture probes in a build-platform stage.

/// Which tool a probe of the machine's architecture uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Uname,
    Arch,
    Dpkg,
    Apk,
    Rpm,
}

/// Recognises `uname -m` (and `-p`, `-i`, combined flags), `arch`,
/// `dpkg --print-architecture`, `dpkg-architecture -q...` (without `-a`),
/// `apk --print-arch` and `rpm --eval %_arch`.
fn arch_probe(words: &[String]) -> Option<Probe> {
    let program = basename(words.first()?);
    let args = &words[1..];
    let has = |flag: &str| args.iter().any(|a| a == flag);
    match program {
        "uname" => {
            let machine = args.iter().any(|a| {
                matches!(
                    a.as_str(),
                    "--machine" | "--processor" | "--hardware-platform"
                ) || (a.starts_with('-')
                    && !a.starts_with("--")
                    && !a.contains('a')
                    && a[1..].contains(['m', 'p', 'i']))
            });
            (machine && !has("--all")).then_some(Probe::Uname)
        }
        "arch" => args
            .iter()
            .all(|a| a.starts_with('-') && a != "--help" && a != "--version")
            .then_some(Probe::Arch),
        "dpkg" => has("--print-architecture").then_some(Probe::Dpkg),
        "dpkg-architecture" => {
            let query = args
                .iter()
                .any(|a| a.starts_with("-q") || a.starts_with("--query"));
            let for_target = args.iter().any(|a| {
                a.starts_with("-a") || a.starts_with("--host-arch") || a.starts_with("-t")
            });
            (query && !for_target).then_some(Probe::Dpkg)
        }
        "apk" => has("--print-arch").then_some(Probe::Apk),
        "rpm" => {
            let eval = args
                .iter()
                .any(|a| a == "--eval" || a == "-E" || a.starts_with("--eval="));
            let arch = args
                .iter()
                .any(|a| a.contains("_arch") || a.contains("_target_cpu"));
            (eval && arch).then_some(Probe::Rpm)
        }
        _ => None,
    }
}

impl Probe {
    fn alternative(self) -> &'static str {
        match self {
            Probe::Uname | Probe::Arch => {
                "`$TARGETARCH` (after `ARG TARGETARCH`; it says amd64/arm64 where uname says x86_64/aarch64) or `xx-info march` from tonistiigi/xx"
            }
            Probe::Dpkg => {
                "`$TARGETARCH` (after `ARG TARGETARCH`; the Debian name differs for arm/v7: armhf, ppc64le: ppc64el) or `xx-info debian-arch` from tonistiigi/xx"
            }
            Probe::Apk => {
                "`xx-info alpine-arch` from tonistiigi/xx, or `$TARGETARCH` mapped (amd64 → x86_64, arm64 → aarch64)"
            }
            Probe::Rpm => {
                "`xx-info rhel-arch` from tonistiigi/xx, or `$TARGETARCH` mapped (amd64 → x86_64, arm64 → aarch64)"
            }
        }
    }
}

/// Whether a word refers to the target platform (`$TARGETARCH`, `xx-info`, or the
/// `crossdock_*` variables that `crossdock rewrite` sets from `$TARGETPLATFORM`).
fn mentions_target(word: &str) -> bool {
    word.contains("$TARGET")
        || word.contains("${TARGET")
        || word.contains("xx-info")
        || word.contains("$crossdock_")
        || word.contains("${crossdock_")
}

fn check_cd135(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let mut found = Collector::new(&CD135);
    for stage in &ctx.program.stages {
        let s = stage.index;
        for p in cross_platforms(ctx, s) {
            if !ships_to_target(ctx, p, s) {
                continue;
            }
            let h = host(ctx, p, s);
            let name = stage_name(ctx, p, s);
            for run in &ctx.views[p][s].runs {
                let steps = &run.analysis.steps;
                for step in steps {
                    let Some(probe) = arch_probe(&step.words) else {
                        continue;
                    };
                    // `[ "$(dpkg --print-architecture)" != "$TARGETARCH" ]` compares the
                    // build machine with the target on purpose.
                    let compared = steps.iter().any(|other| {
                        other.span != step.span
                            && other.span.start <= step.span.start
                            && other.span.end >= step.span.end
                            && other.words.iter().any(|w| mentions_target(w))
                    });
                    if compared {
                        continue;
                    }
                    let shown = step.words.join(" ");
                    found.add(
                        &step.span,
                        name.clone(),
                        p,
                        format!(
                            "`{shown}` in stage {name} reports the architecture of the machine the stage runs on ({h}), not the target's, when building for {PLATFORMS}"
                        ),
                        None,
                        || format!(
                            "to pick what goes into the image, use {}; if the value picks a tool that runs during the build, the build machine's architecture is right: add `# crossdock ignore=CD135`",
                            probe.alternative()
                        ),
                    );
                }
            }
        }
    }
    found.finish(ctx, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::{lint_source, LintOptions};
    use crate::source::SourceFile;

    /// Lints `text` for linux/amd64 and linux/arm64 on amd64; (rule, line, message)
    /// of the CD13x findings.
    fn lint(text: &str) -> Vec<(String, usize, String)> {
        lint_for(text, "linux/amd64,linux/arm64")
    }

    fn lint_for(text: &str, platforms: &str) -> Vec<(String, usize, String)> {
        let opts = LintOptions {
            platforms: crossbuild::parse_platform_list(platforms).unwrap(),
            build_platform: Platform::parse("linux/amd64").unwrap(),
            build_args: Default::default(),
            settings: Default::default(),
        };
        let (df, findings) = lint_source(SourceFile::new("Dockerfile", text), &opts).unwrap();
        findings
            .into_iter()
            .filter(|f| f.rule.starts_with("CD13"))
            .map(|f| {
                (
                    f.rule.to_string(),
                    df.source.location(f.span.start).line,
                    f.message,
                )
            })
            .collect()
    }

    fn rules(text: &str) -> Vec<String> {
        lint(text).into_iter().map(|(r, _, _)| r).collect()
    }

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn probes() {
        for yes in [
            "uname -m",
            "uname -sm",
            "uname --machine",
            "/bin/uname -p",
            "arch",
            "dpkg --print-architecture",
            "dpkg-architecture -qDEB_HOST_ARCH",
            "apk --print-arch",
            "rpm --eval %_arch",
            "rpm -E %{_arch}",
        ] {
            assert!(arch_probe(&words(yes)).is_some(), "{yes}");
        }
        for no in [
            "uname -a",
            "uname -r",
            "uname",
            "arch --help",
            "dpkg --add-architecture arm64",
            "dpkg-architecture -aarm64 -qDEB_HOST_MULTIARCH",
            "apk add curl",
            "rpm -qa",
            "archive",
        ] {
            assert!(arch_probe(&words(no)).is_none(), "{no}");
        }
    }

    #[test]
    fn cross_compilers_and_packages() {
        for yes in [
            "aarch64-linux-gnu-gcc",
            "/usr/bin/arm-linux-gnueabihf-gcc-12",
            "x86_64-w64-mingw32-gcc",
            "aarch64-alpine-linux-musl-clang",
            "xx-clang",
            "zig cc -target aarch64-linux-musl",
            "clang --target=aarch64-linux-gnu",
            "o64-clang",
        ] {
            assert!(is_cross_cc(yes), "{yes}");
        }
        for no in ["gcc", "cc", "clang", "/usr/bin/gcc-12", "musl-gcc", ""] {
            assert!(!is_cross_cc(no), "{no}");
        }
        assert!(is_cross_cc_package("gcc-aarch64-linux-gnu"));
        assert!(is_cross_cc_package("crossbuild-essential-arm64"));
        assert!(is_cross_cc_package("gcc-mingw-w64-x86-64"));
        assert!(!is_cross_cc_package("gcc"));
        assert!(!is_cross_cc_package("gcc-12"));
    }

    #[test]
    fn library_dev_packages() {
        for yes in [
            "libssl-dev",
            "zlib1g-dev",
            "openssl-dev",
            "sqlite-dev",
            "libpq-devel",
        ] {
            assert!(is_library_dev(yes), "{yes}");
        }
        for no in [
            "pkg-config",
            "libc6-dev",
            "musl-dev",
            "libc6-dev-arm64-cross",
            "crossbuild-essential-arm64",
            "gcc-aarch64-linux-gnu",
            "binutils-dev",
            "libstdc++-12-dev",
            "libgcc-12-dev",
            "golang-github-foo-dev",
            "curl",
        ] {
            assert!(!is_library_dev(no), "{no}");
        }
    }

    #[test]
    fn go_install_names_and_platform_dirs() {
        assert_eq!(
            install_names(&words("go install -ldflags -s ./cmd/app")),
            Some(vec!["app".to_string()])
        );
        assert_eq!(
            install_names(&words("go install example.com/x/cmd/tool/v2@v2.1.0")),
            Some(vec!["tool".to_string()])
        );
        assert_eq!(install_names(&words("go install ./...")), None);
        assert_eq!(install_names(&words("go install .")), None);
        assert!(platform_dir("linux_arm64"));
        assert!(platform_dir("${TARGETOS}_${TARGETARCH}"));
        assert!(!platform_dir("my_tool"));
        assert!(!platform_dir("app"));
    }

    #[test]
    fn missed_paths() {
        let cross = |names: Option<&[&str]>| Install {
            dir: Some("linux_arm64".into()),
            names: names.map(|n| n.iter().map(|s| s.to_string()).collect()),
        };
        let native = |names: Option<&[&str]>| Install {
            dir: None,
            names: names.map(|n| n.iter().map(|s| s.to_string()).collect()),
        };
        let app: &[&str] = &["app"];
        let tool: &[&str] = &["tool"];
        assert!(missed(&[cross(Some(app))], "app").is_some());
        assert!(missed(&[cross(Some(app))], "linux_arm64/app").is_none());
        assert!(missed(&[cross(Some(app))], "linux_amd64/app").is_some());
        assert!(missed(&[cross(Some(app))], "").is_some());
        assert!(missed(&[cross(Some(app))], "*").is_none());
        assert!(missed(&[native(Some(app))], "app").is_none());
        assert!(missed(&[native(Some(app))], "linux_amd64/app").is_some());
        // A native tool next to a cross-compiled app: the tool is in bin/.
        assert!(missed(&[native(Some(tool)), cross(Some(app))], "tool").is_none());
        assert!(missed(&[native(Some(tool)), cross(Some(app))], "app").is_some());
        // A binary no install names: written by something else.
        assert!(missed(&[cross(Some(app))], "other").is_none());
        assert!(missed(&[cross(None)], "other").is_some());
    }

    #[test]
    fn gobin_from_env_arg_command_and_go_env() {
        let base = "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nARG TARGETOS TARGETARCH\n";
        let tail = "FROM scratch\nCOPY --from=build /usr/local/bin/app /app\n";
        let env = format!("{base}ENV GOBIN=/usr/local/bin\nRUN GOOS=$TARGETOS GOARCH=$TARGETARCH go install ./cmd/app\n{tail}");
        let got = lint(&env);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "CD131");
        assert!(
            got[0].2.contains("GOBIN=/usr/local/bin by ENV"),
            "{}",
            got[0].2
        );
        assert!(got[0].2.contains("for linux/arm64 with"), "{}", got[0].2);
        let cmd = format!("{base}RUN GOBIN=/usr/local/bin GOOS=$TARGETOS GOARCH=$TARGETARCH go install ./cmd/app\n{tail}");
        assert_eq!(rules(&cmd), ["CD131"]);
        let goenv = format!("{base}RUN go env -w GOBIN=/usr/local/bin\nRUN GOOS=$TARGETOS GOARCH=$TARGETARCH go install ./cmd/app\n{tail}");
        assert!(lint(&goenv)[0].2.contains("by `go env -w`"));
        // Emptied on the command, or a native install: fine.
        let unset = format!("{base}ENV GOBIN=/usr/local/bin\nRUN GOBIN= GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /usr/local/bin/app ./cmd/app\n{tail}");
        assert!(rules(&unset).is_empty());
        let native = format!("{base}ENV GOBIN=/usr/local/bin\nRUN go install ./cmd/app\n{tail}");
        assert!(rules(&native).is_empty());
        // xx-go --wrap makes later go commands cross-compile.
        let wrap = format!("FROM --platform=$BUILDPLATFORM tonistiigi/xx AS xx\nFROM --platform=$BUILDPLATFORM golang AS build\nCOPY --from=xx / /\nARG TARGETPLATFORM\nENV GOBIN=/out\nRUN xx-go --wrap\nRUN go install ./cmd/app\n{tail}");
        assert_eq!(rules(&wrap), ["CD131"]);
    }

    #[test]
    fn copy_from_go_bin() {
        let build = "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nARG TARGETOS TARGETARCH\nRUN GOOS=$TARGETOS GOARCH=$TARGETARCH go install ./cmd/app\n";
        let plain =
            format!("{build}FROM alpine\nCOPY --from=build /go/bin/app /usr/local/bin/app\n");
        let got = lint(&plain);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].2.contains("/go/bin/linux_arm64/ for linux/arm64"),
            "{}",
            got[0].2
        );
        assert_eq!(got[0].1, 5);
        // The per-platform directory misses the native linux/amd64 build.
        let dir = format!("{build}FROM alpine\nARG TARGETOS TARGETARCH\nCOPY --from=build /go/bin/${{TARGETOS}}_${{TARGETARCH}}/app /app\n");
        let got = lint(&dir);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].2.contains("for linux/amd64"), "{}", got[0].2);
        assert!(lint_for(&dir, "linux/arm64,linux/riscv64").is_empty());
        // Moved out of the per-platform directory.
        let moved = format!("{build}RUN if [ -d /go/bin/${{TARGETOS}}_${{TARGETARCH}} ]; then mv /go/bin/${{TARGETOS}}_${{TARGETARCH}}/* /go/bin/; fi\nFROM alpine\nCOPY --from=build /go/bin/app /app\n");
        assert!(rules(&moved).is_empty());
        // The whole bin/ directory: the binary lands in linux_arm64/.
        let whole = format!("{build}FROM alpine\nCOPY --from=build /go/bin/ /usr/local/bin/\n");
        let got = lint(&whole);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0]
                .2
                .contains("puts the binaries for linux/arm64 in a subdirectory"),
            "{}",
            got[0].2
        );
        // $GOPATH in the source.
        let gopath = format!("{build}FROM alpine\nCOPY --from=build $GOPATH/bin/app /app\n");
        assert_eq!(rules(&gopath), ["CD131"]);
    }

    #[test]
    fn built_binaries_cross_and_emulated() {
        let cross = "FROM --platform=$BUILDPLATFORM golang AS build\nARG TARGETOS TARGETARCH\nENV GOOS=$TARGETOS GOARCH=$TARGETARCH\nRUN go test ./...\nRUN go build -o /out/gen ./cmd/gen && /out/gen\nFROM scratch\nCOPY --from=build /out /\n";
        let got = lint(cross);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got
            .iter()
            .all(|(r, _, m)| r == "CD132" && m.contains("for linux/arm64 and then runs")));
        // Native tests and a native tool beside a cross build: fine.
        let native = "FROM --platform=$BUILDPLATFORM golang AS build\nARG TARGETOS TARGETARCH\nRUN go test ./...\nRUN go build -o /out/gen ./cmd/gen && /out/gen\nRUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .\nFROM scratch\nCOPY --from=build /out/app /app\n";
        assert!(rules(native).is_empty(), "{:?}", lint(native));
        // Emulated: works today, blocks cross-compiling.
        let emulated = "FROM golang AS build\nRUN go test ./... && go test -c -o /x ./pkg\nRUN go build -o /out/gen ./cmd/gen && /out/gen\nFROM scratch\nCOPY --from=build /out /\n";
        let got = lint(emulated);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[0].2.contains("emulation for linux/arm64"),
            "{}",
            got[0].2
        );
        // Cargo: a cross build's binary, and a runner.
        let cargo = "FROM --platform=$BUILDPLATFORM rust AS build\nRUN cargo test --target aarch64-unknown-linux-gnu\nRUN ./target/aarch64-unknown-linux-gnu/release/app --version\nRUN CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER=qemu-aarch64 cargo test --target aarch64-unknown-linux-gnu\nFROM scratch\nCOPY --from=build /app /app\n";
        let got = lint_for(cargo, "linux/arm64");
        assert_eq!(
            got.iter().map(|g| g.1).collect::<Vec<_>>(),
            [2, 3],
            "{got:?}"
        );
    }

    #[test]
    fn cgo_needs_a_cross_compiler() {
        let base = "FROM --platform=$BUILDPLATFORM golang AS build\nARG TARGETOS TARGETARCH\n";
        let tail = "FROM scratch\nCOPY --from=build /out/app /app\n";
        let bad = format!("{base}RUN CGO_ENABLED=1 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .\n{tail}");
        let got = lint(&bad);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].2.contains("CC is unset"), "{}", got[0].2);
        for good in [
            format!("{base}RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .\n{tail}"),
            format!("{base}RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .\n{tail}"),
            format!("{base}RUN CGO_ENABLED=1 CC=aarch64-linux-gnu-gcc GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .\n{tail}"),
            format!("{base}RUN apt-get update && apt-get install -y gcc-aarch64-linux-gnu\nRUN CGO_ENABLED=1 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .\n{tail}"),
            format!("{base}RUN CGO_ENABLED=1 CC=\"$(cat /cc)\" GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .\n{tail}"),
            format!("{base}RUN CGO_ENABLED=1 go build -o /out/app .\n{tail}"),
        ] {
            assert!(rules(&good).is_empty(), "{good}: {:?}", lint(&good));
        }
        let plain_cc = format!("{base}ENV CC=gcc CGO_ENABLED=1\nRUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .\n{tail}");
        assert!(lint(&plain_cc)[0].2.contains("(CC=gcc)"));
    }

    #[test]
    fn host_dev_packages() {
        let bad = "FROM --platform=$BUILDPLATFORM debian AS build\nARG TARGETARCH\nRUN apt-get install -y crossbuild-essential-${TARGETARCH} libssl-dev pkg-config\nRUN make CC=aarch64-linux-gnu-gcc\nFROM scratch\nCOPY --from=build /out /\n";
        let got = lint(bad);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "CD134");
        assert!(got[0].2.contains("installs libssl-dev for"), "{}", got[0].2);
        let good = bad.replace("libssl-dev", "libssl-dev:${TARGETARCH}");
        assert!(rules(&good).is_empty());
        // The host copy stays when the target's copy is installed too, also through a
        // variable that a later install expands (as `crossdock rewrite` writes it).
        let both = bad.replace(
            "RUN make",
            "RUN pkgs=\"libssl-dev:$arch\" && apt-get install -y $pkgs\nRUN make",
        );
        assert!(rules(&both).is_empty(), "{:?}", lint(&both));
        let other = both.replace("libssl-dev:$arch", "zlib1g-dev:$arch");
        assert_eq!(rules(&other), ["CD134"], "{:?}", lint(&other));
        // No C compiled for the target: the build machine's libraries are right.
        let host_only = "FROM --platform=$BUILDPLATFORM golang AS build\nARG TARGETOS TARGETARCH\nRUN apt-get install -y libssl-dev\nRUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .\nFROM scratch\nCOPY --from=build /out /\n";
        assert!(rules(host_only).is_empty());
        // Alpine with --root: the target's sysroot.
        let apk = "FROM --platform=$BUILDPLATFORM golang:alpine AS build\nARG TARGETOS TARGETARCH\nRUN apk add --root /aarch64-alpine-linux-musl openssl-dev && apk add gcc-aarch64-linux-gnu\nRUN apk add openssl-dev\nRUN CGO_ENABLED=1 CC=aarch64-linux-gnu-gcc GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .\nFROM scratch\nCOPY --from=build /out /\n";
        let got = lint(apk);
        assert_eq!(got.iter().map(|g| g.1).collect::<Vec<_>>(), [4], "{got:?}");
    }

    #[test]
    fn arch_probes_in_build_stages() {
        let bad = "FROM --platform=$BUILDPLATFORM alpine AS fetch\nRUN curl -fsSL -o /tool.tgz https://example.com/tool-$(uname -m).tgz\nRUN ARCH=`dpkg --print-architecture` && echo $ARCH\nFROM alpine\nCOPY --from=fetch /tool.tgz /\n";
        let got = lint(bad);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[0].2.starts_with("`uname -m` in stage fetch"),
            "{}",
            got[0].2
        );
        assert!(got[0].2.contains("(linux/amd64)"), "{}", got[0].2);
        assert!(got[0].2.ends_with("for linux/arm64"), "{}", got[0].2);
        // On the target platform, or only feeding build-platform stages, or comparing
        // with the target: fine.
        let target = bad.replace("--platform=$BUILDPLATFORM ", "");
        assert!(rules(&target).is_empty());
        let tool = "FROM --platform=$BUILDPLATFORM alpine AS fetch\nRUN curl -o /protoc.zip https://example.com/protoc-$(uname -m).zip\nFROM --platform=$BUILDPLATFORM golang AS build\nCOPY --from=fetch /protoc.zip /\nFROM scratch\nCOPY --from=build /out /\n";
        assert!(rules(tool).is_empty());
        let compare = "FROM --platform=$BUILDPLATFORM debian AS build\nARG TARGETARCH\nRUN if [ \"$(dpkg --print-architecture)\" != \"$TARGETARCH\" ]; then echo cross; fi\nFROM scratch\nCOPY --from=build /out /\n";
        assert!(rules(compare).is_empty(), "{:?}", lint(compare));
        // The rewrite's own check: `crossdock_debian_arch` comes from $TARGETPLATFORM.
        let rewritten = "FROM --platform=$BUILDPLATFORM debian AS build\nARG TARGETPLATFORM\nRUN case \"$TARGETPLATFORM\" in linux/arm64) crossdock_debian_arch=arm64 ;; esac && if [ \"$crossdock_debian_arch\" = \"$(dpkg --print-architecture)\" ]; then echo native; fi\nFROM scratch\nCOPY --from=build /out /\n";
        assert!(rules(rewritten).is_empty(), "{:?}", lint(rewritten));
        let other = rewritten.replace("$crossdock_debian_arch", "$HOSTARCH");
        assert_eq!(rules(&other), ["CD135"], "{:?}", lint(&other));
    }

    /// Damaged versions of the rule cases and the corpus: never a panic.
    #[test]
    fn damaged_files_never_panic() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dirs: Vec<std::path::PathBuf> = ["CD131", "CD132", "CD133", "CD134", "CD135"]
            .iter()
            .map(|d| root.join("tests/lint").join(d))
            .collect();
        dirs.push(root.join("../tests/conformance/cases"));
        let opts = LintOptions {
            platforms: crossbuild::parse_platform_list("linux/amd64,linux/arm64,linux/arm/v7")
                .unwrap(),
            build_platform: Platform::parse("linux/amd64").unwrap(),
            build_args: Default::default(),
            settings: Default::default(),
        };
        let run = |text: &str| {
            let _ = lint_source(SourceFile::new("Dockerfile", text), &opts);
        };
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(text) = std::fs::read_to_string(entry.path()) else {
                    continue;
                };
                for (i, _) in text.match_indices('\n') {
                    run(&text[..i]);
                }
                if text.len() > 4096 {
                    continue;
                }
                let chars: Vec<(usize, char)> = text.char_indices().collect();
                for &(i, c) in chars.iter().step_by(13) {
                    run(&format!("{}{}", &text[..i], &text[i + c.len_utf8()..]));
                }
            }
        }
    }

    #[test]
    fn realistic_conformance_files_are_clean() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/cases");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !(name.starts_with("realistic-") && name.ends_with(".Dockerfile")) {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(lint(&text).is_empty(), "{name}: {:?}", lint(&text));
        }
    }
}
