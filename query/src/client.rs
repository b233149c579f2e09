//! The client of the query server (`logseal search`, `stats`, `audit`):
//! finding and reading the client configuration, the mTLS connection,
//! and reading a response stream line by line as it arrives.
//!
//! A client configuration names the server and the files of one staff
//! identity (TOML; relative paths are relative to the file):
//!
//! ```toml
//! server = "127.0.0.1:8444"
//! server_name = "localhost"   # the name the server certificate carries
//! ca = "../tls/ca.pem"        # the CA that issued the server certificate
//! cert = "investigator.pem"   # this identity's client certificate
//! key = "investigator-key.pem"
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Buf, Bytes};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde::{Deserialize, Serialize};
use tokio_rustls::TlsConnector;

use crate::protocol::ApiRequest;
use crate::{Error, Result};

/// The environment variable naming a client configuration.
pub const CONFIG_ENV: &str = "LOGSEAL_CLIENT_CONFIG";

/// A client configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// `host:port` of `logseal serve`.
    pub server: String,
    /// The name to expect in the server certificate.
    #[serde(default = "localhost")]
    pub server_name: String,
    /// The CA certificate that issued the server certificate (PEM).
    pub ca: PathBuf,
    /// This identity's client certificate (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// The role to act in, when the identity holds grants of several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

fn localhost() -> String {
    "localhost".into()
}

fn client_err(message: impl Into<String>) -> Error {
    Error::Client(message.into())
}

/// The client configuration to use: `explicit` (`--client-config`), else
/// `$LOGSEAL_CLIENT_CONFIG`, else `~/.config/logseal/client.toml`.
pub fn find_config(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    if let Some(path) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    let default = config_home.map(|d| d.join("logseal/client.toml"));
    match default {
        Some(path) if path.exists() => Ok(path),
        _ => Err(client_err(format!(
            "no client configuration: pass --client-config FILE, set {CONFIG_ENV}, or create {} (`logseal up` writes one per role to <data-dir>/clients/<role>.toml)",
            default.map_or_else(|| "~/.config/logseal/client.toml".into(), |p| p.display().to_string())
        ))),
    }
}

impl ClientConfig {
    /// Reads `path`; relative file names become relative to its directory.
    pub fn load(path: &Path) -> Result<ClientConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| client_err(format!("reading the client configuration {}: {e}", path.display())))?;
        let mut config: ClientConfig = toml::from_str(&text)
            .map_err(|e| client_err(format!("the client configuration {}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for file in [&mut config.ca, &mut config.cert, &mut config.key] {
            if file.is_relative() {
                *file = base.join(&*file);
            }
        }
        Ok(config)
    }

    fn tls(&self) -> Result<rustls::ClientConfig> {
        let read = |path: &Path, what: &str| {
            std::fs::read(path).map_err(|e| client_err(format!("reading the {what} {}: {e}", path.display())))
        };
        let certs = |path: &Path, what: &str| -> Result<Vec<CertificateDer<'static>>> {
            let list: Vec<_> = CertificateDer::pem_slice_iter(&read(path, what)?)
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| client_err(format!("the {what} {}: not PEM: {e}", path.display())))?;
            if list.is_empty() {
                return Err(client_err(format!("the {what} {}: no CERTIFICATE block", path.display())));
            }
            Ok(list)
        };
        let mut roots = rustls::RootCertStore::empty();
        for ca in certs(&self.ca, "CA certificate")? {
            roots.add(ca).map_err(|e| client_err(format!("the CA certificate {}: {e}", self.ca.display())))?;
        }
        let chain = certs(&self.cert, "client certificate")?;
        let key = PrivateKeyDer::from_pem_slice(&read(&self.key, "client key")?).map_err(|e| {
            client_err(format!("the client key {}: no usable PEM private key ({e})", self.key.display()))
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| client_err(format!("TLS versions: {e}")))?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| {
                client_err(format!(
                    "the client certificate {} and key {} do not work together: {e}",
                    self.cert.display(),
                    self.key.display()
                ))
            })
    }
}

/// An open connection to the server.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Connection({})", self.host)
    }
}

/// Connects to the configured server with the configured identity.
pub async fn connect(config: &ClientConfig) -> Result<Connection> {
    let tls = TlsConnector::from(Arc::new(config.tls()?));
    let tcp = tokio::net::TcpStream::connect(&config.server).await.map_err(|e| {
        client_err(format!(
            "connecting to the query server {}: {e} (is `logseal serve` or `logseal up` running?)",
            config.server
        ))
    })?;
    let _ = tcp.set_nodelay(true);
    let name = ServerName::try_from(config.server_name.clone())
        .map_err(|e| client_err(format!("server_name {:?}: {e}", config.server_name)))?;
    let stream = tls.connect(name, tcp).await.map_err(|e| {
        client_err(format!(
            "TLS with the query server {} failed: {e} (the server certificate must be issued by {} for {:?}; the client certificate {} by the server's client CA)",
            config.server,
            config.ca.display(),
            config.server_name,
            config.cert.display()
        ))
    })?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| client_err(format!("HTTP with the query server {}: {e}", config.server)))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "query connection closed");
        }
    });
    Ok(Connection { sender, host: config.server.clone() })
}

impl Connection {
    /// Sends `request` to `path` (`/v1/search`, …) and returns the response
    /// as soon as its head arrives.
    pub async fn post(&mut self, path: &str, request: &ApiRequest) -> Result<Response<Incoming>> {
        let body = serde_json::to_vec(request).map_err(|e| client_err(format!("encoding the request: {e}")))?;
        let mut req = Request::post(path)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| client_err(format!("building the request: {e}")))?;
        req.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Ok(host) = HeaderValue::from_str(&self.host) {
            req.headers_mut().insert(HOST, host);
        }
        self.sender.send_request(req).await.map_err(|e| {
            client_err(format!(
                "the query server {} closed the connection: {e} (a client certificate it does not trust is refused during the TLS handshake)",
                self.host
            ))
        })
    }
}

/// Reads a response body line by line as it arrives.
#[derive(Debug)]
pub struct Lines {
    body: Incoming,
    buf: Vec<u8>,
    done: bool,
}

impl Lines {
    /// Lines of `response`'s body.
    pub fn new(response: Response<Incoming>) -> Lines {
        Lines { body: response.into_body(), buf: Vec::new(), done: false }
    }

    /// The next line (without its `\n`), or `None` at the end.
    pub async fn next(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            if let Some(at) = memchr::memchr(b'\n', &self.buf) {
                let rest = self.buf.split_off(at + 1);
                let mut line = std::mem::replace(&mut self.buf, rest);
                line.pop();
                return Ok(Some(line));
            }
            if self.done {
                return Ok((!self.buf.is_empty()).then(|| std::mem::take(&mut self.buf)));
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(mut data) = frame.into_data() {
                        while data.has_remaining() {
                            let chunk = data.chunk();
                            self.buf.extend_from_slice(chunk);
                            let n = chunk.len();
                            data.advance(n);
                        }
                    }
                }
                Some(Err(e)) => return Err(client_err(format!("reading the response: {e}"))),
                None => self.done = true,
            }
        }
    }

    /// Whether a complete line is buffered (the next [`Lines::next`] will
    /// not wait for the network).
    pub fn has_line(&self) -> bool {
        memchr::memchr(b'\n', &self.buf).is_some()
    }

    /// Everything that is left, as one buffer.
    pub async fn rest(mut self) -> Result<Vec<u8>> {
        let mut all = Vec::new();
        while let Some(line) = self.next().await? {
            all.extend_from_slice(&line);
            all.push(b'\n');
        }
        Ok(all)
    }
}
