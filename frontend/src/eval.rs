//! Evaluation: a [`Program`] for one target platform, as BuildKit's dockerfile2llb
//! resolves it before building anything.
//!
//! - The global scope holds the automatic platform ARGs (BUILDPLATFORM, TARGETARCH, ...)
//!   and the ARGs declared before the first FROM, with `--build-arg` overriding both.
//! - FROM image names and `FROM --platform` are expanded in the global scope only.
//! - Inside a stage nothing from the global scope is visible until it is re-declared
//!   with `ARG NAME`; then it takes the global value (so `ARG TARGETARCH` in a
//!   `--platform=$BUILDPLATFORM` stage still yields the *target* architecture).
//! - A stage built `FROM` an earlier stage inherits that stage's platform and ENV (its
//!   own `--platform` is ignored); `FROM scratch` is always on the target platform.
//! - Stages are referenced by FROM, `COPY --from` and `RUN --mount=from=`, by name or by
//!   index; the stages a target needs are those reachable from it.

use std::collections::{BTreeMap, BTreeSet};

use crossbuild::{automatic_args, Platform};

use crate::expand::{Expanded, Lexer};
use crate::instructions::{CommandKind, Program, Stage};
use crate::source::Span;
use crate::syntax::Dockerfile;

/// What an evaluation needs besides the Dockerfile.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// The platform the build runs on.
    pub build_platform: Platform,
    /// `--build-arg` values.
    pub build_args: BTreeMap<String, String>,
    /// `--target`: the stage to build (default: the last one).
    pub target_stage: Option<String>,
}

/// A located evaluation failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    /// What went wrong and what to do.
    pub message: String,
    /// Where.
    pub span: Span,
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EvalError {}

/// Where a stage's platform comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlatformSource {
    /// `--platform=$BUILDPLATFORM` (or an expression using BUILD* args): runs natively.
    Build,
    /// No `--platform` (or one using TARGET* args): the platform being built.
    Target,
    /// A literal such as `--platform=linux/amd64`.
    Constant,
    /// An expression of other ARGs.
    Expression,
    /// `FROM <earlier stage>`: that stage's platform.
    Inherited,
}

/// What a stage starts from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "ref")]
pub enum Base {
    /// An image reference (expanded).
    Image(String),
    /// An earlier stage, by index.
    Stage(usize),
    /// `scratch`.
    Scratch,
}

/// A stage evaluated for one target platform.
#[derive(Debug, Clone)]
pub struct EvalStage {
    /// Index in the file.
    pub index: usize,
    /// `AS` name.
    pub name: Option<String>,
    /// What it starts from.
    pub base: Base,
    /// The platform its steps run on.
    pub platform: Platform,
    /// Where that platform comes from.
    pub platform_source: PlatformSource,
    /// Stages it reads from (base, `COPY --from`, `RUN --mount=from`), by index.
    pub deps: BTreeSet<usize>,
    /// Per command of the stage (same order as [`Stage::commands`]): the variables in
    /// scope when it runs (declared ARGs and ENV), before its own effect.
    pub scopes: Vec<Scope>,
    /// The scope after the last command: what a stage built `FROM` this one inherits.
    pub final_scope: Scope,
}

impl EvalStage {
    /// `name` or `stage-N`, as BuildKit shows stages.
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("stage-{}", self.index))
    }
}

/// The variables visible to a command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// ARGs declared in the stage so far, with their values (None: declared, no value).
    pub args: BTreeMap<String, Option<String>>,
    /// ENV set so far in the stage (and inherited from a stage base).
    pub env: BTreeMap<String, String>,
}

impl Scope {
    /// The variables as expansion sees them: ENV overrides ARG of the same name.
    pub fn vars(&self) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = self
            .args
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .collect();
        out.extend(self.env.clone());
        out
    }
}

/// A whole Dockerfile evaluated for one target platform.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The platform being built.
    pub target_platform: Platform,
    /// The platform the build runs on.
    pub build_platform: Platform,
    /// Every stage, in file order.
    pub stages: Vec<EvalStage>,
    /// The index of the target stage.
    pub target: usize,
    /// Whether the target needs each stage (index-aligned with `stages`).
    pub needed: Vec<bool>,
    /// The global scope (automatic platform ARGs and meta ARGs).
    pub globals: BTreeMap<String, String>,
}

fn err(message: impl Into<String>, span: Span) -> EvalError {
    EvalError {
        message: message.into(),
        span,
    }
}

fn expand(
    lexer: &Lexer,
    word: &str,
    vars: &BTreeMap<String, String>,
    span: &Span,
) -> Result<Expanded, EvalError> {
    lexer
        .process_word(word, vars)
        .map_err(|e| err(format!("failed to process \"{word}\": {e}"), span.clone()))
}

