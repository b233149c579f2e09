"""A pyarrow KMS client over logseal's local key files.

logseal's local key provider (store/src/keys/local.rs) keeps one 256-bit
master key per file in a key directory, as 64 hex digits and a newline:

    logseal-base  ->  <keys dir>/base.key
    logseal-pii   ->  <keys dir>/pii.key

A wrapped key is base64(nonce (12 bytes) || AES-256-GCM ciphertext || tag
(16 bytes)), with the master key identifier's UTF-8 bytes as associated
data (the provider's context is empty for Parquet Modular Encryption).
pyarrow does the double wrapping itself and calls this client only to wrap
and unwrap key-encryption keys with a master key.
"""

import base64
import os
from pathlib import Path

import pyarrow.parquet.encryption as pe
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILES = {
    "logseal-base": "base.key",
    "logseal-pii": "pii.key",
}
NONCE_LEN = 12


class LocalKeyError(Exception):
    """A master key cannot be loaded or does not unwrap a key."""


def load_master_key(keys_dir, master_key_id):
    """The 32-byte master key `master_key_id` from its file in `keys_dir`."""
    name = KEY_FILES.get(master_key_id)
    if name is None:
        raise LocalKeyError(
            f"unknown local master key {master_key_id!r} (known: {', '.join(KEY_FILES)})"
        )
    path = Path(keys_dir) / name
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise LocalKeyError(
            f"key file {path} not found: master key {master_key_id} is not available"
        ) from None
    except OSError as e:
        raise LocalKeyError(f"key file {path}: {e.strerror}") from None
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise LocalKeyError(f"key file {path} does not hold a key (expected 64 hex digits)")
    return key


class LocalKmsClient(pe.KmsClient):
    """Wraps and unwraps keys with the master keys in a local key directory."""

    def __init__(self, keys_dir):
        pe.KmsClient.__init__(self)
        self.keys_dir = os.fspath(keys_dir)

    def wrap_key(self, key_bytes, master_key_identifier):
        master = load_master_key(self.keys_dir, master_key_identifier)
        nonce = os.urandom(NONCE_LEN)
        sealed = AESGCM(master).encrypt(nonce, bytes(key_bytes), master_key_identifier.encode())
        return base64.b64encode(nonce + sealed).decode("ascii")

    def unwrap_key(self, wrapped_key, master_key_identifier):
        master = load_master_key(self.keys_dir, master_key_identifier)
        try:
            blob = base64.b64decode(wrapped_key, validate=True)
            return AESGCM(master).decrypt(
                blob[:NONCE_LEN], blob[NONCE_LEN:], master_key_identifier.encode()
            )
        except Exception:
            raise LocalKeyError(
                f"wrapped key does not decrypt with master key {master_key_identifier} "
                f"from {self.keys_dir} (wrong key file, or the wrapped key was altered)"
            ) from None


def crypto_factory(keys_dir):
    """A pyarrow CryptoFactory whose KMS clients use the keys in `keys_dir`."""
    return pe.CryptoFactory(lambda _config: LocalKmsClient(keys_dir))
