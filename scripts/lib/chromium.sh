# Sourced, not run. Makes sure Debian's chromium is there for the tests that load the status page in a real
# browser (driven by playwright-core, which brings no browser of its own): installed with apt-get when it is
# missing, as root (as CI runs). Chromium needs too many libraries to unpack beside the checkout.

stepvault_has_chromium() {
  [ -x /usr/bin/chromium ] && /usr/bin/chromium --version >/dev/null 2>&1
}

stepvault_ensure_chromium() {
  stepvault_has_chromium && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "stepvault: Debian's chromium is missing; install it (apt-get install chromium) as root" >&2
    return 1
  fi
  echo "stepvault: installing Debian's chromium" >&2
  export DEBIAN_FRONTEND=noninteractive
  local install="apt-get install -y -q --no-install-recommends chromium"
  # An old package list may not name chromium: update it once, then try again.
  if $install >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && $install >/dev/null 2>&1; }; then
    stepvault_has_chromium && return 0
  fi
  echo "stepvault: apt-get install chromium failed" >&2
  return 1
}
