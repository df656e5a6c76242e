//! The instruction layer: parsed instructions → typed stages and commands, with the
//! checks BuildKit makes at this point (known keywords, allowed flags, argument counts,
//! stage names).
//!
//! Values stay unexpanded here (`$VAR` is still text); [`crate::eval`] expands them per
//! target platform.

use crate::source::Span;
use crate::syntax::{Dockerfile, Flag, Instruction, SyntaxError};

/// A Dockerfile split into global ARGs and stages.
#[derive(Debug, Clone)]
pub struct Program {
    /// ARG instructions before the first FROM (BuildKit's meta args).
    pub meta_args: Vec<ArgCommand>,
    /// Stages in file order.
    pub stages: Vec<Stage>,
}

/// A build stage: a FROM and the commands after it.
#[derive(Debug, Clone)]
pub struct Stage {
    /// 0-based position in the file (what `COPY --from=0` refers to).
    pub index: usize,
    /// The `AS` name, lower-cased as BuildKit stores it.
    pub name: Option<String>,
    /// Where the name is written.
    pub name_span: Option<Span>,
    /// The base as written (`golang:${GO_VERSION}`, `build`, `scratch`).
    pub base: String,
    /// Where the base is written.
    pub base_span: Span,
    /// The `--platform` flag as written.
    pub platform: Option<FlagValue>,
    /// Index of the FROM instruction in [`Dockerfile::instructions`].
    pub from: usize,
    /// The commands of the stage, in order.
    pub commands: Vec<Command>,
}

/// A flag value and where the flag is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagValue {
    /// The value, unexpanded.
    pub value: String,
    /// The whole flag (`--platform=$BUILDPLATFORM`).
    pub span: Span,
}

/// One instruction inside a stage.
#[derive(Debug, Clone)]
pub struct Command {
    /// Index in [`Dockerfile::instructions`].
    pub instruction: usize,
    /// What it does.
    pub kind: CommandKind,
}

/// The typed instructions.
#[derive(Debug, Clone)]
#[allow(missing_docs)] // each variant is the instruction of the same name
pub enum CommandKind {
    Arg(ArgCommand),
    Env(Vec<KeyValue>),
    Label(Vec<KeyValue>),
    Run(RunCommand),
    Copy(CopyCommand),
    Workdir(String),
    User(String),
    Shell(Vec<String>),
    Cmd(ExecOrShell),
    Entrypoint(ExecOrShell),
    Expose(Vec<String>),
    Volume(Vec<String>),
    StopSignal(String),
    Healthcheck(Vec<String>),
    Maintainer(String),
    Onbuild(Box<CommandKind>),
}

/// `KEY=value` as written (quotes still present; expansion removes them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The name.
    pub key: String,
    /// The raw value.
    pub value: String,
}

/// `ARG NAME[=default] ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgCommand {
    /// Index in [`Dockerfile::instructions`].
    pub instruction: usize,
    /// The declared names with raw defaults.
    pub args: Vec<ArgDecl>,
}

/// One name declared by ARG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    /// The name.
    pub name: String,
    /// The raw default, if any.
    pub default: Option<String>,
}

/// Exec form (JSON) or shell form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecOrShell {
    /// `["a", "b"]`.
    Exec(Vec<String>),
    /// A command line for the shell.
    Shell(String),
}

/// `RUN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCommand {
    /// The command.
    pub command: ExecOrShell,
    /// `--mount` options.
    pub mounts: Vec<Mount>,
    /// `--network`.
    pub network: Option<String>,
    /// Heredoc bodies, by name.
    pub heredocs: Vec<(String, String)>,
}

/// A `RUN --mount`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mount {
    /// `type` (bind when omitted).
    pub kind: String,
    /// `from` (a stage or image).
    pub from: Option<String>,
    /// `source`/`src`.
    pub source: Option<String>,
    /// `target`/`dst`/`destination`.
    pub target: Option<String>,
}

