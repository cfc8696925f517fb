# OpenSSH's sshd binary for the SFTP executor tests. The tests start their own sshd on a
# free loopback port with their own config, keys and users; only the binary is needed.
# Sourced by .ci/services.sh, which provides log, apt_install, as_root.

ensure_sshd() {
  if [ -x /usr/sbin/sshd ] && [ -x /usr/lib/openssh/sftp-server ]; then
    log "sshd: installed"; return
  fi
  log "sshd: installing"
  # Keep the package from starting the system's own sshd on port 22.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod +x /usr/sbin/policy-rc.d
    apt_install openssh-server
    as_root rm -f /usr/sbin/policy-rc.d
  else
    apt_install openssh-server
  fi
  log "sshd: installed"
}

ensure_sshd
