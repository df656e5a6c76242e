//! CD121–CD124: platform ARG traps. The automatic platform ARGs live in the global scope
//! (a stage sees one only after `ARG NAME`), `--platform` on a FROM that names another
//! stage is ignored, `--platform=$TARGETPLATFORM` is the default anyway, and a constant
//! `--platform` pins a stage whatever the target is.
//!
//! CD121 finds the references to `$TARGET*`/`$BUILD*` in every place where they are
//! expanded, with the scope in force there:
//! - words BuildKit expands itself (ENV, ARG defaults, LABEL, WORKDIR, USER, EXPOSE,
//!   VOLUME, STOPSIGNAL, COPY/ADD arguments, flags and unquoted heredoc bodies,
//!   `RUN --mount` options): the ARGs declared and ENV set in the stage before the
//!   instruction;
//! - RUN scripts (shell form, `sh -c` exec form, heredoc scripts and unquoted heredoc
//!   bodies): the same, plus what the script itself assigns before the use;
//! - CMD, ENTRYPOINT and HEALTHCHECK shell scripts, which run in the container: only ENV.
//!
//! A stage built `FROM` another stage inherits that stage's ARGs and ENV (BuildKit).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use crossbuild::{is_automatic_arg, Platform};

use crate::eval::Base;
use crate::expand::{Expanded, Lexer};
use crate::instructions::{CommandKind, ExecOrShell, Stage};
use crate::lint::{Category, Context, Finding, Rule, Severity};
use crate::shell::split_commands;
use crate::source::Span;
use crate::syntax::Instruction;

/// A TARGET*/BUILD* ARG used in a stage that does not declare it.
pub static CD121: Rule = Rule {
    id: "CD121",
    name: "platform-arg-not-in-scope",
    category: Category::PlatformArgs,
    default_severity: Severity::Warning,
    summary:
        "a TARGET*/BUILD* ARG is used in a stage that does not declare it, so it expands empty",
    doc: include_str!("../../../../docs/rules/CD121.md"),
    check: check_cd121,
};

/// `--platform` on a FROM that names an earlier stage.
pub static CD122: Rule = Rule {
    id: "CD122",
    name: "platform-on-stage-base-ignored",
    category: Category::PlatformArgs,
    default_severity: Severity::Warning,
    summary: "--platform on a FROM that names an earlier stage is ignored",
    doc: include_str!("../../../../docs/rules/CD122.md"),
    check: check_cd122,
};

/// `--platform=$TARGETPLATFORM`.
pub static CD123: Rule = Rule {
    id: "CD123",
    name: "redundant-target-platform",
    category: Category::PlatformArgs,
    default_severity: Severity::Info,
    summary: "--platform=$TARGETPLATFORM is redundant: it is the default",
    doc: include_str!("../../../../docs/rules/CD123.md"),
    check: check_cd123,
};

/// A constant `--platform`.
pub static CD124: Rule = Rule {
    id: "CD124",
    name: "constant-platform",
    category: Category::PlatformArgs,
    default_severity: Severity::Warning,
    summary: "FROM --platform uses a constant value, pinning the stage whatever the target",
    doc: include_str!("../../../../docs/rules/CD124.md"),
    check: check_cd124,
};

// ---- CD122–CD124: the FROM --platform flag ------------------------------------------

/// Expands a `--platform` value in the global scope of platform `p`, as BuildKit does.
fn expand_platform(ctx: &Context<'_>, p: usize, value: &str) -> Option<Expanded> {
    let globals = &ctx.evals.get(p)?.globals;
    Lexer::new(ctx.df.escape).process_word(value, globals).ok()
}

/// The stage `s` is built from, for each platform where it starts from a stage.
fn stage_bases(ctx: &Context<'_>, s: usize) -> Vec<(usize, usize)> {
    (0..ctx.evals.len())
        .filter_map(|p| match ctx.eval_stage(p, s).base {
            Base::Stage(b) => Some((p, b)),
            _ => None,
        })
        .collect()
}

fn stage_name(ctx: &Context<'_>, s: usize) -> String {
    match ctx.evals.first() {
        Some(e) => e.stages[s].display_name(),
        None => format!("stage-{s}"),
    }
}

fn check_cd122(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for stage in &ctx.program.stages {
        let Some(flag) = &stage.platform else {
            continue;
        };
        let s = stage.index;
        let bases = stage_bases(ctx, s);
        let Some(&(_, first_base)) = bases.first() else {
            continue;
        };
        let name = stage_name(ctx, s);
        let base_name = stage_name(ctx, first_base);
        let mut message = format!(
            "`--platform={}` is ignored: stage {name} starts FROM stage {base_name} and inherits its platform",
            flag.value
        );
        let differs = bases.iter().find_map(|&(p, b)| {
            let requested = Platform::parse(&expand_platform(ctx, p, &flag.value)?.value).ok()?;
            let inherited = &ctx.eval_stage(p, b).platform;
            (requested != *inherited).then(|| {
                format!(
                    "; building for {} it runs on {inherited}, not {requested}",
                    ctx.platforms[p]
                )
            })
        });
        message.push_str(&differs.unwrap_or_default());
        out.push(
            Finding::new(&CD122, flag.span.clone(), message)
                .stage(name)
                .help(format!(
                    "remove the flag; to choose where this stage runs, put `--platform` on the FROM of stage {base_name}"
                )),
        );
    }
}

/// Whether the FROM of stage `s` names an image (for some platform it names a stage:
/// then CD122 reports the flag, which BuildKit ignores).
fn from_image(ctx: &Context<'_>, s: usize) -> bool {
    !ctx.evals.is_empty() && stage_bases(ctx, s).is_empty()
}

