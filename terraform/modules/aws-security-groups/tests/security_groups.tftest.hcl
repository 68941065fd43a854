# terraform test with a mocked AWS provider: who may reach what.

mock_provider "aws" {
  mock_resource "aws_security_group" {
    defaults = { id = "sg-mock" }
  }
}

# Distinct ids, so that a rule pointing at the wrong group fails the assertions below.
override_resource {
  target = aws_security_group.router
  values = { id = "sg-router" }
}

override_resource {
  target = aws_security_group.router_lb
  values = { id = "sg-router-lb" }
}

override_resource {
  target = aws_security_group.node
  values = { id = "sg-node" }
}

override_resource {
  target = aws_security_group.admin_ui
  values = { id = "sg-admin-ui" }
}

variables {
  name                   = "qache"
  vpc_id                 = "vpc-1"
  app_cidrs              = ["10.1.0.0/16"]
  app_security_group_ids = ["sg-app"]
  admin_cidrs            = ["203.0.113.0/24", "198.51.100.7/32"]
}

run "data_only_from_the_app_tier" {
  command = apply

  assert {
    condition     = [for r in aws_vpc_security_group_ingress_rule.router_from_app_cidrs : r.cidr_ipv4] == ["10.1.0.0/16"]
    error_message = "The router's port must be open to the app CIDRs only."
  }
  assert {
    condition     = [for r in aws_vpc_security_group_ingress_rule.router_from_app_groups : r.referenced_security_group_id] == ["sg-app"]
    error_message = "The router's port must be open to the app security groups."
  }
  assert {
    condition = alltrue(concat(
      [for r in aws_vpc_security_group_ingress_rule.router_from_app_cidrs : r.from_port == 7000 && r.to_port == 7000],
      [for r in aws_vpc_security_group_ingress_rule.router_from_app_groups : r.from_port == 7000 && r.to_port == 7000],
    ))
    error_message = "The app tier reaches port 7000 only."
  }
}

run "internal_and_replication_ports_only_between_members" {
  command = apply

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.node_from_router.security_group_id == "sg-node"
      && aws_vpc_security_group_ingress_rule.node_from_router.referenced_security_group_id == "sg-router"
      && aws_vpc_security_group_ingress_rule.node_from_node.security_group_id == "sg-node"
      && aws_vpc_security_group_ingress_rule.node_from_node.referenced_security_group_id == "sg-node"
    )
    error_message = "Nodes take traffic from the router's group and from their own, nothing else."
  }
  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.node_from_router.cidr_ipv4 == null
      && aws_vpc_security_group_ingress_rule.node_from_node.cidr_ipv4 == null
      && aws_vpc_security_group_ingress_rule.node_from_node.from_port == 7001
      && aws_vpc_security_group_ingress_rule.node_from_node.to_port == 7001
    )
    error_message = "No CIDR reaches the nodes, and only on their port."
  }
}

run "the_console_only_from_the_admin_cidrs" {
  command = apply

  assert {
    condition     = toset([for r in aws_vpc_security_group_ingress_rule.admin_ui_from_admins : r.cidr_ipv4]) == toset(["203.0.113.0/24", "198.51.100.7/32"]) && alltrue([for r in aws_vpc_security_group_ingress_rule.admin_ui_from_admins : r.security_group_id == "sg-admin-ui"])
    error_message = "The console must be open to the admin CIDRs only."
  }
  assert {
    condition     = alltrue([for r in aws_vpc_security_group_ingress_rule.admin_ui_from_admins : r.from_port == 7100 && r.to_port == 7100])
    error_message = "Admins reach the console's port only."
  }
  assert {
    condition     = aws_vpc_security_group_ingress_rule.router_from_admin_ui.security_group_id == "sg-router" && aws_vpc_security_group_ingress_rule.router_from_admin_ui.referenced_security_group_id == "sg-admin-ui"
    error_message = "The console reaches the router's admin API through its group."
  }
}

run "the_routers_behind_their_load_balancer_and_raft_between_them" {
  command = apply

  assert {
    condition = (
      [for r in aws_vpc_security_group_ingress_rule.router_lb_from_app_cidrs : r.cidr_ipv4] == ["10.1.0.0/16"]
      && [for r in aws_vpc_security_group_ingress_rule.router_lb_from_app_groups : r.referenced_security_group_id] == ["sg-app"]
      && aws_vpc_security_group_ingress_rule.router_lb_from_admin_ui.referenced_security_group_id == "sg-admin-ui"
      && alltrue([for r in aws_vpc_security_group_ingress_rule.router_lb_from_app_cidrs : r.security_group_id == "sg-router-lb" && r.from_port == 7000 && r.to_port == 7000])
    )
    error_message = "The load balancer takes what the routers take: port 7000 from the app tier and the console."
  }
  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.router_from_lb.security_group_id == "sg-router"
      && aws_vpc_security_group_ingress_rule.router_from_lb.referenced_security_group_id == "sg-router-lb"
      && aws_vpc_security_group_ingress_rule.router_from_lb.from_port == 7000
    )
    error_message = "The routers take the load balancer's traffic (and health checks) on 7000."
  }
  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.router_raft_from_routers.referenced_security_group_id == "sg-router"
      && aws_vpc_security_group_ingress_rule.router_raft_from_routers.from_port == 7900
      && aws_vpc_security_group_ingress_rule.router_raft_from_routers.to_port == 7900
      && aws_vpc_security_group_ingress_rule.router_raft_from_routers.cidr_ipv4 == null
    )
    error_message = "The Raft port is open to the routers' own group only."
  }
}

run "the_console_open_to_everyone_is_refused" {
  command = plan

  variables {
    admin_cidrs = ["0.0.0.0/0"]
  }

  expect_failures = [var.admin_cidrs]
}

run "scraping_only_from_the_monitoring_cidrs" {
  command = apply

  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.router_from_monitoring) == 0 && length(aws_vpc_security_group_ingress_rule.node_from_monitoring) == 0
    error_message = "Without monitoring CIDRs no port is opened for scraping."
  }
}

run "scraping_from_a_monitoring_cidr" {
  command = apply

  variables {
    monitoring_cidrs = ["10.9.0.0/24"]
  }
  assert {
    condition = (
      [for r in aws_vpc_security_group_ingress_rule.router_from_monitoring : [r.security_group_id, r.cidr_ipv4, r.from_port, r.to_port]] == [["sg-router", "10.9.0.0/24", 7000, 7000]]
      && [for r in aws_vpc_security_group_ingress_rule.node_from_monitoring : [r.security_group_id, r.cidr_ipv4, r.from_port, r.to_port]] == [["sg-node", "10.9.0.0/24", 7001, 7001]]
    )
    error_message = "A monitoring CIDR reaches the routers' 7000 and the nodes' 7001, nothing else."
  }
}

run "scraping_from_anywhere_is_refused" {
  command = plan

  variables {
    monitoring_cidrs = ["0.0.0.0/0"]
  }
  expect_failures = [var.monitoring_cidrs]
}
