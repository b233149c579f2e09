variable "region" {
  description = "AWS region of the archive bucket, the KMS keys and the logseal processes (e.g. eu-central-1)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must be an AWS region name such as eu-central-1."
  }
}

variable "deployment" {
  description = "logseal deployment name (logseal.toml `deployment`): first part of every checkpoint origin `<deployment>/<stream>`. Visible without keys: no personal data. The KMS policies bind salt-key unwrapping to it."
  type        = string

  validation {
    condition = alltrue([
      can(regex("^[A-Za-z0-9_][A-Za-z0-9._/-]{0,127}$", var.deployment)),
      !endswith(var.deployment, "/"),
      !strcontains(var.deployment, "//"),
      !contains(split("/", var.deployment), "."),
      !contains(split("/", var.deployment), ".."),
      !startswith(var.deployment, "cosignature"),
    ])
    error_message = "deployment must be 1-128 characters from A-Z a-z 0-9 . _ - /, not start with '/', '.', '-' or 'cosignature', not end with '/', and contain no '//' and no '.' or '..' segment (docs/FORMAT.md section 3.1)."
  }
}

variable "name_prefix" {
  description = "Prefix of the IAM role names (`<prefix>-agent`, ...) and KMS aliases (`alias/<prefix>-base`, ...). Change it to run several deployments in one account."
  type        = string
  default     = "logseal"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$", var.name_prefix))
    error_message = "name_prefix must be 1-32 characters from A-Z a-z 0-9 _ -, starting with a letter or digit."
  }
}

variable "archive_bucket_name" {
  description = "Name of the archive bucket (Object Lock, created here). Its access-log bucket is named `<name>-access-logs`."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,49}[a-z0-9]$", var.archive_bucket_name)) && !strcontains(var.archive_bucket_name, "..")
    error_message = "archive_bucket_name must be 3-51 characters (room for the '-access-logs' suffix of its log bucket) of lowercase letters, digits, '.' and '-', starting and ending with a letter or digit."
  }
}

variable "store_prefix" {
  description = "Key prefix of the logseal store in the bucket, without leading or trailing '/': the `prefix` of `s3://bucket/prefix`. Empty for the whole bucket. Objects lie under `<prefix>/v1/`."
  type        = string
  default     = ""

  validation {
    condition     = var.store_prefix == "" || can(regex("^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$", var.store_prefix))
    error_message = "store_prefix must be empty or segments of A-Z a-z 0-9 . _ - separated by single '/', without a leading or trailing '/'."
  }
}

variable "retain_days" {
  description = "Object Lock retention in COMPLIANCE mode, in days: the buckets' default retention and the `retain_days` logseal writes with every object. Cannot be shortened for objects already written."
  type        = number
  default     = 3650

  validation {
    condition     = var.retain_days >= 1 && var.retain_days <= 36500 && floor(var.retain_days) == var.retain_days
    error_message = "retain_days must be a whole number of days from 1 to 36500."
  }
}

variable "access_log_days" {
  description = "Days the S3 server access logs of the archive (and mirror) bucket are kept before they expire."
  type        = number
  default     = 730

  validation {
    condition     = var.access_log_days >= 90 && floor(var.access_log_days) == var.access_log_days
    error_message = "access_log_days must be a whole number of at least 90 days."
  }
}

variable "mirror_bucket_enabled" {
  description = "Create the checkpoint mirror bucket (with its own KMS key), which receives only checkpoints (`v1/<stream>/checkpoints/*.ckpt`), through the `aws.mirror` provider (another account and/or region if configured)."
  type        = bool
  default     = false
}

variable "mirror_bucket_name" {
  description = "Name of the checkpoint mirror bucket; empty for `<archive_bucket_name>-ckpt`. Its access-log bucket is named `<name>-access-logs`."
  type        = string
  default     = ""

  validation {
    condition     = var.mirror_bucket_name == "" || (can(regex("^[a-z0-9][a-z0-9.-]{1,49}[a-z0-9]$", var.mirror_bucket_name)) && !strcontains(var.mirror_bucket_name, ".."))
    error_message = "mirror_bucket_name must be empty or 3-51 characters of lowercase letters, digits, '.' and '-', starting and ending with a letter or digit."
  }
}

