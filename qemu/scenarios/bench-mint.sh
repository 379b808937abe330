#!/bin/sh
# Boot-time and throughput benchmark, mint side. Runs N partition starts of
# the same loaded image (mint.runs=N), then the throughput comparisons.
. /scenarios/lib.sh
runs=$(sed -n 's/.*mint\.runs=\([0-9]*\).*/\1/p' /proc/cmdline)
host_work() { # host_work TAG: os2-init.sh's `work` on host CPU 0, timed with the TSC
    for r in 1 2 3 4 5; do
        t0=$(tsc)
        taskset -c 0 awk 'BEGIN { for (i = 0; i < 400000; i++) s += i % 7; print s }' > /dev/null
        t1=$(tsc)
        echo "@@ host-work $1 $((t1 - t0))"
    done
}
insmod /mint.ko
echo "@@ tsc-khz $(cat $M/tsc_khz)"
host_work alone
partition os2 1 256M@0x20000000
# Alternate the two ways of loading (defaults: bzImage 32-bit entry; and
# host-side decompression of kernel and initrd, 64-bit entry) so that both
# see the same machine state.
start_once() { echo start > $M/os2/state; sleep 4; echo stop > $M/os2/state; }
i=1
while [ "$i" -le "${runs:=5}" ]; do
    load os2 "$NONCE"
    start_once
    mint-kexec load os2 /boot/bzImage --initrd=/os2-initramfs.cpio.gz \
        --append="mint.nonce=$NONCE-d64" --decompress --decompress-initrd > /dev/null
    start_once
    i=$((i + 1))
done
load os2 "$NONCE"
# Throughput: host with os2 idle (heartbeat only), os2 doing the work, host with os2 busy.
echo start > $M/os2/state; sleep 4
host_work os2-idle
echo stop > $M/os2/state
load os2 "$NONCE-bench" "mint.action=bench"
echo start > $M/os2/state; sleep 20
echo stop > $M/os2/state
load os2 "$NONCE-spin" "mint.action=spin"
echo start > $M/os2/state; sleep 4
host_work os2-busy
echo stop > $M/os2/state
echo "@@ dmesg-begin"
dmesg | grep "mint: os2: start tsc"
echo "@@ dmesg-end"
