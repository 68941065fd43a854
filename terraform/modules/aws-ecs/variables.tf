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
  description = "A private subnet per availability zone, zone => subnet id; each node's task runs in its zone's subnet."
  type        = map(string)
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
  description = "qache.node.memory-limit of every node (e.g. 9000M); at most 80% of the heap, which is 75% of node_memory_mib, so at most 60% of node_memory_mib. null: 55% of node_memory_mib."
  type        = string
  default     = null
  validation {
    condition     = var.node_memory_limit == null || can(regex("^[0-9]+[KMG]?$", var.node_memory_limit))
    error_message = "node_memory_limit is a number with an optional K, M or G suffix."
  }
  # The node refuses to start on a limit above 80% of its maximum heap (StoreLifecycle), and the
  # task's JVM gets 75% of the task's memory (-XX:MaxRAMPercentage=75).
  validation {
    # try(): a null limit (derived) or a malformed one (the rule above) passes this rule.
    condition = try(
      tonumber(regex("^[0-9]+", var.node_memory_limit)) * lookup({ "K" = 1024, "M" = 1048576, "G" = 1073741824 }, trimprefix(var.node_memory_limit, regex("^[0-9]+", var.node_memory_limit)), 1)
      <= 0.6 * var.node_memory_mib * 1048576,
      true
    )
    error_message = "node_memory_limit must be at most 60% of node_memory_mib (80% of the 75% heap): the node refuses to start otherwise."
  }
}

variable "node_cpu" {
  description = "CPU units of a node task (1024 = 1 vCPU)."
  type        = number
  default     = 2048
}

variable "node_memory_mib" {
  description = "Memory of a node task, MiB."
  type        = number
  default     = 16384
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

variable "images" {
  description = "Container images (src/main/docker/Dockerfile.jvm of each module, pushed to a registry)."
  type = object({
    node     = string
    router   = string
    admin_ui = string
  })
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
  description = "CIDRs allowed to reach the admin console (port 7100)."
  type        = list(string)
}

variable "admin_token_secret_arn" {
  description = "ARN of a Secrets Manager secret (or SSM parameter) holding qache.admin.token, created outside Terraform; ECS injects it into the router and console tasks."
  type        = string
}

variable "cluster_token_secret_arn" {
  description = "ARN of a Secrets Manager secret (or SSM parameter) holding qache.cluster.token."
  type        = string
}

variable "log_retention_days" {
  description = "CloudWatch retention of the tasks' logs."
  type        = number
  default     = 14
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
