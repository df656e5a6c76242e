//! Registry credentials from Docker's `config.json`: `auths` entries and credential helpers.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;
use tokio::io::AsyncWriteExt as _;

use super::config::canonical_registry;

/// How long a credential helper may take before it is killed.
const HELPER_TIMEOUT: Duration = Duration::from_secs(30);

/// The key Docker uses for Docker Hub in `config.json` and with credential helpers.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// A password or token. Its `Debug` output never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// What to authenticate to a registry with. The bearer-token exchange (`WWW-Authenticate:
/// Bearer realm=…`) is done by the client with these credentials, or anonymously.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// No credentials: anonymous access (anonymous bearer tokens included).
    Anonymous,
    /// A user name and password, sent as HTTP basic auth or to the token service.
    Basic {
        /// The user name.
        username: String,
        /// The password or access token.
        password: Secret,
    },
    /// A registry bearer token used as is (`registrytoken` in `config.json`).
    Bearer(Secret),
}

/// Where credentials could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// `config.json` exists but could not be read.
    #[error("cannot read Docker config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `config.json` is not valid JSON of the expected shape.
    #[error(
        "Docker config {path} is not valid: {source}; fix or remove it (docker login rewrites it)"
    )]
    Parse {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// An `auths` entry's `auth` field is not base64 of `user:password`.
    #[error("the `auth` entry for {registry} in {path} is not base64 of user:password; run `docker login {registry}` again")]
    BadAuthField {
        /// The registry the entry is for.
        registry: String,
        /// The config file.
        path: PathBuf,
    },
    /// The helper program named by `credsStore`/`credHelpers` is not on the search path.
    #[error("credential helper {program} for {registry} is not on PATH; install it, or remove it from credsStore/credHelpers in the Docker config")]
    HelperMissing {
        /// `docker-credential-<name>`.
        program: String,
        /// The registry credentials were asked for.
        registry: String,
    },
    /// The helper could not be run, failed, timed out or printed something unexpected.
    #[error("credential helper {program} failed for {registry}: {reason}")]
    Helper {
        /// `docker-credential-<name>`.
        program: String,
        /// The registry credentials were asked for.
        registry: String,
        /// What went wrong, including the helper's own message.
        reason: String,
    },
    /// The stored credential is an OAuth identity (refresh) token.
    #[error("the credentials for {registry} are an OAuth identity token, which crossdock cannot use; log in with a user name and password or access token (docker login -u USER {registry})")]
    IdentityToken {
        /// The registry.
        registry: String,
    },
}

/// One `auths` entry of `config.json`.
#[derive(Clone, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, rename = "identitytoken")]
    identity_token: Option<String>,
    #[serde(default, rename = "registrytoken")]
    registry_token: Option<String>,
}

/// The parts of `config.json` that hold credentials.
#[derive(Clone, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

/// Docker's client configuration, read for credentials.
///
/// Lookups follow the Docker CLI: a `credHelpers` entry for the registry, else `credsStore`,
/// runs `docker-credential-<name> get` with the registry on stdin; when the helper has
/// nothing (or there is none), the `auths` entry is used (`auth` = base64 `user:password`,
/// or `username`/`password`, or `registrytoken`); else access is anonymous. Docker Hub is
/// looked up as `https://index.docker.io/v1/` and its aliases.
#[derive(Clone, Default)]
pub struct DockerConfig {
    path: Option<PathBuf>,
    file: ConfigFile,
    helper_path: Option<OsString>,
}

impl fmt::Debug for DockerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerConfig")
            .field("path", &self.path)
            .field("registries", &self.file.auths.keys().collect::<Vec<_>>())
            .field("creds_store", &self.file.creds_store)
            .field("cred_helpers", &self.file.cred_helpers)
            .finish_non_exhaustive()
    }
}

impl DockerConfig {
    /// No credentials at all: every registry is accessed anonymously.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Reads `$DOCKER_CONFIG/config.json`, or `~/.docker/config.json` when `DOCKER_CONFIG`
    /// is unset. A missing file means no credentials.
    pub fn load() -> Result<Self, CredentialError> {
        let dir = match std::env::var_os("DOCKER_CONFIG") {
            Some(dir) => PathBuf::from(dir),
            None => match std::env::var_os("HOME") {
                Some(home) => PathBuf::from(home).join(".docker"),
                None => return Ok(Self::empty()),
            },
        };
        Self::load_from(&dir.join("config.json"))
    }

