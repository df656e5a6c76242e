//! COPY and ADD: files from the build context, another stage, a heredoc or a URL, written
//! into a fresh layer directory (which [`LayerBuilder::rootfs`](crate::LayerBuilder)
//! then turns into a layer).
//!
//! Docker's rules, as BuildKit applies them:
//!
//! - a relative destination is under the WORKDIR; a destination ending in `/` (or an
//!   existing directory) receives sources by their base name, otherwise it *is* the file;
//! - a directory source copies its contents, not the directory itself;
//! - sources may be globs (`*`, `?`, `[...]`, as Go's `filepath.Match`); a glob that matches
//!   nothing copies nothing, a plain path that does not exist is an error;
//! - more than one source file needs a directory destination (ending in `/`);
//! - owners become 0:0 unless `--chown` names others (names looked up in the destination's
//!   `/etc/passwd` and `/etc/group`; a user alone gives the same numeric group);
//! - `--chmod` (octal, at most 07777) sets the mode of everything copied;
//! - ADD extracts a local tar (plain, gzip or zstd; bzip2 and xz are refused with a clear
//!   error) through the hostile-tar-safe [`unpack`](crate::unpack()), and downloads a URL
//!   (mode 0600, `--checksum=sha256:...` verified while streaming).
//!
//! Sources never leave their tree: `../x` and symlinks leading out are refused. Nothing
//! written into the layer directory goes through a symlink already there.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use oci_spec::image::Digest;

use crate::context::{clean_path, ContextError, EntryKind, IgnorePatterns, SourceTree};
use crate::digest::Hasher;

/// One source of a COPY or ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopySource {
    /// A path (or glob) in the source tree.
    Path(String),
    /// An inline document (`COPY <<EOF /file`): its name and (expanded) content.
    Heredoc {
        /// The heredoc's name (the file name when the destination is a directory).
        name: String,
        /// Its content.
        content: String,
    },
    /// An `http://` or `https://` URL (ADD only).
    Url(String),
}

impl CopySource {
    /// Classifies a source word as BuildKit does (`http(s)://` is a URL for ADD).
    pub fn parse(word: &str) -> Self {
        if word.starts_with("http://")
            || word.starts_with("https://")
            || word.starts_with("git@")
            || word.starts_with("git://")
        {
            CopySource::Url(word.to_string())
        } else {
            CopySource::Path(word.to_string())
        }
    }
}

/// An expanded COPY or ADD instruction.
#[derive(Debug, Clone)]
pub struct CopySpec {
    /// `COPY` or `ADD` (for messages and ADD's extra behaviour).
    pub is_add: bool,
    /// The sources, in order.
    pub sources: Vec<CopySource>,
    /// The destination as written (expanded).
    pub dest: String,
    /// The stage's WORKDIR (absolute) for a relative destination.
    pub workdir: String,
    /// `--chown`.
    pub chown: Option<String>,
    /// `--chmod`.
    pub chmod: Option<String>,
    /// `--checksum` (ADD of a URL).
    pub checksum: Option<String>,
    /// `--exclude` patterns (patternmatcher syntax), matched against paths relative to
    /// each copied directory (a file source: against its name).
    pub exclude: Vec<String>,
    /// ADD `--unpack`: `None` extracts local archives and not downloads (the default),
    /// `Some(true)` extracts both, `Some(false)` neither.
    pub unpack: Option<bool>,
    /// Where the instruction is (`Dockerfile:12`), for every error.
    pub location: String,
}

/// Errors from COPY/ADD. Each names the instruction's location.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// A plain source path does not exist.
    #[error("{location}: {cmd} failed: source {source_path:?} not found in the {what}{hint}")]
    NotFound {
        /// Where.
        location: String,
        /// COPY or ADD.
        cmd: &'static str,
        /// The source as written.
        source_path: String,
        /// `build context` or `source stage`.
        what: &'static str,
        /// A hint (".dockerignore excludes it").
        hint: String,
    },
    /// The instruction is not valid as given.
    #[error("{location}: {message}")]
    Invalid {
        /// Where.
        location: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// `--chown` names a user or group the destination does not have.
    #[error("{location}: --chown={chown}: {message}")]
    Owner {
        /// Where.
        location: String,
        /// The flag value.
        chown: String,
        /// What was not found.
        message: String,
    },
    /// A URL could not be fetched.
    #[error("{location}: ADD failed to fetch {url}: {message}")]
    Fetch {
        /// Where.
        location: String,
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// The downloaded content does not have the digest `--checksum` asks for.
    #[error("{location}: ADD {url}: checksum mismatch: expected {expected}, got {actual}")]
    Checksum {
        /// Where.
        location: String,
        /// The URL.
        url: String,
        /// `--checksum`.
        expected: String,
        /// What arrived.
        actual: Digest,
    },
    /// A source tree problem (outside the tree, unreadable).
    #[error("{location}: {source}")]
    Context {
        /// Where.
        location: String,
        /// The problem.
        #[source]
        source: ContextError,
    },
    /// Extracting a local archive failed (hostile entries included).
    #[error("{location}: ADD cannot extract {archive}: {source}")]
    Unpack {
        /// Where.
        location: String,
        /// The archive's source path.
        archive: String,
        /// Why.
        #[source]
        source: Box<crate::UnpackError>,
    },
    /// Writing into the layer directory failed.
    #[error("{location}: cannot {op} {path}: {source}")]
    Io {
        /// Where.
        location: String,
        /// What was being done.
        op: &'static str,
        /// On what.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// What a copy wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Paths written in the layer (absolute in the image), in order.
    pub written: Vec<String>,
}

/// Numeric owner for copied files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

struct Copier<'a> {
    spec: &'a CopySpec,
    exclude: IgnorePatterns,
    layer: &'a Path,
    owner: Owner,
    mode: Option<u32>,
    report: CopyReport,
}

impl CopySpec {
    fn cmd(&self) -> &'static str {
        if self.is_add {
            "ADD"
        } else {
            "COPY"
        }
    }

    fn invalid(&self, message: impl Into<String>) -> CopyError {
        CopyError::Invalid {
            location: self.location.clone(),
            message: message.into(),
        }
    }

    fn io(&self, op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> CopyError + '_ {
        let path = path.to_path_buf();
        move |source| CopyError::Io {
            location: self.location.clone(),
            op,
            path,
            source,
        }
    }

    fn ctx(&self) -> impl FnOnce(ContextError) -> CopyError + '_ {
        move |source| CopyError::Context {
            location: self.location.clone(),
            source,
        }
    }

    /// The absolute, cleaned destination, and whether it names a directory.
    fn destination(&self) -> (String, bool) {
        let dir_syntax = self.dest.ends_with('/') || self.dest == "." || self.dest.ends_with("/.");
        let abs = if self.dest.starts_with('/') {
            clean_path(&self.dest)
        } else {
            clean_path(&format!("{}/{}", self.workdir, self.dest))
        };
        (abs, dir_syntax)
    }
}

