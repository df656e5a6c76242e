//! Choosing a platform's manifest from an image index, with containerd's matching rules.

use crossbuild::Platform;
use oci_spec::image::{Descriptor, ImageIndex};

/// The annotation BuildKit puts on attestation manifests in an index.
const REFERENCE_TYPE: &str = "vnd.docker.reference.type";

/// No manifest in an index (or a single-platform image) fits the requested platform.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformError {
    /// The index has no entry for the platform or a compatible one.
    #[error(
        "{image} has no manifest for {wanted}; it has {}; pass one of those with --platform",
        list(available)
    )]
    NoMatch {
        /// The image (its reference), for the message.
        image: String,
        /// The platform that was asked for, formatted.
        wanted: String,
        /// The runnable platforms of the index, in index order (attestations left out).
        available: Vec<String>,
    },
    /// A single-platform image is for another platform.
    #[error("{image} is a single-platform image for {found}, not {wanted}; pull it with --platform {found}")]
    Mismatch {
        /// The image (its reference), for the message.
        image: String,
        /// The platform that was asked for, formatted.
        wanted: String,
        /// The platform in the image's config.
        found: String,
    },
}

fn list(available: &[String]) -> String {
    if available.is_empty() {
        "no runnable platforms".to_owned()
    } else {
        available.join(", ")
    }
}

/// The platforms `wanted` accepts, best first, as containerd's `platforms.Only` orders them:
///
/// - `amd64/vN` accepts `vN` down to `v1` (written `amd64`), then `386`;
/// - `arm/vN` accepts `vN` down to `v5`;
/// - `arm64/v8.x` accepts `v8.x` down to `v8` (written `arm64`); `arm64/v9.x` accepts
///   `v9.x` down to `v9`, then `v8.{x+5}` (at most `v8.9`) down to `v8`; every `arm64`
///   then accepts 32-bit `arm/v8` down to `arm/v5` (containerd's rule; it assumes the CPU
///   runs AArch32 code);
/// - anything else accepts only itself.
///
/// ```
/// let wanted: crossbuild::Platform = "linux/arm/v7".parse()?;
/// let names: Vec<String> = builder::compatible_platforms(&wanted).iter().map(ToString::to_string).collect();
/// assert_eq!(names, ["linux/arm/v7", "linux/arm/v6", "linux/arm/v5"]);
/// # Ok::<(), crossbuild::ParsePlatformError>(())
/// ```
pub fn compatible_platforms(wanted: &Platform) -> Vec<Platform> {
    let mut vector = vec![wanted.clone()];
    let (os, os_version) = (wanted.os(), wanted.os_version());
    let make = |arch: &str, variant: Option<&str>| {
        Platform::from_parts(os, arch, variant, os_version).ok()
    };
    let level = |variant: Option<&str>| -> Option<u32> { variant?.strip_prefix('v')?.parse().ok() };
    match wanted.arch() {
        "amd64" => {
            let n = level(wanted.variant()).unwrap_or(1);
            vector.extend(
                (1..n)
                    .rev()
                    .filter_map(|v| make("amd64", Some(&format!("v{v}")))),
            );
            vector.extend(make("386", None));
        }
        "arm" => {
            if let Some(n) = level(wanted.variant()).filter(|n| *n > 5) {
                vector.extend(
                    (5..n)
                        .rev()
                        .filter_map(|v| make("arm", Some(&format!("v{v}")))),
                );
            }
        }
        "arm64" => vector.extend(arm64_fallbacks(wanted.variant().unwrap_or("v8"), &make)),
        _ => {}
    }
    let mut unique: Vec<Platform> = Vec::with_capacity(vector.len());
    for p in vector {
        if !unique.contains(&p) {
            unique.push(p);
        }
    }
    unique
}

/// The part of containerd's `platformVector` after the `arm64` request itself.
fn arm64_fallbacks(
    variant: &str,
    make: &dyn Fn(&str, Option<&str>) -> Option<Platform>,
) -> Vec<Platform> {
    let mut out = Vec::new();
    let (major_text, minor_text) = match variant.split_once('.') {
        Some((major, minor)) => (major, Some(minor)),
        None => (variant, None),
    };
    let major: Option<u32> = major_text.strip_prefix('v').and_then(|m| m.parse().ok());
    if let Some(mut major) = major.filter(|m| *m >= 8) {
        // containerd reads a minor only from four-character variants such as v8.2.
        let mut minor: u32 = match minor_text {
            Some(m) if variant.len() == 4 => m.parse().unwrap_or(0),
            _ => 0,
        };
        let name = |major: u32, minor: u32| {
            if minor == 0 {
                format!("v{major}")
            } else {
                format!("v{major}.{minor}")
            }
        };
        if major == 9 {
            out.extend(
                (0..minor)
                    .rev()
                    .filter_map(|m| make("arm64", Some(&name(9, m)))),
            );
            minor = (minor + 5).min(9);
            major = 8;
            out.extend(make("arm64", Some(&format!("v8.{minor}"))));
        }
        out.extend(
            (0..minor)
                .rev()
                .filter_map(|m| make("arm64", Some(&name(major, m)))),
        );
    }
    let arm_variant = if variant.starts_with("v8.") || variant.starts_with("v9.") {
        "v8"
    } else {
        variant
    };
    if let Some(arm) = make("arm", Some(arm_variant)) {
        out.extend(compatible_platforms(&arm));
    }
    out
}

