//! Word expansion exactly as BuildKit does it (`frontend/dockerfile/shell/lex.go`).
//!
//! BuildKit expands variables in the arguments of most instructions (`FROM`, `FROM
//! --platform`, `COPY`, `ENV`, `WORKDIR`, ...) with its own small lexer, not with a shell.
//! This module is that lexer and does nothing else: no I/O, no field splitting beyond what
//! [`Lexer::process_words`] documents.
//!
//! # Supported syntax
//!
//! | Form | Result |
//! |---|---|
//! | `$V`, `${V}` | value of `V`, empty when unset |
//! | `${V:-w}` / `${V-w}` | `w` when `V` is unset or empty / only when unset |
//! | `${V:+w}` / `${V+w}` | `w` when `V` is set and non-empty / set, else empty |
//! | `${V:?w}` / `${V?w}` | error `V: w` when unset or empty / only when unset |
//! | `${V#p}` / `${V##p}` | remove the shortest / longest prefix matching `p` |
//! | `${V%p}` / `${V%%p}` | remove the shortest / longest suffix matching `p` |
//! | `${V/p/r}` / `${V//p/r}` | replace the first / every match of `p` by `r` |
//! | `'...'` | literal, quotes removed |
//! | `"..."` | expansion inside; the escape character escapes only `"`, `$` and itself |
//! | escape + char | the char, literally (escape at the very end is dropped) |
//!
//! The word parts of modifiers (`w`, `p`, `r`) are expanded themselves, so
//! `${A:-${B:-x}}` nests. Names are letters, digits and `_`; a name starting with a digit
//! takes all following digits (`$12`), and the POSIX special parameters `@ * # ? - $ ! 0`
//! are one-character names. Dockerfiles never set them, so `$1` expands to nothing.
//! A `$` followed by anything else is a literal `$`.
//!
//! Patterns (`p`) know `*` (any run of characters), `?` (one character) and the escapes
//! `\*`, `\?`, `\\`; a backslash before `}` or `/` only protects that character. Any other
//! escape is an error, and `[...]` is *not* a bracket expression: BuildKit escapes `[` and
//! matches it literally. As in BuildKit (which turns patterns into Go regular
//! expressions), `*` and `?` never match a newline.
//!
//! # BuildKit quirks kept on purpose
//!
//! * `${V:#p}`, `${V:%p}` are errors; `${V=w}`, `${V:=w}` are errors (no assignment).
//! * In `${V//p/r}` (replace all) a `$0`/`${0}` in `r` (after expansion) inserts the matched
//!   text, `$$` inserts `$`, and any other `$name` reference inserts nothing: BuildKit hands
//!   `r` to Go's `Regexp.ReplaceAllString`. `${V/p/r}` inserts `r` literally.
//! * The escape character is kept in the pattern and replacement of `#`, `%` and `/`
//!   (so `${V//\//\/}` turns `/` into `\/`).
//! * [`Lexer::process_words`] drops empty words (`""` gives no word), keeps `<<` and the blanks
//!   after it glued to the next word, and loses the text collected for the current word
//!   before a `${V<modifier>...}` (`a${X:-b}` gives `b`): BuildKit's nested call resets the
//!   shared word buffer. Only `EXPOSE` and heredoc detection use this function.
//! * A byte-order mark at the very start of the word (or of a pattern) is skipped.
//!
//! Variable names are compared case-sensitively (BuildKit on Linux; Windows compares
//! them case-insensitively). Letters and digits are classified like Go's `unicode` package
//! for every character up to U+00FF and with Rust's Unicode tables above (Go counts only
//! decimal digits as digits, Rust any numeric character; this only matters for variable
//! names in non-Latin scripts).

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, Hash};

/// Read access to variables during expansion.
pub trait VarLookup {
    /// Returns the value of `name`, or `None` when it is unset (an empty value is set).
    fn lookup(&self, name: &str) -> Option<&str>;
}

impl<K: Borrow<str> + Ord, V: AsRef<str>> VarLookup for BTreeMap<K, V> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.get(name).map(AsRef::as_ref)
    }
}

impl<K: Borrow<str> + Eq + Hash, V: AsRef<str>, S: BuildHasher> VarLookup for HashMap<K, V, S> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.get(name).map(AsRef::as_ref)
    }
}

/// `NAME`/value pairs in definition order; a later pair overrides an earlier one.
impl<K: AsRef<str>, V: AsRef<str>> VarLookup for [(K, V)] {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.iter()
            .rev()
            .find(|(k, _)| k.as_ref() == name)
            .map(|(_, v)| v.as_ref())
    }
}

/// Like the slice: the last pair with the name wins.
impl<K: AsRef<str>, V: AsRef<str>, const N: usize> VarLookup for [(K, V); N] {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.as_slice().lookup(name)
    }
}

/// Like the slice: the last pair with the name wins.
impl<K: AsRef<str>, V: AsRef<str>> VarLookup for Vec<(K, V)> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.as_slice().lookup(name)
    }
}

impl<T: VarLookup + ?Sized> VarLookup for &T {
    fn lookup(&self, name: &str) -> Option<&str> {
        (**self).lookup(name)
    }
}

/// An environment where every variable is unset (BuildKit's `emptyEnvs{}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoVars;

impl VarLookup for NoVars {
    fn lookup(&self, _name: &str) -> Option<&str> {
        None
    }
}

/// The result of expanding one word.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Expanded {
    /// The expanded word, quotes removed.
    pub value: String,
    /// Variables that were looked up and set (possibly to the empty string).
    pub matched: BTreeSet<String>,
    /// Variables that were looked up and unset (including `1`, `@`, ... and the empty name
    /// BuildKit looks up for `${+w}`).
    pub unmatched: BTreeSet<String>,
}

