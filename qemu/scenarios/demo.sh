#!/bin/sh
# The demo: two independent Linux partitions next to the running host, from
# the host's own bzImage. os2 has a serial port of its own (ttyS1); os3 has
# none: the host reads its console from memory, sees it crash, restarts it.
say() { echo; echo "### $*"; }
run() { echo "# $*"; "$@"; }
M=/sys/kernel/mint
# until SECONDS CMD...: retry CMD (quietly) every 0.2 s for at most SECONDS.
until_ok() {
    n=0
    t=$1; shift
    while ! "$@" > /dev/null 2>&1 && [ "$n" -lt $((t * 5)) ]; do sleep 0.2; n=$((n + 1)); done
}
say "The host: $(nproc) CPUs online ($(cat /sys/devices/system/cpu/online)), kernel $(uname -r)"
run grep -i reserved /proc/iomem
say "Load mint; create os2 (CPU 1, window at 512 MiB) and os3 (CPU 2, window at 768 MiB)"
run insmod /mint.ko
run sh -c "echo os2 > $M/create; echo 1 > $M/os2/cpus; echo 256M@0x20000000 > $M/os2/memory"
run sh -c "echo os3 > $M/create; echo 2 > $M/os3/cpus; echo 256M@0x30000000 > $M/os3/memory"
run cat /sys/devices/system/cpu/online
say "Load the host's own bzImage into both, as kexec would; os3 gets no serial port (--no-uart)"
run mint-kexec load os2 /boot/bzImage --initrd=/os2-initramfs.cpio.gz --append="mint.nonce=demo-os2"
echo "(os3's init is told to panic after 8 heartbeats: mint.panic_after=8)"
run mint-kexec load os3 /boot/bzImage --initrd=/os2-initramfs.cpio.gz --no-uart --append="mint.nonce=demo-os3 mint.panic_after=8"
say "Start both"
run sh -c "echo start > $M/os2/state; echo start > $M/os3/state"
until_ok 30 grep -q "heartbeat 2 " $M/os3/console
run mint-kexec status
say "os3 has no serial port: the host reads its console out of os3's memory (pstore/ramoops)"
run sh -c "mint-kexec console os3 | grep -e 'Linux version' -e 'Command line' -e 'MINT-PARTITION-UP' -e heartbeat | cut -c1-150"
say "The host keeps working meanwhile"
for i in 1 2 3; do echo "host: uptime $(cut -d' ' -f1 /proc/uptime), online CPUs $(cat /sys/devices/system/cpu/online)"; sleep 1; done
say "os3 panics: the host sees its crash record and stops its CPU"
until_ok 30 grep -qx crashed $M/os3/state
run cat $M/partitions
run sh -c "dmesg | grep 'mint: os3: crashed'"
run sh -c "mint-kexec console os3 --crash | grep -e 'Panic#' -e 'Kernel panic' -e 'sysrq' | cut -c1-150"
say "os2 did not notice"
run cat $M/os2/state
say "Restart os3 (a fresh boot; its old console is gone)"
run mint-kexec load os3 /boot/bzImage --initrd=/os2-initramfs.cpio.gz --no-uart --append="mint.nonce=demo-os3-again"
run sh -c "echo start > $M/os3/state"
until_ok 30 grep -q "heartbeat 1 " $M/os3/console
run sh -c "mint-kexec console os3 | grep MINT-PARTITION-UP | cut -c1-150"
run mint-kexec status --json
say "Stop both, give everything back"
run sh -c "echo stop > $M/os2/state; echo stop > $M/os3/state; echo os2 > $M/destroy; echo os3 > $M/destroy"
run rmmod mint
run cat /sys/devices/system/cpu/online
say "The demo ends here (the host powers off, which ends QEMU)"
