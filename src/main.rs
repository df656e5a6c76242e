//! The `crossdock` command line: argument parsing and output only; the work is done by
//! the `frontend`, `crossbuild` and `builder` crates.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use crossbuild::Platform;
use frontend::diagnostic::{render, Severity};
use frontend::eval::EvalOptions;
use frontend::source::{SourceFile, Span};

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
    /// Print a Dockerfile's instructions exactly as BuildKit's parser reads them.
    Parse {
        /// Print JSON: {"instructions":[...]} (the only format).
        #[arg(long)]
        json: bool,
        /// The Dockerfile to read.
        file: PathBuf,
    },
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
        Command::Parse { json: _, file } => run_parse(&file),
        Command::Plan(args) => run_plan(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
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

fn dockerfile_path(args: &PlanArgs) -> PathBuf {
    match (&args.file, &args.path) {
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
    let path = dockerfile_path(&args);
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
