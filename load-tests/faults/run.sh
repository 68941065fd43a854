#!/usr/bin/env bash
# The Jepsen-style fault run (FaultScheduleIT) for a chosen length: concurrent clients through
# the router, a repeating schedule of faults (SIGKILL, SIGSTOP of 350 ms and 2 s, of primaries and
# replicas, a restart with empty memory, a router restart, partitions; slow links; migrations with
# primaries and the router killed mid-copy), then the checker over the whole history. verify runs
# one round of each schedule; this runs rounds of each until MINUTES have passed.
#
#   load-tests/faults/run.sh [MINUTES]      default 10; reports in load-tests/target/faults-*report.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=${1:-10}
. .ci/java-home.sh
./mvnw -B -q package -DskipTests
./mvnw -B verify -pl load-tests -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
  -Dit.test=FaultScheduleIT -Dqache.faults.minutes="$minutes"
cat load-tests/target/faults-report.txt load-tests/target/faults-slow-links-report.txt \
  load-tests/target/faults-migrations-report.txt
