//! Image references: `alpine`, `user/app:1.0`, `localhost:5000/x@sha256:…`, normalised the
//! way Docker does (`alpine` is `docker.io/library/alpine:latest`).

use std::fmt;
use std::str::FromStr;

use oci_client::{ParseError, Reference};

/// The forms a reference may take, quoted in every parse error.
const ACCEPTED_FORMS: &str = "[registry[:port]/]repository[:tag][@sha256:<64 hex digits>], \
     e.g. alpine, user/app:1.0 or localhost:5000/app@sha256:…";

/// A fully qualified image reference: registry, repository, and a tag and/or a digest.
///
/// Parsing follows Docker's normalisation (through `oci-client`'s [`Reference`]): a name
/// without a registry is on Docker Hub (`docker.io`), a one-component Docker Hub name is in
/// `library/`, and a reference with neither tag nor digest means `:latest`. The first
/// component is a registry when it contains `.` or `:` or is `localhost`; a bracketed IPv6
/// address (`[::1]:5000/app`) is accepted too.
///
/// ```
/// use builder::ImageRef;
///
/// let r: ImageRef = "alpine".parse()?;
/// assert_eq!(r.to_string(), "docker.io/library/alpine:latest");
/// assert_eq!((r.registry(), r.repository(), r.tag()), ("docker.io", "library/alpine", Some("latest")));
/// let r: ImageRef = "localhost:5000/team/app:1.0".parse()?;
/// assert_eq!((r.registry(), r.repository()), ("localhost:5000", "team/app"));
/// # Ok::<(), builder::ReferenceError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageRef {
    inner: Reference,
}

/// Why a reference string was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {input:?}: {reason}; expected {forms}", forms = ACCEPTED_FORMS)]
pub struct ReferenceError {
    input: String,
    reason: String,
}

impl ReferenceError {
    fn new(input: &str, reason: impl Into<String>) -> Self {
        Self {
            input: input.to_owned(),
            reason: reason.into(),
        }
    }

