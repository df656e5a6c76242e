//! Lint: find the steps that would compile under QEMU, the stages that ship the wrong
//! architecture, and the platform traps.
//!
//! Rules are data: each is a [`Rule`] constant (stable id, name, default severity,
//! summary, doc page) declared in its own module under `rules/`, together with its
//! check and its tests; [`RULES`] lists them all. The runner builds one [`Context`]
//! (the file parsed, evaluated for every target platform, every RUN analysed) and hands
//! it to each rule; which findings are kept (ignored rules, severity overrides, inline
//! `# crossdock ignore=` pragmas) is decided here, apart from the rules. Rendering
//! (tty, json, sarif, ...) is done by [`report`], apart from detection.

mod config;
mod context;
mod pragma;
pub mod report;
mod rules;

use std::collections::BTreeMap;

use serde::Serialize;

pub use config::{
    find_config, resolve_rule_id, Config, ConfigError, CONFIG_FILE_NAME, DEFAULT_LINT_PLATFORMS,
};
pub use context::{Context, RunInfo, StageView};
pub use pragma::Pragmas;
pub use rules::RULES;

use crate::source::Span;

/// How much a finding matters.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For information: worth knowing, not necessarily wrong.
    Info,
    /// Likely wrong or very slow.
    Warning,
    /// Broken: the image is wrong or the build fails.
    Error,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// Parses `error`, `warning` or `info`.
    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "error" => Some(Severity::Error),
            "warning" | "warn" => Some(Severity::Warning),
            "info" | "note" => Some(Severity::Info),
            _ => None,
        }
    }
}

/// Which group a rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// CD10x: a stage compiles under emulation.
    Emulation,
    /// CD11x: a build-platform stage ships the wrong architecture.
    WrongArchitecture,
    /// CD12x: platform ARG traps.
    PlatformArgs,
    /// CD13x: cross-build hazards.
    CrossHazard,
}

/// A lint rule, declared once as data.
#[derive(Debug)]
pub struct Rule {
    /// Stable id, e.g. `CD101`.
    pub id: &'static str,
    /// Short kebab-case name, e.g. `go-compile-under-emulation`.
    pub name: &'static str,
    /// Group.
    pub category: Category,
    /// Severity unless configured otherwise.
    pub default_severity: Severity,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// The doc page (Markdown, `docs/rules/<id>.md`, embedded).
    pub doc: &'static str,
    /// The check.
    pub check: fn(&Context<'_>, &mut Vec<Finding>),
}

impl Rule {
    /// Path of the doc page in the repository.
    pub fn doc_path(&self) -> String {
        format!("docs/rules/{}.md", self.id)
    }
}

/// Looks a rule up by id (case-insensitive).
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.id.eq_ignore_ascii_case(id))
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule.
    pub rule: &'static str,
    /// Severity (after configuration).
    pub severity: Severity,
    /// Where.
    pub span: Span,
    /// What is wrong, naming the step and the platforms concerned.
    pub message: String,
    /// The stage's display name.
    pub stage: Option<String>,
    /// How to fix it (or that `crossdock rewrite` can).
    pub help: Option<String>,
}

impl Finding {
    /// A finding of `rule` at its default severity.
    pub fn new(rule: &'static Rule, span: Span, message: impl Into<String>) -> Self {
        Finding {
            rule: rule.id,
            severity: rule.default_severity,
            span,
            message: message.into(),
            stage: None,
            help: None,
        }
    }

    /// Sets the stage name.
    pub fn stage(mut self, stage: impl Into<String>) -> Self {
        self.stage = Some(stage.into());
        self
    }

    /// Sets the help line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Which rules run and how severe they are, from `.crossdock.toml` and the command line.
#[derive(Debug, Clone, Default)]
pub struct RuleSettings {
    /// Rule ids never reported.
    pub ignore: Vec<String>,
    /// Severity overrides by rule id.
    pub severity: BTreeMap<String, Severity>,
}

/// Runs every rule on a prepared context and returns the findings that survive the
/// settings and the file's pragmas, ordered by position then rule id.
pub fn run(ctx: &Context<'_>, settings: &RuleSettings) -> Vec<Finding> {
    let pragmas = Pragmas::scan(ctx.df);
    let mut out = Vec::new();
    for rule in RULES {
        if settings
            .ignore
            .iter()
            .any(|i| i.eq_ignore_ascii_case(rule.id))
        {
            continue;
        }
        let mut found = Vec::new();
        (rule.check)(ctx, &mut found);
        for mut f in found {
            if pragmas.ignores(ctx.df, rule.id, &f.span) {
                continue;
            }
            if let Some(sev) = settings
                .severity
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(rule.id))
                .map(|(_, v)| *v)
            {
                f.severity = sev;
            }
            out.push(f);
        }
    }
    // By line, then rule, then column: identical across runs.
    let line = |f: &Finding| ctx.df.source.location(f.span.start).line;
    out.sort_by(|a, b| {
        (line(a), a.rule, a.span.start, a.span.end, &a.message).cmp(&(
            line(b),
            b.rule,
            b.span.start,
            b.span.end,
            &b.message,
        ))
    });
    out.dedup();
    out
}

/// What linting a file needs besides the file.
#[derive(Debug, Clone)]
pub struct LintOptions {
    /// Target platforms to lint for.
    pub platforms: Vec<crossbuild::Platform>,
    /// The build machine's platform.
    pub build_platform: crossbuild::Platform,
    /// `--build-arg` values.
    pub build_args: BTreeMap<String, String>,
    /// Ignored rules and severity overrides.
    pub settings: RuleSettings,
}

/// A file that could not be linted: BuildKit would refuse it too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintError {
    /// What is wrong.
    pub message: String,
    /// Where (an empty span at 0 when the problem is not in the file).
    pub span: Span,
}

/// Parses, evaluates and lints one Dockerfile.
pub fn lint_source(
    source: crate::source::SourceFile,
    opts: &LintOptions,
) -> Result<(crate::syntax::Dockerfile, Vec<Finding>), LintError> {
    let df = crate::syntax::parse(source).map_err(|e| LintError {
        message: e.message,
        span: e.span,
    })?;
    let program = crate::instructions::parse_program(&df).map_err(|e| LintError {
        message: e.message,
        span: e.span,
    })?;
    let eval_opts = crate::eval::EvalOptions {
        build_platform: opts.build_platform.clone(),
        build_args: opts.build_args.clone(),
        target_stage: None,
    };
    let findings = {
        let ctx =
            Context::new(&df, &program, &opts.platforms, &eval_opts).map_err(|e| LintError {
                message: e.message,
                span: e.span,
            })?;
        run(&ctx, &opts.settings)
    };
    Ok((df, findings))
}
