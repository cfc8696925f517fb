# Prometheus's promtool for the monitoring kit's tests (deploy/monitoring/): `promtool
# check rules` and `promtool test rules` run the alert rules on synthetic series. Only the
# binary is needed; the Prometheus server the package brings is kept from starting.
# Sourced by .ci/services.sh, which provides log, apt_install, as_root.

ensure_promtool() {
  if command -v promtool >/dev/null; then
    log "promtool: installed"; return
  fi
  log "promtool: installing"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod +x /usr/sbin/policy-rc.d
    apt_install --no-install-recommends prometheus
    as_root rm -f /usr/sbin/policy-rc.d
  else
    apt_install --no-install-recommends prometheus
  fi
  log "promtool: installed"
}

ensure_promtool
