# Sourced, not run. Makes sure Debian's age (the command-line tool of the age format) is there for the
# tests that prove encrypted backups interoperate: installed with apt-get when it is missing (as root, as
# CI runs), else unpacked from the downloaded package into .tools/age with `dpkg -x` (age is one static
# Go binary: nothing else is needed). The tests use /usr/bin/age, else .tools/age/usr/bin/age.

stepvault_ensure_age() {
  local root="$1"
  [ -x /usr/bin/age ] && /usr/bin/age --version >/dev/null 2>&1 && return 0
  [ -x "$root/.tools/age/usr/bin/age" ] && "$root/.tools/age/usr/bin/age" --version >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "stepvault: installing Debian's age" >&2
    export DEBIAN_FRONTEND=noninteractive
    local install="apt-get install -y -q --no-install-recommends age"
    # An old package list may not name age: update it once, then try again.
    if $install >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && $install >/dev/null 2>&1; }; then
      [ -x /usr/bin/age ] && return 0
    fi
  fi
  stepvault_unpack_age "$root/.tools/age"
}

# apt-get download + dpkg -x: no root needed, nothing installed system-wide.
stepvault_unpack_age() {
  local dir="$1" debs
  command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 ||
    { echo "stepvault: cannot get Debian's age here (apt-get and dpkg are needed)" >&2; return 1; }
  echo "stepvault: unpacking Debian's age into $dir" >&2
  debs="$(mktemp -d)"
  (cd "$debs" && apt-get download -q age >/dev/null 2>&1) ||
    { echo "stepvault: apt-get download of age failed" >&2; rm -rf "$debs"; return 1; }
  rm -rf "$dir" && mkdir -p "$dir"
  dpkg -x "$debs"/age_*.deb "$dir"
  rm -rf "$debs"
  "$dir/usr/bin/age" --version >/dev/null || { echo "stepvault: the unpacked age does not run" >&2; return 1; }
}