/// Parses `--chmod` as BuildKit does.
pub fn parse_chmod(value: &str) -> Option<u32> {
    u32::from_str_radix(value, 8).ok().filter(|m| *m <= 0o7777)
}

/// Resolves `--chown=user[:group]` against the destination root filesystem's layers
/// (`lowers`, bottom first: the topmost one holding `/etc/passwd` wins).
pub fn resolve_owner(chown: &str, lowers: &[PathBuf]) -> Result<Owner, String> {
    let (user, group) = match chown.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (chown, None),
    };
    let find = |file: &str, name: &str| -> Result<u32, String> {
        if let Ok(n) = name.parse::<u32>() {
            return Ok(n);
        }
        let path = lowers
            .iter()
            .rev()
            .map(|l| l.join("etc").join(file))
            .find(|p| p.exists());
        let Some(path) = path else {
            return Err(format!(
                "unable to find {} {name}: the destination has no /etc/{file}; use numeric ids",
                if file == "passwd" { "user" } else { "group" }
            ));
        };
        let text =
            fs::read_to_string(&path).map_err(|e| format!("cannot read /etc/{file}: {e}"))?;
        for line in text.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() >= 3 && fields[0] == name {
                return fields[2]
                    .parse()
                    .map_err(|_| format!("/etc/{file}: bad id for {name}: {:?}", fields[2]));
            }
        }
        Err(format!(
            "unable to find {} {name}: no matching entries in /etc/{file}",
            if file == "passwd" { "user" } else { "group" }
        ))
    };
    let uid = find("passwd", user)?;
    let gid = match group {
        Some(g) if !g.is_empty() => find("group", g)?,
        // A user alone: "the same numeric UID as the GID" (Dockerfile reference).
        _ => uid,
    };
    Ok(Owner { uid, gid })
}

/// Whether `path` is a directory in the topmost of `lowers` that has it.
fn is_dir_in(lowers: &[PathBuf], path: &str) -> bool {
    let rel = path.trim_start_matches('/');
    for l in lowers.iter().rev() {
        if let Ok(m) = fs::symlink_metadata(l.join(rel)) {
            return m.is_dir();
        }
    }
    false
}

/// BuildKit's git source forms: `git@host:...`, `git://...`, or an HTTP(S) URL whose
/// path ends in `.git` (optionally followed by `#ref`).
fn is_git_source(s: &str) -> bool {
    if s.starts_with("git@") || s.starts_with("git://") {
        return true;
    }
    let path = s.split('#').next().unwrap_or(s);
    (s.starts_with("https://") || s.starts_with("http://"))
        && path.trim_end_matches('/').ends_with(".git")
}

