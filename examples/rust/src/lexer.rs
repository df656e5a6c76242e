//! Turns source text into tokens.

use crate::error::{Error, Pos, Result};
use std::fmt;

/// A lexical token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// Integer literal.
    Int(i64),
    /// Floating point literal.
    Float(f64),
    /// String literal with escapes resolved.
    Str(String),
    /// Identifier.
    Ident(String),
    // Keywords.
    Let,
    Fn,
    If,
    Else,
    While,
    For,
    In,
    Return,
    Break,
    Continue,
    True,
    False,
    Nil,
    Try,
    Catch,
    // Punctuation and operators.
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Semi,
    Colon,
    Dot,
    DotDot,
    FatArrow,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    StarStar,
    Assign,
    PlusAssign,
    MinusAssign,
    StarAssign,
    SlashAssign,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    Bang,
    AndAnd,
    OrOr,
    /// End of input.
    Eof,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Tok::Int(n) => return write!(f, "integer {}", n),
            Tok::Float(x) => return write!(f, "float {:?}", x),
            Tok::Str(s) => return write!(f, "string {:?}", s),
            Tok::Ident(s) => return write!(f, "identifier `{}`", s),
            Tok::Let => "`let`",
            Tok::Fn => "`fn`",
            Tok::If => "`if`",
            Tok::Else => "`else`",
            Tok::While => "`while`",
            Tok::For => "`for`",
            Tok::In => "`in`",
            Tok::Return => "`return`",
            Tok::Break => "`break`",
            Tok::Continue => "`continue`",
            Tok::True => "`true`",
            Tok::False => "`false`",
            Tok::Nil => "`nil`",
            Tok::Try => "`try`",
            Tok::Catch => "`catch`",
            Tok::LParen => "`(`",
            Tok::RParen => "`)`",
            Tok::LBrace => "`{`",
            Tok::RBrace => "`}`",
            Tok::LBracket => "`[`",
            Tok::RBracket => "`]`",
            Tok::Comma => "`,`",
            Tok::Semi => "`;`",
            Tok::Colon => "`:`",
            Tok::Dot => "`.`",
            Tok::DotDot => "`..`",
            Tok::FatArrow => "`=>`",
            Tok::Plus => "`+`",
            Tok::Minus => "`-`",
            Tok::Star => "`*`",
            Tok::Slash => "`/`",
            Tok::Percent => "`%`",
            Tok::StarStar => "`**`",
            Tok::Assign => "`=`",
            Tok::PlusAssign => "`+=`",
            Tok::MinusAssign => "`-=`",
            Tok::StarAssign => "`*=`",
            Tok::SlashAssign => "`/=`",
            Tok::EqEq => "`==`",
            Tok::NotEq => "`!=`",
            Tok::Lt => "`<`",
            Tok::Le => "`<=`",
            Tok::Gt => "`>`",
            Tok::Ge => "`>=`",
            Tok::Bang => "`!`",
            Tok::AndAnd => "`&&`",
            Tok::OrOr => "`||`",
            Tok::Eof => "end of input",
        };
        f.write_str(s)
    }
}

/// A token together with where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// Its starting position.
    pub pos: Pos,
}

fn keyword(s: &str) -> Option<Tok> {
    Some(match s {
        "let" => Tok::Let,
        "fn" => Tok::Fn,
        "if" => Tok::If,
        "else" => Tok::Else,
        "while" => Tok::While,
        "for" => Tok::For,
        "in" => Tok::In,
        "return" => Tok::Return,
        "break" => Tok::Break,
        "continue" => Tok::Continue,
        "true" => Tok::True,
        "false" => Tok::False,
        "nil" => Tok::Nil,
        "try" => Tok::Try,
        "catch" => Tok::Catch,
        _ => return None,
    })
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: u32,
    col: u32,
}

impl<'a> Lexer<'a> {
    fn pos(&self) -> Pos {
        Pos::new(self.line, self.col)
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn skip_trivia(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('#') => {
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                _ => return,
            }
        }
    }

