//! Recursive descent parser with Pratt-style operator precedence.
//!
//! Grammar sketch:
//!
//! ```text
//! program  := stmt*
//! stmt     := "let" IDENT "=" expr ";"
//!           | "fn" IDENT "(" params ")" block
//!           | "if" expr block ("else" "if" expr block)* ("else" block)?
//!           | "while" expr block
//!           | "for" IDENT "in" expr block
//!           | "try" block "catch" IDENT block
//!           | "return" expr? ";" | "break" ";" | "continue" ";"
//!           | expr (("=" | "+=" | "-=" | "*=" | "/=") expr)? ";"
//! expr     := binary expression over || && == != < <= > >= .. + - * / % **
//!             with unary - ! and postfix call, index and field access
//! ```

use crate::ast::{BinOp, Expr, ExprKind, FnDef, Literal, Stmt, UnOp};
use crate::error::{Error, Pos, Result};
use crate::lexer::{tokenize, Tok, Token};
use std::rc::Rc;

/// Parses a whole program.
pub fn parse(src: &str) -> Result<Vec<Stmt>> {
    let tokens = tokenize(src)?;
    let mut p = Parser {
        tokens,
        at: 0,
        depth: 0,
    };
    let mut stmts = Vec::new();
    while p.peek() != &Tok::Eof {
        stmts.push(p.statement()?);
    }
    Ok(stmts)
}

/// Maximum nesting of expressions and blocks, to keep recursion bounded.
const MAX_DEPTH: usize = 200;