    /// Reads the given `config.json`. A missing file means no credentials.
    pub fn load_from(path: &Path) -> Result<Self, CredentialError> {
        let text = match std::fs::read(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::empty()),
            Err(source) => {
                return Err(CredentialError::Read {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        Self::from_json(&text, path)
    }

    /// Parses `config.json` text; `path` is only used in messages.
    pub fn from_json(text: &[u8], path: &Path) -> Result<Self, CredentialError> {
        let file = serde_json::from_slice(text).map_err(|source| CredentialError::Parse {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            path: Some(path.to_owned()),
            file,
            helper_path: None,
        })
    }

    /// Searches credential helpers in these directories (a `PATH`-style list) instead of
    /// `$PATH`.
    pub fn with_helper_path(mut self, path: impl Into<OsString>) -> Self {
        self.helper_path = Some(path.into());
        self
    }

    /// The credentials for `registry` (as in a reference: `docker.io`, `ghcr.io`,
    /// `localhost:5000`); see the type's documentation for the order of lookups.
    pub async fn credentials_for(&self, registry: &str) -> Result<Credentials, CredentialError> {
        let wanted = canonical_registry(registry);
        let helper = self
            .file
            .cred_helpers
            .iter()
            .find(|(key, _)| canonical_registry(key) == wanted)
            .map(|(_, name)| name)
            .or(self.file.creds_store.as_ref())
            .filter(|name| !name.is_empty());
        if let Some(name) = helper {
            if let Some(credentials) = self.run_helper(name, wanted).await? {
                return Ok(credentials);
            }
        }
        let entry = self
            .file
            .auths
            .iter()
            .find(|(key, _)| canonical_registry(key) == wanted);
        match entry {
            Some((key, entry)) => self.entry_credentials(key, entry),
            None => Ok(Credentials::Anonymous),
        }
    }

    fn entry_credentials(
        &self,
        key: &str,
        entry: &AuthEntry,
    ) -> Result<Credentials, CredentialError> {
        let registry = canonical_registry(key).to_owned();
        if let Some(token) = entry.registry_token.as_ref().filter(|t| !t.is_empty()) {
            return Ok(Credentials::Bearer(Secret::new(token.clone())));
        }
        if entry.identity_token.as_ref().is_some_and(|t| !t.is_empty()) {
            return Err(CredentialError::IdentityToken { registry });
        }
        if let Some(auth) = entry.auth.as_ref().filter(|a| !a.is_empty()) {
            let bad = || CredentialError::BadAuthField {
                registry: registry.clone(),
                path: self.path.clone().unwrap_or_default(),
            };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|_| bad())?;
            let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
            let (username, password) = decoded.split_once(':').ok_or_else(bad)?;
            return Ok(Credentials::Basic {
                username: username.to_owned(),
                password: Secret::new(password),
            });
        }
        match (&entry.username, &entry.password) {
            (Some(username), Some(password)) if !username.is_empty() => Ok(Credentials::Basic {
                username: username.clone(),
                password: Secret::new(password.clone()),
            }),
            _ => Ok(Credentials::Anonymous),
        }
    }

    /// Runs `docker-credential-<name> get`; `None` when the helper has no credentials.
    async fn run_helper(
        &self,
        name: &str,
        registry: &str,
    ) -> Result<Option<Credentials>, CredentialError> {
        let program = format!("docker-credential-{name}");
        let fail = |reason: String| CredentialError::Helper {
            program: program.clone(),
            registry: registry.to_owned(),
            reason,
        };
        let path = self
            .find_helper(&program)
            .ok_or_else(|| CredentialError::HelperMissing {
                program: program.clone(),
                registry: registry.to_owned(),
            })?;
        let server = if registry == "docker.io" {
            DOCKER_HUB_KEY
        } else {
            registry
        };
        let mut child = tokio::process::Command::new(&path)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| fail(format!("cannot start {}: {e}", path.display())))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading (it failed, or needs no input) closes
            // the pipe first; its exit status and stderr below say what happened.
            match stdin.write_all(server.as_bytes()).await {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(fail(format!("cannot write to it: {e}")));
                }
                _ => {}
            }
        }
        let output = tokio::time::timeout(HELPER_TIMEOUT, child.wait_with_output())
            .await
            .map_err(|_| fail(format!("no answer within {}s", HELPER_TIMEOUT.as_secs())))?
            .map_err(|e| fail(e.to_string()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let message = format!("{} {}", stdout.trim(), stderr.trim());
            if message.contains("credentials not found") {
                return Ok(None);
            }
            return Err(fail(format!("{}: {}", output.status, message.trim())));
        }
        #[derive(Deserialize)]
        struct HelperAnswer {
            #[serde(rename = "Username", default)]
            username: String,
            #[serde(rename = "Secret", default)]
            secret: String,
        }
        let answer: HelperAnswer = serde_json::from_str(&stdout)
            .map_err(|e| fail(format!("its output is not the expected JSON: {e}")))?;
        if answer.username == "<token>" {
            return Err(CredentialError::IdentityToken {
                registry: registry.to_owned(),
            });
        }
        if answer.username.is_empty() && answer.secret.is_empty() {
            return Ok(None);
        }
        Ok(Some(Credentials::Basic {
            username: answer.username,
            password: Secret::new(answer.secret),
        }))
    }

