//! OCI platforms (`os/arch[/variant]`), parsed and normalised the way containerd does.

use std::fmt;
use std::str::FromStr;

/// The forms a platform may take, quoted in every parse error.
const ACCEPTED_FORMS: &str = "os/arch[/variant], e.g. linux/amd64, linux/arm64 or linux/arm/v7";

/// Operating systems containerd knows (`isKnownOS`); a lone component naming one
/// means "this OS on the host's architecture".
const KNOWN_OS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "nacl",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "windows",
    "zos",
];

/// Architectures containerd knows (`isKnownArch`); a lone component naming one
/// means "the host's OS on this architecture".
const KNOWN_ARCH: &[&str] = &[
    "386",
    "amd64",
    "amd64p32",
    "arm",
    "armbe",
    "arm64",
    "arm64be",
    "ppc64",
    "ppc64le",
    "loong64",
    "mips",
    "mipsle",
    "mips64",
    "mips64le",
    "mips64p32",
    "mips64p32le",
    "ppc",
    "riscv",
    "riscv64",
    "s390",
    "s390x",
    "sparc",
    "sparc64",
    "wasm",
];

/// A container platform: operating system, CPU architecture, optional CPU variant
/// and optional OS version, as in an OCI image index.
///
/// A `Platform` is always normalised: it is built only by [`Platform::parse`] (or
/// [`FromStr`]), [`Platform::from_parts`] and [`Platform::host`], which apply
/// containerd's `platforms.Parse` followed by `platforms.Normalize`. So
/// `linux/aarch64` and `linux/arm64/v8` are the same value as `linux/arm64`, and
/// `linux/arm` is `linux/arm/v7`.
///
/// ```
/// use crossbuild::Platform;
///
/// let p: Platform = "Linux/armhf".parse()?;
/// assert_eq!(p.to_string(), "linux/arm/v7");
/// assert_eq!((p.os(), p.arch(), p.variant()), ("linux", "arm", Some("v7")));
/// # Ok::<(), crossbuild::ParsePlatformError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform {
    os: String,
    arch: String,
    variant: Option<String>,
    os_version: Option<String>,
}

/// Why a platform string was rejected; see [`ParsePlatformError::kind`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParsePlatformErrorKind {
    /// The string was empty.
    Empty,
    /// More than three `/`-separated components.
    TooManyComponents,
    /// A component was empty or had a character outside `[A-Za-z0-9_.-]`
    /// (the OS part allows no `.` and may carry one `(osversion)` suffix).
    InvalidComponent(String),
    /// A single component that names neither a known OS nor a known architecture.
    UnknownOsOrArch,
}

impl fmt::Display for ParsePlatformErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty"),
            Self::TooManyComponents => f.write_str("it has more than three components"),
            Self::InvalidComponent(c) => write!(
                f,
                "component {c:?} is empty or has characters other than letters, digits, '_', '.' and '-'"
            ),
            Self::UnknownOsOrArch => {
                f.write_str("a single component must name a known OS or architecture")
            }
        }
    }
}

/// A platform string could not be parsed.
///
/// The message names the input and lists the accepted forms:
///
/// ```
/// let err = crossbuild::Platform::parse("linux/arm/v7/extra").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid platform \"linux/arm/v7/extra\": it has more than three components; \
///      expected os/arch[/variant], e.g. linux/amd64, linux/arm64 or linux/arm/v7"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid platform {input:?}: {kind}; expected {forms}", forms = ACCEPTED_FORMS)]
pub struct ParsePlatformError {
    input: String,
    kind: ParsePlatformErrorKind,
}

impl ParsePlatformError {
    fn new(input: &str, kind: ParsePlatformErrorKind) -> Self {
        Self {
            input: input.to_owned(),
            kind,
        }
    }

    /// The string that was rejected.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Why it was rejected.
    pub fn kind(&self) -> &ParsePlatformErrorKind {
        &self.kind
    }
}

