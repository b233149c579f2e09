"""A pyarrow KMS client over logseal's AWS KMS keys (a reader's client).

logseal's KMS key provider (store/src/keys/kms.rs) keeps one symmetric KMS
key per key domain and wraps each key-encryption key (KEK) with KMS
`Encrypt` under the domain's key, bound to the encryption context

    {"logseal:domain": "base" | "pii", "logseal:purpose": "kek"}

The wrapped KEK in a file's PKMT1 key material is base64 of the KMS
ciphertext blob, and the master key identifier stored next to it is the
key id or ARN the deployment was configured with (`logseal init
--kms-base-key ... --kms-pii-key ...`). This client unwraps with KMS
`Decrypt` (KeyId = that identifier, the same encryption context); the
domain is the one whose configured key id the identifier is. A reader never
wraps, so `wrap_key` refuses.

The KMS endpoint is `AWS_ENDPOINT_URL_KMS` when set (e.g. moto from
`infra/dev/services`), else AWS's; the region is `AWS_REGION` or
`AWS_DEFAULT_REGION`, the credentials come from the environment as for any
boto3 client.
"""

import base64
import os

import boto3
import pyarrow.parquet.encryption as pe

PURPOSE_KEK = "kek"


class AwsKmsError(Exception):
    """A master key is not configured, or KMS does not unwrap a key."""


def kms_client():
    """A boto3 KMS client at `AWS_ENDPOINT_URL_KMS` when set, in `AWS_REGION`
    when set (as logseal's Rust SDK resolves them; boto3 itself reads only
    `AWS_DEFAULT_REGION`)."""
    return boto3.client(
        "kms",
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL_KMS") or None,
        region_name=os.environ.get("AWS_REGION") or None,
    )


def encryption_context(domain, purpose=PURPOSE_KEK):
    """The encryption context logseal binds a wrapped KEK to."""
    return {"logseal:domain": domain, "logseal:purpose": purpose}


class AwsKmsClient(pe.KmsClient):
    """Unwraps key-encryption keys with AWS KMS `Decrypt`.

    `base_key` and `pii_key` are the deployment's KMS key ids or ARNs, as
    logseal stores them in files; either may be None (an analyst without
    access to the pii key gives only `base_key`). `purpose` exists only so
    that a test can ask KMS with a wrong encryption context.
    """

    def __init__(self, base_key, pii_key=None, kms=None, purpose=PURPOSE_KEK):
        pe.KmsClient.__init__(self)
        self.domains = {}
        if base_key:
            self.domains[base_key] = "base"
        if pii_key:
            self.domains[pii_key] = "pii"
        if not self.domains:
            raise AwsKmsError("no KMS key configured (give the base key, and the pii key for pii columns)")
        self.kms = kms if kms is not None else kms_client()
        self.purpose = purpose

    def domain_of(self, master_key_identifier):
        domain = self.domains.get(master_key_identifier)
        if domain is None:
            configured = ", ".join(f"{d} {k}" for k, d in self.domains.items())
            raise AwsKmsError(
                f"master key {master_key_identifier} is not one of the configured KMS keys ({configured}): "
                "its columns cannot be decrypted with these keys"
            )
        return domain

    def wrap_key(self, key_bytes, master_key_identifier):
        raise AwsKmsError(
            f"refusing to wrap a key under {master_key_identifier}: this client only reads sealed files"
        )

    def unwrap_key(self, wrapped_key, master_key_identifier):
        domain = self.domain_of(master_key_identifier)
        try:
            blob = base64.b64decode(wrapped_key, validate=True)
        except ValueError:
            raise AwsKmsError(f"wrapped key under {master_key_identifier} is not base64") from None
        context = encryption_context(domain, self.purpose)
        try:
            out = self.kms.decrypt(
                KeyId=master_key_identifier,
                CiphertextBlob=blob,
                EncryptionContext=context,
            )
        except self.kms.exceptions.ClientError as e:
            error = e.response.get("Error", {})
            raise AwsKmsError(
                f"kms:Decrypt on {master_key_identifier} ({domain} domain, encryption context {context}) "
                f"failed: {error.get('Code', '?')}: {error.get('Message', e)}"
            ) from None
        return out["Plaintext"]


def crypto_factory(base_key, pii_key=None, kms=None, purpose=PURPOSE_KEK):
    """A pyarrow CryptoFactory whose KMS clients unwrap with AWS KMS."""
    if kms is None:
        kms = kms_client()
    return pe.CryptoFactory(lambda _config: AwsKmsClient(base_key, pii_key, kms, purpose))
