//! Splitting `RUN` scripts into the simple commands they run, for classification.
//!
//! A shell-form `RUN` (one logical line, continuations already joined by BuildKit) and a
//! `RUN` heredoc body are shell scripts. [`split_commands`] reads such a script the way a
//! POSIX shell (with the common bash extensions) would parse it, without executing or
//! expanding anything, and returns every simple command with its words, its byte span in
//! the script, and the constructs around it (conditionals, loops, pipelines, `&&`/`||`,
//! subshells, command substitutions, `sh -c '...'` strings, ...).
//!
//! What is understood:
//! * quoting: `'...'`, `"..."`, `$'...'` (ANSI-C escapes), `$"..."`, backslash escapes and
//!   backslash-newline continuations; quotes are removed from [`ShellWord::text`], while
//!   `$VAR`, `${...}`, `$(...)`, `$((...))` and backquotes are kept as written;
//! * operators `;`, `&`, `&&`, `||`, `|`, `|&`, `!`, newlines, comments;
//! * compound commands: `( )`, `{ }`, `if/elif/else`, `for`/`select` (also `for ((;;))`),
//!   `while`, `until`, `case` (patterns are not commands), `(( ))`, `[[ ]]` (one command whose
//!   words are the test), function definitions (`f() { }`, `function f { }`);
//! * redirections (`>out`, `2>&1`, `<in`, `>>log`, `&>`, `<<<`, here-documents with `<<` and
//!   `<<-`): they are not words, and here-document bodies are skipped;
//! * commands inside `$(...)`, backquotes, `<(...)`/`>(...)` and in the script argument of
//!   `sh -c`, `bash -ec`, `/bin/sh -euxo pipefail -c`, ... (also behind wrappers such as
//!   `sudo sh -c`); see [`SimpleCommand::program_words`] for the wrappers.
//!
//! Not followed: aliases, `eval` strings, commands inside here-document bodies (even for
//! `sh <<EOF`; the caller decides whether a body is a script), brace and glob expansion
//! (left literal). A `\r` is treated as a blank, so CRLF scripts split like LF ones.
//! [`check_syntax`] follows `bash -n`, except that it also reports a here-document left
//! open at the end of the script (bash only warns).

use std::ops::Range;

/// A construct enclosing a command. [`SimpleCommand::context`] lists them from the
/// outermost to the innermost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Construct {
    /// `( list )`.
    Subshell,
    /// `{ list; }`.
    BraceGroup,
    /// `$( list )` or `` `list` ``.
    CommandSubst,
    /// `<( list )` or `>( list )`.
    ProcessSubst,
    /// The script string of `sh -c`, `bash -c`, ...
    ShC,
    /// The body of a function definition (runs only when the function is called).
    Function,
    /// `if`/`elif` conditions and `then`/`else` branches.
    If,
    /// `while` condition and body.
    While,
    /// `until` condition and body.
    Until,
    /// `for`/`select` header words and body.
    For,
    /// `case` subject, patterns and branches.
    Case,
    /// The condition list of the innermost `if`/`elif`, `while` or `until`.
    Condition,
    /// A pipeline of two or more commands.
    Pipeline,
    /// A pipeline preceded by `!`.
    Negated,
    /// Right of `&&`: runs only if what precedes succeeded.
    AndRight,
    /// Right of `||`: runs only if what precedes failed (`make || true`).
    OrRight,
    /// Left of a `||`: a failure here does not stop the script.
    OrLeft,
    /// An and-or list ended by `&` (runs in the background).
    Background,
}

impl Construct {
    /// Whether the construct nests commands (counted by [`SimpleCommand::depth`]), as
    /// opposed to operators between commands.
    pub fn is_nesting(self) -> bool {
        !matches!(
            self,
            Construct::Condition
                | Construct::Pipeline
                | Construct::Negated
                | Construct::AndRight
                | Construct::OrRight
                | Construct::OrLeft
                | Construct::Background
        )
    }
}

/// One shell word.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShellWord {
    /// The word with quotes, escapes and continuations removed; `$VAR`, `${...}`,
    /// `$(...)`, `$((...))` and backquoted text are kept exactly as written.
    pub text: String,
    /// Byte range of the word in the script.
    pub span: Range<usize>,
    /// Whether any part was quoted or backslash-escaped.
    pub quoted: bool,
    /// Whether the word contains a parameter expansion, arithmetic expansion or command
    /// substitution (outside single quotes).
    pub has_expansion: bool,
}

/// A `NAME=value` (or `NAME+=value`) word before the command name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Assignment {
    /// The variable name.
    pub name: String,
    /// The value (its span covers the value only). An array assignment `A=(x y)` has
    /// the raw `(x y)` as text.
    pub value: ShellWord,
    /// Whether it is `NAME+=value`.
    pub append: bool,
    /// Byte range of the whole assignment in the script.
    pub span: Range<usize>,
}

/// One simple command: assignments, then the command name and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SimpleCommand {
    /// Leading `NAME=value` words.
    pub assignments: Vec<Assignment>,
    /// The command name and arguments (redirections excluded).
    pub words: Vec<ShellWord>,
    /// Byte range in the script covering the whole command, including redirections.
    /// Commands from a `sh -c` string or backquotes that cannot be mapped exactly (for
    /// example because of escapes) get the span of the whole string.
    pub span: Range<usize>,
    /// Number of nesting constructs around the command (see [`Construct::is_nesting`]):
    /// 0 at the top level.
    pub depth: u32,
    /// Enclosing constructs, outermost first.
    pub context: Vec<Construct>,
}

/// A syntax error found while splitting a script.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShellSyntaxError {
    /// A `'` (or `$'`) without its closing quote.
    #[error("unterminated single-quoted string starting at byte {offset}")]
    UnterminatedSingleQuote {
        /// Byte offset of the opening quote.
        offset: usize,
    },
    /// A `"` without its closing quote.
    #[error("unterminated double-quoted string starting at byte {offset}")]
    UnterminatedDoubleQuote {
        /// Byte offset of the opening quote.
        offset: usize,
    },
    /// A backquote without its closing backquote.
    #[error("unterminated backquote substitution starting at byte {offset}")]
    UnterminatedBackquote {
        /// Byte offset of the opening backquote.
        offset: usize,
    },
    /// `$(`, `$((`, `${`, `<(` or `>(` without its closing bracket.
    #[error("unterminated `{open}` starting at byte {offset}")]
    UnterminatedSubstitution {
        /// The opening text.
        open: &'static str,
        /// Byte offset of the opening text.
        offset: usize,
    },
    /// A here-document whose delimiter line never comes.
    #[error("here-document at byte {offset} is not terminated by a `{delimiter}` line")]
    UnterminatedHeredoc {
        /// The delimiter.
        delimiter: String,
        /// Byte offset of the `<<`.
        offset: usize,
    },
    /// A compound command that is not closed (`if` without `fi`, `(` without `)`, ...).
    #[error("`{construct}` at byte {offset} is missing its `{expected}`")]
    Unclosed {
        /// The opening keyword or bracket.
        construct: &'static str,
        /// What was expected.
        expected: &'static str,
        /// Byte offset of the opening keyword or bracket.
        offset: usize,
    },
    /// A token where it cannot appear (`fi` without `if`, `&& &&`, a missing word, ...).
    #[error("unexpected {token} at byte {offset}")]
    Unexpected {
        /// The token, or `end of script`.
        token: String,
        /// Byte offset of the token.
        offset: usize,
    },
    /// Nesting deeper than the splitter follows; the rest of the script is ignored.
    #[error("nesting deeper than {MAX_NEST} levels at byte {offset}")]
    TooDeep {
        /// Byte offset where the limit was reached.
        offset: usize,
    },
}

impl ShellSyntaxError {
    /// Byte offset in the script where the problem starts.
    pub fn offset(&self) -> usize {
        match self {
            ShellSyntaxError::UnterminatedSingleQuote { offset }
            | ShellSyntaxError::UnterminatedDoubleQuote { offset }
            | ShellSyntaxError::UnterminatedBackquote { offset }
            | ShellSyntaxError::UnterminatedSubstitution { offset, .. }
            | ShellSyntaxError::UnterminatedHeredoc { offset, .. }
            | ShellSyntaxError::Unclosed { offset, .. }
            | ShellSyntaxError::Unexpected { offset, .. }
            | ShellSyntaxError::TooDeep { offset } => *offset,
        }
    }
}

/// Splits `script` into its simple commands, ordered by where they start. Never fails:
/// on a syntax error the rest is read as well as possible (an unterminated quote takes
/// the rest of the script into the word).
pub fn split_commands(script: &str) -> Vec<SimpleCommand> {
    let mut parser = Parser::new(script, Vec::new(), 0);
    parser.parse_script();
    let mut out = parser.out;
    for cmd in &mut out {
        cmd.depth = cmd.context.iter().filter(|c| c.is_nesting()).count() as u32;
    }
    out.sort_by_key(|c| c.span.start);
    out
}

