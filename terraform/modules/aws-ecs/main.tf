# Qache on ECS Fargate: one service per cache node (desired count 1, pinned to its zone's subnet,
# named in a private Cloud Map namespace so that its address survives a task replacement), one
# service per router (the routers' Raft group: each named in Cloud Map, its Raft log on its own EFS
# access point, all behind an internal network load balancer) and a console service. Tokens come from Secrets Manager (or SSM) through the
# task definition's `secrets`, so they never enter the Terraform state.

terraform {
  required_version = ">= 1.9"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }
}

module "layout" {
  source             = "../layout"
  shards             = var.shards
  replicas_per_shard = var.replicas_per_shard
  availability_zones = sort(keys(var.subnet_ids_by_zone))
}

module "security_groups" {
  source                 = "../aws-security-groups"
  name                   = var.name
  vpc_id                 = var.vpc_id
  app_cidrs              = var.app_cidrs
  app_security_group_ids = var.app_security_group_ids
  admin_cidrs            = var.admin_cidrs
  monitoring_cidrs       = var.monitoring_cidrs
  tags                   = local.tags
}

data "aws_region" "current" {}

locals {
  tags      = merge({ "qache:cluster" = var.name }, var.tags)
  domain    = "${var.name}.internal"
  node_port = module.security_groups.node_port
  address   = { for key, n in module.layout.nodes : key => "${key}.${local.domain}:${local.node_port}" }
  shard_spec = join(",", [
    for shard, members in module.layout.shard_members : "${shard}=${join(";", [for key in members : local.address[key]])}"
  ])
  secret_arns = [var.admin_token_secret_arn, var.cluster_token_secret_arn]
  zones       = sort(keys(var.subnet_ids_by_zone))
  # Routers r1..rN, one per zone in turn; each is named router-rN in Cloud Map, so its peers find
  # it again after its task is replaced.
  router_zone  = { for i in range(var.routers) : "r${i + 1}" => local.zones[i % length(local.zones)] }
  router_host  = { for id in keys(local.router_zone) : id => "router-${id}.${local.domain}" }
  router_peers = join(",", [for id in sort(keys(local.router_zone)) : "${id}=${local.router_host[id]}:${module.security_groups.raft_port}"])
  router_urls  = join(",", [for id in sort(keys(local.router_zone)) : "${id}=http://${local.router_host[id]}:7000"])
}

resource "aws_ecs_cluster" "this" {
  name = var.name
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
  tags = local.tags
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

resource "aws_service_discovery_private_dns_namespace" "this" {
  name = local.domain
  vpc  = var.vpc_id
  tags = local.tags
}

resource "aws_service_discovery_service" "member" {
  for_each = merge(
    { for k in keys(module.layout.nodes) : k => k },
    { for id in keys(local.router_zone) : "router-${id}" => id },
    { admin-ui = "admin-ui" },
  )
  name = each.key
  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.this.id
    routing_policy = "MULTIVALUE"
    dns_records {
      type = "A"
      ttl  = 5
    }
  }
  health_check_custom_config {
    failure_threshold = 1
  }
  tags = local.tags
}

# --- Each router's Raft log and map copy: on EFS, an access point per router, so that a replaced
# router task rejoins the group with its log instead of catching up from nothing.

resource "aws_efs_file_system" "router_map" {
  encrypted = true
  tags      = merge(local.tags, { Name = "${var.name}-router-map" })
}

resource "aws_security_group" "router_map" {
  name        = "${var.name}-router-map"
  description = "NFS from the router only"
  vpc_id      = var.vpc_id
  tags        = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "router_map_from_router" {
  security_group_id            = aws_security_group.router_map.id
  description                  = "the router's map file"
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  referenced_security_group_id = module.security_groups.router_id
}

resource "aws_efs_mount_target" "router_map" {
  for_each        = var.subnet_ids_by_zone
  file_system_id  = aws_efs_file_system.router_map.id
  subnet_id       = each.value
  security_groups = [aws_security_group.router_map.id]
}

resource "aws_efs_access_point" "router_map" {
  for_each       = local.router_zone
  file_system_id = aws_efs_file_system.router_map.id
  posix_user {
    uid = 185
    gid = 185
  }
  root_directory {
    path = "/qache-router-${each.key}"
    creation_info {
      owner_uid   = 185
      owner_gid   = 185
      permissions = "0750"
    }
  }
  tags = merge(local.tags, { Name = "${var.name}-router-${each.key}" })
}

# --- Roles: the execution role pulls images, writes logs and reads the two secrets.

resource "aws_iam_role" "execution" {
  name = "${var.name}-ecs-execution"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = local.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_iam_role_policy" "read_tokens" {
  name = "read-qache-tokens"
  role = aws_iam_role.execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["secretsmanager:GetSecretValue", "ssm:GetParameters"]
      Resource = local.secret_arns
    }]
  })
}

