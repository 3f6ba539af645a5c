#!/usr/bin/env bash
# Installs the system packages Twinbox's tests, demo and benchmarks need, from Debian's
# packages, only when missing: Dovecot (the real IMAP server the tests start
# privately on loopback, and `npm run try-imap`), openssl (certificates for `twinbox-server init`),
# Chromium and certutil (the web app's end-to-end tests), tinyproxy (the proxy tests),
# public MIME test messages (the corpus tests), and PostgreSQL and HAProxy (issue 22: the testkit runs its own).
# Needs root (or sudo) only when something is missing.
set -euo pipefail

missing=()
# Dovecot's IMAP and LMTP programs themselves: installing Courier or Cyrus removes dovecot-imapd but
# leaves `dovecot` on the PATH (scripts/test-servers.sh restores it; this catches a machine where it did not).
[ -x /usr/lib/dovecot/imap ] && command -v dovecot >/dev/null 2>&1 || missing+=(dovecot-core dovecot-imapd)
[ -x /usr/lib/dovecot/lmtp ] || missing+=(dovecot-lmtpd)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# node-gyp builds better-sqlite3 from source (no prebuilt download here).
command -v make >/dev/null 2>&1 || missing+=(make)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# Chromium: the real browser the web app's end-to-end tests drive (playwright-core, never a downloaded browser),
# with a font to render text in; certutil (libnss3-tools) puts a test CA in its trust store (an NSS database).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
# systemd-analyze: the tests check the service units the project writes and ships.
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
# tinyproxy: the real HTTP proxy the agent's proxy tests tunnel through.
command -v tinyproxy >/dev/null 2>&1 || missing+=(tinyproxy)
# mbsync (isync): the peer `npm run bench` measures the desktop side against.
command -v mbsync >/dev/null 2>&1 || missing+=(isync)
# Real-world mail no one on this project wrote, for the corpus and fuzz tests (issue 18; packages/testkit/src/corpus.ts):
# CPython's email test messages, enmime's MIME test messages, and the SpamAssassin "easy ham" messages jwz ships.
[ -d /usr/lib/python3.11/test/test_email/data ] || missing+=(libpython3.11-testsuite)
[ -d /usr/share/gocode/src/github.com/jhillyerd/enmime/testdata ] || missing+=(golang-github-jhillyerd-enmime-dev)
[ -d /usr/share/gocode/src/github.com/gatherstars-com/jwz/test/testdata/ham ] || missing+=(golang-github-gatherstars-com-jwz-dev)
# PostgreSQL and HAProxy (issue 22): the testkit starts its own, privately (packages/testkit/src/postgres.ts:
# initdb in a temp dir, unprivileged, its own port on 127.0.0.1, stopped by its pid; haproxy.ts likewise), so
# only the programs are needed. Debian keeps PostgreSQL's server programs in /usr/lib/postgresql/<major>/bin.
postgres_present() {
  local bin
  for bin in /usr/lib/postgresql/*/bin; do
    [ -x "$bin/postgres" ] && [ -x "$bin/initdb" ] && { [ -x "$bin/psql" ] || command -v psql >/dev/null 2>&1; } && return 0
  done
  return 1
}
postgres_present || missing+=(postgresql)
[ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)

if [ ${#missing[@]} -eq 0 ]; then
  echo "system dependencies present"
  exit 0
fi

echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root to install ${missing[*]} (apt-get)" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Debian's postgresql package makes a cluster (15/main, port 5432) and, like haproxy's, starts its service where
# the machine's policy lets it (a Docker image's policy-rc.d does not). The tests never use them: stopped now and,
# under systemd, not started at boot. Only what this run installed; the cluster's files stay (/var/lib/postgresql).
just_installed() { [[ " ${missing[*]} " == *" $1 "* ]]; }
if just_installed postgresql; then
  if [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now postgresql >/dev/null 2>&1 || true
  fi
  if command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters --no-header 2>/dev/null | while read -r version cluster _port status _rest; do
      if [ "$status" = online ]; then
        echo "stopping the PostgreSQL cluster $version/$cluster the package started (the tests start their own)"
        $SUDO pg_ctlcluster "$version" "$cluster" stop || true
      fi
    done
  fi
fi
if just_installed haproxy; then
  if [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now haproxy >/dev/null 2>&1 || true
  elif $SUDO service haproxy status >/dev/null 2>&1; then
    echo "stopping the haproxy service the package started (the tests start their own)"
    $SUDO service haproxy stop || true
  fi
fi
