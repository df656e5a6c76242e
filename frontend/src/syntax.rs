//! The syntax layer: Dockerfile text → instructions, read exactly as BuildKit's parser
//! reads it.
//!
//! BuildKit's parser works on *logical lines*: physical lines joined at the escape token,
//! with comment lines and blank lines inside a continuation dropped, then split into a
//! keyword, `--flags` and per-instruction arguments, then followed by heredoc bodies. The
//! values it produces (and the line numbers it reports) are what every later stage of a
//! build sees, so this module reproduces that algorithm rule for rule and keeps, for every
//! logical line, a map back to byte offsets in the file so lint and rewrite can point at
//! and edit the exact source text.
//!
//! Why not only the `parse-dockerfile` crate: it gives typed instructions with spans, but
//! not the values BuildKit's parser produces (argument lists, line numbers, heredoc
//! names, BuildKit's errors), and it reads a few inputs differently (it accepts `ENV A`
//! without a value; it continues a line ending in an escaped escape token). The crate is
//! kept as a second opinion: `frontend/tests/parse_dockerfile_agreement.rs` checks that
//! both find the same instructions at the same offsets on the whole conformance corpus,
//! with the known differences listed there. Where they disagree, BuildKit's reading wins,
//! because BuildKit is what builds the file.

use std::fmt;

use crate::source::{SourceFile, Span};

/// A parsed Dockerfile: its instructions in file order, with spans into the source.
#[derive(Debug, Clone)]
pub struct Dockerfile {
    /// The source the instructions point into.
    pub source: SourceFile,
    /// The escape token in force (`\` or `` ` ``).
    pub escape: char,
    /// Parser directives found at the top of the file.
    pub directives: Vec<Directive>,
    /// Instructions in file order.
    pub instructions: Vec<Instruction>,
    /// Parser warnings (BuildKit's "empty continuation line").
    pub warnings: Vec<ParseWarning>,
}

/// A parser directive such as `# escape=\``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// Lower-cased name: `syntax`, `escape` or `check`.
    pub name: String,
    /// The value, trimmed.
    pub value: String,
    /// The whole directive line (without its line ending).
    pub span: Span,
}

/// A warning the parser gives without failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseWarning {
    /// What BuildKit says.
    pub message: String,
    /// The empty line inside the continuation.
    pub span: Span,
}

/// One instruction, as BuildKit's parser produces it.
#[derive(Debug, Clone)]
pub struct Instruction {
    /// The keyword as written (`from`, `FROM`, `From`).
    pub keyword: String,
    /// Where the keyword is.
    pub keyword_span: Span,
    /// `--name[=value]` flags before the arguments.
    pub flags: Vec<Flag>,
    /// The argument values BuildKit's parser produces for this instruction.
    pub args: Vec<String>,
    /// Whether the arguments were written in JSON (exec) form.
    pub json: bool,
    /// Heredoc bodies following the instruction line.
    pub heredocs: Vec<Heredoc>,
    /// From the keyword to the end of the last line (heredoc terminator included).
    pub span: Span,
    /// 1-based first line, as BuildKit counts.
    pub start_line: usize,
    /// 1-based last line (inclusive), as BuildKit counts.
    pub end_line: usize,
    /// The logical line: continuation lines joined, comments removed.
    pub line: LogicalLine,
    /// Where the argument text starts in [`Instruction::line`].
    pub args_offset: usize,
    /// The unparsed argument text (flags removed, trimmed).
    pub args_text: String,
    /// For `ONBUILD`, the instruction it wraps.
    pub sub: Option<Box<Instruction>>,
}

impl Instruction {
    /// The keyword in upper case (`FROM`).
    pub fn keyword_upper(&self) -> String {
        self.keyword.to_ascii_uppercase()
    }

    /// Whether this is the given instruction (case-insensitive).
    pub fn is(&self, keyword: &str) -> bool {
        self.keyword.eq_ignore_ascii_case(keyword)
    }

    /// The first flag with this name (`from` for `--from=x`).
    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().find(|f| f.name == name)
    }

    /// Maps a byte range of the argument text to a span in the source file.
    pub fn args_span(&self, range: std::ops::Range<usize>) -> Span {
        let start = self.line.to_source(self.args_offset + range.start);
        let end = if range.end > range.start {
            self.line.to_source(self.args_offset + range.end - 1) + 1
        } else {
            start
        };
        start..end.max(start)
    }

    /// The span of the whole argument text in the source.
    pub fn args_source_span(&self) -> Span {
        self.args_span(0..self.args_text.len())
    }
}

/// A `--name[=value]` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// The flag as BuildKit reports it: quotes removed, e.g. `--from=build`.
    pub raw: String,
    /// The name without dashes (`from`).
    pub name: String,
    /// The value after `=`, if any.
    pub value: Option<String>,
    /// Where the flag is written in the source.
    pub span: Span,
}