impl Platform {
    /// Parses `os[(osversion)][/arch[/variant]]` or a lone architecture, exactly as
    /// containerd's `platforms.Parse` followed by `platforms.Normalize`:
    ///
    /// - OS, architecture and variant are lowercased; `macos` becomes `darwin`;
    /// - `x86_64`/`x86-64` become `amd64` (variant `v1` dropped), `aarch64` becomes
    ///   `arm64` (variants `8`, `v8`, `v8.0` dropped; `9`, `9.0`, `v9.0` become `v9`),
    ///   `i386` becomes `386`, `armhf` is `arm/v7`, `armel` is `arm/v6`, and `arm`
    ///   gets variant `v7` when it has none (`5`, `6`, `7`, `8` gain a `v`);
    /// - a single component naming a known OS means that OS on the host's
    ///   architecture; one naming a known architecture means the host's OS on it;
    /// - any other well-formed `os/arch` is accepted even if unknown: whether a
    ///   platform can be *built for* is [`Platform::target`]'s question.
    pub fn parse(input: &str) -> Result<Self, ParsePlatformError> {
        let err = |kind| ParsePlatformError::new(input, kind);
        if input.is_empty() {
            return Err(err(ParsePlatformErrorKind::Empty));
        }
        let parts: Vec<&str> = input.split('/').collect();
        if parts.len() > 3 {
            return Err(err(ParsePlatformErrorKind::TooManyComponents));
        }
        let (os, os_version) = split_os_version(parts[0]).ok_or_else(|| {
            err(ParsePlatformErrorKind::InvalidComponent(
                parts[0].to_owned(),
            ))
        })?;
        if let Some(bad) = parts[1..].iter().find(|p| !is_specifier(p)) {
            return Err(err(ParsePlatformErrorKind::InvalidComponent(
                (*bad).to_owned(),
            )));
        }
        match parts[..] {
            [_] => Self::parse_single(os, os_version)
                .ok_or_else(|| err(ParsePlatformErrorKind::UnknownOsOrArch)),
            [_, arch] => Ok(Self::normalised(os, os_version, arch, "")),
            [_, arch, variant] => Ok(Self::normalised(os, os_version, arch, variant)),
            _ => Err(err(ParsePlatformErrorKind::TooManyComponents)),
        }
    }

    /// Builds a platform from the separate fields of an OCI descriptor or image
    /// config (`os`, `architecture`, `variant`, `os.version`), validating each like
    /// [`Platform::parse`] does and normalising the same way.
    pub fn from_parts(
        os: &str,
        arch: &str,
        variant: Option<&str>,
        os_version: Option<&str>,
    ) -> Result<Self, ParsePlatformError> {
        let mut text = os.to_owned();
        if let Some(v) = os_version.filter(|v| !v.is_empty()) {
            text = format!("{os}({v})");
        }
        text.push('/');
        text.push_str(arch);
        if let Some(v) = variant.filter(|v| !v.is_empty()) {
            text.push('/');
            text.push_str(v);
        }
        Self::parse(&text)
    }

    /// A lone component: a known OS (host arch) or a known arch (host OS).
    fn parse_single(os: &str, os_version: Option<&str>) -> Option<Self> {
        let os_lower = normalize_os(os);
        if KNOWN_OS.contains(&os_lower.as_str()) {
            let host = Self::host();
            return Some(Self {
                os: os_lower,
                os_version: os_version.map(str::to_owned),
                ..host
            });
        }
        if os_version.is_some() {
            return None;
        }
        let (arch, variant) = normalize_arch(os, "");
        KNOWN_ARCH
            .contains(&arch.as_str())
            .then(|| Self::from_normalised(Self::host().os, None, arch, variant))
    }

    fn normalised(os: &str, os_version: Option<&str>, arch: &str, variant: &str) -> Self {
        let (arch, variant) = normalize_arch(arch, variant);
        Self::from_normalised(normalize_os(os), os_version, arch, variant)
    }

    fn from_normalised(
        os: String,
        os_version: Option<&str>,
        arch: String,
        variant: String,
    ) -> Self {
        Self {
            os,
            arch,
            variant: (!variant.is_empty()).then_some(variant),
            os_version: os_version.filter(|v| !v.is_empty()).map(str::to_owned),
        }
    }

