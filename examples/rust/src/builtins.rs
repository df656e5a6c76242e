//! Native functions available in every program.

use crate::error::{Error, Pos, Result};
use crate::interp::{list_index, Interp};
use crate::value::{compare, equal, Builtin, Key, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;

macro_rules! builtin {
    ($name:expr, $min:expr, $max:expr, $f:expr) => {
        Builtin {
            name: $name,
            min_args: $min,
            max_args: $max,
            func: $f,
        }
    };
}

/// All builtins, bound as globals when an interpreter is created.
pub static BUILTINS: &[Builtin] = &[
    builtin!("print", 0, None, print),
    builtin!("println", 0, None, println),
    builtin!("format", 1, None, format_fn),
    builtin!("len", 1, Some(1), len),
    builtin!("type", 1, Some(1), type_fn),
    builtin!("str", 1, Some(1), str_fn),
    builtin!("repr", 1, Some(1), repr),
    builtin!("int", 1, Some(1), int_fn),
    builtin!("float", 1, Some(1), float_fn),
    builtin!("push", 2, Some(2), push),
    builtin!("pop", 1, Some(1), pop),
    builtin!("insert", 3, Some(3), insert),
    builtin!("remove", 2, Some(2), remove),
    builtin!("keys", 1, Some(1), keys),
    builtin!("values", 1, Some(1), values),
    builtin!("items", 1, Some(1), items),
    builtin!("has", 2, Some(2), has),
    builtin!("copy", 1, Some(1), copy),
    builtin!("range", 1, Some(3), range),
    builtin!("list", 1, Some(1), list_fn),
    builtin!("map", 2, Some(2), map_fn),
    builtin!("filter", 2, Some(2), filter),
    builtin!("reduce", 3, Some(3), reduce),
    builtin!("any", 2, Some(2), any),
    builtin!("all", 2, Some(2), all),
    builtin!("sort", 1, Some(2), sort),
    builtin!("reverse", 1, Some(1), reverse),
    builtin!("enumerate", 1, Some(1), enumerate),
    builtin!("zip", 2, Some(2), zip),
    builtin!("sum", 1, Some(1), sum),
    builtin!("min", 1, None, min),
    builtin!("max", 1, None, max),
    builtin!("abs", 1, Some(1), abs),
    builtin!("sqrt", 1, Some(1), sqrt),
    builtin!("floor", 1, Some(1), floor),
    builtin!("ceil", 1, Some(1), ceil),
    builtin!("round", 1, Some(1), round),
    builtin!("join", 2, Some(2), join),
    builtin!("split", 2, Some(2), split),
    builtin!("trim", 1, Some(1), trim),
    builtin!("upper", 1, Some(1), upper),
    builtin!("lower", 1, Some(1), lower),
    builtin!("chars", 1, Some(1), chars),
    builtin!("ord", 1, Some(1), ord),
    builtin!("chr", 1, Some(1), chr),
    builtin!("contains", 2, Some(2), contains),
    builtin!("index_of", 2, Some(2), index_of),
    builtin!("starts_with", 2, Some(2), starts_with),
    builtin!("ends_with", 2, Some(2), ends_with),
    builtin!("replace", 3, Some(3), replace),
    builtin!("assert", 1, Some(2), assert),
    builtin!("error", 1, Some(1), error),
];

fn type_error(pos: Pos, func: &str, expected: &str, got: &Value) -> Error {
    Error::runtime(pos, format!("{}: expected {}, got {}", func, expected, got.type_name()))
}

fn want_str<'v>(v: &'v Value, func: &str, pos: Pos) -> Result<&'v str> {
    match v {
        Value::Str(s) => Ok(s),
        other => Err(type_error(pos, func, "string", other)),
    }
}

fn want_int(v: &Value, func: &str, pos: Pos) -> Result<i64> {
    match v {
        Value::Int(n) => Ok(*n),
        other => Err(type_error(pos, func, "int", other)),
    }
}