/// `COPY` or `ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyCommand {
    /// True for ADD.
    pub is_add: bool,
    /// `--from`.
    pub from: Option<FlagValue>,
    /// Sources as written (heredoc names appear as `<<NAME`).
    pub sources: Vec<String>,
    /// Destination as written.
    pub dest: String,
}

fn error(inst: &Instruction, message: impl Into<String>) -> SyntaxError {
    SyntaxError {
        message: message.into(),
        span: inst.span.clone(),
    }
}

/// What kind of value a flag takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FlagKind {
    Bool,
    String,
    /// May be given several times.
    Strings,
}

/// The flags each instruction accepts (BuildKit's instructions/parse.go).
fn allowed_flags(keyword: &str) -> &'static [(&'static str, FlagKind)] {
    use FlagKind::*;
    match keyword {
        "from" => &[("platform", String)],
        "run" => &[
            ("mount", Strings),
            ("network", String),
            ("security", String),
            ("device", Strings),
        ],
        "copy" => &[
            ("from", String),
            ("chown", String),
            ("chmod", String),
            ("link", Bool),
            ("parents", Bool),
            ("exclude", Strings),
        ],
        "add" => &[
            ("chown", String),
            ("chmod", String),
            ("link", Bool),
            ("keep-git-dir", Bool),
            ("checksum", String),
            ("unpack", Bool),
            ("exclude", Strings),
        ],
        "healthcheck" => &[
            ("interval", String),
            ("timeout", String),
            ("start-period", String),
            ("start-interval", String),
            ("retries", String),
        ],
        _ => &[],
    }
}

/// BuildKit's BFlags.Parse.
fn check_flags(inst: &Instruction, keyword: &str) -> Result<(), SyntaxError> {
    let allowed = allowed_flags(keyword);
    let mut seen: Vec<&str> = Vec::new();
    for Flag {
        raw, name, value, ..
    } in &inst.flags
    {
        if !raw.starts_with("--") {
            return Err(error(inst, format!("arg should start with -- : {raw}")));
        }
        let Some(&(_, kind)) = allowed.iter().find(|(n, _)| n == name) else {
            return Err(error(inst, format!("unknown flag: {name}")));
        };
        if kind != FlagKind::Strings {
            if seen.contains(&name.as_str()) {
                return Err(error(inst, format!("duplicate flag specified: {name}")));
            }
            seen.push(name);
        }
        match (kind, value.as_deref()) {
            (FlagKind::Bool, Some(v))
                if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") =>
            {
                return Err(error(
                    inst,
                    format!("expecting boolean value for flag {name}, not: {v}"),
                ));
            }
            (FlagKind::String | FlagKind::Strings, None) => {
                return Err(error(inst, format!("missing a value on flag: {name}")));
            }
            _ => {}
        }
    }
    Ok(())
}

fn flag_value(inst: &Instruction, name: &str) -> Option<FlagValue> {
    inst.flag(name).map(|f| FlagValue {
        value: f.value.clone().unwrap_or_default(),
        span: f.span.clone(),
    })
}

fn at_least_one(inst: &Instruction, keyword: &str) -> Result<(), SyntaxError> {
    if inst.args.is_empty() {
        return Err(error(
            inst,
            format!("{keyword} requires at least one argument"),
        ));
    }
    Ok(())
}

fn exactly_one(inst: &Instruction, keyword: &str) -> Result<String, SyntaxError> {
    match inst.args.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(error(
            inst,
            format!("{keyword} requires exactly one argument"),
        )),
    }
}

/// `^[a-z][a-z0-9-_.]*$`
fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

/// Splits a `--mount` value (`type=cache,target=/x`).
fn parse_mount(value: &str) -> Mount {
    let mut m = Mount {
        kind: "bind".to_string(),
        ..Mount::default()
    };
    for field in value.split(',') {
        let (k, v) = field.split_once('=').unwrap_or((field, ""));
        match k.trim().to_ascii_lowercase().as_str() {
            "type" => m.kind = v.to_string(),
            "from" => m.from = Some(v.to_string()),
            "source" | "src" => m.source = Some(v.to_string()),
            "target" | "dst" | "destination" => m.target = Some(v.to_string()),
            _ => {}
        }
    }
    m
}