/// The normalised platform of an index entry; `None` when it has none or it does not parse.
pub fn descriptor_platform(descriptor: &Descriptor) -> Option<Platform> {
    let p = descriptor.platform().as_ref()?;
    Platform::from_parts(
        &p.os().to_string(),
        &p.architecture().to_string(),
        p.variant().as_deref(),
        p.os_version().as_deref(),
    )
    .ok()
}

/// Whether an index entry is an attestation (BuildKit's `unknown/unknown` entries, or one
/// annotated `vnd.docker.reference.type`), which is never a runnable image.
pub fn is_attestation(descriptor: &Descriptor) -> bool {
    let unknown = descriptor.platform().as_ref().is_some_and(|p| {
        p.os().to_string() == "unknown" || p.architecture().to_string() == "unknown"
    });
    let annotated = descriptor
        .annotations()
        .as_ref()
        .is_some_and(|a| a.contains_key(REFERENCE_TYPE));
    unknown || annotated
}

/// The runnable platforms of an index, in index order, formatted (`linux/arm/v7`); entries
/// without a platform show as `(no platform)`.
pub fn index_platforms(index: &ImageIndex) -> Vec<String> {
    index
        .manifests()
        .iter()
        .filter(|d| !is_attestation(d))
        .map(|d| match (descriptor_platform(d), d.platform()) {
            (Some(p), _) => p.to_string(),
            (None, Some(p)) => format!("{}/{} (unparsable)", p.os(), p.architecture()),
            (None, None) => "(no platform)".to_owned(),
        })
        .collect()
}

