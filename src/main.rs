//! The `crossdock` command line: argument parsing and output only; the work is done by
//! the `frontend`, `crossbuild` and `builder` crates.

mod rewrite_context;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use crossbuild::Platform;
use frontend::diagnostic::{render, Severity};
use frontend::eval::EvalOptions;
use frontend::source::{SourceFile, Span};

mod images;
mod progress;
mod setup;

/// Fast multi-platform container builds by cross-compiling instead of emulating.
#[derive(Debug, Parser)]
#[command(name = "crossdock", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show, per target platform, where each stage runs and whether each RUN step runs
    /// natively, cross-compiles or runs under QEMU emulation.
    Plan(PlanArgs),
    /// Find steps that compile under QEMU emulation, stages that ship the wrong
    /// architecture, and platform traps, in Dockerfiles or the directories holding them.
    Lint(LintArgs),
    /// Turn stages that compile under emulation into cross-compiling
    /// `--platform=$BUILDPLATFORM` stages (a minimal edit; Go for now).
    Rewrite(RewriteArgs),
    /// Check (and, as root, install) what building needs: binfmt_misc and QEMU handlers
    /// for foreign platforms, an OCI runtime (runc), overlayfs.
    Setup(setup::SetupArgs),
    /// Print a Dockerfile's instructions exactly as BuildKit's parser reads them.
    Parse {
        /// Print JSON: {"instructions":[...]} (the only format).
        #[arg(long)]
        json: bool,
        /// The Dockerfile to read.
        file: PathBuf,
    },
    /// Make a (multi-platform) image from root filesystem tarballs, one per platform,
    /// and push it or write it as an OCI layout or root filesystems.
    Import(images::ImportArgs),
    /// Pull one platform's image into the content store, and write it out.
    Pull(images::PullArgs),
    /// Show an image or index in a registry: each platform, digests and sizes.
    Inspect(images::InspectArgs),
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    /// The Dockerfile (default: ./Dockerfile, or PATH/Dockerfile when PATH is a directory).
    #[arg(short = 'f', long = "file")]
    file: Option<PathBuf>,
    /// A Dockerfile or a directory containing one.
    path: Option<PathBuf>,
    /// Target platforms, comma-separated (default: the build machine's platform).
    #[arg(long, value_delimiter = ',')]
    platform: Vec<String>,
    /// Set a build argument (repeatable).
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    build_arg: Vec<String>,
    /// The stage to build (default: the last one).
    #[arg(long)]
    target: Option<String>,
    /// Plan as if building on this platform (default: this machine's).
    #[arg(long = "build-platform", value_name = "PLATFORM")]
    build_platform: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

/// Exit code for usage errors and unreadable or invalid Dockerfiles.
const EXIT_USAGE: u8 = 2;

fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// A failure already rendered for the user.
struct Failure(String);

fn located(source: &SourceFile, span: &Span, message: &str) -> Failure {
    Failure(render(
        source,
        span,
        Severity::Error,
        message,
        None,
        use_color(),
    ))
}