/// Checks `script` for the syntax errors [`split_commands`] recovers from, and reports
/// the first one. Scripts inside `sh -c '...'` strings are not checked (a shell reports
/// those only when it runs them).
pub fn check_syntax(script: &str) -> Result<(), ShellSyntaxError> {
    let mut parser = Parser::new(script, Vec::new(), 0);
    parser.parse_script();
    match parser
        .errors
        .into_iter()
        .min_by_key(ShellSyntaxError::offset)
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

impl SimpleCommand {
    /// The command name and arguments with wrapper commands peeled off, so that
    /// `sudo -E env CC=gcc nice -n 5 make -j4` gives `make -j4`. Peeled: `env` (options
    /// `-i`, `-u NAME`, `-C DIR`, ... and `NAME=value` words), `sudo` (options and
    /// `NAME=value` words), `exec`, `time`, `nice`, `nohup`, `command` (not with `-v`/`-V`,
    /// which only look the command up), `xargs` and `timeout DURATION`, also when written
    /// as paths (`/usr/bin/env`). A wrapper with nothing to run (`env`, `exec >log`,
    /// `env -S ...`) is kept as the program.
    pub fn program_words(&self) -> Vec<&str> {
        let (start, _) = peel(&self.words);
        self.words[start..]
            .iter()
            .map(|w| w.text.as_str())
            .collect()
    }

    /// The words from the program on, after peeling wrappers, with their spans (see
    /// [`SimpleCommand::program_words`]).
    pub fn program_shell_words(&self) -> &[ShellWord] {
        let (start, _) = peel(&self.words);
        self.words.get(start..).unwrap_or(&[])
    }

    /// The program name after peeling wrappers (see [`SimpleCommand::program_words`]).
    pub fn program(&self) -> Option<&str> {
        let (start, _) = peel(&self.words);
        self.words.get(start).map(|w| w.text.as_str())
    }

    /// Environment given to the program: the leading assignments, then `NAME=value`
    /// words given to `env` or `sudo`, in order (a later one overrides).
    pub fn env(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = self
            .assignments
            .iter()
            .map(|a| (a.name.as_str(), a.value.text.as_str()))
            .collect();
        out.extend(peel(&self.words).1);
        out
    }

    /// Variables exported by `export NAME=value` / `export NAME` (and `declare -x`,
    /// `typeset -x`), with the value when one is given. Empty for other commands and for
    /// `export -n` / `export -f`.
    pub fn exported(&self) -> Vec<(&str, Option<&str>)> {
        let Some(first) = self.words.first() else {
            return Vec::new();
        };
        let mut args = self.words[1..].iter().map(|w| w.text.as_str()).peekable();
        let mut options = String::new();
        while let Some(opt) = args.next_if(|a| a.starts_with('-') && a.len() > 1) {
            if opt == "--" {
                break;
            }
            options.push_str(&opt[1..]);
        }
        let exports = match first.text.as_str() {
            "export" => !options.contains('n') && !options.contains('f'),
            "declare" | "typeset" => options.contains('x') && !options.contains('f'),
            _ => false,
        };
        if !exports {
            return Vec::new();
        }
        args.filter_map(|a| match a.split_once('=') {
            Some((name, value)) => {
                let name = name.strip_suffix('+').unwrap_or(name);
                is_name(name).then_some((name, Some(value)))
            }
            None => is_name(a).then_some((a, None)),
        })
        .collect()
    }
}

/// Whether `s` is a shell variable name.
fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// How a wrapper's options are read.
struct WrapperOptions {
    /// Short options that take an argument (inline or as the next word).
    short_with_arg: &'static str,
    /// Long options that take the next word as argument when not given with `=`.
    long_with_arg: &'static [&'static str],
    /// Short options after which the wrapper runs nothing (`command -v`).
    short_stop: &'static str,
    /// Long options after which the wrapper runs nothing (`env --split-string`).
    long_stop: &'static [&'static str],
    /// `NAME=value` words are read after the options (`env`, `sudo`).
    assignments: bool,
    /// A positional argument precedes the command (`timeout DURATION`).
    operands: usize,
}

fn wrapper_options(name: &str) -> Option<WrapperOptions> {
    let w = |short_with_arg, long_with_arg, short_stop, long_stop, assignments, operands| {
        Some(WrapperOptions {
            short_with_arg,
            long_with_arg,
            short_stop,
            long_stop,
            assignments,
            operands,
        })
    };
    match name {
        "env" => w(
            "uC",
            &["--unset", "--chdir"],
            "S",
            &["--split-string"],
            true,
            0,
        ),
        "sudo" => w(
            "CDgpRrTtUu",
            &[
                "--close-from",
                "--chdir",
                "--group",
                "--prompt",
                "--chroot",
                "--role",
                "--type",
                "--command-timeout",
                "--other-user",
                "--user",
                "--host",
            ],
            "elvkK",
            &["--edit", "--list", "--validate"],
            true,
            0,
        ),
        "exec" => w("a", &[], "", &[], false, 0),
        "time" => w("fo", &["--format", "--output"], "", &[], false, 0),
        "nice" => w("n", &["--adjustment"], "", &[], false, 0),
        "nohup" => w("", &[], "", &[], false, 0),
        "command" => w("", &[], "vV", &[], false, 0),
        "xargs" => w(
            "adEILnPs",
            &[
                "--arg-file",
                "--delimiter",
                "--eof",
                "--replace",
                "--max-lines",
                "--max-args",
                "--max-procs",
                "--max-chars",
                "--process-slot-var",
            ],
            "",
            &[],
            false,
            0,
        ),
        "timeout" => w("sk", &["--signal", "--kill-after"], "", &[], false, 1),
        _ => None,
    }
}

/// Index of the program word after peeling wrappers, and the `NAME=value` pairs they set.
fn peel(words: &[ShellWord]) -> (usize, Vec<(&str, &str)>) {
    let mut start = 0;
    let mut env = Vec::new();
    while let Some(word) = words.get(start) {
        let Some(opts) = wrapper_options(basename(&word.text)) else {
            break;
        };
        let mut i = start + 1;
        let mut stopped = false;
        while let Some(arg) = words.get(i).map(|w| w.text.as_str()) {
            if arg == "--" {
                i += 1;
                break;
            }
            if let Some(long) = arg.strip_prefix("--") {
                let name = long.split('=').next().unwrap_or(long);
                let name = &arg[..name.len() + 2];
                if opts.long_stop.contains(&name) {
                    stopped = true;
                    break;
                }
                let takes_next = opts.long_with_arg.contains(&name) && !long.contains('=');
                i += if takes_next { 2 } else { 1 };
                continue;
            }
            let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) else {
                break;
            };
            i += 1;
            for (at, c) in short.char_indices() {
                if opts.short_stop.contains(c) {
                    stopped = true;
                    break;
                }
                if opts.short_with_arg.contains(c) {
                    if at + c.len_utf8() == short.len() {
                        i += 1;
                    }
                    break;
                }
            }
            if stopped {
                break;
            }
        }
        if stopped {
            break;
        }
        if opts.assignments {
            while let Some((name, value)) = words.get(i).and_then(|w| w.text.split_once('=')) {
                if !is_name(name) {
                    break;
                }
                env.push((name, value));
                i += 1;
            }
        }
        i += opts.operands;
        if i >= words.len() {
            break;
        }
        start = i;
    }
    (start, env)
}

/// Where a sub-parser's offsets land in the enclosing script.
#[derive(Debug, Clone)]
enum SpanMap {
    /// Offsets shift by this much.
    Offset(usize),
    /// No exact mapping: everything gets this span.
    Whole(Range<usize>),
}

impl SpanMap {
    fn span(&self, r: &Range<usize>) -> Range<usize> {
        match self {
            SpanMap::Offset(o) => r.start + o..r.end + o,
            SpanMap::Whole(w) => w.clone(),
        }
    }
}

/// How far the splitter follows nested constructs before giving up on the rest.
const MAX_NEST: u32 = 48;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    AndIf,
    OrIf,
    Semi,
    DSemi,
    SemiAnd,
    DSemiAnd,
    Amp,
    Pipe,
    PipeAmp,
    LParen,
    RParen,
    /// A redirection operator, telling whether it starts a here-document.
    Redirect(Redir),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Redir {
    /// `<`, `>`, `>>`, `&>`, ...: the target is a word.
    File,
    /// `<&` and `>&`: the target may be digits (`2>&1<in`).
    Dup,
    /// `<<`: a here-document.
    Heredoc,
    /// `<<-`: a here-document with leading tabs removed.
    HeredocStripTabs,
}

#[derive(Debug, Clone)]
enum TokKind {
    Word(Box<LexedWord>),
    Op(Op),
    /// Digits right before a redirection operator (`2>&1`).
    IoNumber,
    Newline,
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    kind: TokKind,
    span: Range<usize>,
}

#[derive(Debug, Clone)]
struct LexedWord {
    word: ShellWord,
    /// For `NAME=...`/`NAME+=...` words: text index and script offset of the `=`.
    eq: Option<(usize, usize)>,
}

impl LexedWord {
    /// The word as a keyword: its text if it is unquoted.
    fn keyword(&self) -> Option<&str> {
        (!self.word.quoted && !self.word.has_expansion).then_some(self.word.text.as_str())
    }

    fn assignment(&self) -> Option<Assignment> {
        let (at, src_at) = self.eq?;
        let (name, append) = match self.word.text[..at].strip_suffix('+') {
            Some(name) => (name, true),
            None => (&self.word.text[..at], false),
        };
        if !is_name(name) {
            return None;
        }
        Some(Assignment {
            name: name.to_owned(),
            value: ShellWord {
                text: self.word.text[at + 1..].to_owned(),
                span: src_at + 1..self.word.span.end,
                quoted: self.word.quoted,
                has_expansion: self.word.has_expansion,
            },
            append,
            span: self.word.span.clone(),
        })
    }
}

/// Words that end a list when they appear where a command would start.
const TERMINATORS: &[&str] = &["then", "elif", "else", "fi", "do", "done", "esac", "}"];