/// Picks the manifest for `wanted` from `index`, as containerd does: among the entries
/// whose platform is in [`compatible_platforms`], the best-ranked one wins; a tie goes to
/// the entry with more `os.features`, then to the first in the index. (oci-spec 0.10 reads
/// `os.features` and `os.version` under the keys `os_features` and `os_version`, so with
/// standard JSON the tie goes to index order.) Attestations and
/// entries without a platform are never chosen; the OS version is not compared.
///
/// `image` names the image in the error, which lists the platforms available.
pub fn select_manifest<'a>(
    index: &'a ImageIndex,
    wanted: &Platform,
    image: &str,
) -> Result<&'a Descriptor, PlatformError> {
    let vector = compatible_platforms(wanted);
    let rank = |d: &Descriptor| {
        let p = descriptor_platform(d)?;
        vector
            .iter()
            .position(|v| v.os() == p.os() && v.arch() == p.arch() && v.variant() == p.variant())
    };
    let features = |d: &Descriptor| {
        d.platform()
            .as_ref()
            .and_then(|p| p.os_features().as_ref().map(Vec::len))
            .unwrap_or(0)
    };
    index
        .manifests()
        .iter()
        .filter(|d| !is_attestation(d))
        .filter_map(|d| Some((rank(d)?, d)))
        // min_by_key keeps the first of equal keys: index order breaks the last tie.
        .min_by_key(|(rank, d)| (*rank, std::cmp::Reverse(features(d))))
        .map(|(_, d)| d)
        .ok_or_else(|| PlatformError::NoMatch {
            image: image.to_owned(),
            wanted: wanted.to_string(),
            available: index_platforms(index),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        Platform::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn names(wanted: &str) -> Vec<String> {
        compatible_platforms(&p(wanted))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn index(entries: &[(&str, &str)]) -> ImageIndex {
        // (platform "os/arch[/variant]", "attestation" or "")
        let manifests: Vec<serde_json::Value> = entries
            .iter()
            .enumerate()
            .map(|(i, (platform, extra))| {
                let parts: Vec<&str> = platform.split('/').collect();
                let mut pl = serde_json::json!({"os": parts[0], "architecture": parts[1]});
                if let Some(v) = parts.get(2).filter(|v| !v.is_empty()) {
                    pl["variant"] = (*v).into();
                }
                let mut d = serde_json::json!({
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": format!("sha256:{:064x}", i),
                    "size": 100,
                    "platform": pl,
                });
                if *extra == "attestation" {
                    d["annotations"] = serde_json::json!({REFERENCE_TYPE: "attestation-manifest"});
                }
                d
            })
            .collect();
        serde_json::from_value(serde_json::json!({"schemaVersion": 2, "manifests": manifests}))
            .expect("index")
    }

    fn pick(idx: &ImageIndex, wanted: &str) -> Result<usize, PlatformError> {
        let d = select_manifest(idx, &p(wanted), "test")?;
        let hex = d.digest().digest();
        Ok(usize::from_str_radix(hex, 16).unwrap_or(usize::MAX))
    }

    #[test]
    fn vectors_follow_containerd() {
        assert_eq!(names("linux/amd64"), ["linux/amd64", "linux/386"]);
        assert_eq!(
            names("linux/amd64/v3"),
            [
                "linux/amd64/v3",
                "linux/amd64/v2",
                "linux/amd64",
                "linux/386"
            ]
        );
        assert_eq!(
            names("linux/arm/v7"),
            ["linux/arm/v7", "linux/arm/v6", "linux/arm/v5"]
        );
        assert_eq!(names("linux/arm/v5"), ["linux/arm/v5"]);
        assert_eq!(
            names("linux/arm64"),
            [
                "linux/arm64",
                "linux/arm/v8",
                "linux/arm/v7",
                "linux/arm/v6",
                "linux/arm/v5"
            ]
        );
        assert_eq!(
            names("linux/arm64/v8.2"),
            [
                "linux/arm64/v8.2",
                "linux/arm64/v8.1",
                "linux/arm64",
                "linux/arm/v8",
                "linux/arm/v7",
                "linux/arm/v6",
                "linux/arm/v5"
            ]
        );
        assert_eq!(
            names("linux/arm64/v9.1")[..4],
            [
                "linux/arm64/v9.1",
                "linux/arm64/v9",
                "linux/arm64/v8.6",
                "linux/arm64/v8.5"
            ]
        );
        assert_eq!(names("linux/riscv64"), ["linux/riscv64"]);
        assert_eq!(
            names("windows/arm"),
            ["windows/arm/v7", "windows/arm/v6", "windows/arm/v5"]
        );
    }

    #[test]
    fn exact_match_wins_over_fallbacks_and_index_order() {
        let idx = index(&[
            ("linux/arm/v6", ""),
            ("linux/arm/v7", ""),
            ("linux/amd64", ""),
        ]);
        assert_eq!(pick(&idx, "linux/arm/v7").ok(), Some(1));
        assert_eq!(pick(&idx, "linux/arm/v6").ok(), Some(0));
        assert_eq!(pick(&idx, "linux/arm").ok(), Some(1));
        assert_eq!(pick(&idx, "linux/amd64").ok(), Some(2));
    }

    #[test]
    fn variant_fallbacks() {
        let idx = index(&[
            ("linux/amd64", ""),
            ("linux/arm/v5", ""),
            ("linux/arm/v6", ""),
        ]);
        assert_eq!(
            pick(&idx, "linux/arm/v7").ok(),
            Some(2),
            "v7 takes v6 before v5"
        );
        assert_eq!(pick(&idx, "linux/arm/v8").ok(), Some(2));
        assert_eq!(pick(&idx, "linux/amd64/v3").ok(), Some(0));
        let only386 = index(&[("linux/386", "")]);
        assert_eq!(pick(&only386, "linux/amd64").ok(), Some(0));
        assert!(pick(&idx, "linux/arm/v5").is_ok_and(|i| i == 1));
    }

    #[test]
    fn arm64_entries_are_normalised() {
        let idx = index(&[("linux/amd64", ""), ("linux/arm64/v8", "")]);
        assert_eq!(pick(&idx, "linux/arm64").ok(), Some(1));
        let idx = index(&[("linux/aarch64", "")]);
        assert_eq!(pick(&idx, "linux/arm64/v8").ok(), Some(0));
        let idx = index(&[("linux/arm/v7", ""), ("linux/arm64", "")]);
        assert_eq!(pick(&idx, "linux/arm64").ok(), Some(1));
        let idx = index(&[("linux/arm/v7", "")]);
        assert_eq!(
            pick(&idx, "linux/arm64").ok(),
            Some(0),
            "containerd lets arm64 run arm/v7"
        );
    }

    #[test]
    fn attestations_are_skipped_and_errors_list_platforms() {
        let idx = index(&[
            ("linux/amd64", ""),
            ("unknown/unknown", ""),
            ("linux/arm/v6", ""),
            ("linux/arm64", "attestation"),
        ]);
        let err = pick(&idx, "linux/s390x").expect_err("no s390x");
        let PlatformError::NoMatch { available, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(available, &["linux/amd64", "linux/arm/v6"]);
        assert_eq!(
            err.to_string(),
            "test has no manifest for linux/s390x; it has linux/amd64, linux/arm/v6; pass one of those with --platform"
        );
        // The arm64 entry is an attestation, so arm64 falls back to 32-bit arm.
        assert_eq!(pick(&idx, "linux/arm64").ok(), Some(2));
        let only = index(&[("unknown/unknown", "")]);
        assert!(pick(&only, "linux/amd64")
            .expect_err("none")
            .to_string()
            .contains("it has no runnable platforms"));
    }
}
