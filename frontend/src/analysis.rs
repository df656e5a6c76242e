//! Analysis: what each RUN does — which toolchain commands it runs, which packages it
//! installs and for which architecture, and whether it executes something the stage
//! built.
//!
//! A RUN's text is a shell script (shell form, `sh -c` in exec form, or heredoc bodies
//! fed to a shell); [`crate::shell`] splits it into simple commands and
//! [`crossbuild::classify_command`] recognises toolchain commands by their words, from
//! the data in `toolchains/*.toml`.

use std::collections::BTreeSet;

use crossbuild::{classify_command, Role};

use crate::eval::Scope;
use crate::instructions::{ExecOrShell, RunCommand};
use crate::shell::{split_commands, SimpleCommand};
use crate::source::Span;
use crate::syntax::Instruction;

/// One command found inside a RUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Where the command is written (the whole instruction when it cannot be mapped).
    pub span: Span,
    /// Its words (quotes removed, `$VARS` left as written).
    pub words: Vec<String>,
    /// `NAME=value` assignments given to this command (prefix, `env`, or earlier
    /// `export` in the same script).
    pub env: Vec<(String, String)>,
    /// What the command is.
    pub kind: StepKind,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// A toolchain command (`go build`, `cargo build`, `make`, ...).
    Toolchain(ToolchainStep),
    /// A package installation.
    Packages(PackageInstall),
    /// Executes a program built earlier in the stage (breaks when cross-compiled).
    RunsBuiltBinary {
        /// The program as written.
        program: String,
    },
    /// Anything else.
    Other,
}

/// A recognised toolchain command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolchainStep {
    /// Toolchain id from the data file (`go`, `rust`, `c`, ...).
    pub toolchain: String,
    /// What the command does.
    pub role: Role,
    /// The command already targets another platform (a triple-prefixed compiler,
    /// `--target`, GOARCH from TARGET args, an xx helper, ...).
    pub cross_aware: bool,
    /// Short description, e.g. `go build`.
    pub summary: String,
}

/// A package manager invocation that installs packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageInstall {
    /// `apt-get`, `apt`, `apk`, `dnf`, `yum`, `microdnf`.
    pub manager: String,
    /// Packages, with a `:arch` qualifier split off.
    pub packages: Vec<Package>,
}

/// One package named on an install command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// The package name.
    pub name: String,
    /// The `:arch` qualifier (Debian multiarch), if any.
    pub arch: Option<String>,
}

/// The steps of one RUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAnalysis {
    /// Commands in script order.
    pub steps: Vec<Step>,
}

impl RunAnalysis {
    /// The toolchain steps.
    pub fn toolchain_steps(&self) -> impl Iterator<Item = (&Step, &ToolchainStep)> {
        self.steps.iter().filter_map(|s| match &s.kind {
            StepKind::Toolchain(t) => Some((s, t)),
            _ => None,
        })
    }

    /// Whether any step writes code for the platform it runs on (compile, install,
    /// configure).
    pub fn compiles(&self) -> bool {
        self.toolchain_steps()
            .any(|(_, t)| t.role.targets_platform())
    }
}

/// What the analysis remembers across the RUNs of one stage.
#[derive(Debug, Clone, Default)]
pub struct StageMemory {
    /// Paths that compile steps wrote (`-o /out/app`).
    pub outputs: BTreeSet<String>,
}

const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh", "ksh"];

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// Where a script's text lives in the source, to map command spans back.
#[derive(Clone, Copy)]
enum Origin {
    /// The instruction's argument text (through the logical line map).
    Args,
    /// Raw text starting at this source offset (a heredoc body).
    Raw(usize),
    /// No exact mapping (exec form): use the instruction's span.
    Unmapped,
}

