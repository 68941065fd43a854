# Qache on EC2 in an existing VPC: 3 shards with a replica each, spread over three zones.
#
#   aws ssm put-parameter --type SecureString --name /qache/admin-token   --value "$(openssl rand -hex 24)"
#   aws ssm put-parameter --type SecureString --name /qache/cluster-token --value "$(openssl rand -hex 24)"
#   # upload qache-node.tar.gz, qache-router.tar.gz, qache-admin-ui.tar.gz (each a quarkus-app folder)
#   terraform init && terraform apply -var vpc_id=... -var 'subnet_ids_by_zone={...}' -var artifacts_url=...

terraform {
  required_version = ">= 1.9"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"
}

variable "vpc_id" {
  description = "An existing VPC."
  type        = string
}

variable "subnet_ids_by_zone" {
  description = "Private subnets, zone => subnet id (three zones for 1 replica per shard and room to spare)."
  type        = map(string)
}

variable "artifacts_url" {
  description = "HTTPS URL of the folder holding the three app tarballs."
  type        = string
}

variable "admin_cidrs" {
  description = "Operators' networks, for the console."
  type        = list(string)
  default     = ["10.0.0.0/8"]
}

variable "app_cidrs" {
  description = "The application tier's networks, for the data API."
  type        = list(string)
  default     = ["10.0.0.0/8"]
}

module "qache" {
  source                  = "../../modules/aws-vm"
  name                    = "qache"
  vpc_id                  = var.vpc_id
  subnet_ids_by_zone      = var.subnet_ids_by_zone
  shards                  = 3
  replicas_per_shard      = 1
  node_memory_limit       = "20G"
  node_instance_type      = "r7i.xlarge"
  artifacts_url           = var.artifacts_url
  admin_cidrs             = var.admin_cidrs
  app_cidrs               = var.app_cidrs
  admin_token_parameter   = "/qache/admin-token"
  cluster_token_parameter = "/qache/cluster-token"
}

output "router_url" {
  description = "The data and admin API."
  value       = module.qache.router_url
}

output "admin_ui_url" {
  description = "The admin console."
  value       = module.qache.admin_ui_url
}
