//! A real registry for tests: Debian's `docker-registry` on a free 127.0.0.1 port with its
//! storage in a temporary directory, stopped on drop; and skopeo, the independent client
//! that checks what crossdock pushed. Shared by the builder's registry tests and the
//! top-level CLI tests (included by path, so it uses only std, tempfile and bcrypt).
#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The registry binary CI installs (`apt-get install docker-registry`).
const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// A free port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// `docker-registry serve` on 127.0.0.1 with its storage in a temporary directory; killed on
/// drop. Can be stopped and started again on the same port and storage.
pub struct TestRegistry {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl TestRegistry {
    /// A registry open to everyone.
    pub fn start() -> Self {
        Self::start_inner(None)
    }

    /// A registry that requires HTTP basic auth with this user and password.
    pub fn start_with_basic_auth(user: &str, password: &str) -> Self {
        Self::start_inner(Some((user, password)))
    }

    fn start_inner(auth: Option<(&str, &str)>) -> Self {
        assert!(
            Path::new(REGISTRY_BIN).exists(),
            "{REGISTRY_BIN} is missing: install Debian's registry with \
             `apt-get install -y docker-registry skopeo` (CI's .ci/run does)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).expect("storage dir");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n",
            storage.display()
        );
        if let Some((user, password)) = auth {
            let hash = bcrypt::hash(password, 4).expect("bcrypt");
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, format!("{user}:{hash}\n")).expect("htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        std::fs::write(dir.path().join("config.yml"), config).expect("config");
        let mut registry = Self {
            port,
            dir,
            child: None,
        };
        registry.restart();
        registry
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The registry's storage directory (blobs land in
    /// `docker/registry/v2/blobs/sha256/<2 hex>/<hex>/data`).
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// Whether `repo` links `digest`: the registry writes the link after the blob's data,
    /// when the upload is committed, and only linked blobs answer a HEAD in `repo`. The
    /// link file is created before its text is written, so it counts once it names the
    /// digest.
    pub fn links_blob(&self, repo: &str, digest: &str) -> bool {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        let link = self
            .storage()
            .join("docker/registry/v2/repositories")
            .join(repo)
            .join("_layers/sha256")
            .join(hex)
            .join("link");
        std::fs::read_to_string(link).is_ok_and(|text| text.trim() == digest)
    }

    /// Kills the registry (its storage stays).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// (Re)starts the registry on the same port and storage, and waits until `/v2/` answers.
    pub fn restart(&mut self) {
        self.stop();
        let log = std::fs::File::create(self.dir.path().join("registry.log")).expect("log file");
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(self.dir.path().join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(status) = http_status(self.port, "GET", "/v2/") {
                if status == 200 || status == 401 {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default();
        panic!(
            "docker-registry did not answer on port {} within 15 s; its log:\n{log}",
            self.port
        );
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The status of a plain HTTP/1.0 request to 127.0.0.1:port, or `None` if nothing answers.
pub fn http_status(port: u16, method: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\
         Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).ok()?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.split(' ').nth(1)?.parse().ok()
}

/// Runs skopeo; panics with its output when it fails.
pub fn skopeo(args: &[&str]) -> String {
    let output = Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo is missing: `apt-get install -y skopeo` (CI's .ci/run does)");
    assert!(
        output.status.success(),
        "skopeo {args:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Whether skopeo can read `docker://host/repo:tag` (plain http).
pub fn skopeo_sees(host: &str, repo_tag: &str) -> bool {
    Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{host}/{repo_tag}"),
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}
