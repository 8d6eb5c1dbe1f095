#!/bin/bash
# PID 1 of a lab host, run as:
#   ip netns exec NETNS unshare --mount --uts --pid --fork --kill-child hostinit.sh
# Builds the host's private root (one overlay per top-level dir over the machine's
# own, upper layers on disk in $EGOV_HOST_DIR), pivots into it and execs sshd.
# Inputs (environment): EGOV_HOST_ID, EGOV_HOST_DIR, EGOV_OVERLAY_DIRS, EGOV_MASK, EGOV_CAPS.
# Host safety (no user namespace: a host's root is the machine's root, so what reaches kernel state
# outside the namespaces is taken away as a container runtime would): /proc/sys read-only except
# /proc/sys/net (per network namespace), the other machine-wide /proc files read-only or masked, and
# PID 1 (everything the host ever runs) execs with the bounding set EGOV_CAPS (setpriv syntax).
set -euo pipefail
: "${EGOV_HOST_ID:?}" "${EGOV_HOST_DIR:?}" "${EGOV_CAPS:?}"
DIRS=${EGOV_OVERLAY_DIRS:-"etc usr var root home opt srv"}
H=$EGOV_HOST_DIR
R=$H/rootfs

mount --make-rprivate /
mkdir -p "$R"
mount -t tmpfs -o mode=0755,size=16m egov-root "$R"
for d in $DIRS; do
  [ -d "/$d" ] || continue
  mkdir -p "$H/upper/$d" "$H/work/$d" "$R/$d"
  mount -t overlay "egov-$d" -o "lowerdir=/$d,upperdir=$H/upper/$d,workdir=$H/work/$d" "$R/$d"
done
# the rest of / as the machine has it: merged-usr symlinks, or read-only binds
for e in /*; do
  n=${e#/}
  [ -e "$R/$n" ] || [ -L "$R/$n" ] && continue
  case $n in proc|sys|dev|run|tmp|lost+found|mnt|media|boot) continue ;; esac
  if [ -L "$e" ]; then ln -s "$(readlink "$e")" "$R/$n"; fi
done
mkdir -p "$R/proc" "$R/sys" "$R/dev" "$R/run" "$R/tmp" "$R/mnt"
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
ro_bind() { mount --bind "$1" "$1" && mount -o "remount,bind,$2,nosuid,nodev,noexec" "$1"; }
ro_bind "$R/proc/sys" ro
ro_bind "$R/proc/sys/net" rw
for p in sysrq-trigger irq bus fs; do [ -e "$R/proc/$p" ] && ro_bind "$R/proc/$p" ro; done
for p in kcore keys timer_list sched_debug latency_stats kallsyms; do
  [ -f "$R/proc/$p" ] && mount --bind /dev/null "$R/proc/$p"
done
for p in acpi scsi asound; do
  [ -d "$R/proc/$p" ] && mount -t tmpfs -o ro,size=4k,mode=0555 egov-mask "$R/proc/$p"
done
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
[ -d "$R/sys/firmware" ] && mount -t tmpfs -o ro,size=4k,mode=0555 egov-mask "$R/sys/firmware"
mount -t tmpfs -o mode=0755,size=64k,nosuid egov-dev "$R/dev"
for n in null zero full random urandom tty; do
  touch "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"
done
mkdir -p "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
ln -s /proc/self/fd "$R/dev/fd"; ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"
mount -t tmpfs -o mode=1777,nosuid,nodev egov-shm "$R/dev/shm"
mount -t tmpfs -o mode=0755,nosuid,nodev,size=64m egov-run "$R/run"
mkdir -p "$H/tmp" && chmod 1777 "$H/tmp" && mount --bind "$H/tmp" "$R/tmp"
# hide egov's own state (lab disks, keys) from the host, wherever it sits under an overlaid dir
for m in ${EGOV_MASK:-}; do
  [ -d "$R$m" ] && mount -t tmpfs -o ro,size=4k,mode=0755 egov-mask "$R$m"
done
mkdir -p "$R/run/sshd" && chmod 0755 "$R/run/sshd"
hostname "$EGOV_HOST_ID"

cd "$R"
mkdir -p .oldroot
pivot_root . .oldroot
cd /
umount -l /.oldroot
rmdir /.oldroot 2>/dev/null || true
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
echo "egov-lab: $EGOV_HOST_ID booted at $(date -u +%FT%TZ)"
# the lab's stand-in for an init system: services installed by the playbooks start at boot
# (in the background, in name order); sshd becomes PID 1 and reaps them when they exit.
# Both run with the host's bounding set: nothing the host starts can regain a dropped capability.
# shellcheck disable=SC2016
exec setpriv --bounding-set "$EGOV_CAPS" -- /bin/sh -c '
if [ -d /etc/egov/boot.d ]; then
  ( for s in /etc/egov/boot.d/*.sh; do [ -x "$s" ] && { echo "egov-lab: boot $s"; "$s" || echo "egov-lab: $s failed ($?)"; }; done ) </dev/null &
fi
exec /usr/sbin/sshd -D -e'
