//! The image config a stage builds up, instruction by instruction, and its history, as
//! BuildKit's dockerfile2llb records them.
//!
//! What BuildKit does, carried over as facts:
//!
//! - every history entry has the comment `buildkit.dockerfile.v0`; steps that made a
//!   layer through LLB (RUN, COPY, ADD) end their `created_by` with ` # buildkit`;
//!   config-only steps are `empty_layer`;
//! - `RUN`: `RUN [|N K=V ...] <argv joined by spaces> # buildkit`, where the `|N` prefix
//!   lists the stage's ARGs in declaration order (an ENV of the same name wins);
//! - shell-form RUN/CMD/ENTRYPOINT are wrapped in the SHELL (default `/bin/sh -c`);
//! - `CMD %q` and `ENTRYPOINT %q` (Go quoting of the argv); ENTRYPOINT clears a CMD that
//!   this stage did not set itself;
//! - `ENV k=v ...`, `LABEL k=v ...`, `ARG k[=v] ...` (ARGs are in history, not in `Env`),
//!   `USER u`, `WORKDIR /abs` (a layer unless `/`, no ` # buildkit`), `EXPOSE map[80/tcp:{}]`,
//!   `VOLUME [/a /b]`, `SHELL [/bin/bash -c]`, `STOPSIGNAL s`, `HEALTHCHECK &{[...] "30s" ...}`,
//!   `MAINTAINER x` (sets `author`); ONBUILD appends its trigger and writes no history.
//! - ENV, LABEL keys and values, WORKDIR, USER, EXPOSE, VOLUME and STOPSIGNAL are expanded;
//!   CMD, ENTRYPOINT, SHELL, HEALTHCHECK and ONBUILD are not.

use frontend::eval::Scope;
use frontend::expand::Lexer;
use frontend::instructions::{CommandKind, ExecOrShell};
use frontend::syntax::Instruction;

use crate::context::clean_path;
use crate::image::{Healthcheck, ImageConfig};

/// The comment BuildKit writes on every history entry of a Dockerfile build.
pub const HISTORY_COMMENT: &str = "buildkit.dockerfile.v0";

/// The shell used for shell-form commands when SHELL was not set (Linux).
pub const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

/// One history entry of the image being built.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HistoryStep {
    /// What made it.
    pub created_by: String,
    /// `buildkit.dockerfile.v0`.
    pub comment: String,
    /// No layer came with it.
    pub empty_layer: bool,
}

/// A config instruction that is not valid once expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct ConfigError {
    /// `Dockerfile:12`.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

/// What a config instruction asks of the build besides the config change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigEffect {
    /// Only the config changed.
    ConfigOnly,
    /// WORKDIR: the directory must exist, owned by the USER in force: the step makes a
    /// (small) layer.
    Mkdir {
        /// Absolute path.
        path: String,
        /// `USER` at that point, if any.
        user: Option<String>,
    },
}

/// A stage's config and history as its instructions apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageConfig {
    /// The runtime config.
    pub config: ImageConfig,
    /// The history, base image's first.
    pub history: Vec<HistoryStep>,
    /// ARGs declared in the stage so far (inherited from a stage base too), in order,
    /// with their values.
    pub args: Vec<(String, Option<String>)>,
    cmd_set: bool,
}

impl StageConfig {
    /// Starts from a base image's config and history (empty for `scratch`).
    pub fn from_base(config: ImageConfig, history: Vec<HistoryStep>) -> Self {
        Self {
            config,
            history,
            args: Vec::new(),
            cmd_set: false,
        }
    }

    /// A stage built `FROM` another stage: its config, history and ARGs carry over, but
    /// "CMD set in this stage" starts afresh.
    pub fn from_stage(parent: &StageConfig) -> Self {
        Self {
            cmd_set: false,
            ..parent.clone()
        }
    }

    /// The WORKDIR in force (`/` when unset).
    pub fn workdir(&self) -> String {
        self.config
            .working_dir
            .clone()
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".to_string())
    }