/// BuildKit's RedundantTargetPlatform test for one platform: exactly one variable
/// matched, it is TARGETPLATFORM, none unmatched, and the result equals TARGETPLATFORM.
fn redundant_target_platform(m: &Expanded, target_platform: Option<&String>) -> bool {
    m.matched.len() == 1
        && m.matched.contains("TARGETPLATFORM")
        && m.unmatched.is_empty()
        && target_platform == Some(&m.value)
}

fn check_cd123(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for stage in &ctx.program.stages {
        let Some(flag) = &stage.platform else {
            continue;
        };
        let s = stage.index;
        if !from_image(ctx, s) {
            continue;
        }
        // Redundant for every platform linted (an expression that only happens to give
        // the target for one of them is a different problem).
        let redundant = (0..ctx.evals.len()).all(|p| {
            expand_platform(ctx, p, &flag.value).is_some_and(|m| {
                redundant_target_platform(&m, ctx.evals[p].globals.get("TARGETPLATFORM"))
            })
        });
        if !redundant {
            continue;
        }
        let compiles = ctx.views.iter().any(|v| {
            v.get(s)
                .is_some_and(|st| st.runs.iter().any(|r| r.analysis.compiles()))
        });
        let mut help = format!("remove `--platform={}`", flag.value);
        if compiles {
            help.push_str(
                "; this stage compiles, so consider `--platform=$BUILDPLATFORM` and cross-compiling with the TARGET* ARGs instead",
            );
        }
        let name = stage_name(ctx, s);
        out.push(
            Finding::new(
                &CD123,
                flag.span.clone(),
                format!(
                    "`--platform={}` is redundant: stage {name} would use the target platform without it",
                    flag.value
                ),
            )
            .stage(name)
            .help(help),
        );
    }
}

/// BuildKit's FromPlatformFlagConstDisallowed test: nothing substituted, the value
/// parses as a platform, and the stage name mentions neither its OS nor its
/// architecture. Returns the platform when the rule applies.
fn constant_platform(m: &Expanded, stage_name: &str) -> Option<Platform> {
    if !m.matched.is_empty() || !m.unmatched.is_empty() {
        return None;
    }
    let platform = Platform::parse(&m.value).ok()?;
    if stage_name.contains(platform.os()) || stage_name.contains(platform.arch()) {
        return None;
    }
    Some(platform)
}

fn check_cd124(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for stage in &ctx.program.stages {
        let Some(flag) = &stage.platform else {
            continue;
        };
        let s = stage.index;
        if !from_image(ctx, s) {
            continue;
        }
        let Some(m) = expand_platform(ctx, 0, &flag.value) else {
            continue;
        };
        let Some(platform) = constant_platform(&m, stage.name.as_deref().unwrap_or("")) else {
            continue;
        };
        let name = stage_name(ctx, s);
        let mut message = format!(
            "constant `--platform={}` pins stage {name} to {platform} whatever the target platform",
            flag.value
        );
        let image_for = (0..ctx.evals.len())
            .find(|&p| ctx.evals[p].target == s && ctx.platforms[p] != platform)
            .map(|p| ctx.platforms[p].to_string());
        if let Some(target) = image_for {
            message.push_str(&format!(
                "; the image built for {target} would contain {platform} content"
            ));
        } else if !platform.runs_natively_on(&ctx.build_platform) {
            message.push_str(&format!(
                "; on this {} build machine it runs under emulation",
                ctx.build_platform
            ));
        }
        out.push(
            Finding::new(&CD124, flag.span.clone(), message)
                .stage(name)
                .help(format!(
                    "use `--platform=$BUILDPLATFORM` and cross-compile with the TARGET* ARGs, or drop the flag so the stage follows the target; if the pin is intended, name the stage after it (e.g. `AS {}-{}`) or ignore CD124",
                    stage.name.as_deref().unwrap_or("<name>"),
                    platform.arch()
                )),
        );
    }
}

// ---- CD121: platform ARGs used out of scope ------------------------------------------

/// A `$NAME` or `${NAME...}` reference found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct VarRef {
    /// The variable.
    name: String,
    /// The whole reference (`$NAME`, or `${` to its closing `}`) in the scanned text.
    range: Range<usize>,
    /// The operator after the name inside braces (`:-`, `#`, `/`, ...), empty if none.
    op: String,
}

/// How a text is read when looking for references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A POSIX shell script: quotes, comments, `$(...)`, backquotes, here-documents.
    Shell,
    /// A word BuildKit expands, with this escape character: quotes, no shell syntax.
    Word(u8),
    /// An unquoted here-document body: only `$`, `` ` `` and `\` are special.
    HereBody,
}

/// What closes a code frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Close {
    End,
    Paren,
    Backtick,
}

#[derive(Debug, Clone, Copy)]
enum Frame {
    Code {
        parens: u32,
        close: Close,
    },
    DQuote,
    /// Inside `${...}`; the index of its reference, if it names a variable.
    Param(Option<usize>),
    HereBody,
}

/// A here-document whose body starts after the current line.
struct PendingDoc {
    delimiter: String,
    quoted: bool,
    strip_tabs: bool,
}

/// How deep here-document bodies and frames nest before the scanner stops.
const MAX_DEPTH: u32 = 16;
const MAX_FRAMES: usize = 512;

struct Scanner<'t> {
    text: &'t str,
    b: &'t [u8],
    pos: usize,
    mode: Mode,
    stack: Vec<Frame>,
    refs: Vec<VarRef>,
    pending: Vec<PendingDoc>,
    depth: u32,
}

fn is_name_start(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphanumeric()
}

/// Finds the variable references in `text` that a shell (or BuildKit) would expand:
/// not those in single quotes, comments, escaped `$`, or quoted here-document bodies.
fn find_refs(text: &str, mode: Mode) -> Vec<VarRef> {
    scan_at(text, mode, 0)
}

