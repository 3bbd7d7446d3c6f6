#!/usr/bin/env bash
# Builds the Debian package from the binary already built, installs it on this machine,
# checks what it installed, runs the installed node as its own user, and purges it again.
# CI runs it as root on a clean machine (.ci/run); it changes the system it runs on.
#
#   deploy/debian/check-package.sh [PROFILE]   # PROFILE: dev (default, CI's build) or release
set -euo pipefail
cd "$(dirname "$0")/../.."
profile="${1:-dev}"
[ "$(id -u)" -eq 0 ] || { echo "error: installing a package needs root" >&2; exit 1; }
command -v cargo-deb >/dev/null || { echo "error: cargo-deb is missing: cargo install cargo-deb" >&2; exit 1; }

fail() { echo "package check failed: $*" >&2; exit 1; }
data=/var/lib/lienthong
node_pid=""
cleanup() {
    [ -z "$node_pid" ] || kill "$node_pid" 2>/dev/null || true
}
trap cleanup EXIT

if dpkg -s lienthong >/dev/null 2>&1; then
    fail "a lienthong package is installed already; this check installs and purges its own"
fi
[ ! -e "$data" ] || fail "$data exists already; this check needs a machine without a node"

echo "== building the package ($profile profile)"
cargo deb -p lienthong-node --no-build --profile "$profile" --output target/debian/lienthong-check.deb
dpkg-deb --info target/debian/lienthong-check.deb | sed -n '1,20p'

echo "== installing it"
dpkg -i target/debian/lienthong-check.deb | tee /tmp/lienthong-postinst.txt
grep -q "lienthong init --data-dir /var/lib/lienthong" /tmp/lienthong-postinst.txt \
    || fail "the post-install message does not give the next commands"

echo "== what it installed"
[ -x /usr/bin/lienthong ] || fail "/usr/bin/lienthong is missing"
[ -f /lib/systemd/system/lienthong.service ] || fail "the systemd unit is missing"
[ -f /usr/share/doc/lienthong/operations.md ] || fail "the operations guide is missing"
getent passwd lienthong >/dev/null || fail "the lienthong user is missing"
[ "$(stat -c '%U %a' "$data")" = "lienthong 700" ] || fail "$data is not lienthong's, mode 700: $(stat -c '%U %a' "$data")"
[ "$(readlink /etc/lienthong/config.toml)" = "$data/config.toml" ] || fail "/etc/lienthong/config.toml does not lead to the node's config"
systemctl is-enabled lienthong >/dev/null 2>&1 && fail "the unit is enabled before the node is initialised"
systemd-analyze verify /lib/systemd/system/lienthong.service || fail "systemd does not accept the unit"

echo "== the installed node, run as its user"
runuser -u lienthong -- /usr/bin/lienthong init --data-dir "$data" --organ-id 000.00.01.H99 \
    --name "Sở thử gói cài đặt" --api 127.0.0.1:0 --listen /ip4/127.0.0.1/tcp/0 --no-mdns
grep -q 'organ_id = "000.00.01.H99"' /etc/lienthong/config.toml || fail "/etc/lienthong/config.toml does not show the node's config"
runuser -u lienthong -- env RUST_LOG=warn /usr/bin/lienthong run --data-dir "$data" &
node_pid=$!
for _ in $(seq 1 100); do
    [ -f "$data/daemon.json" ] && break
    kill -0 "$node_pid" 2>/dev/null || fail "the installed node exited"
    sleep 0.1
done
[ -f "$data/daemon.json" ] || fail "the installed node did not become ready in 10 s"
api=$(sed -n 's/.*"api_addr": *"\([^"]*\)".*/\1/p' "$data/daemon.json")
health=$(python3 -c "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())" "http://$api/health")
echo "$health"
echo "$health" | grep -q '"organ_id":"000.00.01.H99"' || fail "the installed node's /health does not answer for it"
[ "$(stat -c %U "$data/store")" = "lienthong" ] || fail "the store is not lienthong's"
kill -TERM "$node_pid"
wait "$node_pid" || true
node_pid=""

echo "== purging it"
dpkg --purge lienthong 2>&1 | tee /tmp/lienthong-purge.txt
grep -q "kept" /tmp/lienthong-purge.txt || fail "the purge does not say the node's data was kept"
[ -d "$data" ] || fail "the purge removed the node's data"
getent passwd lienthong >/dev/null || fail "the purge removed the user of data left behind"
[ ! -e /usr/bin/lienthong ] || fail "/usr/bin/lienthong is left behind"
[ ! -e /lib/systemd/system/lienthong.service ] || fail "the unit is left behind"
[ ! -e /etc/lienthong ] || fail "/etc/lienthong is left behind"
# Once the data is gone (an operator who no longer needs it), a purge takes the user too.
rm -rf "$data"
dpkg -i target/debian/lienthong-check.deb >/dev/null
dpkg --purge lienthong >/dev/null
getent passwd lienthong >/dev/null && fail "the purge left the user of an empty data directory"
[ ! -e "$data" ] || fail "the purge left an empty data directory"
echo "== the package installs, runs and goes again cleanly"
