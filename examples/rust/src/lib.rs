//! ember: a small, dynamically typed scripting language.
//!
//! The pipeline is [`lexer`] → [`parser`] (producing an [`ast`]) →
//! [`interp`] (a tree-walking evaluator). [`printer`] turns a syntax tree
//! back into canonical source text.
//!
//! ```
//! let mut out = Vec::new();
//! ember::run_source("let xs = [3, 1, 2]; println(sort(xs), len(xs));", &mut out).unwrap();
//! assert_eq!(String::from_utf8(out).unwrap(), "[1, 2, 3] 3\n");
//! ```
//!
//! Numbers are 64-bit integers with overflow checks and IEEE doubles. Only
//! correctly rounded float operations (+ - * / sqrt, integer powers) are
//! offered, so a program prints the same output on every platform.

pub mod ast;
pub mod builtins;
pub mod error;
pub mod interp;
pub mod lexer;
pub mod parser;
pub mod printer;
pub mod value;

pub use error::{Error, ErrorKind, Pos, Result};
pub use interp::Interp;
pub use value::Value;

use std::io::Write;

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Parses and runs `src`, writing program output to `out`.
pub fn run_source(src: &str, out: &mut dyn Write) -> Result<()> {
    let program = parser::parse(src)?;
    Interp::new(out).run(&program)
}

