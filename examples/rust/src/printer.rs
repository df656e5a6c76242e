//! Pretty printer: renders a syntax tree back to canonical source text.
//!
//! The output re-parses to an identical tree, which the tests rely on.
//! Comments are not part of the tree and are therefore dropped.

use crate::ast::{BinOp, Expr, ExprKind, FnDef, Literal, Stmt, UnOp};

const INDENT: &str = "    ";
const PREC_LAMBDA: u8 = 0;
const PREC_UNARY: u8 = 8;
const PREC_POW: u8 = 9;
const PREC_ATOM: u8 = 10;

fn bin_prec(op: BinOp) -> u8 {
    match op {
        BinOp::Eq | BinOp::Ne => 3,
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 4,
        BinOp::Add | BinOp::Sub => 6,
        BinOp::Mul | BinOp::Div | BinOp::Rem => 7,
        BinOp::Pow => PREC_POW,
    }
}

fn prec(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Or(..) => 1,
        ExprKind::And(..) => 2,
        ExprKind::Range(..) => 5,
        ExprKind::Binary(op, ..) => bin_prec(*op),
        ExprKind::Unary(..) => PREC_UNARY,
        ExprKind::Lit(Literal::Int(n)) if *n < 0 => PREC_UNARY,
        ExprKind::Lit(Literal::Float(x)) if x.is_sign_negative() => PREC_UNARY,
        ExprKind::Lambda(_) => PREC_LAMBDA,
        _ => PREC_ATOM,
    }
}

/// Quotes a string as an ember string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Formats a float so that it lexes back as the same float literal.
pub fn float_literal(x: f64) -> String {
    if x.is_infinite() {
        return if x > 0.0 { "1e999".into() } else { "-1e999".into() };
    }
    format!("{:?}", x)
}

struct Printer {
    out: String,
    level: usize,
}

impl Printer {
    fn indent(&mut self) {
        for _ in 0..self.level {
            self.out.push_str(INDENT);
        }
    }

    fn block(&mut self, stmts: &[Stmt]) {
        if stmts.is_empty() {
            self.out.push_str("{}");
            return;
        }
        self.out.push_str("{\n");
        self.level += 1;
        for s in stmts {
            self.stmt(s);
        }
        self.level -= 1;
        self.indent();
        self.out.push('}');
    }

    fn fn_tail(&mut self, def: &FnDef) {
        self.out.push('(');
        self.out.push_str(&def.params.join(", "));
        self.out.push(')');
        if def.arrow {
            if let Some(Stmt::Return(Some(e), _)) = def.body.first() {
                self.out.push_str(" => ");
                self.expr(e, PREC_LAMBDA);
                return;
            }
        }
        self.out.push(' ');
        self.block(&def.body);
    }