/// A heredoc attached to `RUN`, `COPY` or `ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter word, quotes removed.
    pub name: String,
    /// The file descriptor (`3<<EOF`), 0 when not given.
    pub fd: u32,
    /// False when the delimiter was quoted: the body is then taken literally.
    pub expand: bool,
    /// `<<-`: leading tabs are removed from the body when it is used.
    pub chomp: bool,
    /// The body exactly as written, line endings included.
    pub content: String,
    /// The body lines in the source, terminator line included.
    pub span: Span,
}

/// A logical line and the way back from its offsets to offsets in the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogicalLine {
    text: String,
    /// (offset in `text`, offset in the source) at the start of each joined piece.
    segments: Vec<(usize, usize)>,
}

impl LogicalLine {
    /// The joined text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Maps an offset in the logical text to a byte offset in the source.
    pub fn to_source(&self, offset: usize) -> usize {
        let idx = match self.segments.binary_search_by(|(l, _)| l.cmp(&offset)) {
            Ok(i) => i,
            Err(0) => return self.segments.first().map_or(offset, |s| s.1),
            Err(i) => i - 1,
        };
        let (l, s) = self.segments[idx];
        s + (offset - l)
    }

    fn push(&mut self, piece: &str, source_offset: usize) {
        if piece.is_empty() {
            return;
        }
        self.segments.push((self.text.len(), source_offset));
        self.text.push_str(piece);
    }

    /// A sub-line starting at `offset` (used for the instruction inside `ONBUILD`).
    fn suffix(&self, offset: usize) -> LogicalLine {
        let mut out = LogicalLine::default();
        let text = self.text.get(offset..).unwrap_or("");
        out.text = text.to_string();
        out.segments.push((0, self.to_source(offset)));
        for &(l, s) in &self.segments {
            if l > offset {
                out.segments.push((l - offset, s));
            }
        }
        out
    }
}

/// A Dockerfile BuildKit would refuse to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong, in BuildKit's words where BuildKit has them.
    pub message: String,
    /// Where: the offending instruction or line.
    pub span: Span,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SyntaxError {}

/// BuildKit's scanner refuses longer lines (bufio.MaxScanTokenSize - 1).
const MAX_LINE: usize = 65535;

/// Parses a Dockerfile as BuildKit's parser does.
pub fn parse(source: SourceFile) -> Result<Dockerfile, SyntaxError> {
    let text = source.text();
    let lines = physical_lines(text)?;
    let mut directives = DirectiveScanner::default();
    let mut escape = '\\';
    let mut instructions = Vec::new();
    let mut warnings = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let first = &lines[i];
        let (body_offset, raw) = if i == 0 {
            match first.text.strip_prefix('\u{feff}') {
                Some(rest) => (first.offset + 3, rest),
                None => (first.offset, first.text),
            }
        } else {
            (first.offset, first.text)
        };
        let trimmed = trim_newline(raw);
        let lead = trimmed.len() - trimmed.trim_start().len();
        let token = &trimmed[lead..];
        if let Some(d) = directives.scan(token, body_offset + lead) {
            let d = d?;
            if d.name == "escape" {
                escape = match d.value.as_str() {
                    "\\" => '\\',
                    "`" => '`',
                    other => {
                        return Err(SyntaxError {
                            message: format!(
                                "invalid escape token '{other}' does not match ` or \\"
                            ),
                            span: d.span.clone(),
                        })
                    }
                };
            }
        }
        i += 1;
        let content = strip_comment(token);
        let (piece, mut at_end) = trim_continuation(content, escape);
        if at_end && piece.is_empty() {
            continue;
        }
        let start_line = i;
        let mut line = LogicalLine::default();
        line.push(piece, body_offset + lead);
        let mut last_line_end = body_offset + lead + content.len();
        let mut empty_continuation = None;
        while !at_end && i < lines.len() {
            let next = &lines[i];
            let raw = trim_newline(next.text);
            directives.done = true;
            i += 1;
            last_line_end = next.offset + raw.len();
            if raw.trim_start().starts_with('#') {
                continue;
            }
            let content = strip_comment(raw);
            if content.trim_start().is_empty() {
                empty_continuation.get_or_insert(next.offset..next.offset + raw.len());
                continue;
            }
            let (piece, end) = trim_continuation(content, escape);
            at_end = end;
            line.push(piece, next.offset);
        }
        if let Some(span) = empty_continuation {
            warnings.push(ParseWarning {
                message: format!("Empty continuation line found in: {}", line.text),
                span,
            });
        }
        let line_span = (body_offset + lead)..last_line_end;
        let mut inst = node_from_line(&line, 0, escape).map_err(|message| SyntaxError {
            message,
            span: line_span.clone(),
        })?;
        let mut end_offset = last_line_end;
        if can_contain_heredoc(&inst) {
            let docs = heredocs_from_line(line.text());
            for mut doc in docs {
                let body_start = lines.get(i).map_or(text.len(), |l| l.offset);
                let mut terminated = false;
                while i < lines.len() {
                    let l = &lines[i];
                    i += 1;
                    let mut candidate = trim_newline(l.text);
                    end_offset = l.offset + candidate.len();
                    if doc.chomp {
                        candidate = candidate.trim_start_matches('\t');
                    }
                    if candidate == doc.name {
                        terminated = true;
                        break;
                    }
                    doc.content.push_str(l.text);
                }
                if !terminated {
                    return Err(SyntaxError {
                        message: "unterminated heredoc".to_string(),
                        span: body_start..text.len(),
                    });
                }
                doc.span = body_start..end_offset;
                inst.heredocs.push(doc);
            }
        }
        inst.start_line = start_line;
        inst.end_line = i;
        inst.span = inst.keyword_span.start..end_offset;
        if let Some(sub) = inst.sub.as_mut() {
            sub.start_line = start_line;
            sub.end_line = i;
            sub.span = sub.keyword_span.start..end_offset;
        }
        instructions.push(inst);
    }
    if instructions.is_empty() {
        return Err(SyntaxError {
            message: "file with no instructions".to_string(),
            span: text.len()..text.len(),
        });
    }
    Ok(Dockerfile {
        source,
        escape,
        directives: directives.found,
        instructions,
        warnings,
    })
}