variable "mirror_region" {
  description = "Region of the checkpoint mirror; empty for the archive's region."
  type        = string
  default     = ""

  validation {
    condition     = var.mirror_region == "" || can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.mirror_region))
    error_message = "mirror_region must be empty or an AWS region name such as eu-west-1."
  }
}

variable "mirror_assume_role_arn" {
  description = "Role in the mirror's account that Terraform assumes to create the mirror bucket and its key; empty to create them with the default credentials (same account)."
  type        = string
  default     = ""

  validation {
    condition     = var.mirror_assume_role_arn == "" || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.mirror_assume_role_arn))
    error_message = "mirror_assume_role_arn must be empty or an IAM role ARN."
  }
}

variable "role_trust" {
  description = <<-EOT
    Who may assume each logseal role: for each of `agent`, `query`, `analyst_query` and `auditor`, IAM principal ARNs (`principal_arns`: roles, users or accounts allowed to call sts:AssumeRole) and/or AWS service principals (`services`, e.g. "ec2.amazonaws.com" for an instance profile, "ecs-tasks.amazonaws.com" for an ECS task role). Example:
      role_trust = {
        agent         = { services = ["ec2.amazonaws.com"] }
        query         = { services = ["ecs-tasks.amazonaws.com"] }
        analyst_query = { services = ["ecs-tasks.amazonaws.com"] }
        auditor       = { principal_arns = ["arn:aws:iam::111122223333:role/audit"] }
      }
  EOT
  type = map(object({
    principal_arns = optional(list(string), [])
    services       = optional(list(string), [])
  }))

  validation {
    condition     = length(setsubtract(keys(var.role_trust), ["agent", "query", "analyst_query", "auditor"])) == 0 && length(setsubtract(["agent", "query", "analyst_query", "auditor"], keys(var.role_trust))) == 0
    error_message = "role_trust must have exactly the keys agent, query, analyst_query and auditor."
  }

  validation {
    condition     = alltrue([for r in values(var.role_trust) : length(r.principal_arns) + length(r.services) > 0])
    error_message = "Every role in role_trust needs at least one principal ARN or service."
  }

  validation {
    condition     = alltrue(flatten([for r in values(var.role_trust) : [for a in r.principal_arns : can(regex("^arn:aws[a-z-]*:(iam::[0-9]{12}:(root|role/.+|user/.+)|sts::[0-9]{12}:assumed-role/.+)$", a))]]))
    error_message = "principal_arns must be IAM account-root, role, user or assumed-role ARNs; wildcards are not allowed."
  }

  validation {
    condition     = alltrue(flatten([for r in values(var.role_trust) : [for s in r.services : can(regex("^[a-z0-9.-]+\\.amazonaws\\.com$", s))]]))
    error_message = "services must be AWS service principals such as ec2.amazonaws.com or ecs-tasks.amazonaws.com."
  }
}

variable "permissions_boundary_arn" {
  description = "ARN of a permissions boundary policy to set on every logseal role; empty for none."
  type        = string
  default     = ""

  validation {
    condition     = var.permissions_boundary_arn == "" || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be empty or an IAM policy ARN."
  }
}

variable "agent_recovery_access" {
  description = "Let the agent read its own sealed data objects and unwrap their keys (kms:Decrypt on base and pii beyond the index key), which the sealer needs only when it starts after a crash: it deep-verifies manifests that no checkpoint covers yet before signing over them, and checks that an orphaned data object opens with its keys (docs/FORMAT.md section 3.4). Without it such a start fails with AccessDenied until an operator with these rights runs the agent once."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource (besides `app = logseal` and `logseal-deployment`)."
  type        = map(string)
  default     = {}
}
