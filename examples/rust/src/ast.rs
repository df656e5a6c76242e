//! Syntax tree produced by the parser.

use crate::error::Pos;
use std::rc::Rc;

/// Binary operators (short-circuit operators are separate variants of
/// [`ExprKind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinOp {
    /// The operator as written in source.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Pow => "**",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
        }
    }
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
}

/// A literal constant.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
}

/// An expression with its source position.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub pos: Pos,
}

/// Expression variants.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Lit(Literal),
    Var(String),
    List(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    /// `a..b`; either bound may be omitted inside an index (`xs[..n]`).
    Range(Option<Box<Expr>>, Option<Box<Expr>>),
    Call(Box<Expr>, Vec<Expr>),
    Index(Box<Expr>, Box<Expr>),
    Field(Box<Expr>, String),
    Lambda(Rc<FnDef>),
}

/// A function definition, named or anonymous.
#[derive(Debug, Clone, PartialEq)]
pub struct FnDef {
    /// `<lambda>` for anonymous functions.
    pub name: String,
    pub params: Vec<String>,
    pub body: Vec<Stmt>,
    /// True for `fn(x) => expr` lambdas (used by the pretty printer).
    pub arrow: bool,
    pub pos: Pos,
}

/// Compound assignment operator; `None` means plain `=`.
pub type AssignOp = Option<BinOp>;

/// Statements.
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Let(String, Expr, Pos),
    /// Target is a `Var`, `Index` or `Field` expression.
    Assign(Expr, AssignOp, Expr, Pos),
    Expr(Expr),
    If(Vec<(Expr, Vec<Stmt>)>, Option<Vec<Stmt>>),
    While(Expr, Vec<Stmt>),
    For(String, Expr, Vec<Stmt>, Pos),
    Fn(Rc<FnDef>),
    Return(Option<Expr>, Pos),
    Break(Pos),
    Continue(Pos),
    Try(Vec<Stmt>, String, Vec<Stmt>),
}
