#!/bin/sh
# /init of the partition's initramfs (busybox). Prints one marker line with
# what the partition sees (the nonce it was given on its command line, its
# CPU count and memory), then a heartbeat every second, forever.
# Lines go to the kernel log (/dev/kmsg), which the kernel prints on the
# partition's console (console=ttyS1 for os2), and to /dev/console (the tty).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { echo "$*" > /dev/kmsg; echo "tty: $*"; }
nonce=$(sed -n 's/.*mint\.nonce=\([^ ]*\).*/\1/p' /proc/cmdline)
memtotal=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)
say "MINT-PARTITION-UP nonce=$nonce cpus=$(nproc) memtotal_kb=$memtotal online=$(cat /sys/devices/system/cpu/online)"
# Test hooks: `mint.action=poweroff` powers the partition off after the marker.
case " $(cat /proc/cmdline) " in
    *" mint.action=poweroff "*) say "powering off"; poweroff -f ;;
esac
[ -x /workload.sh ] && /workload.sh
i=0
while true; do
    i=$((i + 1))
    say "heartbeat $i uptime $(cut -d' ' -f1 /proc/uptime)"
    sleep 1
done