/// Why a word could not be expanded. The messages are BuildKit's; BuildKit prefixes them
/// with `failed to process "<word>": `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExpandError {
    /// A `'` without its closing `'`.
    #[error("unexpected end of statement while looking for matching single-quote")]
    UnterminatedSingleQuote {
        /// Byte offset of the opening quote.
        offset: usize,
    },
    /// A `"` without its closing `"`.
    #[error("unexpected end of statement while looking for matching double-quote")]
    UnterminatedDoubleQuote {
        /// Byte offset of the opening quote.
        offset: usize,
    },
    /// `${` without its closing `}`.
    #[error("syntax error: missing '}}'")]
    MissingBrace {
        /// Byte offset of the `$`.
        offset: usize,
    },
    /// `${V/pattern` with neither the `/` before the replacement nor the `}`.
    #[error("syntax error: missing '/' in ${{}}")]
    MissingSlash {
        /// Byte offset of the `$`.
        offset: usize,
    },
    /// `${}`, `${{...}`, `${:...}`.
    #[error("syntax error: bad substitution")]
    BadSubstitution {
        /// Byte offset of the `$`.
        offset: usize,
    },
    /// An operator BuildKit does not support, such as `${V:=w}`, `${V=w}`, `${V:#p}` or
    /// a character that is neither part of a name nor an operator (`${V.x}`).
    #[error("unsupported modifier ({modifier}) in substitution")]
    UnsupportedModifier {
        /// The operator as written, e.g. `:=` or `.`.
        modifier: String,
        /// Byte offset of the `$`.
        offset: usize,
    },
    /// `${V?msg}` with `V` unset or `${V:?msg}` with `V` unset or empty.
    #[error("{name}: {message}")]
    Required {
        /// The variable.
        name: String,
        /// The expanded `msg`, or BuildKit's `is not allowed to be unset` / `... empty`.
        message: String,
        /// Byte offset of the `$`.
        offset: usize,
    },
    /// A pattern with an escape other than `\*`, `\?`, `\\`, `\}`, `\/`.
    #[error("invalid pattern ({pattern}) in substitution: invalid escape '\\{escaped}'")]
    InvalidPattern {
        /// The pattern after expansion (reversed for `%`/`%%`, as BuildKit reports it).
        pattern: String,
        /// The character after the backslash (U+FFFD when the pattern ends with it).
        escaped: char,
        /// Byte offset of the `$`.
        offset: usize,
    },
}

impl ExpandError {
    /// Byte offset in the word of the construct that failed (the `$` of a substitution
    /// or the opening quote).
    pub fn offset(&self) -> usize {
        match self {
            ExpandError::UnterminatedSingleQuote { offset }
            | ExpandError::UnterminatedDoubleQuote { offset }
            | ExpandError::MissingBrace { offset }
            | ExpandError::MissingSlash { offset }
            | ExpandError::BadSubstitution { offset }
            | ExpandError::UnsupportedModifier { offset, .. }
            | ExpandError::Required { offset, .. }
            | ExpandError::InvalidPattern { offset, .. } => *offset,
        }
    }
}

/// BuildKit's word lexer (`shell.Lex`), configured with the escape character and the
/// options BuildKit sets on some code paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lexer {
    escape: char,
    skip_unset_env: bool,
    raw_quotes: bool,
    raw_escapes: bool,
    skip_process_quotes: bool,
}

impl Default for Lexer {
    /// A lexer with the default escape character `\`.
    fn default() -> Self {
        Lexer::new('\\')
    }
}

impl Lexer {
    /// A lexer with the given escape character: `\` (default) or `` ` `` (set by the
    /// `# escape=` directive). Other characters are accepted and used as given; the
    /// directive parser is what restricts them.
    pub fn new(escape: char) -> Self {
        Lexer {
            escape,
            skip_unset_env: false,
            raw_quotes: false,
            raw_escapes: false,
            skip_process_quotes: false,
        }
    }

    /// The escape character.
    pub fn escape(&self) -> char {
        self.escape
    }

    /// `SkipUnsetEnv`: leave references to unset variables as written (`$V`, `${V}`,
    /// `${V:-w}` with `w` expanded; `${V//p/r}` comes back as `${V/p/r}`, as in BuildKit).
    /// BuildKit uses it for heredoc detection (`parser.go`) and for the display name of
    /// `RUN` steps (`convert.go`), never for values that reach the build.
    pub fn with_skip_unset_env(mut self, on: bool) -> Self {
        self.skip_unset_env = on;
        self
    }

    /// `RawQuotes`: keep the quote characters in the result. Used with
    /// [`Lexer::with_skip_unset_env`] by heredoc detection and `RUN` display names.
    pub fn with_raw_quotes(mut self, on: bool) -> Self {
        self.raw_quotes = on;
        self
    }

    /// `RawEscapes`: keep escape characters in the result. Used by heredoc detection.
    pub fn with_raw_escapes(mut self, on: bool) -> Self {
        self.raw_escapes = on;
        self
    }

    /// `SkipProcessQuotes`: treat quotes as ordinary characters. BuildKit uses it, on a
    /// lexer with the `\` escape whatever the `# escape=` directive says, to expand the
    /// body of a `COPY`/`ADD` here-document whose delimiter is unquoted
    /// (`SourcesAndDest.ExpandRaw`).
    pub fn with_skip_process_quotes(mut self, on: bool) -> Self {
        self.skip_process_quotes = on;
        self
    }

    /// Expands one word: variables substituted, quotes and escapes removed, no splitting
    /// (BuildKit's `ProcessWordWithMatches`). Also reports which variables were found.
    pub fn process_word(&self, word: &str, env: &dyn VarLookup) -> Result<Expanded, ExpandError> {
        let mut run = Run::new(*self, word, env, true);
        let (value, _) = run.process_stop_on(None, self.raw_escapes)?;
        Ok(Expanded {
            value,
            matched: run.matched,
            unmatched: run.unmatched,
        })
    }

    /// Expands `word` and splits the result into words on unquoted, unescaped whitespace
    /// (BuildKit's `ProcessWords`); whitespace coming from a variable's value also splits.
    /// See the module documentation for the quirks kept from BuildKit.
    pub fn process_words(
        &self,
        word: &str,
        env: &dyn VarLookup,
    ) -> Result<Vec<String>, ExpandError> {
        let mut run = Run::new(*self, word, env, false);
        let (_, words) = run.process_stop_on(None, self.raw_escapes)?;
        Ok(words)
    }
}

/// Go's `unicode.IsDigit` (exact up to U+00FF).
fn is_digit(c: char) -> bool {
    if u32::from(c) <= 0xFF {
        c.is_ascii_digit()
    } else {
        c.is_numeric()
    }
}

/// Go's `unicode.IsLetter` (exact up to U+00FF).
fn is_letter(c: char) -> bool {
    c.is_alphabetic()
}

