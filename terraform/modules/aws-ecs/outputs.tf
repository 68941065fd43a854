output "router_url" {
  description = "The data and admin API, inside the VPC (Cloud Map name)."
  value       = "http://router.${local.domain}:7000"
}

output "admin_ui_url" {
  description = "The admin console, inside the VPC (reachable from admin_cidrs only)."
  value       = "http://admin-ui.${local.domain}:7100"
}

output "nodes" {
  description = "Every cache node: shard, role, zone and address."
  value = {
    for key, n in module.layout.nodes : key => {
      shard   = n.shard
      role    = n.role
      zone    = n.zone
      address = local.address[key]
    }
  }
}
