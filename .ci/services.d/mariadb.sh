# MariaDB on 127.0.0.1:3306 (root, empty password, database `test`) for the SQL executor.
# Sourced by .ci/services.sh, which provides log, apt_install, as_root, port_open, wait_port.

ensure_mariadb() {
  if ! port_open 3306; then
    if ! command -v mariadbd >/dev/null && ! [ -x /usr/sbin/mariadbd ]; then
      log "mariadb: installing"; apt_install mariadb-server
    fi
    if ! port_open 3306; then
      as_root mkdir -p /run/mysqld
      as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
      as_root sh -c 'nohup mysqld_safe --bind-address=127.0.0.1 >/dev/null 2>&1 &'
      wait_port 3306
    fi
  fi
  # Tests log in as root over TCP with an empty password, as on this project's machines.
  as_root mariadb -uroot -e "CREATE DATABASE IF NOT EXISTS test;
    ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('')
      OR unix_socket;" 2>/dev/null || true
  log "mariadb: running"
}

ensure_mariadb