fn read_source(path: &Path) -> Result<SourceFile, Failure> {
    SourceFile::read(path).map_err(|e| {
        Failure(format!(
            "{}: cannot read the Dockerfile: {e}\n",
            path.display()
        ))
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Parse { json: _, file } => run_parse(&file).map(|()| 0),
        Command::Plan(args) => run_plan(args).map(|()| 0),
        Command::Lint(args) => lint(&args),
        Command::Rewrite(args) => rewrite(&args),
        Command::Setup(args) => Ok(setup::run(&args)),
        Command::Import(args) => Ok(images::exit_code("import", images::import(args))),
        Command::Pull(args) => Ok(images::exit_code("pull", images::pull(args))),
        Command::Inspect(args) => Ok(images::exit_code("inspect", images::inspect(args))),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure(text)) => {
            eprint!("{text}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run_parse(file: &Path) -> Result<(), Failure> {
    let source = read_source(file)?;
    let df = frontend::syntax::parse(source.clone())
        .map_err(|e| located(&source, &e.span, &e.message))?;
    println!("{}", df.to_json());
    Ok(())
}

/// `-f FILE`, else `PATH` (a Dockerfile, or a directory holding one), else ./Dockerfile.
fn dockerfile_path(file: &Option<PathBuf>, path: &Option<PathBuf>) -> PathBuf {
    match (file, path) {
        (Some(f), _) => f.clone(),
        (None, Some(p)) if p.is_dir() => p.join("Dockerfile"),
        (None, Some(p)) => p.clone(),
        (None, None) => PathBuf::from("Dockerfile"),
    }
}

fn parse_build_args(raw: &[String]) -> Result<BTreeMap<String, String>, Failure> {
    let mut out = BTreeMap::new();
    for kv in raw {
        match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                out.insert(k.to_string(), v.to_string());
            }
            // `--build-arg NAME` takes the value from the environment, as docker does.
            None if !kv.is_empty() => {
                if let Ok(v) = std::env::var(kv) {
                    out.insert(kv.clone(), v);
                }
            }
            _ => {
                return Err(Failure(format!(
                    "crossdock: invalid --build-arg {kv:?}: expected KEY=VALUE\n"
                )))
            }
        }
    }
    Ok(out)
}

fn parse_platforms(raw: &[String]) -> Result<Vec<Platform>, Failure> {
    if raw.is_empty() {
        return Ok(vec![Platform::host()]);
    }
    crossbuild::parse_platform_list(&raw.join(","))
        .map_err(|e| Failure(format!("crossdock: --platform: {e}\n")))
}

fn run_plan(args: PlanArgs) -> Result<(), Failure> {
    let path = dockerfile_path(&args.file, &args.path);
    let platforms = parse_platforms(&args.platform)?;
    let build_args = parse_build_args(&args.build_arg)?;
    let source = read_source(&path)?;
    let df = frontend::syntax::parse(source.clone())
        .map_err(|e| located(&source, &e.span, &e.message))?;
    let program = frontend::instructions::parse_program(&df)
        .map_err(|e| located(&source, &e.span, &e.message))?;
    let build_platform = match &args.build_platform {
        Some(p) => Platform::parse(p)
            .map_err(|e| Failure(format!("crossdock: --build-platform: {e}\n")))?,
        None => Platform::host(),
    };
    let opts = EvalOptions {
        build_platform,
        build_args,
        target_stage: args.target.clone(),
    };
    let plan = frontend::plan::plan(&df, &program, &platforms, &opts).map_err(|e| {
        if e.span.is_empty() && e.span.start == 0 {
            Failure(format!("{}: {}\n", path.display(), e.message))
        } else {
            located(&source, &e.span, &e.message)
        }
    })?;
    match args.format {
        Format::Table => print!("{}", plan.to_table()),
        Format::Json => match serde_json::to_string_pretty(&plan) {
            Ok(s) => println!("{s}"),
            Err(e) => return Err(Failure(format!("crossdock: cannot encode the plan: {e}\n"))),
        },
    }
    Ok(())
}

// ---------------------------------------------------------------------- lint

#[derive(Debug, clap::Args)]
struct LintArgs {
    /// Dockerfiles, or directories searched recursively for files named `Dockerfile`,
    /// `*.Dockerfile`, `Dockerfile.*` or `Containerfile` (hidden directories, `target`
    /// and `node_modules` are skipped) [default: .]
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Target platforms, comma-separated [default: `[lint] platforms` from
    /// .crossdock.toml, else linux/amd64,linux/arm64]
    #[arg(long, value_delimiter = ',')]
    platform: Vec<String>,
    /// Set a build argument (repeatable).
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    build_arg: Vec<String>,
    /// Lint as if building on this platform [default: this machine's]
    #[arg(long = "build-platform", value_name = "PLATFORM")]
    build_platform: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Tty)]
    format: LintFormat,
    /// Exit with 1 when a finding at this severity or above is reported.
    #[arg(long = "fail-on", value_enum, default_value_t = FailOn::Warning)]
    fail_on: FailOn,
    /// Rules not to report, comma-separated (repeatable; added to `[lint] ignore`).
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    ignore: Vec<String>,
    /// Base URL of the rule pages, used for SARIF `helpUri` (`<URL>CD101.md`).
    #[arg(long = "docs-url", value_name = "URL", default_value = frontend::lint::report::DEFAULT_DOCS_URL)]
    docs_url: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LintFormat {
    /// Source snippets for people, with a summary line.
    Tty,
    /// An array of findings.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
    /// Checkstyle XML.
    Checkstyle,
    /// `file:line:col: severity: message [rule]`, one per line.
    Gnu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    /// Fail on errors only.
    Error,
    /// Fail on warnings and errors.
    Warning,
    /// Fail on any finding.
    Info,
    /// Never fail because of findings.
    None,
}

impl FailOn {
    fn threshold(self) -> Option<frontend::lint::Severity> {
        use frontend::lint::Severity as S;
        match self {
            FailOn::Error => Some(S::Error),
            FailOn::Warning => Some(S::Warning),
            FailOn::Info => Some(S::Info),
            FailOn::None => None,
        }
    }
}

/// Exit code when a finding at `--fail-on` severity or above is reported.
const EXIT_FINDINGS: u8 = 1;

/// Colour for stdout: unless NO_COLOR is set (non-empty) or stdout is not a terminal.
fn stdout_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// Whether a file name is one `crossdock lint DIR` picks up.
fn is_dockerfile_name(name: &str) -> bool {
    if name.ends_with(".dockerignore") {
        return false;
    }
    name == "Dockerfile"
        || name == "Containerfile"
        || name.starts_with("Dockerfile.")
        || name.ends_with(".Dockerfile")
}

/// Collects the Dockerfiles under `dir`, skipping hidden directories, `target` and
/// `node_modules`; symbolic links to directories are not followed.
fn find_dockerfiles(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            if !(name.starts_with('.') || name == "target" || name == "node_modules") {
                find_dockerfiles(&path, out);
            }
        } else if is_dockerfile_name(&name) && path.is_file() {
            out.push(path);
        }
    }
}

