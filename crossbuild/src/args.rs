//! BuildKit's automatic platform ARGs (`BUILDPLATFORM`, `TARGETARCH`, ...).

use crate::Platform;

/// The names of the automatic platform ARGs, in the order BuildKit's
/// `defaultArgs()` defines them.
pub const AUTOMATIC_ARGS: [&str; 11] = [
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDOSVERSION",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETOSVERSION",
    "TARGETARCH",
    "TARGETVARIANT",
    "TARGETSTAGE",
];

/// The value of `TARGETSTAGE` when the target stage has no name.
pub const DEFAULT_TARGET_STAGE: &str = "default";

/// Whether `name` is one of the [`AUTOMATIC_ARGS`] (ARG names are case-sensitive).
pub fn is_automatic_arg(name: &str) -> bool {
    AUTOMATIC_ARGS.contains(&name)
}

/// The automatic platform ARGs for a build running on `build` and producing
/// `target`, whose target stage is named `target_stage` (empty for an unnamed
/// stage, which BuildKit reports as `default`).
///
/// The values follow BuildKit's `defaultArgs()`: `BUILDPLATFORM` is the build
/// platform without its OS version, `TARGETPLATFORM` includes it
/// (`os(version)/arch`), and a missing variant or OS version is an empty string.
/// The pairs come in [`AUTOMATIC_ARGS`] order. They live in the global scope; a
/// `--build-arg` of the same name overrides each one, which is the caller's part.
///
/// ```
/// use crossbuild::{automatic_args, Platform};
///
/// let build = Platform::parse("linux/amd64")?;
/// let target = Platform::parse("linux/arm/v7")?;
/// let args = automatic_args(&build, &target, "");
/// assert_eq!(args[0], ("BUILDPLATFORM", "linux/amd64".to_string()));
/// assert_eq!(args[8], ("TARGETARCH", "arm".to_string()));
/// assert_eq!(args[10], ("TARGETSTAGE", "default".to_string()));
/// # Ok::<(), crossbuild::ParsePlatformError>(())
/// ```
pub fn automatic_args(
    build: &Platform,
    target: &Platform,
    target_stage: &str,
) -> Vec<(&'static str, String)> {
    let stage = if target_stage.is_empty() {
        DEFAULT_TARGET_STAGE
    } else {
        target_stage
    };
    let values = [
        build.to_string(),
        build.os().to_owned(),
        build.os_version().unwrap_or_default().to_owned(),
        build.arch().to_owned(),
        build.variant().unwrap_or_default().to_owned(),
        target.format_all(),
        target.os().to_owned(),
        target.os_version().unwrap_or_default().to_owned(),
        target.arch().to_owned(),
        target.variant().unwrap_or_default().to_owned(),
        stage.to_owned(),
    ];
    AUTOMATIC_ARGS.into_iter().zip(values).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(s: &str) -> Platform {
        Platform::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn cross_build_values() {
        let args = automatic_args(
            &platform("linux/amd64"),
            &platform("linux/arm/v7"),
            "release",
        );
        let want = [
            ("BUILDPLATFORM", "linux/amd64"),
            ("BUILDOS", "linux"),
            ("BUILDOSVERSION", ""),
            ("BUILDARCH", "amd64"),
            ("BUILDVARIANT", ""),
            ("TARGETPLATFORM", "linux/arm/v7"),
            ("TARGETOS", "linux"),
            ("TARGETOSVERSION", ""),
            ("TARGETARCH", "arm"),
            ("TARGETVARIANT", "v7"),
            ("TARGETSTAGE", "release"),
        ];
        let got: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn os_version_only_in_target_platform() {
        let build = platform("windows(10.0.17763)/amd64");
        let target = platform("windows(10.0.20348)/arm64");
        let args = automatic_args(&build, &target, "");
        let get = |name: &str| {
            args.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("BUILDPLATFORM"), Some("windows/amd64"));
        assert_eq!(get("BUILDOSVERSION"), Some("10.0.17763"));
        assert_eq!(get("TARGETPLATFORM"), Some("windows(10.0.20348)/arm64"));
        assert_eq!(get("TARGETOSVERSION"), Some("10.0.20348"));
        assert_eq!(get("TARGETSTAGE"), Some("default"));
    }

    #[test]
    fn names_match_the_pairs() {
        let p = platform("linux/arm64");
        let names: Vec<&str> = automatic_args(&p, &p, "x")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(names, AUTOMATIC_ARGS);
        assert!(is_automatic_arg("TARGETARCH"));
        assert!(is_automatic_arg("BUILDOSVERSION"));
        assert!(!is_automatic_arg("targetarch"));
        assert!(!is_automatic_arg("TARGETCPU"));
    }
}