/// The POSIX special parameters BuildKit reads as one-character names.
fn is_special_param(c: char) -> bool {
    matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0')
}

/// Words being collected by one `process_stop_on` call. The buffer for the current word
/// is shared by all nested calls (see the module docs), so it lives in [`Run`].
#[derive(Default)]
struct Words {
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, buf: &mut String, c: char) {
        if c.is_whitespace() {
            if self.in_word && !buf.is_empty() {
                self.words.push(std::mem::take(buf));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(buf, c);
        }
    }

    fn add_raw_char(&mut self, buf: &mut String, c: char) {
        buf.push(c);
        self.in_word = true;
    }

    fn add_string(&mut self, buf: &mut String, s: &str) {
        for c in s.chars() {
            self.add_char(buf, c);
        }
    }

    fn add_raw_string(&mut self, buf: &mut String, s: &str) {
        buf.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self, buf: &mut String) -> Vec<String> {
        if !buf.is_empty() {
            self.words.push(std::mem::take(buf));
        }
        self.words
    }
}

/// One expansion in progress.
struct Run<'w, 'e> {
    lexer: Lexer,
    src: &'w str,
    pos: usize,
    env: &'e dyn VarLookup,
    raw_escapes: bool,
    capture: bool,
    words_buf: String,
    matched: BTreeSet<String>,
    unmatched: BTreeSet<String>,
}

impl<'w, 'e> Run<'w, 'e> {
    fn new(lexer: Lexer, src: &'w str, env: &'e dyn VarLookup, capture: bool) -> Self {
        // Go's text/scanner skips a byte-order mark at the start.
        let pos = if src.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        };
        Run {
            lexer,
            src,
            pos,
            env,
            raw_escapes: lexer.raw_escapes,
            capture,
            words_buf: String::new(),
            matched: BTreeSet::new(),
            unmatched: BTreeSet::new(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.src.get(self.pos..).and_then(|s| s.chars().next())
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn get_env(&mut self, name: &str) -> Option<&'e str> {
        let value = self.env.lookup(name);
        if self.capture {
            let set = if value.is_some() {
                &mut self.matched
            } else {
                &mut self.unmatched
            };
            set.insert(name.to_owned());
        }
        value
    }

    /// Reads up to `stop` (consumed) or the end of the word when `stop` is `None`.
    /// Reaching the end while looking for `stop` is an error that
    /// [`Run::modifier_word`] replaces with the right one.
    fn process_stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), ExpandError> {
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let out = self.process_stop_on_inner(stop);
        self.raw_escapes = saved;
        out
    }

