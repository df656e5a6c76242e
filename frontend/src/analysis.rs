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
    /// Its words from the program on (wrappers such as `sudo` or `env A=B` peeled,
    /// quotes removed, `$VARS` left as written).
    pub words: Vec<String>,
    /// Where each of `words` is written (aligned with `words`; the instruction's span
    /// when the script has no exact mapping, e.g. exec form).
    pub word_spans: Vec<Span>,
    /// `NAME=value` assignments given to this command (prefix, `env`, or earlier
    /// `export` in the same script).
    pub env: Vec<(String, String)>,
    /// What the command is.
    pub kind: StepKind,
    /// The shell constructs it sits in, outermost first (`||`, a pipeline, an `if`
    /// condition, ...).
    pub context: Vec<crate::shell::Construct>,
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
                word_spans: cmd
                    .program_shell_words()
                    .iter()
                    .map(|w| map(&w.span))
                    .collect(),
                env,
                kind,
                context: cmd.context.clone(),
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
    use crate::eval::{evaluate, EvalOptions};
    use crate::instructions::{parse_program, CommandKind};
    use crate::source::SourceFile;
    use crate::syntax::parse;
    use crossbuild::Platform;

    /// Analyses every RUN of the last stage: (span text, kind summary) per step.
    fn steps(text: &str) -> Vec<Vec<(String, String)>> {
        let df = parse(SourceFile::new("Dockerfile", text)).unwrap();
        let program = parse_program(&df).unwrap();
        let amd64 = Platform::parse("linux/amd64").unwrap();
        let opts = EvalOptions {
            build_platform: amd64.clone(),
            build_args: Default::default(),
            target_stage: None,
        };
        let eval = evaluate(
            &df,
            &program,
            &Platform::parse("linux/arm64").unwrap(),
            &opts,
        )
        .unwrap();
        let stage = program.stages.last().unwrap();
        let scopes = &eval.stages[stage.index].scopes;
        let mut memory = StageMemory::default();
        let mut out = Vec::new();
        for (cmd, scope) in stage.commands.iter().zip(scopes) {
            let CommandKind::Run(run) = &cmd.kind else {
                continue;
            };
            let inst = &df.instructions[cmd.instruction];
            let a = analyze_run(inst, run, scope, &mut memory);
            out.push(
                a.steps
                    .iter()
                    .map(|s| {
                        let kind = match &s.kind {
                            StepKind::Toolchain(t) => format!(
                                "{}:{}:{}{}",
                                t.toolchain,
                                t.role.name(),
                                t.summary,
                                if t.cross_aware { ":cross" } else { "" }
                            ),
                            StepKind::Packages(p) => format!(
                                "{}:{}",
                                p.manager,
                                p.packages
                                    .iter()
                                    .map(|p| match &p.arch {
                                        Some(a) => format!("{}:{a}", p.name),
                                        None => p.name.clone(),
                                    })
                                    .collect::<Vec<_>>()
                                    .join(",")
                            ),
                            StepKind::RunsBuiltBinary { program } => {
                                format!("runs-built:{program}")
                            }
                            StepKind::Other => format!("other:{}", s.words.join(" ")),
                        };
                        (df.source.slice(&s.span).to_string(), kind)
                    })
                    .collect(),
            );
        }
        out
    }

    fn kinds(text: &str) -> Vec<Vec<String>> {
        steps(text)
            .into_iter()
            .map(|r| r.into_iter().map(|(_, k)| k).collect())
            .collect()
    }

    #[test]
    fn shell_form_chains_env_prefixes_and_spans() {
        let text = "FROM golang\nRUN apt-get update && apt-get install -y gcc-aarch64-linux-gnu libc6-dev:arm64 && \\\n    CGO_ENABLED=0 go build -o /out/app ./cmd/app\n";
        let s = steps(text);
        assert_eq!(
            s[0],
            [
                (
                    "apt-get update".to_string(),
                    "other:apt-get update".to_string()
                ),
                (
                    "apt-get install -y gcc-aarch64-linux-gnu libc6-dev:arm64".to_string(),
                    "apt-get:gcc-aarch64-linux-gnu,libc6-dev:arm64".to_string()
                ),
                (
                    "CGO_ENABLED=0 go build -o /out/app ./cmd/app".to_string(),
                    "go:compile:go build".to_string()
                ),
            ]
        );
    }

    #[test]
    fn cross_awareness_from_prefix_export_env_and_arg() {
        let text = "FROM --platform=$BUILDPLATFORM golang\nARG TARGETARCH\nRUN GOARCH=$TARGETARCH go build .\nRUN export GOARCH=$TARGETARCH; go build .\nENV GOOS=linux GOARCH=arm64\nRUN go build .\n";
        assert_eq!(
            kinds(text),
            [
                vec!["go:compile:go build:cross".to_string()],
                vec!["go:compile:go build:cross".to_string()],
                vec!["go:compile:go build:cross".to_string()],
            ]
        );
        let plain = "FROM golang\nRUN go build .\n";
        assert_eq!(kinds(plain), [vec!["go:compile:go build".to_string()]]);
    }

    #[test]
    fn heredoc_bodies_exec_form_and_sh_c() {
        let text = "FROM rust\nRUN <<EOF\nset -e\ncargo build --release\nEOF\nRUN [\"cargo\", \"build\", \"--release\"]\nRUN [\"sh\", \"-c\", \"make -j4 && make install\"]\nRUN python3 <<EOF\nimport os\nEOF\n";
        let s = steps(text);
        // The heredoc body is the script; its span points into the body.
        assert_eq!(
            s[0].last().unwrap(),
            &(
                "cargo build --release".to_string(),
                "rust:compile:cargo build".to_string()
            )
        );
        assert_eq!(kinds(text)[1], ["rust:compile:cargo build"]);
        assert_eq!(kinds(text)[2], ["c:compile:make", "c:install:make install"]);
        // A heredoc fed to python is not a shell script.
        assert_eq!(kinds(text)[3], ["other:python3"]);
    }

    #[test]
    fn running_what_the_stage_built() {
        let text = "FROM golang\nRUN go build -o /out/tool ./cmd/tool\nRUN /out/tool --generate > x\nRUN gcc -o hello hello.c && ./hello\nRUN cargo build --release && ./target/release/app --version\n";
        let k = kinds(text);
        assert_eq!(k[1], ["runs-built:/out/tool"]);
        assert_eq!(k[2], ["c:compile:gcc", "runs-built:./hello"]);
        assert_eq!(k[3][1], "runs-built:./target/release/app");
    }

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