/// Materialises any iterable (list, range, string, map keys) as a vector.
fn to_vec(v: &Value, func: &str, pos: Pos) -> Result<Vec<Value>> {
    match v {
        Value::List(l) => Ok(l.borrow().clone()),
        Value::Range(a, b) => {
            if b.saturating_sub(*a) > 1 << 24 {
                return Err(Error::runtime(pos, format!("{}: range too large", func)));
            }
            Ok((*a..*b).map(Value::Int).collect())
        }
        Value::Str(s) => Ok(s.chars().map(|c| Value::str(c.encode_utf8(&mut [0; 4]))).collect()),
        Value::Map(m) => Ok(m.borrow().keys().map(Key::to_value).collect()),
        other => Err(type_error(pos, func, "an iterable", other)),
    }
}

fn joined(args: &[Value]) -> String {
    args.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(" ")
}

fn print(it: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    it.write_out(&joined(args), pos)?;
    Ok(Value::Nil)
}

fn println(it: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    let mut s = joined(args);
    s.push('\n');
    it.write_out(&s, pos)?;
    Ok(Value::Nil)
}

/// Formats one `{...}` placeholder. Supported specs: empty, `N` (right
/// align to width N), `-N` (left align), `.P` (float precision) and
/// combinations such as `8.2` or `-8.2`.
fn format_one(spec: &str, v: &Value, pos: Pos) -> Result<String> {
    let bad = || Error::runtime(pos, format!("format: invalid placeholder {{:{}}}", spec));
    let (left, rest) = match spec.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, spec),
    };
    let (width, precision) = match rest.split_once('.') {
        Some((w, p)) => (w, Some(p.parse::<usize>().map_err(|_| bad())?)),
        None => (rest, None),
    };
    let width = if width.is_empty() {
        0
    } else {
        width.parse::<usize>().map_err(|_| bad())?
    };
    let text = match (precision, v) {
        (Some(p), Value::Float(x)) => format!("{:.*}", p, x),
        (Some(p), Value::Int(n)) => format!("{:.*}", p, *n as f64),
        (Some(_), other) => return Err(type_error(pos, "format", "a number for precision", other)),
        (None, v) => v.to_string(),
    };
    let len = text.chars().count();
    if len >= width {
        return Ok(text);
    }
    let pad = " ".repeat(width - len);
    Ok(if left { text + &pad } else { pad + &text })
}

/// `format("{} has {:5.1}%", name, pct)`; `{{` and `}}` are literal braces.
pub fn format_str(fmt: &str, args: &[Value], pos: Pos) -> Result<String> {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut spec = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => spec.push(c),
                        None => return Err(Error::runtime(pos, "format: unterminated placeholder")),
                    }
                }
                let spec = match spec.strip_prefix(':') {
                    Some(s) => s.to_string(),
                    None if spec.is_empty() => spec,
                    None => return Err(Error::runtime(pos, format!("format: invalid placeholder {{{}}}", spec))),
                };
                let v = args
                    .get(next)
                    .ok_or_else(|| Error::runtime(pos, "format: not enough arguments for placeholders"))?;
                out.push_str(&format_one(&spec, v, pos)?);
                next += 1;
            }
            '}' => return Err(Error::runtime(pos, "format: unmatched `}`")),
            c => out.push(c),
        }
    }
    if next != args.len() {
        return Err(Error::runtime(
            pos,
            format!("format: {} argument(s) unused", args.len() - next),
        ));
    }
    Ok(out)
}

fn format_fn(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    let fmt = want_str(&args[0], "format", pos)?;
    Ok(Value::str(&format_str(fmt, &args[1..], pos)?))
}

fn len(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    let n = match &args[0] {
        Value::Str(s) => s.chars().count(),
        Value::List(l) => l.borrow().len(),
        Value::Map(m) => m.borrow().len(),
        Value::Range(a, b) => (b.saturating_sub(*a)).max(0) as usize,
        other => return Err(type_error(pos, "len", "string, list, map or range", other)),
    };
    Ok(Value::Int(n as i64))
}

fn type_fn(_: &mut Interp<'_>, args: &[Value], _: Pos) -> Result<Value> {
    Ok(Value::str(args[0].type_name()))
}

