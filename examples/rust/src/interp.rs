//! Tree-walking evaluator.

use crate::ast::{BinOp, Expr, ExprKind, Literal, Stmt, UnOp};
use crate::builtins::BUILTINS;
use crate::error::{Error, ErrorKind, Pos, Result};
use crate::value::{compare, equal, Closure, Key, Value};
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::rc::Rc;

/// A lexical scope.
pub struct Scope {
    vars: HashMap<String, Value>,
    parent: Option<Env>,
}

/// Shared handle to a scope.
pub type Env = Rc<RefCell<Scope>>;

fn new_scope(parent: Option<Env>) -> Env {
    Rc::new(RefCell::new(Scope {
        vars: HashMap::new(),
        parent,
    }))
}

fn lookup(env: &Env, name: &str) -> Option<Value> {
    let mut cur = env.clone();
    loop {
        let next = {
            let scope = cur.borrow();
            if let Some(v) = scope.vars.get(name) {
                return Some(v.clone());
            }
            scope.parent.clone()
        };
        cur = next?;
    }
}

fn assign(env: &Env, name: &str, value: Value) -> bool {
    let mut cur = env.clone();
    loop {
        let next = {
            let mut scope = cur.borrow_mut();
            if let Some(slot) = scope.vars.get_mut(name) {
                *slot = value;
                return true;
            }
            scope.parent.clone()
        };
        match next {
            Some(p) => cur = p,
            None => return false,
        }
    }
}

fn define(env: &Env, name: &str, value: Value) {
    env.borrow_mut().vars.insert(name.to_string(), value);
}

/// How control leaves a statement.
enum Flow {
    Next,
    Return(Value),
    Break(Pos),
    Continue(Pos),
}

/// Default limit on nested function calls.
pub const DEFAULT_MAX_DEPTH: usize = 400;

/// The interpreter state: output sink, global scope and call depth.
pub struct Interp<'a> {
    out: &'a mut dyn Write,
    globals: Env,
    depth: usize,
    /// Maximum nesting of function calls before "stack overflow" is raised.
    pub max_depth: usize,
}

