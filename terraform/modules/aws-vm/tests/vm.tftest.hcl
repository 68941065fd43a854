# terraform test with a mocked AWS provider (no account, no network): counts, zone spreading and
# the security-group rules.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_ami" {
    defaults = { id = "ami-0123456789abcdef0" }
  }
  mock_resource "aws_security_group" {
    defaults = { id = "sg-mock" }
  }
  mock_resource "aws_instance" {
    defaults = { private_ip = "10.0.0.10" }
  }
}

variables {
  vpc_id = "vpc-1"
  subnet_ids_by_zone = {
    "eu-west-1a" = "subnet-a"
    "eu-west-1b" = "subnet-b"
    "eu-west-1c" = "subnet-c"
  }
  shards                  = 3
  replicas_per_shard      = 1
  artifacts_url           = "https://artifacts.example/qache/1.0"
  admin_cidrs             = ["203.0.113.0/24"]
  app_cidrs               = ["10.1.0.0/16"]
  admin_token_parameter   = "/qache/admin-token"
  cluster_token_parameter = "/qache/cluster-token"
}

run "one_instance_per_node_plus_router_and_console" {
  command = apply

  assert {
    condition     = length(aws_instance.node) == 6
    error_message = "3 shards x (1 + 1 replica) must be 6 node instances, got ${length(aws_instance.node)}."
  }
  assert {
    condition     = length([for k, n in aws_instance.node : k if n.tags["qache:role"] == "primary"]) == 3
    error_message = "One primary per shard."
  }
  assert {
    condition     = aws_instance.router.instance_type == "c7i.xlarge" && aws_instance.admin_ui.instance_type == "t3.small"
    error_message = "One router and one console, of their own instance types."
  }
}

run "a_primary_and_its_replica_never_share_a_zone" {
  command = apply

  variables {
    shards             = 4
    replicas_per_shard = 2
  }

  assert {
    condition     = length(aws_instance.node) == 12
    error_message = "4 shards x 3 nodes must be 12 instances."
  }
  assert {
    condition = alltrue([
      for s in ["s1", "s2", "s3", "s4"] :
      length(distinct([for k, n in aws_instance.node : n.subnet_id if n.tags["qache:shard"] == s])) == 3
    ])
    error_message = "Each shard's three nodes must be in three different subnets (zones)."
  }
}

run "each_instance_in_its_security_group" {
  command = apply

  assert {
    condition = (
      alltrue([for n in aws_instance.node : n.vpc_security_group_ids == toset([module.security_groups.node_id])])
      && aws_instance.router.vpc_security_group_ids == toset([module.security_groups.router_id])
      && aws_instance.admin_ui.vpc_security_group_ids == toset([module.security_groups.admin_ui_id])
    )
    error_message = "Nodes, router and console each sit in their own group (rules: aws-security-groups' tests)."
  }
}

run "tokens_stay_out_of_user_data" {
  command = apply

  assert {
    condition     = strcontains(aws_instance.router.user_data, "/qache/admin-token") && !strcontains(aws_instance.router.user_data, "QACHE_ADMIN_TOKEN=s")
    error_message = "User data names the SSM parameter and fetches the token at start; it never carries the token."
  }
  assert {
    condition     = strcontains(aws_instance.router.user_data, "QACHE_ROUTER_SHARDS=s1=10.0.0.10:7001;10.0.0.10:7001,s2=")
    error_message = "The router is bootstrapped with every shard's primary and replicas."
  }
}

run "the_console_open_to_everyone_is_refused" {
  command = plan

  variables {
    admin_cidrs = ["0.0.0.0/0"]
  }

  expect_failures = [var.admin_cidrs]
}