fn str_fn(_: &mut Interp<'_>, args: &[Value], _: Pos) -> Result<Value> {
    Ok(Value::str(&args[0].to_string()))
}

fn repr(_: &mut Interp<'_>, args: &[Value], _: Pos) -> Result<Value> {
    Ok(Value::str(&args[0].repr()))
}

fn int_fn(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    match &args[0] {
        Value::Int(n) => Ok(Value::Int(*n)),
        Value::Bool(b) => Ok(Value::Int(*b as i64)),
        Value::Float(x) => {
            if x.is_finite() && x.abs() < 9.2e18 {
                Ok(Value::Int(x.trunc() as i64))
            } else {
                Err(Error::runtime(
                    pos,
                    format!("int: {} does not fit in an integer", Value::Float(*x)),
                ))
            }
        }
        Value::Str(s) => s
            .trim()
            .parse::<i64>()
            .map(Value::Int)
            .map_err(|_| Error::runtime(pos, format!("int: invalid integer {:?}", s.to_string()))),
        other => Err(type_error(pos, "int", "number, bool or string", other)),
    }
}

fn float_fn(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    match &args[0] {
        Value::Int(n) => Ok(Value::Float(*n as f64)),
        Value::Float(x) => Ok(Value::Float(*x)),
        Value::Str(s) => s
            .trim()
            .parse::<f64>()
            .map(Value::Float)
            .map_err(|_| Error::runtime(pos, format!("float: invalid number {:?}", s.to_string()))),
        other => Err(type_error(pos, "float", "number or string", other)),
    }
}

fn push(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    match &args[0] {
        Value::List(l) => {
            l.borrow_mut().push(args[1].clone());
            Ok(Value::Nil)
        }
        other => Err(type_error(pos, "push", "list", other)),
    }
}

fn pop(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    match &args[0] {
        Value::List(l) => l
            .borrow_mut()
            .pop()
            .ok_or_else(|| Error::runtime(pos, "pop: empty list")),
        other => Err(type_error(pos, "pop", "list", other)),
    }
}

fn insert(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    match &args[0] {
        Value::List(l) => {
            let len = l.borrow().len();
            // Inserting at `len` appends.
            let i = if args[1] == Value::Int(len as i64) {
                len
            } else {
                list_index(&args[1], len, pos)?
            };
            l.borrow_mut().insert(i, args[2].clone());
            Ok(Value::Nil)
        }
        other => Err(type_error(pos, "insert", "list", other)),
    }
}

fn remove(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    match &args[0] {
        Value::List(l) => {
            let len = l.borrow().len();
            let i = list_index(&args[1], len, pos)?;
            Ok(l.borrow_mut().remove(i))
        }
        Value::Map(m) => {
            let key = args[1]
                .to_key()
                .ok_or_else(|| Error::runtime(pos, format!("{} cannot be a map key", args[1].type_name())))?;
            Ok(m.borrow_mut().remove(&key).unwrap_or(Value::Nil))
        }
        other => Err(type_error(pos, "remove", "list or map", other)),
    }
}

fn keys(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    match &args[0] {
        Value::Map(m) => Ok(Value::list(m.borrow().keys().map(Key::to_value).collect())),
        other => Err(type_error(pos, "keys", "map", other)),
    }
}

fn values(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    match &args[0] {
        Value::Map(m) => Ok(Value::list(m.borrow().values().cloned().collect())),
        other => Err(type_error(pos, "values", "map", other)),
    }
}

fn items(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    match &args[0] {
        Value::Map(m) => Ok(Value::list(
            m.borrow()
                .iter()
                .map(|(k, v)| Value::list(vec![k.to_value(), v.clone()]))
                .collect(),
        )),
        other => Err(type_error(pos, "items", "map", other)),
    }
}

fn has(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    match &args[0] {
        Value::Map(m) => Ok(Value::Bool(
            args[1].to_key().map_or(false, |k| m.borrow().contains_key(&k)),
        )),
        other => Err(type_error(pos, "has", "map", other)),
    }
}

