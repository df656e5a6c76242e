//! The build context: a directory read through `.dockerignore` rules exactly as BuildKit
//! reads them (moby/patternmatcher and its `ignorefile` reader), walked in a fixed order,
//! with a content digest for any set of paths (what COPY cache keys are made of).
//!
//! The rules, as moby writes them:
//!
//! - a line whose first character is `#` is a comment (only at column 0: `  # x` is a
//!   pattern); lines are trimmed; empty lines are skipped; a UTF-8 BOM on line 1 is dropped;
//! - `!` starts an exception (re-include); the rest is trimmed again;
//! - each pattern is cleaned like Go's `filepath.Clean` (so `./a`, `a/`, `a//b/../c` become
//!   `a`, `a`, `a/c`), then a leading `/` is dropped: patterns are relative to the root;
//! - `*` matches within one path component, `?` one character but `/`, `[...]` a class
//!   (`[^...]` negates), `\` escapes; `**` matches any number of components (zero too);
//! - the last pattern that matches a path, or any of its parent directories, decides;
//! - the Dockerfile and the `.dockerignore` are read by the builder whatever the patterns
//!   say, but COPY/ADD see them only when not excluded ("These files are still sent to
//!   the daemon because it needs them to do its job. But the ADD and COPY instructions do
//!   not copy them to the image.");
//! - `<Dockerfile name>.dockerignore` next to the Dockerfile takes precedence over the
//!   context's `.dockerignore` (BuildKit's Dockerfile-specific ignore files).

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use oci_spec::image::Digest;
use regex::Regex;

use crate::digest::Hasher;

/// Symlinks followed while resolving one source path before giving up.
const MAX_SYMLINK_HOPS: u32 = 40;

/// Errors reading a context.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// A pattern in an ignore file is not valid.
    #[error("{file}:{line}: invalid pattern {pattern:?}: {reason}")]
    BadPattern {
        /// The ignore file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// The pattern as written.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// A path names something outside the tree (`../x`, or a symlink leading out).
    #[error("{path:?} is outside the {what} ({why}); sources must stay inside it")]
    Outside {
        /// The path as asked for.
        path: String,
        /// `build context` or `source stage`.
        what: &'static str,
        /// What leads out.
        why: String,
    },
    /// Reading the tree failed.
    #[error("cannot {op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// On what.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ContextError + 'a {
    move |source| ContextError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Go's `path.Clean` for slash-separated paths.
pub(crate) fn clean_path(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// One compiled pattern.
#[derive(Debug, Clone)]
struct Pattern {
    exclusion: bool,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    Exact(String),
    /// `prefix**`: anything starting with the prefix.
    Prefix(String),
    /// `**suffix`: anything ending with it (and `**/foo` matches `foo`).
    Suffix(String),
    Regex(Regex),
}

impl Matcher {
    fn matches(&self, path: &str) -> bool {
        match self {
            Matcher::Exact(p) => path == p,
            Matcher::Prefix(p) => path.starts_with(p.as_str()),
            Matcher::Suffix(s) => {
                path.ends_with(s.as_str()) || (s.starts_with('/') && path == &s[1..])
            }
            Matcher::Regex(r) => r.is_match(path),
        }
    }

    /// patternmatcher's compile: the pattern as a regular expression, or one of the
    /// cheaper exact/prefix/suffix forms it detects.
    fn compile(pattern: &str) -> Result<Self, String> {
        #[derive(PartialEq)]
        enum Kind {
            Exact,
            Prefix,
            Suffix,
            Regex,
        }
        let mut re = String::from("^");
        let mut kind = Kind::Exact;
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let ch = chars[i];
            let first = i == 0;
            i += 1;
            match ch {
                '*' if chars.get(i) == Some(&'*') => {
                    i += 1;
                    if chars.get(i) == Some(&'/') {
                        i += 1;
                    }
                    if i == chars.len() {
                        if kind == Kind::Exact {
                            kind = Kind::Prefix;
                        } else {
                            re.push_str(".*");
                            kind = Kind::Regex;
                        }
                    } else {
                        re.push_str("(.*/)?");
                        kind = Kind::Regex;
                    }
                    if first {
                        kind = Kind::Suffix;
                    }
                }
                '*' => {
                    re.push_str("[^/]*");
                    kind = Kind::Regex;
                }
                '?' => {
                    re.push_str("[^/]");
                    kind = Kind::Regex;
                }
                '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                    re.push('\\');
                    re.push(ch);
                }
                '\\' => {
                    if let Some(&next) = chars.get(i) {
                        i += 1;
                        re.push('\\');
                        re.push(next);
                        kind = Kind::Regex;
                    } else {
                        re.push_str("\\\\");
                    }
                }
                '[' | ']' => {
                    re.push(ch);
                    kind = Kind::Regex;
                }
                other => re.push(other),
            }
        }
        Ok(match kind {
            Kind::Exact => Matcher::Exact(pattern.to_string()),
            Kind::Prefix => Matcher::Prefix(pattern[..pattern.len() - 2].to_string()),
            // `**` alone: everything.
            Kind::Suffix if pattern.len() == 2 => Matcher::Prefix(String::new()),
            Kind::Suffix => Matcher::Suffix(pattern[2..].to_string()),
            Kind::Regex => {
                re.push('$');
                Matcher::Regex(Regex::new(&re).map_err(|e| e.to_string())?)
            }
        })
    }
}

