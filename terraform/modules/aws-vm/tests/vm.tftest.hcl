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
  mock_resource "aws_network_interface" {
    defaults = { private_ip = "10.0.0.20" }
  }
  mock_resource "aws_ebs_volume" {
    defaults = { id = "vol-0123456789abcdef0" }
  }
  mock_resource "aws_lb" {
    defaults = { dns_name = "qache-router-0123.elb.eu-west-1.amazonaws.com", arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/qache-router/0123" }
  }
  mock_resource "aws_lb_target_group" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/qache-router/0123" }
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

run "one_instance_per_node_plus_routers_and_console" {
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
    condition     = length(aws_instance.router) == 3 && alltrue([for r in aws_instance.router : r.instance_type == "c7i.xlarge"]) && aws_instance.admin_ui.instance_type == "t3.small"
    error_message = "Three routers and one console, of their own instance types."
  }
}

run "three_routers_in_three_zones_each_with_its_own_raft_volume_behind_one_balancer" {
  command = apply

  assert {
    condition     = length(distinct([for n in aws_network_interface.router : n.subnet_id])) == 3
    error_message = "The routers are spread over the three zones (a zone's loss leaves a majority)."
  }
  assert {
    condition = alltrue([
      for id, v in aws_ebs_volume.router : v.availability_zone == local.router_zone[id] && v.encrypted
    ]) && length(aws_ebs_volume.router) == 3
    error_message = "Each router has an encrypted state volume in its own zone."
  }
  assert {
    condition = alltrue([
      for id, a in aws_volume_attachment.router : a.volume_id == aws_ebs_volume.router[id].id && a.instance_id == aws_instance.router[id].id
    ])
    error_message = "Each volume is attached to its router."
  }
  assert {
    condition = alltrue([
      for id, r in aws_instance.router :
      strcontains(r.user_data, "QACHE_ROUTER_ID=${id}")
      && strcontains(r.user_data, "QACHE_ROUTER_PEERS=r1=10.0.0.20:7900,r2=10.0.0.20:7900,r3=10.0.0.20:7900")
      && strcontains(r.user_data, "QACHE_ROUTER_PEER_URLS=r1=http://10.0.0.20:7000,r2=http://10.0.0.20:7000,r3=http://10.0.0.20:7000")
      && strcontains(r.user_data, "QACHE_ROUTER_DATA_DIR=/var/lib/qache/router")
      && strcontains(r.user_data, "nvme-Amazon_Elastic_Block_Store_$(echo 'vol-0123456789abcdef0' | tr -d -)")
    ])
    error_message = "Each router knows its id, every peer's Raft and HTTP address, and mounts its volume at /var/lib/qache."
  }
  assert {
    condition = alltrue([
      for n in aws_instance.node :
      strcontains(n.user_data, "QACHE_NODE_SHUTDOWN_ROUTERS=http://10.0.0.20:7000,http://10.0.0.20:7000,http://10.0.0.20:7000")
    ])
    error_message = "Every node names the routers it asks for a hand-off when it is told to stop."
  }
  assert {
    condition     = !strcontains(aws_instance.node["s1-primary"].user_data, "Elastic_Block_Store")
    error_message = "Nodes keep no state on a volume (their data is in memory)."
  }
  assert {
    condition = (
      aws_lb.router.load_balancer_type == "network" && aws_lb.router.internal
      && length(aws_lb.router.subnets) == 3
      && aws_lb.router.security_groups == toset([module.security_groups.router_lb_id])
      && length(aws_lb_target_group_attachment.router) == 3
      && aws_lb_target_group.router.health_check[0].path == "/q/health/ready"
      && aws_lb_listener.router.port == 7000
    )
    error_message = "An internal NLB on 7000 over the three routers, checking their readiness."
  }
  assert {
    condition     = strcontains(aws_instance.admin_ui.user_data, "QACHE_ROUTER_URL=http://qache-router-0123.elb.eu-west-1.amazonaws.com:7000") && output.router_url == "http://qache-router-0123.elb.eu-west-1.amazonaws.com:7000"
    error_message = "The console and the router_url output go through the load balancer."
  }
}