    /// The shell for shell-form commands.
    pub fn shell(&self) -> Vec<String> {
        match &self.config.shell {
            Some(s) if !s.is_empty() => s.clone(),
            _ => DEFAULT_SHELL.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// A command's argv: exec form as is, shell form wrapped in the SHELL.
    pub fn argv(&self, cmd: &ExecOrShell) -> Vec<String> {
        match cmd {
            ExecOrShell::Exec(args) => args.clone(),
            ExecOrShell::Shell(line) => {
                let mut argv = self.shell();
                argv.push(line.clone());
                argv
            }
        }
    }

    /// The value a stage ARG has for RUN: the ENV of the same name if set, else its own.
    fn arg_values(&self) -> Vec<(String, String)> {
        self.args
            .iter()
            .map(|(k, v)| {
                let env = self.env_value(k);
                (
                    k.clone(),
                    env.map(str::to_string)
                        .unwrap_or_else(|| v.clone().unwrap_or_default()),
                )
            })
            .collect()
    }

    fn env_value(&self, key: &str) -> Option<&str> {
        self.config.env.iter().find_map(|e| {
            let (k, v) = e.split_once('=').unwrap_or((e, ""));
            (k == key).then_some(v)
        })
    }

    /// The environment a RUN sees: the config's `Env`, then the stage's ARGs that no ENV
    /// overrides (ARGs are visible to RUN but never recorded in the image).
    pub fn run_env(&self) -> Vec<String> {
        let mut env = self.config.env.clone();
        for (k, v) in self.arg_values() {
            if self.env_value(&k).is_none() {
                env.push(format!("{k}={v}"));
            }
        }
        env
    }

    /// BuildKit's `created_by` for a RUN with this argv.
    pub fn run_created_by(&self, argv: &[String]) -> String {
        let mut parts: Vec<String> = Vec::new();
        let args = self.arg_values();
        if !args.is_empty() {
            parts.push(format!("|{}", args.len()));
            parts.extend(args.into_iter().map(|(k, v)| format!("{k}={v}")));
        }
        parts.extend(argv.iter().cloned());
        format!("RUN {} # buildkit", parts.join(" "))
    }

    /// Appends a history entry.
    pub fn record(&mut self, created_by: impl Into<String>, empty_layer: bool) {
        self.history.push(HistoryStep {
            created_by: created_by.into(),
            comment: HISTORY_COMMENT.to_string(),
            empty_layer,
        });
    }

    /// Applies a config instruction (anything but FROM, RUN, COPY and ADD) and records
    /// its history entry. `before`/`after` are the evaluated scopes around it
    /// ([`frontend::eval::EvalStage::scopes`]), `location` names it in errors.
    pub fn apply(
        &mut self,
        kind: &CommandKind,
        inst: &Instruction,
        before: &Scope,
        after: &Scope,
        lexer: &Lexer,
        location: &str,
    ) -> Result<ConfigEffect, ConfigError> {
        let err = |message: String| ConfigError {
            location: location.to_string(),
            message,
        };
        let vars = before.vars();
        let expand = |w: &str| -> Result<String, ConfigError> {
            lexer
                .process_word(w, &vars)
                .map(|e| e.value)
                .map_err(|e| err(format!("failed to process \"{w}\": {e}")))
        };
        match kind {
            CommandKind::Env(pairs) => {
                let mut msg = String::from("ENV");
                // Later pairs see earlier ones (`ENV A=1 B=$A`), as eval computed.
                let mut vars = vars.clone();
                for kv in pairs {
                    let k = lexer
                        .process_word(&kv.key, &vars)
                        .map(|e| e.value)
                        .map_err(|e| err(e.to_string()))?;
                    let v = lexer
                        .process_word(&kv.value, &vars)
                        .map(|e| e.value)
                        .map_err(|e| err(e.to_string()))?;
                    msg.push_str(&format!(" {k}={v}"));
                    self.set_env(&k, &v);
                    vars.insert(k, v);
                }
                self.record(msg, true);
            }
            CommandKind::Arg(arg) => {
                let mut parts = Vec::new();
                for decl in &arg.args {
                    let value = after.args.get(&decl.name).cloned().flatten();
                    match &value {
                        Some(v) => parts.push(format!("{}={v}", decl.name)),
                        None => parts.push(decl.name.clone()),
                    }
                    match self.args.iter_mut().find(|(k, _)| *k == decl.name) {
                        Some(slot) => slot.1 = value,
                        None => self.args.push((decl.name.clone(), value)),
                    }
                }
                self.record(format!("ARG {}", parts.join(" ")), true);
            }
            CommandKind::Label(pairs) => {
                let mut msg = String::from("LABEL");
                for kv in pairs {
                    let k = expand(&kv.key)?;
                    let v = expand(&kv.value)?;
                    msg.push_str(&format!(" {k}={v}"));
                    self.config.labels.insert(k, v);
                }
                self.record(msg, true);
            }
            CommandKind::Workdir(path) => {
                let p = expand(path)?;
                let wd = if p.starts_with('/') {
                    clean_path(&p)
                } else {
                    clean_path(&format!("{}/{p}", self.workdir()))
                };
                self.config.working_dir = Some(wd.clone());
                let layer = wd != "/";
                self.record(format!("WORKDIR {wd}"), !layer);
                if layer {
                    return Ok(ConfigEffect::Mkdir {
                        path: wd,
                        user: self.config.user.clone(),
                    });
                }
            }
            CommandKind::User(user) => {
                let u = expand(user)?;
                self.config.user = Some(u.clone());
                self.record(format!("USER {u}"), true);
            }
            CommandKind::Shell(shell) => {
                self.config.shell = Some(shell.clone());
                self.record(format!("SHELL [{}]", shell.join(" ")), true);
            }
            CommandKind::Cmd(cmd) => {
                let argv = self.argv(cmd);
                self.record(format!("CMD {}", go_quote_list(&argv)), true);
                self.config.cmd = Some(argv);
                self.cmd_set = true;
            }
            CommandKind::Entrypoint(cmd) => {
                let argv = self.argv(cmd);
                self.record(format!("ENTRYPOINT {}", go_quote_list(&argv)), true);
                self.config.entrypoint = Some(argv);
                if !self.cmd_set {
                    self.config.cmd = None;
                }
            }
            CommandKind::Expose(ports) => {
                let mut words = Vec::new();
                for p in ports {
                    words.extend(
                        lexer
                            .process_words(p, &vars)
                            .map_err(|e| err(format!("failed to process \"{p}\": {e}")))?,
                    );
                }
                let mut these = std::collections::BTreeSet::new();
                for w in &words {
                    for port in parse_port_spec(w).map_err(err)? {
                        these.insert(port);
                    }
                }
                let shown: Vec<String> = these.iter().map(|p| format!("{p}:{{}}")).collect();
                self.config.exposed_ports.extend(these);
                self.record(format!("EXPOSE map[{}]", shown.join(" ")), true);
            }
            CommandKind::Volume(vols) => {
                let mut out = Vec::new();
                for v in vols {
                    let v = expand(v)?;
                    if v.is_empty() {
                        return Err(err("VOLUME specified can not be an empty string".into()));
                    }
                    out.push(v);
                }
                self.config.volumes.extend(out.iter().cloned());
                self.record(format!("VOLUME [{}]", out.join(" ")), true);
            }
            CommandKind::StopSignal(sig) => {
                let s = expand(sig)?;
                if !valid_signal(&s) {
                    return Err(err(format!("Invalid signal: {s}")));
                }
                self.config.stop_signal = Some(s.clone());
                self.record(format!("STOPSIGNAL {s}"), true);
            }
            CommandKind::Healthcheck(args) => {
                let h = healthcheck(args, inst).map_err(err)?;
                self.record(format!("HEALTHCHECK {}", healthcheck_history(&h)), true);
                self.config.healthcheck = Some(h);
            }
            CommandKind::Maintainer(m) => {
                self.config.author = Some(m.clone());
                self.record(format!("MAINTAINER {m}"), true);
            }
            CommandKind::Onbuild(_) => {
                // The trigger as written after the keyword (BuildKit keeps the original).
                let line = inst.line.text().trim_start();
                let text = line
                    .get(inst.keyword.len()..)
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                self.config.on_build.push(text);
            }
            CommandKind::Run(_) | CommandKind::Copy(_) => {
                return Err(err(format!(
                    "{} is not a config instruction (a bug: the graph runs it as a step)",
                    inst.keyword_upper()
                )))
            }
        }
        Ok(ConfigEffect::ConfigOnly)
    }

    fn set_env(&mut self, k: &str, v: &str) {
        let entry = format!("{k}={v}");
        match self
            .config
            .env
            .iter_mut()
            .find(|e| e.split_once('=').map_or(e.as_str(), |(a, _)| a) == k)
        {
            Some(slot) => *slot = entry,
            None => self.config.env.push(entry),
        }
    }
}

/// BuildKit's `created_by` for COPY/ADD: flags it shows, sources, heredoc names, dest.
pub fn copy_created_by(
    is_add: bool,
    chown: Option<&str>,
    chmod: Option<&str>,
    sources: &[String],
    heredocs: &[String],
    dest: &str,
) -> String {
    let mut s = String::from(if is_add { "ADD" } else { "COPY" });
    if let Some(c) = chown {
        s.push_str(&format!(" --chown={c}"));
    }
    if let Some(m) = chmod {
        s.push_str(&format!(" --chmod={m}"));
    }
    for src in sources {
        s.push(' ');
        s.push_str(src);
    }
    for h in heredocs {
        s.push_str(&format!(" <<{h}"));
    }
    format!("{s} {dest} # buildkit")
}

/// Go's `strconv.Quote`.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
fn go_quote_list(items: &[String]) -> String {
    let q: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[{}]", q.join(" "))
}

/// Go's `%q` of an integer (a quoted rune).
fn go_quote_rune(n: u64) -> String {
    let c = u32::try_from(n).ok().and_then(char::from_u32);
    match c {
        Some('\'') => "'\\''".into(),
        Some('\\') => "'\\\\'".into(),
        Some('\x07') => "'\\a'".into(),
        Some('\x08') => "'\\b'".into(),
        Some('\x0c') => "'\\f'".into(),
        Some('\n') => "'\\n'".into(),
        Some('\r') => "'\\r'".into(),
        Some('\t') => "'\\t'".into(),
        Some('\x0b') => "'\\v'".into(),
        Some(c) if (c as u32) < 0x20 || c as u32 == 0x7f => format!("'\\x{:02x}'", c as u32),
        Some(c) if !c.is_control() => format!("'{c}'"),
        _ => format!("'\\u{n:04x}'"),
    }
}

/// Go's `time.Duration.String()` for a number of nanoseconds.
pub(crate) fn go_duration(ns: u64) -> String {
    fn frac(v: u64, unit: u64) -> String {
        let whole = v / unit;
        let rest = v % unit;
        if rest == 0 {
            return whole.to_string();
        }
        let digits = unit.ilog10() as usize;
        let f = format!("{rest:0digits$}");
        format!("{whole}.{}", f.trim_end_matches('0'))
    }
    const S: u64 = 1_000_000_000;
    match ns {
        0 => "0s".into(),
        n if n < 1_000 => format!("{n}ns"),
        n if n < 1_000_000 => format!("{}µs", frac(n, 1_000)),
        n if n < S => format!("{}ms", frac(n, 1_000_000)),
        n => {
            let h = n / (3600 * S);
            let m = (n / (60 * S)) % 60;
            let s = frac(n % (60 * S), S);
            if h > 0 {
                format!("{h}h{m}m{s}s")
            } else if m > 0 {
                format!("{m}m{s}s")
            } else {
                format!("{s}s")
            }
        }
    }
}

/// Go's `time.ParseDuration` (non-negative values), in nanoseconds.
pub(crate) fn parse_go_duration(s: &str) -> Result<u64, String> {
    let bad = || format!("time: invalid duration \"{s}\"");
    if s == "0" {
        return Ok(0);
    }
    let mut rest = s;
    let mut total: f64 = 0.0;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("time: missing unit in duration \"{s}\""))?;
        if num_end == 0 {
            return Err(bad());
        }
        let value: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            u => return Err(format!("time: unknown unit \"{u}\" in duration \"{s}\"")),
        };
        total += value * mult;
        rest = &rest[unit_end..];
    }
    Ok(total.round() as u64)
}

