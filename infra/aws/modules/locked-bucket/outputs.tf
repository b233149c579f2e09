output "bucket" {
  description = "Name of the Object Lock bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the Object Lock bucket."
  value       = aws_s3_bucket.this.arn
}

output "log_bucket" {
  description = "Name of the bucket holding the server access logs."
  value       = aws_s3_bucket.logs.id
}

output "log_prefix" {
  description = "Key prefix of this bucket's server access logs in the log bucket."
  value       = local.log_prefix
}
