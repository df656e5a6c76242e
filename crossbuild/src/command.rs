//! Recognising toolchain commands among the words of a `RUN`.

use std::fmt;

use crate::toolchain::{toolchains, CommandPattern, Role, Toolchain};

/// A command recognised as a step of a toolchain; see [`classify_command`].
#[derive(Clone, Debug)]
pub struct CommandMatch {
    /// The toolchain whose pattern matched.
    pub toolchain: &'static Toolchain,
    /// The pattern that matched (first fit, in file order).
    pub pattern: &'static CommandPattern,
    /// The pattern's role.
    pub role: Role,
    /// The program word as written, e.g. `/usr/local/go/bin/go`, `xx-go`,
    /// `aarch64-linux-gnu-gcc-12`.
    pub program: String,
    /// Index of the program word in the words given to [`classify_command`]
    /// (after any wrappers such as `sudo -E`).
    pub program_index: usize,
    /// The words after the program.
    pub args: Vec<String>,
    /// The GNU triple of a compiler that is already a cross compiler by name
    /// (`aarch64-linux-gnu` for `aarch64-linux-gnu-gcc`).
    pub already_cross_for: Option<String>,
    /// The cross-compiling helper that runs the toolchain (`xx-go`, `xx-clang`).
    pub helper: Option<String>,
    /// Variables assigned by wrappers (`env CGO_ENABLED=0 go build`).
    pub env: Vec<(String, String)>,
}

/// Why a step is taken to cross-compile already; see [`CommandMatch::cross_evidence`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CrossEvidence {
    /// The program is a cross compiler for this GNU triple.
    CrossCompiler(String),
    /// A helper that cross-compiles for `TARGETPLATFORM` runs the step.
    Helper(String),
    /// A variable selects the target.
    Env {
        /// Its name.
        name: String,
        /// Its value.
        value: String,
    },
    /// An argument selects the target.
    Arg(String),
}

impl fmt::Display for CrossEvidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CrossCompiler(triple) => {
                write!(f, "the compiler is already a cross compiler for {triple}")
            }
            Self::Helper(helper) => write!(f, "{helper} cross-compiles for TARGETPLATFORM"),
            Self::Env { name, value } => write!(f, "{name}={value} selects the target"),
            Self::Arg(arg) => write!(f, "{arg} selects the target"),
        }
    }
}

impl CommandMatch {
    /// What shows this step already cross-compiles, if anything: a cross
    /// compiler or helper as the program, or one of the toolchain's
    /// [markers](crate::CrossMarkers) among the arguments, the wrapper
    /// assignments, `NAME=value` arguments (`make CC=...`) or `env` — the
    /// variables in effect for the step (`RUN` prefixes, `ENV`, `ARG`), which
    /// the caller knows.
    pub fn cross_evidence(&self, env: &[(&str, &str)]) -> Option<CrossEvidence> {
        if let Some(triple) = &self.already_cross_for {
            return Some(CrossEvidence::CrossCompiler(triple.clone()));
        }
        if let Some(helper) = &self.helper {
            return Some(CrossEvidence::Helper(helper.clone()));
        }
        let markers = self.toolchain.cross_markers();
        let own = self.env.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        let from_args = self.args.iter().filter_map(|a| assignment(a));
        let listed = |list: &[String], name: &str| list.iter().any(|m| m == name);
        let env_hit = env
            .iter()
            .copied()
            .chain(own)
            .chain(from_args)
            .find(|(name, value)| {
                listed(&markers.env, name)
                    || (listed(&markers.triple_env, name) && value_names_cross_tool(value))
            });
        if let Some((name, value)) = env_hit {
            return Some(CrossEvidence::Env {
                name: name.to_owned(),
                value: value.to_owned(),
            });
        }
        self.args
            .iter()
            .find(|a| {
                listed(&markers.args, a)
                    || markers
                        .arg_prefixes
                        .iter()
                        .any(|p| a.starts_with(p.as_str()))
            })
            .map(|a| CrossEvidence::Arg(a.clone()))
    }
}

/// A program that runs another command: how to find that command in its words.
struct Wrapper {
    name: &'static str,
    /// Options that take the next word as their value.
    value_options: &'static [&'static str],
    /// Options that make it not run the command at all (`command -v go`).
    query_options: &'static [&'static str],
    /// Whether `NAME=value` words set variables for the command.
    assignments: bool,
    /// Positional words before the command (timeout's duration, gosu's user).
    operands: usize,
}

