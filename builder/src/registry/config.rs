//! Registry settings: plain-http hosts, mirrors, concurrency and retries.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How crossdock talks to registries. Everything has a default, so `RegistryConfig::default()`
/// is a working configuration; the CLI fills it from flags and its config file.
///
/// In TOML (kebab-case keys, all optional):
///
/// ```toml
/// insecure-registries = ["registry.lan:5000"]
/// max-concurrent-uploads = 4
/// mirrors = { "docker.io" = ["127.0.0.1:5000"] }
/// retry = { max-attempts = 4, initial-backoff-ms = 200, max-backoff-ms = 5000 }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct RegistryConfig {
    /// Registries reached over plain http (`--insecure-registry`): `host` (any port) or
    /// `host:port`. `localhost`, `127.0.0.0/8` and `[::1]` always use plain http.
    pub insecure_registries: Vec<String>,
    /// Pull mirrors per registry: `"docker.io" = ["127.0.0.1:5000"]`. A pull from the
    /// registry tries each mirror in order (same repository path, e.g. `library/golang`),
    /// then the registry itself. Pushes never go to mirrors.
    pub mirrors: BTreeMap<String, Vec<String>>,
    /// Blobs uploaded at once during a push (at least 1).
    pub max_concurrent_uploads: usize,
    /// Blobs downloaded at once during a pull (at least 1).
    pub max_concurrent_downloads: usize,
    /// Retries of requests that failed with a 5xx, 408 or 429 status, a reset
    /// connection or a timeout.
    pub retry: RetryPolicy,
    /// Upload blobs as a single streamed `PUT` instead of a series of `PATCH` chunks.
    /// Chunked upload (the default) works with every registry we know; some proxies
    /// prefer monolithic uploads.
    pub monolithic_upload: bool,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            insecure_registries: Vec::new(),
            mirrors: BTreeMap::new(),
            max_concurrent_uploads: 4,
            max_concurrent_downloads: 4,
            retry: RetryPolicy::default(),
            monolithic_upload: false,
        }
    }
}

impl RegistryConfig {
    /// Whether `host` (`name[:port]` or `[v6]:port`) is reached over plain http: a loopback
    /// host, or one listed in [`insecure_registries`](Self::insecure_registries).
    pub fn is_plain_http(&self, host: &str) -> bool {
        let name = host_name(host);
        is_loopback(name)
            || self
                .insecure_registries
                .iter()
                .map(|h| strip_scheme(h))
                .any(|h| h == host || h == name)
    }

    /// The mirrors configured for `registry` (`docker.io` also answers to
    /// `index.docker.io` and `registry-1.docker.io`), in order.
    pub fn mirrors_for(&self, registry: &str) -> Vec<String> {
        let wanted = canonical_registry(registry);
        self.mirrors
            .iter()
            .filter(|(key, _)| canonical_registry(key) == wanted)
            .flat_map(|(_, hosts)| hosts.iter().map(|h| strip_scheme(h).to_owned()))
            .collect()
    }
}

/// Bounded retries with exponential backoff.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct RetryPolicy {
    /// Attempts per request, the first included (at least 1).
    pub max_attempts: u32,
    /// Wait before the second attempt, in milliseconds; doubled each time.
    pub initial_backoff_ms: u64,
    /// Upper bound of the wait, in milliseconds.
    pub max_backoff_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff_ms: 200,
            max_backoff_ms: 5_000,
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based): the initial backoff doubled
    /// `attempt - 1` times, capped, plus up to 10% jitter so parallel uploads spread out.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doubled = self
            .initial_backoff_ms
            .saturating_mul(1u64 << attempt.saturating_sub(1).min(20));
        let base = doubled.min(self.max_backoff_ms);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::from(d.subsec_nanos()))
            .unwrap_or(0);
        let jitter = if base >= 10 { nanos % (base / 10) } else { 0 };
        Duration::from_millis(base + jitter)
    }

    /// [`max_attempts`](Self::max_attempts), at least 1.
    pub fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }
}

/// `host:port` → `host`; `[::1]:5000` → `[::1]`.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map_or(host, |(h, _)| &host[..=h.len()]);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

fn is_loopback(name: &str) -> bool {
    if name == "localhost" || name == "[::1]" {
        return true;
    }
    name.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_loopback())
}

fn strip_scheme(host: &str) -> &str {
    let host = host
        .strip_prefix("https://")
        .or_else(|| host.strip_prefix("http://"))
        .unwrap_or(host);
    host.split('/').next().unwrap_or(host)
}

/// The name Docker Hub is known by in references; other registries unchanged.
pub(crate) fn canonical_registry(registry: &str) -> &str {
    match strip_scheme(registry) {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" | "docker.io" => {
            "docker.io"
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_for_loopback_and_insecure_hosts() {
        let config = RegistryConfig {
            insecure_registries: vec!["registry.lan".into(), "http://other.lan:5000".into()],
            ..RegistryConfig::default()
        };
        for host in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
            "registry.lan",
            "registry.lan:443",
            "other.lan:5000",
        ] {
            assert!(config.is_plain_http(host), "{host}");
        }
        for host in [
            "ghcr.io",
            "index.docker.io",
            "other.lan:5001",
            "10.0.0.1:5000",
            "[::2]:5000",
        ] {
            assert!(!config.is_plain_http(host), "{host}");
        }
    }

    #[test]
    fn mirrors_match_docker_hub_aliases() {
        let config: RegistryConfig = toml::from_str(
            r#"mirrors = { "docker.io" = ["127.0.0.1:5000", "http://m2:5000"], "ghcr.io" = ["m3"] }"#,
        )
        .expect("valid");
        assert_eq!(
            config.mirrors_for("docker.io"),
            ["127.0.0.1:5000", "m2:5000"]
        );
        assert_eq!(
            config.mirrors_for("index.docker.io"),
            ["127.0.0.1:5000", "m2:5000"]
        );
        assert_eq!(config.mirrors_for("ghcr.io"), ["m3"]);
        assert!(config.mirrors_for("quay.io").is_empty());
        assert_eq!(config.max_concurrent_uploads, 4);
    }

    #[test]
    fn config_file_form() {
        let config: RegistryConfig = toml::from_str(
            "insecure-registries = [\"r:5000\"]\nmax-concurrent-uploads = 2\n\
             retry = { max-attempts = 2, initial-backoff-ms = 10 }\n",
        )
        .expect("valid");
        assert_eq!(config.insecure_registries, ["r:5000"]);
        assert_eq!(config.retry.max_attempts, 2);
        assert_eq!(config.retry.max_backoff_ms, 5_000);
        let err = toml::from_str::<RegistryConfig>("mirror = {}").expect_err("unknown key");
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 5,
            initial_backoff_ms: 100,
            max_backoff_ms: 350,
        };
        let ms = |a| policy.backoff(a).as_millis();
        assert!((100..110).contains(&ms(1)), "{}", ms(1));
        assert!((200..220).contains(&ms(2)), "{}", ms(2));
        assert!((350..385).contains(&ms(3)), "{}", ms(3));
        assert!((350..385).contains(&ms(40)), "{}", ms(40));
        assert_eq!(
            RetryPolicy {
                max_attempts: 0,
                ..policy
            }
            .attempts(),
            1
        );
    }
}
