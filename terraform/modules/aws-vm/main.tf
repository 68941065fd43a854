# Qache on EC2: the routers (one Raft group, each in its own zone behind an internal network load
# balancer, its Raft log on an EBS volume that outlives the instance), the cache nodes (a primary
# and its replicas per shard, never two of a shard in one zone), and the admin console. Each instance is configured by cloud-init, which
# installs a JDK 25 runtime, fetches the app and runs it under systemd; the tokens are read from
# SSM Parameter Store at boot and never pass through Terraform.

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

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

data "aws_ami" "debian" {
  count       = var.ami_id == null ? 1 : 0
  most_recent = true
  owners      = ["136693071363"] # Debian
  filter {
    name   = "name"
    values = ["debian-12-${var.architecture}-*"]
  }
}

locals {
  # What every instance's cloud-init shares.
  cloud_init = {
    architecture = var.architecture
    region       = data.aws_region.current.name
  }
  ami       = var.ami_id != null ? var.ami_id : data.aws_ami.debian[0].id
  node_port = module.security_groups.node_port
  tags      = merge({ "qache:cluster" = var.name }, var.tags)
  parameter_arns = [
    for p in [var.admin_token_parameter, var.cluster_token_parameter] :
    "arn:aws:ssm:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:parameter/${trimprefix(p, "/")}"
  ]
  # Routers r1..rN, spread over the zones; their addresses are fixed by their network interfaces,
  # so each one's peer list can name the others before any instance exists.
  zones       = sort(keys(var.subnet_ids_by_zone))
  router_zone = { for i in range(var.routers) : "r${i + 1}" => local.zones[i % length(local.zones)] }
  raft_port   = module.security_groups.raft_port
  router_peers = join(",", [
    for id in sort(keys(local.router_zone)) : "${id}=${aws_network_interface.router[id].private_ip}:${local.raft_port}"
  ])
  router_urls = join(",", [
    for id in sort(keys(local.router_zone)) : "${id}=http://${aws_network_interface.router[id].private_ip}:7000"
  ])
  # The router's bootstrap list: each shard's primary, then its replicas.
  shard_spec = join(",", [
    for shard, members in module.layout.shard_members :
    "${shard}=${join(";", [for key in members : "${aws_instance.node[key].private_ip}:${local.node_port}"])}"
  ])
}

# --- Security groups (shared with the container deployment).

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

# --- Instance role: read the two token parameters, nothing else.

resource "aws_iam_role" "instance" {
  name = "${var.name}-instance"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = local.tags
}

resource "aws_iam_role_policy" "read_tokens" {
  name = "read-qache-tokens"
  role = aws_iam_role.instance.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["ssm:GetParameter"]
      Resource = local.parameter_arns
    }]
  })
}

resource "aws_iam_instance_profile" "instance" {
  name = "${var.name}-instance"
  role = aws_iam_role.instance.name
  tags = local.tags
}

# --- Instances.

resource "aws_instance" "node" {
  for_each               = module.layout.nodes
  ami                    = local.ami
  instance_type          = var.node_instance_type
  subnet_id              = var.subnet_ids_by_zone[each.value.zone]
  vpc_security_group_ids = [module.security_groups.node_id]
  iam_instance_profile   = aws_iam_instance_profile.instance.name
  user_data = templatefile("${path.module}/cloud-init.yaml.tftpl", merge(local.cloud_init, {
    service   = "node"
    artifact  = "${var.artifacts_url}/qache-node.tar.gz"
    volume_id = ""
    port      = local.node_port
    java_opts = "-Xmx${var.node_heap} -XX:+UseCompactObjectHeaders -XX:+UseZGC -XX:+ExitOnOutOfMemoryError --sun-misc-unsafe-memory-access=allow"
    token_env = { QACHE_CLUSTER_TOKEN = var.cluster_token_parameter }
    # On SIGTERM (systemctl stop, a reboot) a primary asks a router to hand its shard over first.
    env = {
      QACHE_NODE_MEMORY_LIMIT     = var.node_memory_limit
      QACHE_NODE_SHUTDOWN_ROUTERS = join(",", [for id in sort(keys(local.router_zone)) : "http://${aws_network_interface.router[id].private_ip}:7000"])
    }
  }))
  # Never every node at once: a new AMI or a new artifacts URL changes every node's AMI or user
  # data, and replacing an instance drops the keys it held. Both are ignored here; replace nodes
  # one at a time, replicas first (terraform apply -replace='aws_instance.node["s1-replica1"]',
  # the next once it is back in sync; terraform/README.md).
  user_data_replace_on_change = false
  lifecycle {
    ignore_changes = [ami, user_data]
  }
  metadata_options {
    http_tokens = "required"
  }
  root_block_device {
    encrypted = true
  }
  tags = merge(local.tags, {
    Name              = "${var.name}-${each.key}"
    "qache:role"      = each.value.role
    "qache:shard"     = each.value.shard
    "qache:placement" = each.value.zone
  })
}

