#!/bin/bash
# PID 1 of one sandbox host, run by `unshare --mount --pid --uts --fork --mount-proc`.
# Env: SANDBOX_BASE, SANDBOX_HOST_DIR, SANDBOX_NAME, SANDBOX_ADDR, SANDBOX_BARE, SANDBOX_SETUP,
# SANDBOX_ROOT (a Debian release's system, in place of this machine's; else empty).
set -euo pipefail
d=$SANDBOX_HOST_DIR
addr=$SANDBOX_ADDR
hostname "$SANDBOX_NAME"

for top in etc usr var root; do
  mkdir -p "$d/upper/$top" "$d/work/$top"
  mount -t overlay "sandbox-$top" -o "lowerdir=$SANDBOX_ROOT/$top,upperdir=$d/upper/$top,workdir=$d/work/$top" "/$top"
done
for top in srv home tmp var/log; do
  mkdir -p "$d/$top" "/$top"
  mount --bind "$d/$top" "/$top"
done
chmod 1777 /tmp
mount -t tmpfs -o mode=755 sandbox-run /run
rm -f /usr/bin/systemctl /bin/systemctl
echo "$addr $SANDBOX_NAME" >> /etc/hosts

# sshd: own host key, own address
rm -f /etc/ssh/ssh_host_*
ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
cp /etc/ssh/ssh_host_ed25519_key.pub "$d/hostkey.pub"
cat > /etc/ssh/sshd_config.d/00-sandbox.conf <<CONF
ListenAddress $addr:22
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
UsePAM no
MaxStartups 100:30:200
CONF
install -d -m 700 /root/.ssh
install -m 600 "$SANDBOX_BASE/id_ed25519.pub" /root/.ssh/authorized_keys

# nginx: answers on this host's address only
rm -f /etc/nginx/sites-enabled/*
mkdir -p /var/log/nginx
cat > /etc/nginx/sites-enabled/sandbox <<CONF
server {
    listen $addr:80;
    server_name $SANDBOX_NAME.sandbox.invalid;
    location = /__sandbox { return 200 "$SANDBOX_NAME\n"; }
    location / { return 404; }
}
CONF

# the machine's other Pythons (NAME=PATH, host_pythons()) as the host's own; /root is made
# traversable on this host only
if [ -n "$SANDBOX_PYTHONS" ]; then
  chmod 711 /root
  for python in $SANDBOX_PYTHONS; do
    ln -sf "${python#*=}" "/usr/local/bin/${python%%=*}"
  done
fi

mkdir -p /var/log/supervisor
if [ "$SANDBOX_BARE" != 1 ]; then
  useradd --create-home --shell /bin/bash --password "*" deploy
  usermod -aG deploy www-data
  install -d -m 700 -o deploy -g deploy /home/deploy/.ssh
  install -m 600 -o deploy -g deploy "$SANDBOX_BASE/id_ed25519.pub" /home/deploy/.ssh/authorized_keys
  # bootstrap's files: sudo rules, supervisord's config, the app's site and programs includes
  sh -c "$SANDBOX_SETUP"
  visudo -cq
  supervisord -c /etc/supervisor/supervisord.conf
fi

mkdir -p /run/sshd
/usr/sbin/sshd
nginx
touch "$d/ready"
# hide every host's state (and this one's upper dirs) from the host itself
mount -t tmpfs -o size=1m,mode=700 sandbox-hidden "$SANDBOX_BASE"

trap 'kill -TERM -1 2>/dev/null; exit 0' TERM INT
while true; do sleep 3600 & wait $! || true; done