/// The scripts a RUN hands to a shell, with where each one is written.
fn scripts(inst: &Instruction, run: &RunCommand) -> Vec<(String, Origin)> {
    let mut out = Vec::new();
    match &run.command {
        ExecOrShell::Shell(text) => {
            out.push((text.clone(), Origin::Args));
            // Heredoc bodies run as scripts when the command is only the heredoc
            // (`RUN <<EOF`) or a shell reading it (`RUN bash <<EOF`).
            let words: Vec<&str> = text.split_whitespace().collect();
            let feeds_shell = match words.first() {
                Some(w) if w.contains("<<") => true,
                Some(w) => SHELLS.contains(&basename(w)),
                None => false,
            };
            if feeds_shell {
                for (doc, syn) in run.heredocs.iter().zip(&inst.heredocs) {
                    let shebang = doc.1.lines().next().unwrap_or("");
                    let shell_script = !shebang.starts_with("#!")
                        || SHELLS
                            .iter()
                            .any(|s| shebang.ends_with(s) || shebang.contains(&format!("/{s} ")));
                    if shell_script {
                        out.push((doc.1.clone(), Origin::Raw(syn.span.start)));
                    }
                }
            }
        }
        ExecOrShell::Exec(args) => {
            // ["sh", "-c", "script"] runs a script; other exec forms are one command.
            if let [sh, flag, script, ..] = args.as_slice() {
                if SHELLS.contains(&basename(sh)) && flag.starts_with('-') && flag.contains('c') {
                    out.push((script.clone(), Origin::Unmapped));
                    return out;
                }
            }
            let quoted: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
            out.push((quoted.join(" "), Origin::Unmapped));
        }
    }
    out
}

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

/// Analyses one RUN in its scope, updating what the stage has built so far.
pub fn analyze_run(
    inst: &Instruction,
    run: &RunCommand,
    scope: &Scope,
    memory: &mut StageMemory,
) -> RunAnalysis {
    let mut steps = Vec::new();
    for (script, origin) in scripts(inst, run) {
        let map = |range: &std::ops::Range<usize>| -> Span {
            match origin {
                Origin::Args => inst.args_span(range.clone()),
                // Heredoc bodies are raw text: offsets map one to one.
                Origin::Raw(base) => (base + range.start)..(base + range.end),
                Origin::Unmapped => inst.span.clone(),
            }
        };
        let mut exported: Vec<(String, String)> = Vec::new();
        for cmd in split_commands(&script) {
            let words = cmd.program_words();
            if words.first() == Some(&"export") {
                for w in &words[1..] {
                    if let Some((k, v)) = w.split_once('=') {
                        exported.push((k.to_string(), v.to_string()));
                    }
                }
                continue;
            }
            if words.is_empty() {
                // A bare assignment (`GOARCH=arm64`) sets a shell variable for later lines.
                for (k, v) in cmd.env() {
                    exported.push((k.to_string(), v.to_string()));
                }
                continue;
            }
            let mut env = exported.clone();
            env.extend(
                cmd.env()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string())),
            );
            let kind = classify(&cmd, &words, &env, scope, memory);
            steps.push(Step {
                span: map(&cmd.span),
                words: words.iter().map(|w| w.to_string()).collect(),
                env,
                kind,
            });
        }
    }
    RunAnalysis { steps }
}

fn classify(
    cmd: &SimpleCommand,
    words: &[&str],
    env: &[(String, String)],
    scope: &Scope,
    memory: &mut StageMemory,
) -> StepKind {
    let _ = cmd;
    let program = words[0];
    if memory.outputs.contains(program)
        || memory.outputs.iter().any(|o| {
            program
                .strip_prefix("./")
                .is_some_and(|p| o.ends_with(&format!("/{p}")) || o == p)
        })
        || program.contains("target/release/")
        || program.contains("target/debug/")
    {
        return StepKind::RunsBuiltBinary {
            program: program.to_string(),
        };
    }
    if let Some(packages) = package_install(words) {
        return StepKind::Packages(packages);
    }
    let Some(m) = classify_command(words) else {
        return StepKind::Other;
    };
    if let Some(out) = output_path(words) {
        memory.outputs.insert(out);
    }
    // Variables in effect: the stage's ENV and ARGs, then this command's own.
    let vars = scope.vars();
    let in_effect: Vec<(&str, &str)> = vars
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .collect();
    let cross_aware = m.cross_evidence(&in_effect).is_some();
    StepKind::Toolchain(ToolchainStep {
        toolchain: m.toolchain.id().to_string(),
        role: m.role,
        cross_aware,
        summary: m.pattern.description().to_string(),
    })
}

