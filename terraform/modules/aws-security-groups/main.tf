# The security groups of a Qache cluster, for VMs and containers alike: the routers' data and
# admin port only from the application tier and the console, directly or through their load
# balancer (which has a group of its own); the routers' Raft port only from each other; the nodes'
# port only from the routers and from each other (replication, slot migration); the console only
# from the admin CIDRs; the routers' and nodes' ports from the monitoring CIDRs, when set (scraping).

terraform {
  required_version = ">= 1.9"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }
}

variable "name" {
  description = "Prefix for the groups' names."
  type        = string
}

variable "vpc_id" {
  description = "The VPC."
  type        = string
}

variable "app_cidrs" {
  description = "CIDRs of the application tier (router port 7000)."
  type        = list(string)
  default     = []
}

variable "app_security_group_ids" {
  description = "Security groups of the application tier (router port 7000)."
  type        = list(string)
  default     = []
}

variable "admin_cidrs" {
  description = "CIDRs allowed to reach the console (port 7100)."
  type        = list(string)
  validation {
    condition     = alltrue([for c in var.admin_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "admin_cidrs must be CIDRs, and not 0.0.0.0/0."
  }
}

variable "monitoring_cidrs" {
  description = "CIDRs of the Prometheus servers that scrape /q/metrics on the routers (7000) and the nodes (node_port); none by default. The groups open whole ports, so a scraper there reaches the data API too (internal calls still need the cluster token)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for c in var.monitoring_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "monitoring_cidrs must be CIDRs, and not 0.0.0.0/0."
  }
}

variable "node_port" {
  description = "The nodes' HTTP port (data, internal calls, replication)."
  type        = number
  default     = 7001
}

variable "raft_port" {
  description = "The routers' Raft port (qache.router.peers)."
  type        = number
  default     = 7900
}

variable "tags" {
  description = "Tags for every group."
  type        = map(string)
  default     = {}
}


resource "aws_security_group" "router" {
  name        = "${var.name}-router"
  description = "Qache router: data and admin API"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_security_group" "router_lb" {
  name        = "${var.name}-router-lb"
  description = "Qache routers' load balancer: data and admin API"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_security_group" "node" {
  name        = "${var.name}-node"
  description = "Qache cache nodes: internal and replication traffic between members"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_security_group" "admin_ui" {
  name        = "${var.name}-admin-ui"
  description = "Qache admin console"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "router_from_app_cidrs" {
  for_each          = toset(var.app_cidrs)
  security_group_id = aws_security_group.router.id
  description       = "data API from the application tier"
  ip_protocol       = "tcp"
  from_port         = 7000
  to_port           = 7000
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "router_from_app_groups" {
  for_each                     = toset(var.app_security_group_ids)
  security_group_id            = aws_security_group.router.id
  description                  = "data API from the application tier"
  ip_protocol                  = "tcp"
  from_port                    = 7000
  to_port                      = 7000
  referenced_security_group_id = each.value
}

resource "aws_vpc_security_group_ingress_rule" "router_from_admin_ui" {
  security_group_id            = aws_security_group.router.id
  description                  = "admin API from the console"
  ip_protocol                  = "tcp"
  from_port                    = 7000
  to_port                      = 7000
  referenced_security_group_id = aws_security_group.admin_ui.id
}

resource "aws_vpc_security_group_ingress_rule" "router_lb_from_app_cidrs" {
  for_each          = toset(var.app_cidrs)
  security_group_id = aws_security_group.router_lb.id
  description       = "data API from the application tier"
  ip_protocol       = "tcp"
  from_port         = 7000
  to_port           = 7000
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "router_lb_from_app_groups" {
  for_each                     = toset(var.app_security_group_ids)
  security_group_id            = aws_security_group.router_lb.id
  description                  = "data API from the application tier"
  ip_protocol                  = "tcp"
  from_port                    = 7000
  to_port                      = 7000
  referenced_security_group_id = each.value
}

resource "aws_vpc_security_group_ingress_rule" "router_lb_from_admin_ui" {
  security_group_id            = aws_security_group.router_lb.id
  description                  = "admin API from the console"
  ip_protocol                  = "tcp"
  from_port                    = 7000
  to_port                      = 7000
  referenced_security_group_id = aws_security_group.admin_ui.id
}

resource "aws_vpc_security_group_ingress_rule" "router_from_lb" {
  security_group_id            = aws_security_group.router.id
  description                  = "data and admin API, and health checks, through the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = 7000
  to_port                      = 7000
  referenced_security_group_id = aws_security_group.router_lb.id
}

resource "aws_vpc_security_group_ingress_rule" "router_raft_from_routers" {
  security_group_id            = aws_security_group.router.id
  description                  = "the routers' Raft group"
  ip_protocol                  = "tcp"
  from_port                    = var.raft_port
  to_port                      = var.raft_port
  referenced_security_group_id = aws_security_group.router.id
}

resource "aws_vpc_security_group_ingress_rule" "router_from_routers" {
  security_group_id            = aws_security_group.router.id
  description                  = "admin writes a follower carries to the leader"
  ip_protocol                  = "tcp"
  from_port                    = 7000
  to_port                      = 7000
  referenced_security_group_id = aws_security_group.router.id
}

resource "aws_vpc_security_group_ingress_rule" "router_from_nodes" {
  security_group_id            = aws_security_group.router.id
  description                  = "a primary told to stop asks for its step-down (qache.node.shutdown.routers)"
  ip_protocol                  = "tcp"
  from_port                    = 7000
  to_port                      = 7000
  referenced_security_group_id = aws_security_group.node.id
}

resource "aws_vpc_security_group_ingress_rule" "node_from_router" {
  security_group_id            = aws_security_group.node.id
  description                  = "forwarded data calls, map pushes and probes from the router"
  ip_protocol                  = "tcp"
  from_port                    = var.node_port
  to_port                      = var.node_port
  referenced_security_group_id = aws_security_group.router.id
}

resource "aws_vpc_security_group_ingress_rule" "node_from_node" {
  security_group_id            = aws_security_group.node.id
  description                  = "replication and slot migration between nodes"
  ip_protocol                  = "tcp"
  from_port                    = var.node_port
  to_port                      = var.node_port
  referenced_security_group_id = aws_security_group.node.id
}

resource "aws_vpc_security_group_ingress_rule" "router_from_monitoring" {
  for_each          = toset(var.monitoring_cidrs)
  security_group_id = aws_security_group.router.id
  description       = "Prometheus scraping /q/metrics"
  ip_protocol       = "tcp"
  from_port         = 7000
  to_port           = 7000
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "node_from_monitoring" {
  for_each          = toset(var.monitoring_cidrs)
  security_group_id = aws_security_group.node.id
  description       = "Prometheus scraping /q/metrics"
  ip_protocol       = "tcp"
  from_port         = var.node_port
  to_port           = var.node_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "admin_ui_from_admins" {
  for_each          = toset(var.admin_cidrs)
  security_group_id = aws_security_group.admin_ui.id
  description       = "the console, for operators"
  ip_protocol       = "tcp"
  from_port         = 7100
  to_port           = 7100
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "all" {
  for_each = {
    router    = aws_security_group.router.id
    router_lb = aws_security_group.router_lb.id
    node      = aws_security_group.node.id
    admin_ui  = aws_security_group.admin_ui.id
  }
  security_group_id = each.value
  description       = "package and artifact downloads, SSM, and calls between members"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

output "router_id" {
  description = "The router's group."
  value       = aws_security_group.router.id
}

output "router_lb_id" {
  description = "The routers' load balancer's group."
  value       = aws_security_group.router_lb.id
}

output "raft_port" {
  description = "The routers' Raft port."
  value       = var.raft_port
}

output "node_id" {
  description = "The nodes' group."
  value       = aws_security_group.node.id
}

output "admin_ui_id" {
  description = "The console's group."
  value       = aws_security_group.admin_ui.id
}

output "node_port" {
  description = "The nodes' port."
  value       = var.node_port
}