fn copy(_: &mut Interp<'_>, args: &[Value], _: Pos) -> Result<Value> {
    Ok(match &args[0] {
        Value::List(l) => Value::list(l.borrow().clone()),
        Value::Map(m) => Value::map(m.borrow().clone()),
        other => other.clone(),
    })
}

fn range(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    let ints: Vec<i64> = args.iter().map(|a| want_int(a, "range", pos)).collect::<Result<_>>()?;
    let (start, end, step) = match ints.len() {
        1 => (0, ints[0], 1),
        2 => (ints[0], ints[1], 1),
        _ => (ints[0], ints[1], ints[2]),
    };
    if step == 0 {
        return Err(Error::runtime(pos, "range: step must not be zero"));
    }
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < end) || (step < 0 && i > end) {
        if out.len() >= 1 << 24 {
            return Err(Error::runtime(pos, "range: too many elements"));
        }
        out.push(Value::Int(i));
        i = match i.checked_add(step) {
            Some(n) => n,
            None => break,
        };
    }
    Ok(Value::list(out))
}

fn list_fn(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    Ok(Value::list(to_vec(&args[0], "list", pos)?))
}

fn map_fn(it: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    let items = to_vec(&args[0], "map", pos)?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(it.call(&args[1], &[item], pos)?);
    }
    Ok(Value::list(out))
}

fn filter(it: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    let mut out = Vec::new();
    for item in to_vec(&args[0], "filter", pos)? {
        if it.call(&args[1], std::slice::from_ref(&item), pos)?.truthy() {
            out.push(item);
        }
    }
    Ok(Value::list(out))
}

fn reduce(it: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    let mut acc = args[2].clone();
    for item in to_vec(&args[0], "reduce", pos)? {
        acc = it.call(&args[1], &[acc, item], pos)?;
    }
    Ok(acc)
}

