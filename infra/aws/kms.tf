# KMS keys of a logseal deployment (docs/FORMAT.md section 14):
#
# - base: wraps the Parquet key-encryption keys of the footer and the
#   `base` columns, and every key of the query servers' `_access` stream
#   (both its domains); also the archive bucket's SSE-KMS key.
# - pii: wraps the KEKs of the `pii` columns, the salt-key-encryption keys
#   (which wrap every file's salt key) and the blind-index key. Destroying it crypto-shreds all personal data.
# - signing: ECDSA P-256 key that signs checkpoints; its public key is
#   what auditors verify with.
# - mirror (optional): the checkpoint mirror bucket's SSE-KMS key, in the
#   mirror's account.
#
# Key policies: the account administers each key (all management actions,
# no cryptographic use); cryptographic use is granted only to the logseal
# roles, each with the same conditions as in its IAM policy (iam.tf).

locals {
  root_arn = "arn:${local.partition}:iam::${local.account_id}:root"

  # Management without use: no Encrypt/Decrypt/GenerateDataKey*/Sign/ReEncrypt.
  key_admin_actions = [
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
  ]

  agent_arn         = aws_iam_role.this["agent"].arn
  query_arn         = aws_iam_role.this["query"].arn
  analyst_query_arn = aws_iam_role.this["analyst_query"].arn
  auditor_arn       = aws_iam_role.this["auditor"].arn
}

# ---------------------------------------------------------------------------
# base
# ---------------------------------------------------------------------------

data "aws_iam_policy_document" "base_key" {
  #checkov:skip=CKV_AWS_111:This is a KMS key policy: its Resource "*" means this key and nothing else, and every grant of key use in it carries conditions (reading a public key aside); the unconditioned statement is the account's key administration, which includes no use of the key.
  #checkov:skip=CKV_AWS_356:This is a KMS key policy: its Resource "*" means this key and nothing else (a key policy cannot name another resource).

  # The agent's crash-recovery grant (agent_recovery_access), merged in from
  # its own document below.
  source_policy_documents = var.agent_recovery_access ? [data.aws_iam_policy_document.base_key_agent_recovery.json] : []

  statement {
    sid       = "AccountAdministersKey"
    effect    = "Allow"
    actions   = local.key_admin_actions
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.root_arn]
    }
  }

  statement {
    sid       = "AgentWraps"
    effect    = "Allow"
    actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.agent_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:logseal:domain"
      values   = ["base"]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "kms:EncryptionContextKeys"
      values   = ["logseal:domain", "logseal:purpose"]
    }
  }

  # The query servers seal their own stream, `_access`, whose files are
  # encrypted under this key in both domains: its Parquet KEKs (Encrypt)
  # and salt-key-encryption keys (GenerateDataKey), with the same
  # conditions as AgentWraps. The IAM policy limits what they write to
  # `v1/_access/*`.
  statement {
    sid       = "QueryServersWrapAccessTrail"
    effect    = "Allow"
    actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.query_arn, local.analyst_query_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:logseal:domain"
      values   = ["base"]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "kms:EncryptionContextKeys"
      values   = ["logseal:domain", "logseal:purpose"]
    }
  }

  # Reading base columns and footers; also the `_access` stream's own keys
  # when its sealer recovers after a crash.
  statement {
    sid       = "QueryServersUnwrap"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.query_arn, local.analyst_query_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:logseal:domain"
      values   = ["base"]
    }
  }

  # The archive bucket's SSE-KMS layer: only through S3, only for that
  # bucket. GenerateDataKey for the writers (the agent; the query servers,
  # for `_access`, who read with this Decrypt too); the auditor, who
  # writes nothing, has Decrypt alone (ArchiveSseKmsRead).
  statement {
    sid       = "ArchiveSseKmsWrite"
    effect    = "Allow"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.agent_arn, local.query_arn, local.analyst_query_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via_service]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:s3:arn"
      values   = [local.archive_bucket_arn]
    }
  }

  statement {
    sid       = "ArchiveSseKmsRead"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.auditor_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via_service]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:s3:arn"
      values   = [local.archive_bucket_arn]
    }
  }
}

