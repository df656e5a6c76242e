//! Runtime values.

use crate::ast::FnDef;
use crate::error::{Pos, Result};
use crate::interp::{Env, Interp};
use crate::printer::{float_literal, quote};
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

/// Signature of a native function.
pub type NativeFn = fn(&mut Interp<'_>, &[Value], Pos) -> Result<Value>;

/// A function implemented in Rust.
pub struct Builtin {
    /// Name the function is bound to in the global scope.
    pub name: &'static str,
    /// Minimum number of arguments.
    pub min_args: usize,
    /// Maximum number of arguments; `None` for variadic functions.
    pub max_args: Option<usize>,
    /// The implementation.
    pub func: NativeFn,
}

/// A user function together with the scope it was defined in.
pub struct Closure {
    /// The definition.
    pub def: Rc<FnDef>,
    /// The captured environment.
    pub env: Env,
}

/// A map key. Keys are ordered: booleans, then integers, then strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    Bool(bool),
    Int(i64),
    Str(Rc<str>),
}

impl Key {
    /// Converts the key back to a value.
    pub fn to_value(&self) -> Value {
        match self {
            Key::Bool(b) => Value::Bool(*b),
            Key::Int(n) => Value::Int(*n),
            Key::Str(s) => Value::Str(s.clone()),
        }
    }
}

/// Shared, mutable list.
pub type List = Rc<RefCell<Vec<Value>>>;
/// Shared, mutable map with deterministic (sorted) iteration order.
pub type Map = Rc<RefCell<BTreeMap<Key, Value>>>;

/// A dynamically typed value. Lists and maps have reference semantics.
#[derive(Clone)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    List(List),
    Map(Map),
    /// Half-open integer range `start..end`.
    Range(i64, i64),
    Func(Rc<Closure>),
    Builtin(&'static Builtin),
}

impl Value {
    /// Creates a string value.
    pub fn str(s: &str) -> Value {
        Value::Str(Rc::from(s))
    }

    /// Creates a list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(RefCell::new(items)))
    }

    /// Creates a map value.
    pub fn map(entries: BTreeMap<Key, Value>) -> Value {
        Value::Map(Rc::new(RefCell::new(entries)))
    }

    /// The name of the value's type, as returned by `type()`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Range(..) => "range",
            Value::Func(_) | Value::Builtin(_) => "function",
        }
    }

    /// Only `nil` and `false` are false.
    pub fn truthy(&self) -> bool {
        !matches!(self, Value::Nil | Value::Bool(false))
    }

    /// Converts the value to a map key, if it has a key type.
    pub fn to_key(&self) -> Option<Key> {
        match self {
            Value::Bool(b) => Some(Key::Bool(*b)),
            Value::Int(n) => Some(Key::Int(*n)),
            Value::Str(s) => Some(Key::Str(s.clone())),
            _ => None,
        }
    }

    /// The value as it appears inside a container: strings are quoted.
    pub fn repr(&self) -> String {
        let mut s = String::new();
        write_value(&mut s, self, true, 0);
        s
    }
}

/// Containers nested deeper than this (e.g. cyclic lists) print as `...`.
const MAX_PRINT_DEPTH: usize = 32;

fn write_value(out: &mut String, v: &Value, quoted: bool, depth: usize) {
    if depth > MAX_PRINT_DEPTH {
        out.push_str("...");
        return;
    }
    match v {
        Value::Nil => out.push_str("nil"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Float(x) => {
            if x.is_nan() {
                out.push_str("nan");
            } else if x.is_infinite() {
                out.push_str(if *x > 0.0 { "inf" } else { "-inf" });
            } else {
                out.push_str(&float_literal(*x));
            }
        }
        Value::Str(s) => {
            if quoted {
                out.push_str(&quote(s));
            } else {
                out.push_str(s);
            }
        }
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.borrow().iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item, true, depth + 1);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, val)) in m.borrow().iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, &k.to_value(), true, depth + 1);
                out.push_str(": ");
                write_value(out, val, true, depth + 1);
            }
            out.push('}');
        }
        Value::Range(a, b) => out.push_str(&format!("{}..{}", a, b)),
        Value::Func(c) => out.push_str(&format!("<fn {}>", c.def.name)),
        Value::Builtin(b) => out.push_str(&format!("<builtin {}>", b.name)),
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        write_value(&mut s, self, false, 0);
        f.write_str(&s)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}

/// Structural equality; integers and floats compare numerically, functions
/// by identity.
pub fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => (*x as f64) == *y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            if Rc::ptr_eq(x, y) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| equal(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            if Rc::ptr_eq(x, y) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((ka, va), (kb, vb))| ka == kb && equal(va, vb))
        }
        (Value::Range(a, b), Value::Range(c, d)) => a == c && b == d,
        (Value::Func(x), Value::Func(y)) => Rc::ptr_eq(x, y),
        (Value::Builtin(x), Value::Builtin(y)) => x.name == y.name,
        _ => false,
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        equal(self, other)
    }
}

/// Ordering for `<`, `sort()`, `min()` and `max()`. Returns `None` for
/// values that cannot be compared.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::List(x), Value::List(y)) => {
            let (x, y) = (x.borrow(), y.borrow());
            for (a, b) in x.iter().zip(y.iter()) {
                match compare(a, b)? {
                    Ordering::Equal => continue,
                    other => return Some(other),
                }
            }
            Some(x.len().cmp(&y.len()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_repr() {
        let mut m = BTreeMap::new();
        m.insert(Key::Str(Rc::from("b")), Value::Float(1.5));
        m.insert(Key::Int(2), Value::str("x\"y"));
        m.insert(Key::Bool(true), Value::Nil);
        let v = Value::list(vec![Value::Int(1), Value::str("a"), Value::map(m), Value::Range(0, 3)]);
        assert_eq!(
            v.to_string(),
            "[1, \"a\", {true: nil, 2: \"x\\\"y\", \"b\": 1.5}, 0..3]"
        );
        assert_eq!(Value::str("plain").to_string(), "plain");
        assert_eq!(Value::Float(3.0).to_string(), "3.0");
        assert_eq!(Value::Float(f64::NAN).to_string(), "nan");
        assert_eq!(Value::Float(-f64::INFINITY).to_string(), "-inf");
    }

    #[test]
    fn cyclic_list_prints() {
        let l = Rc::new(RefCell::new(Vec::new()));
        l.borrow_mut().push(Value::List(l.clone()));
        let s = Value::List(l.clone()).to_string();
        assert!(
            s.starts_with("[[[[") && s.contains("[...]") && s.ends_with("]]]]"),
            "{}",
            s
        );
        l.borrow_mut().clear(); // break the cycle so the test does not leak
    }

    #[test]
    fn equality_and_ordering() {
        assert!(equal(&Value::Int(2), &Value::Float(2.0)));
        assert!(!equal(&Value::Int(2), &Value::str("2")));
        let a = Value::list(vec![Value::Int(1), Value::Int(2)]);
        let b = Value::list(vec![Value::Int(1), Value::Int(3)]);
        assert_eq!(compare(&a, &b), Some(Ordering::Less));
        assert_eq!(compare(&Value::str("b"), &Value::str("a")), Some(Ordering::Greater));
        assert_eq!(compare(&Value::Nil, &Value::Int(1)), None);
        assert!(Value::Int(0).truthy() && !Value::Nil.truthy() && !Value::Bool(false).truthy());
    }
}