    fn find_helper(&self, program: &str) -> Option<PathBuf> {
        let search = self
            .helper_path
            .clone()
            .or_else(|| std::env::var_os("PATH"))?;
        std::env::split_paths(&search)
            .map(|dir| dir.join(program))
            .find(|candidate| is_executable(candidate))
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> DockerConfig {
        DockerConfig::from_json(json.as_bytes(), Path::new("/test/config.json")).expect("valid")
    }

    fn basic(user: &str, pass: &str) -> Credentials {
        Credentials::Basic {
            username: user.into(),
            password: Secret::new(pass),
        }
    }

    async fn creds(config: &DockerConfig, registry: &str) -> Credentials {
        config.credentials_for(registry).await.expect("credentials")
    }

    #[tokio::test]
    async fn auths_entries() {
        let c = config(
            r#"{"auths": {
                "https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="},
                "ghcr.io": {"username": "gh", "password": "pw"},
                "http://r.lan:5000/v2/": {"auth": "dTpwOndpdGg6Y29sb25z"},
                "tok.io": {"registrytoken": "abc"},
                "id.io": {"identitytoken": "refresh"},
                "empty.io": {}
            }}"#,
        );
        assert_eq!(creds(&c, "docker.io").await, basic("hub", "secret"));
        assert_eq!(creds(&c, "ghcr.io").await, basic("gh", "pw"));
        assert_eq!(creds(&c, "r.lan:5000").await, basic("u", "p:with:colons"));
        assert_eq!(
            creds(&c, "tok.io").await,
            Credentials::Bearer(Secret::new("abc"))
        );
        assert_eq!(creds(&c, "empty.io").await, Credentials::Anonymous);
        assert_eq!(creds(&c, "quay.io").await, Credentials::Anonymous);
        let err = c
            .credentials_for("id.io")
            .await
            .expect_err("identity token");
        assert!(
            err.to_string().contains("docker login -u USER id.io"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn bad_files_and_fields_are_reported() {
        let err = DockerConfig::from_json(b"{\"auths\": 3}", Path::new("/x/config.json"))
            .expect_err("invalid");
        assert!(err.to_string().contains("/x/config.json"), "{err}");
        let c = config(r#"{"auths": {"ghcr.io": {"auth": "not base64!"}}}"#);
        let err = c.credentials_for("ghcr.io").await.expect_err("bad auth");
        assert!(err.to_string().contains("docker login ghcr.io"), "{err}");
        let missing = DockerConfig::load_from(Path::new("/nonexistent/config.json"))
            .expect("missing file is empty");
        assert_eq!(creds(&missing, "docker.io").await, Credentials::Anonymous);
    }

    #[tokio::test]
    async fn helpers_run_with_the_registry_on_stdin() {
        let dir = tempfile::tempdir().expect("tempdir");
        let script = |name: &str, body: &str| {
            let path = dir.path().join(format!("docker-credential-{name}"));
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write");
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        };
        script(
            "store",
            r#"read host; case "$host" in
                 https://index.docker.io/v1/) echo '{"ServerURL":"x","Username":"hubuser","Secret":"hubpw"}';;
                 ghcr.io) echo '{"ServerURL":"ghcr.io","Username":"<token>","Secret":"t"}';;
                 *) echo "credentials not found in native keychain"; exit 1;;
               esac"#,
        );
        script(
            "special",
            r#"read host; echo "{\"Username\":\"sp\",\"Secret\":\"$host\"}""#,
        );
        script("broken", "echo boom >&2; exit 3");
        let c = config(
            r#"{"credsStore": "store",
                "credHelpers": {"special.io": "special", "broken.io": "broken", "gone.io": "gone"},
                "auths": {"fallback.io": {"auth": "Zjpi"}}}"#,
        )
        .with_helper_path(dir.path());
        assert_eq!(creds(&c, "docker.io").await, basic("hubuser", "hubpw"));
        assert_eq!(creds(&c, "special.io").await, basic("sp", "special.io"));
        // The store has nothing for it: the auths entry, then anonymous.
        assert_eq!(creds(&c, "fallback.io").await, basic("f", "b"));
        assert_eq!(creds(&c, "quay.io").await, Credentials::Anonymous);
        let err = c
            .credentials_for("ghcr.io")
            .await
            .expect_err("identity token");
        assert!(
            matches!(err, CredentialError::IdentityToken { .. }),
            "{err}"
        );
        let err = c
            .credentials_for("broken.io")
            .await
            .expect_err("helper fails");
        assert!(err.to_string().contains("boom"), "{err}");
        let err = c
            .credentials_for("gone.io")
            .await
            .expect_err("helper missing");
        assert!(
            err.to_string()
                .contains("docker-credential-gone for gone.io is not on PATH"),
            "{err}"
        );
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let shown = format!("{:?}", basic("user", "hunter2"));
        assert!(
            !shown.contains("hunter2") && shown.contains("user"),
            "{shown}"
        );
        let c = config(r#"{"auths": {"ghcr.io": {"auth": "aHViOnNlY3JldA=="}}}"#);
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("aHVi") && shown.contains("ghcr.io"),
            "{shown}"
        );
    }
}