// Binding powers; higher binds tighter.
const BP_OR: u8 = 1;
const BP_AND: u8 = 2;
const BP_EQ: u8 = 3;
const BP_CMP: u8 = 4;
const BP_RANGE: u8 = 5;
const BP_ADD: u8 = 6;
const BP_MUL: u8 = 7;
const BP_UNARY: u8 = 8;
const BP_POW: u8 = 9;

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.tokens[self.at].tok
    }

    fn pos(&self) -> Pos {
        self.tokens[self.at].pos
    }

    fn advance(&mut self) -> Token {
        let t = self.tokens[self.at].clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        t
    }

    fn check(&self, t: &Tok) -> bool {
        self.peek() == t
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.check(t) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &Tok, context: &str) -> Result<Pos> {
        if self.check(t) {
            Ok(self.advance().pos)
        } else {
            Err(Error::syntax(
                self.pos(),
                format!("expected {} {}, found {}", t, context, self.peek()),
            ))
        }
    }

    fn ident(&mut self, context: &str) -> Result<String> {
        match self.peek().clone() {
            Tok::Ident(name) => {
                self.advance();
                Ok(name)
            }
            other => Err(Error::syntax(
                self.pos(),
                format!("expected identifier {}, found {}", context, other),
            )),
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::syntax(self.pos(), "program nested too deeply"));
        }
        Ok(())
    }

    fn block(&mut self) -> Result<Vec<Stmt>> {
        self.enter()?;
        self.expect(&Tok::LBrace, "to start a block")?;
        let mut stmts = Vec::new();
        while !self.check(&Tok::RBrace) {
            if self.check(&Tok::Eof) {
                return Err(Error::syntax(self.pos(), "unexpected end of input, expected `}`"));
            }
            stmts.push(self.statement()?);
        }
        self.advance();
        self.depth -= 1;
        Ok(stmts)
    }

    fn params(&mut self) -> Result<Vec<String>> {
        self.expect(&Tok::LParen, "before parameters")?;
        let mut params = Vec::new();
        while !self.check(&Tok::RParen) {
            let pos = self.pos();
            let name = self.ident("in parameter list")?;
            if params.contains(&name) {
                return Err(Error::syntax(pos, format!("duplicate parameter `{}`", name)));
            }
            params.push(name);
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        self.expect(&Tok::RParen, "after parameters")?;
        Ok(params)
    }

    fn statement(&mut self) -> Result<Stmt> {
        let pos = self.pos();
        match self.peek() {
            Tok::Let => {
                self.advance();
                let name = self.ident("after `let`")?;
                self.expect(&Tok::Assign, "in `let` statement")?;
                let value = self.expr()?;
                self.expect(&Tok::Semi, "after `let` statement")?;
                Ok(Stmt::Let(name, value, pos))
            }
            Tok::Fn if matches!(self.tokens.get(self.at + 1).map(|t| &t.tok), Some(Tok::Ident(_))) => {
                self.advance();
                let name = self.ident("after `fn`")?;
                let params = self.params()?;
                let body = self.block()?;
                Ok(Stmt::Fn(Rc::new(FnDef {
                    name,
                    params,
                    body,
                    arrow: false,
                    pos,
                })))
            }
            Tok::If => {
                self.advance();
                let mut arms = Vec::new();
                let cond = self.expr()?;
                arms.push((cond, self.block()?));
                let mut otherwise = None;
                while self.eat(&Tok::Else) {
                    if self.eat(&Tok::If) {
                        let cond = self.expr()?;
                        arms.push((cond, self.block()?));
                    } else {
                        otherwise = Some(self.block()?);
                        break;
                    }
                }
                Ok(Stmt::If(arms, otherwise))
            }
            Tok::While => {
                self.advance();
                let cond = self.expr()?;
                Ok(Stmt::While(cond, self.block()?))
            }
            Tok::For => {
                self.advance();
                let var = self.ident("after `for`")?;
                self.expect(&Tok::In, "in `for` loop")?;
                let iter = self.expr()?;
                Ok(Stmt::For(var, iter, self.block()?, pos))
            }
            Tok::Try => {
                self.advance();
                let body = self.block()?;
                self.expect(&Tok::Catch, "after `try` block")?;
                let name = self.ident("after `catch`")?;
                Ok(Stmt::Try(body, name, self.block()?))
            }
            Tok::Return => {
                self.advance();
                let value = if self.check(&Tok::Semi) {
                    None
                } else {
                    Some(self.expr()?)
                };
                self.expect(&Tok::Semi, "after `return`")?;
                Ok(Stmt::Return(value, pos))
            }
            Tok::Break => {
                self.advance();
                self.expect(&Tok::Semi, "after `break`")?;
                Ok(Stmt::Break(pos))
            }
            Tok::Continue => {
                self.advance();
                self.expect(&Tok::Semi, "after `continue`")?;
                Ok(Stmt::Continue(pos))
            }
            _ => {
                let target = self.expr()?;
                let op = match self.peek() {
                    Tok::Assign => Some(None),
                    Tok::PlusAssign => Some(Some(BinOp::Add)),
                    Tok::MinusAssign => Some(Some(BinOp::Sub)),
                    Tok::StarAssign => Some(Some(BinOp::Mul)),
                    Tok::SlashAssign => Some(Some(BinOp::Div)),
                    _ => None,
                };
                if let Some(op) = op {
                    let op_pos = self.advance().pos;
                    match target.kind {
                        ExprKind::Var(_) | ExprKind::Index(..) | ExprKind::Field(..) => {}
                        _ => return Err(Error::syntax(op_pos, "invalid assignment target")),
                    }
                    let value = self.expr()?;
                    self.expect(&Tok::Semi, "after assignment")?;
                    return Ok(Stmt::Assign(target, op, value, op_pos));
                }
                self.expect(&Tok::Semi, "after expression")?;
                Ok(Stmt::Expr(target))
            }
        }
    }

    fn expr(&mut self) -> Result<Expr> {
        self.expr_bp(0)
    }

    fn infix(tok: &Tok) -> Option<(u8, u8)> {
        // (left binding power, right binding power)
        Some(match tok {
            Tok::OrOr => (BP_OR, BP_OR + 1),
            Tok::AndAnd => (BP_AND, BP_AND + 1),
            Tok::EqEq | Tok::NotEq => (BP_EQ, BP_EQ + 1),
            Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge => (BP_CMP, BP_CMP + 1),
            Tok::DotDot => (BP_RANGE, BP_RANGE + 1),
            Tok::Plus | Tok::Minus => (BP_ADD, BP_ADD + 1),
            Tok::Star | Tok::Slash | Tok::Percent => (BP_MUL, BP_MUL + 1),
            Tok::StarStar => (BP_POW, BP_UNARY), // right associative
            _ => return None,
        })
    }

    fn expr_bp(&mut self, min_bp: u8) -> Result<Expr> {
        self.enter()?;
        let mut lhs = self.prefix()?;
        loop {
            let (lbp, rbp) = match Parser::infix(self.peek()) {
                Some(bp) if bp.0 >= min_bp => bp,
                _ => break,
            };
            let op = self.advance();
            let pos = op.pos;
            if op.tok == Tok::DotDot && self.check(&Tok::RBracket) {
                // Open-ended slice: `xs[2..]`.
                lhs = Expr {
                    kind: ExprKind::Range(Some(Box::new(lhs)), None),
                    pos,
                };
                continue;
            }
            let rhs = self.expr_bp(rbp)?;
            let kind = match op.tok {
                Tok::OrOr => ExprKind::Or(Box::new(lhs), Box::new(rhs)),
                Tok::AndAnd => ExprKind::And(Box::new(lhs), Box::new(rhs)),
                Tok::DotDot => ExprKind::Range(Some(Box::new(lhs)), Some(Box::new(rhs))),
                t => {
                    let bin = match t {
                        Tok::EqEq => BinOp::Eq,
                        Tok::NotEq => BinOp::Ne,
                        Tok::Lt => BinOp::Lt,
                        Tok::Le => BinOp::Le,
                        Tok::Gt => BinOp::Gt,
                        Tok::Ge => BinOp::Ge,
                        Tok::Plus => BinOp::Add,
                        Tok::Minus => BinOp::Sub,
                        Tok::Star => BinOp::Mul,
                        Tok::Slash => BinOp::Div,
                        Tok::Percent => BinOp::Rem,
                        _ => BinOp::Pow,
                    };
                    ExprKind::Binary(bin, Box::new(lhs), Box::new(rhs))
                }
            };
            lhs = Expr { kind, pos };
            // Comparisons do not chain: `a < b < c` is almost always a bug.
            if lbp == BP_CMP && matches!(self.peek(), Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge) {
                return Err(Error::syntax(self.pos(), "comparison operators cannot be chained"));
            }
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn prefix(&mut self) -> Result<Expr> {
        let t = self.advance();
        let pos = t.pos;
        let kind = match t.tok {
            Tok::Int(n) => ExprKind::Lit(Literal::Int(n)),
            Tok::Float(x) => ExprKind::Lit(Literal::Float(x)),
            Tok::Str(s) => ExprKind::Lit(Literal::Str(Rc::from(s.as_str()))),
            Tok::True => ExprKind::Lit(Literal::Bool(true)),
            Tok::False => ExprKind::Lit(Literal::Bool(false)),
            Tok::Nil => ExprKind::Lit(Literal::Nil),
            Tok::Ident(name) => ExprKind::Var(name),
            Tok::Minus => {
                let operand = self.expr_bp(BP_UNARY)?;
                // Fold negated numeric literals into constants.
                match operand.kind {
                    ExprKind::Lit(Literal::Int(n)) => ExprKind::Lit(Literal::Int(n.wrapping_neg())),
                    ExprKind::Lit(Literal::Float(x)) => ExprKind::Lit(Literal::Float(-x)),
                    _ => ExprKind::Unary(UnOp::Neg, Box::new(operand)),
                }
            }
            Tok::Bang => ExprKind::Unary(UnOp::Not, Box::new(self.expr_bp(BP_UNARY)?)),
            Tok::LParen => {
                let inner = self.expr()?;
                self.expect(&Tok::RParen, "to close `(`")?;
                return self.postfix(inner);
            }
            Tok::LBracket => {
                let mut items = Vec::new();
                while !self.check(&Tok::RBracket) {
                    items.push(self.expr()?);
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                self.expect(&Tok::RBracket, "to close list")?;
                ExprKind::List(items)
            }
            Tok::LBrace => {
                let mut entries = Vec::new();
                while !self.check(&Tok::RBrace) {
                    // Bare identifiers are string keys: {a: 1} == {"a": 1}.
                    let key = match self.peek().clone() {
                        Tok::Ident(name) if self.tokens.get(self.at + 1).map(|t| &t.tok) == Some(&Tok::Colon) => {
                            let kpos = self.advance().pos;
                            Expr {
                                kind: ExprKind::Lit(Literal::Str(Rc::from(name.as_str()))),
                                pos: kpos,
                            }
                        }
                        _ => self.expr()?,
                    };
                    self.expect(&Tok::Colon, "after map key")?;
                    let value = self.expr()?;
                    entries.push((key, value));
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                self.expect(&Tok::RBrace, "to close map")?;
                ExprKind::Map(entries)
            }
            Tok::Fn => {
                let params = self.params()?;
                let (body, arrow) = if self.eat(&Tok::FatArrow) {
                    let e = self.expr()?;
                    let rpos = e.pos;
                    (vec![Stmt::Return(Some(e), rpos)], true)
                } else {
                    (self.block()?, false)
                };
                ExprKind::Lambda(Rc::new(FnDef {
                    name: "<lambda>".into(),
                    params,
                    body,
                    arrow,
                    pos,
                }))
            }
            other => return Err(Error::syntax(pos, format!("expected expression, found {}", other))),
        };
        self.postfix(Expr { kind, pos })
    }

    fn postfix(&mut self, mut e: Expr) -> Result<Expr> {
        loop {
            let pos = self.pos();
            match self.peek() {
                Tok::LParen => {
                    self.advance();
                    let mut args = Vec::new();
                    while !self.check(&Tok::RParen) {
                        args.push(self.expr()?);
                        if !self.eat(&Tok::Comma) {
                            break;
                        }
                    }
                    self.expect(&Tok::RParen, "to close argument list")?;
                    e = Expr {
                        kind: ExprKind::Call(Box::new(e), args),
                        pos,
                    };
                }
                Tok::LBracket => {
                    self.advance();
                    let index = if self.check(&Tok::DotDot) {
                        // Slice without a start: `xs[..n]` or `xs[..]`.
                        let rpos = self.advance().pos;
                        let end = if self.check(&Tok::RBracket) {
                            None
                        } else {
                            Some(Box::new(self.expr_bp(BP_RANGE + 1)?))
                        };
                        Expr {
                            kind: ExprKind::Range(None, end),
                            pos: rpos,
                        }
                    } else {
                        self.expr()?
                    };
                    self.expect(&Tok::RBracket, "to close index")?;
                    e = Expr {
                        kind: ExprKind::Index(Box::new(e), Box::new(index)),
                        pos,
                    };
                }
                Tok::Dot => {
                    self.advance();
                    let name = self.ident("after `.`")?;
                    e = Expr {
                        kind: ExprKind::Field(Box::new(e), name),
                        pos,
                    };
                }
                _ => return Ok(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printer::print_program;

    fn roundtrip(src: &str) -> String {
        print_program(&parse(src).unwrap())
    }

    #[test]
    fn precedence() {
        assert_eq!(roundtrip("x = 1 + 2 * 3 ** 2 ** 2;"), "x = 1 + 2 * 3 ** 2 ** 2;\n");
        assert_eq!(roundtrip("x = (1 + 2) * 3;"), "x = (1 + 2) * 3;\n");
        assert_eq!(roundtrip("x = -(2 ** 2);"), "x = -2 ** 2;\n");
        assert_eq!(roundtrip("x = (-2) ** 2;"), "x = (-2) ** 2;\n");
        assert_eq!(
            roundtrip("x = (-2).y + (fn(a) => a)(1);"),
            "x = (-2).y + (fn(a) => a)(1);\n"
        );
        assert_eq!(roundtrip("x = (a < b) == (c < d);"), "x = a < b == c < d;\n");
        assert_eq!(roundtrip("x = (a == b) == c;"), "x = a == b == c;\n");
        assert_eq!(roundtrip("x = a || b && !c == d;"), "x = a || b && !c == d;\n");
        assert_eq!(roundtrip("x = (a || b) && c;"), "x = (a || b) && c;\n");
        assert_eq!(roundtrip("x = 0..n - 1;"), "x = 0..n - 1;\n");
        assert_eq!(
            roundtrip("x = a[..2] + a[1..] + a[..] + a[-2..-1];"),
            "x = a[..2] + a[1..] + a[..] + a[-2..-1];\n"
        );
        assert_eq!(roundtrip("x = a - (b - c);"), "x = a - (b - c);\n");
    }

    #[test]
    fn negative_literal_power() {
        // `-2 ** 2` is -(2 ** 2), so the unary minus is not folded.
        let prog = parse("-2 ** 2;").unwrap();
        match &prog[0] {
            Stmt::Expr(Expr {
                kind: ExprKind::Unary(UnOp::Neg, _),
                ..
            }) => {}
            other => panic!("unexpected {:?}", other),
        }
    }

    #[test]
    fn statements() {
        let src = "fn f(a, b) { if a < b { return a; } else if a == b { return nil; } else { return b; } }\n\
                   let m = {k: 1, \"s\": [1, 2], 3: fn(x) => x * 2};\n\
                   for i in 0..3 { while true { break; } continue; }\n\
                   try { m.k += 1; m[\"s\"][0] = 5; } catch e { println(e); }";
        let printed = roundtrip(src);
        assert_eq!(roundtrip(&printed), printed, "printer output must be a fixed point");
        assert!(printed.contains("let m = {\"k\": 1, \"s\": [1, 2], 3: fn(x) => x * 2};"));
        assert!(printed.contains("    m.k += 1;"));
    }

    #[test]
    fn errors() {
        let cases = [
            ("let = 1;", "1:5: expected identifier after `let`, found `=`"),
            ("1 +;", "1:4: expected expression, found `;`"),
            ("f(1, 2;", "1:7: expected `)` to close argument list, found `;`"),
            ("if x { y; ", "1:11: unexpected end of input, expected `}`"),
            ("a < b < c;", "1:7: comparison operators cannot be chained"),
            ("1 + 2 = 3;", "1:7: invalid assignment target"),
            ("fn f(a, a) {}", "1:9: duplicate parameter `a`"),
            (
                "let x = 1",
                "1:10: expected `;` after `let` statement, found end of input",
            ),
        ];
        for (src, want) in cases.iter() {
            let err = parse(src).unwrap_err();
            assert_eq!(err.to_string(), format!("syntax error at {}", want), "source: {}", src);
        }
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let src = format!("x = {}1{};", "(".repeat(500), ")".repeat(500));
        assert!(parse(&src).unwrap_err().message.contains("nested too deeply"));
    }
}