impl<'a> Interp<'a> {
    /// Creates an interpreter writing program output to `out`.
    pub fn new(out: &'a mut dyn Write) -> Interp<'a> {
        let globals = new_scope(None);
        for b in BUILTINS {
            define(&globals, b.name, Value::Builtin(b));
        }
        Interp {
            out,
            globals,
            depth: 0,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }

    /// Writes program output.
    pub fn write_out(&mut self, s: &str, pos: Pos) -> Result<()> {
        self.out
            .write_all(s.as_bytes())
            .map_err(|e| Error::runtime(pos, format!("write failed: {}", e)))
    }

    /// Looks up a global variable (used by tests and the REPL-less CLI).
    pub fn global(&self, name: &str) -> Option<Value> {
        lookup(&self.globals, name)
    }

    /// Runs a program in the global scope. Globals persist across calls.
    pub fn run(&mut self, program: &[Stmt]) -> Result<()> {
        let env = self.globals.clone();
        match self.exec_block_in(program, &env)? {
            Flow::Next | Flow::Return(_) => Ok(()),
            Flow::Break(p) => Err(Error::runtime(p, "`break` outside of a loop")),
            Flow::Continue(p) => Err(Error::runtime(p, "`continue` outside of a loop")),
        }
    }

    fn exec_block_in(&mut self, stmts: &[Stmt], env: &Env) -> Result<Flow> {
        for s in stmts {
            match self.exec(s, env)? {
                Flow::Next => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Next)
    }

    fn exec_block(&mut self, stmts: &[Stmt], env: &Env) -> Result<Flow> {
        // Blocks only need their own scope when they declare something.
        let declares = stmts.iter().any(|s| matches!(s, Stmt::Let(..) | Stmt::Fn(_)));
        if declares {
            let inner = new_scope(Some(env.clone()));
            self.exec_block_in(stmts, &inner)
        } else {
            self.exec_block_in(stmts, env)
        }
    }

    fn exec(&mut self, s: &Stmt, env: &Env) -> Result<Flow> {
        match s {
            Stmt::Let(name, value, _) => {
                let v = self.eval(value, env)?;
                define(env, name, v);
            }
            Stmt::Assign(target, op, value, pos) => {
                let v = self.eval(value, env)?;
                self.assign_to(target, *op, v, *pos, env)?;
            }
            Stmt::Expr(e) => {
                self.eval(e, env)?;
            }
            Stmt::If(arms, otherwise) => {
                for (cond, body) in arms {
                    if self.eval(cond, env)?.truthy() {
                        return self.exec_block(body, env);
                    }
                }
                if let Some(body) = otherwise {
                    return self.exec_block(body, env);
                }
            }
            Stmt::While(cond, body) => {
                while self.eval(cond, env)?.truthy() {
                    match self.exec_block(body, env)? {
                        Flow::Break(_) => break,
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        Flow::Next | Flow::Continue(_) => {}
                    }
                }
            }
            Stmt::For(var, iter, body, pos) => {
                let items = self.eval(iter, env)?;
                return self.exec_for(var, items, body, *pos, env);
            }
            Stmt::Fn(def) => {
                let f = Value::Func(Rc::new(Closure {
                    def: def.clone(),
                    env: env.clone(),
                }));
                define(env, &def.name, f);
            }
            Stmt::Return(value, _) => {
                let v = match value {
                    Some(e) => self.eval(e, env)?,
                    None => Value::Nil,
                };
                return Ok(Flow::Return(v));
            }
            Stmt::Break(p) => return Ok(Flow::Break(*p)),
            Stmt::Continue(p) => return Ok(Flow::Continue(*p)),
            Stmt::Try(body, name, handler) => {
                let depth = self.depth;
                match self.exec_block(body, env) {
                    Ok(flow) => return Ok(flow),
                    Err(e) if e.kind == ErrorKind::Runtime => {
                        self.depth = depth;
                        let scope = new_scope(Some(env.clone()));
                        define(&scope, name, Value::str(&e.message));
                        return self.exec_block_in(handler, &scope);
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(Flow::Next)
    }

    fn exec_for(&mut self, var: &str, items: Value, body: &[Stmt], pos: Pos, env: &Env) -> Result<Flow> {
        let run_one = |this: &mut Self, item: Value| -> Result<Option<Flow>> {
            let scope = new_scope(Some(env.clone()));
            define(&scope, var, item);
            Ok(match this.exec_block_in(body, &scope)? {
                Flow::Break(_) => Some(Flow::Next),
                Flow::Return(v) => Some(Flow::Return(v)),
                Flow::Next | Flow::Continue(_) => None,
            })
        };
        match items {
            Value::Range(a, b) => {
                let mut i = a;
                while i < b {
                    if let Some(f) = run_one(self, Value::Int(i))? {
                        return Ok(f);
                    }
                    i += 1;
                }
            }
            Value::List(l) => {
                // Iterate over a snapshot so the body may modify the list.
                let snapshot = l.borrow().clone();
                for item in snapshot {
                    if let Some(f) = run_one(self, item)? {
                        return Ok(f);
                    }
                }
            }
            Value::Map(m) => {
                let keys: Vec<Key> = m.borrow().keys().cloned().collect();
                for k in keys {
                    if let Some(f) = run_one(self, k.to_value())? {
                        return Ok(f);
                    }
                }
            }
            Value::Str(s) => {
                for c in s.chars() {
                    if let Some(f) = run_one(self, Value::str(c.encode_utf8(&mut [0; 4])))? {
                        return Ok(f);
                    }
                }
            }
            other => {
                return Err(Error::runtime(
                    pos,
                    format!("cannot iterate over {}", other.type_name()),
                ))
            }
        }
        Ok(Flow::Next)
    }

    fn assign_to(&mut self, target: &Expr, op: Option<BinOp>, value: Value, pos: Pos, env: &Env) -> Result<()> {
        match &target.kind {
            ExprKind::Var(name) => {
                let v = match op {
                    Some(op) => {
                        let cur = lookup(env, name)
                            .ok_or_else(|| Error::runtime(target.pos, format!("undefined variable `{}`", name)))?;
                        binary(op, &cur, &value, pos)?
                    }
                    None => value,
                };
                if !assign(env, name, v) {
                    return Err(Error::runtime(
                        target.pos,
                        format!("assignment to undeclared variable `{}` (use `let`)", name),
                    ));
                }
                Ok(())
            }
            ExprKind::Index(container, index) => {
                let c = self.eval(container, env)?;
                let i = self.eval(index, env)?;
                self.store(&c, &i, op, value, target.pos)
            }
            ExprKind::Field(container, name) => {
                let c = self.eval(container, env)?;
                self.store(&c, &Value::str(name), op, value, target.pos)
            }
            _ => Err(Error::runtime(pos, "invalid assignment target")),
        }
    }

    fn store(&mut self, container: &Value, index: &Value, op: Option<BinOp>, value: Value, pos: Pos) -> Result<()> {
        match container {
            Value::List(l) => {
                let len = l.borrow().len();
                let i = list_index(index, len, pos)?;
                let v = match op {
                    Some(op) => {
                        let cur = l.borrow()[i].clone();
                        binary(op, &cur, &value, pos)?
                    }
                    None => value,
                };
                l.borrow_mut()[i] = v;
                Ok(())
            }
            Value::Map(m) => {
                let key = index
                    .to_key()
                    .ok_or_else(|| Error::runtime(pos, format!("{} cannot be a map key", index.type_name())))?;
                let v = match op {
                    Some(op) => {
                        let cur = m.borrow().get(&key).cloned().unwrap_or(Value::Nil);
                        binary(op, &cur, &value, pos)?
                    }
                    None => value,
                };
                m.borrow_mut().insert(key, v);
                Ok(())
            }
            other => Err(Error::runtime(pos, format!("cannot assign into {}", other.type_name()))),
        }
    }

    /// Evaluates an expression.
    pub fn eval(&mut self, e: &Expr, env: &Env) -> Result<Value> {
        Ok(match &e.kind {
            ExprKind::Lit(lit) => match lit {
                Literal::Nil => Value::Nil,
                Literal::Bool(b) => Value::Bool(*b),
                Literal::Int(n) => Value::Int(*n),
                Literal::Float(x) => Value::Float(*x),
                Literal::Str(s) => Value::Str(s.clone()),
            },
            ExprKind::Var(name) => {
                lookup(env, name).ok_or_else(|| Error::runtime(e.pos, format!("undefined variable `{}`", name)))?
            }
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.eval(item, env)?);
                }
                Value::list(out)
            }
            ExprKind::Map(entries) => {
                let mut m = BTreeMap::new();
                for (k, v) in entries {
                    let key = self.eval(k, env)?;
                    let key = key
                        .to_key()
                        .ok_or_else(|| Error::runtime(k.pos, format!("{} cannot be a map key", key.type_name())))?;
                    let val = self.eval(v, env)?;
                    m.insert(key, val);
                }
                Value::map(m)
            }
            ExprKind::Unary(op, operand) => {
                let v = self.eval(operand, env)?;
                match (op, v) {
                    (UnOp::Not, v) => Value::Bool(!v.truthy()),
                    (UnOp::Neg, Value::Int(n)) => Value::Int(
                        n.checked_neg()
                            .ok_or_else(|| Error::runtime(e.pos, "integer overflow"))?,
                    ),
                    (UnOp::Neg, Value::Float(x)) => Value::Float(-x),
                    (UnOp::Neg, v) => return Err(Error::runtime(e.pos, format!("cannot negate {}", v.type_name()))),
                }
            }
            ExprKind::Binary(op, l, r) => {
                let a = self.eval(l, env)?;
                let b = self.eval(r, env)?;
                binary(*op, &a, &b, e.pos)?
            }
            ExprKind::And(l, r) => {
                let a = self.eval(l, env)?;
                if !a.truthy() {
                    a
                } else {
                    self.eval(r, env)?
                }
            }
            ExprKind::Or(l, r) => {
                let a = self.eval(l, env)?;
                if a.truthy() {
                    a
                } else {
                    self.eval(r, env)?
                }
            }
            ExprKind::Range(l, r) => {
                // Omitted bounds only occur in slices: start 0, end "the end".
                let a = match l {
                    Some(l) => self.eval(l, env)?,
                    None => Value::Int(0),
                };
                let b = match r {
                    Some(r) => self.eval(r, env)?,
                    None => Value::Int(i64::MAX),
                };
                match (a, b) {
                    (Value::Int(a), Value::Int(b)) => Value::Range(a, b),
                    (a, b) => {
                        return Err(Error::runtime(
                            e.pos,
                            format!(
                                "range bounds must be integers, not {} and {}",
                                a.type_name(),
                                b.type_name()
                            ),
                        ))
                    }
                }
            }
            ExprKind::Call(callee, args) => {
                let f = self.eval(callee, env)?;
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a, env)?);
                }
                self.call(&f, &vals, e.pos)?
            }
            ExprKind::Index(target, index) => {
                let t = self.eval(target, env)?;
                let i = self.eval(index, env)?;
                index_value(&t, &i, e.pos)?
            }
            ExprKind::Field(target, name) => {
                let t = self.eval(target, env)?;
                match &t {
                    Value::Map(_) => index_value(&t, &Value::str(name), e.pos)?,
                    other => {
                        return Err(Error::runtime(
                            e.pos,
                            format!("{} has no field `{}`", other.type_name(), name),
                        ))
                    }
                }
            }
            ExprKind::Lambda(def) => Value::Func(Rc::new(Closure {
                def: def.clone(),
                env: env.clone(),
            })),
        })
    }

    /// Calls a function value with already evaluated arguments.
    pub fn call(&mut self, f: &Value, args: &[Value], pos: Pos) -> Result<Value> {
        match f {
            Value::Func(c) => {
                let def = &c.def;
                if args.len() != def.params.len() {
                    return Err(Error::runtime(
                        pos,
                        format!(
                            "{} expects {} argument(s), got {}",
                            def.name,
                            def.params.len(),
                            args.len()
                        ),
                    ));
                }
                if self.depth >= self.max_depth {
                    return Err(Error::runtime(
                        pos,
                        format!("stack overflow (more than {} nested calls)", self.max_depth),
                    ));
                }
                let scope = new_scope(Some(c.env.clone()));
                for (p, a) in def.params.iter().zip(args) {
                    define(&scope, p, a.clone());
                }
                self.depth += 1;
                let flow = self.exec_block_in(&def.body, &scope);
                self.depth -= 1;
                match flow? {
                    Flow::Return(v) => Ok(v),
                    Flow::Next => Ok(Value::Nil),
                    Flow::Break(p) => Err(Error::runtime(p, "`break` outside of a loop")),
                    Flow::Continue(p) => Err(Error::runtime(p, "`continue` outside of a loop")),
                }
            }
            Value::Builtin(b) => {
                if args.len() < b.min_args || b.max_args.map_or(false, |m| args.len() > m) {
                    let expected = match b.max_args {
                        Some(m) if m == b.min_args => format!("{}", m),
                        Some(m) => format!("{} to {}", b.min_args, m),
                        None => format!("at least {}", b.min_args),
                    };
                    return Err(Error::runtime(
                        pos,
                        format!("{} expects {} argument(s), got {}", b.name, expected, args.len()),
                    ));
                }
                (b.func)(self, args, pos)
            }
            other => Err(Error::runtime(pos, format!("{} is not callable", other.type_name()))),
        }
    }
}

/// Resolves a possibly negative index against a length.
pub fn list_index(index: &Value, len: usize, pos: Pos) -> Result<usize> {
    match index {
        Value::Int(i) => {
            let i = *i;
            let resolved = if i < 0 { i + len as i64 } else { i };
            if resolved < 0 || resolved >= len as i64 {
                Err(Error::runtime(
                    pos,
                    format!("index {} out of range for length {}", i, len),
                ))
            } else {
                Ok(resolved as usize)
            }
        }
        other => Err(Error::runtime(
            pos,
            format!("index must be an integer, not {}", other.type_name()),
        )),
    }
}

/// Clamps a range to `0..=len` for slicing, resolving negative bounds.
fn slice_bounds(a: i64, b: i64, len: usize) -> (usize, usize) {
    let n = len as i64;
    let fix = |x: i64| -> usize {
        let x = if x < 0 { x + n } else { x };
        x.max(0).min(n) as usize
    };
    let (s, e) = (fix(a), fix(b));
    (s, e.max(s))
}

/// `target[index]`: list and string indexing/slicing, map lookup (missing
/// keys yield `nil`).
pub fn index_value(target: &Value, index: &Value, pos: Pos) -> Result<Value> {
    match (target, index) {
        (Value::List(l), Value::Range(a, b)) => {
            let l = l.borrow();
            let (s, e) = slice_bounds(*a, *b, l.len());
            Ok(Value::list(l[s..e].to_vec()))
        }
        (Value::List(l), _) => {
            let l = l.borrow();
            Ok(l[list_index(index, l.len(), pos)?].clone())
        }
        (Value::Str(s), Value::Range(a, b)) => {
            let chars: Vec<char> = s.chars().collect();
            let (st, e) = slice_bounds(*a, *b, chars.len());
            Ok(Value::str(&chars[st..e].iter().collect::<String>()))
        }
        (Value::Str(s), _) => {
            let chars: Vec<char> = s.chars().collect();
            let c = chars[list_index(index, chars.len(), pos)?];
            Ok(Value::str(c.encode_utf8(&mut [0; 4])))
        }
        (Value::Map(m), _) => {
            let key = index
                .to_key()
                .ok_or_else(|| Error::runtime(pos, format!("{} cannot be a map key", index.type_name())))?;
            Ok(m.borrow().get(&key).cloned().unwrap_or(Value::Nil))
        }
        (Value::Range(a, b), Value::Int(_)) => {
            let len = if b > a { (b - a) as usize } else { 0 };
            Ok(Value::Int(a + list_index(index, len, pos)? as i64))
        }
        (t, _) => Err(Error::runtime(pos, format!("cannot index {}", t.type_name()))),
    }
}

fn overflow(pos: Pos) -> Error {
    Error::runtime(pos, "integer overflow")
}

/// Floor division for integers: rounds toward negative infinity.
fn floor_div(a: i64, b: i64, pos: Pos) -> Result<i64> {
    if b == 0 {
        return Err(Error::runtime(pos, "division by zero"));
    }
    let q = a.checked_div(b).ok_or_else(|| overflow(pos))?;
    if a % b != 0 && ((a < 0) != (b < 0)) {
        Ok(q - 1)
    } else {
        Ok(q)
    }
}

/// Floor modulo for integers: the result has the sign of the divisor.
fn floor_mod(a: i64, b: i64, pos: Pos) -> Result<i64> {
    if b == 0 {
        return Err(Error::runtime(pos, "division by zero"));
    }
    let r = a.checked_rem(b).ok_or_else(|| overflow(pos))?;
    if r != 0 && ((r < 0) != (b < 0)) {
        Ok(r + b)
    } else {
        Ok(r)
    }
}

/// `x ** n` for integer `n` by repeated squaring: exact and identical on
/// every platform, unlike the C library's `pow`.
fn powi(mut x: f64, n: i64) -> f64 {
    let mut e = n.unsigned_abs();
    let mut acc = 1.0;
    while e > 0 {
        if e & 1 == 1 {
            acc *= x;
        }
        x *= x;
        e >>= 1;
    }
    if n < 0 {
        1.0 / acc
    } else {
        acc
    }
}

fn as_float(v: &Value) -> Option<f64> {
    match v {
        Value::Int(n) => Some(*n as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

fn repeat<T: Clone>(items: &[T], n: i64, pos: Pos) -> Result<Vec<T>> {
    if n < 0 {
        return Err(Error::runtime(pos, "repeat count must not be negative"));
    }
    let total = items.len().checked_mul(n as usize).ok_or_else(|| overflow(pos))?;
    if total > 1 << 26 {
        return Err(Error::runtime(pos, "result too large"));
    }
    let mut out = Vec::with_capacity(total);
    for _ in 0..n {
        out.extend_from_slice(items);
    }
    Ok(out)
}

/// Applies a binary operator.
pub fn binary(op: BinOp, a: &Value, b: &Value, pos: Pos) -> Result<Value> {
    use Value::{Float, Int, List, Str};
    match op {
        BinOp::Eq => return Ok(Value::Bool(equal(a, b))),
        BinOp::Ne => return Ok(Value::Bool(!equal(a, b))),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let ord = compare(a, b).ok_or_else(|| {
                Error::runtime(pos, format!("cannot compare {} with {}", a.type_name(), b.type_name()))
            })?;
            let r = match op {
                BinOp::Lt => ord == Ordering::Less,
                BinOp::Le => ord != Ordering::Greater,
                BinOp::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            };
            return Ok(Value::Bool(r));
        }
        _ => {}
    }
    let result = match (op, a, b) {
        (BinOp::Add, Int(x), Int(y)) => Int(x.checked_add(*y).ok_or_else(|| overflow(pos))?),
        (BinOp::Sub, Int(x), Int(y)) => Int(x.checked_sub(*y).ok_or_else(|| overflow(pos))?),
        (BinOp::Mul, Int(x), Int(y)) => Int(x.checked_mul(*y).ok_or_else(|| overflow(pos))?),
        (BinOp::Div, Int(x), Int(y)) => Int(floor_div(*x, *y, pos)?),
        (BinOp::Rem, Int(x), Int(y)) => Int(floor_mod(*x, *y, pos)?),
        (BinOp::Pow, Int(x), Int(y)) => {
            if *y < 0 {
                Float(powi(*x as f64, *y))
            } else {
                let e = u32::try_from(*y).map_err(|_| overflow(pos))?;
                Int(x.checked_pow(e).ok_or_else(|| overflow(pos))?)
            }
        }
        (BinOp::Add, Str(x), Str(y)) => {
            let mut s = String::with_capacity(x.len() + y.len());
            s.push_str(x);
            s.push_str(y);
            Value::str(&s)
        }
        (BinOp::Add, List(x), List(y)) => {
            let mut v = x.borrow().clone();
            v.extend(y.borrow().iter().cloned());
            Value::list(v)
        }
        (BinOp::Mul, Str(s), Int(n)) | (BinOp::Mul, Int(n), Str(s)) => {
            let bytes = repeat(s.as_bytes(), *n, pos)?;
            Value::str(&String::from_utf8(bytes).unwrap_or_default())
        }
        (BinOp::Mul, List(l), Int(n)) | (BinOp::Mul, Int(n), List(l)) => Value::list(repeat(&l.borrow(), *n, pos)?),
        (BinOp::Pow, Float(x), Int(n)) => Float(powi(*x, *n)),
        (BinOp::Pow, _, Float(y)) if as_float(a).is_some() => {
            if y.fract() != 0.0 || y.abs() > 1e9 {
                return Err(Error::runtime(
                    pos,
                    "only integer exponents are supported (use sqrt for 0.5)",
                ));
            }
            Float(powi(as_float(a).unwrap_or(0.0), *y as i64))
        }
        (op, _, _) => match (as_float(a), as_float(b)) {
            (Some(x), Some(y)) => Float(match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => x / y,
                BinOp::Rem => {
                    let r = x % y;
                    if r != 0.0 && ((r < 0.0) != (y < 0.0)) {
                        r + y
                    } else {
                        r
                    }
                }
                _ => unreachable!("comparison and power handled above"),
            }),
            _ => {
                return Err(Error::runtime(
                    pos,
                    format!(
                        "unsupported operand types for {}: {} and {}",
                        op.symbol(),
                        a.type_name(),
                        b.type_name()
                    ),
                ))
            }
        },
    };
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> Pos {
        Pos::new(1, 1)
    }

    #[test]
    fn integer_division_floors() {
        assert_eq!(floor_div(7, 2, p()).unwrap(), 3);
        assert_eq!(floor_div(-7, 2, p()).unwrap(), -4);
        assert_eq!(floor_div(7, -2, p()).unwrap(), -4);
        assert_eq!(floor_mod(-7, 2, p()).unwrap(), 1);
        assert_eq!(floor_mod(7, -2, p()).unwrap(), -1);
        assert!(floor_div(1, 0, p()).is_err());
        assert!(floor_div(i64::MIN, -1, p()).is_err());
    }

    #[test]
    fn arithmetic() {
        let r = binary(BinOp::Add, &Value::Int(1), &Value::Float(0.5), p()).unwrap();
        assert_eq!(r.to_string(), "1.5");
        let r = binary(BinOp::Pow, &Value::Int(2), &Value::Int(-2), p()).unwrap();
        assert_eq!(r.to_string(), "0.25");
        let r = binary(BinOp::Mul, &Value::str("ab"), &Value::Int(3), p()).unwrap();
        assert_eq!(r.to_string(), "ababab");
        let r = binary(BinOp::Rem, &Value::Float(-1.5), &Value::Int(1), p()).unwrap();
        assert_eq!(r.to_string(), "0.5");
        let e = binary(BinOp::Add, &Value::Int(i64::MAX), &Value::Int(1), p()).unwrap_err();
        assert_eq!(e.message, "integer overflow");
        let e = binary(BinOp::Sub, &Value::str("a"), &Value::Int(1), p()).unwrap_err();
        assert_eq!(e.message, "unsupported operand types for -: string and int");
        let e = binary(BinOp::Lt, &Value::Nil, &Value::Int(1), p()).unwrap_err();
        assert_eq!(e.message, "cannot compare nil with int");
        assert!(binary(BinOp::Pow, &Value::Float(2.0), &Value::Float(0.5), p()).is_err());
    }

    #[test]
    fn slicing() {
        let l = Value::list((0..5).map(Value::Int).collect());
        assert_eq!(index_value(&l, &Value::Range(1, 3), p()).unwrap().to_string(), "[1, 2]");
        assert_eq!(
            index_value(&l, &Value::Range(-2, 99), p()).unwrap().to_string(),
            "[3, 4]"
        );
        assert_eq!(index_value(&l, &Value::Range(4, 1), p()).unwrap().to_string(), "[]");
        assert_eq!(index_value(&l, &Value::Int(-1), p()).unwrap().to_string(), "4");
        assert!(index_value(&l, &Value::Int(5), p()).is_err());
        let s = Value::str("héllo");
        assert_eq!(index_value(&s, &Value::Int(1), p()).unwrap().to_string(), "é");
        assert_eq!(index_value(&s, &Value::Range(1, -1), p()).unwrap().to_string(), "éll");
        assert_eq!(
            index_value(&Value::Range(10, 20), &Value::Int(-1), p())
                .unwrap()
                .to_string(),
            "19"
        );
    }
}