/// Parses `src` and returns it in canonical formatting.
pub fn format_source(src: &str) -> Result<String> {
    Ok(printer::print_program(&parser::parse(src)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `src` on a thread with a large stack (like the CLI does), so
    /// the deep-recursion tests also pass in unoptimised builds.
    fn run_result(src: &str) -> (Result<()>, String) {
        let src = src.to_string();
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(move || {
                let mut out = Vec::new();
                let r = run_source(&src, &mut out);
                (r, String::from_utf8(out).unwrap())
            })
            .unwrap()
            .join()
            .unwrap()
    }

    fn run(src: &str) -> String {
        let (r, out) = run_result(src);
        if let Err(e) = r {
            panic!("{}\noutput so far: {}", e, out);
        }
        out
    }

    fn run_err(src: &str) -> String {
        run_result(src).0.unwrap_err().to_string()
    }

    #[test]
    fn arithmetic_and_precedence() {
        assert_eq!(
            run("println(1 + 2 * 3, -2 ** 2, (-2) ** 2, 2 ** 3 ** 2, 7 / 2, -7 / 2, -7 % 3, 7 / 2.0);"),
            "7 -4 4 512 3 -4 2 3.5\n"
        );
        assert_eq!(
            run("println(0.1 + 0.2, 1e3, 2 ** -1, 10 == 10.0, \"a\" + \"b\", [1] + [2], \"-\" * 3);"),
            "0.30000000000000004 1000.0 0.5 true ab [1, 2] ---\n"
        );
    }

    #[test]
    fn variables_scopes_and_closures() {
        let src = r#"
            let x = 1;
            if true { let x = 2; x += 40; println(x); }
            println(x);
            fn counter() { let n = 0; return fn() { n += 1; return n; }; }
            let c = counter();
            c(); c();
            println(c());
            let d = counter();
            println(d(), c());
        "#;
        assert_eq!(run(src), "42\n1\n3\n1 4\n");
    }

    #[test]
    fn recursion_and_loops() {
        let src = r#"
            fn fib(n) { if n < 2 { return n; } return fib(n - 1) + fib(n - 2); }
            let out = [];
            for i in 0..10 { if i % 2 == 1 { continue; } push(out, fib(i)); }
            println(out);
            let i = 0;
            while true { i += 1; if i > 5 { break; } }
            println(i);
            for ch in "héj" { print(ch, ""); }
            println();
            for k in {b: 1, a: 2} { print(k); }
            println();
        "#;
        assert_eq!(run(src), "[0, 1, 3, 8, 21]\n6\nh é j \nab\n");
    }

    #[test]
    fn lists_and_maps_are_references() {
        let src = r#"
            let a = [1, 2];
            let b = a;
            push(b, 3);
            let m = {"list": a};
            m.list[0] = 10;
            m.count = 1;
            m["count"] += 1;
            println(a, m);
            let c = copy(a);
            c[0] = 0;
            println(a[0], c[0], a[-1], a[1..], len(m), m.missing);
        "#;
        assert_eq!(
            run(src),
            "[10, 2, 3] {\"count\": 2, \"list\": [10, 2, 3]}\n10 0 3 [2, 3] 2 nil\n"
        );
    }

    #[test]
    fn higher_order_builtins() {
        let src = r#"
            let xs = range(1, 11);
            println(map(xs, fn(x) => x * x)[..3], sum(filter(xs, fn(x) => x % 3 == 0)));
            println(reduce(xs, fn(a, b) => a * b, 1), any(xs, fn(x) => x > 9), all(xs, fn(x) => x > 1));
            let words = split("the quick brown fox jumps over the lazy dog", " ");
            println(sort(words, fn(w) => [-len(w), w]));
            println(enumerate(["a", "b"]), zip([1, 2, 3], "xy"), reverse("abc"), max(3, 9, 2), min([4, 1]));
            println(format("{:-6}|{:6.2}|{}", "ab", 3.14159, [1]), upper("x"), index_of("héllo", "l"));
        "#;
        assert_eq!(
            run(src),
            "[1, 4, 9] 18\n3628800 true false\n\
             [\"brown\", \"jumps\", \"quick\", \"lazy\", \"over\", \"dog\", \"fox\", \"the\", \"the\"]\n\
             [[0, \"a\"], [1, \"b\"]] [[1, \"x\"], [2, \"y\"]] cba 9 1\nab    |  3.14|[1] X 2\n"
        );
    }

    #[test]
    fn try_catch() {
        let src = r#"
            fn risky(n) { if n > 2 { error("too big: " + str(n)); } return n; }
            for i in 1..5 {
                try { println(risky(i)); } catch e { println("caught", e); }
            }
            try { let x = [1][5]; } catch e { println(e); }
            try { undefined_fn(); } catch e { println(e); }
        "#;
        assert_eq!(
            run(src),
            "1\n2\ncaught too big: 3\ncaught too big: 4\nindex 5 out of range for length 1\nundefined variable `undefined_fn`\n"
        );
    }

    #[test]
    fn runtime_errors() {
        assert_eq!(
            run_err("let x = 1;\nx = x / 0;"),
            "runtime error at 2:7: division by zero"
        );
        assert_eq!(
            run_err("y = 1;"),
            "runtime error at 1:1: assignment to undeclared variable `y` (use `let`)"
        );
        assert_eq!(
            run_err("fn f(a) { return a; }\nf(1, 2);"),
            "runtime error at 2:2: f expects 1 argument(s), got 2"
        );
        assert_eq!(
            run_err("len(1, 2);"),
            "runtime error at 1:4: len expects 1 argument(s), got 2"
        );
        assert_eq!(run_err("break;"), "runtime error at 1:1: `break` outside of a loop");
        assert_eq!(
            run_err("fn f() { return f(); } f();"),
            "runtime error at 1:18: stack overflow (more than 400 nested calls)"
        );
        assert_eq!(
            run_err("assert(1 > 2, \"math\");"),
            "runtime error at 1:7: assertion failed: math"
        );
        assert_eq!(
            run_err("let m = {}; m[[1]] = 2;"),
            "runtime error at 1:14: list cannot be a map key"
        );
        assert_eq!(
            run_err("for x in 5 {}"),
            "runtime error at 1:1: cannot iterate over int"
        );
        assert_eq!(run_err("3();"), "runtime error at 1:2: int is not callable");
        assert_eq!(
            run_err("let x = 9223372036854775807; x += 1;"),
            "runtime error at 1:32: integer overflow"
        );
        assert_eq!(
            run_err("sort([1, \"a\"]);"),
            "runtime error at 1:5: sort: cannot compare int with string"
        );
    }

    #[test]
    fn formatter_is_idempotent() {
        let src = "fn  f(x){ return x*2 ; }   let y=[f(1),{a:1}];   # trailing comment\nprintln(y);";
        let formatted = format_source(src).unwrap();
        assert_eq!(
            formatted,
            "fn f(x) {\n    return x * 2;\n}\n\nlet y = [f(1), {\"a\": 1}];\nprintln(y);\n"
        );
        assert_eq!(format_source(&formatted).unwrap(), formatted);
        assert_eq!(run(&formatted), run(src));
    }
}