fn healthcheck(args: &[String], inst: &Instruction) -> Result<Healthcheck, String> {
    let typ = args
        .first()
        .map(|t| t.to_ascii_uppercase())
        .unwrap_or_default();
    let flag = |name: &str| inst.flag(name).and_then(|f| f.value.clone());
    if typ == "NONE" {
        if args.len() > 1 {
            return Err("HEALTHCHECK NONE takes no arguments".into());
        }
        if !inst.flags.is_empty() {
            return Err("HEALTHCHECK NONE does not support options".into());
        }
        return Ok(Healthcheck {
            test: vec!["NONE".into()],
            ..Healthcheck::default()
        });
    }
    let rest = &args[1..];
    if rest.is_empty() {
        return Err("Missing command after HEALTHCHECK CMD".into());
    }
    let test = if inst.json {
        std::iter::once("CMD".to_string())
            .chain(rest.iter().cloned())
            .collect()
    } else {
        vec!["CMD-SHELL".to_string(), rest.join(" ")]
    };
    let duration = |name: &str| -> Result<u64, String> {
        match flag(name) {
            None => Ok(0),
            Some(v) => {
                let d = parse_go_duration(&v)?;
                if d != 0 && d < 1_000_000 {
                    return Err(format!("Interval \"{name}\" cannot be less than 1ms"));
                }
                Ok(d)
            }
        }
    };
    let retries = match flag("retries") {
        None => 0,
        Some(v) => {
            let n: i64 = v
                .parse()
                .map_err(|_| format!("strconv.ParseInt: parsing \"{v}\": invalid syntax"))?;
            if n < 0 {
                return Err(format!("--retries cannot be negative ({n})"));
            }
            n as u64
        }
    };
    Ok(Healthcheck {
        test,
        interval: duration("interval")?,
        timeout: duration("timeout")?,
        start_period: duration("start-period")?,
        start_interval: duration("start-interval")?,
        retries,
    })
}

