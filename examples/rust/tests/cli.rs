//! End-to-end tests of the `ember` binary.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn ember(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ember"));
    cmd.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn ember");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("wait for ember")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn sample_matches_expected_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let expected = std::fs::read_to_string(dir.join("testdata/expected.txt")).unwrap();
    let out = ember(&["testdata/sample.em"], None);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), expected);
}

#[test]
fn version_flag() {
    let out = ember(&["--version"], None);
    assert!(out.status.success());
    assert_eq!(stdout(&out), format!("ember {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn eval_and_stdin() {
    let out = ember(&["-e", "println(6 * 7);"], None);
    assert_eq!(stdout(&out), "42\n");
    let out = ember(&["-"], Some("for i in 0..3 { print(i); }"));
    assert_eq!(stdout(&out), "012");
}

#[test]
fn fmt_and_tokens() {
    let out = ember(&["--fmt", "-e", "let  x=[1,2];if x[0]>0{println(x);}"], None);
    assert_eq!(stdout(&out), "let x = [1, 2];\nif x[0] > 0 {\n    println(x);\n}\n");
    let out = ember(&["--tokens", "-e", "a+1"], None);
    assert_eq!(
        stdout(&out),
        "1:1\tidentifier `a`\n1:2\t`+`\n1:3\tinteger 1\n1:4\tend of input\n"
    );
    let out = ember(&["--check", "-e", "let x = ;"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "ember: <eval>:syntax error at 1:9: expected expression, found `;`\n"
    );
}

#[test]
fn runtime_error_keeps_earlier_output() {
    let out = ember(&["-e", "println(\"before\"); let x = 1 / 0;"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "before\n");
    assert!(
        stderr(&out).contains("runtime error at 1:30: division by zero"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn deep_recursion_and_depth_limit() {
    let prog = "fn down(n) { if n == 0 { return 0; } return 1 + down(n - 1); } println(down(5000));";
    let out = ember(&["--max-depth", "10000", "-e", prog], None);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), "5000\n");
    let out = ember(&["-e", prog], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("stack overflow (more than 400 nested calls)"));
}

#[test]
fn usage_errors() {
    for args in [
        &["--bogus"][..],
        &[][..],
        &["a.em", "b.em"][..],
        &["--max-depth", "0", "x"][..],
    ] {
        let out = ember(args, None);
        assert_eq!(out.status.code(), Some(2), "args {:?}", args);
        assert!(stderr(&out).contains("Usage: ember"));
    }
    let out = ember(&["does/not/exist.em"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("ember: does/not/exist.em: "));
}
