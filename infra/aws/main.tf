# logseal on AWS: the archive bucket (s3.tf), the KMS keys (kms.tf) and one
# IAM role per logseal process (iam.tf). See README.md.

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

data "aws_caller_identity" "mirror" {
  count    = var.mirror_bucket_enabled ? 1 : 0
  provider = aws.mirror
}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id

  tags = merge(var.tags, {
    app                  = "logseal"
    "logseal-deployment" = var.deployment
  })

  # `s3://bucket/prefix` puts object `v1/...` at key `prefix/v1/...`.
  key_prefix = var.store_prefix == "" ? "" : "${var.store_prefix}/"
  store_url  = var.store_prefix == "" ? "s3://${var.archive_bucket_name}" : "s3://${var.archive_bucket_name}/${var.store_prefix}"

  # ARNs are spelled out rather than taken from the resources: the KMS key
  # policies name the buckets and the buckets name the keys.
  archive_bucket_arn = "arn:${local.partition}:s3:::${var.archive_bucket_name}"
  archive_objects    = "${local.archive_bucket_arn}/${local.key_prefix}v1/*"
  archive_manifests  = "${local.archive_bucket_arn}/${local.key_prefix}v1/*/manifests/*"
  archive_ckpts      = "${local.archive_bucket_arn}/${local.key_prefix}v1/*/checkpoints/*"
  archive_data       = "${local.archive_bucket_arn}/${local.key_prefix}v1/*/data/*"

  mirror_region      = var.mirror_region == "" ? var.region : var.mirror_region
  mirror_bucket_name = var.mirror_bucket_name == "" ? "${var.archive_bucket_name}-ckpt" : var.mirror_bucket_name
  mirror_bucket_arn  = "arn:${local.partition}:s3:::${local.mirror_bucket_name}"
  mirror_objects     = "${local.mirror_bucket_arn}/${local.key_prefix}v1/*"
  mirror_ckpts       = "${local.mirror_bucket_arn}/${local.key_prefix}v1/*/checkpoints/*.ckpt"
  mirror_url         = var.store_prefix == "" ? "s3://${local.mirror_bucket_name}" : "s3://${local.mirror_bucket_name}/${var.store_prefix}"

  # The query servers' own stream, `_access` (the access-audit trail): the
  # only objects they write, and the only checkpoints they copy to the
  # mirror (data/, manifests/, checkpoints/ as in any stream).
  archive_access_stream = "${local.archive_bucket_arn}/${local.key_prefix}v1/_access/*"
  mirror_access_ckpts   = "${local.mirror_bucket_arn}/${local.key_prefix}v1/_access/checkpoints/*.ckpt"

  # Every listing logseal makes is under `<prefix>v1/` (`v1/` for the
  # streams, `v1/<stream>/` for one stream).
  list_prefixes = ["${local.key_prefix}v1/*"]
  # The query servers list in the mirror only their own stream
  # (`v1/_access/`, when the sealer catches the mirror up at start).
  access_list_prefixes = ["${local.key_prefix}v1/_access/*"]

  # S3 calls KMS on the caller's behalf for SSE-KMS; with an S3 Bucket Key
  # the encryption context is the bucket ARN.
  s3_via_service        = "s3.${var.region}.amazonaws.com"
  mirror_s3_via_service = "s3.${local.mirror_region}.amazonaws.com"

  # logseal's KMS encryption context (store/src/keys/kms.rs, fn context):
  # `logseal:domain` = base | pii, and `logseal:purpose` = `kek` (a Parquet
  # key-encryption key), `index-key` (the blind-index key) or, for a
  # stream's salt-key-encryption key (made by GenerateDataKey, renewed every
  # 10 minutes; it wraps each file's salt key locally),
  # `logseal/salt-kek/v1 <deployment>/<stream>`.
  salt_key_purpose = "logseal/salt-kek/v1 ${var.deployment}/*"

  role_names = {
    agent         = "${var.name_prefix}-agent"
    query         = "${var.name_prefix}-query"
    analyst_query = "${var.name_prefix}-analyst-query"
    auditor       = "${var.name_prefix}-auditor"
  }
}