    fn number(&mut self, first: char, start: Pos) -> Result<Tok> {
        let mut text = String::new();
        text.push(first);
        if first == '0' && (self.peek() == Some('x') || self.peek() == Some('X')) {
            self.bump();
            let mut hex = String::new();
            while let Some(c) = self.peek() {
                if c.is_ascii_hexdigit() || c == '_' {
                    self.bump();
                    if c != '_' {
                        hex.push(c);
                    }
                } else {
                    break;
                }
            }
            return i64::from_str_radix(&hex, 16)
                .map(Tok::Int)
                .map_err(|_| Error::syntax(start, format!("invalid hex literal 0x{}", hex)));
        }
        let mut is_float = false;
        loop {
            match self.peek() {
                Some(c) if c.is_ascii_digit() => {
                    text.push(c);
                    self.bump();
                }
                Some('_') => {
                    self.bump();
                }
                Some('.') if !is_float => {
                    // `1..5` is a range, not a float followed by a dot.
                    let mut look = self.chars.clone();
                    look.next();
                    match look.peek() {
                        Some(d) if d.is_ascii_digit() => {
                            is_float = true;
                            text.push('.');
                            self.bump();
                        }
                        _ => break,
                    }
                }
                Some('e') | Some('E') => {
                    let mut look = self.chars.clone();
                    look.next();
                    let mut next = look.next();
                    if next == Some('+') || next == Some('-') {
                        next = look.next();
                    }
                    if !matches!(next, Some(d) if d.is_ascii_digit()) {
                        break;
                    }
                    is_float = true;
                    text.push('e');
                    self.bump();
                    if let Some(sign) = self.peek() {
                        if sign == '+' || sign == '-' {
                            text.push(sign);
                            self.bump();
                        }
                    }
                    while let Some(d) = self.peek() {
                        if !d.is_ascii_digit() {
                            break;
                        }
                        text.push(d);
                        self.bump();
                    }
                    break;
                }
                _ => break,
            }
        }
        if is_float {
            text.parse::<f64>()
                .map(Tok::Float)
                .map_err(|_| Error::syntax(start, format!("invalid float literal {}", text)))
        } else {
            text.parse::<i64>()
                .map(Tok::Int)
                .map_err(|_| Error::syntax(start, format!("integer literal {} is too large", text)))
        }
    }

    fn string(&mut self, start: Pos) -> Result<Tok> {
        let mut s = String::new();
        loop {
            let esc_pos = self.pos();
            match self.bump() {
                None => return Err(Error::syntax(start, "unterminated string literal")),
                Some('"') => return Ok(Tok::Str(s)),
                Some('\\') => match self.bump() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some('r') => s.push('\r'),
                    Some('0') => s.push('\0'),
                    Some('"') => s.push('"'),
                    Some('\\') => s.push('\\'),
                    Some('u') => {
                        if !self.eat('{') {
                            return Err(Error::syntax(esc_pos, "expected `{` after \\u"));
                        }
                        let mut hex = String::new();
                        while let Some(c) = self.bump() {
                            if c == '}' {
                                break;
                            }
                            hex.push(c);
                        }
                        let ch = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                        match ch {
                            Some(c) => s.push(c),
                            None => {
                                return Err(Error::syntax(esc_pos, format!("invalid unicode escape \\u{{{}}}", hex)))
                            }
                        }
                    }
                    Some(c) => return Err(Error::syntax(esc_pos, format!("unknown escape \\{}", c))),
                    None => return Err(Error::syntax(start, "unterminated string literal")),
                },
                Some(c) => s.push(c),
            }
        }
    }

    fn next_token(&mut self) -> Result<Token> {
        self.skip_trivia();
        let pos = self.pos();
        let c = match self.bump() {
            None => return Ok(Token { tok: Tok::Eof, pos }),
            Some(c) => c,
        };
        let tok = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '{' => Tok::LBrace,
            '}' => Tok::RBrace,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            ',' => Tok::Comma,
            ';' => Tok::Semi,
            ':' => Tok::Colon,
            '%' => Tok::Percent,
            '.' => {
                if self.eat('.') {
                    Tok::DotDot
                } else {
                    Tok::Dot
                }
            }
            '+' => {
                if self.eat('=') {
                    Tok::PlusAssign
                } else {
                    Tok::Plus
                }
            }
            '-' => {
                if self.eat('=') {
                    Tok::MinusAssign
                } else {
                    Tok::Minus
                }
            }
            '*' => {
                if self.eat('*') {
                    Tok::StarStar
                } else if self.eat('=') {
                    Tok::StarAssign
                } else {
                    Tok::Star
                }
            }
            '/' => {
                if self.eat('/') {
                    // `//` line comment.
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.bump();
                    }
                    return self.next_token();
                } else if self.eat('=') {
                    Tok::SlashAssign
                } else {
                    Tok::Slash
                }
            }
            '=' => {
                if self.eat('=') {
                    Tok::EqEq
                } else if self.eat('>') {
                    Tok::FatArrow
                } else {
                    Tok::Assign
                }
            }
            '!' => {
                if self.eat('=') {
                    Tok::NotEq
                } else {
                    Tok::Bang
                }
            }
            '<' => {
                if self.eat('=') {
                    Tok::Le
                } else {
                    Tok::Lt
                }
            }
            '>' => {
                if self.eat('=') {
                    Tok::Ge
                } else {
                    Tok::Gt
                }
            }
            '&' if self.eat('&') => Tok::AndAnd,
            '|' if self.eat('|') => Tok::OrOr,
            '"' => self.string(pos)?,
            c if c.is_ascii_digit() => self.number(c, pos)?,
            c if c.is_alphabetic() || c == '_' => {
                let mut ident = String::new();
                ident.push(c);
                while let Some(c) = self.peek() {
                    if c.is_alphanumeric() || c == '_' {
                        ident.push(c);
                        self.bump();
                    } else {
                        break;
                    }
                }
                keyword(&ident).unwrap_or(Tok::Ident(ident))
            }
            other => return Err(Error::syntax(pos, format!("unexpected character {:?}", other))),
        };
        Ok(Token { tok, pos })
    }
}