    fn process_stop_on_inner(
        &mut self,
        stop: Option<char>,
    ) -> Result<(String, Vec<String>), ExpandError> {
        let mut result = String::new();
        self.words_buf.clear();
        let mut words = Words::default();
        let quotes = !self.lexer.skip_process_quotes;
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.bump();
                return Ok((result, words.finish(&mut self.words_buf)));
            }
            match c {
                '$' => {
                    let value = self.process_dollar()?;
                    result.push_str(&value);
                    words.add_string(&mut self.words_buf, &value);
                }
                '<' => {
                    let value = self.process_possible_heredoc();
                    result.push_str(&value);
                    words.add_raw_string(&mut self.words_buf, &value);
                }
                '\'' if quotes => {
                    let value = self.process_single_quote()?;
                    result.push_str(&value);
                    words.add_raw_string(&mut self.words_buf, &value);
                }
                '"' if quotes => {
                    let value = self.process_double_quote()?;
                    result.push_str(&value);
                    words.add_raw_string(&mut self.words_buf, &value);
                }
                _ => {
                    self.bump();
                    if c == self.lexer.escape {
                        if self.raw_escapes {
                            words.add_raw_char(&mut self.words_buf, c);
                            result.push(c);
                        }
                        let Some(escaped) = self.bump() else { break };
                        words.add_raw_char(&mut self.words_buf, escaped);
                        result.push(escaped);
                    } else {
                        words.add_char(&mut self.words_buf, c);
                        result.push(c);
                    }
                }
            }
        }
        if stop.is_some() {
            return Err(ExpandError::MissingBrace { offset: self.pos });
        }
        Ok((result, words.finish(&mut self.words_buf)))
    }

    fn process_single_quote(&mut self) -> Result<String, ExpandError> {
        let open = self.pos;
        let mut result = String::new();
        self.bump();
        if self.lexer.raw_quotes {
            result.push('\'');
        }
        loop {
            match self.bump() {
                None => return Err(ExpandError::UnterminatedSingleQuote { offset: open }),
                Some('\'') => {
                    if self.lexer.raw_quotes {
                        result.push('\'');
                    }
                    return Ok(result);
                }
                Some(c) => result.push(c),
            }
        }
    }

    fn process_double_quote(&mut self) -> Result<String, ExpandError> {
        let open = self.pos;
        let mut result = String::new();
        self.bump();
        if self.lexer.raw_quotes {
            result.push('"');
        }
        loop {
            match self.peek() {
                None => return Err(ExpandError::UnterminatedDoubleQuote { offset: open }),
                Some('"') => {
                    self.bump();
                    if self.lexer.raw_quotes {
                        result.push('"');
                    }
                    return Ok(result);
                }
                Some('$') => {
                    let value = self.process_dollar()?;
                    result.push_str(&value);
                }
                Some(c) => {
                    self.bump();
                    let mut c = c;
                    if c == self.lexer.escape {
                        if self.raw_escapes {
                            result.push(c);
                        }
                        match self.peek() {
                            // An escape right before the end is dropped.
                            None => continue,
                            Some(n) if n == '"' || n == '$' || n == self.lexer.escape => {
                                self.bump();
                                c = n;
                            }
                            Some(_) => {}
                        }
                    }
                    result.push(c);
                }
            }
        }
    }

    fn process_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if name.is_empty() && is_digit(c) {
                while let Some(d) = self.peek().filter(|&d| is_digit(d)) {
                    self.bump();
                    name.push(d);
                }
                return name;
            }
            if name.is_empty() && is_special_param(c) {
                self.bump();
                name.push(c);
                return name;
            }
            if !is_letter(c) && !is_digit(c) && c != '_' {
                break;
            }
            self.bump();
            name.push(c);
        }
        name
    }

    fn process_possible_heredoc(&mut self) -> String {
        self.bump();
        if self.peek() != Some('<') {
            return "<".to_owned();
        }
        self.bump();
        let mut result = "<<".to_owned();
        while let Some(c) = self.peek().filter(|c| matches!(c, '\t' | '\r' | ' ')) {
            self.bump();
            result.push(c);
        }
        result
    }

    /// Processes a modifier's word up to `stop`; an error at the end of the word becomes
    /// `at_end` (BuildKit reports the missing delimiter, whatever failed inside).
    fn modifier_word(
        &mut self,
        stop: char,
        raw_escapes: bool,
        at_end: ExpandError,
    ) -> Result<String, ExpandError> {
        match self.process_stop_on(Some(stop), raw_escapes) {
            Ok((word, _)) => Ok(word),
            Err(_) if self.peek().is_none() => Err(at_end),
            Err(e) => Err(e),
        }
    }

    fn process_dollar(&mut self) -> Result<String, ExpandError> {
        let offset = self.pos;
        self.bump();
        if self.peek() != Some('{') {
            let name = self.process_name();
            if name.is_empty() {
                return Ok("$".to_owned());
            }
            return Ok(match self.get_env(&name) {
                Some(v) => v.to_owned(),
                None if self.lexer.skip_unset_env => format!("${name}"),
                None => String::new(),
            });
        }
        self.bump();
        match self.peek() {
            None => return Err(ExpandError::MissingBrace { offset }),
            Some('{' | '}' | ':') => return Err(ExpandError::BadSubstitution { offset }),
            Some(_) => {}
        }
        let name = self.process_name();
        // BuildKit reports `${V` (end right after the name) as an unsupported modifier
        // U+FFFD; a missing brace is what the user has to fix.
        let Some(mut op) = self.bump() else {
            return Err(ExpandError::MissingBrace { offset });
        };
        let mut modifier = op.to_string();
        let mut null_is_unset = false;
        match op {
            '}' => {
                return Ok(match self.get_env(&name) {
                    Some(v) => v.to_owned(),
                    None if self.lexer.skip_unset_env => format!("${{{name}}}"),
                    None => String::new(),
                });
            }
            '/' => return self.process_replace(offset, name),
            ':' | '+' | '-' | '?' | '#' | '%' => {}
            _ => return Err(ExpandError::UnsupportedModifier { modifier, offset }),
        }
        if op == ':' {
            null_is_unset = true;
            // At the end of the word the missing brace is reported below.
            op = self.bump().unwrap_or('\u{fffd}');
            modifier.push(op);
        }
        let raw_escapes = op == '#' || op == '%';
        if null_is_unset && raw_escapes {
            return Err(ExpandError::UnsupportedModifier { modifier, offset });
        }
        let word = self.modifier_word('}', raw_escapes, ExpandError::MissingBrace { offset })?;
        let value = self.get_env(&name);
        if value.is_none() && self.lexer.skip_unset_env {
            return Ok(format!("${{{name}{modifier}{word}}}"));
        }
        let set = value.is_some();
        let value = value.unwrap_or("");
        let empty = null_is_unset && value.is_empty();
        match op {
            '-' => Ok(if !set || empty {
                word
            } else {
                value.to_owned()
            }),
            '+' => Ok(if !set || empty { String::new() } else { word }),
            '?' => {
                if set && !empty {
                    return Ok(value.to_owned());
                }
                let message = if !word.is_empty() {
                    word
                } else if !set {
                    "is not allowed to be unset".to_owned()
                } else {
                    "is not allowed to be empty".to_owned()
                };
                Err(ExpandError::Required {
                    name,
                    message,
                    offset,
                })
            }
            '#' | '%' => {
                // `#`/`%` remove the shortest match, `##`/`%%` the longest.
                let (greedy, pattern) = match word.strip_prefix(op) {
                    Some(rest) => (true, rest.to_owned()),
                    None => (false, word),
                };
                if op == '%' {
                    trim_suffix(&pattern, value, greedy, offset)
                } else {
                    trim_prefix(&pattern, value, greedy, offset)
                }
            }
            _ => Err(ExpandError::UnsupportedModifier { modifier, offset }),
        }
    }

    /// `${V/p/r}` and `${V//p/r}`, after the first `/`.
    fn process_replace(&mut self, offset: usize, name: String) -> Result<String, ExpandError> {
        let replace_all = self.peek() == Some('/');
        if replace_all {
            self.bump();
        }
        let pattern = self.modifier_word('/', true, ExpandError::MissingSlash { offset })?;
        let replacement = self.modifier_word('}', true, ExpandError::MissingBrace { offset })?;
        let value = match self.get_env(&name) {
            Some(v) => v,
            None if self.lexer.skip_unset_env => {
                return Ok(format!("${{{name}/{pattern}/{replacement}}}"));
            }
            None => "",
        };
        let compiled =
            Pattern::compile(&pattern, true).map_err(|escaped| ExpandError::InvalidPattern {
                pattern: pattern.clone(),
                escaped,
                offset,
            })?;
        let chars: Vec<char> = value.chars().collect();
        let mut matcher = Matcher::new(&compiled, &chars);
        if !replace_all {
            return Ok(match matcher.find(0) {
                Some((start, end)) => {
                    let mut out: String = chars[..start].iter().collect();
                    out.push_str(&replacement);
                    out.extend(&chars[end..]);
                    out
                }
                None => value.to_owned(),
            });
        }
        // Go's Regexp.ReplaceAllString: an empty match right after a match is skipped,
        // and the search always advances by at least one character.
        let mut out = String::new();
        let mut last_end = 0;
        let mut search = 0;
        while search <= chars.len() {
            let Some((start, end)) = matcher.find(search) else {
                break;
            };
            out.extend(&chars[last_end..start]);
            if end > last_end || start == 0 {
                let matched: String = chars[start..end].iter().collect();
                expand_go_template(&mut out, &replacement, &matched);
            }
            last_end = end;
            search = end.max(search + 1);
        }
        out.extend(&chars[last_end.min(chars.len())..]);
        Ok(out)
    }
}