    /// The string that was rejected.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Why it was rejected, in words.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl ImageRef {
    /// Parses and normalises a reference; see the type's documentation.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        if input.trim() != input || input.is_empty() {
            return Err(ReferenceError::new(
                input,
                "it is empty or has surrounding whitespace",
            ));
        }
        if let Some(rest) = input.strip_prefix('[') {
            return Self::parse_ipv6(input, rest);
        }
        let repo_part = match input.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => rest,
            _ => input,
        };
        let repo_name = repo_part.split(['@', ':']).next().unwrap_or_default();
        if repo_name.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ReferenceError::new(
                input,
                format!("repository names must be lowercase (got {repo_name:?})"),
            ));
        }
        let inner =
            Reference::try_from(input).map_err(|e| ReferenceError::new(input, describe(&e)))?;
        Ok(Self { inner })
    }

    /// `[v6addr]:port/repo…`: the regex of the reference grammar has no IPv6 form, so the
    /// host is split off, the rest parsed with a placeholder registry, and the host put back.
    fn parse_ipv6(input: &str, after_bracket: &str) -> Result<Self, ReferenceError> {
        let bad = |why: &str| ReferenceError::new(input, why);
        let (addr, rest) = after_bracket
            .split_once(']')
            .ok_or_else(|| bad("an IPv6 registry address must end with ']'"))?;
        if addr.is_empty()
            || !addr
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(bad("the bracketed registry is not an IPv6 address"));
        }
        let (port, path) = match rest.strip_prefix(':') {
            Some(after) => {
                let (port, path) = after
                    .split_once('/')
                    .ok_or_else(|| bad("a registry must be followed by '/' and a repository"))?;
                if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("the registry port is not a number"));
                }
                (Some(port), path)
            }
            None => (
                None,
                rest.strip_prefix('/')
                    .ok_or_else(|| bad("a registry must be followed by '/' and a repository"))?,
            ),
        };
        let placeholder = Self::parse(&format!("ipv6.invalid/{path}"))
            .map_err(|e| ReferenceError::new(input, e.reason))?;
        let registry = match port {
            Some(port) => format!("[{addr}]:{port}"),
            None => format!("[{addr}]"),
        };
        Ok(placeholder.with_registry(&registry))
    }

    /// The registry as written after normalisation: `docker.io`, `ghcr.io`,
    /// `localhost:5000`, `[::1]:5000`.
    pub fn registry(&self) -> &str {
        self.inner.registry()
    }

    /// The host to connect to: the registry, except `docker.io`, which is served from
    /// `index.docker.io`.
    pub fn host(&self) -> &str {
        self.inner.resolve_registry()
    }

    /// The repository path inside the registry, e.g. `library/alpine`.
    pub fn repository(&self) -> &str {
        self.inner.repository()
    }

    /// The tag, if any (`latest` when the input had neither tag nor digest).
    pub fn tag(&self) -> Option<&str> {
        self.inner.tag()
    }

    /// The digest, if the reference pins one (`…@sha256:…`).
    pub fn digest(&self) -> Option<&str> {
        self.inner.digest()
    }

    /// The same repository, pinned to `digest` and without a tag.
    pub fn with_digest(&self, digest: &str) -> Self {
        Self {
            inner: Reference::with_digest(
                self.registry().to_owned(),
                self.repository().to_owned(),
                digest.to_owned(),
            ),
        }
    }

    /// The same repository, tag and digest on another registry (a mirror).
    pub(crate) fn with_registry(&self, registry: &str) -> Self {
        let (registry, repository) = (registry.to_owned(), self.repository().to_owned());
        let inner = match (self.tag(), self.digest()) {
            (Some(t), Some(d)) => {
                Reference::with_tag_and_digest(registry, repository, t.to_owned(), d.to_owned())
            }
            (None, Some(d)) => Reference::with_digest(registry, repository, d.to_owned()),
            (t, None) => {
                Reference::with_tag(registry, repository, t.unwrap_or("latest").to_owned())
            }
        };
        Self { inner }
    }

    /// The `oci-client` form, for requests.
    pub(crate) fn as_oci(&self) -> &Reference {
        &self.inner
    }
}

/// Words for `oci-client`'s parse errors, each saying what to change.
fn describe(error: &ParseError) -> String {
    match error {
        ParseError::DigestInvalidFormat => "the digest must be written algorithm:hex".into(),
        ParseError::DigestInvalidLength => {
            "the digest has the wrong number of hex digits (sha256 has 64)".into()
        }
        ParseError::DigestUnsupported => {
            "the digest algorithm is not supported (use sha256, sha384 or sha512)".into()
        }
        ParseError::NameContainsUppercase => "repository names must be lowercase".into(),
        ParseError::NameEmpty => "the repository name is empty".into(),
        ParseError::NameTooLong => "the repository name is longer than 255 characters".into(),
        ParseError::TagInvalidFormat => {
            "a tag has at most 128 characters from [A-Za-z0-9_.-] and does not start with '.' or '-'"
                .into()
        }
        ParseError::ReferenceInvalidFormat => {
            "it does not follow the reference grammar (repository components are lowercase \
             letters, digits and single separators . _ __ -)"
                .into()
        }
    }
}

