#!/usr/bin/env bash
# Installs the system packages the test suite needs (Debian), only those missing:
#   postgresql       the tests start their own server from its initdb/pg_ctl
#   mariadb-server   the tests start their own mysqld for the generic SQLAlchemy connector
#   unixodbc, odbc-postgresql   the ODBC (SQL Server) code paths run over unixODBC
#   openjdk-17-jre-headless     local Spark (normally already on the machine)
#   chromium, chromium-driver   the UI's real-browser tests (tests/ui/test_browser.py, Selenium)
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
  || need+=(postgresql)
command -v mysqld >/dev/null 2>&1 || [ -x /usr/sbin/mysqld ] || [ -x /usr/sbin/mariadbd ] \
  || need+=(mariadb-server)
have_pkg unixodbc || need+=(unixodbc)
have_pkg odbc-postgresql || need+=(odbc-postgresql)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)

if [ ${#need[@]} -eq 0 ]; then
  echo "setup-system: all system packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "setup-system: need root to install: ${need[*]}" >&2; exit 1
  fi
else
  SUDO=
fi
echo "setup-system: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
# Debian's maintainer scripts try to start the servers they install; the tests start
# their own on free ports, so keep the packaged services down.
printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
$SUDO chmod +x /usr/sbin/policy-rc.d
trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