/// Whether a source word is a glob.
fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Go's `filepath.Match` for one path component.
pub(crate) fn match_component(pattern: &str, name: &str) -> bool {
    fn inner(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| inner(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && inner(&p[1..], &n[1..]),
            Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && inner(&p[2..], &n[1..]),
            Some('[') => {
                let Some(&c) = n.first() else { return false };
                let mut i = 1;
                let negate = p.get(1) == Some(&'^');
                if negate {
                    i += 1;
                }
                let mut hit = false;
                let mut first = true;
                while i < p.len() && (p[i] != ']' || first) {
                    first = false;
                    let mut lo = p[i];
                    if lo == '\\' && i + 1 < p.len() {
                        i += 1;
                        lo = p[i];
                    }
                    let mut hi = lo;
                    if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|h| *h != ']') {
                        hi = p[i + 2];
                        i += 2;
                    }
                    if lo <= c && c <= hi {
                        hit = true;
                    }
                    i += 1;
                }
                if i >= p.len() {
                    return false; // unterminated class: no match (Go: ErrBadPattern)
                }
                hit != negate && inner(&p[i + 1..], &n[1..])
            }
            Some(&c) => n.first() == Some(&c) && inner(&p[1..], &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    inner(&p, &n)
}

/// The relative paths in `tree` matching a cleaned glob, sorted; ignored paths are not
/// candidates.
pub(crate) fn expand_glob(tree: &SourceTree, pattern: &str) -> Result<Vec<String>, ContextError> {
    let mut found = vec![String::new()];
    for comp in pattern.split('/') {
        let mut next = Vec::new();
        for base in &found {
            let dir = if base.is_empty() {
                tree.root().to_path_buf()
            } else {
                tree.resolve(base)?
            };
            if !has_glob(comp) {
                let p = if base.is_empty() {
                    comp.to_string()
                } else {
                    format!("{base}/{comp}")
                };
                if fs::symlink_metadata(tree.resolve(&p)?).is_ok() {
                    next.push(p);
                }
                continue;
            }
            let Ok(rd) = fs::read_dir(&dir) else { continue };
            let mut names: Vec<String> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| match_component(comp, n))
                .collect();
            names.sort();
            for n in names {
                let p = if base.is_empty() {
                    n
                } else {
                    format!("{base}/{n}")
                };
                if !tree.excluded(&p) {
                    next.push(p);
                }
            }
        }
        found = next;
    }
    Ok(found)
}

/// A plain source must exist and not be hidden by `.dockerignore`.
fn check_exists(
    spec: &CopySpec,
    tree: &SourceTree,
    written: &str,
    rel: &str,
) -> Result<(), CopyError> {
    let host = tree.resolve(rel).map_err(spec.ctx())?;
    let excluded = rel != "." && tree.excluded(rel);
    if fs::symlink_metadata(&host).is_ok() && !excluded {
        return Ok(());
    }
    let hint = if excluded && host.exists() {
        " (.dockerignore excludes it)".to_string()
    } else {
        String::new()
    };
    Err(CopyError::NotFound {
        location: spec.location.clone(),
        cmd: spec.cmd(),
        source_path: written.to_string(),
        what: tree.kind_name(),
        hint,
    })
}

/// The source paths a COPY reads from `tree` (globs expanded, cleaned, existing), in
/// order: what [`SourceTree::digest`] should hash for the step's cache key. Heredocs and
/// URLs are not tree paths and are left out.
pub fn source_paths(spec: &CopySpec, tree: &SourceTree) -> Result<Vec<String>, CopyError> {
    let mut out = Vec::new();
    for src in &spec.sources {
        let CopySource::Path(p) = src else { continue };
        let rel = tree.clean_source(p).map_err(spec.ctx())?;
        if has_glob(&rel) {
            out.extend(expand_glob(tree, &rel).map_err(spec.ctx())?);
        } else {
            check_exists(spec, tree, p, &rel)?;
            out.push(rel);
        }
    }
    Ok(out)
}

/// Runs a COPY/ADD: reads sources from `tree` (the context, or another stage's root),
/// writes into `layer` (a fresh directory that becomes the step's layer). `lowers` are
/// the destination stage's layer directories, bottom first (for `--chown` names and to
/// see whether the destination is an existing directory).
pub fn copy_into(
    spec: &CopySpec,
    tree: &SourceTree,
    lowers: &[PathBuf],
    layer: &Path,
) -> Result<CopyReport, CopyError> {
    let mode = match &spec.chmod {
        None => None,
        Some(m) => Some(parse_chmod(m).ok_or_else(|| {
            spec.invalid(format!(
                "invalid chmod parameter: '{m}'. it should be octal string and between 0 and 07777"
            ))
        })?),
    };
    let owner = match &spec.chown {
        None => Owner { uid: 0, gid: 0 },
        Some(c) => resolve_owner(c, lowers).map_err(|message| CopyError::Owner {
            location: spec.location.clone(),
            chown: c.clone(),
            message,
        })?,
    };
    if spec.checksum.is_some() {
        if !spec.is_add {
            return Err(spec.invalid("checksum can't be specified for COPY"));
        }
        if spec.sources.len() != 1 || !matches!(spec.sources[0], CopySource::Url(_)) {
            return Err(spec.invalid(
                "checksum can't be specified for multiple sources or non-HTTP(S) sources",
            ));
        }
    }
    let (dest, dir_syntax) = spec.destination();
    let dest_is_dir = dir_syntax || is_dir_in(lowers, &dest);

    // Resolve every source first, so nothing is written when one is missing.
    let mut plan: Vec<(String, Resolved)> = Vec::new();
    for src in &spec.sources {
        match src {
            CopySource::Path(p) => {
                if !spec.is_add && p.contains("://") {
                    return Err(spec.invalid("source can't be a URL for COPY"));
                }
                let rel = tree.clean_source(p).map_err(spec.ctx())?;
                let matches = if has_glob(&rel) {
                    expand_glob(tree, &rel).map_err(spec.ctx())?
                } else {
                    check_exists(spec, tree, p, &rel)?;
                    vec![rel]
                };
                for m in matches {
                    plan.push((p.clone(), Resolved::Tree(m)));
                }
            }
            CopySource::Heredoc { name, content } => plan.push((
                name.clone(),
                Resolved::Inline(name.clone(), content.clone()),
            )),
            CopySource::Url(u) => {
                if !spec.is_add {
                    return Err(spec.invalid("source can't be a URL for COPY"));
                }
                if is_git_source(u) {
                    return Err(spec.invalid(format!(
                        "ADD of a git repository ({u}) is not supported yet; clone it in a RUN step or COPY a checkout from the context"
                    )));
                }
                plan.push((u.clone(), Resolved::Url(u.clone())))
            }
        }
    }
    let files = plan
        .iter()
        .filter(|(_, r)| match r {
            Resolved::Tree(rel) => tree.resolve(rel).map(|h| !h.is_dir()).unwrap_or(true),
            _ => true,
        })
        .count();
    if (files > 1 || plan.len() > 1) && !dest_is_dir {
        return Err(spec.invalid(format!(
            "When using {} with more than one source file, the destination must be a directory and end with a /",
            spec.cmd()
        )));
    }

    let exclude =
        IgnorePatterns::new(&spec.exclude).map_err(|e| spec.invalid(format!("--exclude: {e}")))?;
    let mut copier = Copier {
        spec,
        exclude,
        layer,
        owner,
        mode,
        report: CopyReport::default(),
    };
    for (_, resolved) in plan {
        match resolved {
            Resolved::Tree(rel) => copier.copy_tree_path(tree, &rel, &dest, dest_is_dir)?,
            Resolved::Inline(name, content) => {
                let target = if dest_is_dir {
                    format!("{dest}/{name}")
                } else {
                    dest.clone()
                };
                copier.write_file(&target, &mut content.as_bytes(), 0o644, None)?;
            }
            Resolved::Url(url) => copier.fetch(&url, &dest, dest_is_dir)?,
        }
    }
    Ok(copier.report)
}

enum Resolved {
    Tree(String),
    Inline(String, String),
    Url(String),
}

/// What the first bytes of a file say it is, for ADD.
#[derive(Debug, PartialEq, Eq)]
enum Archive {
    Tar,
    Unsupported(&'static str),
    Plain,
}

fn sniff(path: &Path) -> io::Result<Archive> {
    let mut head = [0u8; 512];
    let mut f = File::open(path)?;
    let mut n = 0;
    while n < head.len() {
        let r = f.read(&mut head[n..])?;
        if r == 0 {
            break;
        }
        n += r;
    }
    let h = &head[..n];
    Ok(
        if h.starts_with(&[0x1f, 0x8b]) || h.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Archive::Tar
        } else if h.starts_with(b"BZh") {
            Archive::Unsupported("bzip2")
        } else if h.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Archive::Unsupported("xz")
        } else if n >= 262 && &h[257..262] == b"ustar" {
            Archive::Tar
        } else {
            Archive::Plain
        },
    )
}

