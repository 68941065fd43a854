output "router_url" {
  description = "The data and admin API, inside the VPC: the routers' load balancer."
  value       = "http://${aws_lb.router.dns_name}:7000"
}

output "routers" {
  description = "Each router: zone and Cloud Map address (HTTP on 7000, Raft on 7900)."
  value       = { for id, zone in local.router_zone : id => { zone = zone, address = "${local.router_host[id]}:7000" } }
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
