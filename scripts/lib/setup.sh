# Sourced, not run: one place that prepares a checkout for the other scripts.
# stepvault_setup ROOT [--databases] [--awscli] [--age]: Node 24 on PATH, npm dependencies installed, with
# --databases the local PostgreSQL and MariaDB answering on 127.0.0.1, with --awscli Debian's AWS CLI, and
# with --age Debian's age, with --chromium Debian's chromium (the status page's browser tests).
. "$(dirname "${BASH_SOURCE[0]}")/node24.sh"
. "$(dirname "${BASH_SOURCE[0]}")/databases.sh"
. "$(dirname "${BASH_SOURCE[0]}")/awscli.sh"
. "$(dirname "${BASH_SOURCE[0]}")/age.sh"
. "$(dirname "${BASH_SOURCE[0]}")/chromium.sh"

stepvault_setup() {
  local root="$1"
  shift
  stepvault_use_node24 "$root" || return 1
  # npm ci only when the lockfile changed since the last install: a re-run stays fast.
  local installed="$root/node_modules/.package-lock.json"
  if [ ! -f "$installed" ] || [ "$root/package-lock.json" -nt "$installed" ]; then
    (cd "$root" && npm ci --loglevel=error --no-fund --no-audit) || return 1
  fi
  # The command line's bundle (dist/cli), rebuilt when a file it was made from changed: it starts
  # every command about 0.1 s sooner than the sources, which run while it is stale.
  (cd "$root" && node scripts/build-cli.ts --if-stale >/dev/null) || return 1
  local arg
  for arg in "$@"; do
    case "$arg" in
      --databases) stepvault_ensure_postgres && stepvault_ensure_mariadb || return 1 ;;
      --awscli) stepvault_ensure_awscli "$root" || return 1 ;;
      --age) stepvault_ensure_age "$root" || return 1 ;;
      --chromium) stepvault_ensure_chromium || return 1 ;;
    esac
  done
}