fn exec_or_shell(inst: &Instruction) -> ExecOrShell {
    if inst.json {
        ExecOrShell::Exec(inst.args.clone())
    } else {
        ExecOrShell::Shell(inst.args.first().cloned().unwrap_or_default())
    }
}

fn key_values(inst: &Instruction, keyword: &str) -> Result<Vec<KeyValue>, SyntaxError> {
    at_least_one(inst, keyword)?;
    let mut out = Vec::new();
    for pair in inst.args.chunks(2) {
        let [key, value] = pair else {
            return Err(error(
                inst,
                format!("Bad input to {keyword}, too many arguments"),
            ));
        };
        if key.is_empty() {
            return Err(error(inst, format!("{keyword} names can not be blank")));
        }
        out.push(KeyValue {
            key: key.clone(),
            value: value.clone(),
        });
    }
    Ok(out)
}

fn parse_arg(inst: &Instruction, index: usize) -> Result<ArgCommand, SyntaxError> {
    at_least_one(inst, "ARG")?;
    let mut args = Vec::new();
    for word in &inst.args {
        let decl = match word.split_once('=') {
            Some(("", _)) => return Err(error(inst, "ARG names can not be blank")),
            Some((k, v)) => ArgDecl {
                name: k.to_string(),
                default: Some(v.to_string()),
            },
            None => ArgDecl {
                name: word.clone(),
                default: None,
            },
        };
        args.push(decl);
    }
    Ok(ArgCommand {
        instruction: index,
        args,
    })
}

