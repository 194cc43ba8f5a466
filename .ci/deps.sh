#!/usr/bin/env bash
# Debian packages the integration tests run for real (nginx, HAProxy, Prometheus, the
# pushgateway, OpenSSH, Chromium, tmux, PostgreSQL, etcd). Installs only what is missing; needs root.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$2" ]; }
have nginx /usr/sbin/nginx || need+=(nginx-light)
have haproxy /usr/sbin/haproxy || need+=(haproxy)
have prometheus /usr/bin/prometheus || need+=(prometheus)
have prometheus-pushgateway /usr/bin/prometheus-pushgateway || need+=(prometheus-pushgateway)
have sshd /usr/sbin/sshd || need+=(openssh-server openssh-client)
have chromium /usr/bin/chromium || need+=(chromium)
have tmux /usr/bin/tmux || need+=(tmux)
have openssl /usr/bin/openssl || need+=(openssl)
have etcd /usr/bin/etcd || need+=(etcd-server)
# the tests start a private server from /usr/lib/postgresql/N/bin (initdb, pg_ctl), not the system one
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "gray tests: missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]}); the tests that need them will be skipped" >&2
  exit 0
fi
echo "installing Debian packages for the integration tests: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# the packages start their own services; the tests start private instances instead
for s in nginx haproxy prometheus prometheus-pushgateway ssh postgresql etcd; do
  (service "$s" stop || true) >/dev/null 2>&1
done
