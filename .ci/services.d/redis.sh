# Redis on 127.0.0.1:6379 for the redis:// lock and breaker tests.
# Sourced by .ci/services.sh, which provides log, apt_install, as_root, port_open, wait_port.

ensure_redis() {
  if port_open 6379; then
    log "redis: running"; return
  fi
  if ! command -v redis-server >/dev/null; then
    log "redis: installing"; apt_install redis-server
    # The package may start its own instance on 6379; then there is nothing more to do.
    if port_open 6379; then log "redis: started by the package"; return; fi
  fi
  as_root mkdir -p /var/lib/redis /var/log/redis
  # No persistence: the tests need a live server, not durable data.
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port 6379
  log "redis: started"
}

ensure_redis
