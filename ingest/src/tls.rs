//! TLS for every listener (rustls, TLS 1.2 and 1.3, the ring provider):
//! the server configuration from PEM files, client certificates verified
//! against a configured CA, the identity a client certificate names, and
//! the development PKI that `logseal up` creates with `rcgen`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConfig, WebPkiClientVerifier};

use crate::error::{Error, ErrorKind, Result};

fn tls_err(message: String) -> Error {
    Error::new(ErrorKind::Tls, message)
}

fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = fs::read(path).map_err(|e| tls_err(format!("{what} {}: {e}", path.display())))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| tls_err(format!("{what} {}: not PEM: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(tls_err(format!("{what} {}: no CERTIFICATE block found (expected PEM)", path.display())));
    }
    Ok(certs)
}

/// Which clients a listener accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// A certificate from the CA is required.
    Required,
    /// A certificate is verified if presented; others authenticate another way (bearer tokens).
    Optional,
}

/// The rustls server configuration of a listener.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: &Path,
    auth: ClientAuth,
    alpn: &[&[u8]],
) -> Result<Arc<ServerConfig>> {
    let chain = read_certs(cert, "server certificate file")?;
    let key_bytes = fs::read(key).map_err(|e| tls_err(format!("server key file {}: {e}", key.display())))?;
    let private_key = PrivateKeyDer::from_pem_slice(&key_bytes)
        .map_err(|e| tls_err(format!("server key file {}: no usable PEM private key ({e})", key.display())))?;
    let mut roots = RootCertStore::empty();
    for ca in read_certs(client_ca, "client CA file")? {
        roots.add(ca).map_err(|e| tls_err(format!("client CA file {}: {e}", client_ca.display())))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
    let verifier = match auth {
        ClientAuth::Required => verifier,
        ClientAuth::Optional => verifier.allow_unauthenticated(),
    }
    .build()
    .map_err(|e| tls_err(format!("client CA file {}: {e}", client_ca.display())))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| tls_err(format!("TLS versions: {e}")))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, private_key)
        .map_err(|e| {
            tls_err(format!(
                "server certificate {} and key {} do not work together: {e}",
                cert.display(),
                key.display()
            ))
        })?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// The identity a client certificate names: its first DNS subject
/// alternative name, else its first URI name, else its subject CN.
pub fn identity(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    if let Ok(Some(san)) = parsed.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(dns) => return Some((*dns).to_owned()),
                x509_parser::extensions::GeneralName::URI(uri) => return Some((*uri).to_owned()),
                _ => {}
            }
        }
    }
    parsed.subject().iter_common_name().next().and_then(|cn| cn.as_str().ok()).map(str::to_owned)
}

/// The files of a development PKI.
#[derive(Debug, Clone)]
pub struct DevPki {
    /// The CA certificate (trust anchor for clients and the server).
    pub ca: PathBuf,
    /// The CA's key (to issue more client certificates).
    pub ca_key: PathBuf,
    /// The server certificate (`localhost`, `127.0.0.1`).
    pub server_cert: PathBuf,
    /// Its key.
    pub server_key: PathBuf,
    /// A client certificate (identity `client-1.logseal.local`).
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
}

impl DevPki {
    /// The file names inside `dir`.
    pub fn at(dir: &Path) -> DevPki {
        DevPki {
            ca: dir.join("ca.pem"),
            ca_key: dir.join("ca-key.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server-key.pem"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client-key.pem"),
        }
    }

    /// Creates a CA, a server certificate and a client certificate in
    /// `dir` (keys mode 0600). For development and tests only.
    pub fn create(dir: &Path) -> Result<DevPki> {
        let pki = DevPki::at(dir);
        fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), &e))?;
        let gen_err = |e: rcgen::Error| tls_err(format!("generating development certificates: {e}"));
        let ca_key = KeyPair::generate().map_err(gen_err)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(gen_err)?;
        ca_params.distinguished_name.push(DnType::CommonName, "logseal development CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(gen_err)?;
        write_private(&pki.ca_key, &ca_key.serialize_pem())?;
        let issuer = Issuer::new(ca_params, ca_key);

        let mut server = CertificateParams::new(vec!["localhost".to_owned()]).map_err(gen_err)?;
        server.subject_alt_names.push(SanType::IpAddress("127.0.0.1".parse().expect("an address")));
        server.distinguished_name.push(DnType::CommonName, "localhost");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate().map_err(gen_err)?;
        let server_cert = server.signed_by(&server_key, &issuer).map_err(gen_err)?;

        let (client_cert, client_key) = client_certificate(&issuer, "client-1.logseal.local")?;
        write_public(&pki.ca, &ca_cert.pem())?;
        write_public(&pki.server_cert, &server_cert.pem())?;
        write_private(&pki.server_key, &server_key.serialize_pem())?;
        write_public(&pki.client_cert, &client_cert)?;
        write_private(&pki.client_key, &client_key)?;
        Ok(pki)
    }

    /// Issues another client certificate for `name` with this PKI's CA:
    /// (certificate PEM, key PEM).
    pub fn issue_client(&self, name: &str) -> Result<(String, String)> {
        let pem = fs::read_to_string(&self.ca_key)
            .map_err(|e| Error::io(format!("reading {}", self.ca_key.display()), &e))?;
        let key = KeyPair::from_pem(&pem).map_err(|e| tls_err(format!("CA key {}: {e}", self.ca_key.display())))?;
        client_certificate(&Issuer::new(ca_params()?, key), name)
    }
}

/// The development CA's parameters (the same every time, so that a CA key
/// on disk can issue more certificates).
fn ca_params() -> Result<CertificateParams> {
    let mut params =
        CertificateParams::new(Vec::<String>::new()).map_err(|e| tls_err(format!("CA parameters: {e}")))?;
    params.distinguished_name.push(DnType::CommonName, "logseal development CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    Ok(params)
}

/// A client certificate for `name` issued by `issuer`: (cert PEM, key PEM).
pub fn client_certificate(issuer: &Issuer<'_, KeyPair>, name: &str) -> Result<(String, String)> {
    let gen_err = |e: rcgen::Error| tls_err(format!("generating a client certificate for {name}: {e}"));
    let mut params = CertificateParams::new(vec![name.to_owned()]).map_err(gen_err)?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().map_err(gen_err)?;
    let cert = params.signed_by(&key, issuer).map_err(gen_err)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn write_public(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).map_err(|e| Error::io(format!("writing {}", path.display()), &e))
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    logseal_store::keys::local::write_secret_file(path, text.as_bytes()).map_err(Error::from)
}
