output "router_url" {
  description = "The data and admin API, inside the VPC."
  value       = "http://${aws_instance.router.private_ip}:7000"
}

output "admin_ui_url" {
  description = "The admin console (reachable from admin_cidrs only)."
  value       = "http://${aws_instance.admin_ui.private_ip}:7100"
}

output "nodes" {
  description = "Every cache node: shard, role, zone and address."
  value = {
    for key, n in module.layout.nodes : key => {
      shard   = n.shard
      role    = n.role
      zone    = n.zone
      address = "${aws_instance.node[key].private_ip}:7001"
    }
  }
}

output "security_group_ids" {
  description = "The router's, the nodes' and the console's security groups."
  value = {
    router   = module.security_groups.router_id
    node     = module.security_groups.node_id
    admin_ui = module.security_groups.admin_ui_id
  }
}
