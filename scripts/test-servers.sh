#!/usr/bin/env bash
# npm run test:servers [-- courier|cyrus] — the agent against real Courier and
# Cyrus IMAP servers from Debian's packages (issues 10 and 18). Their packages
# remove dovecot-imapd, which the rest of the suite needs, so they cannot share
# the machine with `npm test`: this installs one server at a time, starts it on
# 127.0.0.1 only, runs the profile suite's action checks against it
# (test/servers/external-imap.test.ts), stops it, and at the end removes it and
# puts Dovecot back — also when a step fails or the run is interrupted. Courier
# runs twice: stock, and with IMAP_DISABLETHREADSORT=1 (SORT advertised, every
# SORT refused: the agent must fall back and remember it). Needs root (apt-get,
# a test user). Exits non-zero when a check fails or Dovecot cannot be put
# back. Results are printed and written to bench-results/servers.txt.
# .ci/run runs it after `npm test`.
set -uo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "test-servers: needs root (it installs packages and adds a test user)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
servers=("${@:-courier cyrus}")
read -r -a servers <<<"${servers[*]}"
USER_NAME=twinboxtest
USER_PASS=twinbox-test-pass
RESULTS=bench-results/servers.txt
mkdir -p bench-results
: >"$RESULTS"
status=0

restore_dovecot() {
  echo "== restoring Dovecot"
  # Whatever stopped the run: no test server left running, Dovecot's IMAP server back.
  [ -x /etc/init.d/courier-imap ] && /etc/init.d/courier-imap stop >/dev/null 2>&1
  [ -f /run/cyrus-master.pid ] && kill "$(cat /run/cyrus-master.pid)" 2>/dev/null
  apt-get install -y -qq --no-install-recommends dovecot-core dovecot-imapd dovecot-lmtpd >/dev/null || true
  if [ -x /usr/lib/dovecot/imap ] && [ -x /usr/lib/dovecot/lmtp ]; then
    echo "Dovecot restored" >>"$RESULTS"
  else
    echo "test-servers: Dovecot's imap or lmtp is still missing" >&2
    echo "Dovecot NOT restored" >>"$RESULTS"
    status=1
  fi
}
finish() {
  restore_dovecot
  echo "== results"; cat "$RESULTS"
  exit "$status"
}
trap finish EXIT
# An interrupted run (Ctrl-C, a CI timeout's SIGTERM) still restores Dovecot and fails.
trap 'echo "interrupted" >>"$RESULTS"; status=130; exit' INT TERM HUP

ensure_user() {
  id "$USER_NAME" >/dev/null 2>&1 || useradd -m -s /usr/sbin/nologin "$USER_NAME"
  echo "$USER_NAME:$USER_PASS" | chpasswd
}

run_checks() { # name json-of-server json-of-expected [json-of-fallbacks]
  echo "== $1: action checks"
  local fallbacks="${4:-}"
  [ -n "$fallbacks" ] || fallbacks='{"refused":[],"paths":{}}'
  if TWINBOX_EXTERNAL_IMAP="$2" TWINBOX_EXTERNAL_EXPECT="$3" TWINBOX_EXTERNAL_FALLBACKS="$fallbacks" \
    npx vitest run --config vitest.servers.config.ts 2>&1 | tee "/tmp/twinbox-$1.log"; then
    echo "$1: PASSED" >>"$RESULTS"
  else
    echo "$1: FAILED" >>"$RESULTS"
    status=1
  fi
  grep -E "^$1: \{" "/tmp/twinbox-$1.log" >>"$RESULTS" || true
  grep -E "✓|×" "/tmp/twinbox-$1.log" >>"$RESULTS" || true
}

wait_port() { # port: until something accepts connections on 127.0.0.1:port (at most 30 s)
  # An init script's `restart` returns before the new couriertcpd listens; a fixed sleep lost that race in CI.
  local i
  for i in $(seq 1 60); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.5
  done
  echo "test-servers: nothing listens on 127.0.0.1:$1 after 30 s" >&2
  return 1
}