    /// The platform of the machine running this code, in OCI terms (what BuildKit
    /// calls the build platform). 32-bit ARM reads `/proc/cpuinfo` to tell v5 and
    /// v6 from v7, defaulting to v7.
    pub fn host() -> Self {
        let os = match std::env::consts::OS {
            "macos" => "darwin",
            other => other,
        };
        let little = cfg!(target_endian = "little");
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "x86" => "386",
            "aarch64" => "arm64",
            "loongarch64" => "loong64",
            "powerpc64" if little => "ppc64le",
            "powerpc64" => "ppc64",
            "powerpc" => "ppc",
            "mips" if little => "mipsle",
            "mips64" if little => "mips64le",
            "wasm32" => "wasm",
            other => other,
        };
        let variant = if arch == "arm" {
            let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
            Some(arm_variant_from_cpuinfo(&cpuinfo).to_owned())
        } else {
            None
        };
        Self {
            os: os.to_owned(),
            arch: arch.to_owned(),
            variant,
            os_version: None,
        }
    }

    /// The operating system, e.g. `linux`.
    pub fn os(&self) -> &str {
        &self.os
    }

    /// The CPU architecture in Go/OCI terms, e.g. `amd64`, `arm64`, `arm`.
    pub fn arch(&self) -> &str {
        &self.arch
    }

    /// The CPU variant, e.g. `v7` for `linux/arm/v7`; `None` when there is none.
    pub fn variant(&self) -> Option<&str> {
        self.variant.as_deref()
    }

    /// The OS version (`os.version`), written `os(version)` in a platform string;
    /// used by Windows images.
    pub fn os_version(&self) -> Option<&str> {
        self.os_version.as_deref()
    }

    /// Formats with the OS version, as containerd's `FormatAll`:
    /// `os[(osversion)]/arch[/variant]`. This is the form of BuildKit's
    /// `TARGETPLATFORM`; [`Display`](fmt::Display) leaves the version out.
    pub fn format_all(&self) -> String {
        match &self.os_version {
            Some(v) => format!("{}({v})/{}", self.os, self.arch_variant()),
            None => self.to_string(),
        }
    }

    fn arch_variant(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{v}", self.arch),
            None => self.arch.clone(),
        }
    }

    /// Whether a `host` machine runs this platform's binaries without emulation.
    ///
    /// Exact matches of OS, architecture and variant run natively (the OS version
    /// is ignored), and so do these, all on the same OS:
    ///
    /// - `386` on an `amd64` host: x86-64 CPUs execute 32-bit x86 code and BuildKit
    ///   treats the pair as native;
    /// - `amd64/vN` on an `amd64/vM` host when N ≤ max(M, 2) (a host without a
    ///   variant counts as v1): BuildKit assumes v2 everywhere and checks the CPU
    ///   only for v3 and v4, so those need the host to say it has them;
    /// - `arm/vN` on an `arm/vM` host when N ≤ M: 32-bit ARM cores execute code
    ///   for the earlier architecture versions.
    ///
    /// An `arm64` host is *not* assumed to run `arm` binaries: many 64-bit ARM
    /// cores (recent Neoverse, Apple silicon) dropped AArch32.
    pub fn runs_natively_on(&self, host: &Platform) -> bool {
        if self.os != host.os {
            return false;
        }
        if self.arch == host.arch && self.variant == host.variant {
            return true;
        }
        let level = |p: &Platform| p.variant().map_or(Some(1), variant_level);
        match (self.arch(), host.arch()) {
            ("386", "amd64") => true,
            ("amd64", "amd64") => match (level(self), level(host)) {
                (Some(want), Some(have)) => want <= have.max(2),
                _ => false,
            },
            ("arm", "arm") => match (level(self), level(host)) {
                (Some(want), Some(have)) => want <= have,
                _ => false,
            },
            _ => false,
        }
    }
}

/// `v7` → 7; anything else → `None`.
fn variant_level(variant: &str) -> Option<u32> {
    variant.strip_prefix('v')?.parse().ok()
}

/// containerd's `normalizeOS`.
fn normalize_os(os: &str) -> String {
    let os = os.to_ascii_lowercase();
    if os == "macos" {
        "darwin".to_owned()
    } else {
        os
    }
}

