# Sourced, not run. Makes sure Debian's AWS CLI v2 (package awscli) is there for the tests that drive
# `stepvault serve` with `aws stepfunctions`: installed with apt-get when it is missing (as root, as CI
# runs), else unpacked from the downloaded packages into .tools/awscli with `dpkg -x`. The tests use
# /usr/bin/aws when it is Debian's v2, else .tools/awscli/aws.

# The packages awscli needs beyond Python's standard library (Debian bookworm's names).
STEPVAULT_AWSCLI_PACKAGES="awscli python3-awscrt python3-colorama python3-cryptography
  python3-cffi-backend python3-dateutil python3-six python3-distro python3-docutils python3-jmespath
  python3-prompt-toolkit python3-wcwidth python3-ruamel.yaml python3-ruamel.yaml.clib python3-urllib3
  python3-pyasn1 python3-certifi python3-roman"

stepvault_debian_awscli() {
  [ -x /usr/bin/aws ] && /usr/bin/aws --version 2>/dev/null | grep -q '^aws-cli/2.*debian'
}

stepvault_ensure_awscli() {
  local root="$1"
  stepvault_debian_awscli && return 0
  [ -x "$root/.tools/awscli/aws" ] && "$root/.tools/awscli/aws" --version >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "stepvault: installing Debian's awscli" >&2
    export DEBIAN_FRONTEND=noninteractive
    local install="apt-get install -y -q --no-install-recommends awscli"
    # An old package list may not name awscli: update it once, then try again.
    if $install >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && $install >/dev/null 2>&1; }; then
      stepvault_debian_awscli && return 0
    fi
  fi
  stepvault_unpack_awscli "$root/.tools/awscli"
}

# apt-get download + dpkg -x: no root needed, nothing installed system-wide. Runs with the system's python3
# (the packages are built for Debian's), site-packages off so that only the unpacked modules are used.
stepvault_unpack_awscli() {
  local dir="$1" debs
  command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1 ||
    { echo "stepvault: cannot get Debian's awscli here (apt-get, dpkg and python3 are needed)" >&2; return 1; }
  echo "stepvault: unpacking Debian's awscli into $dir" >&2
  debs="$(mktemp -d)"
  # shellcheck disable=SC2086 # the list is meant to split into package names
  (cd "$debs" && apt-get download -q $STEPVAULT_AWSCLI_PACKAGES >/dev/null 2>&1) ||
    { echo "stepvault: apt-get download of awscli failed" >&2; rm -rf "$debs"; return 1; }
  rm -rf "$dir" && mkdir -p "$dir/root"
  local deb
  for deb in "$debs"/*.deb; do dpkg -x "$deb" "$dir/root"; done
  rm -rf "$debs"
  cat >"$dir/aws" <<'WRAPPER'
#!/bin/sh
here="$(cd "$(dirname "$0")" && pwd)"
PYTHONPATH="$here/root/usr/lib/python3/dist-packages" exec python3 -S "$here/root/usr/bin/aws" "$@"
WRAPPER
  chmod +x "$dir/aws"
  "$dir/aws" --version >/dev/null || { echo "stepvault: the unpacked awscli does not run" >&2; return 1; }
}