/// Appends Go's `Regexp.Expand` of `template` for a pattern without capture groups:
/// `$$` is `$`, `$0`/`${0}` the match, other references nothing, a malformed `$` itself.
fn expand_go_template(out: &mut String, template: &str, matched: &str) {
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let (brace, body) = match rest.strip_prefix('{') {
            Some(body) => (true, body),
            None => (false, rest),
        };
        let name_len = body
            .char_indices()
            .find(|&(_, c)| !is_letter(c) && !is_digit(c) && c != '_')
            .map_or(body.len(), |(i, _)| i);
        let after_name = &body[name_len..];
        let after = if brace {
            after_name.strip_prefix('}')
        } else {
            Some(after_name)
        };
        match after {
            Some(after) if name_len > 0 => {
                if &body[..name_len] == "0" {
                    out.push_str(matched);
                }
                rest = after;
            }
            _ => out.push('$'),
        }
    }
    out.push_str(rest);
}

/// One element of a shell pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatTok {
    Lit(char),
    /// `?`: one character other than a newline.
    Any,
    /// `*`: any run of characters without a newline.
    Star,
}

/// A shell pattern, matched with the leftmost-first semantics of the Go regular
/// expression BuildKit builds from it.
#[derive(Debug)]
struct Pattern {
    toks: Vec<PatTok>,
    greedy: bool,
}

impl Pattern {
    /// Compiles `pattern`; `Err` carries the character after an invalid `\` (U+FFFD at
    /// the end of the pattern).
    fn compile(pattern: &str, greedy: bool) -> Result<Pattern, char> {
        let mut toks = Vec::new();
        let mut chars = pattern
            .strip_prefix('\u{feff}')
            .unwrap_or(pattern)
            .chars()
            .peekable();
        while let Some(c) = chars.next() {
            toks.push(match c {
                '*' => PatTok::Star,
                '?' => PatTok::Any,
                '\\' => {
                    // `\}` and `\/` only protected the delimiter inside `${}`.
                    if matches!(chars.peek(), Some('}' | '/')) {
                        continue;
                    }
                    match chars.next() {
                        Some(e @ ('*' | '?' | '\\')) => PatTok::Lit(e),
                        other => return Err(other.unwrap_or('\u{fffd}')),
                    }
                }
                _ => PatTok::Lit(c),
            });
        }
        Ok(Pattern { toks, greedy })
    }
}

/// A backtracking matcher over the characters of one value, remembering failed
/// `(token, position)` states so that patterns with many `*` stay polynomial.
struct Matcher<'p, 't> {
    pat: &'p Pattern,
    text: &'t [char],
    failed: HashSet<(usize, usize)>,
}

/// A `*` that can still try other lengths.
struct StarFrame {
    tok: usize,
    at: usize,
    ends: std::ops::RangeInclusive<usize>,
}

impl<'p, 't> Matcher<'p, 't> {
    fn new(pat: &'p Pattern, text: &'t [char]) -> Self {
        Matcher {
            pat,
            text,
            failed: HashSet::new(),
        }
    }

    /// The first match starting at or after `from`, as a character range.
    fn find(&mut self, from: usize) -> Option<(usize, usize)> {
        (from..=self.text.len()).find_map(|start| self.match_at(start).map(|end| (start, end)))
    }

    /// The end of the match the Go regexp would pick among those starting at `start`.
    fn match_at(&mut self, start: usize) -> Option<usize> {
        let mut stack: Vec<StarFrame> = Vec::new();
        let (mut ti, mut pos) = (0, start);
        loop {
            // Advance until the pattern is done (match) or fails.
            let failed = loop {
                match self.pat.toks.get(ti) {
                    None => return Some(pos),
                    Some(&PatTok::Lit(c)) => {
                        if self.text.get(pos) != Some(&c) {
                            break true;
                        }
                    }
                    Some(PatTok::Any) => {
                        if matches!(self.text.get(pos), None | Some('\n')) {
                            break true;
                        }
                    }
                    Some(PatTok::Star) => {
                        if self.failed.contains(&(ti, pos)) {
                            break true;
                        }
                        let run = self.text[pos..].iter().take_while(|&&c| c != '\n').count();
                        let mut ends = pos..=pos + run;
                        let first = if self.pat.greedy {
                            ends.next_back()
                        } else {
                            ends.next()
                        };
                        stack.push(StarFrame {
                            tok: ti,
                            at: pos,
                            ends,
                        });
                        ti += 1;
                        pos = first.unwrap_or(pos);
                        continue;
                    }
                }
                ti += 1;
                pos += 1;
            };
            debug_assert!(failed);
            // Backtrack to the most recent `*` with lengths left to try.
            loop {
                let frame = stack.last_mut()?;
                let next = if self.pat.greedy {
                    frame.ends.next_back()
                } else {
                    frame.ends.next()
                };
                match next {
                    Some(end) => {
                        ti = frame.tok + 1;
                        pos = end;
                        break;
                    }
                    None => {
                        self.failed.insert((frame.tok, frame.at));
                        stack.pop();
                    }
                }
            }
        }
    }
}

/// `${V#p}` / `${V##p}`: removes the match of `pattern` anchored at the start.
fn trim_prefix(
    pattern: &str,
    value: &str,
    greedy: bool,
    offset: usize,
) -> Result<String, ExpandError> {
    let compiled =
        Pattern::compile(pattern, greedy).map_err(|escaped| ExpandError::InvalidPattern {
            pattern: pattern.to_owned(),
            escaped,
            offset,
        })?;
    let chars: Vec<char> = value.chars().collect();
    Ok(match Matcher::new(&compiled, &chars).match_at(0) {
        Some(end) => chars[end..].iter().collect(),
        None => value.to_owned(),
    })
}