/// Finds a stage by name (names are lower-case) or, for `COPY --from`, by index.
fn find_stage(program: &Program, reference: &str, allow_index: bool) -> Option<usize> {
    let lower = reference.to_ascii_lowercase();
    if let Some(s) = program
        .stages
        .iter()
        .find(|s| s.name.as_deref() == Some(&lower))
    {
        return Some(s.index);
    }
    if allow_index {
        if let Ok(i) = reference.parse::<usize>() {
            return (i < program.stages.len()).then_some(i);
        }
    }
    None
}

/// The stage names and indexes, for messages.
fn stage_list(program: &Program) -> String {
    let names: Vec<String> = program
        .stages
        .iter()
        .map(|s| s.name.clone().unwrap_or_else(|| s.index.to_string()))
        .collect();
    names.join(", ")
}

/// Evaluates `program` for `target_platform`.
pub fn evaluate(
    df: &Dockerfile,
    program: &Program,
    target_platform: &Platform,
    opts: &EvalOptions,
) -> Result<Evaluation, EvalError> {
    let lexer = Lexer::new(df.escape);
    let target = match &opts.target_stage {
        None => program.stages.len() - 1,
        Some(name) => {
            let lower = name.to_ascii_lowercase();
            program
                .stages
                .iter()
                .find(|s| s.name.as_deref() == Some(&lower))
                .map(|s| s.index)
                .ok_or_else(|| {
                    err(
                        format!(
                            "target stage \"{name}\" could not be found; the stages are: {}",
                            stage_list(program)
                        ),
                        0..0,
                    )
                })?
        }
    };
    let target_name = program.stages[target].name.clone().unwrap_or_default();

    // Global scope: automatic args (overridable by build args), then meta args.
    let mut globals: BTreeMap<String, String> =
        automatic_args(&opts.build_platform, target_platform, &target_name)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
    for (k, v) in &opts.build_args {
        if globals.contains_key(k) {
            globals.insert(k.clone(), v.clone());
        }
    }
    for meta in &program.meta_args {
        let span = df.instructions[meta.instruction].span.clone();
        for decl in &meta.args {
            if let Some(v) = opts.build_args.get(&decl.name) {
                globals.insert(decl.name.clone(), v.clone());
            } else if let Some(default) = &decl.default {
                let value = expand(&lexer, default, &globals, &span)?.value;
                globals.insert(decl.name.clone(), value);
            }
        }
    }

    let mut stages: Vec<EvalStage> = Vec::with_capacity(program.stages.len());
    for stage in &program.stages {
        let evaluated = eval_stage(
            df,
            program,
            stage,
            &stages,
            &globals,
            &lexer,
            target_platform,
            opts,
        )?;
        stages.push(evaluated);
    }

    check_cycles(df, program, &stages)?;

    let mut needed = vec![false; stages.len()];
    let mut todo = vec![target];
    while let Some(i) = todo.pop() {
        if std::mem::replace(&mut needed[i], true) {
            continue;
        }
        todo.extend(stages[i].deps.iter().copied());
    }
    Ok(Evaluation {
        target_platform: target_platform.clone(),
        build_platform: opts.build_platform.clone(),
        stages,
        target,
        needed,
        globals,
    })
}