impl Copier<'_> {
    fn host(&self, abs: &str) -> PathBuf {
        self.layer.join(abs.trim_start_matches('/'))
    }

    /// Creates the parents of `abs` in the layer (0755, root-owned), refusing to go
    /// through a symlink written earlier in this copy.
    fn parents(&self, abs: &str) -> Result<(), CopyError> {
        let mut cur = self.layer.to_path_buf();
        let parts: Vec<&str> = abs
            .trim_start_matches('/')
            .split('/')
            .filter(|p| !p.is_empty())
            .collect();
        for part in parts.iter().take(parts.len().saturating_sub(1)) {
            cur.push(part);
            match fs::symlink_metadata(&cur) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(self.spec.invalid(format!(
                        "cannot copy to {abs}: {} is not a directory in this layer",
                        cur.strip_prefix(self.layer).unwrap_or(&cur).display()
                    )))
                }
                Err(_) => {
                    // New directories belong to the --chown owner too ("All new files
                    // and directories are created with a UID and GID of 0, unless...").
                    fs::create_dir(&cur).map_err(self.spec.io("create", &cur))?;
                    fs::set_permissions(&cur, fs::Permissions::from_mode(0o755))
                        .map_err(self.spec.io("set mode of", &cur))?;
                    self.chown(&cur)?;
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, abs: &str, host: &Path, mode: Option<u32>) -> Result<(), CopyError> {
        if let Some(mode) = self.mode.or(mode) {
            fs::set_permissions(host, fs::Permissions::from_mode(mode))
                .map_err(self.spec.io("set mode of", host))?;
        }
        self.chown(host)?;
        self.report.written.push(abs.to_string());
        Ok(())
    }

    /// Gives `host` the copy's owner. Only root can give files away; an unprivileged
    /// run (unit tests) keeps its own ids for the default 0:0 and refuses others.
    fn chown(&self, host: &Path) -> Result<(), CopyError> {
        if !rustix::process::geteuid().is_root() {
            if self.owner == (Owner { uid: 0, gid: 0 }) {
                return Ok(());
            }
            return Err(self.spec.invalid(format!(
                "--chown={}:{} needs root to set owners; run the build as root",
                self.owner.uid, self.owner.gid
            )));
        }
        std::os::unix::fs::lchown(host, Some(self.owner.uid), Some(self.owner.gid))
            .map_err(self.spec.io("set owner of", host))
    }

    /// Writes a file; `mtime` is the source's (COPY keeps modification times).
    fn write_file(
        &mut self,
        abs: &str,
        data: &mut dyn Read,
        mode: u32,
        mtime: Option<std::time::SystemTime>,
    ) -> Result<(), CopyError> {
        self.parents(abs)?;
        let host = self.host(abs);
        if let Ok(m) = fs::symlink_metadata(&host) {
            if m.is_dir() {
                fs::remove_dir_all(&host).map_err(self.spec.io("replace", &host))?;
            } else {
                fs::remove_file(&host).map_err(self.spec.io("replace", &host))?;
            }
        }
        let mut f = File::create_new(&host).map_err(self.spec.io("create", &host))?;
        io::copy(data, &mut f).map_err(self.spec.io("write", &host))?;
        f.flush().map_err(self.spec.io("write", &host))?;
        if let Some(t) = mtime {
            f.set_modified(t)
                .map_err(self.spec.io("set the time of", &host))?;
        }
        self.finish(abs, &host, Some(mode))
    }

    fn mkdir(&mut self, abs: &str, mode: u32) -> Result<(), CopyError> {
        self.parents(abs)?;
        let host = self.host(abs);
        match fs::symlink_metadata(&host) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                fs::remove_file(&host).map_err(self.spec.io("replace", &host))?;
                fs::create_dir(&host).map_err(self.spec.io("create", &host))?;
            }
            Err(_) => fs::create_dir(&host).map_err(self.spec.io("create", &host))?,
        }
        self.finish(abs, &host, Some(mode))
    }

    fn copy_tree_path(
        &mut self,
        tree: &SourceTree,
        rel: &str,
        dest: &str,
        dest_is_dir: bool,
    ) -> Result<(), CopyError> {
        let host = tree.resolve(rel).map_err(self.spec.ctx())?;
        let meta = fs::metadata(&host).map_err(self.spec.io("read", &host))?;
        if meta.is_dir() {
            // The directory's contents, walked through the ignore rules.
            let walk = tree
                .walk(rel_of(tree, &host, rel))
                .map_err(self.spec.ctx())?;
            let base = rel_of(tree, &host, rel).to_string();
            for entry in walk {
                // The entry's path below the copied directory ("" for the directory).
                let sub = if entry.path == base {
                    ""
                } else if base == "." {
                    entry.path.as_str()
                } else {
                    entry
                        .path
                        .strip_prefix(&format!("{base}/"))
                        .unwrap_or(&entry.path)
                };
                if !sub.is_empty() && self.exclude.excludes(sub) {
                    continue;
                }
                let target = if sub.is_empty() || sub == "." {
                    dest.to_string()
                } else {
                    format!("{}/{sub}", dest.trim_end_matches('/'))
                };
                let src = tree.root().join(&entry.path);
                match entry.kind {
                    EntryKind::Dir => self.mkdir(&target, entry.mode)?,
                    EntryKind::File(_) => {
                        let mut f = File::open(&src).map_err(self.spec.io("read", &src))?;
                        let mtime = f.metadata().and_then(|m| m.modified()).ok();
                        self.write_file(&target, &mut f, entry.mode, mtime)?;
                    }
                    EntryKind::Symlink(t) => {
                        self.parents(&target)?;
                        let h = self.host(&target);
                        let _ = fs::remove_file(&h);
                        symlink(&t, &h).map_err(self.spec.io("create symlink", &h))?;
                        let saved = self.mode.take();
                        let r = self.finish(&target, &h, None);
                        self.mode = saved;
                        r?;
                    }
                    EntryKind::Other => {}
                }
            }
            return Ok(());
        }
        let name = host
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if self.exclude.excludes(&name) {
            return Ok(());
        }
        if self.spec.is_add && self.spec.unpack != Some(false) {
            match sniff(&host).map_err(self.spec.io("read", &host))? {
                Archive::Tar => {
                    // An archive always extracts into the destination as a directory.
                    let target = dest.to_string();
                    self.parents(&format!("{target}/x"))?;
                    let dir = self.host(&target);
                    fs::create_dir_all(&dir).map_err(self.spec.io("create", &dir))?;
                    let f = File::open(&host).map_err(self.spec.io("read", &host))?;
                    crate::unpack(f, &dir).map_err(|source| CopyError::Unpack {
                        location: self.spec.location.clone(),
                        archive: rel.to_string(),
                        source: Box::new(source),
                    })?;
                    self.report.written.push(target);
                    return Ok(());
                }
                Archive::Unsupported(kind) => {
                    return Err(self.spec.invalid(format!(
                        "ADD cannot extract {rel}: {kind} archives are not supported yet; \
                         recompress it with gzip or zstd, or COPY it and extract with RUN"
                    )))
                }
                Archive::Plain => {}
            }
        }
        let target = if dest_is_dir {
            format!("{}/{name}", dest.trim_end_matches('/'))
        } else {
            dest.to_string()
        };
        let mut f = File::open(&host).map_err(self.spec.io("read", &host))?;
        self.write_file(
            &target,
            &mut f,
            meta.permissions().mode() & 0o7777,
            meta.modified().ok(),
        )
    }

    fn fetch(&mut self, url: &str, dest: &str, dest_is_dir: bool) -> Result<(), CopyError> {
        let fetch_err = |message: String| CopyError::Fetch {
            location: self.spec.location.clone(),
            url: url.to_string(),
            message,
        };
        let name = url
            .split(['?', '#'])
            .next()
            .and_then(|u| u.split("://").nth(1))
            .and_then(|rest| rest.split_once('/').map(|(_, p)| p))
            .and_then(|p| p.rsplit('/').next())
            .filter(|b| !b.is_empty() && *b != ".")
            .unwrap_or("__unnamed__")
            .to_string();
        let target = if dest_is_dir {
            format!("{}/{name}", dest.trim_end_matches('/'))
        } else {
            dest.to_string()
        };
        self.parents(&target)?;
        let host = self.host(&target);
        let _ = fs::remove_file(&host);
        let mut file = File::create_new(&host).map_err(self.spec.io("create", &host))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| fetch_err(e.to_string()))?;
        let digest = rt.block_on(async {
            let client = reqwest::Client::new();
            let mut resp = client
                .get(url)
                .send()
                .await
                .map_err(|e| fetch_err(e.to_string()))?;
            if !resp.status().is_success() {
                return Err(fetch_err(format!("server answered {}", resp.status())));
            }
            let mut hasher = Hasher::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| fetch_err(e.to_string()))? {
                hasher.update(&chunk);
                file.write_all(&chunk)
                    .map_err(self.spec.io("write", &host))?;
            }
            Ok(hasher.finish().0)
        });
        let digest = match digest {
            Ok(d) => d,
            Err(e) => {
                let _ = fs::remove_file(&host);
                return Err(e);
            }
        };
        if let Some(expected) = &self.spec.checksum {
            if digest.to_string() != *expected {
                let _ = fs::remove_file(&host);
                return Err(CopyError::Checksum {
                    location: self.spec.location.clone(),
                    url: url.to_string(),
                    expected: expected.clone(),
                    actual: digest,
                });
            }
        }
        if self.spec.unpack == Some(true)
            && sniff(&host).map_err(self.spec.io("read", &host))? == Archive::Tar
        {
            // `ADD --unpack=true <url>`: extract into the destination directory.
            let dir_abs = dest.to_string();
            let dir = self.host(&dir_abs);
            let archive = host.with_extension("crossdock-download");
            fs::rename(&host, &archive).map_err(self.spec.io("move", &host))?;
            fs::create_dir_all(&dir).map_err(self.spec.io("create", &dir))?;
            let f = File::open(&archive).map_err(self.spec.io("read", &archive))?;
            let r = crate::unpack(f, &dir);
            let _ = fs::remove_file(&archive);
            r.map_err(|source| CopyError::Unpack {
                location: self.spec.location.clone(),
                archive: url.to_string(),
                source: Box::new(source),
            })?;
            self.report.written.push(dir_abs);
            return Ok(());
        }
        self.finish(&target, &host, Some(0o600))
    }
}