struct PhysicalLine<'a> {
    offset: usize,
    /// The line with its ending.
    text: &'a str,
}

fn physical_lines(text: &str) -> Result<Vec<PhysicalLine<'_>>, SyntaxError> {
    let mut out = Vec::new();
    let mut offset = 0;
    for piece in text.split_inclusive('\n') {
        // The scanner's buffer holds 64 KiB including the line ending.
        if piece.len() > MAX_LINE + 1 || (!piece.ends_with('\n') && piece.len() > MAX_LINE) {
            return Err(SyntaxError {
                message: format!("dockerfile line greater than max allowed size of {MAX_LINE}"),
                span: offset..offset + piece.len(),
            });
        }
        out.push(PhysicalLine {
            offset,
            text: piece,
        });
        offset += piece.len();
    }
    Ok(out)
}

fn trim_newline(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

/// BuildKit drops a line whose first character is `#` (after the first line's leading
/// whitespace has been trimmed); `#` anywhere else is literal.
fn strip_comment(s: &str) -> &str {
    if s.starts_with('#') {
        ""
    } else {
        s
    }
}

/// Removes a trailing escape token (followed only by spaces or tabs) unless it is itself
/// escaped; returns the rest and whether the instruction ends on this line.
fn trim_continuation(s: &str, escape: char) -> (&str, bool) {
    let body = s.trim_end_matches([' ', '\t']);
    let Some(before) = body.strip_suffix(escape) else {
        return (s, true);
    };
    match before.chars().next_back() {
        Some(c) if c == escape => (s, true),
        _ => (before, false),
    }
}

#[derive(Default)]
struct DirectiveScanner {
    done: bool,
    found: Vec<Directive>,
}

impl DirectiveScanner {
    /// Looks at one line while directives may still appear. Returns the directive found,
    /// an error for a repeated one, or `None` (which ends directive scanning).
    fn scan(&mut self, token: &str, offset: usize) -> Option<Result<&Directive, SyntaxError>> {
        if self.done {
            return None;
        }
        let Some((name, value)) = directive_match(token) else {
            self.done = true;
            return None;
        };
        let name = name.to_ascii_lowercase();
        if !matches!(name.as_str(), "syntax" | "escape" | "check") {
            self.done = true;
            return None;
        }
        let span = offset..offset + token.len();
        if self.found.iter().any(|d| d.name == name) {
            self.done = true;
            return Some(Err(SyntaxError {
                message: format!("only one {name} parser directive can be used"),
                span,
            }));
        }
        self.found.push(Directive {
            name,
            value: value.to_string(),
            span,
        });
        self.found.last().map(Ok)
    }
}

/// `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`
fn directive_match(token: &str) -> Option<(&str, &str)> {
    let is_re_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c');
    let rest = token.strip_prefix('#')?.trim_start_matches(is_re_space);
    let name_len = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(rest.len(), |(i, _)| i);
    if name_len == 0 {
        return None;
    }
    let (name, rest) = rest.split_at(name_len);
    let rest = rest.trim_start_matches(is_re_space).strip_prefix('=')?;
    let value = rest.trim_matches(is_re_space);
    if value.is_empty() {
        return None;
    }
    Some((name, value))
}

/// Go's `unicode.IsSpace` and Rust's `char::is_whitespace` agree (both are the Unicode
/// White_Space property); BuildKit's `reWhitespace` is ASCII only.
fn is_re_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// Splits on runs of `[\t\v\f\r ]`, at most `limit` pieces (0 = no limit), with offsets.
fn split_re_whitespace(s: &str, limit: usize) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if limit != 0 && out.len() + 1 == limit {
            break;
        }
        if is_re_whitespace(c) {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if !is_re_whitespace(d) {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            out.push((start, &s[start..i]));
            start = end;
        }
    }
    out.push((start, &s[start..]));
    out
}

