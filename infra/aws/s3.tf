# The archive bucket and the optional checkpoint mirror: both Object Lock
# buckets with the same hardening (modules/locked-bucket).

module "archive" {
  source = "./modules/locked-bucket"

  bucket_name     = var.archive_bucket_name
  log_bucket_name = "${var.archive_bucket_name}-access-logs"
  kms_key_arn     = aws_kms_key.base.arn
  retain_days     = var.retain_days
  access_log_days = var.access_log_days
}

# Checkpoints only: a second, independently administered copy of what was
# signed, so that an archive rewritten by someone who controls the archive
# account is still caught by comparing checkpoints (docs/FORMAT.md section
# 10). In another account, the bucket policy is what lets the agent, the
# query servers (their `_access` checkpoints only) and the auditor in (an
# IAM policy alone does not cross accounts).
data "aws_iam_policy_document" "mirror_access" {
  count = var.mirror_bucket_enabled ? 1 : 0

  statement {
    sid       = "AgentWritesCheckpoints"
    effect    = "Allow"
    actions   = ["s3:PutObject", "s3:PutObjectRetention", "s3:GetObject"]
    resources = [local.mirror_ckpts]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.this["agent"].arn]
    }
  }

  statement {
    sid       = "AgentListsCheckpoints"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.mirror_bucket_arn]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.this["agent"].arn]
    }

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = local.list_prefixes
    }
  }

  # The query servers seal their own stream, `_access` (the access-audit
  # trail), and copy its checkpoints here like the agent: those only.
  statement {
    sid       = "QueryServersWriteAccessCheckpoints"
    effect    = "Allow"
    actions   = ["s3:PutObject", "s3:PutObjectRetention", "s3:GetObject"]
    resources = [local.mirror_access_ckpts]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.this["query"].arn, aws_iam_role.this["analyst_query"].arn]
    }
  }

  statement {
    sid       = "QueryServersListAccessCheckpoints"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.mirror_bucket_arn]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.this["query"].arn, aws_iam_role.this["analyst_query"].arn]
    }

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = local.access_list_prefixes
    }
  }

  statement {
    sid       = "AuditorReadsObjects"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectRetention"]
    resources = [local.mirror_objects]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.this["auditor"].arn]
    }
  }

  statement {
    sid       = "AuditorListsObjects"
    effect    = "Allow"
    actions   = ["s3:ListBucket", "s3:ListBucketVersions"]
    resources = [local.mirror_bucket_arn]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.this["auditor"].arn]
    }

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = local.list_prefixes
    }
  }

  statement {
    sid       = "AuditorReadsBucketProtection"
    effect    = "Allow"
    actions   = ["s3:GetBucketObjectLockConfiguration", "s3:GetBucketVersioning"]
    resources = [local.mirror_bucket_arn]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.this["auditor"].arn]
    }
  }
}

module "mirror" {
  source = "./modules/locked-bucket"
  count  = var.mirror_bucket_enabled ? 1 : 0

  providers = {
    aws = aws.mirror
  }

  bucket_name      = local.mirror_bucket_name
  log_bucket_name  = "${local.mirror_bucket_name}-access-logs"
  kms_key_arn      = aws_kms_key.mirror[0].arn
  retain_days      = var.retain_days
  access_log_days  = var.access_log_days
  policy_documents = [data.aws_iam_policy_document.mirror_access[0].json]
}
