#!/usr/bin/env bash
# The agency mail server the official-email tests run against: a real Postfix and a real
# Dovecot on loopback, for the test domain lienthong.test (tests/src/mail/ drives them).
#
#   sudo tests/mail/setup-mail.sh            # install, configure, (re)start, wait for both ports
#   sudo tests/mail/setup-mail.sh teardown   # stop both and remove the mailboxes
#
# Postfix: its own postmulti instance (postfix-lienthong-test), SMTP on 127.0.0.1:2587,
# no auth needed from 127.0.0.0/8; STARTTLS offered, and after it SMTP AUTH (PLAIN, LOGIN)
# through Dovecot's SASL. A sender box-tls-...@lienthong.test is refused unless the client
# logged in, so a test can prove that a node logs in. Delivering only into the Maildirs /var/mail/lienthong-test/<localpart>/
# (owned by vmail) and nowhere else. Every local part beginning with `box-` is a mailbox;
# any other is an unknown user, accepted at RCPT time and then bounced as a real DSN, which
# is how the node learns of a bounce. DSN requests (RFC 3461) are honoured.
#
# Dovecot: its own instance (-c /etc/dovecot-lienthong-test/dovecot.conf), IMAP on
# 127.0.0.1:1143 (plaintext, STARTTLS offered) and IMAPS on 127.0.0.1:1993; every
# box-...@lienthong.test logs in with the password lienthong-test.
#
# TLS: a test CA made once in /etc/lienthong-test-mail/ (ca.pem, world-readable, is what a
# client trusts) and a certificate for localhost (DNS:localhost, IP:127.0.0.1) it signed,
# used by both servers. The stock Dovecot, if the package's scripts start it, is held to loopback.
#
# It leaves the bench's Postfix (simulations/email/setup-postfix.sh, ports 2525/2526) alone;
# the two run side by side, set up in either order.
set -euo pipefail

DOMAIN=lienthong.test
INSTANCE=postfix-lienthong-test
PF_CONF=/etc/$INSTANCE
MAIL_BASE=/var/mail/lienthong-test
SMTP_PORT=2587
IMAP_PORT=1143
IMAPS_PORT=1993
TLS_DIR=/etc/lienthong-test-mail
PASSWORD=lienthong-test
DC_DIR=/etc/dovecot-lienthong-test
DC_CONF=$DC_DIR/dovecot.conf
DC_RUN=/run/dovecot-lienthong-test
DC_LOG=/var/log/dovecot-lienthong-test.log
STOCK_LOOPBACK=/etc/dovecot/conf.d/99-lienthong-loopback-only.conf

if [[ $(id -u) -ne 0 ]]; then
    echo "setup-mail.sh: run as root (it installs packages and configures two services)" >&2
    exit 1
fi

stop_dovecot() {
    if [[ -f $DC_CONF ]] && [[ -f $DC_RUN/master.pid ]] && kill -0 "$(cat "$DC_RUN/master.pid")" 2>/dev/null; then
        doveadm -c "$DC_CONF" stop 2>/dev/null || dovecot -c "$DC_CONF" stop || true
        local deadline=$((SECONDS + 20))
        while [[ -f $DC_RUN/master.pid ]] && kill -0 "$(cat "$DC_RUN/master.pid")" 2>/dev/null; do
            if ((SECONDS > deadline)); then
                echo "setup-mail.sh: Dovecot (test instance) did not stop within 20 s" >&2
                exit 1
            fi
            sleep 0.2
        done
    fi
}

teardown() {
    if command -v postmulti >/dev/null && postmulti -l | grep -q "^$INSTANCE "; then
        postmulti -i "$INSTANCE" -p stop 2>/dev/null || true
        postmulti -i "$INSTANCE" -e disable 2>/dev/null || true
        postmulti -i "$INSTANCE" -e destroy 2>/dev/null || true
    fi
    stop_dovecot
    rm -rf "$MAIL_BASE"
    echo "Test Postfix and Dovecot stopped and $MAIL_BASE removed (the packages and the test CA in $TLS_DIR stay)."
}

