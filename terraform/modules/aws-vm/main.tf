# Qache on EC2: a router, the cache nodes (a primary and its replicas per shard, never two of a
# shard in one zone), and the admin console. Each instance is configured by cloud-init, which
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
    values = ["debian-12-amd64-*"]
  }
}

locals {
  ami       = var.ami_id != null ? var.ami_id : data.aws_ami.debian[0].id
  node_port = module.security_groups.node_port
  tags      = merge({ "qache:cluster" = var.name }, var.tags)
  parameter_arns = [
    for p in [var.admin_token_parameter, var.cluster_token_parameter] :
    "arn:aws:ssm:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:parameter/${trimprefix(p, "/")}"
  ]
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
  user_data = templatefile("${path.module}/cloud-init.yaml.tftpl", {
    service   = "node"
    artifact  = "${var.artifacts_url}/qache-node.tar.gz"
    port      = local.node_port
    java_opts = "-Xmx${var.node_heap} -XX:+UseCompactObjectHeaders -XX:+UseZGC --sun-misc-unsafe-memory-access=allow"
    region    = data.aws_region.current.name
    token_env = { QACHE_CLUSTER_TOKEN = var.cluster_token_parameter }
    env       = { QACHE_NODE_MEMORY_LIMIT = var.node_memory_limit }
  })
  user_data_replace_on_change = true
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

resource "aws_instance" "router" {
  ami                    = local.ami
  instance_type          = var.router_instance_type
  subnet_id              = var.subnet_ids_by_zone[module.layout.nodes["s1-primary"].zone]
  vpc_security_group_ids = [module.security_groups.router_id]
  iam_instance_profile   = aws_iam_instance_profile.instance.name
  user_data = templatefile("${path.module}/cloud-init.yaml.tftpl", {
    service   = "router"
    artifact  = "${var.artifacts_url}/qache-router.tar.gz"
    port      = 7000
    java_opts = "-Xmx2g -XX:+UseCompactObjectHeaders --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED"
    region    = data.aws_region.current.name
    token_env = {
      QACHE_ADMIN_TOKEN   = var.admin_token_parameter
      QACHE_CLUSTER_TOKEN = var.cluster_token_parameter
    }
    env = {
      QACHE_ROUTER_SHARDS   = local.shard_spec
      QACHE_ROUTER_MAP_FILE = "/var/lib/qache/cluster-map.json"
      QACHE_ROUTER_DATA_DIR = "/var/lib/qache/router"
    }
  })
  user_data_replace_on_change = false # the map file lives on this instance: do not replace it for a new node list
  metadata_options {
    http_tokens = "required"
  }
  root_block_device {
    encrypted = true
  }
  tags = merge(local.tags, { Name = "${var.name}-router", "qache:role" = "router" })
}

resource "aws_instance" "admin_ui" {
  ami                    = local.ami
  instance_type          = var.admin_ui_instance_type
  subnet_id              = var.subnet_ids_by_zone[module.layout.nodes["s1-primary"].zone]
  vpc_security_group_ids = [module.security_groups.admin_ui_id]
  iam_instance_profile   = aws_iam_instance_profile.instance.name
  user_data = templatefile("${path.module}/cloud-init.yaml.tftpl", {
    service   = "admin-ui"
    artifact  = "${var.artifacts_url}/qache-admin-ui.tar.gz"
    port      = 7100
    java_opts = "-Xmx256m --sun-misc-unsafe-memory-access=allow"
    region    = data.aws_region.current.name
    token_env = { QACHE_ADMIN_TOKEN = var.admin_token_parameter }
    env = {
      QACHE_ROUTER_URL = "http://${aws_instance.router.private_ip}:7000"
    }
  })
  user_data_replace_on_change = true
  metadata_options {
    http_tokens = "required"
  }
  root_block_device {
    encrypted = true
  }
  tags = merge(local.tags, { Name = "${var.name}-admin-ui", "qache:role" = "admin-ui" })
}