# --- Task definitions.

locals {
  # 55% of the task's memory: under the node's own bound of 80% of a heap of 75% of it.
  node_memory_limit = coalesce(var.node_memory_limit, "${floor(var.node_memory_mib * 0.55)}M")
  log_options = {
    "awslogs-group"  = aws_cloudwatch_log_group.this.name
    "awslogs-region" = data.aws_region.current.name
  }
  health = {
    retries     = 3
    interval    = 10
    timeout     = 3
    startPeriod = 60
  }
}

# One task definition per node: a new image is a new revision of each, which Terraform registers
# but does not roll out (the services ignore their task definition); each node is moved to its new
# revision on its own, replicas first (terraform/README.md), so no deployment stops two members of
# a shard.
resource "aws_ecs_task_definition" "node" {
  for_each                 = module.layout.nodes
  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.node_cpu
  memory                   = var.node_memory_mib
  execution_role_arn       = aws_iam_role.execution.arn
  container_definitions = jsonencode([{
    name         = "node"
    image        = var.images.node
    essential    = true
    portMappings = [{ containerPort = local.node_port, protocol = "tcp" }]
    environment = [
      { name = "QACHE_NODE_MEMORY_LIMIT", value = local.node_memory_limit },
      # On SIGTERM (a task stopped or replaced) a primary asks a router to hand its shard over first.
      { name = "QACHE_NODE_SHUTDOWN_ROUTERS", value = join(",", [for id in sort(keys(local.router_zone)) : "http://${local.router_host[id]}:7000"]) },
      { name = "JAVA_OPTS", value = "-XX:MaxRAMPercentage=75 -XX:+UseCompactObjectHeaders -XX:+UseZGC -XX:+ExitOnOutOfMemoryError --sun-misc-unsafe-memory-access=allow" },
    ]
    secrets     = [{ name = "QACHE_CLUSTER_TOKEN", valueFrom = var.cluster_token_secret_arn }]
    healthCheck = merge(local.health, { command = ["CMD-SHELL", "curl -fsS http://127.0.0.1:${local.node_port}/q/health/ready || exit 1"] })
    logConfiguration = {
      logDriver = "awslogs"
      options   = merge(local.log_options, { "awslogs-stream-prefix" = each.key })
    }
  }])
  tags = local.tags
}

resource "aws_ecs_task_definition" "router" {
  for_each                 = local.router_zone
  family                   = "${var.name}-router-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 2048
  memory                   = 4096
  execution_role_arn       = aws_iam_role.execution.arn
  container_definitions = jsonencode([{
    name      = "router"
    image     = var.images.router
    essential = true
    portMappings = [
      { containerPort = 7000, protocol = "tcp" },
      { containerPort = module.security_groups.raft_port, protocol = "tcp" },
    ]
    environment = [
      { name = "QACHE_ROUTER_SHARDS", value = local.shard_spec },
      { name = "QACHE_ROUTER_ID", value = each.key },
      { name = "QACHE_ROUTER_PEERS", value = local.router_peers },
      { name = "QACHE_ROUTER_PEER_URLS", value = local.router_urls },
    ]
    secrets = [
      { name = "QACHE_ADMIN_TOKEN", valueFrom = var.admin_token_secret_arn },
      { name = "QACHE_CLUSTER_TOKEN", valueFrom = var.cluster_token_secret_arn },
    ]
    mountPoints = [{ sourceVolume = "router-state", containerPath = "/var/lib/qache" }]
    healthCheck = merge(local.health, { command = ["CMD-SHELL", "curl -fsS http://127.0.0.1:7000/q/health/ready || exit 1"] })
    logConfiguration = {
      logDriver = "awslogs"
      options   = merge(local.log_options, { "awslogs-stream-prefix" = "router-${each.key}" })
    }
  }])
  volume {
    name = "router-state"
    efs_volume_configuration {
      file_system_id     = aws_efs_file_system.router_map.id
      transit_encryption = "ENABLED"
      authorization_config {
        access_point_id = aws_efs_access_point.router_map[each.key].id
        iam             = "DISABLED"
      }
    }
  }
  tags = local.tags
}