/// `${V%p}` / `${V%%p}`: BuildKit reverses the pattern (keeping `\x` pairs in order) and
/// the value, and trims a prefix.
fn trim_suffix(
    pattern: &str,
    value: &str,
    greedy: bool,
    offset: usize,
) -> Result<String, ExpandError> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut units: Vec<&[char]> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let len = if chars[i] == '\\' && i + 1 < chars.len() {
            2
        } else {
            1
        };
        units.push(&chars[i..i + len]);
        i += len;
    }
    let reversed_pattern: String = units.iter().rev().flat_map(|u| u.iter()).collect();
    let reversed_value: String = value.chars().rev().collect();
    let trimmed = trim_prefix(&reversed_pattern, &reversed_value, greedy, offset)?;
    Ok(trimmed.chars().rev().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a table case expects: a value, or an error whose message is given.
    #[derive(Debug)]
    enum Want {
        V(&'static str),
        E(&'static str),
    }
    use Want::{E, V};

    /// The environment of [`WORDS`].
    const ENV: &[(&str, &str)] = &[
        ("PWD", "/home"),
        ("SHELL", "bash"),
        ("EMPTY", ""),
        ("TARGETARCH", "amd64"),
        ("TARGETOS", "linux"),
        ("TARGETPLATFORM", "linux/amd64"),
        ("TARGETVARIANT", ""),
        ("FILE", "archive.tar.gz"),
        ("PATHV", "/usr/local/bin:/usr/bin"),
        ("SPACED", "a  b"),
        ("R", "[$0]"),
        ("ÉTÉ", "summer"),
    ];

    /// `process_word` with the `\` escape and [`ENV`].
    const WORDS: &[(&str, Want)] = &[
        // plain references
        ("hello", V("hello")),
        ("$PWD", V("/home")),
        ("${PWD}", V("/home")),
        ("he$PWD.", V("he/home.")),
        ("$PWD$SHELL", V("/homebash")),
        ("$UNSET", V("")),
        ("a$UNSET-b", V("a-b")),
        ("$ÉTÉ", V("summer")),
        // `$` not followed by a name is literal
        ("$", V("$")),
        ("$.", V("$.")),
        ("a$ b", V("a$ b")),
        ("cost: 5$", V("cost: 5$")),
        // positional and special parameters are never set
        ("$1x", V("x")),
        ("$12x", V("x")),
        ("${1:-one}", V("one")),
        ("$@@", V("@")),
        ("$$", V("")),
        ("$0", V("")),
        ("${#}", V("")),
        // :- and - (empty counts as unset only with the colon)
        ("${EMPTY:-d}", V("d")),
        ("${EMPTY-d}", V("")),
        ("${UNSET-d}", V("d")),
        ("${UNSET:-d}", V("d")),
        ("${PWD:-d}", V("/home")),
        ("${UNSET:-}", V("")),
        // :+ and +
        ("${EMPTY:+alt}", V("")),
        ("${EMPTY+alt}", V("alt")),
        ("${UNSET+alt}", V("")),
        ("${PWD:+alt}", V("alt")),
        ("${PWD+$SHELL}", V("bash")),
        // :? and ?
        ("${PWD:?}", V("/home")),
        ("${EMPTY?}", V("")),
        ("${EMPTY:?}", E("EMPTY: is not allowed to be empty")),
        ("${UNSET?}", E("UNSET: is not allowed to be unset")),
        (
            "${UNSET:?set it with --build-arg}",
            E("UNSET: set it with --build-arg"),
        ),
        ("${UNSET?need $SHELL}", E("UNSET: need bash")),
        // nesting
        ("${A:-${B:-inner}}", V("inner")),
        ("${A:-${PWD:-no}}x", V("/homex")),
        ("${UNSET:-${PWD}/x}", V("/home/x")),
        ("${TARGETVARIANT:+-${TARGETVARIANT}}", V("")),
        (
            "app-${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-$TARGETVARIANT}",
            V("app-linux-amd64"),
        ),
        ("${BUILDPLATFORM:-linux/amd64}", V("linux/amd64")),
        ("${A:-${B:?x}}", E("B: x")),
        // prefix / suffix removal with globs
        ("${TARGETPLATFORM#*/}", V("amd64")),
        ("${TARGETPLATFORM%/*}", V("linux")),
        ("${FILE#*.}", V("tar.gz")),
        ("${FILE##*.}", V("gz")),
        ("${FILE%.*}", V("archive.tar")),
        ("${FILE%%.*}", V("archive")),
        ("${FILE#a?c}", V("hive.tar.gz")),
        ("${FILE%g?}", V("archive.tar.")),
        ("${FILE#nomatch}", V("archive.tar.gz")),
        ("${FILE#}", V("archive.tar.gz")),
        ("${FILE#*}", V("archive.tar.gz")),
        ("${FILE##*}", V("")),
        ("${FILE#\\*}", V("archive.tar.gz")),
        ("${UNSET#*}", V("")),
        ("${PATHV%%:*}", V("/usr/local/bin")),
        // replacement
        ("${TARGETARCH/amd64/x64}", V("x64")),
        ("${TARGETARCH/arm64/aarch64}", V("amd64")),
        ("${FILE/?r/R}", V("Rchive.tar.gz")),
        ("${FILE//a/A}", V("Archive.tAr.gz")),
        ("${FILE/*./}", V("gz")),
        ("${PATHV//:/ }", V("/usr/local/bin /usr/bin")),
        ("${PATHV//\\//|}", V("|usr|local|bin:|usr|bin")),
        ("${FILE//[a]/x}", V("archive.tar.gz")),
        ("${FILE/.tar}", E("syntax error: missing '/' in ${}")),
        ("${FILE/a/}", V("rchive.tar.gz")),
        ("${UNSET/a/b}", V("")),
        // replace-all goes through Go's template expansion, replace-one does not
        ("${FILE//a/$R}", V("[a]rchive.t[a]r.gz")),
        ("${FILE/a/$R}", V("[$0]rchive.tar.gz")),
        ("${FILE//$EMPTY/-}", V("-a-r-c-h-i-v-e-.-t-a-r-.-g-z-")),
        // quotes
        ("'$PWD'", V("$PWD")),
        ("\"$PWD\"", V("/home")),
        ("he'll'o", V("hello")),
        ("\"a 'b' c\"", V("a 'b' c")),
        ("'a \"b\"'", V("a \"b\"")),
        ("'a\\'", V("a\\")),
        ("\"${UNSET:-a b}\"", V("a b")),
        ("${UNSET:-'}'}", V("}")),
        ("${UNSET:-\"x y\"}", V("x y")),
        // escapes
        ("\\$PWD", V("$PWD")),
        ("\\\\$PWD", V("\\/home")),
        ("\"\\$PWD\"", V("$PWD")),
        ("\"\\x\"", V("\\x")),
        ("\"a\\\"b\"", V("a\"b")),
        ("\"x\\\\y\"", V("x\\y")),
        ("\\x", V("x")),
        ("x\\", V("x")),
        ("${UNSET:-a\\}b}", V("a}b")),
        ("${UNSET:-\\$PWD}", V("$PWD")),
        ("${aaa}}", V("}")),
        ("\u{feff}$PWD", V("/home")),
        // errors
        (
            "'unterminated",
            E("unexpected end of statement while looking for matching single-quote"),
        ),
        (
            "\"unterminated",
            E("unexpected end of statement while looking for matching double-quote"),
        ),
        (
            "\"a\\\"",
            E("unexpected end of statement while looking for matching double-quote"),
        ),
        ("${}", E("syntax error: bad substitution")),
        ("${:-x}", E("syntax error: bad substitution")),
        ("${{A}", E("syntax error: bad substitution")),
        ("${", E("syntax error: missing '}'")),
        ("${PWD", E("syntax error: missing '}'")),
        ("${UNSET:-x", E("syntax error: missing '}'")),
        ("${A:-${B:?x}", E("syntax error: missing '}'")),
        ("${PWD/x/y", E("syntax error: missing '}'")),
        ("${PWD=x}", E("unsupported modifier (=) in substitution")),
        ("${PWD:=x}", E("unsupported modifier (:=) in substitution")),
        ("${PWD:#x}", E("unsupported modifier (:#) in substitution")),
        ("${PWD:%%x}", E("unsupported modifier (:%) in substitution")),
        ("${PWD.x}", E("unsupported modifier (.) in substitution")),
        ("${#PWD}", E("unsupported modifier (P) in substitution")),
        (
            "${FILE#\\.}",
            E("invalid pattern (\\.) in substitution: invalid escape '\\.'"),
        ),
        (
            "${FILE%a\\.}",
            E("invalid pattern (\\.a) in substitution: invalid escape '\\.'"),
        ),
    ];

    fn check_table(lexer: Lexer, table: &[(&str, Want)]) {
        for (word, want) in table {
            let got = lexer
                .process_word(word, &ENV)
                .map(|e| e.value)
                .map_err(|e| e.to_string());
            let want = match want {
                V(v) => Ok(v.to_string()),
                E(m) => Err(m.to_string()),
            };
            assert_eq!(got, want, "word {word:?}");
        }
    }

    #[test]
    fn word_table() {
        check_table(Lexer::new('\\'), WORDS);
        assert!(WORDS.len() >= 60);
    }

    /// `process_word` with the `` ` `` escape (`# escape=`` ` ``) and [`ENV`].
    const BACKTICK_WORDS: &[(&str, Want)] = &[
        ("C:\\foo\\bar", V("C:\\foo\\bar")),
        ("\"C:\\$PWD\"", V("C:\\/home")),
        ("\\$PWD", V("\\/home")),
        ("`$PWD", V("$PWD")),
        ("a``b", V("a`b")),
        ("\"`\"\"", V("\"")),
        ("\"`x\"", V("`x")),
        ("${UNSET:-C:\\x}", V("C:\\x")),
        ("${UNSET:-a`}b}", V("a}b")),
        ("x`", V("x")),
        ("'C:\\'", V("C:\\")),
    ];

    #[test]
    fn backtick_escape_table() {
        check_table(Lexer::new('`'), BACKTICK_WORDS);
    }

    /// (word, env, value, matched, unmatched)
    type MatchCase = (
        &'static str,
        &'static [(&'static str, &'static str)],
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    );
    const MATCHES: &[MatchCase] = &[
        (
            "linux/arm64",
            &[("TARGETPLATFORM", "linux/amd64")],
            "linux/arm64",
            &[],
            &[],
        ),
        (
            "$TARGETPLATFORM",
            &[("TARGETPLATFORM", "linux/amd64")],
            "linux/amd64",
            &["TARGETPLATFORM"],
            &[],
        ),
        ("${BUILDPLATFORM}", &[], "", &[], &["BUILDPLATFORM"]),
        (
            "${X-a} ${Y-b} ${Z-c}",
            &[("X", "1"), ("Y", "")],
            "1  c",
            &["X", "Y"],
            &["Z"],
        ),
        ("${UNSET:-$PWD}", &[("PWD", "/")], "/", &["PWD"], &["UNSET"]),
        // the default word is expanded even when not used
        ("${PWD:-$UNSET}", &[("PWD", "/")], "/", &["PWD"], &["UNSET"]),
        ("'$PWD' \\$PWD", &[("PWD", "/")], "$PWD $PWD", &[], &[]),
        ("$1${@}", &[], "", &[], &["1", "@"]),
        ("${+x}", &[], "", &[], &[""]),
        (
            "${V//$P/$R}",
            &[("V", "abc"), ("P", "b"), ("R", "B")],
            "aBc",
            &["P", "R", "V"],
            &[],
        ),
    ];

    #[test]
    fn matched_and_unmatched() {
        for &(word, env, value, matched, unmatched) in MATCHES {
            let got = Lexer::default().process_word(word, &env).expect(word);
            assert_eq!(got.value, value, "word {word:?}");
            let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
            assert_eq!(got.matched, set(matched), "matched in {word:?}");
            assert_eq!(got.unmatched, set(unmatched), "unmatched in {word:?}");
        }
    }

    /// `process_words` with [`ENV`].
    const SPLIT: &[(&str, Result<&[&str], &str>)] = &[
        ("a b  c", Ok(&["a", "b", "c"])),
        ("  lead\ttrail  ", Ok(&["lead", "trail"])),
        ("\"a b\" c", Ok(&["a b", "c"])),
        ("a\\ b", Ok(&["a b"])),
        ("$SPACED", Ok(&["a", "b"])),
        ("\"$SPACED\"", Ok(&["a  b"])),
        ("x${SPACED}y", Ok(&["xa", "by"])),
        ("'' x \"\"", Ok(&["x"])),
        ("8080/tcp 9090/udp", Ok(&["8080/tcp", "9090/udp"])),
        ("${PATHV//:/ }", Ok(&["/usr/local/bin", "/usr/bin"])),
        // BuildKit quirk: the nested `${..:-..}` resets the word collected so far
        ("a${UNSET:-b}c", Ok(&["bc"])),
        ("a ${UNSET:-b c}", Ok(&["a", "b", "c"])),
        ("cat <<  EOF x", Ok(&["cat", "<<  EOF", "x"])),
        ("", Ok(&[])),
        (
            "'open",
            Err("unexpected end of statement while looking for matching single-quote"),
        ),
    ];

    #[test]
    fn words_table() {
        for (word, want) in SPLIT {
            let got = Lexer::default()
                .process_words(word, &ENV)
                .map_err(|e| e.to_string());
            let want = want.map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(got, want.map_err(str::to_owned), "word {word:?}");
        }
    }

    #[test]
    fn options() {
        let env = [("PWD", "/home")];
        let skip = Lexer::default().with_skip_unset_env(true);
        let got = skip
            .process_word("$U ${U} ${U:-$PWD} ${U//a/b} ${U#x} $PWD", &env)
            .expect("ok");
        assert_eq!(got.value, "$U ${U} ${U:-/home} ${U/a/b} ${U#x} /home");

        let raw_quotes = Lexer::default().with_raw_quotes(true);
        assert_eq!(
            raw_quotes
                .process_word("'a' \"$PWD\"", &env)
                .expect("ok")
                .value,
            "'a' \"/home\""
        );

        let raw_escapes = Lexer::default().with_raw_escapes(true);
        assert_eq!(
            raw_escapes
                .process_word("a\\ b\\$PWD", &env)
                .expect("ok")
                .value,
            "a\\ b\\$PWD"
        );

        let no_quotes = Lexer::default().with_skip_process_quotes(true);
        assert_eq!(
            no_quotes
                .process_word("'$PWD' \"x", &env)
                .expect("ok")
                .value,
            "'/home' \"x"
        );

        // the combination BuildKit's parser uses to find heredoc names in a RUN line
        let heredoc = Lexer::new('\\')
            .with_raw_quotes(true)
            .with_raw_escapes(true)
            .with_skip_unset_env(true);
        let words = heredoc
            .process_words("cat <<\"EOF\" > $OUT", &NoVars)
            .expect("ok");
        assert_eq!(words, ["cat", "<<\"EOF\"", ">", "$OUT"]);
        assert_eq!(heredoc.escape(), '\\');
    }

    #[test]
    fn error_offsets() {
        let cases: &[(&str, usize)] = &[
            ("ab${PWD", 2),
            ("x'abc", 1),
            ("x\"abc", 1),
            ("a ${A:-\"x}", 2),
            ("${A:-${}}", 5),
            ("--${V:?no}", 2),
            ("éé${V#\\x}", 4),
        ];
        for &(word, offset) in cases {
            let err = Lexer::default()
                .process_word(word, &NoVars)
                .expect_err(word);
            assert_eq!(err.offset(), offset, "word {word:?}: {err}");
        }
        let err = Lexer::default()
            .process_word("${V:?no}", &NoVars)
            .expect_err("required");
        assert_eq!(
            err,
            ExpandError::Required {
                name: "V".into(),
                message: "no".into(),
                offset: 0
            }
        );
    }

    #[test]
    fn lookups() {
        let pairs = vec![
            ("A".to_owned(), "1".to_owned()),
            ("A".to_owned(), "2".to_owned()),
        ];
        assert_eq!(pairs.lookup("A"), Some("2"));
        assert_eq!(pairs.as_slice().lookup("B"), None);
        let hash: HashMap<String, String> = [("A".to_owned(), "h".to_owned())].into();
        assert_eq!(
            Lexer::default()
                .process_word("$A", &hash)
                .expect("ok")
                .value,
            "h"
        );
        let tree: BTreeMap<&str, &str> = [("A", "t")].into();
        assert_eq!(
            Lexer::default()
                .process_word("$A", &tree)
                .expect("ok")
                .value,
            "t"
        );
        assert_eq!(
            Lexer::default()
                .process_word("${A-u}", &NoVars)
                .expect("ok")
                .value,
            "u"
        );
        // references look up through the referent
        fn first_value(env: impl VarLookup) -> Option<String> {
            env.lookup("A").map(str::to_owned)
        }
        assert_eq!(first_value(&tree), Some("t".to_owned()));
    }

    #[test]
    fn patterns_stay_fast() {
        // Without the failure memo this would backtrack for ages (8 stars over 400 chars).
        let value = "a".repeat(400);
        let env = [("A", value.as_str())];
        let word = "${A#*a*a*a*a*a*a*a*a*b}|${A//*a*a*a*a*b/x}|${A%%a*a*a*a*a*c}";
        let got = Lexer::default().process_word(word, &env).expect("ok");
        assert_eq!(got.value, format!("{value}|{value}|{value}"));
    }

    /// A small deterministic generator (xorshift) for garbage input.
    fn garbage(seed: &mut u64, alphabet: &[&str], max: usize) -> String {
        let mut next = || {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed
        };
        let len = (next() % max as u64) as usize;
        (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect()
    }

    #[test]
    fn never_panics() {
        let tricky =
            "a${B:-'c}\"d${E//*[?]/\\}}`$1${#}${:}é\u{feff}<< \\\"'\n${F%%\\\\*}${G:?\"\"}$";
        let lexers = [
            Lexer::new('\\'),
            Lexer::new('`'),
            Lexer::new('\\')
                .with_skip_unset_env(true)
                .with_raw_quotes(true)
                .with_raw_escapes(true),
            Lexer::new('`').with_skip_process_quotes(true),
        ];
        let env = [("B", "x y"), ("E", "*?\\"), ("F", "\\\\*"), ("G", "")];
        let mut inputs: Vec<String> = Vec::new();
        for (i, _) in tricky.char_indices() {
            inputs.push(tricky[..i].to_owned());
            inputs.push(tricky[i..].to_owned());
        }
        let alphabet = [
            "$", "{", "}", ":", "-", "+", "?", "#", "%", "/", "'", "\"", "\\", "`", "B", "E", "x",
            " ", "*", "[", "é", "<", "\n", "0", "$B", "${E", "${F:-", "${B//",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d;
        inputs.extend((0..3000).map(|_| garbage(&mut seed, &alphabet, 16)));
        for input in &inputs {
            for lexer in &lexers {
                // Either outcome is fine; the call must return.
                let word = lexer.process_word(input, &env);
                let words = lexer.process_words(input, &env);
                assert_eq!(word.is_ok(), words.is_ok(), "input {input:?}");
            }
        }
    }
}
