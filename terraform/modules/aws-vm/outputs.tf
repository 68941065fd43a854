output "router_url" {
  description = "The data and admin API, inside the VPC: the routers' load balancer."
  value       = "http://${aws_lb.router.dns_name}:7000"
}

output "routers" {
  description = "Each router: zone, address (HTTP on 7000) and Raft address."
  value = {
    for id, zone in local.router_zone : id => {
      zone    = zone
      address = "${aws_network_interface.router[id].private_ip}:7000"
      raft    = "${aws_network_interface.router[id].private_ip}:${local.raft_port}"
    }
  }
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
  description = "The routers', their load balancer's, the nodes' and the console's security groups."
  value = {
    router    = module.security_groups.router_id
    router_lb = module.security_groups.router_lb_id
    node      = module.security_groups.node_id
    admin_ui  = module.security_groups.admin_ui_id
  }
}
