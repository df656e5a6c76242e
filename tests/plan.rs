//! End-to-end tests of `crossdock plan` on the example projects.

use std::path::Path;
use std::process::Command;

fn crossdock(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_crossdock"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("crossdock runs")
}

fn plan_json(example: &str) -> serde_json::Value {
    let file = format!("examples/{example}/Dockerfile");
    let out = crossdock(&[
        "plan",
        "-f",
        &file,
        "--platform",
        "linux/amd64,linux/arm64,linux/arm/v7",
        "--build-platform",
        "linux/amd64",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "plan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("plan prints JSON")
}

/// (platform, toolchain summary, mode) for every RUN that runs a toolchain.
fn toolchain_modes(plan: &serde_json::Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for p in plan["platforms"].as_array().expect("platforms") {
        for s in p["stages"].as_array().expect("stages") {
            for st in s["steps"].as_array().expect("steps") {
                let tools: Vec<&str> = st["toolchain"]
                    .as_array()
                    .expect("toolchain")
                    .iter()
                    .filter_map(|t| t.as_str())
                    .collect();
                if !tools.is_empty() {
                    out.push((
                        p["platform"].as_str().unwrap_or("").to_string(),
                        tools.join(","),
                        st["mode"].as_str().unwrap_or("").to_string(),
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn go_example_compiles_natively_for_amd64_and_under_emulation_otherwise() {
    let plan = plan_json("go");
    let build: Vec<_> = toolchain_modes(&plan)
        .into_iter()
        .filter(|(_, t, _)| t.contains("go build"))
        .map(|(p, _, m)| (p, m))
        .collect();
    assert_eq!(
        build,
        [
            ("linux/amd64".to_string(), "native".to_string()),
            ("linux/arm64".to_string(), "emulated".to_string()),
            ("linux/arm/v7".to_string(), "emulated".to_string()),
        ]
    );
}

#[test]
fn example_plans_match_snapshots() {
    for example in ["go", "rust", "c-make", "c-cmake"] {
        if !Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(example)
            .join("Dockerfile")
            .exists()
        {
            panic!("examples/{example}/Dockerfile is missing");
        }
        let mut plan = plan_json(example);
        plan["file"] = serde_json::Value::String(format!("examples/{example}/Dockerfile"));
        insta::assert_json_snapshot!(format!("plan-{example}"), plan);
    }
}

#[test]
fn table_output_names_stages_and_modes() {
    let out = crossdock(&[
        "plan",
        "examples/go",
        "--platform",
        "linux/arm64",
        "--build-platform",
        "linux/amd64",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("linux/arm64 → target stage"), "{text}");
    assert!(text.contains("emulated"), "{text}");
    assert!(text.contains("go build"), "{text}");
}

#[test]
fn broken_dockerfile_reports_file_line_col_and_exits_2() {
    let dir = std::env::temp_dir().join(format!("crossdock-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("Dockerfile");
    std::fs::write(&file, "FROM alpine\nRUN true\nENV ONLY_A_NAME\n").expect("write");
    let out = crossdock(&["plan", "-f", file.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let first = err.lines().next().unwrap_or("");
    assert_eq!(
        first,
        format!("{}:3:1: ENV must have two arguments", file.display())
    );
    assert!(
        err.contains("ENV ONLY_A_NAME"),
        "shows the source line: {err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn unknown_platform_names_the_accepted_forms() {
    let out = crossdock(&["plan", "examples/go", "--platform", "linux/amd64,linux//x"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("linux//x"), "{err}");
    assert!(err.contains("linux/arm64"), "lists accepted forms: {err}");
}

#[test]
fn unknown_target_stage_lists_the_stages() {
    let out = crossdock(&["plan", "examples/go", "--target", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("target stage \"nope\" could not be found"),
        "{err}"
    );
}