courier_stop() { # until no couriertcpd serves IMAP any more (an init script's stop returns before it exits)
  /etc/init.d/courier-imap stop >/dev/null 2>&1
  local i
  for i in $(seq 1 20); do
    pgrep -f "couriertcpd.*imapd" >/dev/null || return 0
    sleep 0.5
  done
  pkill -KILL -f "couriertcpd.*imapd" 2>/dev/null || true
  sleep 0.5
}

courier_start() { # port: a stopped Courier started, until the test user can log in; a second try if the first never listens
  # A start right after the previous run's stop often starts nothing (CI and here: nothing listened for 30 s, for the
  # second run); a second stop and start does. And a listening port is not yet a login that works (authdaemon):
  # wait for a real login.
  local attempt
  for attempt in 1 2; do
    courier_stop
    /etc/init.d/courier-authdaemon restart >/dev/null
    /etc/init.d/courier-imap start >/dev/null
    wait_port "$1" && node scripts/imap-login-wait.mjs 127.0.0.1 "$1" "$USER_NAME" "$USER_PASS" 30 && return 0
    echo "test-servers: Courier start attempt $attempt failed" >&2
  done
  return 1
}

courier_run() { # name disable-thread-sort(0|1) json-of-fallbacks
  local port=11143
  local home; home=$(getent passwd "$USER_NAME" | cut -d: -f6)
  # A fresh mailbox for each run.
  rm -rf "$home/Maildir"
  su -s /bin/sh "$USER_NAME" -c "maildirmake '$home/Maildir' && maildirmake -f Trash '$home/Maildir' && maildirmake -f Sent '$home/Maildir'"
  sed -i -e "s/^ADDRESS=.*/ADDRESS=127.0.0.1/" -e "s/^PORT=.*/PORT=$port/" -e "s/^IMAPDSTART=.*/IMAPDSTART=YES/" \
    -e "s/^IMAP_DISABLETHREADSORT=.*/IMAP_DISABLETHREADSORT=$2/" /etc/courier/imapd
  courier_start "$port" || { echo "$1: courier did not start" >>"$RESULTS"; status=1; return; }
  run_checks "$1" \
    "{\"name\":\"$1\",\"host\":\"127.0.0.1\",\"port\":$port,\"user\":\"$USER_NAME\",\"password\":\"$USER_PASS\",\"prefix\":\"INBOX.\",\"separator\":\".\",\"trash\":\"INBOX.Trash\",\"sent\":\"INBOX.Sent\"}" \
    '{"detection":"compare","move":"copy-expunge","expunge":"uid-expunge","uidNext":"status","appendUid":"appenduid","trash":"INBOX.Trash","sent":"INBOX.Sent"}' \
    "$3"
  courier_stop
}

courier() {
  echo "== courier: installing"
  apt-get update -qq
  apt-get install -y -qq courier-imap >/dev/null || { echo "courier: install failed" >>"$RESULTS"; status=1; return; }
  ensure_user
  # Stock: SORT in UTF-8 (UTF8=ACCEPT is enabled) accepted, nothing refused (issue 18, finding 11).
  courier_run courier 0 '{"refused":[],"paths":{"order":"sort"}}'
  # The administrator's IMAP_DISABLETHREADSORT: SORT advertised and refused; the agent lists arrival times instead.
  courier_run courier-nosort 1 '{"refused":["sort"],"paths":{"order":"listing"}}'
  /etc/init.d/courier-authdaemon stop >/dev/null
  apt-get remove -y -qq courier-imap courier-authdaemon >/dev/null
}