resource "aws_network_interface" "router" {
  for_each        = local.router_zone
  subnet_id       = var.subnet_ids_by_zone[each.value]
  security_groups = [module.security_groups.router_id]
  tags            = merge(local.tags, { Name = "${var.name}-router-${each.key}" })
}

# Each router's Raft log and snapshots (and the copy of the map): a volume of its own in its zone,
# kept when the instance is replaced (new user data, a new AMI), so the router rejoins with its log.
resource "aws_ebs_volume" "router" {
  for_each          = local.router_zone
  availability_zone = each.value
  size              = var.router_volume_size
  type              = "gp3"
  encrypted         = true
  tags              = merge(local.tags, { Name = "${var.name}-router-${each.key}-raft", "qache:role" = "router-data" })
}

resource "aws_instance" "router" {
  for_each             = local.router_zone
  ami                  = local.ami
  instance_type        = var.router_instance_type
  iam_instance_profile = aws_iam_instance_profile.instance.name
  network_interface {
    network_interface_id = aws_network_interface.router[each.key].id
    device_index         = 0
  }
  user_data = templatefile("${path.module}/cloud-init.yaml.tftpl", merge(local.cloud_init, {
    service   = "router"
    artifact  = "${var.artifacts_url}/qache-router.tar.gz"
    port      = 7000
    java_opts = "-Xmx2g -XX:+UseCompactObjectHeaders -XX:+ExitOnOutOfMemoryError --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED"
    volume_id = aws_ebs_volume.router[each.key].id
    token_env = {
      QACHE_ADMIN_TOKEN   = var.admin_token_parameter
      QACHE_CLUSTER_TOKEN = var.cluster_token_parameter
    }
    env = {
      QACHE_ROUTER_ID        = each.key
      QACHE_ROUTER_PEERS     = local.router_peers
      QACHE_ROUTER_PEER_URLS = local.router_urls
      QACHE_ROUTER_SHARDS    = local.shard_spec
      QACHE_ROUTER_MAP_FILE  = "/var/lib/qache/cluster-map.json"
      QACHE_ROUTER_DATA_DIR  = "/var/lib/qache/router"
    }
  }))
  # Never all routers at once: a changed node list (a node's new address) changes every router's
  # user data, but the list only seeds a brand-new cluster's first map, so changes to it are
  # ignored. Replace routers one at a time (terraform apply -replace='aws_instance.router["r1"]',
  # then r2 once r1 is back): each rejoins the group with the Raft log on its volume.
  user_data_replace_on_change = false
  lifecycle {
    ignore_changes = [ami, user_data]
  }
  metadata_options {
    http_tokens = "required"
  }
  root_block_device {
    encrypted = true
  }
  tags = merge(local.tags, { Name = "${var.name}-router-${each.key}", "qache:role" = "router" })
}

resource "aws_volume_attachment" "router" {
  for_each    = local.router_zone
  device_name = "/dev/sdf"
  volume_id   = aws_ebs_volume.router[each.key].id
  instance_id = aws_instance.router[each.key].id
}

# One address for clients and the console: an internal network load balancer over every router
# (any router serves the data API; a follower carries admin writes to the leader).
resource "aws_lb" "router" {
  name               = "${var.name}-router"
  internal           = true
  load_balancer_type = "network"
  subnets            = [for zone in distinct(values(local.router_zone)) : var.subnet_ids_by_zone[zone]]
  security_groups    = [module.security_groups.router_lb_id]
  tags               = local.tags
}

resource "aws_lb_target_group" "router" {
  name     = "${var.name}-router"
  port     = 7000
  protocol = "TCP"
  vpc_id   = var.vpc_id
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

resource "aws_lb_target_group_attachment" "router" {
  for_each         = local.router_zone
  target_group_arn = aws_lb_target_group.router.arn
  target_id        = aws_instance.router[each.key].id
  port             = 7000
}

resource "aws_instance" "admin_ui" {
  ami                    = local.ami
  instance_type          = var.admin_ui_instance_type
  subnet_id              = var.subnet_ids_by_zone[module.layout.nodes["s1-primary"].zone]
  vpc_security_group_ids = [module.security_groups.admin_ui_id]
  iam_instance_profile   = aws_iam_instance_profile.instance.name
  user_data = templatefile("${path.module}/cloud-init.yaml.tftpl", merge(local.cloud_init, {
    service   = "admin-ui"
    artifact  = "${var.artifacts_url}/qache-admin-ui.tar.gz"
    volume_id = ""
    port      = 7100
    java_opts = "-Xmx256m -XX:+ExitOnOutOfMemoryError --sun-misc-unsafe-memory-access=allow"
    token_env = { QACHE_ADMIN_TOKEN = var.admin_token_parameter }
    env = {
      QACHE_ROUTER_URL = "http://${aws_lb.router.dns_name}:7000"
    }
  }))
  user_data_replace_on_change = true
  metadata_options {
    http_tokens = "required"
  }
  root_block_device {
    encrypted = true
  }
  tags = merge(local.tags, { Name = "${var.name}-admin-ui", "qache:role" = "admin-ui" })
}