    fn stmt(&mut self, s: &Stmt) {
        self.indent();
        match s {
            Stmt::Let(name, value, _) => {
                self.out.push_str("let ");
                self.out.push_str(name);
                self.out.push_str(" = ");
                self.expr(value, PREC_LAMBDA);
                self.out.push(';');
            }
            Stmt::Assign(target, op, value, _) => {
                self.expr(target, PREC_LAMBDA);
                self.out.push(' ');
                if let Some(op) = op {
                    self.out.push_str(op.symbol());
                }
                self.out.push_str("= ");
                self.expr(value, PREC_LAMBDA);
                self.out.push(';');
            }
            Stmt::Expr(e) => {
                self.expr(e, PREC_LAMBDA);
                self.out.push(';');
            }
            Stmt::If(arms, otherwise) => {
                for (i, (cond, body)) in arms.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(" else ");
                    }
                    self.out.push_str("if ");
                    self.expr(cond, PREC_LAMBDA);
                    self.out.push(' ');
                    self.block(body);
                }
                if let Some(body) = otherwise {
                    self.out.push_str(" else ");
                    self.block(body);
                }
            }
            Stmt::While(cond, body) => {
                self.out.push_str("while ");
                self.expr(cond, PREC_LAMBDA);
                self.out.push(' ');
                self.block(body);
            }
            Stmt::For(var, iter, body, _) => {
                self.out.push_str("for ");
                self.out.push_str(var);
                self.out.push_str(" in ");
                self.expr(iter, PREC_LAMBDA);
                self.out.push(' ');
                self.block(body);
            }
            Stmt::Fn(def) => {
                self.out.push_str("fn ");
                self.out.push_str(&def.name);
                self.fn_tail(def);
            }
            Stmt::Return(value, _) => {
                self.out.push_str("return");
                if let Some(v) = value {
                    self.out.push(' ');
                    self.expr(v, PREC_LAMBDA);
                }
                self.out.push(';');
            }
            Stmt::Break(_) => self.out.push_str("break;"),
            Stmt::Continue(_) => self.out.push_str("continue;"),
            Stmt::Try(body, name, handler) => {
                self.out.push_str("try ");
                self.block(body);
                self.out.push_str(" catch ");
                self.out.push_str(name);
                self.out.push(' ');
                self.block(handler);
            }
        }
        self.out.push('\n');
    }

    /// Prints `e`, parenthesised when its precedence is below `min`.
    fn expr(&mut self, e: &Expr, min: u8) {
        let p = prec(e);
        let paren = p < min;
        if paren {
            self.out.push('(');
        }
        match &e.kind {
            ExprKind::Lit(lit) => match lit {
                Literal::Nil => self.out.push_str("nil"),
                Literal::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
                Literal::Int(n) => self.out.push_str(&n.to_string()),
                Literal::Float(x) => self.out.push_str(&float_literal(*x)),
                Literal::Str(s) => self.out.push_str(&quote(s)),
            },
            ExprKind::Var(name) => self.out.push_str(name),
            ExprKind::List(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.expr(item, PREC_LAMBDA);
                }
                self.out.push(']');
            }
            ExprKind::Map(entries) => {
                self.out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.expr(k, PREC_LAMBDA);
                    self.out.push_str(": ");
                    self.expr(v, PREC_LAMBDA);
                }
                self.out.push('}');
            }
            ExprKind::Unary(op, operand) => {
                self.out.push(if *op == UnOp::Neg { '-' } else { '!' });
                self.expr(operand, PREC_UNARY);
            }
            ExprKind::Binary(op, l, r) => {
                let bp = bin_prec(*op);
                // Left associative except `**`; comparisons do not chain.
                let (lmin, rmin) = match op {
                    BinOp::Pow => (PREC_POW + 1, PREC_UNARY),
                    BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => (bp + 1, bp + 1),
                    _ => (bp, bp + 1),
                };
                self.expr(l, lmin);
                self.out.push(' ');
                self.out.push_str(op.symbol());
                self.out.push(' ');
                self.expr(r, rmin);
            }
            ExprKind::And(l, r) => self.binary_like(l, "&&", r, 2),
            ExprKind::Or(l, r) => self.binary_like(l, "||", r, 1),
            ExprKind::Range(l, r) => {
                if let Some(l) = l {
                    self.expr(l, 6);
                }
                self.out.push_str("..");
                if let Some(r) = r {
                    self.expr(r, 6);
                }
            }
            ExprKind::Call(f, args) => {
                self.expr(f, PREC_ATOM);
                self.out.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.expr(a, PREC_LAMBDA);
                }
                self.out.push(')');
            }
            ExprKind::Index(target, index) => {
                self.expr(target, PREC_ATOM);
                self.out.push('[');
                self.expr(index, PREC_LAMBDA);
                self.out.push(']');
            }
            ExprKind::Field(target, name) => {
                self.expr(target, PREC_ATOM);
                self.out.push('.');
                self.out.push_str(name);
            }
            ExprKind::Lambda(def) => {
                self.out.push_str("fn");
                self.fn_tail(def);
            }
        }
        if paren {
            self.out.push(')');
        }
    }

    fn binary_like(&mut self, l: &Expr, op: &str, r: &Expr, bp: u8) {
        self.expr(l, bp);
        self.out.push(' ');
        self.out.push_str(op);
        self.out.push(' ');
        self.expr(r, bp + 1);
    }
}

/// Renders a program as canonical source text.
pub fn print_program(stmts: &[Stmt]) -> String {
    let mut p = Printer {
        out: String::new(),
        level: 0,
    };
    for (i, s) in stmts.iter().enumerate() {
        let is_fn = matches!(s, Stmt::Fn(_));
        let prev_fn = i > 0 && matches!(stmts[i - 1], Stmt::Fn(_));
        if i > 0 && (is_fn || prev_fn) {
            p.out.push('\n');
        }
        p.stmt(s);
    }
    p.out
}

/// Renders a single expression.
pub fn print_expr(e: &Expr) -> String {
    let mut p = Printer {
        out: String::new(),
        level: 0,
    };
    p.expr(e, PREC_LAMBDA);
    p.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\u{1}é\"");
    }

    #[test]
    fn floats() {
        assert_eq!(float_literal(2.0), "2.0");
        assert_eq!(float_literal(0.1), "0.1");
        assert_eq!(float_literal(1e300), "1e300");
        assert_eq!(float_literal(f64::INFINITY), "1e999");
    }
}
