#!/usr/bin/env bash
# Installs the system packages Twinbox's tests, demo and benchmarks need, from Debian's
# packages, only when missing: Dovecot (the real IMAP server the tests start
# privately on loopback, and `npm run try-imap`), openssl (certificates for `twinbox-server init`),
# Chromium and certutil (the web app's end-to-end tests), tinyproxy (the proxy tests), and
# public MIME test messages (the corpus tests).
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
