# Qache on ECS Fargate in an existing VPC: 3 shards with a replica each, spread over three zones.
#
#   aws secretsmanager create-secret --name qache-admin-token   --secret-string "$(openssl rand -hex 24)"
#   aws secretsmanager create-secret --name qache-cluster-token --secret-string "$(openssl rand -hex 24)"
#   # build and push the three images (src/main/docker/Dockerfile.jvm of node, router, admin-ui)
#   terraform init && terraform apply -var vpc_id=... -var 'subnet_ids_by_zone={...}' -var 'images={...}' ...

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
  description = "Private subnets, zone => subnet id."
  type        = map(string)
}

variable "images" {
  description = "The three images, pushed to a registry the tasks can pull from."
  type = object({
    node     = string
    router   = string
    admin_ui = string
  })
}

variable "admin_token_secret_arn" {
  description = "ARN of the secret holding the admin token."
  type        = string
}

variable "cluster_token_secret_arn" {
  description = "ARN of the secret holding the cluster token."
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
  source                   = "../../modules/aws-ecs"
  name                     = "qache"
  vpc_id                   = var.vpc_id
  subnet_ids_by_zone       = var.subnet_ids_by_zone
  shards                   = 3
  replicas_per_shard       = 1
  images                   = var.images
  admin_cidrs              = var.admin_cidrs
  app_cidrs                = var.app_cidrs
  admin_token_secret_arn   = var.admin_token_secret_arn
  cluster_token_secret_arn = var.cluster_token_secret_arn
}

output "router_url" {
  description = "The data and admin API."
  value       = module.qache.router_url
}

output "admin_ui_url" {
  description = "The admin console."
  value       = module.qache.admin_ui_url
}
