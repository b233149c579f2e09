# One role per logseal process, least privilege:
#
# | role          | S3                                            | KMS                                              |
# |---------------|-----------------------------------------------|--------------------------------------------------|
# | agent         | write v1/*; read manifests + checkpoints      | Encrypt/GenerateDataKey base+pii; Decrypt pii    |
# |               | (+ data, see agent_recovery_access);          | index key only (+ recovery); Sign; GetPublicKey  |
# |               | write, list and read back mirror checkpoints  |                                                  |
# | query         | read v1/*; write v1/_access/* (its own        | Decrypt base + pii; Encrypt/GenerateDataKey base |
# |               | stream, the access trail); write, list and    | only; Sign; GetPublicKey                         |
# |               | read back mirror _access checkpoints          |                                                  |
# | analyst_query | as query                                      | as query, but nothing under pii (no Decrypt pii, |
# |               |                                               | so not the blind-index key)                      |
# | auditor       | read v1/*, versions, retention, lock config   | GetPublicKey only (S3-mediated SSE-KMS aside)    |
#
# The same KMS permissions are in the key policies (kms.tf), which grant
# no cryptographic use to anyone else. Every role also gets the
# guardrails policy below: explicit denies that no later Allow can undo.

data "aws_iam_policy_document" "trust" {
  for_each = local.role_names

  statement {
    sid     = "AssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    dynamic "principals" {
      for_each = length(var.role_trust[each.key].principal_arns) > 0 ? [var.role_trust[each.key].principal_arns] : []
      content {
        type        = "AWS"
        identifiers = principals.value
      }
    }

    dynamic "principals" {
      for_each = length(var.role_trust[each.key].services) > 0 ? [var.role_trust[each.key].services] : []
      content {
        type        = "Service"
        identifiers = principals.value
      }
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = local.role_names

  name                 = each.value
  description          = "logseal ${each.key} (${var.deployment})"
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = 3600
  permissions_boundary = var.permissions_boundary_arn == "" ? null : var.permissions_boundary_arn
}

# ---------------------------------------------------------------------------
# Guardrails: every role
# ---------------------------------------------------------------------------

data "aws_iam_policy_document" "guardrails" {
  # No logseal process deletes an object, weakens a bucket or touches a
  # key's life cycle; denied on every resource, so that a broader Allow
  # attached later (by hand, or by a permissions boundary) cannot grant it.
  # Writing objects (s3:PutObject, s3:PutObjectRetention) is not denied
  # here: the agent and the query servers (`_access`) write, each only
  # where its own policy allows.
  statement {
    sid    = "DenyDestructiveS3"
    effect = "Deny"
    actions = [
      "s3:DeleteObject*",
      "s3:DeleteBucket*",
      "s3:BypassGovernanceRetention",
      "s3:PutBucketObjectLockConfiguration",
      "s3:PutBucketPolicy",
      "s3:PutBucketVersioning",
      "s3:PutBucketPublicAccessBlock",
      "s3:PutBucketOwnershipControls",
      "s3:PutBucketAcl",
      "s3:PutObjectAcl",
      "s3:PutObjectLegalHold",
      "s3:PutLifecycleConfiguration",
      "s3:PutEncryptionConfiguration",
      "s3:PutBucketLogging",
      "s3:PutReplicationConfiguration",
    ]
    resources = ["*"]
  }

  statement {
    sid    = "DenyKeyManagement"
    effect = "Deny"
    actions = [
      "kms:ScheduleKeyDeletion",
      "kms:DisableKey",
      "kms:PutKeyPolicy",
      "kms:CreateGrant",
      "kms:DeleteAlias",
      "kms:UpdateAlias",
      "kms:DeleteImportedKeyMaterial",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "guardrails" {
  for_each = local.role_names

  name   = "logseal-guardrails"
  role   = aws_iam_role.this[each.key].id
  policy = data.aws_iam_policy_document.guardrails.json
}

# ---------------------------------------------------------------------------
# agent: seals records into the archive
# ---------------------------------------------------------------------------

data "aws_iam_policy_document" "agent" {
  # Every PUT carries Object Lock headers (`[store] object_lock`), which
  # needs s3:PutObjectRetention besides s3:PutObject; s3:PutObject also
  # covers the parts of a multipart upload, and the agent aborts its own
  # failed ones.
  statement {
    sid       = "WriteSealedObjects"
    effect    = "Allow"
    actions   = ["s3:PutObject", "s3:PutObjectRetention", "s3:AbortMultipartUpload"]
    resources = [local.archive_objects]
  }

  # The sealer rebuilds each stream's state from the store alone when it
  # starts (docs/FORMAT.md section 3.4): it lists the stream, re-reads
  # every manifest (the manifest log) and the newest checkpoint, checks
  # them and continues the hash chain from there. It reads nothing else in
  # normal operation.
  statement {
    sid       = "ReadOwnManifestsAndCheckpoints"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = [local.archive_manifests, local.archive_ckpts]
  }

  # Crash recovery only (agent_recovery_access): a manifest not yet covered
  # by a checkpoint is signed over only after its data object verifies
  # deeply, and an orphaned data object is listed only if it opens with
  # the deployment's keys; both read the data object.
  dynamic "statement" {
    for_each = var.agent_recovery_access ? [1] : []
    content {
      sid       = "ReadDataForCrashRecovery"
      effect    = "Allow"
      actions   = ["s3:GetObject"]
      resources = [local.archive_data]
    }
  }

  statement {
    sid       = "ListStore"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.archive_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = local.list_prefixes
    }
  }

  # The checkpoint mirror: the sealer copies every checkpoint there
  # (PutObjectRetention: when the mirror store writes with Object Lock
  # headers too). At start it lists the stream's checkpoints in the mirror
  # and copies those missing, and when a copy already exists it reads it
  # back to check it is identical; nothing but checkpoints is read there.
  dynamic "statement" {
    for_each = var.mirror_bucket_enabled ? [1] : []
    content {
      sid       = "WriteMirrorCheckpoints"
      effect    = "Allow"
      actions   = ["s3:PutObject", "s3:PutObjectRetention", "s3:GetObject"]
      resources = [local.mirror_ckpts]
    }
  }

  dynamic "statement" {
    for_each = var.mirror_bucket_enabled ? [1] : []
    content {
      sid       = "ListMirror"
      effect    = "Allow"
      actions   = ["s3:ListBucket"]
      resources = [local.mirror_bucket_arn]

      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = local.list_prefixes
      }
    }
  }

  # Wrapping Parquet key-encryption keys (kms:Encrypt), making each
  # stream's salt-key-encryption key and, at `logseal init`, the blind-index
  # key (kms:GenerateDataKey), each
  # key only in its own domain and only with logseal's context keys.
  statement {
    sid       = "WrapBaseKeys"
    effect    = "Allow"
    actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.base.arn]

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

  statement {
    sid       = "WrapPiiKeys"
    effect    = "Allow"
    actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.pii.arn]

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

  # The agent unwraps the blind-index key once, to compute `ip_tag`
  # pseudonyms; it cannot unwrap anything else under pii.
  statement {
    sid       = "UnwrapIndexKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.pii.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:logseal:domain"
      values   = ["pii"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:logseal:purpose"
      values   = ["index-key"]
    }
  }

  dynamic "statement" {
    for_each = var.agent_recovery_access ? [1] : []
    content {
      sid       = "UnwrapBaseKeysForCrashRecovery"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [aws_kms_key.base.arn]

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

  dynamic "statement" {
    for_each = var.agent_recovery_access ? [1] : []
    content {
      sid       = "UnwrapPiiKeysForCrashRecovery"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [aws_kms_key.pii.arn]

      condition {
        test     = "StringEquals"
        variable = "kms:EncryptionContext:logseal:domain"
        values   = ["pii"]
      }

      condition {
        test     = "StringLike"
        variable = "kms:EncryptionContext:logseal:purpose"
        values   = ["kek", local.salt_key_purpose]
      }
    }
  }

  # SSE-KMS of the archive bucket (defense in depth under logseal's own
  # encryption): S3 asks KMS on the agent's behalf when it stores an
  # object, and Decrypt also for multipart uploads and for the reads above.
  statement {
    sid       = "ArchiveSseKms"
    effect    = "Allow"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.base.arn]

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

  dynamic "statement" {
    for_each = var.mirror_bucket_enabled ? [1] : []
    content {
      sid       = "MirrorSseKms"
      effect    = "Allow"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [aws_kms_key.mirror[0].arn]

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

  statement {
    sid       = "SignCheckpoints"
    effect    = "Allow"
    actions   = ["kms:Sign"]
    resources = [aws_kms_key.signing.arn]

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
    sid       = "ReadCheckpointPublicKey"
    effect    = "Allow"
    actions   = ["kms:GetPublicKey"]
    resources = [aws_kms_key.signing.arn]
  }
}

resource "aws_iam_role_policy" "agent" {
  name   = "logseal-agent"
  role   = aws_iam_role.this["agent"].id
  policy = data.aws_iam_policy_document.agent.json
}

# ---------------------------------------------------------------------------
# query (investigator) and analyst_query: read and decrypt; seal `_access`
# ---------------------------------------------------------------------------

# `logseal serve` reads the archive, and writes one stream of its own:
# `_access`, the access-audit trail (every search, stats and audit request,
# sealed like log data so that `logseal verify` covers it). Its files are
# encrypted under the base key in both key domains, so writing it needs
# nothing under pii; the two roles differ only in UnwrapPiiKeys.
data "aws_iam_policy_document" "query" {
  for_each = toset(["query", "analyst_query"])

  statement {
    sid       = "ReadArchive"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = [local.archive_objects]
  }

  statement {
    sid       = "ListStore"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.archive_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = local.list_prefixes
    }
  }

  # The `_access` stream only (data, manifests, checkpoints), never another
  # stream: every PUT carries Object Lock headers (s3:PutObjectRetention),
  # and the server aborts its own failed multipart uploads. Its crash
  # recovery reads with ReadArchive above.
  statement {
    sid       = "WriteAccessTrail"
    effect    = "Allow"
    actions   = ["s3:PutObject", "s3:PutObjectRetention", "s3:AbortMultipartUpload"]
    resources = [local.archive_access_stream]
  }

  # The checkpoint mirror, for `_access` only: as the agent's
  # WriteMirrorCheckpoints and ListMirror, limited to `v1/_access/`.
  dynamic "statement" {
    for_each = var.mirror_bucket_enabled ? [1] : []
    content {
      sid       = "WriteMirrorAccessCheckpoints"
      effect    = "Allow"
      actions   = ["s3:PutObject", "s3:PutObjectRetention", "s3:GetObject"]
      resources = [local.mirror_access_ckpts]
    }
  }

  dynamic "statement" {
    for_each = var.mirror_bucket_enabled ? [1] : []
    content {
      sid       = "ListMirrorAccessCheckpoints"
      effect    = "Allow"
      actions   = ["s3:ListBucket"]
      resources = [local.mirror_bucket_arn]

      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = local.access_list_prefixes
      }
    }
  }

  # Unwrapping base-domain keys: the base columns and footers of every
  # stream, and the `_access` stream's own keys when its sealer recovers
  # after a crash (purpose `kek` and its salt-key-encryption keys).
  statement {
    sid       = "UnwrapBaseKeys"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.base.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:logseal:domain"
      values   = ["base"]
    }
  }

  # Sealing `_access`: wrapping its Parquet key-encryption keys
  # (kms:Encrypt) and making its salt-key-encryption keys
  # (kms:GenerateDataKey), under the base key only and only with
  # logseal's context keys, as the agent's WrapBaseKeys. Never under pii.
  statement {
    sid       = "WrapBaseKeys"
    effect    = "Allow"
    actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.base.arn]

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

  # Investigators only: pii columns, salt keys and the blind-index key.
  # analyst_query gets nothing under pii: with the blind-index key whoever
  # runs that server could reverse IPv4 `ip_tag` pseudonyms by brute force.
  dynamic "statement" {
    for_each = each.key == "query" ? [1] : []
    content {
      sid       = "UnwrapPiiKeys"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [aws_kms_key.pii.arn]

      condition {
        test     = "StringEquals"
        variable = "kms:EncryptionContext:logseal:domain"
        values   = ["pii"]
      }
    }
  }

  # SSE-KMS of the archive bucket: Decrypt for every read, GenerateDataKey
  # (and Decrypt, for multipart uploads) for the `_access` writes, as the
  # agent's ArchiveSseKms. S3's context is the bucket, not the key, so this
  # cannot be narrowed to `_access`; WriteAccessTrail is what does.
  statement {
    sid       = "ArchiveSseKms"
    effect    = "Allow"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.base.arn]

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

  dynamic "statement" {
    for_each = var.mirror_bucket_enabled ? [1] : []
    content {
      sid       = "MirrorSseKms"
      effect    = "Allow"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [aws_kms_key.mirror[0].arn]

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

  # Signing the `_access` stream's checkpoints, as the agent's
  # SignCheckpoints (KMS cannot tie a signature to a stream: see README.md).
  statement {
    sid       = "SignCheckpoints"
    effect    = "Allow"
    actions   = ["kms:Sign"]
    resources = [aws_kms_key.signing.arn]

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
    sid       = "ReadCheckpointPublicKey"
    effect    = "Allow"
    actions   = ["kms:GetPublicKey"]
    resources = [aws_kms_key.signing.arn]
  }
}

resource "aws_iam_role_policy" "query" {
  for_each = toset(["query", "analyst_query"])

  name   = "logseal-${replace(each.key, "_", "-")}"
  role   = aws_iam_role.this[each.key].id
  policy = data.aws_iam_policy_document.query[each.key].json
}

# ---------------------------------------------------------------------------
# auditor: verifies without keys
# ---------------------------------------------------------------------------

data "aws_iam_policy_document" "auditor" {
  statement {
    sid     = "ReadObjectsVersionsRetention"
    effect  = "Allow"
    actions = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectRetention"]
    resources = concat(
      [local.archive_objects],
      var.mirror_bucket_enabled ? [local.mirror_objects] : [],
    )
  }

  statement {
    sid     = "ListObjectsAndVersions"
    effect  = "Allow"
    actions = ["s3:ListBucket", "s3:ListBucketVersions"]
    resources = concat(
      [local.archive_bucket_arn],
      var.mirror_bucket_enabled ? [local.mirror_bucket_arn] : [],
    )

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = local.list_prefixes
    }
  }

  statement {
    sid     = "ReadBucketProtection"
    effect  = "Allow"
    actions = ["s3:GetBucketObjectLockConfiguration", "s3:GetBucketVersioning"]
    resources = concat(
      [local.archive_bucket_arn],
      var.mirror_bucket_enabled ? [local.mirror_bucket_arn] : [],
    )
  }

  # Not a logseal key use: S3 itself must decrypt the bucket's SSE-KMS
  # layer to return any object (verification hashes the stored bytes).
  # kms:ViaService limits this to requests S3 makes for the auditor, with
  # S3's own encryption context, so the auditor can never unwrap a logseal
  # key-encryption key (those need a direct kms:Decrypt with
  # `logseal:domain`).
  statement {
    sid       = "ArchiveSseKms"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.base.arn]

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

  dynamic "statement" {
    for_each = var.mirror_bucket_enabled ? [1] : []
    content {
      sid       = "MirrorSseKms"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [aws_kms_key.mirror[0].arn]

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

  statement {
    sid       = "ReadCheckpointPublicKey"
    effect    = "Allow"
    actions   = ["kms:GetPublicKey"]
    resources = [aws_kms_key.signing.arn]
  }
}

resource "aws_iam_role_policy" "auditor" {
  name   = "logseal-auditor"
  role   = aws_iam_role.this["auditor"].id
  policy = data.aws_iam_policy_document.auditor.json
}
