#!/usr/bin/env bash
# Tell which StreamFlow process runs and answers /readyz; exit 3 if one
# that is built does not.
set -euo pipefail
# shellcheck source=infra/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_uv
cd "$STREAMFLOW_ROOT"
exec "${UV[@]}" run --frozen python -m infra.scripts.stack status "$@"