if [[ ${1:-} == teardown ]]; then
    teardown
    exit 0
fi

# Waits until the server on 127.0.0.1:$1 greets with a line beginning with $2, at most 30 s.
wait_greeting() {
    local port=$1 expect=$2 name=$3 deadline=$((SECONDS + 30)) line=""
    while ((SECONDS <= deadline)); do
        line=$(timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && head -n1 <&3" 2>/dev/null || true)
        if [[ $line == "$expect"* ]]; then
            return 0
        fi
        sleep 0.2
    done
    echo "setup-mail.sh: $name did not answer on 127.0.0.1:$port within 30 s (last: '${line%$'\r'}')" >&2
    exit 1
}

# ---- packages and the mailbox owner
# "Local only": Debian writes a main.cf that delivers nothing off the machine.
echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
echo "postfix postfix/mailname string gui.lienthong.test" | debconf-set-selections
if ! command -v postmulti >/dev/null || ! command -v dovecot >/dev/null || [[ ! -e /usr/lib/dovecot/imap ]]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix dovecot-imapd
fi
if ! id vmail >/dev/null 2>&1; then
    useradd --system --user-group --home-dir "$MAIL_BASE" --no-create-home \
        --shell /usr/sbin/nologin vmail
fi
VMAIL_UID=$(id -u vmail)
VMAIL_GID=$(id -g vmail)
mkdir -p "$MAIL_BASE"
chown vmail:vmail "$MAIL_BASE"
chmod 0770 "$MAIL_BASE"

# ---- TLS: the test CA and the server's certificate, made once (again only when missing,
# unreadable or within 30 days of expiry)
tls_valid() {
    [[ -s $TLS_DIR/ca.pem && -s $TLS_DIR/server.pem && -s $TLS_DIR/server.key ]] &&
        openssl verify -CAfile "$TLS_DIR/ca.pem" "$TLS_DIR/server.pem" >/dev/null 2>&1 &&
        openssl x509 -in "$TLS_DIR/server.pem" -noout -checkend $((30 * 86400)) >/dev/null 2>&1
}
if ! tls_valid; then
    mkdir -p "$TLS_DIR"
    chmod 0755 "$TLS_DIR"
    work=$(mktemp -d)
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=lienthong test mail CA" -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=localhost" -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
    printf '%s\n' "basicConstraints = critical, CA:FALSE" \
        "keyUsage = critical, digitalSignature" "extendedKeyUsage = serverAuth" \
        "subjectAltName = DNS:localhost, IP:127.0.0.1" >"$work/server.ext"
    openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
        -CAcreateserial -days 3650 -extfile "$work/server.ext" -out "$work/server.pem" 2>/dev/null
    install -m 0600 -o root -g root "$work/ca.key" "$TLS_DIR/ca.key"
    install -m 0644 -o root -g root "$work/ca.pem" "$TLS_DIR/ca.pem"
    install -m 0644 -o root -g root "$work/server.pem" "$TLS_DIR/server.pem"
    install -m 0600 -o root -g root "$work/server.key" "$TLS_DIR/server.key"
    rm -rf "$work"
    tls_valid || { echo "setup-mail.sh: the test certificate in $TLS_DIR does not verify" >&2; exit 1; }
fi
# Dovecot's LDA, run by Postfix as vmail, reads the whole config, ssl_key included.
chown root:vmail "$TLS_DIR/server.key"
chmod 0640 "$TLS_DIR/server.key"

# ---- Postfix: a separate instance, so the bench's default instance keeps its own ports
if [[ $(postconf -h multi_instance_enable) != yes ]]; then
    postmulti -e init
fi
if ! postmulti -l | grep -q "^$INSTANCE "; then
    postmulti -I "$INSTANCE" -e create
fi
# Postfix's virtual(8) may not build a Maildir path from a regexp match (nor may any map
# substitute one into a result), so Postfix hands
# each box- recipient to Dovecot's LDA (which writes the Maildir IMAP reads), and every
# other local part to the error transport: accepted at RCPT time, then bounced with a DSN.
cat > "$PF_CONF/mailboxes.regexp" <<EOF
/^box-[-a-z0-9.]+@lienthong\.test\$/ OK
EOF
cat > "$PF_CONF/transport.regexp" <<EOF
/^box-[-a-z0-9.]+@lienthong\.test\$/ dovecot:
/@lienthong\.test\$/ error:5.1.1 User unknown in virtual mailbox table
EOF
# A box-tls- sender is owned by its own login: without one, MAIL FROM it is refused.
cat > "$PF_CONF/sender-logins.regexp" <<EOF
/^(box-tls-[-a-z0-9.]+@lienthong\.test)\$/ \$1
EOF
postconf -c "$PF_CONF" -e \
    "myhostname = mail.$DOMAIN" \
    "mydomain = $DOMAIN" \
    "myorigin = $DOMAIN" \
    "inet_interfaces = loopback-only" \
    "inet_protocols = ipv4" \
    "mydestination =" \
    "mynetworks = 127.0.0.0/8" \
    "default_transport = error:this test server delivers only to $DOMAIN" \
    "relay_transport = error:this test server delivers only to $DOMAIN" \
    "virtual_mailbox_domains = $DOMAIN" \
    "virtual_mailbox_maps = regexp:$PF_CONF/mailboxes.regexp" \
    "virtual_transport = dovecot" \
    "transport_maps = regexp:$PF_CONF/transport.regexp" \
    "dovecot_destination_recipient_limit = 1" \
    "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
    "smtpd_reject_unlisted_recipient = no" \
    "smtpd_discard_ehlo_keywords =" \
    "smtpd_tls_security_level = may" \
    "smtpd_tls_cert_file = $TLS_DIR/server.pem" \
    "smtpd_tls_key_file = $TLS_DIR/server.key" \
    "smtpd_tls_auth_only = yes" \
    "smtpd_tls_loglevel = 1" \
    "smtpd_sasl_auth_enable = yes" \
    "smtpd_sasl_type = dovecot" \
    "smtpd_sasl_path = private/auth" \
    "smtpd_sender_login_maps = regexp:$PF_CONF/sender-logins.regexp" \
    "smtpd_sender_restrictions = reject_unauthenticated_sender_login_mismatch" \
    "smtp_dns_support_level = disabled" \
    "maillog_file = /var/log/$INSTANCE.log" \
    "master_service_disable ="
postconf -c "$PF_CONF" -M# smtp/inet 2>/dev/null || true
postconf -c "$PF_CONF" -Me "127.0.0.1:$SMTP_PORT/inet=127.0.0.1:$SMTP_PORT inet n - n - - smtpd"
postconf -c "$PF_CONF" -Me "dovecot/unix=dovecot unix - n n - - pipe flags=DRXhu user=vmail:vmail argv=/usr/lib/dovecot/dovecot-lda -c $DC_CONF -f \${sender} -a \${original_recipient} -d \${recipient}"
postmulti -i "$INSTANCE" -e enable
postfix -c "$PF_CONF" check
# Restarted, not reloaded, so that a changed listener takes effect.
postmulti -i "$INSTANCE" -p stop 2>/dev/null || true
deadline=$((SECONDS + 20))
while postfix -c "$PF_CONF" status >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then
        echo "setup-mail.sh: Postfix ($INSTANCE) did not stop within 20 s" >&2
        exit 1
    fi
    sleep 0.2
done
postmulti -i "$INSTANCE" -p start </dev/null

# ---- Dovecot: the stock instance (if anything starts it) stays on loopback
if [[ -d /etc/dovecot/conf.d ]]; then
    cat > "$STOCK_LOOPBACK" <<EOF
# Written by lienthong's tests/mail/setup-mail.sh: nothing on this machine listens beyond loopback.
listen = 127.0.0.1
EOF
    # Restarted, not reloaded: a reload does not move a listener already bound.
    if [[ -f /run/dovecot/master.pid ]] && kill -0 "$(cat /run/dovecot/master.pid)" 2>/dev/null; then
        doveadm stop 2>/dev/null || true
        deadline=$((SECONDS + 20))
        while [[ -f /run/dovecot/master.pid ]] && kill -0 "$(cat /run/dovecot/master.pid)" 2>/dev/null; do
            if ((SECONDS > deadline)); then
                echo "setup-mail.sh: the stock Dovecot did not stop within 20 s" >&2
                exit 1
            fi
            sleep 0.2
        done
        dovecot </dev/null >/dev/null 2>&1
    fi
fi

# ---- Dovecot: the test instance, its whole config in one file
mkdir -p "$DC_DIR"
cat > "$DC_CONF" <<EOF
# lienthong's test mailbox server (tests/mail/setup-mail.sh); started with dovecot -c $DC_CONF.
instance_name = dovecot-lienthong-test
base_dir = $DC_RUN
log_path = $DC_LOG
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <$TLS_DIR/server.pem
ssl_key = <$TLS_DIR/server.key
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = $VMAIL_UID
last_valid_uid = $VMAIL_UID
mail_location = maildir:$MAIL_BASE/%n

passdb {
  driver = static
  args = password=$PASSWORD
}
userdb {
  driver = static
  args = uid=vmail gid=vmail home=$MAIL_BASE/%n
}
namespace inbox {
  inbox = yes
}
# Dovecot's LDA runs as vmail and reports to the stats process.
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
# Postfix's SMTP AUTH asks this Dovecot (smtpd_sasl_path = private/auth of its instance).
service auth {
  unix_listener $(postconf -c "$PF_CONF" -h queue_directory)/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
# Dovecot's LDA, run by Postfix as vmail, writes the same log as the daemon.
touch "$DC_LOG"
chown vmail:vmail "$DC_LOG"
chmod 0640 "$DC_LOG"
stop_dovecot
# Its standard streams go to the log: a daemon holding the caller's stdout would keep a
# pipeline such as `setup-mail.sh | tee` from ever ending.
if ! dovecot -c "$DC_CONF" </dev/null >>"$DC_LOG" 2>&1; then
    tail -n 20 "$DC_LOG" >&2
    echo "setup-mail.sh: Dovecot (test instance) did not start; its log is $DC_LOG" >&2
    exit 1
fi

wait_greeting "$SMTP_PORT" "220 " "Postfix ($INSTANCE)"
wait_greeting "$IMAP_PORT" "* OK" "Dovecot (test instance)"
# IMAPS, with the test CA verifying the certificate as a client will.
greeting=$(printf 'a LOGOUT\r\n' | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$IMAPS_PORT" \
    -verify_return_error -CAfile "$TLS_DIR/ca.pem" -verify_ip 127.0.0.1 2>/dev/null || true)
if [[ $greeting != "* OK"* ]]; then
    echo "setup-mail.sh: Dovecot (test instance) did not greet over TLS on 127.0.0.1:$IMAPS_PORT" >&2
    exit 1
fi
# Nothing of either may listen beyond loopback (a stock Dovecot on *:143 included).
if command -v ss >/dev/null; then
    exposed=$(ss -ltnH | awk '{print $4}' | grep -E ':(143|993|110|995|25|465|587|2587|1143|1993)$' \
        | grep -vE '^(127\.[0-9.]+|\[::1\]|\[::ffff:127\.[0-9.]+\]):' || true)
    if [[ -n $exposed ]]; then
        echo "setup-mail.sh: a mail port listens beyond loopback: $exposed" >&2
        exit 1
    fi
fi
echo "Mail for $DOMAIN: SMTP 127.0.0.1:$SMTP_PORT (Postfix $INSTANCE, STARTTLS, AUTH after it), IMAP 127.0.0.1:$IMAP_PORT and IMAPS 127.0.0.1:$IMAPS_PORT (Dovecot, password $PASSWORD), CA $TLS_DIR/ca.pem, mailboxes box-*@$DOMAIN in $MAIL_BASE"
