# Where each node of a Qache cluster goes: one primary and `replicas_per_shard` replicas per shard,
# spread over the availability zones so that no two nodes of a shard share a zone. Provider-free,
# so both deployments (VMs and containers) use it and its tests run without a cloud provider.

terraform {
  required_version = ">= 1.9"
}

variable "shards" {
  description = "Number of shards (each a primary and its replicas)."
  type        = number
  validation {
    condition     = var.shards >= 1 && floor(var.shards) == var.shards
    error_message = "shards must be a whole number of at least 1."
  }
}

variable "replicas_per_shard" {
  description = "Replicas per shard (asynchronously replicated copies)."
  type        = number
  default     = 1
  validation {
    condition     = var.replicas_per_shard >= 0 && floor(var.replicas_per_shard) == var.replicas_per_shard
    error_message = "replicas_per_shard must be a whole number of at least 0."
  }
}

variable "availability_zones" {
  description = "Zones to spread the nodes over; at least 1 + replicas_per_shard of them."
  type        = list(string)
  validation {
    condition     = length(var.availability_zones) >= 1 && length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "availability_zones must name at least one zone, each once."
  }
}

locals {
  zone_count = length(var.availability_zones)
  # Shard s (0-based) starts its members at zone s: primaries rotate over the zones too, so that
  # losing one zone takes at most ceil(shards / zones) primaries.
  nodes = merge([
    for s in range(var.shards) : {
      for r in range(var.replicas_per_shard + 1) :
      (r == 0 ? "s${s + 1}-primary" : "s${s + 1}-replica${r}") => {
        shard = "s${s + 1}"
        role  = r == 0 ? "primary" : "replica"
        index = r
        zone  = var.availability_zones[(s + r) % local.zone_count]
      }
    }
  ]...)
}

check "replicas_in_other_zones" {
  assert {
    condition     = local.zone_count >= var.replicas_per_shard + 1
    error_message = "With ${local.zone_count} zones, ${var.replicas_per_shard} replicas per shard would share a zone with their primary: give at least ${var.replicas_per_shard + 1} zones."
  }
}

output "nodes" {
  description = "Every node by name (s1-primary, s1-replica1, ...): its shard, role, index in the shard and zone."
  value       = local.nodes
}

output "shard_members" {
  description = "Each shard's node names, its primary first, then its replicas in order."
  value = {
    for s in range(var.shards) : "s${s + 1}" => concat(
      ["s${s + 1}-primary"],
      [for r in range(1, var.replicas_per_shard + 1) : "s${s + 1}-replica${r}"]
    )
  }
}

output "shard_ids" {
  description = "The shard ids, s1 to sN."
  value       = [for s in range(var.shards) : "s${s + 1}"]
}