/// Builds an instruction from a logical line starting at `offset` in `line`
/// (BuildKit's newNodeFromLine + splitCommand).
fn node_from_line(line: &LogicalLine, offset: usize, escape: char) -> Result<Instruction, String> {
    let full = line.text().get(offset..).unwrap_or("");
    let lead = full.len() - full.trim_start().len();
    let trimmed = full.trim();
    let parts = split_re_whitespace(trimmed, 2);
    let keyword = parts.first().map_or("", |p| p.1).to_string();
    let kw_start = offset + lead;
    let keyword_span =
        line.to_source(kw_start)..line.to_source(kw_start + keyword.len().max(1) - 1) + 1;
    let mut flags = Vec::new();
    let (args_text, args_offset) = match parts.get(1) {
        Some(&(rest_at, rest)) => {
            let (remaining_at, found) = extract_flags(rest);
            for f in found {
                let start = kw_start + rest_at + f.start;
                let end = kw_start + rest_at + f.end;
                let span = line.to_source(start)..line.to_source(end.saturating_sub(1)) + 1;
                let (name, value) =
                    match f.word.strip_prefix("--").unwrap_or(&f.word).split_once('=') {
                        Some((n, v)) => (n.to_string(), Some(v.to_string())),
                        None => (f.word.trim_start_matches('-').to_string(), None),
                    };
                flags.push(Flag {
                    raw: f.word,
                    name,
                    value,
                    span,
                });
            }
            let remaining = rest.get(remaining_at..).unwrap_or("");
            let inner_lead = remaining.len() - remaining.trim_start().len();
            (
                remaining.trim().to_string(),
                kw_start + rest_at + remaining_at + inner_lead,
            )
        }
        None => (String::new(), kw_start + keyword.len()),
    };
    let mut inst = Instruction {
        keyword,
        keyword_span,
        flags,
        args: Vec::new(),
        json: false,
        heredocs: Vec::new(),
        span: 0..0,
        start_line: 0,
        end_line: 0,
        line: if offset == 0 {
            line.clone()
        } else {
            line.suffix(offset)
        },
        args_offset: 0,
        args_text,
        sub: None,
    };
    inst.args_offset = args_offset - offset;
    let rest = inst.args_text.as_str();
    let (args, json) = match inst.keyword.to_ascii_lowercase().as_str() {
        "add" | "copy" | "volume" => parse_maybe_json_to_list(rest)?,
        "arg" => (parse_words(rest, escape), false),
        "cmd" | "entrypoint" | "run" | "shell" => parse_maybe_json(rest)?,
        "env" => (parse_name_val(rest, "ENV", escape)?, false),
        "label" => (parse_name_val(rest, "LABEL", escape)?, false),
        "expose" | "from" => (split_whitespace_delimited(rest), false),
        "healthcheck" => parse_health_config(rest)?,
        "maintainer" | "stopsignal" | "user" | "workdir" => (
            if rest.is_empty() {
                Vec::new()
            } else {
                vec![rest.to_string()]
            },
            false,
        ),
        "onbuild" => {
            if !rest.is_empty() {
                let sub = node_from_line(line, args_offset, escape)?;
                inst.sub = Some(Box::new(sub));
            }
            (Vec::new(), false)
        }
        // BuildKit's parser keeps unknown keywords with no arguments; the instruction
        // layer rejects them.
        _ => (Vec::new(), false),
    };
    inst.args = args;
    inst.json = json;
    Ok(inst)
}

struct RawFlag {
    word: String,
    start: usize,
    end: usize,
}

