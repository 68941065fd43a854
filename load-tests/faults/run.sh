#!/usr/bin/env bash
# The Jepsen-style fault run (FaultScheduleIT) for a chosen length: concurrent clients through
# the router, a repeating schedule of faults (SIGKILL, SIGSTOP of 350 ms and 2 s, of primaries and
# replicas, a restart with empty memory, a router restart), then the checker over the whole
# history. verify runs one round (7 faults); this runs rounds until MINUTES have passed.
#
#   load-tests/faults/run.sh [MINUTES]      default 10; report in load-tests/target/faults-report.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=${1:-10}
. .ci/java-home.sh
./mvnw -B -q package -DskipTests
./mvnw -B verify -pl load-tests -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
  -Dit.test=FaultScheduleIT -Dqache.faults.minutes="$minutes"
cat load-tests/target/faults-report.txt
