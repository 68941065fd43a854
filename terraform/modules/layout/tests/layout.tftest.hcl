# terraform test (no provider needed): the node layout.

variables {
  shards             = 3
  replicas_per_shard = 1
  availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
}

run "one_primary_and_its_replicas_per_shard" {
  command = plan

  assert {
    condition     = length(output.nodes) == 6
    error_message = "3 shards x (1 + 1 replica) must be 6 nodes, got ${length(output.nodes)}."
  }
  assert {
    condition     = length([for n in output.nodes : n if n.role == "primary"]) == 3
    error_message = "Each shard must have exactly one primary."
  }
  assert {
    condition     = output.shard_members["s2"] == ["s2-primary", "s2-replica1"]
    error_message = "A shard's members are listed primary first."
  }
  assert {
    condition     = output.shard_ids == ["s1", "s2", "s3"]
    error_message = "Shard ids must be s1..s3."
  }
}

run "no_two_nodes_of_a_shard_share_a_zone" {
  command = plan

  variables {
    shards             = 5
    replicas_per_shard = 2
  }

  assert {
    condition     = length(output.nodes) == 15
    error_message = "5 shards x 3 nodes must be 15 nodes."
  }
  assert {
    condition = alltrue([
      for s in output.shard_ids :
      length(distinct([for n in output.nodes : n.zone if n.shard == s])) == 3
    ])
    error_message = "A shard's primary and replicas must sit in three different zones."
  }
  assert {
    condition     = length(distinct([for n in output.nodes : n.zone if n.role == "primary"])) == 3
    error_message = "Primaries must rotate over the zones."
  }
}

run "too_few_zones_for_the_replicas_is_flagged" {
  command = plan

  variables {
    replicas_per_shard = 2
    availability_zones = ["eu-west-1a", "eu-west-1b"]
  }

  expect_failures = [check.replicas_in_other_zones]
}

run "zero_shards_is_refused" {
  command = plan

  variables {
    shards = 0
  }

  expect_failures = [var.shards]
}
