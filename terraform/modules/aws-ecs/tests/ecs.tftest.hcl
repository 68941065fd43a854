# terraform test with a mocked AWS provider: one service per node, zones, secrets by reference.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/qache:1" }
  }
  mock_resource "aws_service_discovery_service" {
    defaults = { arn = "arn:aws:servicediscovery:eu-west-1:123456789012:service/srv-mock" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/qache-ecs-execution" }
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
  shards             = 3
  replicas_per_shard = 1
  images = {
    node     = "registry.example/qache-node:1.0"
    router   = "registry.example/qache-router:1.0"
    admin_ui = "registry.example/qache-admin-ui:1.0"
  }
  admin_cidrs              = ["203.0.113.0/24"]
  app_cidrs                = ["10.1.0.0/16"]
  admin_token_secret_arn   = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:qache-admin-token"
  cluster_token_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:qache-cluster-token"
}

run "one_service_per_node_plus_router_and_console" {
  command = apply

  assert {
    condition     = length(aws_ecs_service.node) == 6
    error_message = "3 shards x (1 + 1 replica) must be 6 node services, got ${length(aws_ecs_service.node)}."
  }
  assert {
    condition     = alltrue([for s in aws_ecs_service.node : s.desired_count == 1])
    error_message = "A node is one task with one address."
  }
  assert {
    condition     = length(aws_ecs_service.router) == 3 && alltrue([for r in aws_ecs_service.router : r.desired_count == 1]) && aws_ecs_service.admin_ui.desired_count == 1
    error_message = "Three routers, one task each, and one console."
  }
}

run "three_routers_in_three_zones_each_with_its_raft_log_behind_one_balancer" {
  command = apply

  assert {
    condition     = length(distinct(flatten([for r in aws_ecs_service.router : tolist(r.network_configuration[0].subnets)]))) == 3
    error_message = "The routers run in three zones (a zone's loss leaves a majority)."
  }
  assert {
    condition = alltrue([
      for id, td in aws_ecs_task_definition.router :
      one(td.volume).efs_volume_configuration[0].authorization_config[0].access_point_id == aws_efs_access_point.router_map[id].id
      && aws_efs_access_point.router_map[id].root_directory[0].path == "/qache-router-${id}"
    ]) && length(aws_efs_access_point.router_map) == 3
    error_message = "Each router keeps its Raft log under an EFS access point of its own."
  }
  assert {
    condition = alltrue([
      for id, td in aws_ecs_task_definition.router :
      [for e in jsondecode(td.container_definitions)[0].environment : e.value if e.name == "QACHE_ROUTER_ID"][0] == id
      && [for e in jsondecode(td.container_definitions)[0].environment : e.value if e.name == "QACHE_ROUTER_PEERS"][0] == "r1=router-r1.qache.internal:7900,r2=router-r2.qache.internal:7900,r3=router-r3.qache.internal:7900"
      && [for e in jsondecode(td.container_definitions)[0].environment : e.value if e.name == "QACHE_ROUTER_PEER_URLS"][0] == "r1=http://router-r1.qache.internal:7000,r2=http://router-r2.qache.internal:7000,r3=http://router-r3.qache.internal:7000"
    ])
    error_message = "Each router knows its id and every peer by its Cloud Map name."
  }
  assert {
    condition = (
      aws_lb.router.internal && aws_lb.router.load_balancer_type == "network"
      && aws_lb_target_group.router.target_type == "ip"
      && alltrue([for r in aws_ecs_service.router : one(r.load_balancer).target_group_arn == aws_lb_target_group.router.arn])
    )
    error_message = "Every router task is a target of one internal NLB."
  }
  assert {
    condition     = [for e in jsondecode(aws_ecs_task_definition.admin_ui.container_definitions)[0].environment : e.value if e.name == "QACHE_ROUTER_URL"][0] == "http://router-r1.qache.internal:7000,http://router-r2.qache.internal:7000,http://router-r3.qache.internal:7000"
    error_message = "The console knows every router and moves on when one is gone."
  }
}

run "an_even_number_of_routers_is_refused" {
  command = plan

  variables {
    routers = 4
  }

  expect_failures = [var.routers]
}

run "a_primary_and_its_replicas_never_share_a_zone" {
  command = apply

  variables {
    shards             = 2
    replicas_per_shard = 2
  }

  assert {
    condition     = length(aws_ecs_service.node) == 6
    error_message = "2 shards x 3 nodes must be 6 services."
  }
  assert {
    condition = alltrue([
      for shard in ["s1", "s2"] :
      length(distinct(flatten([
        for s in aws_ecs_service.node : tolist(s.network_configuration[0].subnets) if s.tags["qache:shard"] == shard
      ]))) == 3
    ])
    error_message = "Each shard's three tasks must run in three different subnets (zones)."
  }
}

run "tokens_come_from_the_secret_store_never_the_state" {
  command = apply

  assert {
    condition = alltrue([
      for c in flatten([for td in aws_ecs_task_definition.router : jsondecode(td.container_definitions)]) :
      length([for e in c.environment : e if strcontains(e.name, "TOKEN")]) == 0
      && toset([for s in c.secrets : s.valueFrom]) == toset([var.admin_token_secret_arn, var.cluster_token_secret_arn])
    ])
    error_message = "The router's tokens are secrets by ARN, never plain environment values."
  }
  assert {
    condition     = alltrue([for td in aws_ecs_task_definition.node : jsondecode(td.container_definitions)[0].secrets[0].valueFrom == var.cluster_token_secret_arn])
    error_message = "Nodes get the cluster token from the secret store."
  }
}

run "the_router_knows_every_node_by_its_stable_name" {
  command = apply

  assert {
    condition = (
      [for e in jsondecode(aws_ecs_task_definition.router["r1"].container_definitions)[0].environment : e.value if e.name == "QACHE_ROUTER_SHARDS"][0]
      == "s1=s1-primary.qache.internal:7001;s1-replica1.qache.internal:7001,s2=s2-primary.qache.internal:7001;s2-replica1.qache.internal:7001,s3=s3-primary.qache.internal:7001;s3-replica1.qache.internal:7001"
    )
    error_message = "The router's bootstrap spec names each shard's primary, then its replicas, by Cloud Map name."
  }
  assert {
    condition     = output.router_url == "http://qache-router-0123.elb.eu-west-1.amazonaws.com:7000" && output.admin_ui_url == "http://admin-ui.qache.internal:7100"
    error_message = "The outputs give the router's and the console's URLs."
  }
}

run "each_node_has_its_own_task_definition_and_a_limit_its_heap_allows" {
  command = apply

  assert {
    condition     = length(aws_ecs_task_definition.node) == 6 && aws_ecs_task_definition.node["s2-replica1"].family == "qache-s2-replica1"
    error_message = "One task definition per node, so a new revision reaches one node at a time."
  }
  assert {
    condition = alltrue([
      for td in aws_ecs_task_definition.node :
      [for e in jsondecode(td.container_definitions)[0].environment : e.value if e.name == "QACHE_NODE_MEMORY_LIMIT"][0] == "9011M"
    ])
    error_message = "The default limit is 55% of the task's 16384 MiB: under 80% of the 75% heap (9830 MiB)."
  }
  assert {
    condition = alltrue([
      for td in aws_ecs_task_definition.node :
      [for e in jsondecode(td.container_definitions)[0].environment : e.value if e.name == "QACHE_NODE_SHUTDOWN_ROUTERS"][0] == "http://router-r1.qache.internal:7000,http://router-r2.qache.internal:7000,http://router-r3.qache.internal:7000"
    ])
    error_message = "Every node names the routers it asks for a hand-off when it is told to stop."
  }
  assert {
    condition = alltrue([
      for td in aws_ecs_task_definition.node :
      strcontains([for e in jsondecode(td.container_definitions)[0].environment : e.value if e.name == "JAVA_OPTS"][0], "-XX:MaxRAMPercentage=75 ")
    ])
    error_message = "The heap is 75% of the task's memory, which the limit's bound assumes."
  }
}

run "a_memory_limit_the_nodes_heap_cannot_hold_is_refused" {
  command = plan

  variables {
    node_memory_limit = "12G"
  }

  expect_failures = [var.node_memory_limit]
}