/// The cleaned relative path of a resolved host path (symlinks followed).
fn rel_of<'a>(tree: &SourceTree, host: &'a Path, rel: &'a str) -> &'a str {
    match host.strip_prefix(tree.root()) {
        Ok(p) if p.as_os_str().is_empty() => ".",
        Ok(p) => p.to_str().unwrap_or(rel),
        Err(_) => rel,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::IgnorePatterns;
    use std::os::unix::fs::MetadataExt;

    fn spec(sources: &[&str], dest: &str) -> CopySpec {
        CopySpec {
            is_add: false,
            sources: sources.iter().map(|s| CopySource::parse(s)).collect(),
            dest: dest.into(),
            workdir: "/work".into(),
            chown: None,
            chmod: None,
            checksum: None,
            exclude: Vec::new(),
            unpack: None,
            location: "Dockerfile:7".into(),
        }
    }

    fn context() -> (tempfile::TempDir, SourceTree) {
        let t = tempfile::tempdir().unwrap();
        let r = t.path().join("ctx");
        for (p, c) in [
            ("main.go", "package main\n"),
            ("util.go", "package util\n"),
            ("README.md", "hi\n"),
            ("src/a/x.c", "x\n"),
            ("src/b.c", "b\n"),
            ("secret/key", "k\n"),
        ] {
            fs::create_dir_all(r.join(p).parent().unwrap()).unwrap();
            fs::write(r.join(p), c).unwrap();
        }
        let tree = SourceTree::with_patterns(&r, IgnorePatterns::new(&["secret"]).unwrap());
        (t, tree)
    }

    fn files(layer: &Path) -> Vec<String> {
        let tree = SourceTree::rootfs(layer);
        tree.walk(".")
            .unwrap()
            .into_iter()
            .skip(1)
            .map(|e| e.path)
            .collect()
    }

    #[test]
    fn go_filepath_match_components() {
        for (p, n, want) in [
            ("*.go", "main.go", true),
            ("*.go", "main.c", false),
            ("?ain.go", "main.go", true),
            ("[mu]*.go", "util.go", true),
            ("[^m]*.go", "main.go", false),
            ("[a-c]", "b", true),
            ("\\*", "*", true),
            ("a*b*c", "aXbYc", true),
            ("[", "[", false),
        ] {
            assert_eq!(match_component(p, n), want, "{p} {n}");
        }
    }

    #[test]
    fn directory_contents_and_dest_rules() {
        let (t, tree) = context();
        let layer = t.path().join("l1");
        fs::create_dir(&layer).unwrap();
        // A directory's contents, not the directory; relative dest under WORKDIR.
        copy_into(&spec(&["src"], "code/"), &tree, &[], &layer).unwrap();
        assert_eq!(
            files(&layer),
            [
                "work",
                "work/code",
                "work/code/a",
                "work/code/a/x.c",
                "work/code/b.c"
            ]
        );

        // A file to a path without a slash becomes that file; with a slash, goes inside.
        let layer = t.path().join("l2");
        fs::create_dir(&layer).unwrap();
        copy_into(&spec(&["main.go"], "/app"), &tree, &[], &layer).unwrap();
        copy_into(&spec(&["README.md"], "/docs/"), &tree, &[], &layer).unwrap();
        assert_eq!(
            fs::read_to_string(layer.join("app")).unwrap(),
            "package main\n"
        );
        assert!(layer.join("docs/README.md").is_file());

        // An existing directory in the lower layers takes files by name.
        let lower = t.path().join("lower");
        fs::create_dir_all(lower.join("opt")).unwrap();
        let layer = t.path().join("l3");
        fs::create_dir(&layer).unwrap();
        copy_into(&spec(&["main.go"], "/opt"), &tree, &[lower], &layer).unwrap();
        assert!(layer.join("opt/main.go").is_file());
    }

    #[test]
    fn globs_and_multiple_sources() {
        let (t, tree) = context();
        let layer = t.path().join("l");
        fs::create_dir(&layer).unwrap();
        let r = copy_into(&spec(&["*.go"], "/src/"), &tree, &[], &layer).unwrap();
        assert_eq!(r.written, ["/src/main.go", "/src/util.go"]);
        let err = copy_into(&spec(&["*.go"], "/one"), &tree, &[], &layer).unwrap_err();
        assert!(
            err.to_string()
                .contains("destination must be a directory and end with a /"),
            "{err}"
        );
        // An empty glob copies nothing (BuildKit allows empty wildcards).
        let r = copy_into(&spec(&["*.rs"], "/src/"), &tree, &[], &layer).unwrap();
        assert!(r.written.is_empty());
        assert_eq!(
            source_paths(&spec(&["*.go", "./src/"], "/x/"), &tree).unwrap(),
            ["main.go", "util.go", "src"]
        );
    }

    #[test]
    fn missing_ignored_and_escaping_sources_name_the_line() {
        let (t, tree) = context();
        let layer = t.path().join("l");
        fs::create_dir(&layer).unwrap();
        let err = copy_into(&spec(&["nope.txt"], "/x"), &tree, &[], &layer).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Dockerfile:7: COPY failed: source \"nope.txt\" not found in the build context"
        );
        let err = copy_into(&spec(&["secret/key"], "/x"), &tree, &[], &layer).unwrap_err();
        assert!(
            err.to_string().ends_with("(.dockerignore excludes it)"),
            "{err}"
        );
        let err = copy_into(&spec(&["../etc/passwd"], "/x"), &tree, &[], &layer).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Dockerfile:7: \"../etc/passwd\" is outside the build context"),
            "{err}"
        );
        std::os::unix::fs::symlink("/etc", tree.root().join("etc")).unwrap();
        let err = copy_into(&spec(&["etc/passwd"], "/x"), &tree, &[], &layer).unwrap_err();
        assert!(err.to_string().contains("absolute path /etc"), "{err}");
        // Nothing was written by the failed copies.
        assert!(files(&layer).is_empty());
        // Copying a whole directory skips what .dockerignore excludes, keeps dotfiles.
        fs::write(tree.root().join(".hidden"), "h").unwrap();
        copy_into(&spec(&["."], "/all/"), &tree, &[], &layer).unwrap();
        assert!(!layer.join("all/secret").exists());
        assert!(layer.join("all/src/b.c").exists());
        assert_eq!(fs::read_to_string(layer.join("all/.hidden")).unwrap(), "h");
        // --exclude, relative to the copied directory.
        let mut s = spec(&["src", "README.md"], "/ex/");
        s.exclude = vec!["a".into(), "*.md".into()];
        copy_into(&s, &tree, &[], &layer).unwrap();
        assert!(layer.join("ex/b.c").exists());
        assert!(!layer.join("ex/a").exists());
        assert!(!layer.join("ex/README.md").exists());
        // git sources are refused with what to do instead.
        let mut s = spec(&["https://github.com/x/y.git#main"], "/g/");
        s.is_add = true;
        let err = copy_into(&s, &tree, &[], &layer).unwrap_err();
        assert!(err.to_string().contains("ADD of a git repository"), "{err}");
    }

    #[test]
    fn chown_and_chmod() {
        let (t, tree) = context();
        let lower = t.path().join("rootfs");
        fs::create_dir_all(lower.join("etc")).unwrap();
        fs::write(
            lower.join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
        )
        .unwrap();
        fs::write(lower.join("etc/group"), "root:x:0:\nstaff:x:50:\n").unwrap();
        let lowers = vec![lower];
        assert_eq!(
            resolve_owner("app:staff", &lowers),
            Ok(Owner { uid: 1000, gid: 50 })
        );
        assert_eq!(
            resolve_owner("app", &lowers),
            Ok(Owner {
                uid: 1000,
                gid: 1000
            })
        );
        assert_eq!(resolve_owner("7:8", &[]), Ok(Owner { uid: 7, gid: 8 }));
        assert!(resolve_owner("ghost", &lowers)
            .unwrap_err()
            .contains("no matching entries in /etc/passwd"));

        let layer = t.path().join("l");
        fs::create_dir(&layer).unwrap();
        let mut s = spec(&["main.go"], "/app/");
        s.chown = Some("app:staff".into());
        s.chmod = Some("750".into());
        copy_into(&s, &tree, &lowers, &layer).unwrap();
        let m = fs::metadata(layer.join("app/main.go")).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, 0o750);
        if rustix::process::geteuid().is_root() {
            assert_eq!((m.uid(), m.gid()), (1000, 50));
            let d = fs::metadata(layer.join("app")).unwrap();
            assert_eq!((d.uid(), d.gid()), (1000, 50), "new parent directories too");
        }
        // Modification times come from the source.
        let src = fs::metadata(tree.root().join("main.go")).unwrap();
        assert_eq!(m.modified().unwrap(), src.modified().unwrap());
        s.chmod = Some("9".into());
        let err = copy_into(&s, &tree, &lowers, &layer).unwrap_err();
        assert!(
            err.to_string().contains("invalid chmod parameter: '9'"),
            "{err}"
        );
        s.chmod = None;
        s.chown = Some("nobody".into());
        let err = copy_into(&s, &tree, &lowers, &layer).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Dockerfile:7: --chown=nobody: unable to find user nobody"),
            "{err}"
        );
    }

    #[test]
    fn heredoc_sources() {
        let (t, tree) = context();
        let layer = t.path().join("l");
        fs::create_dir(&layer).unwrap();
        let mut s = spec(&[], "/etc/motd");
        s.sources = vec![CopySource::Heredoc {
            name: "EOF".into(),
            content: "hello\n".into(),
        }];
        copy_into(&s, &tree, &[], &layer).unwrap();
        assert_eq!(
            fs::read_to_string(layer.join("etc/motd")).unwrap(),
            "hello\n"
        );
        assert_eq!(
            fs::metadata(layer.join("etc/motd"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o644
        );
        s.dest = "/conf/".into();
        copy_into(&s, &tree, &[], &layer).unwrap();
        assert!(layer.join("conf/EOF").is_file());
    }

    fn tar_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn add_extracts_local_tars_safely() {
        let (t, tree) = context();
        let plain = tar_bytes(&[("a/one.txt", b"1"), ("two.txt", b"2")]);
        fs::write(tree.root().join("plain.tar"), &plain).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&plain).unwrap();
        fs::write(tree.root().join("files.tgz"), gz.finish().unwrap()).unwrap();
        fs::write(
            tree.root().join("x.xz"),
            [0xfd, b'7', b'z', b'X', b'Z', 0, 1, 2],
        )
        .unwrap();

        let layer = t.path().join("l");
        fs::create_dir(&layer).unwrap();
        let mut s = spec(&["plain.tar", "files.tgz"], "/opt/");
        s.is_add = true;
        copy_into(&s, &tree, &[], &layer).unwrap();
        assert_eq!(
            fs::read_to_string(layer.join("opt/a/one.txt")).unwrap(),
            "1"
        );
        assert_eq!(fs::read_to_string(layer.join("opt/two.txt")).unwrap(), "2");
        assert!(!layer.join("opt/plain.tar").exists());
        // COPY does not extract.
        s.is_add = false;
        copy_into(&s, &tree, &[], &layer).unwrap();
        assert!(layer.join("opt/plain.tar").is_file());

        let mut s = spec(&["x.xz"], "/opt/");
        s.is_add = true;
        let err = copy_into(&s, &tree, &[], &layer).unwrap_err();
        assert!(
            err.to_string()
                .contains("xz archives are not supported yet"),
            "{err}"
        );

        // A hostile tar (entry climbing out) is refused by unpack, naming the entry.
        let mut raw = tar::Header::new_old();
        raw.as_old_mut().name[..9].copy_from_slice(b"../evil.t");
        raw.set_size(1);
        raw.set_mode(0o644);
        raw.set_entry_type(tar::EntryType::Regular);
        raw.set_cksum();
        let mut bytes = raw.as_bytes().to_vec();
        bytes.extend_from_slice(b"x");
        bytes.resize(1024, 0);
        bytes.extend_from_slice(&[0u8; 1024]);
        // Give it a ustar magic so ADD treats it as a tar.
        bytes[257..263].copy_from_slice(b"ustar\0");
        let mut h = tar::Header::from_byte_slice(&bytes[..512]).clone();
        h.set_cksum();
        bytes[..512].copy_from_slice(h.as_bytes());
        fs::write(tree.root().join("evil.tar"), &bytes).unwrap();
        let mut s = spec(&["evil.tar"], "/opt/");
        s.is_add = true;
        let err = copy_into(&s, &tree, &[], &layer).unwrap_err();
        assert!(
            err.to_string().contains("ADD cannot extract evil.tar"),
            "{err}"
        );
        assert!(!t.path().join("evil.t").exists());
    }

    /// A one-shot HTTP server answering every request with `body`.
    fn serve(body: &'static [u8], status: &'static str) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(4) {
                let Ok(mut s) = stream else { continue };
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(body);
            }
        });
        format!("http://{addr}")
    }

    #[test]
    fn add_url_with_checksum() {
        let (t, tree) = context();
        let base = serve(b"payload", "200 OK");
        let layer = t.path().join("l");
        fs::create_dir(&layer).unwrap();
        let url = format!("{base}/dl/tool.bin");
        let mut s = spec(&[url.as_str()], "/usr/local/bin/");
        s.is_add = true;
        // sha256("payload")
        let good = "sha256:239f59ed55e737c77147cf55ad0c1b030b6d7ee748a7426952f9b852d5a935e5";
        s.checksum = Some(good.into());
        copy_into(&s, &tree, &[], &layer).unwrap();
        let got = layer.join("usr/local/bin/tool.bin");
        assert_eq!(fs::read(&got).unwrap(), b"payload");
        assert_eq!(
            fs::metadata(&got).unwrap().permissions().mode() & 0o777,
            0o600
        );

        let bad = format!("sha256:{}", "0".repeat(64));
        s.checksum = Some(bad.clone());
        s.dest = "/other".into();
        let err = copy_into(&s, &tree, &[], &layer).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("checksum mismatch: expected {bad}, got {good}")),
            "{err}"
        );
        assert!(
            !layer.join("other").exists(),
            "a mismatching download is not kept"
        );

        let missing = serve(b"", "404 Not Found");
        let url = format!("{missing}/nope");
        let mut s = spec(&[url.as_str()], "/x");
        s.is_add = true;
        let err = copy_into(&s, &tree, &[], &layer).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "Dockerfile:7: ADD failed to fetch {url}: server answered 404"
            )),
            "{err}"
        );
        s.is_add = false;
        let err = copy_into(&s, &tree, &[], &layer).unwrap_err();
        assert!(
            err.to_string().contains("source can't be a URL for COPY"),
            "{err}"
        );
    }
}
