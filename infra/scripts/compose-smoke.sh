#!/usr/bin/env bash
# Build the image, start everything docker-compose.yml defines, and wait
# until each long-running service is healthy and each one-shot service has
# exited 0; on failure print the logs. Removes the stack and its volumes at
# the end. Needs a Docker engine with the compose plugin (CI's runner has one).
#   bash infra/scripts/compose-smoke.sh
set -euo pipefail
# shellcheck source=infra/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$STREAMFLOW_ROOT"

timeout="${STREAMFLOW_COMPOSE_TIMEOUT:-300}"

cleanup() {
    say "docker compose down --volumes"
    docker compose down --volumes --remove-orphans >/dev/null 2>&1 || true
}
trap cleanup EXIT

fail() {
    say "$*"
    docker compose ps --all || true
    docker compose logs --no-color || true
    exit 1
}

say "docker compose build"
docker compose build

# Not `up --wait`: it counts a one-shot service that exited 0 as a failure
# on some compose releases.
say "docker compose up --detach"
docker compose up --detach || fail "docker compose up failed"

mapfile -t services < <(docker compose config --services)
deadline=$((SECONDS + timeout))
for service in "${services[@]}"; do
    container="$(docker compose ps --all --quiet "$service")"
    [[ -n "$container" ]] || fail "$service: no container"
    while :; do
        state="$(docker inspect --format \
            '{{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' \
            "$container")"
        read -r status code health <<<"$state"
        case "$status/$health" in
            running/healthy) say "$service: healthy"; break ;;
            running/none) say "$service: running (no health check)"; break ;;
            exited/none)
                ((code == 0)) || fail "$service: exited with $code"
                say "$service: done"
                break ;;
            */unhealthy) fail "$service: unhealthy" ;;
            exited/* | dead/*) fail "$service: $status with $code" ;;
        esac
        ((SECONDS < deadline)) || fail "$service: not healthy after $timeout s ($state)"
        sleep 3
    done
done
say "every service is up"
