# shellcheck shell=bash
# Shared by the shell entry points (up.sh, down.sh, status.sh, test.sh,
# .ci/run): where the repository is, and a uv that matches uv.lock.
# Source it; it defines functions and variables only.

# The uv release uv.lock was written with; infra/docker/Dockerfile pins the
# same one (a unit test keeps the two equal).
STREAMFLOW_UV_VERSION=0.13.9

STREAMFLOW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

say() {
    printf '==> %s\n' "$*" >&2
}

# Sets UV to the command that runs uv, installing uv with pip when it is
# missing: a fresh machine has Python and pip, not uv.
ensure_uv() {
    if command -v uv >/dev/null 2>&1; then
        UV=(uv)
    else
        local python
        python="$(command -v python3 || command -v python || true)"
        if [[ -z "$python" ]]; then
            say "neither uv nor python3 is installed; install Python 3.11 first"
            return 1
        fi
        say "uv is missing; installing uv==$STREAMFLOW_UV_VERSION with $python -m pip"
        # A Python that its distribution manages refuses plain installs
        # (PEP 668); a user install beside it is the least intrusive way.
        "$python" -m pip install --quiet "uv==$STREAMFLOW_UV_VERSION" \
            || "$python" -m pip install --quiet --user --break-system-packages \
                "uv==$STREAMFLOW_UV_VERSION"
        # The new script may sit in a directory that is not on PATH (a user
        # install, or a pyenv version without rehash); the module always runs.
        if command -v uv >/dev/null 2>&1; then
            UV=(uv)
        else
            UV=("$python" -m uv)
        fi
    fi
    say "using $("${UV[@]}" --version)"
}

# Installs exactly what uv.lock says, development tools included.
sync_packages() {
    say "installing packages: uv sync --frozen"
    (cd "$STREAMFLOW_ROOT" && "${UV[@]}" sync --frozen)
}
