//! The `crossdock` command line: argument parsing and output only; the work is done by
//! the `frontend`, `crossbuild` and `builder` crates.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Fast multi-platform container builds by cross-compiling instead of emulating.
#[derive(Debug, Parser)]
#[command(name = "crossdock", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print a Dockerfile's instructions exactly as BuildKit's parser reads them.
    Parse {
        /// Print JSON (the only format for now).
        #[arg(long)]
        json: bool,
        /// The Dockerfile to read.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Parse { json: _, file } => {
            let source = match frontend::source::SourceFile::read(&file) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{}: cannot read: {e}", file.display());
                    return ExitCode::from(2);
                }
            };
            match frontend::syntax::parse(source.clone()) {
                Ok(df) => {
                    println!("{}", df.to_json());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    let loc = source.location(e.span.start);
                    eprintln!("{}:{}:{}: {}", file.display(), loc.line, loc.column, e.message);
                    ExitCode::from(2)
                }
            }
        }
    }
}