/// BuildKit's extractBuilderFlags: leading `--words` (quotes and `\` processed), stopping
/// at the first word that does not start with `--` or after a lone `--`. Returns the
/// offset where the arguments start and the flags.
///
/// BuildKit walks this part byte by byte and treats each byte as a character, so a
/// non-ASCII byte 0x85 or 0xA0 counts as a space there; that is reproduced.
fn extract_flags(line: &str) -> (usize, Vec<RawFlag>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let bytes = line.as_bytes();
    let is_space = |b: u8| char::from(b).is_whitespace();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word: Vec<u8> = Vec::new();
    let mut start = 0;
    let mut quote = 0u8;
    let mut blank_ok = false;
    let mut pos = 0;
    // BuildKit appends each byte as a character (`string(rune(b))`), so non-ASCII text
    // in a flag comes out re-encoded byte by byte ("café" becomes "cafÃ©"); mirror that
    // so later stages see what BuildKit sees.
    let finish = |word: &mut Vec<u8>| {
        let s: String = word.iter().map(|&b| char::from(b)).collect();
        word.clear();
        s
    };
    while pos <= bytes.len() {
        let ch = bytes.get(pos).copied().unwrap_or(0);
        if phase == Phase::Spaces {
            if pos == bytes.len() {
                break;
            }
            if is_space(ch) {
                pos += 1;
                continue;
            }
            if ch != b'-' || bytes.get(pos + 1) != Some(&b'-') {
                return (pos, words);
            }
            phase = Phase::Word;
            start = pos;
        }
        if pos == bytes.len() {
            if (word != b"--") && (blank_ok || !word.is_empty()) {
                let w = finish(&mut word);
                words.push(RawFlag {
                    word: w,
                    start,
                    end: pos,
                });
            }
            break;
        }
        if phase == Phase::Word {
            if is_space(ch) {
                phase = Phase::Spaces;
                if word == b"--" {
                    return (pos, words);
                }
                if blank_ok || !word.is_empty() {
                    let w = finish(&mut word);
                    words.push(RawFlag {
                        word: w,
                        start,
                        end: pos,
                    });
                }
                word.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == b'\'' || ch == b'"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                pos += 1;
                continue;
            }
            let mut c = ch;
            if c == b'\\' {
                if pos + 1 == bytes.len() {
                    pos += 1;
                    continue;
                }
                pos += 1;
                c = bytes[pos];
            }
            word.push(c);
            pos += 1;
            continue;
        }
        // In a quote.
        if ch == quote {
            phase = Phase::Word;
            pos += 1;
            continue;
        }
        let mut c = ch;
        if c == b'\\' {
            if pos + 1 == bytes.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            c = bytes[pos];
        }
        word.push(c);
        pos += 1;
    }
    (bytes.len(), words)
}

/// BuildKit's parseWords: space-separated words, quotes kept, the escape token protects
/// the next character.
fn parse_words(rest: &str, escape: char) -> Vec<String> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let chars: Vec<char> = rest.chars().collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut word = String::new();
    let mut pos = 0;
    while pos <= chars.len() {
        let at_end = pos == chars.len();
        let mut ch = chars.get(pos).copied().unwrap_or('\0');
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if ch.is_whitespace() {
                pos += 1;
                continue;
            }
            phase = Phase::Word;
        }
        if at_end {
            if blank_ok || !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            break;
        }
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                word.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            if ch == escape {
                if pos + 1 == chars.len() {
                    pos += 1;
                    continue;
                }
                word.push(ch);
                pos += 1;
                ch = chars[pos];
            }
            word.push(ch);
            pos += 1;
            continue;
        }
        // In a quote.
        if ch == quote {
            phase = Phase::Word;
        }
        if ch == escape && quote != '\'' {
            if pos + 1 == chars.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            word.push(ch);
            ch = chars[pos];
        }
        word.push(ch);
        pos += 1;
    }
    words
}

/// ENV and LABEL: `KEY value` (old form) or `KEY=value ...`.
fn parse_name_val(rest: &str, key: &str, escape: char) -> Result<Vec<String>, String> {
    let words = parse_words(rest, escape);
    let Some(first) = words.first() else {
        return Ok(Vec::new());
    };
    if !first.contains('=') {
        let parts = split_re_whitespace(rest, 2);
        return match parts.as_slice() {
            [(_, k), (_, v)] => Ok(vec![k.to_string(), v.to_string()]),
            _ => Err(format!("{key} must have two arguments")),
        };
    }
    let mut out = Vec::with_capacity(words.len() * 2);
    for word in &words {
        let Some((k, v)) = word.split_once('=') else {
            return Err(format!(
                "Syntax error - can't find = in {}. Must be of the form: name=value",
                go_quote(word)
            ));
        };
        out.push(k.to_string());
        out.push(v.to_string());
    }
    Ok(out)
}

/// Go's `%q` for the strings that appear in parser messages.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn split_whitespace_delimited(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        return Vec::new();
    }
    split_re_whitespace(rest, 0)
        .into_iter()
        .map(|(_, w)| w.to_string())
        .collect()
}

enum JsonError {
    NotArray,
    NotStrings,
}