/// `.dockerignore` patterns, compiled.
#[derive(Debug, Clone, Default)]
pub struct IgnorePatterns {
    patterns: Vec<Pattern>,
    exclusions: bool,
}

impl IgnorePatterns {
    /// No patterns: nothing is excluded.
    pub fn none() -> Self {
        Self::default()
    }

    /// Reads an ignore file's text (`file` names it in errors), as moby's
    /// `ignorefile.ReadAll` then `patternmatcher.New` do.
    pub fn parse(text: &str, file: &Path) -> Result<Self, ContextError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            if raw.starts_with('#') {
                continue;
            }
            let mut pattern = raw.trim();
            if pattern.is_empty() {
                continue;
            }
            let invert = pattern.starts_with('!');
            if invert {
                pattern = pattern[1..].trim();
            }
            let mut cleaned = String::new();
            if !pattern.is_empty() {
                cleaned = clean_path(pattern);
                if cleaned.len() > 1 && cleaned.starts_with('/') {
                    cleaned.remove(0);
                }
            }
            let full = if invert {
                format!("!{cleaned}")
            } else {
                cleaned
            };
            patterns.push((n + 1, raw.to_string(), full));
        }
        Self::compile(patterns.into_iter(), file)
    }

    /// Patterns given directly (one per string, `!` for exceptions).
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, ContextError> {
        Self::compile(
            patterns
                .iter()
                .enumerate()
                .map(|(i, p)| (i + 1, p.as_ref().to_string(), p.as_ref().to_string())),
            Path::new("<patterns>"),
        )
    }

    fn compile(
        patterns: impl Iterator<Item = (usize, String, String)>,
        file: &Path,
    ) -> Result<Self, ContextError> {
        let mut out = Self::default();
        for (line, raw, p) in patterns {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            let bad = |reason: &str| ContextError::BadPattern {
                file: file.to_path_buf(),
                line,
                pattern: raw.clone(),
                reason: reason.to_string(),
            };
            let mut p = clean_path(p);
            let exclusion = p.starts_with('!');
            if exclusion {
                if p.len() == 1 {
                    return Err(bad("illegal exclusion pattern: \"!\""));
                }
                p.remove(0);
                out.exclusions = true;
            }
            check_go_pattern(&p).map_err(|r| bad(&r))?;
            let matcher = Matcher::compile(&p).map_err(|r| bad(&r))?;
            out.patterns.push(Pattern { exclusion, matcher });
        }
        Ok(out)
    }

    /// Whether any pattern is an exception (`!`): then an excluded directory may still
    /// hold included files, and must be walked.
    pub fn has_exceptions(&self) -> bool {
        self.exclusions
    }

    /// Whether `path` (relative, slash-separated) is excluded: patternmatcher's
    /// `MatchesOrParentMatches`.
    pub fn excludes(&self, path: &str) -> bool {
        let path = clean_path(path);
        if path == "." || self.patterns.is_empty() {
            return false;
        }
        let parents: Vec<&str> = match path.rfind('/') {
            Some(i) => path[..i].split('/').collect(),
            None => Vec::new(),
        };
        let mut matched = false;
        for pattern in &self.patterns {
            if pattern.exclusion != matched {
                continue;
            }
            let mut hit = pattern.matcher.matches(&path);
            if !hit {
                for i in 0..parents.len() {
                    if pattern.matcher.matches(&parents[..=i].join("/")) {
                        hit = true;
                        break;
                    }
                }
            }
            if hit {
                matched = !pattern.exclusion;
            }
        }
        matched
    }
}

