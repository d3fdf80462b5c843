# Sourced, not run. Makes sure the PostgreSQL and MariaDB servers the tests use answer on
# 127.0.0.1, starting the machine's own services when they are installed but stopped.
wait_for_port() {
  local port="$1" tries=60
  while [ $tries -gt 0 ]; do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.5
    tries=$((tries - 1))
  done
  return 1
}

stepvault_ensure_postgres() {
  (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && return 0
  # Nothing to start: say so at once rather than wait for a server that will never come.
  command -v pg_ctlcluster >/dev/null 2>&1 || ls /etc/postgresql/* >/dev/null 2>&1 || return 1
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "stepvault: starting PostgreSQL" >&2
    local version
    for version in $(ls /etc/postgresql 2>/dev/null); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
  fi
  wait_for_port 5432 || { echo "stepvault: no PostgreSQL answers on 127.0.0.1:5432" >&2; return 1; }
}

stepvault_ensure_mariadb() {
  wait_for_port 3306 2>/dev/null && return 0
  if [ -x /usr/sbin/mariadbd ]; then
    echo "stepvault: starting MariaDB" >&2
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  fi
  wait_for_port 3306 || { echo "stepvault: no MariaDB answers on 127.0.0.1:3306" >&2; return 1; }
}
