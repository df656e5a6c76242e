//! Error and source position types shared by every stage.

use std::fmt;

/// A 1-based line and column in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Line number, starting at 1.
    pub line: u32,
    /// Column number in characters, starting at 1.
    pub col: u32,
}

impl Pos {
    /// Creates a position.
    pub fn new(line: u32, col: u32) -> Pos {
        Pos { line, col }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// The stage that produced an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Invalid token or grammar.
    Syntax,
    /// Error raised while running the program.
    Runtime,
}

/// An error with the position it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Syntax or runtime.
    pub kind: ErrorKind,
    /// Where the error happened.
    pub pos: Pos,
    /// Human readable description.
    pub message: String,
}

impl Error {
    /// Creates a syntax error.
    pub fn syntax(pos: Pos, message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Syntax,
            pos,
            message: message.into(),
        }
    }

    /// Creates a runtime error.
    pub fn runtime(pos: Pos, message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Runtime,
            pos,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ErrorKind::Syntax => "syntax error",
            ErrorKind::Runtime => "runtime error",
        };
        write!(f, "{} at {}: {}", kind, self.pos, self.message)
    }
}

impl std::error::Error for Error {}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;