# Crash recovery (agent_recovery_access): the agent unwraps base KEKs to open
# the footer of an orphaned data object and to deep-verify a manifest that
# no checkpoint covers yet (docs/FORMAT.md section 3.4).
data "aws_iam_policy_document" "base_key_agent_recovery" {
  statement {
    sid       = "AgentUnwrapsForCrashRecovery"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.agent_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:logseal:domain"
      values   = ["base"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:logseal:purpose"
      values   = ["kek"]
    }
  }
}

resource "aws_kms_key" "base" {
  description              = "logseal ${var.deployment}: base domain (Parquet footer and base columns; archive SSE-KMS)"
  customer_master_key_spec = "SYMMETRIC_DEFAULT"
  key_usage                = "ENCRYPT_DECRYPT"
  enable_key_rotation      = true
  deletion_window_in_days  = 30
  policy                   = data.aws_iam_policy_document.base_key.json
}

resource "aws_kms_alias" "base" {
  name          = "alias/${var.name_prefix}-base"
  target_key_id = aws_kms_key.base.key_id
}

# ---------------------------------------------------------------------------
# pii
# ---------------------------------------------------------------------------

data "aws_iam_policy_document" "pii_key" {
  #checkov:skip=CKV_AWS_111:This is a KMS key policy: its Resource "*" means this key and nothing else, and every grant of key use in it carries conditions (reading a public key aside); the unconditioned statement is the account's key administration, which includes no use of the key.
  #checkov:skip=CKV_AWS_356:This is a KMS key policy: its Resource "*" means this key and nothing else (a key policy cannot name another resource).

  statement {
    sid       = "AccountAdministersKey"
    effect    = "Allow"
    actions   = local.key_admin_actions
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.root_arn]
    }
  }

  statement {
    sid       = "AgentWraps"
    effect    = "Allow"
    actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.agent_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:logseal:domain"
      values   = ["pii"]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "kms:EncryptionContextKeys"
      values   = ["logseal:domain", "logseal:purpose"]
    }
  }

  statement {
    sid       = "AgentUnwrapsIndexKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.agent_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:logseal:domain"
      values   = ["pii"]
    }

    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:logseal:purpose"
      values   = var.agent_recovery_access ? ["index-key", "kek", local.salt_key_purpose] : ["index-key"]
    }
  }

  # The investigators' query server only; analyst_query gets nothing
  # under this key (not the blind-index key either), and no query server
  # wraps under it (its `_access` stream is base-only).
  statement {
    sid       = "InvestigatorQueryUnwraps"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.query_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:logseal:domain"
      values   = ["pii"]
    }
  }
}

resource "aws_kms_key" "pii" {
  description              = "logseal ${var.deployment}: pii domain (pii columns, salt keys, blind-index key); destroying it crypto-shreds personal data"
  customer_master_key_spec = "SYMMETRIC_DEFAULT"
  key_usage                = "ENCRYPT_DECRYPT"
  enable_key_rotation      = true
  deletion_window_in_days  = 30
  policy                   = data.aws_iam_policy_document.pii_key.json
}

resource "aws_kms_alias" "pii" {
  name          = "alias/${var.name_prefix}-pii"
  target_key_id = aws_kms_key.pii.key_id
}

# ---------------------------------------------------------------------------
# checkpoint signing
# ---------------------------------------------------------------------------