fn scan_at(text: &str, mode: Mode, depth: u32) -> Vec<VarRef> {
    let bottom = match mode {
        Mode::HereBody => Frame::HereBody,
        _ => Frame::Code {
            parens: 0,
            close: Close::End,
        },
    };
    let mut s = Scanner {
        text,
        b: text.as_bytes(),
        pos: 0,
        mode,
        stack: vec![bottom],
        refs: Vec::new(),
        pending: Vec::new(),
        depth,
    };
    s.run();
    s.refs
}

impl Scanner<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    fn escape(&self) -> u8 {
        match self.mode {
            Mode::Word(e) => e,
            _ => b'\\',
        }
    }

    fn run(&mut self) {
        while self.pos < self.b.len() && self.stack.len() < MAX_FRAMES {
            let Some(&top) = self.stack.last() else {
                break;
            };
            let c = self.b[self.pos];
            match top {
                Frame::Code { parens, close } => self.code(c, parens, close),
                Frame::DQuote => self.dquote(c),
                Frame::Param(r) => self.param(c, r),
                Frame::HereBody => self.here_body(c),
            }
        }
    }

    fn set_top(&mut self, frame: Frame) {
        if let Some(top) = self.stack.last_mut() {
            *top = frame;
        }
    }

    fn code(&mut self, c: u8, parens: u32, close: Close) {
        if let Mode::Word(escape) = self.mode {
            match c {
                _ if c == escape => self.pos += 2,
                b'\'' => self.skip_single(),
                b'"' => self.push(Frame::DQuote, 1),
                b'$' => self.dollar(),
                _ => self.pos += 1,
            }
            return;
        }
        match c {
            b'\\' => self.pos += 2,
            b'\'' => self.skip_single(),
            b'"' => self.push(Frame::DQuote, 1),
            b'`' if close == Close::Backtick => self.pop(1),
            b'`' => self.push_code(Close::Backtick, 1),
            b'$' => self.dollar(),
            b'#' if self.word_start() => {
                self.pos = self.text[self.pos..]
                    .find('\n')
                    .map_or(self.b.len(), |i| self.pos + i);
            }
            b'(' => {
                self.set_top(Frame::Code {
                    parens: parens + 1,
                    close,
                });
                self.pos += 1;
            }
            b')' if parens == 0 && close == Close::Paren => self.pop(1),
            b')' => {
                self.set_top(Frame::Code {
                    parens: parens.saturating_sub(1),
                    close,
                });
                self.pos += 1;
            }
            b'<' if self.mode == Mode::Shell
                && self.at(self.pos + 1) == Some(b'<')
                && self.at(self.pos + 2) != Some(b'<') =>
            {
                self.heredoc_operator();
            }
            b'\n' => {
                self.pos += 1;
                if !self.pending.is_empty() {
                    self.read_bodies();
                }
            }
            _ => self.pos += 1,
        }
    }

    fn dquote(&mut self, c: u8) {
        match c {
            b'"' => self.pop(1),
            _ if c == self.escape() => self.pos += 2,
            b'$' => self.dollar(),
            b'`' if self.mode == Mode::Shell => self.push_code(Close::Backtick, 1),
            _ => self.pos += 1,
        }
    }

    fn param(&mut self, c: u8, reference: Option<usize>) {
        match c {
            b'}' => {
                if let Some(r) = reference.and_then(|i| self.refs.get_mut(i)) {
                    r.range.end = self.pos + 1;
                }
                self.pop(1);
            }
            _ if c == self.escape() => self.pos += 2,
            b'\'' if self.mode != Mode::HereBody => self.skip_single(),
            b'"' if self.mode != Mode::HereBody => self.push(Frame::DQuote, 1),
            b'$' => self.dollar(),
            b'`' if !matches!(self.mode, Mode::Word(_)) => self.push_code(Close::Backtick, 1),
            _ => self.pos += 1,
        }
    }

    fn here_body(&mut self, c: u8) {
        match c {
            b'\\' => self.pos += 2,
            b'$' => self.dollar(),
            b'`' => self.push_code(Close::Backtick, 1),
            _ => self.pos += 1,
        }
    }

    fn push(&mut self, frame: Frame, advance: usize) {
        self.stack.push(frame);
        self.pos += advance;
    }

    fn push_code(&mut self, close: Close, advance: usize) {
        self.push(Frame::Code { parens: 0, close }, advance);
    }

    fn pop(&mut self, advance: usize) {
        if self.stack.len() > 1 {
            self.stack.pop();
        }
        self.pos += advance;
    }

    /// Whether a `#` here starts a comment.
    fn word_start(&self) -> bool {
        self.pos == 0
            || self
                .at(self.pos - 1)
                .is_some_and(|p| p.is_ascii_whitespace() || b";&|()".contains(&p))
    }

    fn skip_single(&mut self) {
        self.pos = self.text[self.pos + 1..]
            .find('\'')
            .map_or(self.b.len(), |i| self.pos + 1 + i + 1);
    }

    fn read_name(&self, from: usize) -> usize {
        let mut i = from;
        while self.at(i).is_some_and(is_name_char) {
            i += 1;
        }
        i
    }

    fn record(&mut self, name_start: usize, name_end: usize, start: usize, op: String) -> usize {
        self.refs.push(VarRef {
            name: self.text[name_start..name_end].to_string(),
            range: start..name_end,
            op,
        });
        self.refs.len() - 1
    }

    fn operator(&self, i: usize) -> String {
        let op = |n: usize| self.text.get(i..i + n).unwrap_or("").to_string();
        match self.at(i) {
            Some(b':') if self.at(i + 1).is_some_and(|c| b"-=+?".contains(&c)) => op(2),
            Some(c @ (b'#' | b'%' | b'/')) if self.at(i + 1) == Some(c) => op(2),
            Some(c) if b"-=+?#%/".contains(&c) => op(1),
            Some(b':') => op(1),
            _ => String::new(),
        }
    }

    fn dollar(&mut self) {
        let start = self.pos;
        let in_dquote = matches!(self.stack.last(), Some(Frame::DQuote));
        match self.at(start + 1) {
            Some(b'{') => {
                let mut i = start + 2;
                let mut length = false;
                if self.at(i) == Some(b'#') && self.at(i + 1).is_some_and(is_name_start) {
                    length = true;
                    i += 1;
                }
                let reference = if self.at(i).is_some_and(is_name_start) {
                    let end = self.read_name(i);
                    let op = if length {
                        "length".to_string()
                    } else {
                        self.operator(end)
                    };
                    let r = self.record(i, end, start, op);
                    self.pos = end;
                    Some(r)
                } else {
                    self.pos = i;
                    None
                };
                self.stack.push(Frame::Param(reference));
            }
            Some(b'(') if !matches!(self.mode, Mode::Word(_)) => {
                self.push_code(Close::Paren, 2);
            }
            Some(b'\'') if self.mode == Mode::Shell && !in_dquote => {
                // $'...': ANSI-C quoting, with backslash escapes.
                let mut i = start + 2;
                while let Some(c) = self.at(i) {
                    i += if c == b'\\' { 2 } else { 1 };
                    if c == b'\'' {
                        break;
                    }
                }
                self.pos = i.min(self.b.len());
            }
            Some(c) if is_name_start(c) => {
                let end = self.read_name(start + 1);
                self.record(start + 1, end, start, String::new());
                self.pos = end;
            }
            Some(c) if b"@*#?-$!".contains(&c) || c.is_ascii_digit() => self.pos += 2,
            _ => self.pos += 1,
        }
    }

    /// `<<WORD` or `<<-WORD` in a script: remembers the here-document for the next line.
    fn heredoc_operator(&mut self) {
        self.pos += 2;
        let strip_tabs = self.at(self.pos) == Some(b'-');
        if strip_tabs {
            self.pos += 1;
        }
        while self.at(self.pos).is_some_and(|c| c == b' ' || c == b'\t') {
            self.pos += 1;
        }
        let mut delimiter = Vec::new();
        let mut quoted = false;
        while let Some(c) = self.at(self.pos) {
            if c.is_ascii_whitespace() || b";&|<>()".contains(&c) {
                break;
            }
            match c {
                b'\'' | b'"' => {
                    quoted = true;
                    let end = self.text[self.pos + 1..]
                        .find(char::from(c))
                        .map_or(self.b.len(), |i| self.pos + 1 + i);
                    delimiter.extend_from_slice(&self.b[self.pos + 1..end]);
                    self.pos = (end + 1).min(self.b.len());
                }
                b'\\' => {
                    quoted = true;
                    if let Some(n) = self.at(self.pos + 1) {
                        delimiter.push(n);
                    }
                    self.pos += 2;
                }
                _ => {
                    delimiter.push(c);
                    self.pos += 1;
                }
            }
        }
        let delimiter = String::from_utf8_lossy(&delimiter).into_owned();
        if !delimiter.is_empty() {
            self.pending.push(PendingDoc {
                delimiter,
                quoted,
                strip_tabs,
            });
        }
    }

    /// Reads the bodies of the pending here-documents, which start at `pos`.
    fn read_bodies(&mut self) {
        for doc in std::mem::take(&mut self.pending) {
            let body_start = self.pos.min(self.b.len());
            let mut body_end = self.b.len();
            while self.pos < self.b.len() {
                let line_end = self.text[self.pos..]
                    .find('\n')
                    .map_or(self.b.len(), |i| self.pos + i);
                let mut line = self.text[self.pos..line_end].trim_end_matches('\r');
                if doc.strip_tabs {
                    line = line.trim_start_matches('\t');
                }
                let next = (line_end + 1).min(self.b.len());
                if line == doc.delimiter {
                    body_end = self.pos;
                    self.pos = next;
                    break;
                }
                self.pos = next;
            }
            if !doc.quoted && self.depth < MAX_DEPTH {
                let body = self.text.get(body_start..body_end).unwrap_or("");
                for mut r in scan_at(body, Mode::HereBody, self.depth + 1) {
                    r.range = r.range.start + body_start..r.range.end + body_start;
                    self.refs.push(r);
                }
            }
        }
    }
}