impl FromStr for ImageRef {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The normalised form: `registry/repository[:tag][@digest]`.
impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry(), self.repository())?;
        if let Some(tag) = self.tag() {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = self.digest() {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn parse(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn normalises_like_docker() {
        // (input, registry, repository, tag, digest, display)
        let d = DIGEST;
        type Case<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, Option<&'a str>);
        let cases: &[Case] = &[
            (
                "alpine",
                "docker.io",
                "library/alpine",
                Some("latest"),
                None,
            ),
            (
                "alpine:3.19",
                "docker.io",
                "library/alpine",
                Some("3.19"),
                None,
            ),
            ("user/app", "docker.io", "user/app", Some("latest"), None),
            (
                "docker.io/alpine",
                "docker.io",
                "library/alpine",
                Some("latest"),
                None,
            ),
            (
                "index.docker.io/library/alpine",
                "docker.io",
                "library/alpine",
                Some("latest"),
                None,
            ),
            (
                "docker.io/user/app:v1",
                "docker.io",
                "user/app",
                Some("v1"),
                None,
            ),
            ("localhost/app", "localhost", "app", Some("latest"), None),
            (
                "localhost:5000/x",
                "localhost:5000",
                "x",
                Some("latest"),
                None,
            ),
            (
                "127.0.0.1:5000/a/b/c:t",
                "127.0.0.1:5000",
                "a/b/c",
                Some("t"),
                None,
            ),
            (
                "ghcr.io/org/tool",
                "ghcr.io",
                "org/tool",
                Some("latest"),
                None,
            ),
            ("quay.io/org/tool@", "", "", None, None),
        ];
        for &(input, registry, repository, tag, digest) in cases {
            if registry.is_empty() {
                assert!(
                    ImageRef::parse(input).is_err(),
                    "{input} should be rejected"
                );
                continue;
            }
            let r = parse(input);
            assert_eq!(r.registry(), registry, "{input}");
            assert_eq!(r.repository(), repository, "{input}");
            assert_eq!(r.tag(), tag, "{input}");
            assert_eq!(r.digest(), digest, "{input}");
        }
        let r = parse(&format!("alpine@{d}"));
        assert_eq!(r.to_string(), format!("docker.io/library/alpine@{d}"));
        assert_eq!((r.tag(), r.digest()), (None, Some(d)));
        let r = parse(&format!("localhost:5000/x:1@{d}"));
        assert_eq!(r.to_string(), format!("localhost:5000/x:1@{d}"));
        assert_eq!(
            parse("alpine").to_string(),
            "docker.io/library/alpine:latest"
        );
        assert_eq!(parse("user/app").to_string(), "docker.io/user/app:latest");
    }

    #[test]
    fn docker_hub_is_reached_at_index_docker_io() {
        assert_eq!(parse("alpine").host(), "index.docker.io");
        assert_eq!(parse("localhost:5000/x").host(), "localhost:5000");
    }

    #[test]
    fn ipv6_registries() {
        let r = parse("[::1]:5000/team/app:2");
        assert_eq!(
            (r.registry(), r.repository(), r.tag()),
            ("[::1]:5000", "team/app", Some("2"))
        );
        assert_eq!(r.to_string(), "[::1]:5000/team/app:2");
        assert_eq!(parse("[fe80::1]/app").registry(), "[fe80::1]");
        for bad in [
            "[::1",
            "[::1]:x/app",
            "[::1]app",
            "[zz]:5000/app",
            "[::1]:5000",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn errors_say_what_is_wrong_and_what_is_expected() {
        let cases = [
            ("", "empty"),
            (" alpine", "whitespace"),
            ("Alpine", "lowercase"),
            ("ghcr.io/Org/app", "lowercase"),
            ("alpine@sha256:abc", "64"),
            (
                "alpine@md5:0123456789abcdef0123456789abcdef",
                "not supported",
            ),
            ("a//b", "grammar"),
        ];
        for (input, needle) in cases {
            let err = ImageRef::parse(input).expect_err(input);
            let msg = err.to_string();
            assert!(msg.contains(needle), "{input:?}: {msg}");
            assert!(msg.contains("e.g. alpine, user/app:1.0"), "{msg}");
            assert_eq!(err.input(), input);
        }
    }

    #[test]
    fn with_digest_and_with_registry() {
        let r = parse("alpine:3");
        let pinned = r.with_digest(DIGEST);
        assert_eq!(
            pinned.to_string(),
            format!("docker.io/library/alpine@{DIGEST}")
        );
        let mirrored = r.with_registry("127.0.0.1:5000");
        assert_eq!(mirrored.to_string(), "127.0.0.1:5000/library/alpine:3");
        assert_eq!(mirrored.host(), "127.0.0.1:5000");
    }
}
