#!/bin/sh
# The demo: start a second, independent Linux (os2) on CPU 1 of this running
# host, from the host's own bzImage, and show both sides.
say() { echo; echo "### $*"; }
run() { echo "# $*"; "$@"; }
M=/sys/kernel/mint
say "The host: $(nproc) CPUs online ($(cat /sys/devices/system/cpu/online)), kernel $(uname -r)"
run grep -i reserved /proc/iomem
say "Load mint and create partition os2"
run insmod /mint.ko
run sh -c "echo os2 > $M/create"
say "Give os2 CPU 1 (the host takes it offline) and the reserved 256 MiB window"
run sh -c "echo 1 > $M/os2/cpus"
run sh -c "echo 256M@0x20000000 > $M/os2/memory"
run cat /sys/devices/system/cpu/online
run grep os2 /proc/iomem
say "Load the host's own bzImage into os2, as kexec would"
run mint-kexec load os2 /boot/bzImage --initrd=/os2-initramfs.cpio.gz --append="mint.nonce=demo"
say "Start it"
run sh -c "echo start > $M/os2/state"
run mint-kexec status os2
say "The host keeps working while os2 boots and runs (its console is ttyS1)"
run sh -c 'echo 1 > /sys/devices/system/cpu/cpu1/online'
for i in 1 2 3 4; do echo "host: uptime $(cut -d' ' -f1 /proc/uptime), online CPUs $(cat /sys/devices/system/cpu/online)"; sleep 1; done
say "The demo ends here (the host reboots, which ends QEMU)"
