# The OpenID provider of the keycloak auth backend's tests: the npm package oidc-provider
# (tests/support/oidc), run by the tests themselves on a free loopback port. Only Node.js
# and the package's node_modules are needed here.
# Sourced by .ci/services.sh, which provides log, apt_install, as_root.

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_oidc_provider() {
  local dir="tests/support/oidc"
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    log "oidc: installing nodejs and npm"; apt_install nodejs npm
  fi
  # oidc-provider 9 needs Node.js 20 or later; Debian 12's is 18. The npm registry ships
  # Node.js itself as a package (node-linux-<arch>): the tests' fixture runs
  # $dir/.node/bin/node when it exists.
  if [ "$(node_major)" -lt 20 ] && [ ! -x "$dir/.node/bin/node" ]; then
    local arch
    case "$(uname -m)" in
      x86_64) arch=x64 ;;
      aarch64 | arm64) arch=arm64 ;;
      *) log "oidc: Node.js $(node --version) is too old and no package for $(uname -m)"; return 1 ;;
    esac
    log "oidc: Node.js $(node --version) is too old; installing node-linux-$arch@22"
    npm install --prefix "$dir/.node" --no-save --no-package-lock --no-audit --no-fund \
      "node-linux-$arch@22" >/dev/null
    mkdir -p "$dir/.node/bin"
    ln -sf "../node_modules/node-linux-$arch/bin/node" "$dir/.node/bin/node"
  fi
  if [ ! -f "$dir/node_modules/oidc-provider/package.json" ]; then
    log "oidc: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund >/dev/null)
  fi
  log "oidc: oidc-provider $(node -p "require('./$dir/node_modules/oidc-provider/package.json').version") ready"
}

ensure_oidc_provider