/// The syntax checks Go's `filepath.Match(pattern, ".")` makes: classes must close,
/// ranges must be well formed, and a trailing `\` is an error.
fn check_go_pattern(p: &str) -> Result<(), String> {
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    let bad = || "syntax error in pattern".to_string();
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                if i + 1 >= chars.len() {
                    return Err(bad());
                }
                i += 2;
            }
            '[' => {
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                let mut first = true;
                loop {
                    match chars.get(i) {
                        None => return Err(bad()),
                        Some(']') if !first => {
                            i += 1;
                            break;
                        }
                        Some(_) => {
                            let lo = class_char(&chars, &mut i).ok_or_else(bad)?;
                            if chars.get(i) == Some(&'-') {
                                i += 1;
                                let hi = class_char(&chars, &mut i).ok_or_else(bad)?;
                                if hi < lo {
                                    return Err(bad());
                                }
                            }
                        }
                    }
                    first = false;
                }
            }
            _ => i += 1,
        }
    }
    Ok(())
}

fn class_char(chars: &[char], i: &mut usize) -> Option<char> {
    let c = *chars.get(*i)?;
    if c == '-' || c == ']' {
        return None;
    }
    *i += 1;
    if c == '\\' {
        let e = *chars.get(*i)?;
        *i += 1;
        return Some(e);
    }
    Some(c)
}

/// What a tree entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file of this many bytes.
    File(u64),
    /// A directory.
    Dir,
    /// A symlink and its target.
    Symlink(PathBuf),
    /// Something else (fifo, socket, device): skipped by COPY.
    Other,
}

/// One path in a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// Relative, slash-separated (`src/main.go`).
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// Permission bits (with setuid/setgid/sticky).
    pub mode: u32,
}

/// A directory read as a source of files: the build context (with its ignore patterns)
/// or another stage's root filesystem (`COPY --from`, no patterns).
#[derive(Debug, Clone)]
pub struct SourceTree {
    root: PathBuf,
    ignore: IgnorePatterns,
    what: &'static str,
}