/// `go build`, `make`, `gcc` — the program and its subcommand (for messages about
/// commands that matched no toolchain pattern).
#[cfg(test)]
fn summary(words: &[&str]) -> String {
    let program = basename(words[0]);
    match words.get(1) {
        Some(sub)
            if !sub.starts_with('-')
                && !sub.contains('/')
                && !sub.contains('.')
                && !sub.contains('=') =>
        {
            format!("{program} {sub}")
        }
        _ => program.to_string(),
    }
}

/// The `-o PATH` of a compile command.
fn output_path(words: &[&str]) -> Option<String> {
    let mut it = words.iter();
    while let Some(w) = it.next() {
        if *w == "-o" {
            return it.next().map(|p| p.to_string());
        }
        if let Some(p) = w.strip_prefix("-o=") {
            return Some(p.to_string());
        }
    }
    None
}

/// Recognises `apt-get install`, `apt install`, `apk add`, `dnf/yum/microdnf install`.
pub fn package_install(words: &[&str]) -> Option<PackageInstall> {
    let manager = basename(words.first()?);
    let verb = match manager {
        "apt-get" | "apt" | "aptitude" | "dnf" | "yum" | "microdnf" | "tdnf" | "zypper" => {
            "install"
        }
        "apk" => "add",
        _ => return None,
    };
    let mut rest = words[1..].iter();
    // Options before the verb (`apt-get -y install`, `apk --no-cache add`).
    let mut found = false;
    let mut packages = Vec::new();
    let mut skip_next = false;
    for w in rest.by_ref() {
        if skip_next {
            skip_next = false;
            continue;
        }
        if !found {
            if *w == verb {
                found = true;
            } else if matches!(*w, "-o" | "-t" | "--repository" | "-X" | "--root" | "-p") {
                skip_next = true;
            } else if !w.starts_with('-') {
                return None;
            }
            continue;
        }
        if matches!(
            *w,
            "-o" | "-t" | "--repository" | "-X" | "--root" | "-p" | "--virtual" | "-t="
        ) {
            skip_next = true;
            continue;
        }
        if w.starts_with('-') || w.is_empty() {
            continue;
        }
        let (name, arch) = match w.split_once(':') {
            Some((n, a)) if !a.is_empty() && !n.is_empty() => (n.to_string(), Some(a.to_string())),
            _ => (w.to_string(), None),
        };
        packages.push(Package { name, arch });
    }
    found.then_some(PackageInstall {
        manager: manager.to_string(),
        packages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_installs() {
        let p = package_install(&[
            "apt-get",
            "install",
            "-y",
            "--no-install-recommends",
            "gcc",
            "libssl-dev:arm64",
        ])
        .unwrap();
        assert_eq!(p.manager, "apt-get");
        assert_eq!(
            p.packages,
            [
                Package {
                    name: "gcc".into(),
                    arch: None
                },
                Package {
                    name: "libssl-dev".into(),
                    arch: Some("arm64".into())
                }
            ]
        );
        let p = package_install(&["apk", "--no-cache", "add", "build-base", "musl-dev"]).unwrap();
        assert_eq!(p.packages.len(), 2);
        assert!(package_install(&["apt-get", "update"]).is_none());
        assert!(package_install(&["apk", "info"]).is_none());
        assert!(package_install(&["echo", "install"]).is_none());
    }

    #[test]
    fn summaries() {
        assert_eq!(summary(&["go", "build", "-o", "x"]), "go build");
        assert_eq!(summary(&["/usr/bin/make", "-j4"]), "make");
        assert_eq!(summary(&["./configure", "--prefix=/usr"]), "configure");
        assert_eq!(summary(&["gcc", "main.c"]), "gcc");
    }
}