const fn wrapper(name: &'static str, value_options: &'static [&'static str]) -> Wrapper {
    Wrapper {
        name,
        value_options,
        query_options: &[],
        assignments: false,
        operands: 0,
    }
}

const WRAPPERS: &[Wrapper] = &[
    Wrapper {
        assignments: true,
        ..wrapper("env", &["-u", "--unset", "-C", "--chdir"])
    },
    Wrapper {
        assignments: true,
        query_options: &[
            "-l",
            "--list",
            "-v",
            "--validate",
            "-V",
            "--version",
            "-e",
            "--edit",
            "-K",
        ],
        ..wrapper(
            "sudo",
            &[
                "-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "--user", "--group",
                "--chdir", "--prompt",
            ],
        )
    },
    wrapper("doas", &["-u", "-C"]),
    wrapper("exec", &["-a"]),
    wrapper("time", &["-f", "--format", "-o", "--output"]),
    wrapper("nice", &["-n", "--adjustment"]),
    wrapper("nohup", &[]),
    Wrapper {
        query_options: &["-v", "-V"],
        ..wrapper("command", &[])
    },
    Wrapper {
        operands: 1,
        ..wrapper("timeout", &["-s", "--signal", "-k", "--kill-after"])
    },
    wrapper(
        "stdbuf",
        &["-i", "-o", "-e", "--input", "--output", "--error"],
    ),
    wrapper("ionice", &["-c", "-n", "--class", "--classdata"]),
    wrapper("eatmydata", &[]),
    wrapper("ccache", &[]),
    wrapper("sccache", &[]),
    Wrapper {
        operands: 1,
        ..wrapper("gosu", &[])
    },
    Wrapper {
        operands: 1,
        ..wrapper("su-exec", &[])
    },
];

/// Shells that may run a script file given as their first operand.
const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh", "ksh"];

/// Leading parts of GNU triples, for telling `aarch64-linux-gnu-gcc` (a cross
/// compiler) from `my-tool-gcc`.
const TRIPLE_CPUS: &[&str] = &[
    "x86_64",
    "i386",
    "i486",
    "i586",
    "i686",
    "aarch64",
    "arm",
    "riscv",
    "powerpc",
    "ppc",
    "s390",
    "mips",
    "loongarch",
    "sparc",
];

/// The command a list of words runs, with its wrappers removed.
struct Invocation<'w> {
    program_index: usize,
    program: &'w str,
    args: &'w [&'w str],
    by_path: bool,
    env: Vec<(String, String)>,
}

/// The last path component of a word.
fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// `NAME=value` with a valid shell variable name.
fn assignment(word: &str) -> Option<(&str, &str)> {
    let (name, value) = word.split_once('=')?;
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    (first_ok && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')).then_some((name, value))
}

/// An option word (`-x`, `--long`, `--long=value`), not a lone `-`.
fn is_option(word: &str) -> bool {
    word.len() > 1 && word.starts_with('-')
}

impl Wrapper {
    /// The words after this wrapper's own options and operands; `None` when it
    /// runs no command.
    fn skip<'w>(
        &self,
        args: &'w [&'w str],
        env: &mut Vec<(String, String)>,
    ) -> Option<&'w [&'w str]> {
        let mut i = 0;
        while let Some(&word) = args.get(i) {
            if word == "--" {
                i += 1;
                break;
            }
            if self.query_options.contains(&word) {
                return None;
            }
            if is_option(word) {
                i += if self.value_options.contains(&word) {
                    2
                } else {
                    1
                };
                continue;
            }
            match assignment(word).filter(|_| self.assignments) {
                Some((name, value)) => env.push((name.to_owned(), value.to_owned())),
                None => break,
            }
            i += 1;
        }
        args.get(i + self.operands..)
    }
}

/// Where the script operand of `sh [options] script` is; `None` for `sh -c`
/// (an inline script, which the caller parses) and for a shell reading stdin.
fn shell_script_index(args: &[&str]) -> Option<usize> {
    let mut i = 0;
    while let Some(&word) = args.get(i) {
        if word == "--" {
            i += 1;
            break;
        }
        let short_cluster = word.len() > 1 && word.starts_with('-') && !word.starts_with("--");
        if short_cluster && word.contains('c') {
            return None;
        }
        if matches!(word, "-o" | "+o" | "-O" | "+O") {
            i += 2;
        } else if word.len() > 1 && (word.starts_with('-') || word.starts_with('+')) {
            i += 1;
        } else {
            break;
        }
    }
    (i < args.len()).then_some(i)
}

