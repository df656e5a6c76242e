//! Command line front end for the ember interpreter.

use ember::{lexer, parser, printer, Interp, VERSION};
use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;

const USAGE: &str = "\
Usage: ember [OPTIONS] [FILE]

Runs an ember program. FILE may be `-` for standard input.

Options:
  -e, --eval CODE    run CODE instead of a file
      --fmt          print the program in canonical formatting
      --tokens       print the token stream
      --check        parse only; report syntax errors
      --max-depth N  maximum nesting of function calls (default 400)
  -V, --version      print version information
  -h, --help         print this help
";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Run,
    Fmt,
    Tokens,
    Check,
}

struct Options {
    mode: Mode,
    source: Option<(String, String)>, // (display name, code)
    max_depth: usize,
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("ember: {}\n\n{}", msg, USAGE);
    ExitCode::from(2)
}

fn read_file(name: &str) -> io::Result<String> {
    let mut s = String::new();
    if name == "-" {
        io::stdin().read_to_string(&mut s)?;
    } else {
        s = std::fs::read_to_string(name)?;
    }
    Ok(s)
}

fn parse_args(args: Vec<String>) -> Result<Option<Options>, ExitCode> {
    let mut opts = Options {
        mode: Mode::Run,
        source: None,
        max_depth: ember::interp::DEFAULT_MAX_DEPTH,
    };
    let mut file: Option<String> = None;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{}", USAGE);
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("ember {}", VERSION);
                return Ok(None);
            }
            "--fmt" => opts.mode = Mode::Fmt,
            "--tokens" => opts.mode = Mode::Tokens,
            "--check" => opts.mode = Mode::Check,
            "-e" | "--eval" => match it.next() {
                Some(code) => opts.source = Some(("<eval>".to_string(), code)),
                None => return Err(usage_error("--eval needs an argument")),
            },
            "--max-depth" => match it.next().and_then(|n| n.parse::<usize>().ok()) {
                Some(n) if n > 0 => opts.max_depth = n,
                _ => return Err(usage_error("--max-depth needs a positive integer")),
            },
            s if s.starts_with('-') && s != "-" => return Err(usage_error(&format!("unknown option {}", s))),
            _ => {
                if file.is_some() {
                    return Err(usage_error("only one FILE may be given"));
                }
                file = Some(arg);
            }
        }
    }
    match (&opts.source, file) {
        (Some(_), Some(_)) => return Err(usage_error("give either --eval or FILE, not both")),
        (None, None) => return Err(usage_error("no program given")),
        (None, Some(name)) => match read_file(&name) {
            Ok(code) => opts.source = Some((name, code)),
            Err(e) => {
                eprintln!("ember: {}: {}", name, e);
                return Err(ExitCode::from(1));
            }
        },
        (Some(_), None) => {}
    }
    Ok(Some(opts))
}

fn execute(opts: Options) -> ExitCode {
    let (name, code) = opts.source.unwrap_or_default();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = match opts.mode {
        Mode::Tokens => lexer::tokenize(&code).map(|tokens| {
            for t in tokens {
                let _ = writeln!(out, "{}\t{}", t.pos, t.tok);
            }
        }),
        Mode::Check => parser::parse(&code).map(|_| ()),
        Mode::Fmt => parser::parse(&code).map(|p| {
            let _ = out.write_all(printer::print_program(&p).as_bytes());
        }),
        Mode::Run => parser::parse(&code).and_then(|program| {
            let mut interp = Interp::new(&mut out);
            interp.max_depth = opts.max_depth;
            interp.run(&program)
        }),
    };
    let flushed = out.flush();
    match result {
        Ok(()) => {
            if let Err(e) = flushed {
                eprintln!("ember: write error: {}", e);
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ember: {}:{}", name, e);
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match parse_args(args) {
        Ok(Some(o)) => o,
        Ok(None) => return ExitCode::SUCCESS,
        Err(code) => return code,
    };
    // Deeply recursive programs need more stack than the default main
    // thread offers, especially in debug builds.
    let child = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || execute(opts));
    match child.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("ember: interpreter thread failed");
            ExitCode::from(101)
        }
    }
}