/// `./a/Dockerfile` → `a/Dockerfile`.
fn tidy_path(path: &Path) -> PathBuf {
    let tidy: PathBuf = path
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    if tidy.as_os_str().is_empty() {
        path.to_path_buf()
    } else {
        tidy
    }
}

/// The files to lint, sorted by path, each once.
fn lint_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Failure> {
    let default = [PathBuf::from(".")];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            find_dockerfiles(path, &mut found);
            if found.is_empty() {
                eprintln!(
                    "crossdock: warning: no Dockerfile found under {}",
                    path.display()
                );
            }
            files.extend(found);
        } else if path.exists() {
            files.push(path.clone());
        } else {
            return Err(Failure(format!(
                "crossdock: {}: no such file or directory\n",
                path.display()
            )));
        }
    }
    let mut files: Vec<PathBuf> = files.iter().map(|p| tidy_path(p)).collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// The directory whose `.crossdock.toml` applies to `file`, made absolute.
fn config_dir(file: &Path) -> PathBuf {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::canonicalize(&dir)
        .or_else(|_| std::path::absolute(&dir))
        .unwrap_or(dir)
}

/// Command-line settings shared by every file.
struct LintCli {
    platforms: Option<Vec<Platform>>,
    build_platform: Platform,
    build_args: BTreeMap<String, String>,
    ignore: Vec<String>,
}