resource "aws_ecs_task_definition" "admin_ui" {
  family                   = "${var.name}-admin-ui"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.execution.arn
  container_definitions = jsonencode([{
    name         = "admin-ui"
    image        = var.images.admin_ui
    essential    = true
    portMappings = [{ containerPort = 7100, protocol = "tcp" }]
    environment = [
      { name = "QACHE_ROUTER_URL", value = join(",", [for id in sort(keys(local.router_zone)) : "http://${local.router_host[id]}:7000"]) },
    ]
    secrets     = [{ name = "QACHE_ADMIN_TOKEN", valueFrom = var.admin_token_secret_arn }]
    healthCheck = merge(local.health, { command = ["CMD-SHELL", "curl -fsS http://127.0.0.1:7100/q/health/ready || exit 1"] })
    logConfiguration = {
      logDriver = "awslogs"
      options   = merge(local.log_options, { "awslogs-stream-prefix" = "admin-ui" })
    }
  }])
  tags = local.tags
}

# --- Services: one per node, each in its zone.

resource "aws_ecs_service" "node" {
  for_each        = module.layout.nodes
  name            = "${var.name}-${each.key}"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.node[each.key].arn
  desired_count   = 1
  launch_type     = "FARGATE"
  # One task at a time: a node is a single member with one address, never two at once.
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
  # A new revision is rolled out by hand, one node at a time (see the task definition).
  lifecycle {
    ignore_changes = [task_definition]
  }
  network_configuration {
    subnets         = [var.subnet_ids_by_zone[each.value.zone]]
    security_groups = [module.security_groups.node_id]
  }
  service_registries {
    registry_arn = aws_service_discovery_service.member[each.key].arn
  }
  tags = merge(local.tags, {
    "qache:role"      = each.value.role
    "qache:shard"     = each.value.shard
    "qache:placement" = each.value.zone
  })
}

resource "aws_ecs_service" "router" {
  for_each        = local.router_zone
  name            = "${var.name}-router-${each.key}"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.router[each.key].arn
  desired_count   = 1
  launch_type     = "FARGATE"
  # One task at a time: a router is one member of the group, with one Raft log.
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
  # Never every router at once (the group would lose its majority): a new revision is rolled out
  # by hand, one router at a time, the next once the last is ready (terraform/README.md).
  lifecycle {
    ignore_changes = [task_definition]
  }
  network_configuration {
    subnets         = [var.subnet_ids_by_zone[each.value]]
    security_groups = [module.security_groups.router_id]
  }
  service_registries {
    registry_arn = aws_service_discovery_service.member["router-${each.key}"].arn
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.router.arn
    container_name   = "router"
    container_port   = 7000
  }
  depends_on = [aws_lb_listener.router]
  tags       = merge(local.tags, { "qache:role" = "router", "qache:placement" = each.value })
}

# One address for clients: an internal network load balancer over every router task.
resource "aws_lb" "router" {
  name               = "${var.name}-router"
  internal           = true
  load_balancer_type = "network"
  subnets            = [for zone in distinct(values(local.router_zone)) : var.subnet_ids_by_zone[zone]]
  security_groups    = [module.security_groups.router_lb_id]
  tags               = local.tags
}

resource "aws_lb_target_group" "router" {
  name        = "${var.name}-router"
  port        = 7000
  protocol    = "TCP"
  target_type = "ip"
  vpc_id      = var.vpc_id
  health_check {
    protocol            = "HTTP"
    path                = "/q/health/ready"
    port                = "7000"
    interval            = 10
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }
  tags = local.tags
}

resource "aws_lb_listener" "router" {
  load_balancer_arn = aws_lb.router.arn
  port              = 7000
  protocol          = "TCP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.router.arn
  }
}

resource "aws_ecs_service" "admin_ui" {
  name            = "${var.name}-admin-ui"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.admin_ui.arn
  desired_count   = 1
  launch_type     = "FARGATE"
  network_configuration {
    subnets         = values(var.subnet_ids_by_zone)
    security_groups = [module.security_groups.admin_ui_id]
  }
  service_registries {
    registry_arn = aws_service_discovery_service.member["admin-ui"].arn
  }
  tags = merge(local.tags, { "qache:role" = "admin-ui" })
}
