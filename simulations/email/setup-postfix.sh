#!/usr/bin/env bash
# Two Postfix instances on loopback for `lienthong-sim bench`'s email figures: documents
# mailed as attachments, as agencies do today without the axis.
#
#   sudo simulations/email/setup-postfix.sh            # install Debian's postfix and configure
#   sudo simulations/email/setup-postfix.sh teardown   # stop both and remove the second one
#
# The sending instance (the default one) listens on 127.0.0.1:2525 and relays mail for
# nhan.lienthong.test, and only that domain, to [127.0.0.1]:2526; everything else bounces
# (default_transport = error). The receiving instance (postfix-nhan) listens on
# 127.0.0.1:2526 and delivers every message for that domain into the Maildir
# /var/mail/lienthong-bench/nhan/. Neither listens beyond loopback nor sends anywhere else.
set -euo pipefail

DOMAIN=nhan.lienthong.test
INSTANCE=postfix-nhan
MAIL_BASE=/var/mail/lienthong-bench
SEND_PORT=2525
RECV_PORT=2526

if [[ $(id -u) -ne 0 ]]; then
    echo "setup-postfix.sh: run as root (it installs a package and configures a service)" >&2
    exit 1
fi

teardown() {
    if command -v postmulti >/dev/null; then
        postmulti -i "$INSTANCE" -p stop 2>/dev/null || true
        postmulti -i "$INSTANCE" -e disable 2>/dev/null || true
        postmulti -i "$INSTANCE" -e destroy 2>/dev/null || true
        # The default instance only: other instances (tests/mail/setup-mail.sh's) keep running.
        postmulti -i - -p stop 2>/dev/null || true
    fi
    rm -rf "$MAIL_BASE"
    echo "Postfix stopped and the receiving instance removed (the package stays installed)."
}

if [[ ${1:-} == teardown ]]; then
    teardown
    exit 0
fi

# "Local only": Debian writes a main.cf that delivers nothing off the machine.
echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
echo "postfix postfix/mailname string gui.lienthong.test" | debconf-set-selections
if ! command -v postmulti >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix
fi

# The sending instance.
postconf -e \
    "inet_interfaces = loopback-only" \
    "inet_protocols = ipv4" \
    "mydestination =" \
    "mynetworks = 127.0.0.0/8" \
    "default_transport = error:this test server sends nowhere but $DOMAIN" \
    "relay_transport = error:this test server sends nowhere but $DOMAIN" \
    "transport_maps = texthash:/etc/postfix/lienthong-transport" \
    "smtp_host_lookup = native" \
    "smtp_dns_support_level = disabled" \
    "multi_instance_enable = yes" \
    "multi_instance_wrapper = \${command_directory}/postmulti -p --"
echo "$DOMAIN smtp:[127.0.0.1]:$RECV_PORT" > /etc/postfix/lienthong-transport
postconf -M# smtp/inet
postconf -Me "127.0.0.1:$SEND_PORT/inet=127.0.0.1:$SEND_PORT inet n - n - - smtpd"

# The receiving instance.
if ! postmulti -l | grep -q "^$INSTANCE "; then
    postmulti -e init
    postmulti -I "$INSTANCE" -e create
fi
CONF=/etc/$INSTANCE
postconf -c "$CONF" -e \
    "inet_interfaces = loopback-only" \
    "inet_protocols = ipv4" \
    "mydestination =" \
    "mynetworks = 127.0.0.0/8" \
    "default_transport = error:this test server delivers only to $DOMAIN" \
    "relay_transport = error:this test server delivers only to $DOMAIN" \
    "virtual_mailbox_domains = $DOMAIN" \
    "virtual_mailbox_base = $MAIL_BASE" \
    "virtual_mailbox_maps = static:nhan/" \
    "virtual_uid_maps = static:65534" \
    "virtual_gid_maps = static:65534" \
    "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
    "master_service_disable ="
postconf -c "$CONF" -M# smtp/inet
postconf -c "$CONF" -Me "127.0.0.1:$RECV_PORT/inet=127.0.0.1:$RECV_PORT inet n - n - - smtpd"

mkdir -p "$MAIL_BASE/nhan/new" "$MAIL_BASE/nhan/cur" "$MAIL_BASE/nhan/tmp"
chown -R 65534:65534 "$MAIL_BASE"

postmulti -i "$INSTANCE" -e enable
postfix check
postfix start 2>/dev/null || postfix reload
postmulti -i "$INSTANCE" -p start 2>/dev/null || postmulti -i "$INSTANCE" -p reload
echo "Postfix: sending on 127.0.0.1:$SEND_PORT, receiving on 127.0.0.1:$RECV_PORT into $MAIL_BASE/nhan/"