/// Go's `%q` of BuildKit's `*HealthcheckConfig`.
fn healthcheck_history(h: &Healthcheck) -> String {
    format!(
        "&{{{} {} {} {} {} {}}}",
        go_quote_list(&h.test),
        go_quote(&go_duration(h.interval)),
        go_quote(&go_duration(h.timeout)),
        go_quote(&go_duration(h.start_period)),
        go_quote(&go_duration(h.start_interval)),
        go_quote_rune(h.retries)
    )
}

/// `nat.ParsePortSpec`'s container side: `80`, `80/udp`, `8000-8002/tcp`,
/// `[ip:][host:]container[/proto]`; protocols lower-cased, `tcp` by default.
fn parse_port_spec(spec: &str) -> Result<Vec<String>, String> {
    let (ports, proto) = match spec.rsplit_once('/') {
        Some((p, proto)) => (p, proto.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    let container = ports.rsplit(':').next().unwrap_or(ports);
    let bad = || format!("invalid containerPort: {container}");
    let (lo, hi) = match container.split_once('-') {
        Some((a, b)) => (
            a.parse::<u16>().map_err(|_| bad())?,
            b.parse::<u16>().map_err(|_| bad())?,
        ),
        None => {
            let p = container.parse::<u16>().map_err(|_| bad())?;
            (p, p)
        }
    };
    if hi < lo {
        return Err(format!(
            "invalid range specified for container port: {container}"
        ));
    }
    Ok((lo..=hi).map(|p| format!("{p}/{proto}")).collect())
}

/// moby/sys/signal's ParseSignal: a number, or a known name with or without `SIG`.
fn valid_signal(s: &str) -> bool {
    const NAMES: &[&str] = &[
        "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
        "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM",
        "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
    ];
    if let Ok(n) = s.parse::<u32>() {
        return n != 0;
    }
    let name = s.strip_prefix("SIG").unwrap_or(s);
    if let Some(rt) = name.strip_prefix("RTMIN") {
        return rt.is_empty()
            || rt
                .strip_prefix('+')
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n <= 15);
    }
    if let Some(rt) = name.strip_prefix("RTMAX") {
        return rt.is_empty()
            || rt
                .strip_prefix('-')
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n <= 14);
    }
    NAMES.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbuild::Platform;
    use frontend::eval::{evaluate, EvalOptions};
    use frontend::instructions::parse_program;
    use frontend::source::SourceFile;
    use frontend::syntax::parse;

    /// Applies every config instruction of the last stage; returns the config state and
    /// the RUN `created_by` strings in order.
    fn build(text: &str) -> Result<(StageConfig, Vec<String>), ConfigError> {
        let df = parse(SourceFile::new("Dockerfile", text)).unwrap();
        let program = parse_program(&df).unwrap();
        let opts = EvalOptions {
            build_platform: Platform::parse("linux/amd64").unwrap(),
            build_args: [("FROMCLI".to_string(), "cli".to_string())].into(),
            target_stage: None,
        };
        let e = evaluate(
            &df,
            &program,
            &Platform::parse("linux/arm64").unwrap(),
            &opts,
        )
        .unwrap();
        let lexer = Lexer::new(df.escape);
        let stage = program.stages.last().unwrap();
        let ev = e.stages.last().unwrap();
        let mut cfg = StageConfig::default();
        let mut runs = Vec::new();
        for (i, cmd) in stage.commands.iter().enumerate() {
            let inst = &df.instructions[cmd.instruction];
            let after = ev.scopes.get(i + 1).unwrap_or(&ev.final_scope);
            match &cmd.kind {
                CommandKind::Run(run) => {
                    let argv = cfg.argv(&run.command);
                    let by = cfg.run_created_by(&argv);
                    cfg.record(by.clone(), false);
                    runs.push(by);
                }
                CommandKind::Copy(_) => {}
                kind => {
                    let loc = format!("Dockerfile:{}", inst.start_line);
                    cfg.apply(kind, inst, &ev.scopes[i], after, &lexer, &loc)?;
                }
            }
        }
        Ok((cfg, runs))
    }

    fn history(cfg: &StageConfig) -> Vec<(&str, bool)> {
        cfg.history
            .iter()
            .map(|h| (h.created_by.as_str(), h.empty_layer))
            .collect()
    }

    #[test]
    fn buildkit_history_strings() {
        let text = r#"FROM scratch
ARG TARGETARCH
ARG V=1.${TARGETARCH}
ARG FROMCLI
ENV A=x B="two words"
LABEL org.x=${A} y=z
WORKDIR app
WORKDIR /
USER 1000:1000
EXPOSE 80 53/UDP 8000-8001
VOLUME /data /logs
STOPSIGNAL SIGTERM
SHELL ["/bin/bash", "-c"]
RUN echo "$A" > /f
ENV TARGETARCH=overridden
RUN ["/bin/true", "x"]
ENTRYPOINT ["/app"]
CMD ["--help"]
HEALTHCHECK --interval=5m --timeout=3s --retries=3 CMD curl -f http://localhost/ || exit 1
MAINTAINER someone
ONBUILD RUN make
"#;
        let (cfg, runs) = build(text).unwrap();
        assert_eq!(
            history(&cfg),
            [
                ("ARG TARGETARCH=arm64", true),
                ("ARG V=1.arm64", true),
                ("ARG FROMCLI=cli", true),
                ("ENV A=x B=two words", true),
                ("LABEL org.x=x y=z", true),
                ("WORKDIR /app", false),
                ("WORKDIR /", true),
                ("USER 1000:1000", true),
                ("EXPOSE map[53/udp:{} 80/tcp:{} 8000/tcp:{} 8001/tcp:{}]", true),
                ("VOLUME [/data /logs]", true),
                ("STOPSIGNAL SIGTERM", true),
                ("SHELL [/bin/bash -c]", true),
                ("RUN |3 TARGETARCH=arm64 V=1.arm64 FROMCLI=cli /bin/bash -c echo \"$A\" > /f # buildkit", false),
                ("ENV TARGETARCH=overridden", true),
                ("RUN |3 TARGETARCH=overridden V=1.arm64 FROMCLI=cli /bin/true x # buildkit", false),
                ("ENTRYPOINT [\"/app\"]", true),
                ("CMD [\"--help\"]", true),
                ("HEALTHCHECK &{[\"CMD-SHELL\" \"curl -f http://localhost/ || exit 1\"] \"5m0s\" \"3s\" \"0s\" \"0s\" '\\x03'}", true),
                ("MAINTAINER someone", true),
            ]
        );
        assert_eq!(runs.len(), 2);
        assert!(cfg.history.iter().all(|h| h.comment == HISTORY_COMMENT));
        let c = &cfg.config;
        assert_eq!(c.env, ["A=x", "B=two words", "TARGETARCH=overridden"]);
        assert_eq!(c.working_dir.as_deref(), Some("/"));
        assert_eq!(c.user.as_deref(), Some("1000:1000"));
        assert_eq!(c.labels["org.x"], "x");
        assert_eq!(c.entrypoint.as_deref(), Some(&["/app".to_string()][..]));
        // CMD set after ENTRYPOINT in the same stage stays.
        assert_eq!(c.cmd.as_deref(), Some(&["--help".to_string()][..]));
        assert_eq!(
            c.shell.as_deref(),
            Some(&["/bin/bash".to_string(), "-c".to_string()][..])
        );
        let h = c.healthcheck.as_ref().unwrap();
        assert_eq!(
            (h.interval, h.timeout, h.retries),
            (300_000_000_000, 3_000_000_000, 3)
        );
        assert_eq!(c.on_build, ["RUN make"]);
        assert_eq!(c.author.as_deref(), Some("someone"));
        // ARGs reach RUN's environment, never the image's.
        let env = cfg.run_env();
        assert!(env.contains(&"V=1.arm64".to_string()), "{env:?}");
        assert!(!c.env.iter().any(|e| e.starts_with("V=")));
    }

    #[test]
    fn shell_form_and_entrypoint_resets_inherited_cmd() {
        let (cfg, _) = build("FROM scratch\nCMD echo hi\nENTRYPOINT /app --flag\n").unwrap();
        // CMD set earlier in this stage survives ENTRYPOINT.
        assert_eq!(
            cfg.config.cmd.as_deref().unwrap(),
            ["/bin/sh", "-c", "echo hi"]
        );
        assert_eq!(
            cfg.config.entrypoint.as_deref().unwrap(),
            ["/bin/sh", "-c", "/app --flag"]
        );
        assert_eq!(
            cfg.history[0].created_by,
            "CMD [\"/bin/sh\" \"-c\" \"echo hi\"]"
        );

        // A CMD inherited from the base is cleared by ENTRYPOINT.
        let base = StageConfig::from_base(
            ImageConfig {
                cmd: Some(vec!["bash".into()]),
                ..ImageConfig::default()
            },
            Vec::new(),
        );
        let child = StageConfig::from_stage(&base);
        let df = parse(SourceFile::new("D", "FROM x\nENTRYPOINT [\"/e\"]\n")).unwrap();
        let program = parse_program(&df).unwrap();
        let mut child = child;
        child
            .apply(
                &program.stages[0].commands[0].kind,
                &df.instructions[1],
                &Scope::default(),
                &Scope::default(),
                &Lexer::new('\\'),
                "D:2",
            )
            .unwrap();
        assert_eq!(child.config.cmd, None);
    }

    #[test]
    fn run_without_args_and_copy_strings() {
        let (_, runs) = build("FROM scratch\nRUN go mod download\n").unwrap();
        assert_eq!(runs, ["RUN /bin/sh -c go mod download # buildkit"]);
        assert_eq!(
            copy_created_by(
                false,
                Some("app"),
                Some("755"),
                &["a".into(), "b".into()],
                &[],
                "/d/"
            ),
            "COPY --chown=app --chmod=755 a b /d/ # buildkit"
        );
        assert_eq!(
            copy_created_by(true, None, None, &[], &["EOF".into()], "/f"),
            "ADD <<EOF /f # buildkit"
        );
    }

    #[test]
    fn bad_values_name_the_line() {
        let err = build("FROM scratch\nSTOPSIGNAL SIGNOPE\n").unwrap_err();
        assert_eq!(err.to_string(), "Dockerfile:2: Invalid signal: SIGNOPE");
        let err = build("FROM scratch\nEXPOSE 80-70\n").unwrap_err();
        assert!(err.message.contains("invalid range"), "{err}");
        let err = build("FROM scratch\nHEALTHCHECK --interval=1x CMD true\n").unwrap_err();
        assert!(err.message.contains("unknown unit"), "{err}");
        let (cfg, _) = build("FROM scratch\nHEALTHCHECK NONE\n").unwrap();
        assert_eq!(cfg.config.healthcheck.unwrap().test, ["NONE"]);
    }

    #[test]
    fn docker_keys_reach_the_image_config() {
        let (cfg, _) = build(
            "FROM scratch\nSHELL [\"/bin/ash\", \"-c\"]\nHEALTHCHECK --interval=30s CMD [\"/hc\"]\nONBUILD COPY . /src\nMAINTAINER me\n",
        )
        .unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let store = crate::Store::new(tmp.path()).unwrap();
        let mut b = crate::ImageBuilder::new(Platform::parse("linux/arm64").unwrap())
            .config(cfg.config.clone())
            .source_date_epoch(Some(0));
        for h in &cfg.history {
            b = b
                .empty_step(h.created_by.clone())
                .history_comment(h.comment.clone());
        }
        let image = b.write(&store).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&image.config_bytes).unwrap();
        assert_eq!(v["config"]["Shell"], serde_json::json!(["/bin/ash", "-c"]));
        assert_eq!(
            v["config"]["Healthcheck"],
            serde_json::json!({"Test": ["CMD", "/hc"], "Interval": 30_000_000_000u64})
        );
        assert_eq!(v["config"]["OnBuild"], serde_json::json!(["COPY . /src"]));
        assert_eq!(v["author"], "me");
        assert_eq!(v["history"][0]["comment"], HISTORY_COMMENT);
        assert_eq!(v["history"][0]["empty_layer"], true);
    }

    #[test]
    fn go_formatting() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(1_500_000), "1.5ms");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(2_500_000_000), "2.5s");
        assert_eq!(parse_go_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_go_duration("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(parse_go_duration("300ms"), Ok(300_000_000));
        assert_eq!(go_quote("a\"b\\\n"), "\"a\\\"b\\\\\\n\"");
        assert_eq!(go_quote_rune(0), "'\\x00'");
        assert_eq!(go_quote_rune(10), "'\\n'");
        assert_eq!(go_quote_rune(65), "'A'");
    }
}
