# NATS with JetStream on 127.0.0.1:4222 for the nats:// queue tests.
# Sourced by .ci/services.sh, which provides log, apt_install, as_root, port_open, wait_port.

# The server's greeting (INFO {...}) says whether JetStream is on: "jetstream":true.
nats_info() {
  timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/4222; IFS= read -r -t 3 line <&3; printf "%s" "$line"' \
    2>/dev/null || true
}

nats_has_jetstream() { nats_info | grep -q '"jetstream":true'; }

ensure_nats() {
  if port_open 4222; then
    if nats_has_jetstream; then log "nats: running with JetStream"; return; fi
    # Debian's unit starts the server from /etc/nats-server.conf, without JetStream.
    if command -v systemctl >/dev/null && systemctl is-active --quiet nats-server 2>/dev/null; then
      log "nats: stopping the packaged service (no JetStream)"
      as_root systemctl stop nats-server
      for _ in $(seq 1 20); do port_open 4222 || break; sleep 0.5; done
    else
      log "nats: port 4222 is taken by a server without JetStream; stop it"; return 1
    fi
  fi
  if [ ! -x /usr/sbin/nats-server ]; then
    log "nats: installing"; apt_install nats-server
    if port_open 4222; then  # started by the package: replace it with a JetStream one
      if nats_has_jetstream; then log "nats: started by the package"; return; fi
      as_root systemctl stop nats-server 2>/dev/null || true
      for _ in $(seq 1 20); do port_open 4222 || break; sleep 0.5; done
    fi
  fi
  as_root mkdir -p /var/lib/nats-server
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_port 4222
  for _ in $(seq 1 20); do nats_has_jetstream && break; sleep 0.5; done
  if ! nats_has_jetstream; then log "nats: started but JetStream is off"; return 1; fi
  log "nats: started"
}

ensure_nats