run "one_router_alone" {
  command = apply
  # A state of its own: the routers ignore changes to their user data (see main.tf).
  state_key = "one_router"

  variables {
    routers = 1
  }

  assert {
    condition     = length(aws_instance.router) == 1 && strcontains(aws_instance.router["r1"].user_data, "QACHE_ROUTER_PEERS=r1=10.0.0.20:7900\n")
    error_message = "routers = 1: a group of one."
  }
}

run "an_even_number_of_routers_is_refused" {
  command = plan

  variables {
    routers = 2
  }

  expect_failures = [var.routers]
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
      && alltrue([for n in aws_network_interface.router : n.security_groups == toset([module.security_groups.router_id])])
      && aws_instance.admin_ui.vpc_security_group_ids == toset([module.security_groups.admin_ui_id])
    )
    error_message = "Nodes, router and console each sit in their own group (rules: aws-security-groups' tests)."
  }
}

run "tokens_stay_out_of_user_data" {
  command   = apply
  state_key = "three_shards"

  assert {
    condition     = strcontains(aws_instance.router["r1"].user_data, "/qache/admin-token") && !strcontains(aws_instance.router["r1"].user_data, "QACHE_ADMIN_TOKEN=s")
    error_message = "User data names the SSM parameter and fetches the token at start; it never carries the token."
  }
  assert {
    condition     = alltrue([for r in aws_instance.router : strcontains(r.user_data, "QACHE_ROUTER_SHARDS=s1=10.0.0.10:7001;10.0.0.10:7001,s2=")])
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

run "a_changed_node_list_first" {
  command   = apply
  state_key = "node_list_change"
}

run "a_changed_node_list_replaces_no_router" {
  command   = apply
  state_key = "node_list_change"

  variables {
    shards = 4
  }

  assert {
    condition     = length(aws_instance.node) == 8 && alltrue([for r in aws_instance.router : !strcontains(r.user_data, "s4=")])
    error_message = "A fourth shard's nodes are added without touching the routers (their node list only seeds a new cluster)."
  }
}

run "the_jdk_path_and_the_ami_follow_the_architecture" {
  command   = apply
  state_key = "arm64"

  variables {
    architecture = "arm64"
  }

  assert {
    condition = alltrue([
      for i in concat(values(aws_instance.node), values(aws_instance.router), [aws_instance.admin_ui]) :
      strcontains(i.user_data, "ExecStart=/usr/lib/jvm/temurin-25-jre-arm64/bin/java ")
      && strcontains(i.user_data, "-XX:+ExitOnOutOfMemoryError")
      && strcontains(i.user_data, "PrivateTmp=true")
    ])
    error_message = "Every unit runs the JDK where temurin-25-jre installs it on arm64, exits on OutOfMemoryError and has a private /tmp."
  }
  assert {
    condition     = contains(flatten([for f in data.aws_ami.debian[0].filter : f.values if f.name == "name"]), "debian-12-arm64-*")
    error_message = "The AMI is Debian 12 of the instances' architecture."
  }
}

run "an_unknown_architecture_is_refused" {
  command = plan

  variables {
    architecture = "x86_64"
  }

  expect_failures = [var.architecture]
}

run "a_memory_limit_over_80_percent_of_the_heap_is_refused" {
  command = plan

  variables {
    node_memory_limit = "21G"
    node_heap         = "26g"
  }

  expect_failures = [var.node_memory_limit]
}

run "a_new_ami_and_new_artifacts_first" {
  command   = apply
  state_key = "image_change"
}

run "a_new_ami_and_new_artifacts_replace_no_node_nor_router" {
  command   = apply
  state_key = "image_change"

  variables {
    ami_id        = "ami-0fedcba9876543210"
    artifacts_url = "https://artifacts.example/qache/1.1"
  }

  assert {
    condition = alltrue([
      for i in concat(values(aws_instance.node), values(aws_instance.router)) :
      i.ami == "ami-0123456789abcdef0" && strcontains(i.user_data, "/qache/1.0/")
    ])
    error_message = "Nodes and routers keep their AMI and user data (replacing one drops its keys or its Raft log); they are replaced one at a time, by hand."
  }
  assert {
    condition     = aws_instance.admin_ui.ami == "ami-0fedcba9876543210"
    error_message = "The console, which holds nothing, takes the new AMI."
  }
}
