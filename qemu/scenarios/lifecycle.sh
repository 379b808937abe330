#!/bin/sh
# Two partitions at once (os2 on CPU 1, os3 on CPU 2), every lifecycle step,
# wrong moves while they run, and a host left exactly as before insmod.
. /scenarios/lib.sh
host_snapshot before
insmod /mint.ko
partition os2 1 256M@0x20000000
echo os3 > $M/create
try os3-cpu-owned sh -c "echo 1 > $M/os3/cpus"
try os3-overlap sh -c "echo 128M@0x28000000 > $M/os3/memory"
echo 2 > $M/os3/cpus
echo 128M@0x30000000 > $M/os3/memory
load os2 "$NONCE-os2"
# os3 takes the other entry path: kernel decompressed by mint-kexec, 64-bit
# protocol, and its initrd inflated by mint-kexec too.
mint-kexec load os3 /boot/bzImage --initrd=/os2-initramfs.cpio.gz \
    --append="mint.nonce=$NONCE-os3" --decompress --decompress-initrd > /tmp/os3-load
echo "@@ os3-entry $(sed -n 's/^  entry *//p' /tmp/os3-load)"
echo "@@ os3-initrd $(sed -n 's/^  initrd *//p' /tmp/os3-load)"
echo start > $M/os2/state
echo start > $M/os3/state
echo "@@ states $(state os2) $(state os3)"
echo "@@ partitions $(cat $M/partitions | tr '\n' ',')"
try start-running sh -c "echo start > $M/os2/state"
try cpus-running sh -c "echo 1 > $M/os2/cpus"
try memory-running sh -c "echo 256M@0x20000000 > $M/os2/memory"
try destroy-running sh -c "echo os2 > $M/destroy"
try load-running load os2 "$NONCE-again"
try rmmod-running rmmod mint
sleep 3
echo "@@ os3-ops-begin"
# window_bytes TAG: read the first 16 MiB of os3's window (zero page, tables,
# kernel) through /dev/mem (allowed: the window is not RAM); report how much
# was read and how many bytes are not zero.
window_bytes() {
    dd if=/dev/mem of=/tmp/window bs=1M skip=$((0x30000000 >> 20)) count=16 2>/dev/null
    echo "@@ os3-window-$1 $(wc -c < /tmp/window) nonzero=$(tr -d '\000' < /tmp/window | wc -c)"
    rm -f /tmp/window
}
window_bytes running
echo stop > $M/os3/state
echo "@@ os3-after-stop $(state os3)"
# The window was scrubbed at stop: nothing of the run is left.
window_bytes stopped
try stop-stopped sh -c "echo stop > $M/os3/state"
echo start > $M/os3/state
echo "@@ os3-after-restart $(state os3)"
# Its second boot's marker, rather than a fixed wait (a loaded debug-kernel
# run once destroyed os3 after 3 s, between /init and the marker).
wait_up os3 "$NONCE-os3" 60
echo stop > $M/os3/state
echo os3 > $M/destroy
echo "@@ os3-destroy-rc $?"
echo "@@ os3-ops-end"
echo "@@ online-after-os3 $(cat /sys/devices/system/cpu/online)"
echo "@@ pinned-cpu $(taskset -c 2 sh -c 'cut -d" " -f39 /proc/self/stat')"
# Host CPUs mint does not own are none of its business: plain offline/online.
echo 0 > /sys/devices/system/cpu/cpu2/online && echo 1 > /sys/devices/system/cpu/cpu2/online
echo "@@ host-cpu-hotplug-rc $?"
echo "@@ os3-iomem $(grep -c ': os3' /proc/iomem)"
echo "@@ partitions-after-os3 $(cat $M/partitions | tr '\n' ',')"
sleep 1
echo stop > $M/os2/state
echo os2 > $M/destroy
unload_and_report