fn parse_json(rest: &str) -> Result<Vec<String>, JsonError> {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Err(JsonError::NotArray);
    }
    let values: Vec<serde_json::Value> =
        serde_json::from_str(rest).map_err(|_| JsonError::NotArray)?;
    values
        .into_iter()
        .map(|v| match v {
            serde_json::Value::String(s) => Ok(s),
            _ => Err(JsonError::NotStrings),
        })
        .collect()
}

const NOT_STRING_ARRAY: &str =
    "when using JSON array syntax, arrays must be comprised of strings only";

fn parse_maybe_json(rest: &str) -> Result<(Vec<String>, bool), String> {
    if rest.is_empty() {
        return Ok((Vec::new(), false));
    }
    match parse_json(rest) {
        Ok(v) => Ok((v, true)),
        Err(JsonError::NotStrings) => Err(NOT_STRING_ARRAY.to_string()),
        Err(JsonError::NotArray) => Ok((vec![rest.to_string()], false)),
    }
}

fn parse_maybe_json_to_list(rest: &str) -> Result<(Vec<String>, bool), String> {
    match parse_json(rest) {
        Ok(v) => Ok((v, true)),
        Err(JsonError::NotStrings) => Err(NOT_STRING_ARRAY.to_string()),
        Err(JsonError::NotArray) => Ok((split_whitespace_delimited(rest), false)),
    }
}

/// `HEALTHCHECK [flags] CMD ...` / `NONE`: the type word, then the command as for CMD.
fn parse_health_config(rest: &str) -> Result<(Vec<String>, bool), String> {
    // Byte-wise like BuildKit (each byte taken as a character).
    let bytes = rest.as_bytes();
    let is_space = |b: u8| char::from(b).is_whitespace();
    let sep = bytes
        .iter()
        .position(|&b| is_space(b))
        .unwrap_or(bytes.len());
    let next = bytes[sep..]
        .iter()
        .position(|&b| !is_space(b))
        .map_or(bytes.len(), |p| sep + p);
    if sep == 0 {
        return Ok((Vec::new(), false));
    }
    let typ = String::from_utf8_lossy(&bytes[..sep]).into_owned();
    let cmd = String::from_utf8_lossy(&bytes[next..]).into_owned();
    let (mut args, json) = parse_maybe_json(&cmd)?;
    args.insert(0, typ);
    Ok((args, json))
}

fn can_contain_heredoc(inst: &Instruction) -> bool {
    let target = match &inst.sub {
        Some(sub) if inst.is("onbuild") => sub,
        _ => inst,
    };
    (target.is("run") || target.is("copy") || target.is("add")) && !target.json
}

/// Finds the heredocs a line opens (BuildKit's heredocsFromLine + ParseHeredoc). The
/// line is split into words with quotes and escapes kept; each word of the form
/// `[fd]<<[-]NAME` opens one, in order.
fn heredocs_from_line(line: &str) -> Vec<Heredoc> {
    raw_words(line)
        .into_iter()
        .filter_map(|w| heredoc_from_word(&w))
        .collect()
}

fn heredoc_from_word(word: &str) -> Option<Heredoc> {
    let digits = word.len() - word.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let rest = word[digits..].strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let (name, had_quotes) = unquote_single_word(rest)?;
    if name.is_empty() {
        // `<<""` expands to no word at all, so BuildKit does not take it as a heredoc.
        return None;
    }
    let fd = word[..digits].parse::<u64>().unwrap_or(0);
    Some(Heredoc {
        name,
        fd: u32::try_from(fd).unwrap_or(0),
        expand: !had_quotes,
        chomp,
        content: String::new(),
        span: 0..0,
    })
}

/// Removes shell quoting from a heredoc delimiter; `None` when it is not exactly one word.
fn unquote_single_word(s: &str) -> Option<(String, bool)> {
    let mut out = String::new();
    let mut had_quotes = false;
    let mut chars = s.chars();
    let mut words = 0;
    let mut in_word = false;
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                in_word = false;
                continue;
            }
            '\'' => {
                had_quotes = true;
                for d in chars.by_ref() {
                    if d == '\'' {
                        break;
                    }
                    out.push(d);
                }
            }
            '"' => {
                had_quotes = true;
                while let Some(d) = chars.next() {
                    match d {
                        '"' => break,
                        '\\' => {
                            if let Some(e) = chars.next() {
                                if !matches!(e, '"' | '\\' | '$' | '`') {
                                    out.push('\\');
                                }
                                out.push(e);
                            }
                        }
                        d => out.push(d),
                    }
                }
            }
            '\\' => {
                if let Some(e) = chars.next() {
                    out.push(e);
                }
            }
            c => out.push(c),
        }
        if !in_word {
            words += 1;
            in_word = true;
        }
    }
    (words == 1).then_some((out, had_quotes))
}