/// containerd's `normalizeArch`.
fn normalize_arch(arch: &str, variant: &str) -> (String, String) {
    let arch = arch.to_ascii_lowercase();
    let variant = variant.to_ascii_lowercase();
    let (arch, variant) = match (arch.as_str(), variant.as_str()) {
        ("i386", _) => ("386", ""),
        ("x86_64" | "x86-64" | "amd64", "v1") => ("amd64", ""),
        ("x86_64" | "x86-64" | "amd64", v) => ("amd64", v),
        ("aarch64" | "arm64", "8" | "v8" | "v8.0") => ("arm64", ""),
        ("aarch64" | "arm64", "9" | "9.0" | "v9.0") => ("arm64", "v9"),
        ("aarch64" | "arm64", v) => ("arm64", v),
        ("armhf", _) => ("arm", "v7"),
        ("armel", _) => ("arm", "v6"),
        ("arm", "" | "7") => ("arm", "v7"),
        ("arm", "5") => ("arm", "v5"),
        ("arm", "6") => ("arm", "v6"),
        ("arm", "8") => ("arm", "v8"),
        (a, v) => (a, v),
    };
    (arch.to_owned(), variant.to_owned())
}

/// Splits `os(version)`; `None` when the OS part is malformed.
fn split_os_version(part: &str) -> Option<(&str, Option<&str>)> {
    let (os, version) = match part.split_once('(') {
        Some((os, rest)) => (os, Some(rest.strip_suffix(')')?)),
        None => (part, None),
    };
    let os_ok = !os.is_empty()
        && os
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let version_ok = version.is_none_or(|v| v.bytes().all(is_specifier_byte));
    (os_ok && version_ok).then_some((os, version))
}

fn is_specifier(part: &&str) -> bool {
    !part.is_empty() && part.bytes().all(is_specifier_byte)
}

fn is_specifier_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

/// The ARM variant a Linux `/proc/cpuinfo` describes: `v5` or `v6` when its
/// `CPU architecture` line or `model name` says so, `v7` otherwise (including
/// 32-bit processes on ARMv8 cores, which run v7 code).
fn arm_variant_from_cpuinfo(cpuinfo: &str) -> &'static str {
    let field = |name: &str| {
        cpuinfo.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| value.trim())
        })
    };
    // Some ARMv6 boards report "CPU architecture: 7"; their model name is right.
    if field("model name").is_some_and(|m| m.starts_with("ARMv6")) {
        return "v6";
    }
    match field("CPU architecture") {
        Some(a) if a.starts_with('5') => "v5",
        Some(a) if a.starts_with('6') => "v6",
        _ => "v7",
    }
}

impl FromStr for Platform {
    type Err = ParsePlatformError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Formats as containerd's `Format`: `os/arch[/variant]`, without the OS version
/// (see [`Platform::format_all`]).
impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.arch_variant())
    }
}

/// Serialises as the string of [`Platform::format_all`].
impl serde::Serialize for Platform {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.format_all())
    }
}

