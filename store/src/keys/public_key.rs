//! Public key files of the checkpoint key, as auditors hold them: either
//! the C2SP `vkey` line alone, or a PEM `PUBLIC KEY` (DER
//! `SubjectPublicKeyInfo`, which OpenSSL and KMS tooling read) preceded by
//! the `vkey` line as explanatory text (RFC 7468 §5.2), which names the
//! deployment. Both name the same key; a file where they differ is refused.

use logseal_core::checkpoint::LogVerifier;

use crate::error::{Error, ErrorKind, Result};

const VKEY_LABEL: &str = "# vkey: ";
const PEM_LABEL: &str = "PUBLIC KEY";

/// The PEM file of `verifier`: a comment, the vkey line, the PEM block.
pub fn to_pem(verifier: &LogVerifier, comment: &str) -> String {
    let block = pem::encode_config(
        &pem::Pem::new(PEM_LABEL, verifier.to_spki_der()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    );
    let comment: String = comment.lines().map(|l| format!("# {l}\n")).collect();
    format!("{comment}{VKEY_LABEL}{}\n{block}", verifier.to_vkey())
}

/// Parses a public key file's text.
pub fn parse(text: &str) -> Result<LogVerifier> {
    if !text.contains("-----BEGIN ") {
        return Ok(LogVerifier::from_vkey(text.trim())?);
    }
    let block = pem::parse(text).map_err(|e| Error::new(ErrorKind::BadKey, format!("not a PEM file: {e}")))?;
    if block.tag() != PEM_LABEL {
        return Err(Error::new(
            ErrorKind::BadKey,
            format!("the PEM block is a {:?}, not a {PEM_LABEL:?}", block.tag()),
        ));
    }
    let Some(vkey) = text.lines().find_map(|l| l.strip_prefix(VKEY_LABEL)) else {
        return Err(Error::new(
            ErrorKind::BadKey,
            format!(
                "the PEM public key does not say which deployment it signs for: add a line \"{VKEY_LABEL}<vkey>\" before it, or use the file `logseal keys export-public` writes"
            ),
        ));
    };
    let named = LogVerifier::from_vkey(vkey.trim())?;
    let verifier = LogVerifier::from_spki_der(named.name(), block.contents())?;
    if verifier.to_vkey() != named.to_vkey() {
        return Err(Error::new(ErrorKind::BadKey, "the vkey line and the PEM block are different keys"));
    }
    Ok(verifier)
}

#[cfg(test)]
mod tests {
    use logseal_core::checkpoint::LogSigner;

    use super::*;

    #[test]
    fn pem_files_round_trip_and_mismatches_are_refused() {
        let v = LogSigner::from_seed("logs.example/prod", [4; 32]).unwrap().verifier();
        let file = to_pem(&v, "logseal checkpoint key\nof logs.example/prod");
        assert!(
            file.starts_with("# logseal checkpoint key\n# of logs.example/prod\n# vkey: logs.example/prod+"),
            "{file}"
        );
        assert!(
            file.contains("\n-----BEGIN PUBLIC KEY-----\n") && file.ends_with("-----END PUBLIC KEY-----\n"),
            "{file}"
        );
        assert_eq!(parse(&file).unwrap().to_vkey(), v.to_vkey());
        assert_eq!(parse(&format!("{}\n", v.to_vkey())).unwrap().to_vkey(), v.to_vkey());

        let other = LogSigner::from_seed("logs.example/prod", [5; 32]).unwrap().verifier();
        let mixed = format!(
            "{VKEY_LABEL}{}\n{}",
            other.to_vkey(),
            file.split_once("-----BEGIN").map(|(_, b)| format!("-----BEGIN{b}")).unwrap()
        );
        assert!(parse(&mixed).unwrap_err().to_string().contains("different keys"));
        let unnamed: String = file.lines().filter(|l| !l.starts_with('#')).map(|l| format!("{l}\n")).collect();
        assert!(parse(&unnamed).unwrap_err().to_string().contains("which deployment"));
        assert!(parse("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").is_err());
        assert!(parse("-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----\n").is_err());
    }
}
