# Sourced, not run: one place that prepares a checkout for the other scripts.
# stepvault_setup ROOT [--databases]: Node 24 on PATH, npm dependencies installed, and with
# --databases the local PostgreSQL and MariaDB answering on 127.0.0.1.
. "$(dirname "${BASH_SOURCE[0]}")/node24.sh"
. "$(dirname "${BASH_SOURCE[0]}")/databases.sh"

stepvault_setup() {
  local root="$1"
  shift
  stepvault_use_node24 "$root" || return 1
  # npm ci only when the lockfile changed since the last install: a re-run stays fast.
  local installed="$root/node_modules/.package-lock.json"
  if [ ! -f "$installed" ] || [ "$root/package-lock.json" -nt "$installed" ]; then
    (cd "$root" && npm ci --loglevel=error --no-fund --no-audit) || return 1
  fi
  local arg
  for arg in "$@"; do
    case "$arg" in
      --databases) stepvault_ensure_postgres && stepvault_ensure_mariadb || return 1 ;;
    esac
  done
}