/// Splits `src` into tokens. The last token is always [`Tok::Eof`].
pub fn tokenize(src: &str) -> Result<Vec<Token>> {
    let mut lx = Lexer {
        chars: src.chars().peekable(),
        line: 1,
        col: 1,
    };
    let mut out = Vec::new();
    loop {
        let t = lx.next_token()?;
        let done = t.tok == Tok::Eof;
        out.push(t);
        if done {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        tokenize(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_and_ranges() {
        assert_eq!(
            toks("1 2.5 1_000 0xff 1e3 2.5e-1 1..3 7.x"),
            vec![
                Tok::Int(1),
                Tok::Float(2.5),
                Tok::Int(1000),
                Tok::Int(255),
                Tok::Float(1000.0),
                Tok::Float(0.25),
                Tok::Int(1),
                Tok::DotDot,
                Tok::Int(3),
                Tok::Int(7),
                Tok::Dot,
                Tok::Ident("x".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn operators_keywords_and_comments() {
        assert_eq!(
            toks("let x += y ** 2 // comment\n# another\n=> != <= && || fn_name"),
            vec![
                Tok::Let,
                Tok::Ident("x".into()),
                Tok::PlusAssign,
                Tok::Ident("y".into()),
                Tok::StarStar,
                Tok::Int(2),
                Tok::FatArrow,
                Tok::NotEq,
                Tok::Le,
                Tok::AndAnd,
                Tok::OrOr,
                Tok::Ident("fn_name".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            toks(r#""a\tb\n\"q\" \u{e9}""#),
            vec![Tok::Str("a\tb\n\"q\" é".into()), Tok::Eof]
        );
    }

    #[test]
    fn positions() {
        let t = tokenize("let a =\n  \"x\";").unwrap();
        let pos: Vec<String> = t.iter().map(|t| t.pos.to_string()).collect();
        assert_eq!(pos, vec!["1:1", "1:5", "1:7", "2:3", "2:6", "2:7"]);
    }

    #[test]
    fn errors() {
        let e = tokenize("let s = \"abc").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at 1:9: unterminated string literal");
        let e = tokenize("1 $").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at 1:3: unexpected character '$'");
        let e = tokenize("\"\\q\"").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at 1:2: unknown escape \\q");
        assert!(tokenize("99999999999999999999").is_err());
        assert!(tokenize("a & b").is_err());
    }
}