cyrus() {
  local port=11144
  # Cyrus keeps its mail store across a package removal: a mailbox of a new name each run starts empty.
  local USER_NAME; USER_NAME="twinboxtest$(date +%s)"
  echo "== cyrus: installing"
  apt-get update -qq
  apt-get install -y -qq cyrus-imapd cyrus-admin sasl2-bin >/dev/null || { echo "cyrus: install failed" >>"$RESULTS"; status=1; return; }
  pkill -f cyrmaster 2>/dev/null; sleep 1
  # Plain-text logins against sasldb, the IMAP service on loopback only, nothing else listening.
  sed -i -e '/^sasl_pwcheck_method:/d' -e '/^sasl_auxprop_plugin:/d' -e '/^allowplaintext:/d' -e '/^sasl_mech_list:/d' -e '/^admins:/d' /etc/imapd.conf  # Cyrus refuses a key twice
  cat >>/etc/imapd.conf <<CONF
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_mech_list: PLAIN LOGIN
allowplaintext: yes
admins: cyrus
CONF
  cat >/etc/cyrus.conf <<CONF
START {
  recover cmd="ctl_cyrusdb -r"
}
SERVICES {
  imap cmd="imapd -U 30" listen="127.0.0.1:$port" prefork=0 maxchild=20
}
EVENTS {
  checkpoint cmd="ctl_cyrusdb -c" period=30
}
CONF
  echo "$USER_PASS" | saslpasswd2 -p -c "$USER_NAME"
  echo "$USER_PASS" | saslpasswd2 -p -c cyrus
  chown cyrus:mail /etc/sasldb2 2>/dev/null || true
  # Without systemd nothing makes Cyrus's runtime directories.
  mkdir -p /run/cyrus/proc /run/cyrus/lock /run/cyrus/socket && chown -R cyrus:mail /run/cyrus
  rm -f /run/cyrus-master.pid  # a stale one (a master killed earlier) makes cyrmaster refuse to start
  local master; master=$(command -v cyrmaster || echo /usr/lib/cyrus/bin/master)
  "$master" -d
  wait_port "$port" || { echo "cyrus: did not start" >>"$RESULTS"; status=1; pkill -f cyrmaster; return; }
  # The admin creates the user's mailbox (cyradm: imapflow cannot log in as a Cyrus admin, whose personal
  # namespace is NIL); the user makes Trash and Sent, as a mail client would.
  echo "cm user.$USER_NAME" | cyradm --user cyrus -w "$USER_PASS" --port "$port" 127.0.0.1 >/dev/null
  node scripts/cyrus-mailbox.mjs 127.0.0.1 "$port" "$USER_NAME" "$USER_PASS" >/tmp/twinbox-cyrus-layout.json || { echo "cyrus: mailbox setup failed" >>"$RESULTS"; status=1; pkill -f cyrmaster; return; }
  local layout; layout=$(cat /tmp/twinbox-cyrus-layout.json)
  local prefix sep; prefix=$(node -e "console.log(JSON.parse(process.argv[1]).prefix)" "$layout"); sep=$(node -e "console.log(JSON.parse(process.argv[1]).separator)" "$layout")
  run_checks cyrus \
    "{\"name\":\"cyrus\",\"host\":\"127.0.0.1\",\"port\":$port,\"user\":\"$USER_NAME\",\"password\":\"$USER_PASS\",\"prefix\":\"$prefix\",\"separator\":\"$sep\",\"trash\":\"${prefix}Trash\",\"sent\":\"${prefix}Sent\"}" \
    "{\"detection\":\"qresync\",\"move\":\"move\",\"expunge\":\"uid-expunge\",\"uidNext\":\"select\",\"appendUid\":\"appenduid\",\"trash\":\"${prefix}Trash\",\"sent\":\"${prefix}Sent\"}" \
    '{"refused":[],"paths":{"order":"sort"}}'
  pkill -f "$(basename "$master")" || true
  sleep 1
  apt-get remove -y -qq cyrus-imapd cyrus-admin >/dev/null
}

npx tsc -b || { echo "build failed" >>"$RESULTS"; status=1; exit; }
for server in "${servers[@]}"; do
  case "$server" in
    courier) courier ;;
    cyrus) cyrus ;;
    *) echo "test-servers: unknown server $server (courier, cyrus)" >&2; status=2 ;;
  esac
done
# finish (the EXIT trap) restores Dovecot, prints the results and exits with $status.