/// Whether `s` is a shell variable name.
fn is_name(s: &str) -> bool {
    let b = s.as_bytes();
    b.first().is_some_and(|&c| is_name_start(c)) && b.iter().all(|&c| is_name_char(c))
}

/// What a script assigns itself, by offset: a reference after one of these is not
/// the ARG.
#[derive(Debug, Default)]
struct ShellDefs {
    /// (name, offset from which it is set).
    defs: Vec<(String, usize)>,
    /// From this offset on anything may be set (`.`/`source`/`eval`, `export $(...)`).
    opaque_from: Option<usize>,
}

impl ShellDefs {
    fn sets(&self, name: &str, at: usize) -> bool {
        self.opaque_from.is_some_and(|o| o < at)
            || self.defs.iter().any(|(n, p)| n == name && *p <= at)
    }

    fn opaque(&mut self, at: usize) {
        self.opaque_from = Some(self.opaque_from.map_or(at, |o| o.min(at)));
    }
}

fn shell_defs(script: &str, refs: &[VarRef]) -> ShellDefs {
    let mut out = ShellDefs::default();
    for cmd in split_commands(script) {
        if cmd.words.is_empty() {
            for a in &cmd.assignments {
                out.defs.push((a.name.clone(), a.span.end));
            }
            continue;
        }
        let args = &cmd.words[1..];
        match cmd.words[0].text.as_str() {
            "export" | "declare" | "typeset" | "local" | "readonly" => {
                for w in args {
                    match w.text.split_once('=') {
                        Some((n, _)) => {
                            let n = n.strip_suffix('+').unwrap_or(n);
                            if is_name(n) {
                                out.defs.push((n.to_string(), w.span.end));
                            }
                        }
                        None if w.has_expansion => out.opaque(w.span.start),
                        None => {}
                    }
                }
            }
            "read" | "getopts" | "mapfile" | "readarray" => {
                for w in args.iter().filter(|w| is_name(&w.text)) {
                    out.defs.push((w.text.clone(), cmd.span.end));
                }
            }
            "." | "source" | "eval" => out.opaque(cmd.span.start),
            _ => {}
        }
    }
    // `for NAME in ...` / `select NAME in ...`.
    let mut tokens = Vec::new();
    let mut start = None;
    for (i, c) in script.char_indices() {
        let sep = c.is_whitespace() || ";&|()".contains(c);
        match (sep, start) {
            (true, Some(s)) => {
                tokens.push((s, &script[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        tokens.push((s, &script[s..]));
    }
    for pair in tokens.windows(2) {
        if matches!(pair[0].1, "for" | "select") && is_name(pair[1].1) {
            out.defs.push((pair[1].1.to_string(), pair[1].0));
        }
    }
    // `${NAME:=word}` assigns from there on.
    for r in refs {
        if r.op == "=" || r.op == ":=" {
            out.defs.push((r.name.clone(), r.range.end));
        }
    }
    out
}

/// The references a shell script expands to a variable it did not set itself.
fn script_refs(script: &str) -> Vec<VarRef> {
    if !crossbuild::AUTOMATIC_ARGS
        .iter()
        .any(|a| script.contains(a))
    {
        return Vec::new();
    }
    let mut all = find_refs(script, Mode::Shell);
    // Commands in `sh -c '...'` strings are scripts too, even single-quoted.
    for cmd in split_commands(script) {
        if !cmd.context.contains(&crate::shell::Construct::ShC) {
            continue;
        }
        let Some(text) = script.get(cmd.span.clone()) else {
            continue;
        };
        for mut r in find_refs(text, Mode::Shell) {
            r.range = r.range.start + cmd.span.start..r.range.end + cmd.span.start;
            if !all.iter().any(|a| a.range.start == r.range.start) {
                all.push(r);
            }
        }
    }
    all.sort_by_key(|r| r.range.start);
    let defs = shell_defs(script, &all);
    all.retain(|r| is_automatic_arg(&r.name) && !defs.sets(&r.name, r.range.start));
    all
}

const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"];

fn basename(word: &str) -> &str {
    word.rsplit(['/', '\\']).next().unwrap_or(word)
}

fn is_posix_shell(program: &str) -> bool {
    let name = basename(program);
    let name = name.strip_suffix(".exe").unwrap_or(name);
    SHELLS.contains(&name)
}

/// The script of an exec form that runs `sh -c SCRIPT`.
fn sh_c_script(args: &[String]) -> Option<&str> {
    match args {
        [sh, flag, script, ..]
            if is_posix_shell(sh) && flag.starts_with('-') && flag.contains('c') =>
        {
            Some(script)
        }
        _ => None,
    }
}

/// One place where a TARGET*/BUILD* variable is expanded.
#[derive(Debug, Clone)]
struct Use {
    name: String,
    /// The reference as written.
    text: String,
    op: String,
    span: Span,
    /// Expanded when the container runs (CMD, ENTRYPOINT, HEALTHCHECK): only ENV counts.
    runtime: bool,
}

/// Collects the uses found in one instruction.
struct Collector<'i> {
    inst: &'i Instruction,
    source: &'i str,
    runtime: bool,
    uses: Vec<Use>,
}

impl Collector<'_> {
    fn push(&mut self, r: &VarRef, text: &str, span: Span) {
        if !is_automatic_arg(&r.name) {
            return;
        }
        self.uses.push(Use {
            name: r.name.clone(),
            text: text.get(r.range.clone()).unwrap_or(&r.name).to_string(),
            op: r.op.clone(),
            span,
            runtime: self.runtime,
        });
    }

    /// References in the instruction's argument text.
    fn args(&mut self, refs: Vec<VarRef>) {
        let inst = self.inst;
        for r in refs {
            self.push(&r, &inst.args_text, inst.args_span(r.range.clone()));
        }
    }

    /// References in a text written at `base` in the source, byte for byte.
    fn raw(&mut self, text: &str, base: usize, refs: Vec<VarRef>) {
        for r in refs {
            self.push(&r, text, r.range.start + base..r.range.end + base);
        }
    }

    /// References in a script taken from a JSON argument: placed by finding the same
    /// text, in order, in the argument text.
    fn searched(&mut self, script: &str, refs: Vec<VarRef>) {
        let inst = self.inst;
        let mut from = 0;
        for r in refs {
            let written = script.get(r.range.clone()).unwrap_or("");
            let span = match inst.args_text.get(from..).and_then(|t| t.find(written)) {
                Some(i) if !written.is_empty() => {
                    from += i + written.len();
                    inst.args_span(from - written.len()..from)
                }
                _ => inst.args_source_span(),
            };
            self.push(&r, script, span);
        }
    }

    /// BuildKit-expanded flags (`--chown`, `--mount`, ...).
    fn flags(&mut self, names: &[&str], escape: u8) {
        let inst = self.inst;
        for flag in inst
            .flags
            .iter()
            .filter(|f| names.contains(&f.name.as_str()))
        {
            let Some(text) = self.source.get(flag.span.clone()) else {
                continue;
            };
            let refs = find_refs(text, Mode::Word(escape));
            self.raw(text, flag.span.start, refs);
        }
    }

    /// A RUN/CMD/ENTRYPOINT command: its shell script, if a POSIX shell runs it.
    fn command(&mut self, command: &ExecOrShell) {
        match command {
            ExecOrShell::Shell(_) => {
                let refs = script_refs(&self.inst.args_text);
                self.args(refs);
            }
            ExecOrShell::Exec(args) => {
                if let Some(script) = sh_c_script(args) {
                    let refs = script_refs(script);
                    self.searched(script, refs);
                }
            }
        }
    }

    /// The heredoc bodies of a RUN: scripts when a shell reads them, otherwise
    /// expanded by the shell when their delimiter is unquoted.
    fn run_heredocs(&mut self) {
        let inst = self.inst;
        let first = inst.args_text.split_whitespace().next().unwrap_or("");
        let feeds_shell = first.contains("<<") || is_posix_shell(first);
        for doc in &inst.heredocs {
            let refs = if feeds_shell {
                let shebang = doc.content.lines().next().unwrap_or("");
                let shell = match shebang.strip_prefix("#!") {
                    None => true,
                    Some(line) => line.split_whitespace().any(is_posix_shell),
                };
                if !shell {
                    continue;
                }
                script_refs(&doc.content)
            } else if doc.expand {
                find_refs(&doc.content, Mode::HereBody)
            } else {
                continue;
            };
            self.raw(&doc.content, doc.span.start, refs);
        }
    }
}

/// The names a stage defines by its end: (ARG or ENV, ENV only), with what it
/// inherits from the stage it is built from.
fn stage_definitions(ctx: &Context<'_>) -> Vec<(BTreeSet<String>, BTreeSet<String>)> {
    let mut start: Vec<(BTreeSet<String>, BTreeSet<String>)> = Vec::new();
    let mut end: Vec<(BTreeSet<String>, BTreeSet<String>)> = Vec::new();
    for stage in &ctx.program.stages {
        let mut all = BTreeSet::new();
        let mut env = BTreeSet::new();
        for (_, b) in stage_bases(ctx, stage.index) {
            if let Some((a, e)) = end.get(b) {
                all.extend(a.iter().cloned());
                env.extend(e.iter().cloned());
            }
        }
        start.push((all.clone(), env.clone()));
        for cmd in &stage.commands {
            match &cmd.kind {
                CommandKind::Arg(a) => all.extend(a.args.iter().map(|d| d.name.clone())),
                CommandKind::Env(kvs) => {
                    all.extend(kvs.iter().map(|kv| kv.key.clone()));
                    env.extend(kvs.iter().map(|kv| kv.key.clone()));
                }
                _ => {}
            }
        }
        end.push((all, env));
    }
    start
}

/// Where each name of an ARG instruction is declared in its argument text.
fn arg_positions(text: &str, names: &[String]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let mut offset = 0;
    for word in text.split(|c: char| c.is_whitespace()) {
        for name in names {
            let declares = word == name
                || word
                    .strip_prefix(name.as_str())
                    .is_some_and(|r| r.starts_with('='));
            if declares {
                out.entry(name.clone()).or_insert(offset);
            }
        }
        offset += word.len() + 1;
    }
    out
}

/// What the reference does when its variable is unset.
fn effect(op: &str) -> &'static str {
    match op {
        "-" | ":-" | "=" | ":=" => "always takes its default",
        "?" | ":?" => "always fails",
        _ => "is empty",
    }
}

fn cd121_finding(u: &Use, stage: &str, declared_at: Option<usize>) -> Finding {
    let name = &u.name;
    let (message, help) = if u.runtime {
        (
            format!(
                "`{}` {} when the container runs: stage {stage} sets no `ENV {name}`, and build ARGs are not part of the image's environment",
                u.text,
                effect(&u.op)
            ),
            format!(
                "add `ARG {name}` and `ENV {name}=${name}` to stage {stage}, or resolve the value at build time in a RUN step"
            ),
        )
    } else {
        let later = declared_at
            .map(|l| format!(" before this line (only at line {l})"))
            .unwrap_or_default();
        (
            format!(
                "`{}` {} in stage {stage}: the stage does not declare `ARG {name}`{later}",
                u.text,
                effect(&u.op)
            ),
            format!(
                "add `ARG {name}` to stage {stage} before this line: the automatic platform ARGs are global, and a stage sees one only after declaring it"
            ),
        )
    };
    Finding::new(&CD121, u.span.clone(), message)
        .stage(stage)
        .help(help)
}

fn check_cd121(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    if ctx.evals.is_empty() {
        return;
    }
    let escape = u8::try_from(u32::from(ctx.df.escape)).unwrap_or(b'\\');
    let source = ctx.df.source.text();
    let inherited = stage_definitions(ctx);
    let mut reported: BTreeSet<(usize, usize)> = BTreeSet::new();
    for stage in &ctx.program.stages {
        let s = stage.index;
        let name = stage_name(ctx, s);
        let windows = ctx
            .evals
            .iter()
            .any(|e| e.stages[s].platform.os() == "windows");
        let (mut declared, mut env) = inherited.get(s).cloned().unwrap_or_default();
        let first_decl = first_declarations(ctx, stage);
        let mut posix = !windows;
        for cmd in &stage.commands {
            let inst = ctx.instruction(cmd.instruction);
            let mut c = Collector {
                inst,
                source,
                runtime: false,
                uses: Vec::new(),
            };
            let mut same_instruction = BTreeMap::new();
            match &cmd.kind {
                CommandKind::Arg(a) => {
                    let names: Vec<String> = a.args.iter().map(|d| d.name.clone()).collect();
                    same_instruction = arg_positions(&inst.args_text, &names);
                    c.args(find_refs(&inst.args_text, Mode::Word(escape)));
                }
                CommandKind::Env(_)
                | CommandKind::Label(_)
                | CommandKind::Workdir(_)
                | CommandKind::User(_)
                | CommandKind::Expose(_)
                | CommandKind::Volume(_)
                | CommandKind::StopSignal(_) => {
                    c.args(find_refs(&inst.args_text, Mode::Word(escape)));
                }
                CommandKind::Copy(_) => {
                    c.args(find_refs(&inst.args_text, Mode::Word(escape)));
                    c.flags(&["chown", "chmod", "checksum"], escape);
                    for doc in inst.heredocs.iter().filter(|d| d.expand) {
                        let refs = find_refs(&doc.content, Mode::HereBody);
                        c.raw(&doc.content, doc.span.start, refs);
                    }
                }
                CommandKind::Run(run) => {
                    c.flags(&["mount"], escape);
                    if posix {
                        c.command(&run.command);
                        c.run_heredocs();
                    }
                }
                CommandKind::Cmd(command) | CommandKind::Entrypoint(command) if posix => {
                    c.runtime = true;
                    c.command(command);
                }
                CommandKind::Healthcheck(args) => {
                    let is_cmd = args.first().is_some_and(|t| t.eq_ignore_ascii_case("CMD"));
                    if posix && is_cmd && !inst.json {
                        c.runtime = true;
                        c.args(script_refs(&inst.args_text));
                    }
                }
                CommandKind::Shell(words) => {
                    posix = !windows && words.first().is_some_and(|w| is_posix_shell(w));
                }
                _ => {}
            }
            for u in &c.uses {
                let in_scope = if u.runtime {
                    env.contains(&u.name)
                } else {
                    declared.contains(&u.name)
                        || same_instruction
                            .get(&u.name)
                            .is_some_and(|&at| inst.args_span(at..at).start < u.span.start)
                };
                if in_scope || !reported.insert((u.span.start, u.span.end)) {
                    continue;
                }
                let later = first_decl
                    .get(&u.name)
                    .copied()
                    .filter(|&line| line > inst.start_line);
                out.push(cd121_finding(u, &name, later));
            }
            match &cmd.kind {
                CommandKind::Arg(a) => declared.extend(a.args.iter().map(|d| d.name.clone())),
                CommandKind::Env(kvs) => {
                    declared.extend(kvs.iter().map(|kv| kv.key.clone()));
                    env.extend(kvs.iter().map(|kv| kv.key.clone()));
                }
                _ => {}
            }
        }
    }
}

/// The line of the first ARG declaring each name in a stage.
fn first_declarations(ctx: &Context<'_>, stage: &Stage) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for cmd in &stage.commands {
        if let CommandKind::Arg(a) = &cmd.kind {
            let line = ctx.instruction(cmd.instruction).start_line;
            for d in &a.args {
                out.entry(d.name.clone()).or_insert(line);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::{lint_source, LintOptions};
    use crate::source::SourceFile;

    fn names(text: &str, mode: Mode) -> Vec<(String, String)> {
        find_refs(text, mode)
            .into_iter()
            .map(|r| (r.name, text[r.range].to_string()))
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn shell_references_respect_quotes_comments_and_heredocs() {
        let script = "echo $A \"${B:-$C}\" '$D' \\$E $'x $F' $(echo ${G/a/b}) `echo $H` # $I\ncat <<'X'\n$J\nX\ncat <<-Y\n\t$K\n\tY\necho $# $1 ${#L}";
        assert_eq!(
            names(script, Mode::Shell),
            pairs(&[
                ("A", "$A"),
                ("B", "${B:-$C}"),
                ("C", "$C"),
                ("G", "${G/a/b}"),
                ("H", "$H"),
                ("K", "$K"),
                ("L", "${#L}"),
            ])
        );
    }

    #[test]
    fn word_references_follow_buildkit_quoting() {
        assert_eq!(
            names("a-$A '$B' \"$C\" \\$D ${E%%-*}", Mode::Word(b'\\')),
            pairs(&[("A", "$A"), ("C", "$C"), ("E", "${E%%-*}")])
        );
        // With the backtick escape a backslash is literal and `$ is escaped.
        assert_eq!(
            names("C:\\$A `$B $(C)", Mode::Word(b'`')),
            pairs(&[("A", "$A")])
        );
        assert_eq!(
            names("'$A' \"$B\" \\$C", Mode::HereBody),
            pairs(&[("A", "$A"), ("B", "$B")])
        );
    }

    #[test]
    fn operators_are_recorded() {
        let ops: Vec<String> = find_refs("${A:-x} ${B=y} ${C} ${D//a/b} ${E:?no}", Mode::Shell)
            .into_iter()
            .map(|r| r.op)
            .collect();
        assert_eq!(ops, [":-", "=", "", "//", ":?"]);
    }

    #[test]
    fn variables_the_script_sets_are_not_reported() {
        let kept =
            |s: &str| -> Vec<String> { script_refs(s).into_iter().map(|r| r.name).collect() };
        assert!(kept("TARGETARCH=$(uname -m); echo $TARGETARCH").is_empty());
        assert!(kept("export TARGETOS=linux && echo $TARGETOS").is_empty());
        assert!(kept("for TARGETARCH in amd64 arm64; do echo $TARGETARCH; done").is_empty());
        assert!(kept("read -r TARGETARCH < /arch; echo $TARGETARCH").is_empty());
        assert!(kept(". /env; echo $TARGETARCH").is_empty());
        // The use before the assignment, and a prefix assignment, do not count.
        assert_eq!(kept("echo $TARGETARCH; TARGETARCH=x"), ["TARGETARCH"]);
        assert_eq!(kept("TARGETARCH=x echo $TARGETARCH"), ["TARGETARCH"]);
        // `${V:=d}` is reported once, later uses are set.
        assert_eq!(
            kept(": ${TARGETARCH:=amd64}; echo $TARGETARCH"),
            ["TARGETARCH"]
        );
        // Single-quoted `sh -c` scripts are scripts.
        assert_eq!(kept("sh -c 'echo $BUILDARCH'"), ["BUILDARCH"]);
        assert!(kept("echo '$BUILDARCH'").is_empty());
        // Other variables are not of interest.
        assert!(kept("echo $HOME $GOARCH").is_empty());
    }

    #[test]
    fn never_panics_on_odd_text() {
        let text = "${\u{e9}$'\\${A:-\"`$(<<-'E'\n\tE\n$((1+$B))é$";
        for end in 0..=text.len() {
            if !text.is_char_boundary(end) {
                continue;
            }
            for start in 0..end {
                if !text.is_char_boundary(start) {
                    continue;
                }
                let t = &text[start..end];
                for mode in [
                    Mode::Shell,
                    Mode::Word(b'\\'),
                    Mode::Word(b'`'),
                    Mode::HereBody,
                ] {
                    for r in find_refs(t, mode) {
                        assert!(t.get(r.range.clone()).is_some(), "{t:?}: {r:?}");
                    }
                }
                let _ = script_refs(t);
            }
        }
    }

    fn lint(text: &str, rule: &str) -> Vec<(usize, usize, String)> {
        let opts = LintOptions {
            platforms: crossbuild::parse_platform_list("linux/amd64,linux/arm64").unwrap(),
            build_platform: Platform::parse("linux/amd64").unwrap(),
            build_args: Default::default(),
            settings: Default::default(),
        };
        let (df, findings) = lint_source(SourceFile::new("Dockerfile", text), &opts).unwrap();
        findings
            .into_iter()
            .filter(|f| f.rule == rule)
            .map(|f| {
                let loc = df.source.location(f.span.start);
                (loc.line, loc.column, df.source.slice(&f.span).to_string())
            })
            .collect()
    }

    #[test]
    fn cd121_scopes() {
        // Declared later, in another stage, or only globally: reported at the reference.
        let text = "ARG TARGETOS\nFROM alpine AS a\nARG TARGETARCH\nFROM alpine\nRUN echo ${TARGETARCH} \\\n  $TARGETOS\nARG TARGETARCH\nRUN echo $TARGETARCH\n";
        assert_eq!(
            lint(text, "CD121"),
            [
                (5, 10, "${TARGETARCH}".to_string()),
                (6, 3, "$TARGETOS".to_string())
            ]
        );
        // Inherited from the base stage (ARG and ENV), or set by ENV.
        let text = "FROM alpine AS a\nARG TARGETARCH\nENV BUILDOS=linux\nFROM a\nRUN echo $TARGETARCH $BUILDOS\nENV TARGETOS=linux\nWORKDIR /$TARGETOS\n";
        assert!(lint(text, "CD121").is_empty());
        // ENV expands before it sets: `ENV TARGETARCH=$TARGETARCH` needs the ARG.
        let text = "FROM alpine\nENV TARGETARCH=$TARGETARCH\n";
        assert_eq!(lint(text, "CD121"), [(2, 16, "$TARGETARCH".to_string())]);
        // ARG names earlier in the same instruction are in scope.
        let text = "FROM alpine\nARG TARGETARCH ARCH=${TARGETARCH}\n";
        assert!(lint(text, "CD121").is_empty());
    }

    #[test]
    fn cd121_heredocs_mounts_and_runtime() {
        let text = "FROM alpine\nRUN --mount=type=cache,id=c-$TARGETARCH,target=/c <<EOF\necho $BUILDARCH\nEOF\nCOPY <<'EOF' /a\n$TARGETOS\nEOF\nCOPY <<EOF /b\n$TARGETOS\nEOF\nARG TARGETARCH\nCMD echo $TARGETARCH\n";
        let got = lint(text, "CD121");
        assert_eq!(
            got,
            [
                (2, 29, "$TARGETARCH".to_string()),
                (3, 6, "$BUILDARCH".to_string()),
                (9, 1, "$TARGETOS".to_string()),
                (12, 10, "$TARGETARCH".to_string()),
            ]
        );
    }

    #[test]
    fn cd122_to_cd124_flags() {
        let text = "FROM --platform=$BUILDPLATFORM alpine AS base\nFROM --platform=$TARGETPLATFORM base AS x\nFROM --platform=$TARGETPLATFORM alpine AS y\nFROM --platform=linux/arm64 alpine AS z\nFROM --platform=linux/arm64 alpine AS tools-arm64\nFROM --platform=${TARGETPLATFORM:-linux/amd64} alpine\n";
        assert_eq!(
            lint(text, "CD122"),
            [(2, 6, "--platform=$TARGETPLATFORM".to_string())]
        );
        assert_eq!(
            lint(text, "CD123"),
            [
                (3, 6, "--platform=$TARGETPLATFORM".to_string()),
                (
                    6,
                    6,
                    "--platform=${TARGETPLATFORM:-linux/amd64}".to_string()
                )
            ]
        );
        assert_eq!(
            lint(text, "CD124"),
            [(4, 6, "--platform=linux/arm64".to_string())]
        );
    }

    #[test]
    fn buildkit_platform_predicates() {
        let lexer = Lexer::default();
        let env = [("TARGETPLATFORM", "linux/arm64"), ("OTHER", "")];
        let m = |w: &str| lexer.process_word(w, &env).unwrap();
        let tp = Some("linux/arm64".to_string());
        assert!(redundant_target_platform(
            &m("$TARGETPLATFORM"),
            tp.as_ref()
        ));
        assert!(redundant_target_platform(
            &m("\"${TARGETPLATFORM}\""),
            tp.as_ref()
        ));
        assert!(!redundant_target_platform(
            &m("${OTHER}$TARGETPLATFORM"),
            tp.as_ref()
        ));
        assert!(!redundant_target_platform(
            &m("$TARGETPLATFORM$NOPE"),
            tp.as_ref()
        ));
        assert!(!redundant_target_platform(
            &m("${TARGETPLATFORM%/*}/amd64"),
            tp.as_ref()
        ));
        let p = constant_platform(&m("linux/aarch64"), "").unwrap();
        assert_eq!(p.to_string(), "linux/arm64");
        assert!(constant_platform(&m("linux/aarch64"), "build_arm64").is_none());
        assert!(constant_platform(&m("linux/amd64"), "linux-tools").is_none());
        assert!(constant_platform(&m("$TARGETPLATFORM"), "").is_none());
        assert!(constant_platform(&m("not a platform"), "").is_none());
    }
}
