output "archive_bucket" {
  description = "Name of the archive bucket."
  value       = module.archive.bucket
}

output "archive_access_log_bucket" {
  description = "Bucket receiving the archive bucket's server access logs."
  value       = module.archive.log_bucket
}

output "store_url" {
  description = "logseal `[store] url` (and `--store` / LOGSEAL_STORE) of the archive."
  value       = local.store_url
}

output "mirror_bucket" {
  description = "Name of the checkpoint mirror bucket (null when mirror_bucket_enabled is false)."
  value       = var.mirror_bucket_enabled ? module.mirror[0].bucket : null
}

output "mirror_store_url" {
  description = "URL of the checkpoint mirror store (null when mirror_bucket_enabled is false)."
  value       = var.mirror_bucket_enabled ? local.mirror_url : null
}

output "base_key_arn" {
  description = "ARN of the base-domain KMS key: logseal `[keys] base_key`."
  value       = aws_kms_key.base.arn
}

output "pii_key_arn" {
  description = "ARN of the pii-domain KMS key: logseal `[keys] pii_key`."
  value       = aws_kms_key.pii.arn
}

output "signing_key_arn" {
  description = "ARN of the ECC_NIST_P256 checkpoint signing key."
  value       = aws_kms_key.signing.arn
}

output "signing_key_id" {
  description = "Key id of the checkpoint signing key."
  value       = aws_kms_key.signing.key_id
}

output "mirror_key_arn" {
  description = "ARN of the checkpoint mirror bucket's SSE-KMS key (null when mirror_bucket_enabled is false)."
  value       = var.mirror_bucket_enabled ? aws_kms_key.mirror[0].arn : null
}

output "key_aliases" {
  description = "KMS aliases of the base, pii and checkpoint signing keys."
  value = {
    base    = aws_kms_alias.base.name
    pii     = aws_kms_alias.pii.name
    signing = aws_kms_alias.signing.name
  }
}

output "role_arns" {
  description = "ARNs of the logseal IAM roles (agent, query, analyst_query, auditor)."
  value       = { for k, r in aws_iam_role.this : k => r.arn }
}

locals {
  logseal_config = <<-EOT
    version = 1
    deployment = "${var.deployment}"

    [store]
    kind = "s3"
    url = "${local.store_url}"
    region = "${var.region}"
    object_lock = { mode = "compliance", retain_days = ${var.retain_days} }

    [keys]
    kind = "aws-kms"
    base_key = "${aws_kms_key.base.arn}"
    pii_key = "${aws_kms_key.pii.arn}"
    region = "${var.region}"
    # index_key_wrapped = "..."   # written by: logseal init --kms-base-key ${aws_kms_key.base.arn} --kms-pii-key ${aws_kms_key.pii.arn}
    # Being added to logseal: sign checkpoints in KMS instead of with the local key file.
    # signing_kms_key = "${aws_kms_key.signing.arn}"
  EOT

  logseal_config_mirror = <<-EOT

    # Being added to logseal: the checkpoint mirror.
    # [mirror]
    # kind = "s3"
    # url = "${local.mirror_url}"
    # region = "${local.mirror_region}"
    # object_lock = { mode = "compliance", retain_days = ${var.retain_days} }
  EOT
}

output "logseal_config" {
  description = "Ready-to-paste parts of logseal.toml for this deployment (`terraform output -raw logseal_config`). `logseal init --kms-base-key ... --kms-pii-key ...` adds `[keys] index_key_wrapped`; the commented lines are for the KMS checkpoint signer and the checkpoint mirror, which are being added to logseal."
  value       = var.mirror_bucket_enabled ? "${local.logseal_config}${local.logseal_config_mirror}" : local.logseal_config
}