impl SourceTree {
    /// A tree with no ignore patterns (a stage's or image's root filesystem).
    pub fn rootfs(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            ignore: IgnorePatterns::none(),
            what: "source stage",
        }
    }

    /// The build context at `root`, with the ignore file BuildKit would use for
    /// `dockerfile`: `<dockerfile>.dockerignore` beside it if present, else
    /// `<root>/.dockerignore`, else none.
    pub fn context(
        root: impl Into<PathBuf>,
        dockerfile: Option<&Path>,
    ) -> Result<Self, ContextError> {
        let root = root.into();
        let mut candidates = Vec::new();
        if let Some(df) = dockerfile {
            if let Some(name) = df.file_name() {
                let mut n = name.to_os_string();
                n.push(".dockerignore");
                candidates.push(df.with_file_name(n));
            }
        }
        candidates.push(root.join(".dockerignore"));
        let mut ignore = IgnorePatterns::none();
        for file in candidates {
            match fs::read_to_string(&file) {
                Ok(text) => {
                    ignore = IgnorePatterns::parse(&text, &file)?;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("read", &file)(e)),
            }
        }
        Ok(Self {
            root,
            ignore,
            what: "build context",
        })
    }

    /// The build context at `root` with explicit patterns.
    pub fn with_patterns(root: impl Into<PathBuf>, ignore: IgnorePatterns) -> Self {
        Self {
            root: root.into(),
            ignore,
            what: "build context",
        }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `build context` or `source stage`, for messages.
    pub fn kind_name(&self) -> &'static str {
        self.what
    }

    /// The patterns in force.
    pub fn ignore(&self) -> &IgnorePatterns {
        &self.ignore
    }

    /// Whether `rel` is hidden by the ignore patterns.
    pub fn excluded(&self, rel: &str) -> bool {
        self.ignore.excludes(rel)
    }

    /// Cleans a source path as written in a Dockerfile (`./src/`, `/etc/x`, `a/../b`)
    /// into a relative path inside the tree; `.` is the root. A path that climbs above
    /// the root is refused.
    pub fn clean_source(&self, src: &str) -> Result<String, ContextError> {
        let relative = clean_path(src.trim_start_matches('/'));
        if relative == ".." || relative.starts_with("../") {
            return Err(ContextError::Outside {
                path: src.to_string(),
                what: self.what,
                why: "'..' climbs above its root".into(),
            });
        }
        Ok(relative)
    }

    /// Resolves `rel` (already cleaned) to a host path, following symlinks as COPY
    /// follows its sources: each one must lead somewhere inside the tree.
    pub fn resolve(&self, rel: &str) -> Result<PathBuf, ContextError> {
        let mut hops = 0;
        let mut done: Vec<String> = Vec::new();
        let mut todo: Vec<String> = rel
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .rev()
            .map(str::to_string)
            .collect();
        while let Some(c) = todo.pop() {
            if c == ".." {
                if done.pop().is_none() {
                    return Err(self.outside(rel, "'..' climbs above its root".into()));
                }
                continue;
            }
            let here = self.root.join(done.join("/")).join(&c);
            let meta = match fs::symlink_metadata(&here) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    done.push(c);
                    continue;
                }
                Err(e) => return Err(io_err("inspect", &here)(e)),
            };
            if !meta.file_type().is_symlink() {
                done.push(c);
                continue;
            }
            hops += 1;
            if hops > MAX_SYMLINK_HOPS {
                return Err(self.outside(rel, "too many levels of symlinks".into()));
            }
            let target = fs::read_link(&here).map_err(io_err("read link", &here))?;
            let link = format!("{}/{c}", done.join("/"));
            let link = link.trim_start_matches('/').to_string();
            if target.is_absolute() {
                return Err(self.outside(
                    rel,
                    format!(
                        "symlink {link} points to the absolute path {}",
                        target.display()
                    ),
                ));
            }
            // Check the target stays inside before following it.
            let mut depth = done.len() as i64;
            for comp in target.components() {
                match comp {
                    Component::ParentDir => depth -= 1,
                    Component::Normal(_) => depth += 1,
                    _ => {}
                }
                if depth < 0 {
                    return Err(self.outside(
                        rel,
                        format!("symlink {link} -> {} leads out", target.display()),
                    ));
                }
            }
            for comp in target.components().rev() {
                match comp {
                    Component::Normal(n) => todo.push(n.to_string_lossy().into_owned()),
                    Component::ParentDir => todo.push("..".into()),
                    _ => {}
                }
            }
        }
        Ok(self.root.join(done.join("/")))
    }

    fn outside(&self, path: &str, why: String) -> ContextError {
        ContextError::Outside {
            path: path.to_string(),
            what: self.what,
            why,
        }
    }

    /// Every entry at and under `rel` that the ignore patterns let through, in a fixed
    /// order (depth first, names sorted by byte). An excluded directory is still walked
    /// when exceptions could re-include something below it; it is then listed only if
    /// something below it is. Symlinks are listed, not followed.
    pub fn walk(&self, rel: &str) -> Result<Vec<TreeEntry>, ContextError> {
        let mut out = Vec::new();
        let rel = clean_path(rel);
        let host = if rel == "." {
            self.root.clone()
        } else {
            self.root.join(&rel)
        };
        self.walk_into(&host, &rel, &mut out)?;
        Ok(out)
    }

    fn walk_into(
        &self,
        host: &Path,
        rel: &str,
        out: &mut Vec<TreeEntry>,
    ) -> Result<(), ContextError> {
        let meta = fs::symlink_metadata(host).map_err(io_err("inspect", host))?;
        let excluded = rel != "." && self.ignore.excludes(rel);
        let entry = TreeEntry {
            path: rel.to_string(),
            kind: kind_of(host, &meta)?,
            mode: meta.permissions().mode() & 0o7777,
        };
        if !meta.is_dir() {
            if !excluded {
                out.push(entry);
            }
            return Ok(());
        }
        if excluded && !self.ignore.has_exceptions() {
            return Ok(());
        }
        let mark = out.len();
        if !excluded {
            out.push(entry.clone());
        }
        let mut names: Vec<_> = fs::read_dir(host)
            .map_err(io_err("list", host))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(io_err("list", host))?;
        names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
        for name in names {
            let name = name.to_string_lossy().into_owned();
            let child = if rel == "." {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            self.walk_into(&host.join(&name), &child, out)?;
        }
        if excluded && out.len() > mark {
            out.insert(mark, entry);
        }
        Ok(())
    }

    /// A digest of the content at the given relative paths (each walked as [`walk`]
    /// does): paths, kinds, permission bits, symlink targets and file bytes, streamed
    /// through SHA-256. Not mtimes or owners: the same content gives the same digest
    /// on any machine.
    ///
    /// [`walk`]: SourceTree::walk
    pub fn digest(&self, paths: &[String]) -> Result<Digest, ContextError> {
        let mut hasher = Hasher::new();
        let mut buf = vec![0u8; 64 * 1024];
        for rel in paths {
            hasher.update(format!("root {rel}\0").as_bytes());
            for entry in self.walk(rel)? {
                let header = match &entry.kind {
                    EntryKind::File(size) => format!("f {} {:o} {size}\0", entry.path, entry.mode),
                    EntryKind::Dir => format!("d {} {:o}\0", entry.path, entry.mode),
                    EntryKind::Symlink(t) => format!("l {} {}\0", entry.path, t.display()),
                    EntryKind::Other => format!("o {}\0", entry.path),
                };
                hasher.update(header.as_bytes());
                if let EntryKind::File(_) = entry.kind {
                    let host = self.root.join(&entry.path);
                    let mut f = fs::File::open(&host).map_err(io_err("read", &host))?;
                    loop {
                        let n = f.read(&mut buf).map_err(io_err("read", &host))?;
                        if n == 0 {
                            break;
                        }
                        hasher.update(&buf[..n]);
                    }
                }
            }
        }
        Ok(hasher.finish().0)
    }
}

