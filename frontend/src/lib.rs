//! # frontend: reading Dockerfiles exactly as BuildKit does
//!
//! ## Brief overview
//!
//! A Dockerfile goes through a chain of layers, each feeding the next, as in BuildKit's
//! own frontend:
//!
//! 1. [`source`]: the text, byte [`Span`]s and line/column lookup.
//! 2. [`syntax`]: text → [`Instruction`]s with BuildKit's logical lines, flags, argument
//!    values, heredocs and line numbers, plus a map back to source bytes
//!    ([`syntax::parse`]; `crossdock parse --json` prints it).
//! 3. [`instructions`]: instructions → a [`Program`] of typed stages and commands, with
//!    BuildKit's per-instruction checks ([`instructions::parse_program`]).
//! 4. [`expand`]: BuildKit's word expansion (`$V`, `${V:-w}`, `${V#p}`, `${V/p/r}`, ...).
//! 5. [`eval`]: a program for one target platform: ARG scopes, automatic platform ARGs,
//!    base images, stage platforms, stage references and the stages a target needs
//!    ([`eval::evaluate`] → [`Evaluation`]).
//! 6. [`shell`] and [`analysis`]: RUN scripts split into commands; toolchain commands,
//!    package installs and runs of freshly built binaries recognised.
//! 7. [`plan`]: per platform and stage, how each RUN runs: native, cross or emulated.
//! 8. [`lint`]: the CD1xx rules over a [`lint::Context`] (evaluation and analysis for
//!    every target platform), and [`rewrite`]: the minimal edit that moves emulated
//!    compile stages to `$BUILDPLATFORM` with the target's toolchain settings.
//!
//! [`diagnostic`] renders located errors (`file:line:col: message` and the source line).
//!
//! ```
//! use crossbuild::Platform;
//! use frontend::{eval::EvalOptions, instructions::parse_program, plan::{plan, Mode}};
//! use frontend::{source::SourceFile, syntax::parse};
//!
//! let text = "FROM golang:1.22 AS build\nRUN go build -o /app .\nFROM scratch\nCOPY --from=build /app /app\n";
//! let df = parse(SourceFile::new("Dockerfile", text)).unwrap();
//! let program = parse_program(&df).unwrap();
//! let opts = EvalOptions {
//!     build_platform: Platform::parse("linux/amd64").unwrap(),
//!     build_args: Default::default(),
//!     target_stage: None,
//! };
//! let arm64 = Platform::parse("linux/arm64").unwrap();
//! let plan = plan(&df, &program, &[arm64], &opts).unwrap();
//! assert_eq!(plan.platforms[0].stages[0].steps[0].mode, Mode::Emulated);
//! ```

#![deny(missing_docs)]

pub mod analysis;
pub mod diagnostic;
pub mod eval;
pub mod expand;
pub mod instructions;
pub mod lint;
pub mod plan;
pub mod rewrite;
pub mod shell;
pub mod source;
pub mod syntax;

pub use eval::Evaluation;
pub use instructions::Program;
pub use source::Span;
pub use syntax::{Dockerfile, Instruction};