/// Types one instruction that is not FROM.
fn parse_command(inst: &Instruction, index: usize) -> Result<CommandKind, SyntaxError> {
    let keyword = inst.keyword.to_ascii_lowercase();
    if !matches!(
        keyword.as_str(),
        "arg"
            | "env"
            | "label"
            | "run"
            | "copy"
            | "add"
            | "workdir"
            | "user"
            | "shell"
            | "cmd"
            | "entrypoint"
            | "expose"
            | "volume"
            | "stopsignal"
            | "healthcheck"
            | "maintainer"
            | "onbuild"
    ) {
        return Err(error(
            inst,
            format!("unknown instruction: {}", inst.keyword_upper()),
        ));
    }
    check_flags(inst, &keyword)?;
    Ok(match keyword.as_str() {
        "arg" => CommandKind::Arg(parse_arg(inst, index)?),
        "env" => CommandKind::Env(key_values(inst, "ENV")?),
        "label" => CommandKind::Label(key_values(inst, "LABEL")?),
        "run" => {
            let mounts = inst
                .flags
                .iter()
                .filter(|f| f.name == "mount")
                .map(|f| parse_mount(f.value.as_deref().unwrap_or("")))
                .collect();
            CommandKind::Run(RunCommand {
                command: exec_or_shell(inst),
                mounts,
                network: inst.flag("network").and_then(|f| f.value.clone()),
                heredocs: inst
                    .heredocs
                    .iter()
                    .map(|h| (h.name.clone(), h.content.clone()))
                    .collect(),
            })
        }
        "copy" | "add" => {
            let name = inst.keyword_upper();
            match inst.args.len() {
                0 => return Err(error(inst, format!("{name} requires at least one argument"))),
                1 => {
                    return Err(error(
                        inst,
                        format!("{name} requires at least two arguments, but only one was provided. Destination could not be determined"),
                    ))
                }
                _ => {}
            }
            let (dest, sources) = inst.args.split_last().unwrap_or((&inst.args[0], &[]));
            CommandKind::Copy(CopyCommand {
                is_add: keyword == "add",
                from: flag_value(inst, "from"),
                sources: sources.to_vec(),
                dest: dest.clone(),
            })
        }
        "workdir" => CommandKind::Workdir(exactly_one(inst, "WORKDIR")?),
        "user" => CommandKind::User(exactly_one(inst, "USER")?),
        "stopsignal" => CommandKind::StopSignal(exactly_one(inst, "STOPSIGNAL")?),
        "maintainer" => CommandKind::Maintainer(exactly_one(inst, "MAINTAINER")?),
        "shell" => {
            if inst.args.is_empty() {
                return Err(error(inst, "SHELL requires at least one argument"));
            }
            if !inst.json {
                return Err(error(
                    inst,
                    "SHELL requires the arguments to be in JSON form",
                ));
            }
            CommandKind::Shell(inst.args.clone())
        }
        "cmd" => CommandKind::Cmd(exec_or_shell(inst)),
        "entrypoint" => CommandKind::Entrypoint(exec_or_shell(inst)),
        "expose" => {
            at_least_one(inst, "EXPOSE")?;
            CommandKind::Expose(inst.args.clone())
        }
        "volume" => {
            at_least_one(inst, "VOLUME")?;
            CommandKind::Volume(inst.args.clone())
        }
        "healthcheck" => {
            at_least_one(inst, "HEALTHCHECK")?;
            let typ = inst.args[0].to_ascii_uppercase();
            if typ != "CMD" && typ != "NONE" {
                return Err(error(
                    inst,
                    format!("Unknown type \"{}\" in HEALTHCHECK (try CMD)", inst.args[0]),
                ));
            }
            CommandKind::Healthcheck(inst.args.clone())
        }
        _ => {
            // ONBUILD
            let Some(sub) = inst.sub.as_deref() else {
                return Err(error(inst, "ONBUILD requires at least one argument"));
            };
            let trigger = sub.keyword_upper();
            match trigger.as_str() {
                "ONBUILD" => {
                    return Err(error(
                        inst,
                        "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
                    ))
                }
                "MAINTAINER" | "FROM" => {
                    return Err(error(
                        inst,
                        format!("{trigger} isn't allowed as an ONBUILD trigger"),
                    ))
                }
                _ => {}
            }
            CommandKind::Onbuild(Box::new(parse_command(sub, index)?))
        }
    })
}

