# Sourced, not run. Puts a Node 24 on PATH the way setup-node would: the machine's own node when
# it is new enough, else the official binary from the npm registry package node-linux-<arch>@24,
# installed once into .tools/ of this checkout.
stepvault_use_node24() {
  local root="$1"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -ge 24 ]; then
    return 0
  fi
  local arch
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "stepvault: no Node 24 package for $(uname -m); install Node 24 yourself" >&2; return 1 ;;
  esac
  local prefix="$root/.tools/node24"
  local bin="$prefix/node_modules/node-linux-$arch/bin"
  if [ ! -x "$bin/node" ]; then
    echo "stepvault: installing Node 24 (node-linux-$arch@24) into .tools/node24" >&2
    if ! command -v npm >/dev/null 2>&1; then
      echo "stepvault: npm is needed to fetch Node 24; install Node.js and npm first" >&2
      return 1
    fi
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-save --no-package-lock --loglevel=error "node-linux-$arch@24" >&2 || return 1
  fi
  export PATH="$bin:$PATH"
  node --version >/dev/null || return 1
}