struct PendingHeredoc {
    delimiter: String,
    strip_tabs: bool,
    offset: usize,
}

/// Word being built by the lexer.
#[derive(Default)]
struct WordBuf {
    text: String,
    quoted: bool,
    has_expansion: bool,
    /// Still only plain unquoted characters (a possible assignment name).
    plain: bool,
    eq: Option<(usize, usize)>,
}

struct Parser<'s> {
    src: &'s str,
    pos: usize,
    cache: Option<Token>,
    ctx: Vec<Construct>,
    out: Vec<SimpleCommand>,
    errors: Vec<ShellSyntaxError>,
    heredocs: Vec<PendingHeredoc>,
    nest: u32,
}

impl<'s> Parser<'s> {
    fn new(src: &'s str, ctx: Vec<Construct>, nest: u32) -> Self {
        Parser {
            src,
            pos: 0,
            cache: None,
            ctx,
            out: Vec::new(),
            errors: Vec::new(),
            heredocs: Vec::new(),
            nest,
        }
    }

    // ---- characters -------------------------------------------------------------

    fn ch(&self, at: usize) -> Option<char> {
        self.src.get(at..).and_then(|s| s.chars().next())
    }

    fn rest(&self) -> &'s str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn error(&mut self, e: ShellSyntaxError) {
        self.errors.push(e);
    }

    /// Enters a nested construct; at the limit, records an error and skips the rest.
    fn enter(&mut self) -> bool {
        if self.nest >= MAX_NEST {
            self.error(ShellSyntaxError::TooDeep { offset: self.pos });
            self.pos = self.src.len();
            self.cache = None;
            return false;
        }
        self.nest += 1;
        true
    }

    fn leave(&mut self) {
        self.nest = self.nest.saturating_sub(1);
    }

    // ---- tokens -----------------------------------------------------------------

    fn peek(&mut self) -> &Token {
        let token = match self.cache.take() {
            Some(token) => token,
            None => self.lex(),
        };
        self.cache.insert(token)
    }

    fn bump(&mut self) -> Token {
        self.peek();
        self.cache.take().unwrap_or(Token {
            kind: TokKind::Eof,
            span: self.pos..self.pos,
        })
    }

    fn peek_op(&mut self) -> Option<Op> {
        match self.peek().kind {
            TokKind::Op(op) => Some(op),
            _ => None,
        }
    }

    /// The next token as an unquoted keyword.
    fn peek_keyword(&mut self) -> Option<&str> {
        match &self.peek().kind {
            TokKind::Word(w) => w.keyword(),
            _ => None,
        }
    }

    fn at_keyword(&mut self, kw: &str) -> bool {
        self.peek_keyword() == Some(kw)
    }

    fn skip_newlines(&mut self) {
        while matches!(self.peek().kind, TokKind::Newline) {
            self.bump();
        }
    }

    fn describe(&self, token: &Token) -> String {
        match token.kind {
            TokKind::Eof => "end of script".to_owned(),
            TokKind::Newline => "newline".to_owned(),
            _ => format!("`{}`", self.src.get(token.span.clone()).unwrap_or("")),
        }
    }

    fn unexpected_next(&mut self) {
        let token = self.peek().clone();
        let token_text = self.describe(&token);
        self.error(ShellSyntaxError::Unexpected {
            token: token_text,
            offset: token.span.start,
        });
    }

    /// Consumes the keyword `kw` or records that `construct` is unclosed.
    fn expect_keyword(&mut self, kw: &'static str, construct: &'static str, open: usize) -> bool {
        if self.at_keyword(kw) {
            self.bump();
            return true;
        }
        self.error(ShellSyntaxError::Unclosed {
            construct,
            expected: kw,
            offset: open,
        });
        false
    }

    fn lex(&mut self) -> Token {
        // Blanks, continuations and comments.
        loop {
            let rest = self.rest();
            if rest.starts_with([' ', '\t', '\r']) {
                self.pos += 1;
            } else if rest.starts_with("\\\n") {
                self.pos += 2;
            } else if rest.starts_with('#') {
                self.pos += rest.find('\n').unwrap_or(rest.len());
            } else {
                break;
            }
        }
        let start = self.pos;
        let rest = self.rest();
        let Some(c) = rest.chars().next() else {
            for doc in std::mem::take(&mut self.heredocs) {
                self.error(ShellSyntaxError::UnterminatedHeredoc {
                    delimiter: doc.delimiter,
                    offset: doc.offset,
                });
            }
            return Token {
                kind: TokKind::Eof,
                span: start..start,
            };
        };
        const OPS: &[(&str, Op)] = &[
            ("&&", Op::AndIf),
            ("&>>", Op::Redirect(Redir::File)),
            ("&>", Op::Redirect(Redir::File)),
            ("&", Op::Amp),
            ("||", Op::OrIf),
            ("|&", Op::PipeAmp),
            ("|", Op::Pipe),
            (";;&", Op::DSemiAnd),
            (";;", Op::DSemi),
            (";&", Op::SemiAnd),
            (";", Op::Semi),
            ("(", Op::LParen),
            (")", Op::RParen),
            ("<<<", Op::Redirect(Redir::File)),
            ("<<-", Op::Redirect(Redir::HeredocStripTabs)),
            ("<<", Op::Redirect(Redir::Heredoc)),
            ("<&", Op::Redirect(Redir::Dup)),
            ("<>", Op::Redirect(Redir::File)),
            ("<", Op::Redirect(Redir::File)),
            (">>", Op::Redirect(Redir::File)),
            (">&", Op::Redirect(Redir::Dup)),
            (">|", Op::Redirect(Redir::File)),
            (">", Op::Redirect(Redir::File)),
        ];
        if c == '\n' {
            self.pos += 1;
            self.read_heredoc_bodies();
            return Token {
                kind: TokKind::Newline,
                span: start..start + 1,
            };
        }
        let process_subst = rest.starts_with("<(") || rest.starts_with(">(");
        if !process_subst {
            if let Some(&(text, op)) = OPS.iter().find(|(text, _)| rest.starts_with(text)) {
                self.pos += text.len();
                return Token {
                    kind: TokKind::Op(op),
                    span: start..self.pos,
                };
            }
        }
        let word = self.scan_word();
        let span = word.word.span.clone();
        let io_number = !word.word.quoted
            && !word.word.text.is_empty()
            && word.word.text.bytes().all(|b| b.is_ascii_digit())
            && self.rest().starts_with(['<', '>']);
        Token {
            kind: if io_number {
                TokKind::IoNumber
            } else {
                TokKind::Word(Box::new(word))
            },
            span,
        }
    }

    fn read_heredoc_bodies(&mut self) {
        for doc in std::mem::take(&mut self.heredocs) {
            loop {
                let rest = self.rest();
                if rest.is_empty() {
                    self.error(ShellSyntaxError::UnterminatedHeredoc {
                        delimiter: doc.delimiter,
                        offset: doc.offset,
                    });
                    break;
                }
                let line_len = rest.find('\n').map_or(rest.len(), |i| i + 1);
                let line = &rest[..line_len];
                self.pos += line_len;
                let line = line.strip_suffix('\n').unwrap_or(line);
                let line = line.strip_suffix('\r').unwrap_or(line);
                let line = if doc.strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line
                };
                if line == doc.delimiter {
                    break;
                }
            }
        }
    }

    // ---- words ------------------------------------------------------------------

    /// Reads one word starting at `self.pos`.
    fn scan_word(&mut self) -> LexedWord {
        let start = self.pos;
        let mut buf = WordBuf {
            plain: true,
            ..WordBuf::default()
        };
        if self.rest().starts_with("<(") || self.rest().starts_with(">(") {
            self.pos += 2;
            self.nested_list(Construct::ProcessSubst, start, "<(");
            buf.push_raw(&self.src[start..self.pos]);
            buf.has_expansion = true;
        }
        while let Some(c) = self.ch(self.pos) {
            match c {
                ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>' => break,
                '\\' => match self.ch(self.pos + 1) {
                    Some('\n') => self.pos += 2,
                    Some(n) => {
                        buf.quoted();
                        buf.text.push(n);
                        self.pos += 1 + n.len_utf8();
                    }
                    None => {
                        buf.plain_char('\\', self.pos);
                        self.pos += 1;
                    }
                },
                '\'' => self.scan_single_quote(&mut buf),
                '"' => self.scan_double_quote(&mut buf),
                '$' => self.scan_dollar(&mut buf, false),
                '`' => self.scan_backquote(&mut buf, false),
                _ => {
                    buf.plain_char(c, self.pos);
                    self.pos += c.len_utf8();
                }
            }
        }
        LexedWord {
            word: ShellWord {
                text: buf.text,
                span: start..self.pos,
                quoted: buf.quoted,
                has_expansion: buf.has_expansion,
            },
            eq: buf.eq,
        }
    }

    fn scan_single_quote(&mut self, buf: &mut WordBuf) {
        let open = self.pos;
        buf.quoted();
        let rest = &self.src[open + 1..];
        match rest.find('\'') {
            Some(end) => {
                buf.text.push_str(&rest[..end]);
                self.pos = open + 1 + end + 1;
            }
            None => {
                self.error(ShellSyntaxError::UnterminatedSingleQuote { offset: open });
                buf.text.push_str(rest);
                self.pos = self.src.len();
            }
        }
    }

    fn scan_double_quote(&mut self, buf: &mut WordBuf) {
        let open = self.pos;
        buf.quoted();
        self.pos += 1;
        loop {
            let Some(c) = self.ch(self.pos) else {
                self.error(ShellSyntaxError::UnterminatedDoubleQuote { offset: open });
                return;
            };
            match c {
                '"' => {
                    self.pos += 1;
                    return;
                }
                '\\' => match self.ch(self.pos + 1) {
                    Some('\n') => self.pos += 2,
                    Some(n @ ('$' | '`' | '"' | '\\')) => {
                        buf.text.push(n);
                        self.pos += 2;
                    }
                    _ => {
                        buf.text.push('\\');
                        self.pos += 1;
                    }
                },
                '$' => self.scan_dollar(buf, true),
                '`' => self.scan_backquote(buf, true),
                _ => {
                    buf.text.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
    }

    /// At a `$`: expansions are kept as written, `$'...'` and `$"..."` are quotes.
    fn scan_dollar(&mut self, buf: &mut WordBuf, in_dq: bool) {
        let start = self.pos;
        let next = self.ch(start + 1);
        match next {
            Some('(') if self.ch(start + 2) == Some('(') => {
                self.pos += 3;
                self.skip_arithmetic(start, "$((");
            }
            Some('(') => {
                self.pos += 2;
                self.nested_list(Construct::CommandSubst, start, "$(");
            }
            Some('{') => {
                self.pos += 2;
                self.skip_braced_parameter(start, in_dq);
            }
            Some('\'') if !in_dq => {
                self.pos += 1;
                self.scan_ansi_c_quote(buf);
                return;
            }
            Some('"') if !in_dq => {
                self.pos += 1;
                self.scan_double_quote(buf);
                return;
            }
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                let len = self.src[start + 1..]
                    .find(|c: char| c != '_' && !c.is_ascii_alphanumeric())
                    .unwrap_or(self.src.len() - start - 1);
                self.pos = start + 1 + len;
            }
            Some(c) if c.is_ascii_digit() || "@*#?-$!".contains(c) => self.pos = start + 2,
            _ => {
                if in_dq {
                    buf.text.push('$');
                } else {
                    buf.plain_char('$', start);
                }
                self.pos += 1;
                return;
            }
        }
        buf.push_raw(&self.src[start..self.pos]);
        buf.has_expansion = true;
    }

    fn scan_ansi_c_quote(&mut self, buf: &mut WordBuf) {
        let open = self.pos - 1;
        buf.quoted();
        self.pos += 1;
        loop {
            let Some(c) = self.ch(self.pos) else {
                self.error(ShellSyntaxError::UnterminatedSingleQuote { offset: open });
                return;
            };
            self.pos += c.len_utf8();
            match c {
                '\'' => return,
                '\\' => {
                    let Some(e) = self.ch(self.pos) else { continue };
                    self.pos += e.len_utf8();
                    let decoded = match e {
                        'a' => '\u{7}',
                        'b' => '\u{8}',
                        'e' | 'E' => '\u{1b}',
                        'f' => '\u{c}',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        'v' => '\u{b}',
                        '\\' | '\'' | '"' | '?' => e,
                        _ => {
                            buf.text.push('\\');
                            e
                        }
                    };
                    buf.text.push(decoded);
                }
                _ => buf.text.push(c),
            }
        }
    }

    /// After `$((` or `((`: skips to the matching `))`, collecting the commands of
    /// command substitutions inside (`$(( $(nproc) + 1 ))`).
    fn skip_arithmetic(&mut self, open: usize, what: &'static str) {
        let mut depth = 0u32;
        while let Some(c) = self.ch(self.pos) {
            if c == '$' && self.rest().starts_with("$(") && !self.rest().starts_with("$((") {
                let at = self.pos;
                self.pos += 2;
                self.nested_list(Construct::CommandSubst, at, "$(");
                continue;
            }
            if c == '`' {
                self.scan_backquote(&mut WordBuf::default(), false);
                continue;
            }
            self.pos += c.len_utf8();
            match c {
                '(' => depth += 1,
                ')' if depth > 0 => depth -= 1,
                // `))` closes; a lone `)` at depth 0 is taken as the end too, unless the
                // script ends right after it (`$(()`).
                ')' if self.ch(self.pos) == Some(')') => {
                    self.pos += 1;
                    return;
                }
                ')' if self.pos < self.src.len() => return,
                ')' => break,
                '\\' => self.pos += self.ch(self.pos).map_or(0, char::len_utf8),
                _ => {}
            }
        }
        self.error(ShellSyntaxError::UnterminatedSubstitution {
            open: what,
            offset: open,
        });
    }

    /// After `${`: skips to the matching `}`, following quotes and nested substitutions
    /// (whose commands are collected).
    fn skip_braced_parameter(&mut self, open: usize, in_dq: bool) {
        if !self.enter() {
            return;
        }
        let mut scratch = WordBuf::default();
        loop {
            let Some(c) = self.ch(self.pos) else {
                self.error(ShellSyntaxError::UnterminatedSubstitution {
                    open: "${",
                    offset: open,
                });
                break;
            };
            match c {
                '}' => {
                    self.pos += 1;
                    break;
                }
                '\\' => self.pos += 1 + self.ch(self.pos + 1).map_or(0, char::len_utf8),
                '\'' if !in_dq => self.scan_single_quote(&mut scratch),
                '"' => self.scan_double_quote(&mut scratch),
                '$' => self.scan_dollar(&mut scratch, in_dq),
                '`' => self.scan_backquote(&mut scratch, in_dq),
                _ => self.pos += c.len_utf8(),
            }
        }
        self.leave();
    }

    /// After `$(`, `<(` or `>(`: parses the commands up to the matching `)`.
    fn nested_list(&mut self, kind: Construct, open: usize, what: &'static str) {
        if !self.enter() {
            return;
        }
        let saved = self.cache.take();
        self.ctx.push(kind);
        loop {
            self.parse_list();
            match self.peek().kind {
                TokKind::Op(Op::RParen) => {
                    self.bump();
                    break;
                }
                TokKind::Eof => {
                    self.error(ShellSyntaxError::UnterminatedSubstitution {
                        open: what,
                        offset: open,
                    });
                    break;
                }
                _ => {
                    self.unexpected_next();
                    self.bump();
                }
            }
        }
        self.ctx.pop();
        self.cache = saved;
        self.leave();
    }

    /// At a backquote: the text up to the closing backquote, unescaped, is a script.
    fn scan_backquote(&mut self, buf: &mut WordBuf, in_dq: bool) {
        let open = self.pos;
        let mut inner = String::new();
        let mut exact = true;
        let mut i = open + 1;
        let closed = loop {
            let Some(c) = self.ch(i) else { break false };
            match c {
                '`' => break true,
                '\\' => match self.ch(i + 1) {
                    Some(n @ ('\\' | '`' | '$')) => {
                        inner.push(n);
                        exact = false;
                        i += 2;
                    }
                    Some('"') if in_dq => {
                        inner.push('"');
                        exact = false;
                        i += 2;
                    }
                    _ => {
                        inner.push('\\');
                        i += 1;
                    }
                },
                _ => {
                    inner.push(c);
                    i += c.len_utf8();
                }
            }
        };
        let end = if closed { i + 1 } else { i };
        if !closed {
            self.error(ShellSyntaxError::UnterminatedBackquote { offset: open });
        }
        let map = if exact {
            SpanMap::Offset(open + 1)
        } else {
            SpanMap::Whole(open..end)
        };
        self.parse_inner(&inner, map, Construct::CommandSubst);
        self.pos = end;
        buf.push_raw(&self.src[open..end]);
        buf.has_expansion = true;
    }

    /// Parses a separate script (a backquote body, a `sh -c` string) and adds its
    /// commands with their spans mapped back. Syntax errors in it are left to run time,
    /// as `bash -n` does.
    fn parse_inner(&mut self, script: &str, map: SpanMap, kind: Construct) {
        if !self.enter() {
            return;
        }
        let mut ctx = self.ctx.clone();
        ctx.push(kind);
        let mut sub = Parser::new(script, ctx, self.nest);
        sub.parse_script();
        for mut cmd in sub.out {
            cmd.span = map.span(&cmd.span);
            for w in &mut cmd.words {
                w.span = map.span(&w.span);
            }
            for a in &mut cmd.assignments {
                a.span = map.span(&a.span);
                a.value.span = map.span(&a.value.span);
            }
            self.out.push(cmd);
        }
        self.leave();
    }

    // ---- grammar ----------------------------------------------------------------

    fn parse_script(&mut self) {
        loop {
            self.parse_list();
            if matches!(self.peek().kind, TokKind::Eof) {
                break;
            }
            self.unexpected_next();
            self.bump();
        }
    }

    fn at_list_end(&mut self) -> bool {
        match &self.peek().kind {
            TokKind::Eof => true,
            TokKind::Op(op) => matches!(op, Op::RParen | Op::DSemi | Op::SemiAnd | Op::DSemiAnd),
            TokKind::Word(w) => w.keyword().is_some_and(|k| TERMINATORS.contains(&k)),
            _ => false,
        }
    }

    /// Inserts `construct` at context index `base` of the commands from `from` on.
    fn mark(&mut self, from: usize, base: usize, construct: Construct) {
        for cmd in &mut self.out[from..] {
            let at = base.min(cmd.context.len());
            cmd.context.insert(at, construct);
        }
    }

    /// A compound command's list, which must not be empty.
    fn parse_compound_list(&mut self) {
        if !self.parse_list() {
            self.unexpected_next();
        }
    }

    /// A sequence of and-or lists, up to a terminator; tells whether there was any.
    fn parse_list(&mut self) -> bool {
        let mut any = false;
        loop {
            self.skip_newlines();
            if self.at_list_end() {
                return any;
            }
            any = true;
            let before = (self.pos, self.cache.as_ref().map(|t| t.span.clone()));
            let from = self.out.len();
            let base = self.ctx.len();
            self.parse_and_or();
            match self.peek().kind {
                TokKind::Op(Op::Semi) | TokKind::Newline => {
                    self.bump();
                }
                TokKind::Op(Op::Amp) => {
                    self.bump();
                    self.mark(from, base, Construct::Background);
                }
                _ => {
                    if before == (self.pos, self.cache.as_ref().map(|t| t.span.clone())) {
                        // No progress: skip the offending token.
                        self.unexpected_next();
                        self.bump();
                    } else if !self.at_list_end() {
                        self.unexpected_next();
                    }
                }
            }
        }
    }

    fn parse_and_or(&mut self) {
        let base = self.ctx.len();
        let mut parts: Vec<(usize, usize, Option<Op>)> = Vec::new();
        let mut op_before = None;
        loop {
            let from = self.out.len();
            self.parse_pipeline();
            parts.push((from, self.out.len(), op_before));
            match self.peek_op() {
                Some(op @ (Op::AndIf | Op::OrIf)) => {
                    self.bump();
                    self.skip_newlines();
                    op_before = Some(op);
                }
                _ => break,
            }
        }
        let ors_after: Vec<bool> = (0..parts.len())
            .map(|i| parts[i + 1..].iter().any(|p| p.2 == Some(Op::OrIf)))
            .collect();
        for (i, &(from, to, op)) in parts.iter().enumerate() {
            let mut marks = Vec::new();
            if ors_after[i] {
                marks.push(Construct::OrLeft);
            }
            match op {
                Some(Op::AndIf) => marks.push(Construct::AndRight),
                Some(Op::OrIf) => marks.push(Construct::OrRight),
                _ => {}
            }
            for cmd in &mut self.out[from..to] {
                let at = base.min(cmd.context.len());
                cmd.context.splice(at..at, marks.iter().copied());
            }
        }
    }

    fn parse_pipeline(&mut self) {
        let base = self.ctx.len();
        let from = self.out.len();
        let negated = self.at_keyword("!");
        if negated {
            self.bump();
            // A lone `!` is a valid (empty) pipeline.
            if self.at_list_end()
                || matches!(self.peek().kind, TokKind::Newline | TokKind::Op(Op::Semi))
            {
                return;
            }
        }
        let mut count = 0;
        loop {
            self.parse_command();
            count += 1;
            if matches!(self.peek_op(), Some(Op::Pipe | Op::PipeAmp)) {
                self.bump();
                self.skip_newlines();
                continue;
            }
            break;
        }
        if count > 1 {
            self.mark(from, base, Construct::Pipeline);
        }
        if negated {
            self.mark(from, base, Construct::Negated);
        }
    }

    fn parse_command(&mut self) {
        let token = self.peek().clone();
        match &token.kind {
            TokKind::Op(Op::LParen) => {
                if self.src[token.span.end..].starts_with('(') {
                    // `(( arithmetic ))`
                    self.cache = None;
                    self.pos = token.span.end + 1;
                    self.skip_arithmetic(token.span.start, "((");
                } else {
                    self.bump();
                    self.compound(Construct::Subshell, |p| {
                        p.parse_compound_list();
                        if matches!(p.peek_op(), Some(Op::RParen)) {
                            p.bump();
                        } else {
                            p.error(ShellSyntaxError::Unclosed {
                                construct: "(",
                                expected: ")",
                                offset: token.span.start,
                            });
                        }
                    });
                }
                self.parse_redirections();
            }
            TokKind::Op(Op::Redirect(_)) | TokKind::IoNumber => self.parse_simple(),
            TokKind::Word(w) => match w.keyword() {
                Some("{") => {
                    self.bump();
                    self.compound(Construct::BraceGroup, |p| {
                        p.parse_compound_list();
                        p.expect_keyword("}", "{", token.span.start);
                    });
                    self.parse_redirections();
                }
                Some("if") => self.parse_if(),
                Some("for" | "select") => self.parse_for(),
                Some("while") => self.parse_while(Construct::While),
                Some("until") => self.parse_while(Construct::Until),
                Some("case") => self.parse_case(),
                Some("function") => self.parse_function_keyword(),
                Some("[[") => self.parse_double_bracket(),
                Some(k) if TERMINATORS.contains(&k) => self.unexpected_next(),
                _ => self.parse_simple(),
            },
            _ => self.unexpected_next(),
        }
    }

    /// Runs `body` inside `construct`.
    fn compound(&mut self, construct: Construct, body: impl FnOnce(&mut Self)) {
        if !self.enter() {
            return;
        }
        self.ctx.push(construct);
        body(self);
        self.ctx.pop();
        self.leave();
    }

    fn parse_redirections(&mut self) {
        while matches!(
            self.peek().kind,
            TokKind::Op(Op::Redirect(_)) | TokKind::IoNumber
        ) {
            self.parse_redirection();
        }
    }

    /// One redirection; returns the end of its target.
    fn parse_redirection(&mut self) -> usize {
        let mut token = self.bump();
        if matches!(token.kind, TokKind::IoNumber) {
            token = self.bump();
        }
        let redir = match token.kind {
            TokKind::Op(Op::Redirect(r)) => r,
            _ => return token.span.end,
        };
        match &self.peek().kind {
            // `>&1<in`: the digits are the target, not the next redirection's descriptor.
            TokKind::IoNumber if redir == Redir::Dup => self.bump().span.end,
            TokKind::Word(w) => {
                if matches!(redir, Redir::Heredoc | Redir::HeredocStripTabs) {
                    let delimiter = w.word.text.clone();
                    self.heredocs.push(PendingHeredoc {
                        delimiter,
                        strip_tabs: redir == Redir::HeredocStripTabs,
                        offset: token.span.start,
                    });
                }
                self.bump().span.end
            }
            _ => {
                self.unexpected_next();
                token.span.end
            }
        }
    }

    fn parse_simple(&mut self) {
        let mut assignments = Vec::new();
        let mut words: Vec<ShellWord> = Vec::new();
        let mut span: Option<Range<usize>> = None;
        loop {
            let token = self.peek().clone();
            let end = match token.kind {
                TokKind::Word(w) => {
                    self.bump();
                    let assignment = if words.is_empty() {
                        w.assignment()
                    } else {
                        None
                    };
                    match assignment {
                        Some(mut a) => {
                            let mut end = token.span.end;
                            if a.value.text.is_empty()
                                && matches!(self.peek().kind, TokKind::Op(Op::LParen))
                                && self.peek().span.start == end
                            {
                                end = self.parse_array(&mut a);
                            }
                            assignments.push(a);
                            end
                        }
                        None if words.is_empty()
                            && assignments.is_empty()
                            && matches!(self.peek().kind, TokKind::Op(Op::LParen)) =>
                        {
                            self.parse_function_rest(token.span.start);
                            return;
                        }
                        None => {
                            words.push(w.word);
                            token.span.end
                        }
                    }
                }
                TokKind::Op(Op::Redirect(_)) | TokKind::IoNumber => self.parse_redirection(),
                _ => break,
            };
            let start = span.as_ref().map_or(token.span.start, |s| s.start);
            span = Some(start..end);
        }
        let Some(span) = span else { return };
        if words.is_empty() && assignments.is_empty() {
            return;
        }
        let cmd = SimpleCommand {
            assignments,
            words,
            span,
            depth: 0,
            context: self.ctx.clone(),
        };
        let script = shell_c_script(&cmd.words).map(|w| {
            let raw = &self.src[w.span.clone()];
            let quoted_plain = raw.len() == w.text.len() + 2
                && (raw.starts_with('\'') && raw.ends_with('\'')
                    || raw.starts_with('"') && raw.ends_with('"'))
                && raw[1..raw.len() - 1] == w.text;
            let map = if raw == w.text {
                SpanMap::Offset(w.span.start)
            } else if quoted_plain {
                SpanMap::Offset(w.span.start + 1)
            } else {
                SpanMap::Whole(w.span.clone())
            };
            (w.text.clone(), map)
        });
        self.out.push(cmd);
        if let Some((text, map)) = script {
            self.parse_inner(&text, map, Construct::ShC);
        }
    }

    /// After `NAME=` and a touching `(`: the array elements; returns the end.
    fn parse_array(&mut self, a: &mut Assignment) -> usize {
        let open = self.bump().span;
        loop {
            self.skip_newlines();
            let token = self.bump();
            match token.kind {
                TokKind::Word(w) => a.value.has_expansion |= w.word.has_expansion,
                TokKind::Op(Op::RParen) => {
                    a.value.text = self.src[open.start..token.span.end].to_owned();
                    a.value.span = open.start..token.span.end;
                    a.span.end = token.span.end;
                    return token.span.end;
                }
                _ => {
                    self.error(ShellSyntaxError::Unclosed {
                        construct: "(",
                        expected: ")",
                        offset: open.start,
                    });
                    return token.span.start;
                }
            }
        }
    }

    /// After `name` with `(` next: `name() body`.
    fn parse_function_rest(&mut self, start: usize) {
        self.bump();
        if matches!(self.peek_op(), Some(Op::RParen)) {
            self.bump();
        } else {
            self.error(ShellSyntaxError::Unclosed {
                construct: "(",
                expected: ")",
                offset: start,
            });
        }
        self.parse_function_body();
    }

    fn parse_function_body(&mut self) {
        self.skip_newlines();
        self.compound(Construct::Function, |p| p.parse_command());
    }

    fn parse_function_keyword(&mut self) {
        let open = self.bump().span.start;
        if matches!(self.peek().kind, TokKind::Word(_)) {
            self.bump();
        } else {
            self.unexpected_next();
            return;
        }
        if matches!(self.peek_op(), Some(Op::LParen)) {
            self.parse_function_rest(open);
        } else {
            self.parse_function_body();
        }
    }

    fn parse_double_bracket(&mut self) {
        let open = self.peek().span.start;
        let mut words = Vec::new();
        let mut end = open;
        loop {
            let token = self.peek().clone();
            match token.kind {
                TokKind::Word(w) => {
                    self.bump();
                    let close = w.keyword() == Some("]]");
                    words.push(w.word);
                    end = token.span.end;
                    if close {
                        break;
                    }
                }
                TokKind::Op(_) | TokKind::IoNumber => {
                    self.bump();
                    words.push(ShellWord {
                        text: self.src[token.span.clone()].to_owned(),
                        span: token.span.clone(),
                        quoted: false,
                        has_expansion: false,
                    });
                    end = token.span.end;
                }
                TokKind::Newline => {
                    self.bump();
                }
                TokKind::Eof => {
                    self.error(ShellSyntaxError::Unclosed {
                        construct: "[[",
                        expected: "]]",
                        offset: open,
                    });
                    break;
                }
            }
        }
        self.out.push(SimpleCommand {
            assignments: Vec::new(),
            words,
            span: open..end,
            depth: 0,
            context: self.ctx.clone(),
        });
        self.parse_redirections();
    }

    fn parse_if(&mut self) {
        let open = self.bump().span.start;
        self.compound(Construct::If, |p| loop {
            p.compound(Construct::Condition, Self::parse_compound_list);
            if !p.expect_keyword("then", "if", open) {
                return;
            }
            p.parse_compound_list();
            match p.peek_keyword() {
                Some("elif") => {
                    p.bump();
                }
                Some("else") => {
                    p.bump();
                    p.parse_compound_list();
                    p.expect_keyword("fi", "if", open);
                    return;
                }
                _ => {
                    p.expect_keyword("fi", "if", open);
                    return;
                }
            }
        });
        self.parse_redirections();
    }

    /// `do list done`.
    fn parse_do_group(&mut self, construct: &'static str, open: usize) {
        self.skip_newlines();
        if !self.expect_keyword("do", construct, open) {
            return;
        }
        self.parse_compound_list();
        self.expect_keyword("done", construct, open);
    }

    fn parse_for(&mut self) {
        let open = self.bump().span.start;
        self.compound(Construct::For, |p| {
            let token = p.peek().clone();
            match token.kind {
                TokKind::Op(Op::LParen) if p.src[token.span.end..].starts_with('(') => {
                    p.cache = None;
                    p.pos = token.span.end + 1;
                    p.skip_arithmetic(token.span.start, "((");
                }
                TokKind::Word(_) => {
                    p.bump();
                    p.skip_newlines();
                    if p.at_keyword("in") {
                        p.bump();
                        while let TokKind::Word(_) = p.peek().kind {
                            p.bump();
                        }
                    }
                }
                _ => {
                    p.unexpected_next();
                    return;
                }
            }
            if matches!(p.peek_op(), Some(Op::Semi)) {
                p.bump();
            }
            p.parse_do_group("for", open);
        });
        self.parse_redirections();
    }

    fn parse_while(&mut self, construct: Construct) {
        let open = self.bump().span.start;
        let name = if construct == Construct::While {
            "while"
        } else {
            "until"
        };
        self.compound(construct, |p| {
            p.compound(Construct::Condition, Self::parse_compound_list);
            p.parse_do_group(name, open);
        });
        self.parse_redirections();
    }

    fn parse_case(&mut self) {
        let open = self.bump().span.start;
        self.compound(Construct::Case, |p| {
            if matches!(p.peek().kind, TokKind::Word(_)) {
                p.bump();
            } else {
                p.unexpected_next();
                return;
            }
            p.skip_newlines();
            if !p.expect_keyword("in", "case", open) {
                return;
            }
            loop {
                p.skip_newlines();
                if p.at_keyword("esac") {
                    p.bump();
                    return;
                }
                if matches!(p.peek().kind, TokKind::Eof) {
                    p.expect_keyword("esac", "case", open);
                    return;
                }
                if matches!(p.peek_op(), Some(Op::LParen)) {
                    p.bump();
                }
                // Patterns: words separated by `|`, ended by `)`.
                loop {
                    match p.peek().kind {
                        TokKind::Word(_) => {
                            p.bump();
                        }
                        _ => {
                            p.unexpected_next();
                            return;
                        }
                    }
                    match p.peek_op() {
                        Some(Op::Pipe) => {
                            p.bump();
                        }
                        Some(Op::RParen) => {
                            p.bump();
                            break;
                        }
                        _ => {
                            p.unexpected_next();
                            return;
                        }
                    }
                }
                p.parse_list();
                match p.peek_op() {
                    Some(Op::DSemi | Op::SemiAnd | Op::DSemiAnd) => {
                        p.bump();
                    }
                    _ if p.at_keyword("esac") => {}
                    _ => {
                        p.expect_keyword("esac", "case", open);
                        return;
                    }
                }
            }
        });
        self.parse_redirections();
    }
}

impl WordBuf {
    fn quoted(&mut self) {
        self.quoted = true;
        self.plain = false;
    }

    fn plain_char(&mut self, c: char, at: usize) {
        if c == '=' && self.plain && self.eq.is_none() {
            self.eq = Some((self.text.len(), at));
        }
        self.text.push(c);
    }

    fn push_raw(&mut self, raw: &str) {
        self.plain = false;
        self.text.push_str(raw);
    }
}

/// The script word of `sh -c script`, `bash -euxo pipefail -c script`, ... (after
/// peeling wrappers such as `sudo`).
fn shell_c_script(words: &[ShellWord]) -> Option<&ShellWord> {
    const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh"];
    let (start, _) = peel(words);
    let words = &words[start..];
    if !SHELLS.contains(&basename(&words.first()?.text)) {
        return None;
    }
    let mut i = 1;
    let mut has_c = false;
    while let Some(arg) = words.get(i).map(|w| w.text.as_str()) {
        if arg == "--" || arg == "-" {
            i += 1;
            break;
        }
        if arg.starts_with("--") {
            i += if matches!(arg, "--rcfile" | "--init-file") {
                2
            } else {
                1
            };
            continue;
        }
        if !(arg.starts_with('-') || arg.starts_with('+')) || arg.len() < 2 {
            break;
        }
        i += 1;
        for c in arg[1..].chars() {
            match c {
                'c' => has_c = true,
                // `-o option` / `-O shopt` take the next word.
                'o' | 'O' => i += 1,
                _ => {}
            }
        }
    }
    if has_c {
        words.get(i)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Construct::*;

    /// A command as the table writes it: assignments as `NAME=value`, then the words.
    fn render(cmd: &SimpleCommand) -> Vec<String> {
        let assignments = cmd.assignments.iter().map(|a| {
            let op = if a.append { "+=" } else { "=" };
            format!("{}{op}{}", a.name, a.value.text)
        });
        assignments
            .chain(cmd.words.iter().map(|w| w.text.clone()))
            .collect()
    }

    /// Scripts and the commands they run, in order.
    const SCRIPTS: &[(&str, &[&[&str]])] = &[
        (
            "CGO_ENABLED=0 go build -o /out ./cmd/app && strip /out/app",
            &[
                &["CGO_ENABLED=0", "go", "build", "-o", "/out", "./cmd/app"],
                &["strip", "/out/app"],
            ],
        ),
        (
            "apt-get update && apt-get install -y gcc-aarch64-linux-gnu",
            &[
                &["apt-get", "update"],
                &["apt-get", "install", "-y", "gcc-aarch64-linux-gnu"],
            ],
        ),
        (
            "set -eux; cd /src; make -j\"$(nproc)\"",
            &[&["set", "-eux"], &["cd", "/src"], &["make", "-j$(nproc)"], &["nproc"]],
        ),
        (
            "sh -c 'cargo build --release'",
            &[&["sh", "-c", "cargo build --release"], &["cargo", "build", "--release"]],
        ),
        ("(cd sub && make)", &[&["cd", "sub"], &["make"]]),
        (
            "if [ \"$TARGETARCH\" = arm64 ]; then export CC=aarch64-linux-gnu-gcc; fi",
            &[
                &["[", "$TARGETARCH", "=", "arm64", "]"],
                &["export", "CC=aarch64-linux-gnu-gcc"],
            ],
        ),
        (
            "for d in a b; do go build ./$d; done",
            &[&["go", "build", "./$d"]],
        ),
        (
            "case \"$TARGETPLATFORM\" in linux/arm64) GOARCH=arm64 ;; linux/amd64|linux/386) GOARCH=amd64;; esac",
            &[&["GOARCH=arm64"], &["GOARCH=amd64"]],
        ),
        (
            "ls -1 | grep -v test | wc -l",
            &[&["ls", "-1"], &["grep", "-v", "test"], &["wc", "-l"]],
        ),
        ("make check || true", &[&["make", "check"], &["true"]]),
        (
            "# build it\necho hi # not an argument\n  # indented comment\n",
            &[&["echo", "hi"]],
        ),
        (
            "cat <<EOF > /etc/app.conf\nhello $(not a command)\nEOF\necho after",
            &[&["cat"], &["echo", "after"]],
        ),
        (
            "cat <<-'END' | sh\n\tgo build\n\tEND\nls",
            &[&["cat"], &["sh"], &["ls"]],
        ),
        (
            "apt-get install -y \\\n    gcc \\\n    make",
            &[&["apt-get", "install", "-y", "gcc", "make"]],
        ),
        ("echo `uname -m`", &[&["echo", "`uname -m`"], &["uname", "-m"]]),
        ("make >out 2>&1 <in >>log", &[&["make"]]),
        ("2>/dev/null >&2 make all", &[&["make", "all"]]),
        (
            "echo \"a b\" 'c d' e\\ f g\"h\"'i'",
            &[&["echo", "a b", "c d", "e f", "ghi"]],
        ),
        (
            "bash -euxo pipefail -c \"go build ./...\"",
            &[
                &["bash", "-euxo", "pipefail", "-c", "go build ./..."],
                &["go", "build", "./..."],
            ],
        ),
        (
            "/bin/sh -ec 'apk add gcc; make'",
            &[&["/bin/sh", "-ec", "apk add gcc; make"], &["apk", "add", "gcc"], &["make"]],
        ),
        (
            "sudo -E sh -c 'make install'",
            &[&["sudo", "-E", "sh", "-c", "make install"], &["make", "install"]],
        ),
        ("! grep -q foo bar", &[&["grep", "-q", "foo", "bar"]]),
        ("{ echo a; echo b; } > log", &[&["echo", "a"], &["echo", "b"]]),
        ("f() { cc -c x.c; }; f", &[&["cc", "-c", "x.c"], &["f"]]),
        ("function build { go build \"$@\"; }", &[&["go", "build", "$@"]]),
        (
            "while read -r f; do gofmt -l \"$f\"; done < files",
            &[&["read", "-r", "f"], &["gofmt", "-l", "$f"]],
        ),
        (
            "until curl -f localhost; do sleep 1; done",
            &[&["curl", "-f", "localhost"], &["sleep", "1"]],
        ),
        (
            "if a; then b; elif c; then d; else e; fi",
            &[&["a"], &["b"], &["c"], &["d"], &["e"]],
        ),
        (
            "[[ -f go.mod && $X == y ]] && go mod download",
            &[
                &["[[", "-f", "go.mod", "&&", "$X", "==", "y", "]]"],
                &["go", "mod", "download"],
            ],
        ),
        ("(( n = $(nproc) * 2 )); make -j$((n + 1))", &[&["nproc"], &["make", "-j$((n + 1))"]]),
        ("A=(x \"y z\") B=1", &[&["A=(x \"y z\")", "B=1"]]),
        (
            "export GOARCH=arm64 GOOS; go build",
            &[&["export", "GOARCH=arm64", "GOOS"], &["go", "build"]],
        ),
        ("xargs -n1 go get < deps", &[&["xargs", "-n1", "go", "get"]]),
        (
            "diff <(sort a) <(sort b)",
            &[&["diff", "<(sort a)", "<(sort b)"], &["sort", "a"], &["sort", "b"]],
        ),
        ("echo $'tab\\there' $\"x\"", &[&["echo", "tab\there", "x"]]),
        (
            "for i in 1 2; do for j in a b; do echo $i$j; done; done",
            &[&["echo", "$i$j"]],
        ),
        (
            "case $x in (a|b) one;; *) two;; esac",
            &[&["one"], &["two"]],
        ),
        ("make & wait", &[&["make"], &["wait"]]),
        ("echo 'unterminated; ls", &[&["echo", "unterminated; ls"]]),
        ("if true; then echo", &[&["true"], &["echo"]]),
        (
            "cd /src && GOOS=linux GOARCH=$TARGETARCH go build -o /bin/app . && upx /bin/app || true",
            &[
                &["cd", "/src"],
                &["GOOS=linux", "GOARCH=$TARGETARCH", "go", "build", "-o", "/bin/app", "."],
                &["upx", "/bin/app"],
                &["true"],
            ],
        ),
        (
            "env CC=aarch64-linux-gnu-gcc make -C src",
            &[&["env", "CC=aarch64-linux-gnu-gcc", "make", "-C", "src"]],
        ),
        (
            "echo \"$(echo \"$(uname)\")\"",
            &[&["echo", "$(echo \"$(uname)\")"], &["echo", "$(uname)"], &["uname"]],
        ),
        (
            "sh -c \"sh -c 'make'\"",
            &[&["sh", "-c", "sh -c 'make'"], &["sh", "-c", "make"], &["make"]],
        ),
        ("echo a;b&&c||d|e", &[&["echo", "a"], &["b"], &["c"], &["d"], &["e"]]),
        ("x=1\ny=2 z", &[&["x=1"], &["y=2", "z"]]),
        ("true |\n  false", &[&["true"], &["false"]]),
        ("echo } ; echo then fi do", &[&["echo", "}"], &["echo", "then", "fi", "do"]]),
        ("make CC=gcc \"if\"", &[&["make", "CC=gcc", "if"]]),
        (
            "go build -ldflags \"-X main.v=${VERSION:-$(git describe)}\" .",
            &[
                &["go", "build", "-ldflags", "-X main.v=${VERSION:-$(git describe)}", "."],
                &["git", "describe"],
            ],
        ),
        (
            "echo $(case $A in a) echo x;; esac)",
            &[&["echo", "$(case $A in a) echo x;; esac)"], &["echo", "x"]],
        ),
        ("", &[]),
    ];

    #[test]
    fn script_table() {
        for (script, want) in SCRIPTS {
            let got: Vec<Vec<String>> = split_commands(script).iter().map(render).collect();
            let want: Vec<Vec<String>> = want
                .iter()
                .map(|c| c.iter().map(|w| w.to_string()).collect())
                .collect();
            assert_eq!(got, want, "script {script:?}");
        }
        assert!(SCRIPTS.len() >= 40);
    }

    /// (script, command index, text of its span, depth, context)
    type Placed = (&'static str, usize, &'static str, u32, &'static [Construct]);
    const PLACES: &[Placed] = &[
        (
            "CGO_ENABLED=0 go build && strip /out/app",
            0,
            "CGO_ENABLED=0 go build",
            0,
            &[],
        ),
        (
            "CGO_ENABLED=0 go build && strip /out/app",
            1,
            "strip /out/app",
            0,
            &[AndRight],
        ),
        ("make || true", 0, "make", 0, &[OrLeft]),
        ("make || true", 1, "true", 0, &[OrRight]),
        ("a && b || c", 1, "b", 0, &[OrLeft, AndRight]),
        ("a || b && c", 2, "c", 0, &[AndRight]),
        (
            "sh -c 'cargo build --release'",
            1,
            "cargo build --release",
            1,
            &[ShC],
        ),
        (
            "sh -c \"go build -o /out/$N\"",
            1,
            "go build -o /out/$N",
            1,
            &[ShC],
        ),
        (
            "bash -c \"echo \\\"hi\\\"\"",
            1,
            "\"echo \\\"hi\\\"\"",
            1,
            &[ShC],
        ),
        (
            "if [ \"$TARGETARCH\" = arm64 ]; then export CC=x; fi",
            0,
            "[ \"$TARGETARCH\" = arm64 ]",
            1,
            &[If, Condition],
        ),
        ("if [ a ]; then export CC=x; fi", 1, "export CC=x", 1, &[If]),
        (
            "case $P in linux/arm64) GOARCH=arm64 ;; esac",
            0,
            "GOARCH=arm64",
            1,
            &[Case],
        ),
        (
            "(cd sub && make) | tee log",
            1,
            "make",
            1,
            &[Pipeline, Subshell, AndRight],
        ),
        ("(cd sub && make) | tee log", 2, "tee log", 0, &[Pipeline]),
        ("echo `uname -m`", 1, "uname -m", 1, &[CommandSubst]),
        (
            "echo \"`echo \\\"a\\\"`\"",
            1,
            "`echo \\\"a\\\"`",
            1,
            &[CommandSubst],
        ),
        ("! a | b &", 0, "a", 0, &[Background, Negated, Pipeline]),
        (
            "cat <<EOF\nx\nEOF\nmake >out 2>&1",
            1,
            "make >out 2>&1",
            0,
            &[],
        ),
        (
            "for x in $(ls); do go build ./$x; done",
            0,
            "ls",
            2,
            &[For, CommandSubst],
        ),
        (
            "for x in $(ls); do go build ./$x; done",
            1,
            "go build ./$x",
            1,
            &[For],
        ),
        ("f() { make; }", 0, "make", 2, &[Function, BraceGroup]),
        (
            "while true; do make; done",
            0,
            "true",
            1,
            &[While, Condition],
        ),
        ("cat <(ls)", 1, "ls", 1, &[ProcessSubst]),
        ("echo é && ls", 1, "ls", 0, &[AndRight]),
        ("sudo sh -c 'a; b'", 2, "b", 1, &[ShC]),
        (
            "x=$(sh -c 'go env GOARCH')",
            1,
            "sh -c 'go env GOARCH'",
            1,
            &[CommandSubst],
        ),
        (
            "x=$(sh -c 'go env GOARCH')",
            2,
            "go env GOARCH",
            2,
            &[CommandSubst, ShC],
        ),
        ("apk add \\\n  gcc", 0, "apk add \\\n  gcc", 0, &[]),
    ];

    #[test]
    fn spans_depths_contexts() {
        for &(script, index, text, depth, context) in PLACES {
            let cmds = split_commands(script);
            let cmd = &cmds[index];
            assert_eq!(&script[cmd.span.clone()], text, "span in {script:?}");
            assert_eq!(cmd.depth, depth, "depth in {script:?}");
            assert_eq!(cmd.context, context, "context in {script:?}");
        }
    }

    #[test]
    fn words_and_assignments() {
        let script = "A=\"x y\" B+=z make -j\"$(nproc)\" 'q' plain${V}";
        let cmd = &split_commands(script)[0];
        let a = &cmd.assignments;
        assert_eq!((a[0].name.as_str(), a[0].value.text.as_str()), ("A", "x y"));
        assert_eq!(&script[a[0].value.span.clone()], "\"x y\"");
        assert_eq!(&script[a[0].span.clone()], "A=\"x y\"");
        assert!(a[0].value.quoted && !a[0].append);
        assert_eq!((a[1].name.as_str(), a[1].append), ("B", true));
        let words: Vec<(&str, &str, bool, bool)> = cmd
            .words
            .iter()
            .map(|w| {
                (
                    w.text.as_str(),
                    &script[w.span.clone()],
                    w.quoted,
                    w.has_expansion,
                )
            })
            .collect();
        assert_eq!(
            words,
            [
                ("make", "make", false, false),
                ("-j$(nproc)", "-j\"$(nproc)\"", true, true),
                ("q", "'q'", true, false),
                ("plain${V}", "plain${V}", false, true),
            ]
        );
        assert_eq!(cmd.env(), [("A", "x y"), ("B", "z")]);
        // single quotes hide expansions; a lone `$` is not one
        let cmd = &split_commands("echo '$HOME' cost$ \\$x")[0];
        assert!(cmd.words.iter().all(|w| !w.has_expansion));
    }

    /// (script, program words, env)
    type Peeled = (
        &'static str,
        &'static [&'static str],
        &'static [(&'static str, &'static str)],
    );
    const PROGRAMS: &[Peeled] = &[
        (
            "sudo -E -u builder env -i PATH=/bin CC=gcc nice -n 5 make -j4",
            &["make", "-j4"],
            &[("PATH", "/bin"), ("CC", "gcc")],
        ),
        (
            "CC=clang env -u X --chdir=/src make",
            &["make"],
            &[("CC", "clang")],
        ),
        (
            "/usr/bin/env GOOS=linux go build",
            &["go", "build"],
            &[("GOOS", "linux")],
        ),
        ("exec ./app --flag", &["./app", "--flag"], &[]),
        ("exec >log 2>&1", &["exec"], &[]),
        ("command -v go", &["command", "-v", "go"], &[]),
        ("command go version", &["go", "version"], &[]),
        ("nohup nice -10 ./server", &["./server"], &[]),
        ("time -p make", &["make"], &[]),
        ("timeout -s KILL 30 cargo test", &["cargo", "test"], &[]),
        ("xargs -0 -I {} gcc -c {}", &["gcc", "-c", "{}"], &[]),
        ("xargs", &["xargs"], &[]),
        ("env", &["env"], &[]),
        ("env -S 'make all'", &["env", "-S", "make all"], &[]),
        ("sudo -l", &["sudo", "-l"], &[]),
        (
            "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y gcc",
            &["apt-get", "install", "-y", "gcc"],
            &[("DEBIAN_FRONTEND", "noninteractive")],
        ),
        ("GOARCH=arm64", &[], &[("GOARCH", "arm64")]),
    ];

    #[test]
    fn program_words_and_env() {
        for &(script, program, env) in PROGRAMS {
            let cmd = &split_commands(script)[0];
            assert_eq!(cmd.program_words(), program, "program of {script:?}");
            assert_eq!(
                cmd.program(),
                program.first().copied(),
                "program of {script:?}"
            );
            assert_eq!(cmd.env(), env, "env of {script:?}");
        }
    }

    #[test]
    fn exported() {
        type Exports = &'static [(&'static str, Option<&'static str>)];
        let cases: &[(&str, Exports)] = &[
            (
                "export GOARCH=arm64 CGO_ENABLED=0 PATH",
                &[
                    ("GOARCH", Some("arm64")),
                    ("CGO_ENABLED", Some("0")),
                    ("PATH", None),
                ],
            ),
            ("export \"CC=gcc -m64\"", &[("CC", Some("gcc -m64"))]),
            ("export A+=x", &[("A", Some("x"))]),
            ("declare -x A=1", &[("A", Some("1"))]),
            ("declare A=1", &[]),
            ("export -n X", &[]),
            ("echo A=1", &[]),
            ("A=1", &[]),
        ];
        for &(script, want) in cases {
            assert_eq!(split_commands(script)[0].exported(), want, "{script:?}");
        }
    }

    #[test]
    fn syntax_errors() {
        use ShellSyntaxError as E;
        let ok = [
            "make && make install",
            "cat <<EOF\nx\nEOF",
            "if a; then b; fi",
            "case x in a) b;; esac",
            "sh -c 'unterminated \"'",
            "echo $(( (1 + 2) * 3 ))",
            "",
        ];
        for script in ok {
            assert_eq!(check_syntax(script), Ok(()), "{script:?}");
        }
        let bad: &[(&str, ShellSyntaxError)] = &[
            ("echo 'x", E::UnterminatedSingleQuote { offset: 5 }),
            ("echo \"x", E::UnterminatedDoubleQuote { offset: 5 }),
            ("echo `x", E::UnterminatedBackquote { offset: 5 }),
            (
                "echo $(x",
                E::UnterminatedSubstitution {
                    open: "$(",
                    offset: 5,
                },
            ),
            (
                "echo ${x",
                E::UnterminatedSubstitution {
                    open: "${",
                    offset: 5,
                },
            ),
            (
                "cat <<EOF\nbody",
                E::UnterminatedHeredoc {
                    delimiter: "EOF".into(),
                    offset: 4,
                },
            ),
            (
                "if true; then x",
                E::Unclosed {
                    construct: "if",
                    expected: "fi",
                    offset: 0,
                },
            ),
            (
                "(a",
                E::Unclosed {
                    construct: "(",
                    expected: ")",
                    offset: 0,
                },
            ),
            (
                "{ a",
                E::Unclosed {
                    construct: "{",
                    expected: "}",
                    offset: 0,
                },
            ),
            (
                "for x in a; do b",
                E::Unclosed {
                    construct: "for",
                    expected: "done",
                    offset: 0,
                },
            ),
            (
                "case x in a) b",
                E::Unclosed {
                    construct: "case",
                    expected: "esac",
                    offset: 0,
                },
            ),
            (
                "fi",
                E::Unexpected {
                    token: "`fi`".into(),
                    offset: 0,
                },
            ),
            (
                "a && && b",
                E::Unexpected {
                    token: "`&&`".into(),
                    offset: 5,
                },
            ),
            (
                "echo >",
                E::Unexpected {
                    token: "end of script".into(),
                    offset: 6,
                },
            ),
        ];
        for (script, want) in bad {
            assert_eq!(check_syntax(script).as_ref(), Err(want), "{script:?}");
        }
        let err = check_syntax("if true; then x").expect_err("unclosed");
        assert_eq!(err.to_string(), "`if` at byte 0 is missing its `fi`");
        assert_eq!(err.offset(), 0);
    }

    fn assert_valid(script: &str, cmds: &[SimpleCommand]) {
        let ok = |r: &Range<usize>| r.start <= r.end && script.get(r.clone()).is_some();
        for cmd in cmds {
            assert!(ok(&cmd.span), "{script:?}: {cmd:?}");
            assert!(cmd.words.iter().all(|w| ok(&w.span)), "{script:?}: {cmd:?}");
            assert!(
                cmd.assignments
                    .iter()
                    .all(|a| ok(&a.span) && ok(&a.value.span)),
                "{script:?}: {cmd:?}"
            );
            let _ = (cmd.program_words(), cmd.env(), cmd.exported());
        }
    }

    #[test]
    fn never_panics() {
        let tricky = "A=(x $(b 'c\" `d \\` e` <<-E\nf ${g:-\"h|i\"} ((j)) [[ k ]] é;;\n\tE\ncase l in m) n;; esac & ! { o; } 2>&1 | sh -c \"p $'\\q'";
        let mut inputs: Vec<String> = Vec::new();
        for (i, _) in tricky.char_indices() {
            inputs.push(tricky[..i].to_owned());
            inputs.push(tricky[i..].to_owned());
        }
        let alphabet = [
            "a", " ", "\n", ";", "&", "|", "(", ")", "{", "}", "$", "$(", "${", "`", "'", "\"",
            "\\", "<", ">", "<<", "E", "if ", "then ", "fi", "for ", "in ", "do ", "done", "case ",
            "esac", ";;", "sh -c ", "A=", "#", "[[", "]]", "!", "é", "2>&1", "((", "))", "\\\n",
            "<(", "$'",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let len = (next() % 24) as usize;
            inputs.push(
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect(),
            );
        }
        // Deep nesting stops at the limit instead of overflowing the stack.
        for open in [
            "$(",
            "(",
            "{ ",
            "${",
            "\"$(",
            "if a; then ",
            "f() ",
            "sh -c \"",
            "<(",
        ] {
            inputs.push(open.repeat(2000));
        }
        for input in &inputs {
            assert_valid(input, &split_commands(input));
            let _ = check_syntax(input);
        }
        assert!(matches!(
            check_syntax(&"$(".repeat(2000)),
            Err(ShellSyntaxError::UnterminatedSubstitution { offset: 0, .. })
        ));
    }
}