/// Removes wrappers (`sudo -E`, `env -u X A=B`, `time`, ...) and resolves
/// `sh ./script` to the script.
fn unwrap<'w>(words: &'w [&'w str]) -> Option<Invocation<'w>> {
    let mut rest = words;
    let mut env = Vec::new();
    loop {
        let (&first, tail) = rest.split_first()?;
        let name = basename(first);
        if let Some(w) = WRAPPERS.iter().find(|w| w.name == name) {
            rest = w.skip(tail, &mut env)?;
            continue;
        }
        let (program_rest, by_path) = if SHELLS.contains(&name) {
            (&tail[shell_script_index(tail)?..], true)
        } else {
            (rest, first.contains('/'))
        };
        let (&program, args) = program_rest.split_first()?;
        return Some(Invocation {
            program_index: words.len() - program_rest.len(),
            program,
            args,
            by_path,
            env,
        });
    }
}

/// `gcc-12` → `gcc`, `python3.11` → `python`, `go1.22.0` → `go`: the name
/// without a trailing version number.
fn strip_version(name: &str) -> &str {
    let trimmed = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    let trimmed = trimmed.strip_suffix('-').unwrap_or(trimmed);
    let ends_well = trimmed.ends_with(|c: char| c.is_ascii_alphabetic() || c == '+');
    if trimmed.len() < name.len() && ends_well {
        trimmed
    } else {
        name
    }
}

/// Whether `prefix` has the shape of a GNU triple: two to four lowercase
/// `-`-separated parts, the first a CPU name.
fn looks_like_triple(prefix: &str) -> bool {
    let parts: Vec<&str> = prefix.split('-').collect();
    let part_ok = |p: &&str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
    };
    (2..=4).contains(&parts.len())
        && parts.iter().all(part_ok)
        && TRIPLE_CPUS.iter().any(|cpu| parts[0].starts_with(cpu))
}

/// Whether a variable's value (`CC=aarch64-linux-gnu-gcc`, `CC=xx-clang`,
/// `CC="clang --target=..."`) names a cross compiler.
fn value_names_cross_tool(value: &str) -> bool {
    value.split_whitespace().any(|word| {
        let name = strip_version(basename(word));
        name.starts_with("xx-")
            || word.starts_with("--target=")
            || name
                .match_indices('-')
                .any(|(i, _)| i + 1 < name.len() && looks_like_triple(&name[..i]))
    })
}

/// How a program name fits a pattern: `Some(None)` as itself,
/// `Some(Some(triple))` as `<triple>-<program>`, `None` not at all.
fn program_fits<'n>(
    pattern: &CommandPattern,
    name: &'n str,
    by_path: bool,
) -> Option<Option<&'n str>> {
    if pattern.by_path && !by_path {
        return None;
    }
    let candidates = [name, strip_version(name)];
    if candidates
        .iter()
        .any(|c| pattern.programs.iter().any(|p| p == c))
    {
        return Some(None);
    }
    if !pattern.cross_prefixed {
        return None;
    }
    candidates.into_iter().find_map(|candidate| {
        pattern.programs.iter().find_map(|program| {
            let prefix = candidate
                .strip_suffix(program.as_str())?
                .strip_suffix('-')?;
            looks_like_triple(prefix).then_some(Some(prefix))
        })
    })
}

/// The positional words among `args`: options (and the values of
/// `value_options`) and `+toolchain` words are skipped; after `--` every word
/// is positional.
fn positional<'w>(args: &[&'w str], value_options: &[String]) -> Vec<&'w str> {
    let mut out = Vec::new();
    let mut iter = args.iter();
    while let Some(&word) = iter.next() {
        if word == "--" {
            out.extend(iter);
            break;
        }
        if is_option(word) || (word.len() > 1 && word.starts_with('+')) {
            if value_options.iter().any(|o| o == word) {
                iter.next();
            }
            continue;
        }
        out.push(word);
    }
    out
}