impl LintCli {
    fn from_args(args: &LintArgs) -> Result<Self, Failure> {
        let platforms = if args.platform.is_empty() {
            None
        } else {
            Some(
                crossbuild::parse_platform_list(&args.platform.join(","))
                    .map_err(|e| Failure(format!("crossdock: --platform: {e}\n")))?,
            )
        };
        let build_platform = match &args.build_platform {
            Some(p) => Platform::parse(p)
                .map_err(|e| Failure(format!("crossdock: --build-platform: {e}\n")))?,
            None => Platform::host(),
        };
        let ignore = args
            .ignore
            .iter()
            .filter(|i| !i.trim().is_empty())
            .map(|i| frontend::lint::resolve_rule_id(i).map(str::to_string))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Failure(format!("crossdock: --ignore: {e}\n")))?;
        if !args.docs_url.contains("://") {
            return Err(Failure(format!(
                "crossdock: --docs-url {:?}: expected an absolute URL such as {}\n",
                args.docs_url,
                frontend::lint::report::DEFAULT_DOCS_URL
            )));
        }
        Ok(LintCli {
            platforms,
            build_platform,
            build_args: parse_build_args(&args.build_arg)?,
            ignore,
        })
    }

    /// The options for files governed by `config` (command line first, then config,
    /// then the defaults).
    fn options(&self, config: Option<&frontend::lint::Config>) -> frontend::lint::LintOptions {
        let default_platforms = || {
            crossbuild::parse_platform_list(frontend::lint::DEFAULT_LINT_PLATFORMS)
                .unwrap_or_else(|_| vec![Platform::host()])
        };
        let platforms = self
            .platforms
            .clone()
            .or_else(|| config.and_then(|c| c.platforms.clone()))
            .unwrap_or_else(default_platforms);
        let mut settings = config.map(|c| c.settings()).unwrap_or_default();
        for id in &self.ignore {
            if !settings.ignore.contains(id) {
                settings.ignore.push(id.clone());
            }
        }
        frontend::lint::LintOptions {
            platforms,
            build_platform: self.build_platform.clone(),
            build_args: self.build_args.clone(),
            settings,
        }
    }
}

fn write_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    // A closed pipe (`crossdock lint | head`) is not an error worth a panic.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn lint(args: &LintArgs) -> Result<u8, Failure> {
    use frontend::lint::{find_config, lint_source, report, Config};

    let cli = LintCli::from_args(args)?;
    let files = lint_files(&args.paths)?;

    // Every configuration first: a broken one stops the run before any output.
    let mut configs: BTreeMap<PathBuf, Config> = BTreeMap::new();
    let mut governing: Vec<Option<PathBuf>> = Vec::new();
    let mut errors = String::new();
    let cwd = std::env::current_dir().and_then(std::fs::canonicalize).ok();
    for file in &files {
        // Shown relative to the working directory when it is below it.
        let found = find_config(&config_dir(file)).map(|p| {
            cwd.as_ref()
                .and_then(|cwd| p.strip_prefix(cwd).ok())
                .map_or_else(|| p.clone(), Path::to_path_buf)
        });
        if let Some(path) = &found {
            if !configs.contains_key(path) {
                match Config::load(path) {
                    Ok(c) => {
                        configs.insert(path.clone(), c);
                    }
                    Err(e) => errors.push_str(&e.render(use_color())),
                }
            }
        }
        governing.push(found);
    }
    if !errors.is_empty() {
        return Err(Failure(errors));
    }

    let mut linted = Vec::new();
    let mut broken = 0usize;
    for (file, config) in files.iter().zip(&governing) {
        let opts = cli.options(config.as_ref().and_then(|p| configs.get(p)));
        let source = match read_source(file) {
            Ok(s) => s,
            Err(Failure(text)) => {
                eprint!("{text}");
                broken += 1;
                continue;
            }
        };
        match lint_source(source.clone(), &opts) {
            Ok((_, findings)) => linted.push((source, findings)),
            Err(e) => {
                if e.span.is_empty() && e.span.start == 0 {
                    eprintln!("{}: {}", file.display(), e.message);
                } else {
                    eprint!("{}", located(&source, &e.span, &e.message).0);
                }
                broken += 1;
            }
        }
    }

    let text = match args.format {
        LintFormat::Tty => report::tty(&linted, stdout_color()),
        LintFormat::Json => report::json(&linted),
        LintFormat::Sarif => report::sarif(&linted, &args.docs_url),
        LintFormat::Checkstyle => report::checkstyle(&linted),
        LintFormat::Gnu => report::gnu(&linted),
    };
    write_stdout(&text);

    if broken > 0 {
        eprintln!(
            "crossdock: {} could not be linted",
            if broken == 1 {
                "1 file".to_string()
            } else {
                format!("{broken} files")
            }
        );
        return Ok(EXIT_USAGE);
    }
    let failing = args.fail_on.threshold().is_some_and(|min| {
        linted
            .iter()
            .flat_map(|(_, fs)| fs)
            .any(|f| f.severity >= min)
    });
    Ok(if failing { EXIT_FINDINGS } else { 0 })
}

// ------------------------------------------------------------------- rewrite