fn any(it: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    for item in to_vec(&args[0], "any", pos)? {
        if it.call(&args[1], &[item], pos)?.truthy() {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn all(it: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    for item in to_vec(&args[0], "all", pos)? {
        if !it.call(&args[1], &[item], pos)?.truthy() {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

/// Stable merge sort that propagates comparison errors.
fn merge_sort(items: &mut Vec<(Value, Value)>, pos: Pos) -> Result<()> {
    if items.len() <= 1 {
        return Ok(());
    }
    let mut right = items.split_off(items.len() / 2);
    merge_sort(items, pos)?;
    merge_sort(&mut right, pos)?;
    let left = std::mem::take(items);
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut l = left.into_iter().peekable();
    let mut r = right.into_iter().peekable();
    while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
        let ord = compare(&a.0, &b.0).ok_or_else(|| {
            Error::runtime(
                pos,
                format!("sort: cannot compare {} with {}", a.0.type_name(), b.0.type_name()),
            )
        })?;
        if ord == Ordering::Greater {
            out.extend(r.next());
        } else {
            out.extend(l.next());
        }
    }
    out.extend(l);
    out.extend(r);
    *items = out;
    Ok(())
}

fn sort(it: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    let items = to_vec(&args[0], "sort", pos)?;
    let mut keyed = Vec::with_capacity(items.len());
    for item in items {
        let key = match args.get(1) {
            Some(f) => it.call(f, std::slice::from_ref(&item), pos)?,
            None => item.clone(),
        };
        keyed.push((key, item));
    }
    merge_sort(&mut keyed, pos)?;
    Ok(Value::list(keyed.into_iter().map(|(_, v)| v).collect()))
}

fn reverse(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    match &args[0] {
        Value::Str(s) => Ok(Value::str(&s.chars().rev().collect::<String>())),
        other => {
            let mut v = to_vec(other, "reverse", pos)?;
            v.reverse();
            Ok(Value::list(v))
        }
    }
}

fn enumerate(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    let v = to_vec(&args[0], "enumerate", pos)?;
    Ok(Value::list(
        v.into_iter()
            .enumerate()
            .map(|(i, x)| Value::list(vec![Value::Int(i as i64), x]))
            .collect(),
    ))
}

fn zip(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    let a = to_vec(&args[0], "zip", pos)?;
    let b = to_vec(&args[1], "zip", pos)?;
    Ok(Value::list(
        a.into_iter().zip(b).map(|(x, y)| Value::list(vec![x, y])).collect(),
    ))
}

fn sum(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    let mut acc = Value::Int(0);
    for item in to_vec(&args[0], "sum", pos)? {
        acc = crate::interp::binary(crate::ast::BinOp::Add, &acc, &item, pos)?;
    }
    Ok(acc)
}

fn extreme(args: &[Value], name: &str, want: Ordering, pos: Pos) -> Result<Value> {
    let items = if args.len() == 1 {
        to_vec(&args[0], name, pos)?
    } else {
        args.to_vec()
    };
    let mut best: Option<Value> = None;
    for item in items {
        best = Some(match best {
            None => item,
            Some(b) => {
                let ord = compare(&item, &b).ok_or_else(|| {
                    Error::runtime(
                        pos,
                        format!("{}: cannot compare {} with {}", name, item.type_name(), b.type_name()),
                    )
                })?;
                if ord == want {
                    item
                } else {
                    b
                }
            }
        });
    }
    best.ok_or_else(|| Error::runtime(pos, format!("{}: empty sequence", name)))
}

fn min(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    extreme(args, "min", Ordering::Less, pos)
}

fn max(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    extreme(args, "max", Ordering::Greater, pos)
}

fn abs(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    match &args[0] {
        Value::Int(n) => n
            .checked_abs()
            .map(Value::Int)
            .ok_or_else(|| Error::runtime(pos, "integer overflow")),
        Value::Float(x) => Ok(Value::Float(x.abs())),
        other => Err(type_error(pos, "abs", "number", other)),
    }
}

fn num(v: &Value, func: &str, pos: Pos) -> Result<f64> {
    match v {
        Value::Int(n) => Ok(*n as f64),
        Value::Float(x) => Ok(*x),
        other => Err(type_error(pos, func, "number", other)),
    }
}

fn sqrt(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    // IEEE 754 requires sqrt to be correctly rounded, so this is exact and
    // portable (transcendental functions are deliberately not provided).
    Ok(Value::Float(num(&args[0], "sqrt", pos)?.sqrt()))
}

fn to_int_checked(x: f64, func: &str, pos: Pos) -> Result<Value> {
    if x.is_finite() && x.abs() < 9.2e18 {
        Ok(Value::Int(x as i64))
    } else {
        Err(Error::runtime(
            pos,
            format!("{}: result does not fit in an integer", func),
        ))
    }
}

fn floor(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    to_int_checked(num(&args[0], "floor", pos)?.floor(), "floor", pos)
}

fn ceil(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    to_int_checked(num(&args[0], "ceil", pos)?.ceil(), "ceil", pos)
}

fn round(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    to_int_checked(num(&args[0], "round", pos)?.round(), "round", pos)
}

fn join(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    let sep = want_str(&args[1], "join", pos)?;
    let parts: Vec<String> = to_vec(&args[0], "join", pos)?.iter().map(|v| v.to_string()).collect();
    Ok(Value::str(&parts.join(sep)))
}

fn split(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    let s = want_str(&args[0], "split", pos)?;
    let sep = want_str(&args[1], "split", pos)?;
    let parts: Vec<Value> = if sep.is_empty() {
        s.split_whitespace().map(Value::str).collect()
    } else {
        s.split(sep).map(Value::str).collect()
    };
    Ok(Value::list(parts))
}

fn trim(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    Ok(Value::str(want_str(&args[0], "trim", pos)?.trim()))
}

fn upper(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    Ok(Value::str(&want_str(&args[0], "upper", pos)?.to_uppercase()))
}

fn lower(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    Ok(Value::str(&want_str(&args[0], "lower", pos)?.to_lowercase()))
}

fn chars(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    want_str(&args[0], "chars", pos)?;
    Ok(Value::list(to_vec(&args[0], "chars", pos)?))
}

fn ord(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    let s = want_str(&args[0], "ord", pos)?;
    let mut it = s.chars();
    match (it.next(), it.next()) {
        (Some(c), None) => Ok(Value::Int(c as i64)),
        _ => Err(Error::runtime(pos, "ord: expected a single character")),
    }
}

fn chr(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    let n = want_int(&args[0], "chr", pos)?;
    let c = u32::try_from(n)
        .ok()
        .and_then(char::from_u32)
        .ok_or_else(|| Error::runtime(pos, format!("chr: {} is not a valid code point", n)))?;
    Ok(Value::str(c.encode_utf8(&mut [0; 4])))
}

fn contains(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    Ok(Value::Bool(match &args[0] {
        Value::Str(s) => s.contains(want_str(&args[1], "contains", pos)?),
        Value::List(l) => l.borrow().iter().any(|v| equal(v, &args[1])),
        Value::Map(m) => args[1].to_key().map_or(false, |k| m.borrow().contains_key(&k)),
        Value::Range(a, b) => matches!(args[1], Value::Int(n) if *a <= n && n < *b),
        other => return Err(type_error(pos, "contains", "string, list, map or range", other)),
    }))
}

fn index_of(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    let idx = match &args[0] {
        Value::Str(s) => {
            let needle = want_str(&args[1], "index_of", pos)?;
            s.find(needle).map(|b| s[..b].chars().count())
        }
        Value::List(l) => l.borrow().iter().position(|v| equal(v, &args[1])),
        other => return Err(type_error(pos, "index_of", "string or list", other)),
    };
    Ok(Value::Int(idx.map_or(-1, |i| i as i64)))
}

fn starts_with(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    let s = want_str(&args[0], "starts_with", pos)?;
    Ok(Value::Bool(s.starts_with(want_str(&args[1], "starts_with", pos)?)))
}

fn ends_with(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    let s = want_str(&args[0], "ends_with", pos)?;
    Ok(Value::Bool(s.ends_with(want_str(&args[1], "ends_with", pos)?)))
}

fn replace(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    let s = want_str(&args[0], "replace", pos)?;
    let from = want_str(&args[1], "replace", pos)?;
    let to = want_str(&args[2], "replace", pos)?;
    if from.is_empty() {
        return Err(Error::runtime(pos, "replace: pattern must not be empty"));
    }
    Ok(Value::str(&s.replace(from, to)))
}

fn assert(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    if args[0].truthy() {
        return Ok(Value::Nil);
    }
    let msg = match args.get(1) {
        Some(m) => format!("assertion failed: {}", m),
        None => "assertion failed".to_string(),
    };
    Err(Error::runtime(pos, msg))
}

fn error(_: &mut Interp<'_>, args: &[Value], pos: Pos) -> Result<Value> {
    Err(Error::runtime(pos, args[0].to_string()))
}

/// Builds a map from string keys; convenience for native code and tests.
pub fn string_map(entries: &[(&str, Value)]) -> Value {
    let mut m = BTreeMap::new();
    for (k, v) in entries {
        m.insert(Key::Str((*k).into()), v.clone());
    }
    Value::map(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting() {
        let p = Pos::new(1, 1);
        let s = format_str(
            "{}|{:5}|{:-5}|{:.2}|{:8.3}|{{}}",
            &[
                Value::str("a"),
                Value::Int(42),
                Value::str("ab"),
                Value::Float(2.0 / 3.0),
                Value::Int(7),
            ],
            p,
        )
        .unwrap();
        assert_eq!(s, "a|   42|ab   |0.67|   7.000|{}");
        assert!(format_str("{}", &[], p).is_err());
        assert!(format_str("{}", &[Value::Nil, Value::Nil], p).is_err());
        assert!(format_str("{:x}", &[Value::Nil], p).is_err());
        assert!(format_str("{:.2}", &[Value::str("s")], p).is_err());
        assert!(format_str("}", &[], p).is_err());
        assert!(format_str("{", &[], p).is_err());
    }

    #[test]
    fn builtin_names_are_unique() {
        let mut names: Vec<&str> = BUILTINS.iter().map(|b| b.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn string_map_helper() {
        let m = string_map(&[("b", Value::Int(2)), ("a", Value::Int(1))]);
        assert_eq!(m.to_string(), "{\"a\": 1, \"b\": 2}");
    }
}
