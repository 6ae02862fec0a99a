#!/usr/bin/env bash
# The one test command: install what uv.lock says, lint, check formatting,
# type-check, then run the whole test suite (unit, integration, e2e).
#   bash infra/scripts/test.sh [pytest arguments]
#
# Every step runs even when an earlier one failed, so one run shows every
# problem; the exit status is non-zero if any step failed. pytest's exit
# status 5 (no test collected) is a failure too: a suite that ran nothing
# proved nothing.
#
# Where the tests find RabbitMQ, MariaDB and PostgreSQL is up to them
# (tests/support/services.py): this script sets no STREAMFLOW_TEST_*
# variable, so with none set and a Docker engine running they start
# containers.
set -euo pipefail
# shellcheck source=infra/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_uv
sync_packages
cd "$STREAMFLOW_ROOT"

failed=()

step() {
    local name="$1"
    shift
    say "$name: $*"
    local started=$SECONDS status=0
    "$@" || status=$?
    if ((status == 0)); then
        say "$name: passed ($((SECONDS - started)) s)"
    else
        say "$name: FAILED with exit status $status ($((SECONDS - started)) s)"
        failed+=("$name")
    fi
    return 0
}

step lint "${UV[@]}" run --frozen ruff check .
step format "${UV[@]}" run --frozen ruff format --check .
step types "${UV[@]}" run --frozen mypy .
step tests "${UV[@]}" run --frozen pytest "$@"

if ((${#failed[@]} > 0)); then
    say "failed: ${failed[*]}"
    exit 1
fi
say "all steps passed"
