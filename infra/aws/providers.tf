provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

# The checkpoint mirror's account and region. By default the same
# credentials and region as the archive; set mirror_assume_role_arn (a role
# in the other account that may create the bucket and key) and mirror_region
# to keep the mirror out of reach of the archive account's administrators.
provider "aws" {
  alias  = "mirror"
  region = local.mirror_region

  dynamic "assume_role" {
    for_each = var.mirror_assume_role_arn == "" ? [] : [var.mirror_assume_role_arn]
    content {
      role_arn     = assume_role.value
      session_name = "logseal-terraform"
    }
  }

  default_tags {
    tags = local.tags
  }
}