/// Deserialises from a platform string, through [`Platform::parse`].
impl<'de> serde::Deserialize<'de> for Platform {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A comma-separated platform list (the value of `--platform`) was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlatformListError {
    /// The list had no entries at all.
    #[error("no platforms given; expected a comma-separated list such as linux/amd64,linux/arm64")]
    Empty,
    /// An entry between commas was blank.
    #[error("platform list {list:?} has an empty entry at position {position}")]
    EmptyEntry {
        /// The whole list.
        list: String,
        /// 1-based position of the blank entry.
        position: usize,
    },
    /// An entry is not a valid platform.
    #[error("platform list entry {position}: {source}")]
    Invalid {
        /// 1-based position of the entry.
        position: usize,
        /// Why the entry was rejected.
        source: ParsePlatformError,
    },
    /// Two entries normalise to the same platform.
    #[error("platform list {list:?} names {platform} twice (as {first:?} and {second:?})")]
    Duplicate {
        /// The whole list.
        list: String,
        /// The platform both entries mean, formatted.
        platform: String,
        /// The earlier entry, as written.
        first: String,
        /// The later entry, as written.
        second: String,
    },
}

/// Parses a comma-separated platform list such as `linux/amd64, linux/arm64`,
/// keeping its order. Entries are trimmed; blank entries and entries that
/// normalise to the same platform (`linux/arm` and `linux/arm/v7`) are errors.
///
/// ```
/// let list = crossbuild::parse_platform_list("linux/amd64, linux/aarch64")?;
/// let names: Vec<String> = list.iter().map(ToString::to_string).collect();
/// assert_eq!(names, ["linux/amd64", "linux/arm64"]);
/// # Ok::<(), crossbuild::PlatformListError>(())
/// ```
pub fn parse_platform_list(list: &str) -> Result<Vec<Platform>, PlatformListError> {
    if list.trim().is_empty() {
        return Err(PlatformListError::Empty);
    }
    let mut parsed: Vec<(&str, Platform)> = Vec::new();
    for (index, entry) in list.split(',').map(str::trim).enumerate() {
        let position = index + 1;
        if entry.is_empty() {
            return Err(PlatformListError::EmptyEntry {
                list: list.to_owned(),
                position,
            });
        }
        let platform = Platform::parse(entry)
            .map_err(|source| PlatformListError::Invalid { position, source })?;
        if let Some((first, _)) = parsed.iter().find(|(_, p)| *p == platform) {
            return Err(PlatformListError::Duplicate {
                list: list.to_owned(),
                platform: platform.format_all(),
                first: (*first).to_owned(),
                second: entry.to_owned(),
            });
        }
        parsed.push((entry, platform));
    }
    Ok(parsed.into_iter().map(|(_, p)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Platform {
        Platform::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn normalises_like_containerd() {
        // (input, expected Display, expected os_version)
        let cases = [
            ("linux/amd64", "linux/amd64"),
            ("linux/x86_64", "linux/amd64"),
            ("linux/x86-64", "linux/amd64"),
            ("linux/x86_64/v1", "linux/amd64"),
            ("linux/amd64/v1", "linux/amd64"),
            ("linux/amd64/v3", "linux/amd64/v3"),
            ("LINUX/AMD64/V2", "linux/amd64/v2"),
            ("linux/aarch64", "linux/arm64"),
            ("linux/arm64/v8", "linux/arm64"),
            ("linux/arm64/8", "linux/arm64"),
            ("linux/aarch64/v8.0", "linux/arm64"),
            ("linux/arm64/9", "linux/arm64/v9"),
            ("linux/arm64/9.0", "linux/arm64/v9"),
            ("linux/arm64/v9.0", "linux/arm64/v9"),
            ("linux/arm64/v8.2", "linux/arm64/v8.2"),
            ("linux/armhf", "linux/arm/v7"),
            ("linux/armhf/v6", "linux/arm/v7"),
            ("linux/armel", "linux/arm/v6"),
            ("linux/arm", "linux/arm/v7"),
            ("linux/arm/7", "linux/arm/v7"),
            ("linux/arm/5", "linux/arm/v5"),
            ("linux/arm/6", "linux/arm/v6"),
            ("linux/arm/8", "linux/arm/v8"),
            ("linux/arm/v6", "linux/arm/v6"),
            ("linux/i386", "linux/386"),
            ("linux/i386/v2", "linux/386"),
            ("linux/386", "linux/386"),
            ("macos/arm64", "darwin/arm64"),
            ("MacOS/amd64", "darwin/amd64"),
            ("linux/ppc64le", "linux/ppc64le"),
            ("linux/riscv64", "linux/riscv64"),
            ("freebsd/sparc9000", "freebsd/sparc9000"),
            ("windows(10.0.17763)/amd64", "windows/amd64"),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input).to_string(), want, "input {input:?}");
        }
    }

    #[test]
    fn accessors_and_os_version() {
        let p = parse("Windows(10.0.17763.1)/AMD64");
        assert_eq!(p.os(), "windows");
        assert_eq!(p.arch(), "amd64");
        assert_eq!(p.variant(), None);
        assert_eq!(p.os_version(), Some("10.0.17763.1"));
        assert_eq!(p.format_all(), "windows(10.0.17763.1)/amd64");
        assert_eq!(p.to_string(), "windows/amd64");
        assert_eq!(parse("linux()/arm").format_all(), "linux/arm/v7");
        assert_eq!(parse("linux/arm/v5").variant(), Some("v5"));
    }

    #[test]
    fn single_component_uses_the_host() {
        let host = Platform::host();
        let os_only = parse("linux");
        assert_eq!(
            (os_only.os(), os_only.arch(), os_only.variant()),
            ("linux", host.arch(), host.variant())
        );
        let arch_only = parse("aarch64");
        assert_eq!((arch_only.os(), arch_only.arch()), (host.os(), "arm64"));
        assert_eq!(parse("armhf").variant(), Some("v7"));
        assert_eq!(parse("arm").variant(), Some("v7"));
        assert_eq!(parse("windows(10.0)").os_version(), Some("10.0"));
    }

    #[test]
    fn rejects_malformed_input() {
        use ParsePlatformErrorKind as K;
        let cases = [
            ("", K::Empty),
            ("linux/arm/v7/x", K::TooManyComponents),
            ("linux/arm/v7/x/y", K::TooManyComponents),
            ("linux/", K::InvalidComponent(String::new())),
            ("/amd64", K::InvalidComponent(String::new())),
            ("linux//v7", K::InvalidComponent(String::new())),
            ("linux/*", K::InvalidComponent("*".into())),
            ("linux/amd 64", K::InvalidComponent("amd 64".into())),
            ("lin.ux/amd64", K::InvalidComponent("lin.ux".into())),
            ("linux(1/amd64", K::InvalidComponent("linux(1".into())),
            ("linux(1)x/amd64", K::InvalidComponent("linux(1)x".into())),
            ("linux(a b)/amd64", K::InvalidComponent("linux(a b)".into())),
            ("linux/amd64/v2$", K::InvalidComponent("v2$".into())),
            ("nonsense", K::UnknownOsOrArch),
            ("amd64(1)", K::UnknownOsOrArch),
        ];
        for (input, kind) in cases {
            let err = Platform::parse(input).expect_err(input);
            assert_eq!(err.kind(), &kind, "input {input:?}");
            assert_eq!(err.input(), input);
            let message = err.to_string();
            assert!(message.contains(&format!("{input:?}")), "{message}");
            assert!(
                message
                    .contains("os/arch[/variant], e.g. linux/amd64, linux/arm64 or linux/arm/v7"),
                "{message}"
            );
        }
    }

    #[test]
    fn from_parts_normalises() {
        let p = Platform::from_parts("linux", "aarch64", Some("v8"), None).expect("valid");
        assert_eq!(p, parse("linux/arm64"));
        let p = Platform::from_parts("windows", "amd64", None, Some("10.0.1")).expect("valid");
        assert_eq!(p.format_all(), "windows(10.0.1)/amd64");
        let p = Platform::from_parts("linux", "arm", Some(""), Some("")).expect("valid");
        assert_eq!(p.format_all(), "linux/arm/v7");
        assert!(Platform::from_parts("linux", "", None, None).is_err());
        assert!(Platform::from_parts("linux", "arm", Some("v7/x"), None).is_err());
    }

    #[test]
    fn ordering_equality_and_hash_follow_normalisation() {
        use std::collections::HashSet;
        let set: HashSet<Platform> = ["linux/arm", "linux/armhf", "linux/arm/7"]
            .into_iter()
            .map(parse)
            .collect();
        assert_eq!(set.len(), 1);
        let mut sorted = [
            parse("linux/arm64"),
            parse("linux/amd64"),
            parse("darwin/arm64"),
        ];
        sorted.sort();
        let names: Vec<String> = sorted.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["darwin/arm64", "linux/amd64", "linux/arm64"]);
    }

    #[test]
    fn serde_uses_the_string_form() {
        let p = parse("windows(10.0)/amd64");
        let json = serde_json::to_string(&p).expect("serialise");
        assert_eq!(json, r#""windows(10.0)/amd64""#);
        let back: Platform = serde_json::from_str(r#""linux/aarch64""#).expect("deserialise");
        assert_eq!(back, parse("linux/arm64"));
        let err = serde_json::from_str::<Platform>(r#""linux/""#).expect_err("invalid");
        assert!(err.to_string().contains("invalid platform"), "{err}");
    }

    #[test]
    fn runs_natively() {
        // (target, host, expected)
        let cases = [
            ("linux/amd64", "linux/amd64", true),
            ("linux/386", "linux/amd64", true),
            ("linux/amd64/v2", "linux/amd64", true),
            ("linux/amd64/v3", "linux/amd64", false),
            ("linux/amd64/v3", "linux/amd64/v3", true),
            ("linux/amd64/v4", "linux/amd64/v3", false),
            ("linux/amd64", "linux/amd64/v4", true),
            ("linux/amd64", "linux/386", false),
            ("linux/arm64", "linux/arm64", true),
            ("linux/arm/v7", "linux/arm64", false),
            ("linux/arm/v6", "linux/arm/v7", true),
            ("linux/arm/v5", "linux/arm/v7", true),
            ("linux/arm/v7", "linux/arm/v6", false),
            ("linux/amd64", "linux/arm64", false),
            ("linux/amd64", "darwin/amd64", false),
            ("windows(10.0)/amd64", "windows/amd64", true),
            ("linux/arm64/v9", "linux/arm64", false),
        ];
        for (target, host, want) in cases {
            assert_eq!(
                parse(target).runs_natively_on(&parse(host)),
                want,
                "{target} on {host}"
            );
        }
    }

    #[test]
    fn arm_variant_detection() {
        let v7 = "processor\t: 0\nmodel name\t: ARMv7 Processor rev 4 (v7l)\nCPU architecture: 7\n";
        let v6 = "model name\t: ARMv6-compatible processor rev 7 (v6l)\nCPU architecture: 7\n";
        let v5 = "Processor\t: Feroceon 88FR131 rev 1 (v5l)\nCPU architecture: 5TE\n";
        let v8 = "model name\t: ARMv8 Processor\nCPU architecture: 8\n";
        assert_eq!(arm_variant_from_cpuinfo(v7), "v7");
        assert_eq!(arm_variant_from_cpuinfo(v6), "v6");
        assert_eq!(arm_variant_from_cpuinfo(v5), "v5");
        assert_eq!(arm_variant_from_cpuinfo(v8), "v7");
        assert_eq!(arm_variant_from_cpuinfo(""), "v7");
    }

    #[test]
    fn host_is_a_normalised_platform() {
        let host = Platform::host();
        assert_eq!(parse(&host.to_string()), host);
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert_eq!(host.to_string(), "linux/amd64");
        }
    }

    #[test]
    fn platform_lists() {
        let list = parse_platform_list(" linux/amd64 ,linux/arm64,linux/arm/v7").expect("valid");
        let names: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["linux/amd64", "linux/arm64", "linux/arm/v7"]);

        assert_eq!(parse_platform_list("  "), Err(PlatformListError::Empty));
        assert_eq!(
            parse_platform_list("linux/amd64,,linux/arm64"),
            Err(PlatformListError::EmptyEntry {
                list: "linux/amd64,,linux/arm64".into(),
                position: 2
            })
        );
        assert!(matches!(
            parse_platform_list("linux/amd64,"),
            Err(PlatformListError::EmptyEntry { position: 2, .. })
        ));
        let err = parse_platform_list("linux/amd64,linux/arm/v7/x").expect_err("invalid");
        assert!(matches!(
            err,
            PlatformListError::Invalid { position: 2, .. }
        ));
        assert!(
            err.to_string()
                .starts_with("platform list entry 2: invalid platform"),
            "{err}"
        );

        let err = parse_platform_list("linux/arm,linux/armhf").expect_err("duplicate");
        assert_eq!(
            err.to_string(),
            "platform list \"linux/arm,linux/armhf\" names linux/arm/v7 twice (as \"linux/arm\" and \"linux/armhf\")"
        );
    }
}