#[derive(Debug, clap::Args)]
struct RewriteArgs {
    /// The Dockerfile (default: ./Dockerfile, or PATH/Dockerfile when PATH is a directory).
    #[arg(short = 'f', long = "file")]
    file: Option<PathBuf>,
    /// A Dockerfile or a directory containing one.
    path: Option<PathBuf>,
    /// Target platforms, comma-separated (default: linux/amd64,linux/arm64).
    #[arg(long, value_delimiter = ',')]
    platform: Vec<String>,
    /// Set a build argument (repeatable).
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    build_arg: Vec<String>,
    /// Rewrite as if building on this platform (default: this machine's).
    #[arg(long = "build-platform", value_name = "PLATFORM")]
    build_platform: Option<String>,
    /// Write the result back to the file (atomically, keeping its permissions).
    #[arg(long, conflicts_with_all = ["diff", "check"])]
    write: bool,
    /// Print a unified diff instead of the rewritten file.
    #[arg(long, conflicts_with = "check")]
    diff: bool,
    /// Print nothing; exit 1 when a rewrite is available, 0 when none is (for CI).
    #[arg(long)]
    check: bool,
    /// Also split a final stage that compiles into a build stage and a COPY of its
    /// binaries, and run tests only when building for the build platform.
    #[arg(long)]
    restructure: bool,
}

fn rewrite(args: &RewriteArgs) -> Result<u8, Failure> {
    let path = dockerfile_path(&args.file, &args.path);
    let platforms = if args.platform.is_empty() {
        crossbuild::parse_platform_list("linux/amd64,linux/arm64")
            .map_err(|e| Failure(format!("crossdock: {e}\n")))?
    } else {
        parse_platforms(&args.platform)?
    };
    let build_platform = match &args.build_platform {
        Some(p) => Platform::parse(p)
            .map_err(|e| Failure(format!("crossdock: --build-platform: {e}\n")))?,
        None => Platform::host(),
    };
    let opts = EvalOptions {
        build_platform,
        build_args: parse_build_args(&args.build_arg)?,
        target_stage: None,
    };
    let source = read_source(&path)?;
    let df = frontend::syntax::parse(source.clone())
        .map_err(|e| located(&source, &e.span, &e.message))?;
    let program = frontend::instructions::parse_program(&df)
        .map_err(|e| located(&source, &e.span, &e.message))?;
    let ctx = frontend::lint::Context::new(&df, &program, &platforms, &opts)
        .map_err(|e| located(&source, &e.span, &e.message))?;
    let context = rewrite_context::context_dir(&args.path, &path);
    let rewrite_opts = rewrite_context::options(&context, args.restructure);
    let result = frontend::rewrite::rewrite(&ctx, &rewrite_opts)
        .map_err(|e| Failure(format!("{}: {e}\n", path.display())))?;
    // What was declined goes to stderr as notes, whatever the mode.
    for note in &result.notes {
        eprint!(
            "{}",
            render(
                &source,
                &note.span,
                Severity::Info,
                &note.message,
                None,
                use_color()
            )
        );
    }
    let changed = !result.edits.is_empty();
    if args.check {
        return Ok(u8::from(changed));
    }
    if args.diff {
        let name = path.display().to_string();
        let name = name.trim_start_matches("./").trim_start_matches('/');
        let diff = similar::TextDiff::from_lines(source.text(), result.output.as_str());
        let text = diff
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{name}"), &format!("b/{name}"))
            .to_string();
        write_stdout(&text);
        return Ok(0);
    }
    if args.write {
        if changed {
            write_atomically(&path, result.output.as_bytes())?;
        }
        return Ok(0);
    }
    write_stdout(&result.output);
    Ok(0)
}

/// Replaces `path` with `bytes` so a reader sees either the old or the new file, never
/// half of one: a temporary file in the same directory, the original's permissions,
/// fsync, then rename over the original.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    let fail = |what: &str, e: std::io::Error| {
        Failure(format!("{}: cannot {what}: {e}\n", path.display()))
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let permissions = std::fs::metadata(path)
        .map_err(|e| fail("read its permissions", e))?
        .permissions();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.crossdock-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.set_permissions(permissions)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail("write the rewritten file", e));
    }
    Ok(())
}
