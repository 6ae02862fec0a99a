#!/usr/bin/env bash
# Stop every StreamFlow process started by up.sh: SIGTERM, so each finishes
# the message in hand, then SIGKILL after a timeout.
#   bash infra/scripts/down.sh [--timeout S]
set -euo pipefail
# shellcheck source=infra/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_uv
cd "$STREAMFLOW_ROOT"
exec "${UV[@]}" run --frozen python -m infra.scripts.stack down "$@"