/// Splits a line into words on unquoted whitespace, keeping quotes and `\` escapes and
/// keeping `${...}` together, as BuildKit's lexer does in its raw mode.
fn raw_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = line.chars().peekable();
    let mut in_word = false;
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                continue;
            }
            '\\' => {
                word.push(c);
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            '\'' | '"' => {
                word.push(c);
                while let Some(d) = chars.next() {
                    word.push(d);
                    if d == '\\' && c == '"' {
                        if let Some(e) = chars.next() {
                            word.push(e);
                        }
                    } else if d == c {
                        break;
                    }
                }
            }
            '$' if chars.peek() == Some(&'{') => {
                word.push(c);
                let mut depth = 0;
                for d in chars.by_ref() {
                    word.push(d);
                    match d {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            c => word.push(c),
        }
        in_word = true;
    }
    if in_word {
        words.push(word);
    }
    words
}

impl Dockerfile {
    /// The instructions as BuildKit's parser reports them: `{"instructions":[...]}` with
    /// `keyword`, `sub_keyword`, `start_line`, `end_line`, `flags`, `json`, `args` and
    /// `heredocs` (this is what `crossdock parse --json` prints).
    pub fn to_json(&self) -> serde_json::Value {
        let instructions: Vec<serde_json::Value> = self
            .instructions
            .iter()
            .map(|inst| {
                // For ONBUILD BuildKit reports the wrapped instruction's arguments.
                let inner = inst.sub.as_deref().unwrap_or(inst);
                serde_json::json!({
                    "keyword": inst.keyword_upper(),
                    "sub_keyword": inst.sub.as_ref().map(|s| s.keyword_upper()),
                    "start_line": inst.start_line,
                    "end_line": inst.end_line,
                    "flags": inst.flags.iter().map(|f| f.raw.clone()).collect::<Vec<_>>(),
                    "json": inner.json,
                    "args": inner.args,
                    "heredocs": inst
                        .heredocs
                        .iter()
                        .map(|h| serde_json::json!({"name": h.name, "content": h.content}))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        serde_json::json!({ "instructions": instructions })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Dockerfile {
        parse(SourceFile::new("Dockerfile", text)).expect("parses")
    }

    fn args(text: &str) -> Vec<Vec<String>> {
        parse_str(text)
            .instructions
            .iter()
            .map(|i| i.args.clone())
            .collect()
    }

    #[test]
    fn env_forms_keep_quotes_and_old_form_keeps_the_rest() {
        assert_eq!(
            args("FROM a\nENV X=1 Y=\"a b\"\nENV OLD legacy  value\n")[1..],
            [vec!["X", "1", "Y", "\"a b\""], vec!["OLD", "legacy  value"]]
        );
    }

    #[test]
    fn env_without_value_is_an_error_naming_the_word() {
        let err = parse(SourceFile::new("D", "FROM a\nENV A=1 B\n")).unwrap_err();
        assert_eq!(
            err.message,
            "Syntax error - can't find = in \"B\". Must be of the form: name=value"
        );
        let err = parse(SourceFile::new("D", "FROM a\nENV A\n")).unwrap_err();
        assert_eq!(err.message, "ENV must have two arguments");
    }

    #[test]
    fn continuation_joins_lines_and_skips_comments_and_blank_lines() {
        let df = parse_str("FROM a\nRUN go build \\\n# note\n\n   -o /out \\\n  ./...\nCMD x\n");
        let run = &df.instructions[1];
        assert_eq!(run.args, ["go build    -o /out   ./..."]);
        assert_eq!((run.start_line, run.end_line), (2, 6));
        assert_eq!(df.instructions[2].start_line, 7);
        assert_eq!(df.warnings.len(), 1);
    }

    #[test]
    fn spans_map_back_through_continuations() {
        let text = "FROM a\nRUN go build \\\n  -o /out ./...\n";
        let df = parse_str(text);
        let run = &df.instructions[1];
        let pos = run.args_text.find("-o").unwrap();
        let span = run.args_span(pos..pos + 2);
        assert_eq!(&text[span], "-o");
        assert_eq!(&text[run.keyword_span.clone()], "RUN");
        assert_eq!(&text[run.span.clone()], "RUN go build \\\n  -o /out ./...");
    }

    #[test]
    fn escaped_escape_token_is_not_a_continuation() {
        let df = parse_str("FROM a\nRUN echo \\\\\nCMD b\n");
        assert_eq!(df.instructions.len(), 3);
        assert_eq!(df.instructions[1].args, ["echo \\\\"]);
    }

    #[test]
    fn backtick_escape_directive() {
        let df = parse_str("# escape=`\nFROM a\nRUN dir C:\\ `\n  /w\n");
        assert_eq!(df.escape, '`');
        assert_eq!(df.instructions[1].args, ["dir C:\\   /w"]);
        assert_eq!(df.directives[0].name, "escape");
    }

    #[test]
    fn directive_after_a_comment_is_only_a_comment() {
        let df = parse_str("# hello\n# escape=`\nFROM a\nRUN a `\nCMD b\n");
        assert_eq!(df.escape, '\\');
        assert_eq!(df.instructions[1].args, ["a `"]);
    }

    #[test]
    fn flags_are_unquoted_and_stop_at_the_first_argument() {
        let df = parse_str("FROM a\nCOPY --from=\"build\" --chown=a:b -- --x /y\n");
        let copy = &df.instructions[1];
        let raw: Vec<_> = copy.flags.iter().map(|f| f.raw.as_str()).collect();
        assert_eq!(raw, ["--from=build", "--chown=a:b"]);
        assert_eq!(copy.args, ["--x", "/y"]);
        assert_eq!(
            copy.flag("from").and_then(|f| f.value.as_deref()),
            Some("build")
        );
        let text = df.source.text();
        assert_eq!(&text[copy.flags[0].span.clone()], "--from=\"build\"");
    }

    #[test]
    fn heredocs_are_read_after_the_line() {
        let df = parse_str("FROM a\nCOPY <<-\"A\" <<B /dst\n\tone\n\tA\ntwo\nB\nCMD x\n");
        let copy = &df.instructions[1];
        assert_eq!(copy.args, ["<<-\"A\"", "<<B", "/dst"]);
        let docs: Vec<_> = copy
            .heredocs
            .iter()
            .map(|h| (h.name.as_str(), h.content.as_str(), h.expand, h.chomp))
            .collect();
        assert_eq!(
            docs,
            [("A", "\tone\n", false, true), ("B", "two\n", true, false)]
        );
        assert_eq!((copy.start_line, copy.end_line), (2, 6));
        assert_eq!(df.instructions[2].start_line, 7);
    }

    #[test]
    fn unterminated_heredoc_fails() {
        let err = parse(SourceFile::new("D", "FROM a\nRUN <<EOF\necho\n")).unwrap_err();
        assert_eq!(err.message, "unterminated heredoc");
    }

    #[test]
    fn json_forms() {
        let a = args("FROM a\nCMD [\"a\", \"b\"]\nCMD [ bad\nVOLUME [\"/a\"]\nVOLUME /b /c\n");
        assert_eq!(a[1], ["a", "b"]);
        assert_eq!(a[2], ["[ bad"]);
        assert_eq!(a[3], ["/a"]);
        assert_eq!(a[4], ["/b", "/c"]);
        let err = parse(SourceFile::new("D", "FROM a\nCMD [\"a\", 1]\n")).unwrap_err();
        assert_eq!(err.message, NOT_STRING_ARRAY);
    }

    #[test]
    fn onbuild_wraps_an_instruction() {
        let df = parse_str("FROM a\nONBUILD RUN echo hi\n");
        let sub = df.instructions[1].sub.as_ref().unwrap();
        assert_eq!(sub.keyword, "RUN");
        assert_eq!(sub.args, ["echo hi"]);
        assert_eq!(&df.source.text()[sub.keyword_span.clone()], "RUN");
    }

    #[test]
    fn healthcheck_type_then_command() {
        let a = args("FROM a\nHEALTHCHECK --interval=5s CMD curl -f x\nHEALTHCHECK NONE\n");
        assert_eq!(a[1], ["CMD", "curl -f x"]);
        assert_eq!(a[2], ["NONE"]);
    }

    #[test]
    fn empty_and_comment_only_files_have_no_instructions() {
        for text in ["", "# just a comment\n\n"] {
            let err = parse(SourceFile::new("D", text)).unwrap_err();
            assert_eq!(err.message, "file with no instructions", "{text:?}");
        }
    }

    #[test]
    fn bom_and_crlf() {
        let df = parse_str("\u{feff}FROM a\r\nRUN x \\\r\n  y\r\n");
        assert_eq!(df.instructions[0].args, ["a"]);
        assert_eq!(df.instructions[1].args, ["x   y"]);
    }

    #[test]
    fn repeated_directive_is_an_error() {
        let err = parse(SourceFile::new("D", "# escape=`\n# escape=\\\nFROM a\n")).unwrap_err();
        assert_eq!(err.message, "only one escape parser directive can be used");
    }

    #[test]
    fn never_panics_on_prefixes_of_tricky_input() {
        let text = "# escape=`\nFROM --platform=\"$X\" a AS b\nRUN <<-'E' 3<<F `\n\tx\n\tE\ny\nF\nONBUILD COPY [\"a\", \nENV A=\"b c\" D=é\u{a0}\nHEALTHCHECK CMD [\"x\"]\n";
        for end in 0..=text.len() {
            if text.is_char_boundary(end) {
                let _ = parse(SourceFile::new("D", &text[..end]));
            }
        }
    }
}