/// BuildKit refuses stages that depend on themselves, directly (`COPY --from` its own
/// stage) or through others.
fn check_cycles(df: &Dockerfile, program: &Program, stages: &[EvalStage]) -> Result<(), EvalError> {
    // 0 = unvisited, 1 = on the current path, 2 = done.
    fn visit(i: usize, stages: &[EvalStage], state: &mut [u8]) -> Option<usize> {
        match state[i] {
            1 => return Some(i),
            2 => return None,
            _ => {}
        }
        state[i] = 1;
        for &d in &stages[i].deps {
            if let Some(c) = visit(d, stages, state) {
                return Some(c);
            }
        }
        state[i] = 2;
        None
    }
    let mut state = vec![0u8; stages.len()];
    for i in 0..stages.len() {
        if let Some(c) = visit(i, stages, &mut state) {
            return Err(err(
                format!(
                    "circular dependency detected on stage: {}",
                    stages[c].display_name()
                ),
                df.instructions[program.stages[c].from].span.clone(),
            ));
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn eval_stage(
    df: &Dockerfile,
    program: &Program,
    stage: &Stage,
    earlier: &[EvalStage],
    globals: &BTreeMap<String, String>,
    lexer: &Lexer,
    target_platform: &Platform,
    opts: &EvalOptions,
) -> Result<EvalStage, EvalError> {
    let from_span = df.instructions[stage.from].span.clone();
    let base_word = expand(lexer, &stage.base, globals, &stage.base_span)?.value;
    if base_word.is_empty() {
        return Err(err(
            format!(
                "base name ({}) should not be blank; set the ARG it uses with --build-arg or give it a default",
                stage.base
            ),
            stage.base_span.clone(),
        ));
    }
    let base_stage = earlier
        .iter()
        .find(|s| s.name.as_deref() == Some(base_word.as_str()));
    let base = match base_stage {
        Some(s) => Base::Stage(s.index),
        None if base_word == "scratch" => Base::Scratch,
        None => Base::Image(base_word.clone()),
    };

    let (platform, platform_source) = match (&base, &stage.platform) {
        (Base::Stage(i), _) => (earlier[*i].platform.clone(), PlatformSource::Inherited),
        (Base::Scratch, _) | (Base::Image(_), None) => {
            (target_platform.clone(), PlatformSource::Target)
        }
        (Base::Image(_), Some(flag)) => {
            let m = expand(lexer, &flag.value, globals, &flag.span)?;
            if m.value.is_empty() {
                return Err(err(
                    format!("empty platform value from expression {}", flag.value),
                    flag.span.clone(),
                ));
            }
            let platform = Platform::parse(&m.value).map_err(|e| {
                err(
                    format!("failed to parse platform {}: {e}", flag.value),
                    flag.span.clone(),
                )
            })?;
            let uses = |prefix: &str| m.matched.iter().any(|v| v.starts_with(prefix));
            let source = if uses("BUILD") {
                PlatformSource::Build
            } else if uses("TARGET") {
                PlatformSource::Target
            } else if m.matched.is_empty() {
                PlatformSource::Constant
            } else {
                PlatformSource::Expression
            };
            (platform, source)
        }
    };

    let mut deps = BTreeSet::new();
    let mut scope = Scope::default();
    if let Base::Stage(i) = base {
        deps.insert(i);
        // A stage built FROM another inherits its ENV and its declared ARGs (BuildKit's
        // reference: "An ARG variable declared within a build stage is automatically
        // inherited by other stages based on that stage").
        scope = earlier[i].final_scope.clone();
    }
    let mut scopes = Vec::with_capacity(stage.commands.len());
    for cmd in &stage.commands {
        let span = df.instructions[cmd.instruction].span.clone();
        scopes.push(scope.clone());
        match &cmd.kind {
            CommandKind::Arg(arg) => {
                for decl in &arg.args {
                    let value = if let Some(v) = opts.build_args.get(&decl.name) {
                        Some(v.clone())
                    } else if let Some(default) = &decl.default {
                        Some(expand(lexer, default, &scope.vars(), &span)?.value)
                    } else {
                        globals.get(&decl.name).cloned()
                    };
                    scope.args.insert(decl.name.clone(), value);
                }
            }
            CommandKind::Env(pairs) => {
                for kv in pairs {
                    let value = expand(lexer, &kv.value, &scope.vars(), &span)?.value;
                    scope.env.insert(kv.key.clone(), value);
                }
            }
            CommandKind::Copy(copy) => {
                if let Some(from) = &copy.from {
                    if from.value.contains('$') {
                        return Err(err(
                            "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround",
                            from.span.clone(),
                        ));
                    }
                    if let Some(i) = find_stage(program, &from.value, true) {
                        deps.insert(i);
                    } else if from.value.parse::<usize>().is_ok() {
                        return Err(err(
                            format!(
                                "invalid stage index {}; the stages are: {}",
                                from.value,
                                stage_list(program)
                            ),
                            from.span.clone(),
                        ));
                    }
                }
            }
            CommandKind::Run(run) => {
                for m in &run.mounts {
                    if let Some(from) = &m.from {
                        if let Some(i) = find_stage(program, from, true) {
                            deps.insert(i);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let _ = from_span;
    Ok(EvalStage {
        index: stage.index,
        name: stage.name.clone(),
        base,
        platform,
        platform_source,
        deps,
        scopes,
        final_scope: scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instructions::parse_program;
    use crate::source::SourceFile;
    use crate::syntax::parse;

    fn eval_with(
        text: &str,
        target: &str,
        args: &[(&str, &str)],
        stage: Option<&str>,
    ) -> Result<Evaluation, EvalError> {
        let df = parse(SourceFile::new("Dockerfile", text)).expect("parses");
        let program = parse_program(&df).expect("valid");
        let opts = EvalOptions {
            build_platform: Platform::parse("linux/amd64").unwrap(),
            build_args: args
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            target_stage: stage.map(str::to_string),
        };
        evaluate(&df, &program, &Platform::parse(target).unwrap(), &opts)
    }

    fn eval(text: &str, target: &str) -> Evaluation {
        eval_with(text, target, &[], None).expect("evaluates")
    }

    #[test]
    fn platform_sources() {
        let text = "FROM --platform=$BUILDPLATFORM golang AS build\nFROM --platform=${BUILDPLATFORM:-linux/amd64} x AS b2\nFROM --platform=linux/arm64 y AS c\nFROM --platform=$TARGETPLATFORM z AS d\nFROM build AS e\nFROM scratch\n";
        let e = eval(text, "linux/arm/v7");
        let got: Vec<_> = e
            .stages
            .iter()
            .map(|s| (s.platform.to_string(), s.platform_source))
            .collect();
        use PlatformSource::*;
        assert_eq!(
            got,
            [
                ("linux/amd64".into(), Build),
                ("linux/amd64".into(), Build),
                ("linux/arm64".into(), Constant),
                ("linux/arm/v7".into(), Target),
                ("linux/amd64".into(), Inherited),
                ("linux/arm/v7".into(), Target),
            ]
        );
    }

    #[test]
    fn global_args_expand_from_and_build_args_override() {
        let text = "ARG GO=1.22\nARG BASE=golang:${GO}\nFROM ${BASE} AS build\nFROM debian:${DEB:-bookworm}\n";
        let e = eval(text, "linux/amd64");
        assert_eq!(e.stages[0].base, Base::Image("golang:1.22".into()));
        assert_eq!(e.stages[1].base, Base::Image("debian:bookworm".into()));
        let e = eval_with(text, "linux/amd64", &[("GO", "1.23")], None).unwrap();
        assert_eq!(e.stages[0].base, Base::Image("golang:1.23".into()));
    }

    #[test]
    fn stage_args_need_redeclaring_and_take_global_values() {
        let text = "FROM --platform=$BUILDPLATFORM golang\nRUN a\nARG TARGETARCH\nARG X=1\nENV GOARCH=$TARGETARCH Y=${X}2\nRUN b\n";
        let e = eval(text, "linux/arm64");
        let s = &e.stages[0];
        assert!(s.scopes[0].args.is_empty());
        let last = &s.scopes[4];
        assert_eq!(last.args["TARGETARCH"].as_deref(), Some("arm64"));
        assert_eq!(last.env["GOARCH"], "arm64");
        assert_eq!(last.env["Y"], "12");
    }

    #[test]
    fn stages_built_from_a_stage_inherit_its_args_and_env() {
        let text = "FROM a AS base\nARG TARGETARCH\nENV LAST=yes\nFROM base AS child\nRUN x\n";
        let e = eval(text, "linux/arm64");
        let child = &e.stages[1].scopes[0];
        assert_eq!(child.args["TARGETARCH"].as_deref(), Some("arm64"));
        assert_eq!(child.env["LAST"], "yes");
    }

    #[test]
    fn needed_stages_follow_from_copy_and_mounts() {
        let text = "FROM a AS unused\nFROM a AS dep\nFROM a AS mnt\nFROM dep AS build\nRUN --mount=from=mnt,target=/m x\nFROM scratch\nCOPY --from=build /x /x\nCOPY --from=0 /y /y\n";
        let e = eval(text, "linux/amd64");
        assert_eq!(e.needed, [true, true, true, true, true]);
        let e = eval_with(text, "linux/amd64", &[], Some("build")).unwrap();
        assert_eq!(e.needed, [false, true, true, true, false]);
        assert_eq!(e.stages[3].base, Base::Stage(1));
    }

    #[test]
    fn errors_name_the_problem() {
        let cases = [
            ("FROM $NOPE\n", "base name ($NOPE) should not be blank"),
            (
                "FROM --platform=$EMPTY a\n",
                "empty platform value from expression $EMPTY",
            ),
            (
                "FROM --platform=linux/arm/v7/x a\n",
                "failed to parse platform linux/arm/v7/x",
            ),
            (
                "FROM a\nFROM b\nCOPY --from=7 /a /b\n",
                "invalid stage index 7; the stages are: 0, 1",
            ),
            (
                "FROM a\nCOPY --from=$X /a /b\n",
                "variable expansion is not supported for --from",
            ),
        ];
        for (text, want) in cases {
            match eval_with(text, "linux/amd64", &[], None) {
                Err(e) => assert!(e.message.starts_with(want), "{text:?}: {}", e.message),
                Ok(_) => panic!("{text:?} should fail"),
            }
        }
        let e = eval_with("FROM a AS x\n", "linux/amd64", &[], Some("y")).unwrap_err();
        assert_eq!(
            e.message,
            "target stage \"y\" could not be found; the stages are: x"
        );
    }

    #[test]
    fn target_stage_arg_names_the_target() {
        let e = eval("FROM a AS first\nFROM b AS last\n", "linux/amd64");
        assert_eq!(e.globals["TARGETSTAGE"], "last");
        assert_eq!(e.globals["TARGETPLATFORM"], "linux/amd64");
    }
}