data "aws_iam_policy_document" "signing_key" {
  #checkov:skip=CKV_AWS_111:This is a KMS key policy: its Resource "*" means this key and nothing else, and every grant of key use in it carries conditions (reading a public key aside); the unconditioned statement is the account's key administration, which includes no use of the key.
  #checkov:skip=CKV_AWS_356:This is a KMS key policy: its Resource "*" means this key and nothing else (a key policy cannot name another resource).

  statement {
    sid       = "AccountAdministersKey"
    effect    = "Allow"
    actions   = local.key_admin_actions
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.root_arn]
    }
  }

  statement {
    sid       = "AgentSignsCheckpoints"
    effect    = "Allow"
    actions   = ["kms:Sign"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.agent_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:SigningAlgorithm"
      values   = ["ECDSA_SHA_256"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:MessageType"
      values   = ["RAW"]
    }
  }

  # The query servers sign the checkpoints of their `_access` stream, with
  # the same conditions. A signature names no stream, so this cannot be
  # narrowed to `_access` (see README.md).
  statement {
    sid       = "QueryServersSignAccessCheckpoints"
    effect    = "Allow"
    actions   = ["kms:Sign"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.query_arn, local.analyst_query_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:SigningAlgorithm"
      values   = ["ECDSA_SHA_256"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:MessageType"
      values   = ["RAW"]
    }
  }

  statement {
    sid       = "RolesReadPublicKey"
    effect    = "Allow"
    actions   = ["kms:GetPublicKey"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.agent_arn, local.query_arn, local.analyst_query_arn, local.auditor_arn]
    }
  }
}

# No automatic rotation: KMS rotates symmetric encryption keys only, never
# asymmetric ones. Rotating the checkpoint key is a deliberate act anyway:
# verifiers pin its public key, so rotation means a new key here, its public
# key handed to the auditors, and the old key kept (with Sign no longer
# granted) so that old checkpoints still verify.
resource "aws_kms_key" "signing" {
  description              = "logseal ${var.deployment}: checkpoint signing key (ECDSA P-256)"
  customer_master_key_spec = "ECC_NIST_P256"
  key_usage                = "SIGN_VERIFY"
  enable_key_rotation      = false
  deletion_window_in_days  = 30
  policy                   = data.aws_iam_policy_document.signing_key.json
}

resource "aws_kms_alias" "signing" {
  name          = "alias/${var.name_prefix}-checkpoints"
  target_key_id = aws_kms_key.signing.key_id
}

# ---------------------------------------------------------------------------
# mirror (in the mirror's account)
# ---------------------------------------------------------------------------

data "aws_iam_policy_document" "mirror_key" {
  #checkov:skip=CKV_AWS_111:This is a KMS key policy: its Resource "*" means this key and nothing else, and every grant of key use in it carries conditions (reading a public key aside); the unconditioned statement is the account's key administration, which includes no use of the key.
  #checkov:skip=CKV_AWS_356:This is a KMS key policy: its Resource "*" means this key and nothing else (a key policy cannot name another resource).

  count = var.mirror_bucket_enabled ? 1 : 0

  statement {
    sid       = "MirrorAccountAdministersKey"
    effect    = "Allow"
    actions   = local.key_admin_actions
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${data.aws_caller_identity.mirror[0].account_id}:root"]
    }
  }

  statement {
    sid       = "AgentWritesCheckpoints"
    effect    = "Allow"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.agent_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.mirror_s3_via_service]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:s3:arn"
      values   = [local.mirror_bucket_arn]
    }
  }

  # The query servers copy their `_access` checkpoints to the mirror; the
  # mirror's bucket policy (s3.tf) limits them to those.
  statement {
    sid       = "QueryServersWriteAccessCheckpoints"
    effect    = "Allow"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.query_arn, local.analyst_query_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.mirror_s3_via_service]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:s3:arn"
      values   = [local.mirror_bucket_arn]
    }
  }

  statement {
    sid       = "AuditorReadsCheckpoints"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.auditor_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.mirror_s3_via_service]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:s3:arn"
      values   = [local.mirror_bucket_arn]
    }
  }
}

resource "aws_kms_key" "mirror" {
  count    = var.mirror_bucket_enabled ? 1 : 0
  provider = aws.mirror

  description              = "logseal ${var.deployment}: checkpoint mirror bucket SSE-KMS"
  customer_master_key_spec = "SYMMETRIC_DEFAULT"
  key_usage                = "ENCRYPT_DECRYPT"
  enable_key_rotation      = true
  deletion_window_in_days  = 30
  policy                   = data.aws_iam_policy_document.mirror_key[0].json
}

resource "aws_kms_alias" "mirror" {
  count    = var.mirror_bucket_enabled ? 1 : 0
  provider = aws.mirror

  name          = "alias/${var.name_prefix}-mirror"
  target_key_id = aws_kms_key.mirror[0].key_id
}