/// Splits a parsed Dockerfile into stages, checking each instruction as BuildKit does.
pub fn parse_program(df: &Dockerfile) -> Result<Program, SyntaxError> {
    let mut meta_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for (index, inst) in df.instructions.iter().enumerate() {
        if inst.is("from") {
            check_flags(inst, "from")?;
            let (name, name_span) = match inst.args.as_slice() {
                [_] => (None, None),
                [_, as_kw, name] if as_kw.eq_ignore_ascii_case("as") => {
                    let lower = name.to_ascii_lowercase();
                    if !valid_stage_name(&lower) {
                        return Err(error(
                            inst,
                            format!("invalid name for build stage: \"{name}\", name can't start with a number or contain symbols"),
                        ));
                    }
                    let at = inst.args_text.rfind(name.as_str()).unwrap_or(0);
                    (Some(lower), Some(inst.args_span(at..at + name.len())))
                }
                _ => return Err(error(inst, "FROM requires either one or three arguments")),
            };
            let base = inst.args[0].clone();
            let base_span = inst.args_span(0..base.len());
            stages.push(Stage {
                index: stages.len(),
                name,
                name_span,
                base,
                base_span,
                platform: flag_value(inst, "platform"),
                from: index,
                commands: Vec::new(),
            });
            continue;
        }
        let kind = parse_command(inst, index)?;
        match stages.last_mut() {
            Some(stage) => stage.commands.push(Command {
                instruction: index,
                kind,
            }),
            None => match kind {
                CommandKind::Arg(arg) => meta_args.push(arg),
                _ => return Err(error(inst, "no build stage in current context")),
            },
        }
    }
    if stages.is_empty() {
        let span = df.instructions.last().map_or(0..0, |i| i.span.clone());
        return Err(SyntaxError {
            message: "the Dockerfile has no FROM instruction, so it has no build stage".into(),
            span,
        });
    }
    Ok(Program { meta_args, stages })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use crate::syntax::parse;

    fn program(text: &str) -> Result<Program, SyntaxError> {
        let df = parse(SourceFile::new("Dockerfile", text)).expect("parses");
        parse_program(&df)
    }

    #[test]
    fn stages_meta_args_and_names() {
        let text = "ARG GO=1.22\nFROM golang:${GO} AS Build\nRUN go build\nFROM scratch\nCOPY --from=build /a /b\n";
        let p = program(text).unwrap();
        assert_eq!(p.meta_args[0].args[0].name, "GO");
        assert_eq!(p.meta_args[0].args[0].default.as_deref(), Some("1.22"));
        assert_eq!(p.stages.len(), 2);
        assert_eq!(p.stages[0].name.as_deref(), Some("build"));
        assert_eq!(&text[p.stages[0].base_span.clone()], "golang:${GO}");
        assert_eq!(&text[p.stages[0].name_span.clone().unwrap()], "Build");
        let CommandKind::Copy(copy) = &p.stages[1].commands[0].kind else {
            panic!("expected COPY")
        };
        assert_eq!(copy.from.as_ref().unwrap().value, "build");
        assert_eq!(copy.sources, ["/a"]);
        assert_eq!(copy.dest, "/b");
    }

    #[test]
    fn buildkit_instruction_errors() {
        let cases = [
            ("FROM a\nFOO bar\n", "unknown instruction: FOO"),
            ("FROM a\nCOPY --form=x a b\n", "unknown flag: form"),
            ("FROM a\nCOPY --link=maybe a b\n", "expecting boolean value for flag link, not: maybe"),
            ("FROM a\nCOPY --from a b\n", "missing a value on flag: from"),
            ("FROM --platform=a --platform=b a\n", "duplicate flag specified: platform"),
            ("FROM a b\n", "FROM requires either one or three arguments"),
            ("FROM a AS 1x\n", "invalid name for build stage: \"1x\", name can't start with a number or contain symbols"),
            ("FROM a\nCOPY a\n", "COPY requires at least two arguments, but only one was provided. Destination could not be determined"),
            ("FROM a\nWORKDIR\n", "WORKDIR requires exactly one argument"),
            ("FROM a\nONBUILD FROM b\n", "FROM isn't allowed as an ONBUILD trigger"),
            ("RUN x\n", "no build stage in current context"),
            ("ARG A\n", "the Dockerfile has no FROM instruction, so it has no build stage"),
            ("FROM a\nARG =x\n", "ARG names can not be blank"),
            ("FROM a\nHEALTHCHECK FOO x\n", "Unknown type \"FOO\" in HEALTHCHECK (try CMD)"),
        ];
        for (text, want) in cases {
            match program(text) {
                Err(err) => assert_eq!(err.message, want, "{text:?}"),
                Ok(_) => panic!("{text:?} should fail with {want:?}"),
            }
        }
    }

    #[test]
    fn run_mounts_and_heredocs() {
        let p = program("FROM a\nRUN --mount=type=cache,target=/root/.cache --network=none <<EOF\ngo build\nEOF\n").unwrap();
        let CommandKind::Run(run) = &p.stages[0].commands[0].kind else {
            panic!("expected RUN")
        };
        assert_eq!(run.mounts[0].kind, "cache");
        assert_eq!(run.mounts[0].target.as_deref(), Some("/root/.cache"));
        assert_eq!(run.network.as_deref(), Some("none"));
        assert_eq!(
            run.heredocs,
            [("EOF".to_string(), "go build\n".to_string())]
        );
        assert_eq!(run.command, ExecOrShell::Shell("<<EOF".into()));
    }
}