fn kind_of(host: &Path, meta: &fs::Metadata) -> Result<EntryKind, ContextError> {
    let t = meta.file_type();
    Ok(if t.is_symlink() {
        EntryKind::Symlink(fs::read_link(host).map_err(io_err("read link", host))?)
    } else if t.is_dir() {
        EntryKind::Dir
    } else if t.is_file() {
        EntryKind::File(meta.size())
    } else {
        EntryKind::Other
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pats(p: &[&str]) -> IgnorePatterns {
        IgnorePatterns::new(p).unwrap()
    }

    #[test]
    fn clean_path_is_go_path_clean() {
        for (i, o) in [
            ("./a/", "a"),
            ("a//b/../c", "a/c"),
            ("/../x", "/x"),
            ("../x", "../x"),
            ("", "."),
            ("/", "/"),
            ("a/..", "."),
        ] {
            assert_eq!(clean_path(i), o, "{i}");
        }
    }

    #[test]
    fn patternmatcher_cases() {
        // (patterns, path, excluded)
        let cases: &[(&[&str], &str, bool)] = &[
            (&["*.go"], "main.go", true),
            (&["*.go"], "cmd/main.go", false),
            (&["**/*.go"], "cmd/x/main.go", true),
            (&["**/*.go"], "main.go", true),
            (&["docs"], "docs/a/b.md", true),
            (&["docs/**"], "docs/a/b.md", true),
            (&["**"], "anything/at/all", true),
            (&["a/**/b"], "a/b", true),
            (&["a/**/b"], "a/x/y/b", true),
            (&["a/**/b"], "a/x/y/c", false),
            (&["?.txt"], "a.txt", true),
            (&["?.txt"], "ab.txt", false),
            (&["[a-c].txt"], "b.txt", true),
            (&["[^a-c].txt"], "b.txt", false),
            (&["[^a-c].txt"], "d.txt", true),
            (&["a.b"], "axb", false),
            (&["dir/"], "dir/file", true),
            (&["./dir"], "dir/file", true),
            (&["*", "!keep"], "keep", false),
            (&["*", "!keep"], "other", true),
            (&["dir", "!dir/keep"], "dir/keep", false),
            (&["dir", "!dir/keep"], "dir/other", true),
            (&["!x", "x"], "x", true),
            (&["**/node_modules"], "a/node_modules/b/c.js", true),
            (&["\\*"], "*", true),
            (&["\\*"], "a", false),
        ];
        for (p, path, want) in cases {
            assert_eq!(pats(p).excludes(path), *want, "{p:?} {path}");
        }
    }

    #[test]
    fn ignore_file_reading() {
        let text =
            "\u{feff}# comment\n  # not a comment\n\n /leading \n! ./node_modules/keep/ \n*.log\n";
        let p = IgnorePatterns::parse(text, Path::new(".dockerignore")).unwrap();
        assert!(p.excludes("leading"));
        assert!(p.excludes("# not a comment"), "indented # is a pattern");
        assert!(p.excludes("x.log"));
        assert!(p.has_exceptions());
        let p =
            IgnorePatterns::parse("node_modules\n!node_modules/keep/\n", Path::new(".d")).unwrap();
        assert!(p.excludes("node_modules/x"));
        assert!(!p.excludes("node_modules/keep"));
        assert!(!p.excludes("node_modules/keep/deep/file"));
    }

    #[test]
    fn bad_patterns_name_file_and_line() {
        let err = IgnorePatterns::parse("ok\n[a-\n", Path::new("ctx/.dockerignore")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ctx/.dockerignore:2: invalid pattern \"[a-\": syntax error in pattern"
        );
        let err = IgnorePatterns::parse("!\n", Path::new(".dockerignore")).unwrap_err();
        assert!(
            err.to_string().contains("illegal exclusion pattern"),
            "{err}"
        );
    }

    fn tree() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        for (p, c) in [
            ("Dockerfile", "FROM x\n"),
            ("main.go", "package main\n"),
            ("go.mod", "module x\n"),
            ("vendor/a/a.go", "a\n"),
            ("vendor/keep/k.go", "k\n"),
            ("logs/x.log", "x\n"),
        ] {
            fs::create_dir_all(r.join(p).parent().unwrap()).unwrap();
            fs::write(r.join(p), c).unwrap();
        }
        fs::write(
            r.join(".dockerignore"),
            "Dockerfile\n.dockerignore\nvendor\n!vendor/keep\nlogs\n",
        )
        .unwrap();
        t
    }

    #[test]
    fn walk_is_sorted_and_filtered() {
        let t = tree();
        let ctx = SourceTree::context(t.path(), Some(&t.path().join("Dockerfile"))).unwrap();
        let paths: Vec<String> = ctx.walk(".").unwrap().into_iter().map(|e| e.path).collect();
        assert_eq!(
            paths,
            [
                ".",
                "go.mod",
                "main.go",
                "vendor",
                "vendor/keep",
                "vendor/keep/k.go"
            ]
        );
        // The Dockerfile is excluded from COPY but the builder still reads it from disk.
        assert!(ctx.excluded("Dockerfile"));
        assert!(t.path().join("Dockerfile").exists());
    }

    #[test]
    fn dockerfile_specific_ignore_file_wins() {
        let t = tree();
        fs::write(t.path().join("Dockerfile.dockerignore"), "main.go\n").unwrap();
        let ctx = SourceTree::context(t.path(), Some(&t.path().join("Dockerfile"))).unwrap();
        assert!(ctx.excluded("main.go"));
        assert!(!ctx.excluded("vendor/a/a.go"));
    }

    #[test]
    fn digest_follows_content_not_time() {
        let t = tree();
        let ctx = SourceTree::context(t.path(), None).unwrap();
        let sel = vec!["main.go".to_string(), "vendor".to_string()];
        let d1 = ctx.digest(&sel).unwrap();
        // Excluded content does not count.
        fs::write(t.path().join("vendor/a/a.go"), "changed\n").unwrap();
        assert_eq!(ctx.digest(&sel).unwrap(), d1);
        // Included content does.
        fs::write(t.path().join("vendor/keep/k.go"), "changed\n").unwrap();
        let d2 = ctx.digest(&sel).unwrap();
        assert_ne!(d2, d1);
        // Mode bits count too.
        fs::set_permissions(t.path().join("main.go"), fs::Permissions::from_mode(0o755)).unwrap();
        assert_ne!(ctx.digest(&sel).unwrap(), d2);
        // Other paths do not.
        let only_mod = ctx.digest(&["go.mod".to_string()]).unwrap();
        fs::write(t.path().join("main.go"), "x").unwrap();
        assert_eq!(ctx.digest(&["go.mod".to_string()]).unwrap(), only_mod);
    }

    #[test]
    fn escapes_are_refused() {
        let t = tree();
        let r = t.path();
        std::os::unix::fs::symlink("../../etc", r.join("up")).unwrap();
        std::os::unix::fs::symlink("/etc", r.join("abs")).unwrap();
        std::os::unix::fs::symlink("vendor/keep", r.join("inside")).unwrap();
        let ctx = SourceTree::context(r, None).unwrap();
        let err = ctx.clean_source("../x").unwrap_err();
        assert!(
            err.to_string().contains("outside the build context"),
            "{err}"
        );
        assert!(ctx
            .resolve("up/passwd")
            .unwrap_err()
            .to_string()
            .contains("symlink up -> ../../etc leads out"));
        assert!(ctx
            .resolve("abs/passwd")
            .unwrap_err()
            .to_string()
            .contains("absolute path /etc"));
        assert_eq!(
            ctx.resolve("inside/k.go").unwrap(),
            r.join("vendor/keep/k.go")
        );
        assert_eq!(ctx.clean_source("/./a/../main.go").unwrap(), "main.go");
    }
}