fn args_fit(pattern: &CommandPattern, value_options: &[String], args: &[&str]) -> bool {
    let positional = positional(args, value_options);
    let has = |list: &[String]| args.iter().any(|a| list.iter().any(|x| x == a));
    let subcommand_ok = pattern.subcommands.is_empty()
        || pattern.subcommands.iter().any(|s| {
            let words: Vec<&str> = s.split_whitespace().collect();
            positional.starts_with(&words)
        });
    subcommand_ok
        && (pattern.any_arg.is_empty() || has(&pattern.any_arg))
        && !has(&pattern.none_of)
        && (!pattern.no_subcommand || positional.is_empty())
}

/// Recognises a toolchain step from the words of one simple command.
///
/// `words` are the command's words after shell splitting and quote removal,
/// with leading `VAR=value` assignments already taken off. Wrappers are
/// stripped here: `env` (with its options and `A=B` words, kept in
/// [`CommandMatch::env`]), `sudo`, `doas`, `exec`, `time`, `nice`, `nohup`,
/// `command`, `timeout`, `stdbuf`, `ionice`, `eatmydata`, `ccache`, `sccache`,
/// `gosu` and `su-exec`. `sh ./configure` is read as `./configure`; `sh -c`
/// and `command -v` are not matches.
///
/// The program matches by its basename (`/usr/local/go/bin/go` is `go`); a
/// trailing version is ignored (`gcc-12`, `python3.11`); a pattern marked
/// `by_path` only matches a program run by path (`./configure`, not a
/// `configure` found on `PATH`). A C compiler named `<gnu triple>-gcc` matches
/// with [`CommandMatch::already_cross_for`] set; an xx helper (`xx-go`)
/// matches as the program it wraps with [`CommandMatch::helper`] set.
///
/// A known program used in a way no pattern lists (`go version`, `cargo fmt`,
/// `cmake -E copy`, `make clean`) builds nothing for the target and is `None`,
/// like any other command.
///
/// ```
/// use crossbuild::{classify_command, Role};
///
/// let m = classify_command(&["sudo", "-E", "go", "build", "-o", "/out/app", "."]).unwrap();
/// assert_eq!((m.toolchain.id(), m.role, m.program_index), ("go", Role::Compile, 2));
/// assert!(classify_command(&["go", "version"]).is_none());
/// ```
pub fn classify_command(words: &[&str]) -> Option<CommandMatch> {
    let inv = unwrap(words)?;
    let base = basename(inv.program);
    toolchains().iter().find_map(|toolchain| {
        let helper = toolchain.helpers.iter().find(|h| h.program == base);
        let name = helper.map_or(base, |h| h.runs.as_str());
        toolchain.commands.iter().find_map(|pattern| {
            let cross = program_fits(pattern, name, inv.by_path)?;
            args_fit(pattern, &toolchain.value_options, inv.args).then(|| CommandMatch {
                toolchain,
                pattern,
                role: pattern.role(),
                program: inv.program.to_owned(),
                program_index: inv.program_index,
                args: inv.args.iter().map(|a| (*a).to_owned()).collect(),
                already_cross_for: cross.map(str::to_owned),
                helper: helper.map(|h| h.program.clone()),
                env: inv.env.clone(),
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (words, toolchain id, role, already cross for)
    type Case = (
        &'static [&'static str],
        &'static str,
        Role,
        Option<&'static str>,
    );

    const MATCHES: &[Case] = &[
        (
            &["go", "build", "-o", "/out/app", "."],
            "go",
            Role::Compile,
            None,
        ),
        (
            &["/usr/local/go/bin/go", "mod", "download"],
            "go",
            Role::Fetch,
            None,
        ),
        (&["go", "install", "./cmd/..."], "go", Role::Install, None),
        (&["go", "test", "-race", "./..."], "go", Role::Test, None),
        (&["go", "run", "./tools/gen.go"], "go", Role::RunHost, None),
        (&["go", "generate", "./..."], "go", Role::Generate, None),
        (&["go", "vet", "./..."], "go", Role::Check, None),
        (&["go", "-C", "src", "build"], "go", Role::Compile, None),
        (&["go1.22.1", "build", "."], "go", Role::Compile, None),
        (
            &["env", "CGO_ENABLED=0", "go", "build"],
            "go",
            Role::Compile,
            None,
        ),
        (
            &["env", "-u", "GOFLAGS", "go", "build"],
            "go",
            Role::Compile,
            None,
        ),
        (&["time", "go", "build", "./..."], "go", Role::Compile, None),
        (
            &["xx-go", "build", "-o", "/out/app"],
            "go",
            Role::Compile,
            None,
        ),
        (
            &["cargo", "build", "--release", "--locked"],
            "rust",
            Role::Compile,
            None,
        ),
        (
            &["cargo", "chef", "cook", "--release"],
            "rust",
            Role::Compile,
            None,
        ),
        (&["cargo", "+nightly", "build"], "rust", Role::Compile, None),
        (
            &["cargo", "--config", "net.git-fetch-with-cli=true", "build"],
            "rust",
            Role::Compile,
            None,
        ),
        (
            &["cargo", "install", "--path", "."],
            "rust",
            Role::Install,
            None,
        ),
        (&["cargo", "fetch", "--locked"], "rust", Role::Fetch, None),
        (&["cargo", "test"], "rust", Role::Test, None),
        (
            &["cargo", "run", "--bin", "codegen"],
            "rust",
            Role::RunHost,
            None,
        ),
        (
            &["cargo", "clippy", "--", "-D", "warnings"],
            "rust",
            Role::Check,
            None,
        ),
        (
            &["xx-cargo", "build", "--release"],
            "rust",
            Role::Compile,
            None,
        ),
        (
            &["aarch64-linux-gnu-gcc", "-o", "x", "x.c"],
            "c",
            Role::Compile,
            Some("aarch64-linux-gnu"),
        ),
        (
            &["x86_64-linux-gnu-gcc-12", "-c", "x.c"],
            "c",
            Role::Compile,
            Some("x86_64-linux-gnu"),
        ),
        (
            &["arm-linux-gnueabihf-g++", "-o", "x", "x.cc"],
            "c",
            Role::Compile,
            Some("arm-linux-gnueabihf"),
        ),
        (
            &["/usr/bin/gcc-12", "-O2", "-o", "x", "x.c"],
            "c",
            Role::Compile,
            None,
        ),
        (&["cc", "-o", "hello", "hello.c"], "c", Role::Compile, None),
        (
            &["clang++-16", "-std=c++20", "main.cpp"],
            "c",
            Role::Compile,
            None,
        ),
        (&["xx-clang", "-o", "x", "x.c"], "c", Role::Compile, None),
        (&["make", "-j4"], "c", Role::Compile, None),
        (&["make"], "c", Role::Compile, None),
        (&["make", "install"], "c", Role::Install, None),
        (
            &["make", "-j", "4", "DESTDIR=/out", "install"],
            "c",
            Role::Install,
            None,
        ),
        (&["make", "check"], "c", Role::Test, None),
        (&["sudo", "-E", "make"], "c", Role::Compile, None),
        (
            &["sudo", "-u", "builder", "make", "install"],
            "c",
            Role::Install,
            None,
        ),
        (
            &["nice", "-n", "10", "nohup", "gmake", "all"],
            "c",
            Role::Compile,
            None,
        ),
        (
            &["cmake", "-S", ".", "-B", "build"],
            "cmake",
            Role::Configure,
            None,
        ),
        (
            &["cmake", "..", "-DCMAKE_BUILD_TYPE=Release"],
            "cmake",
            Role::Configure,
            None,
        ),
        (
            &["cmake", "--build", "build", "--parallel"],
            "cmake",
            Role::Compile,
            None,
        ),
        (
            &["cmake", "--install", "build"],
            "cmake",
            Role::Install,
            None,
        ),
        (&["ctest", "--test-dir", "build"], "cmake", Role::Test, None),
        (
            &["./configure", "--prefix=/usr"],
            "autotools",
            Role::Configure,
            None,
        ),
        (&["../src/configure"], "autotools", Role::Configure, None),
        (
            &["sh", "./configure", "--prefix=/usr"],
            "autotools",
            Role::Configure,
            None,
        ),
        (
            &["bash", "-e", "configure"],
            "autotools",
            Role::Configure,
            None,
        ),
        (&["autoreconf", "-fi"], "autotools", Role::Generate, None),
        (&["./autogen.sh"], "autotools", Role::Generate, None),
        (&["meson", "setup", "build"], "meson", Role::Configure, None),
        (
            &["meson", "build", "--buildtype=release"],
            "meson",
            Role::Configure,
            None,
        ),
        (
            &["meson", "compile", "-C", "build"],
            "meson",
            Role::Compile,
            None,
        ),
        (&["ninja", "-C", "build"], "meson", Role::Compile, None),
        (
            &["ninja", "-C", "build", "install"],
            "meson",
            Role::Install,
            None,
        ),
        (&["npm", "ci", "--omit=dev"], "node", Role::Install, None),
        (&["yarn", "--frozen-lockfile"], "node", Role::Install, None),
        (
            &["pnpm", "install", "--frozen-lockfile"],
            "node",
            Role::Install,
            None,
        ),
        (&["node-gyp", "rebuild"], "node", Role::Compile, None),
        (
            &[
                "pip3",
                "install",
                "--no-cache-dir",
                "-r",
                "requirements.txt",
            ],
            "python",
            Role::Install,
            None,
        ),
        (
            &["python3", "-m", "pip", "install", "."],
            "python",
            Role::Install,
            None,
        ),
        (
            &["python3.11", "setup.py", "build"],
            "python",
            Role::Compile,
            None,
        ),
        (
            &["python", "-m", "build", "--wheel"],
            "python",
            Role::Compile,
            None,
        ),
        (&["gem", "install", "nokogiri"], "ruby", Role::Install, None),
        (
            &["bundle", "install", "--jobs", "4"],
            "ruby",
            Role::Install,
            None,
        ),
        (&["gosu", "app", "bundle"], "ruby", Role::Install, None),
    ];

    const NOT_MATCHES: &[&[&str]] = &[
        &[],
        &["echo", "go", "build"],
        &["gofmt", "-l", "."],
        &["go", "version"],
        &["go", "env", "GOPATH"],
        &["cargo", "fmt", "--check"],
        &["cargo", "chef", "prepare"],
        &["rustc", "--version"],
        &["gcc", "--version"],
        &["my-tool-gcc", "x.c"],
        &["make", "clean"],
        &["cmake", "-E", "copy", "a", "b"],
        &["cmake", "--version"],
        &["configure", "--prefix=/usr"],
        &["sh", "-c", "go build"],
        &["bash", "-ec", "make"],
        &["sh"],
        &["command", "-v", "go"],
        &["sudo", "-l"],
        &["env"],
        &["env", "A=B"],
        &["npm", "run", "build"],
        &["apt-get", "install", "-y", "gcc"],
        &["xx-apk", "add", "musl-dev"],
        &["ls", "-la", "/go/bin/go"],
    ];

    #[test]
    fn recognises_real_commands() {
        assert!(MATCHES.len() >= 30);
        for &(words, toolchain, role, cross) in MATCHES {
            let m = classify_command(words).unwrap_or_else(|| panic!("no match for {words:?}"));
            assert_eq!(
                (m.toolchain.id(), m.role, m.already_cross_for.as_deref()),
                (toolchain, role, cross),
                "{words:?} matched {:?}",
                m.pattern.description()
            );
        }
    }

    #[test]
    fn ignores_other_commands() {
        for words in NOT_MATCHES {
            let m = classify_command(words);
            assert!(
                m.is_none(),
                "{words:?} matched {:?}",
                m.map(|m| m.pattern.description())
            );
        }
    }

    #[test]
    fn records_program_position_args_and_wrapper_env() {
        let m = classify_command(&[
            "env",
            "-u",
            "X",
            "CGO_ENABLED=0",
            "GOOS=linux",
            "go",
            "build",
            ".",
        ])
        .unwrap_or_else(|| panic!("no match"));
        assert_eq!(m.program_index, 5);
        assert_eq!(m.program, "go");
        assert_eq!(m.args, ["build", "."]);
        assert_eq!(
            m.env,
            [
                ("CGO_ENABLED".to_owned(), "0".to_owned()),
                ("GOOS".to_owned(), "linux".to_owned())
            ]
        );
        assert_eq!(m.pattern.description(), "go build");

        let m = classify_command(&["sh", "-e", "../configure", "--host=x"])
            .unwrap_or_else(|| panic!("no match"));
        assert_eq!((m.program_index, m.program.as_str()), (2, "../configure"));

        let m = classify_command(&["xx-clang++", "-o", "x", "x.cc"])
            .unwrap_or_else(|| panic!("no match"));
        assert_eq!(m.helper.as_deref(), Some("xx-clang++"));
        assert_eq!(m.pattern.description(), "clang");
    }

    #[test]
    fn cross_evidence() {
        let evidence = |words: &[&str], env: &[(&str, &str)]| {
            classify_command(words)
                .unwrap_or_else(|| panic!("no match for {words:?}"))
                .cross_evidence(env)
        };
        let env = |name: &str, value: &str| {
            Some(CrossEvidence::Env {
                name: name.into(),
                value: value.into(),
            })
        };
        let arg = |a: &str| Some(CrossEvidence::Arg(a.into()));
        assert_eq!(evidence(&["go", "build"], &[]), None);
        assert_eq!(
            evidence(&["go", "build"], &[("GOARCH", "arm64")]),
            env("GOARCH", "arm64")
        );
        assert_eq!(
            evidence(&["env", "GOOS=linux", "go", "build"], &[]),
            env("GOOS", "linux")
        );
        assert_eq!(evidence(&["go", "build"], &[("CGO_ENABLED", "0")]), None);
        assert_eq!(
            evidence(&["xx-go", "build"], &[]),
            Some(CrossEvidence::Helper("xx-go".into()))
        );
        assert_eq!(
            evidence(&["aarch64-linux-gnu-gcc", "x.c"], &[]),
            Some(CrossEvidence::CrossCompiler("aarch64-linux-gnu".into()))
        );
        assert_eq!(
            evidence(&["cargo", "build", "--target", "x"], &[]),
            arg("--target")
        );
        assert_eq!(
            evidence(
                &["cargo", "build", "--target=aarch64-unknown-linux-gnu"],
                &[]
            ),
            arg("--target=aarch64-unknown-linux-gnu")
        );
        assert_eq!(evidence(&["make"], &[("CC", "gcc")]), None);
        assert_eq!(
            evidence(&["make"], &[("CC", "aarch64-linux-gnu-gcc")]),
            env("CC", "aarch64-linux-gnu-gcc")
        );
        assert_eq!(
            evidence(&["make"], &[("CC", "xx-clang")]),
            env("CC", "xx-clang")
        );
        assert_eq!(
            evidence(&["make", "CC=arm-linux-gnueabihf-gcc-12"], &[]),
            env("CC", "arm-linux-gnueabihf-gcc-12")
        );
        assert_eq!(
            evidence(&["./configure", "--host=aarch64-linux-gnu"], &[]),
            arg("--host=aarch64-linux-gnu")
        );
        assert_eq!(
            evidence(
                &["cmake", "-B", "b", "-DCMAKE_TOOLCHAIN_FILE=/t.cmake"],
                &[]
            ),
            arg("-DCMAKE_TOOLCHAIN_FILE=/t.cmake")
        );
        assert_eq!(
            evidence(
                &["cmake", "-B", "b", "-D", "CMAKE_TOOLCHAIN_FILE=/t.cmake"],
                &[]
            ),
            env("CMAKE_TOOLCHAIN_FILE", "/t.cmake")
        );
        assert_eq!(
            evidence(&["meson", "setup", "--cross-file", "x.ini", "b"], &[]),
            arg("--cross-file")
        );
        assert_eq!(
            evidence(&["clang", "--target=aarch64-linux-gnu", "x.c"], &[]),
            arg("--target=aarch64-linux-gnu")
        );
        let message = CrossEvidence::Env {
            name: "GOARCH".into(),
            value: "arm64".into(),
        }
        .to_string();
        assert_eq!(message, "GOARCH=arm64 selects the target");
    }

    #[test]
    fn word_shapes() {
        assert_eq!(strip_version("gcc-12"), "gcc");
        assert_eq!(strip_version("clang++-16"), "clang++");
        assert_eq!(strip_version("python3.11"), "python");
        assert_eq!(strip_version("go1.22.0"), "go");
        assert_eq!(strip_version("gcc"), "gcc");
        assert_eq!(strip_version("123"), "123");
        assert_eq!(strip_version("x86_64"), "x86_64");
        assert!(looks_like_triple("aarch64-linux-gnu"));
        assert!(looks_like_triple("x86_64-w64-mingw32"));
        assert!(looks_like_triple("riscv64-unknown-linux-gnu"));
        assert!(!looks_like_triple("aarch64"));
        assert!(!looks_like_triple("my-tool"));
        assert!(!looks_like_triple("Aarch64-linux-gnu"));
        assert!(!looks_like_triple("arm-a-b-c-d"));
        assert!(value_names_cross_tool(
            "/usr/bin/aarch64-linux-gnu-gcc -march=armv8-a"
        ));
        assert!(value_names_cross_tool("clang --target=aarch64-linux-gnu"));
        assert!(!value_names_cross_tool("gcc"));
        assert!(!value_names_cross_tool("ccache gcc"));
        assert!(!value_names_cross_tool("aarch64-linux-"));
    }
}
