# Example values, with every optional part turned on. scripts/check-infra.sh
# runs checkov with this file, so that the checkpoint mirror and the
# agent's crash-recovery grants are checked too. Copy it to
# terraform.tfvars (or pass -var-file) and put in your own values.

region              = "eu-central-1"
deployment          = "logs.example.com/prod"
archive_bucket_name = "example-logseal-archive"
store_prefix        = "prod"
retain_days         = 3650
access_log_days     = 730

# The checkpoint mirror, here in another account and region: Terraform
# assumes this role there to create the mirror bucket and its key.
mirror_bucket_enabled  = true
mirror_bucket_name     = "example-logseal-checkpoints"
mirror_region          = "eu-west-1"
mirror_assume_role_arn = "arn:aws:iam::222233334444:role/logseal-mirror-admin"

role_trust = {
  agent         = { services = ["ec2.amazonaws.com"] }
  query         = { services = ["ecs-tasks.amazonaws.com"] }
  analyst_query = { services = ["ecs-tasks.amazonaws.com"] }
  auditor       = { principal_arns = ["arn:aws:iam::555566667777:role/external-auditor"] }
}

agent_recovery_access = true

tags = {
  owner = "security"
}
