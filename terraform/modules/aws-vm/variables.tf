variable "name" {
  description = "Prefix for every resource's name."
  type        = string
  default     = "qache"
}

variable "vpc_id" {
  description = "The VPC the cluster runs in."
  type        = string
}

variable "subnet_ids_by_zone" {
  description = "A private subnet per availability zone, zone => subnet id; nodes are spread over these zones."
  type        = map(string)
  validation {
    condition     = length(var.subnet_ids_by_zone) >= 1
    error_message = "Give at least one subnet."
  }
}

variable "shards" {
  description = "Number of shards."
  type        = number
  default     = 3
}

variable "replicas_per_shard" {
  description = "Replicas per shard, each in another zone than its primary."
  type        = number
  default     = 1
}

variable "node_memory_limit" {
  description = "qache.node.memory-limit of every node (e.g. 20G); at most 80% of the node's heap."
  type        = string
  default     = "20G"
  validation {
    condition     = can(regex("^[0-9]+[KMG]?$", var.node_memory_limit))
    error_message = "node_memory_limit is a number with an optional K, M or G suffix."
  }
  # The node refuses to start on a limit above 80% of its maximum heap (StoreLifecycle).
  validation {
    # try(): a malformed size (the rules on each) passes this rule.
    condition = try(
      tonumber(regex("^[0-9]+", var.node_memory_limit)) * lookup({ "K" = 1024, "M" = 1048576, "G" = 1073741824 }, upper(trimprefix(var.node_memory_limit, regex("^[0-9]+", var.node_memory_limit))), 1)
      <= 0.8 * tonumber(regex("^[0-9]+", var.node_heap)) * lookup({ "K" = 1024, "M" = 1048576, "G" = 1073741824 }, upper(trimprefix(var.node_heap, regex("^[0-9]+", var.node_heap))), 1),
      true
    )
    error_message = "node_memory_limit must be at most 80% of node_heap: the node refuses to start otherwise."
  }
}

variable "node_heap" {
  description = "-Xmx of every node; keep it under 32g (compressed references)."
  type        = string
  default     = "26g"
  validation {
    condition     = can(regex("^[0-9]+[kKmMgG]?$", var.node_heap))
    error_message = "node_heap is an -Xmx size: a number with an optional k, m or g suffix."
  }
}

variable "architecture" {
  description = "CPU architecture of every instance, as Debian names it: amd64 (x86_64 types such as r7i) or arm64 (Graviton types such as r7g). Picks the Debian 12 AMI and the JDK's path."
  type        = string
  default     = "amd64"
  validation {
    condition     = contains(["amd64", "arm64"], var.architecture)
    error_message = "architecture is amd64 or arm64."
  }
}

variable "node_instance_type" {
  description = "Instance type of the cache nodes (memory-optimised; docs/CAPACITY.md)."
  type        = string
  default     = "r7i.xlarge"
}

variable "routers" {
  description = "Routers in the Raft group: 1, 3 or 5 (a majority must run for the map to change)."
  type        = number
  default     = 3
  validation {
    condition     = contains([1, 3, 5], var.routers)
    error_message = "routers must be 1, 3 or 5."
  }
}

variable "router_volume_size" {
  description = "GiB of each router's state volume (Raft log and snapshots; a few MB in practice)."
  type        = number
  default     = 8
}

variable "router_instance_type" {
  description = "Instance type of the router."
  type        = string
  default     = "c7i.xlarge"
}

variable "admin_ui_instance_type" {
  description = "Instance type of the admin console."
  type        = string
  default     = "t3.small"
}

variable "ami_id" {
  description = "AMI for every instance, Debian 12 of the given architecture (cloud-init installs awscli from Debian's archive); null picks the newest Debian 12. Changing it replaces no node or router: replace them one at a time (terraform/README.md)."
  type        = string
  default     = null
}

variable "artifacts_url" {
  description = "Where cloud-init downloads qache-node.tar.gz, qache-router.tar.gz and qache-admin-ui.tar.gz (each a quarkus-app folder), e.g. an S3 bucket's HTTPS URL reachable from the subnets."
  type        = string
}

variable "app_cidrs" {
  description = "CIDRs of the application tier allowed to call the router's data API (port 7000)."
  type        = list(string)
  default     = []
}

variable "app_security_group_ids" {
  description = "Security groups of the application tier allowed to call the router's data API."
  type        = list(string)
  default     = []
}

variable "admin_cidrs" {
  description = "CIDRs allowed to reach the admin console (port 7100). Nothing else reaches it."
  type        = list(string)
  validation {
    condition     = alltrue([for c in var.admin_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "admin_cidrs must be CIDRs, and not 0.0.0.0/0."
  }
}

variable "admin_token_parameter" {
  description = "Name of an SSM SecureString parameter holding qache.admin.token, created outside Terraform so the token never enters the state; read by the router and the console at boot."
  type        = string
}

variable "cluster_token_parameter" {
  description = "Name of an SSM SecureString parameter holding qache.cluster.token (router to node, node to node)."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "monitoring_cidrs" {
  description = "CIDRs of the Prometheus servers that scrape /q/metrics on the routers and nodes; none by default (aws-security-groups)."
  type        = list(string)
  default     = []
}
