variable "bucket_name" {
  description = "Name of the Object Lock bucket."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) && !strcontains(var.bucket_name, "..")
    error_message = "bucket_name must be a valid S3 bucket name: 3-63 lowercase letters, digits, '.' and '-'."
  }
}

variable "log_bucket_name" {
  description = "Name of the bucket that receives this bucket's server access logs (created here)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.log_bucket_name)) && !strcontains(var.log_bucket_name, "..")
    error_message = "log_bucket_name must be a valid S3 bucket name: 3-63 lowercase letters, digits, '.' and '-'."
  }
}

variable "kms_key_arn" {
  description = "ARN of the symmetric KMS key used for the bucket's default encryption (SSE-KMS, with an S3 Bucket Key)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "retain_days" {
  description = "Default Object Lock retention in COMPLIANCE mode, in days, for every object version written without explicit retention."
  type        = number

  validation {
    condition     = var.retain_days >= 1 && var.retain_days <= 36500 && floor(var.retain_days) == var.retain_days
    error_message = "retain_days must be a whole number of days from 1 to 36500."
  }
}

variable "access_log_days" {
  description = "Days the server access logs are kept in the log bucket before they expire."
  type        = number

  validation {
    condition     = var.access_log_days >= 90 && floor(var.access_log_days) == var.access_log_days
    error_message = "access_log_days must be a whole number of at least 90 days."
  }
}

variable "policy_documents" {
  description = "Further bucket policy documents (JSON) merged into the bucket's policy, e.g. grants to principals of another account."
  type        = list(string)
  default     = []
}
