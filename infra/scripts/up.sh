#!/usr/bin/env bash
# Start StreamFlow on this machine: packages, local services, databases,
# migrations, seed, and every process in the background.
#   bash infra/scripts/up.sh [--seed-count N] [--timeout S] [--dry-run]
set -euo pipefail
# shellcheck source=infra/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_uv
sync_packages
cd "$STREAMFLOW_ROOT"
exec "${UV[@]}" run --frozen python -m infra.scripts.stack up "$@"
