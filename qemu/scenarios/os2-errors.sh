#!/bin/sh
# Every wrong move on the os2 path: each must fail with a clear error and
# change nothing. For each case: `@@ case NAME <error text>`, then the state
# that must not have changed.
. /scenarios/lib.sh
P=$M/os2
snapshot() {
    echo "@@ snap $1 state=$(cat $P/state 2>/dev/null) cpus=$(cat $P/cpus 2>/dev/null) memory=$(cat $P/memory 2>/dev/null) online=$(cat /sys/devices/system/cpu/online) iomem=$(grep -c ': os2' /proc/iomem)"
}
insmod /mint.ko
try bad-name sh -c "echo foo > $M/create"
echo os2 > $M/create
try existing-name sh -c "echo os2 > $M/create"
snapshot initial
try cpu0 sh -c "echo 0 > $P/cpus"
try no-such-cpu sh -c "echo 7 > $P/cpus"
try bad-cpulist sh -c "echo 1-x > $P/cpus"
try host-ram sh -c "echo 16M@0x1000000 > $P/memory"
try bad-size sh -c "echo 16Q@0x20000000 > $P/memory"
try cpus-empty sh -c "echo > $P/cpus"
try cpus-negative sh -c "echo -1 > $P/cpus"
try cpus-overflow sh -c "echo 99999999999999999999 > $P/cpus"
try cpus-junk sh -c "echo 1abc > $P/cpus"
try mem-empty sh -c "echo > $P/memory"
try mem-negative sh -c "echo -16M@0x20000000 > $P/memory"
try mem-overflow sh -c "echo 99999999999G@0x20000000 > $P/memory"
try mem-junk sh -c "echo 256M@0x20000000xyz > $P/memory"
try mem-wrap sh -c "echo 16M@0xffffffffff000000 > $P/memory"
try mem-granule sh -c "echo 3M > $P/memory"
try mem-too-many sh -c "echo 2M,2M,2M,2M,2M,2M,2M,2M,2M > $P/memory"
try mem-items-overlap sh -c "echo 256M@0x20000000,2M,16M@0x2ff00000 > $P/memory"
snapshot after-resources
echo 1 > $P/cpus
echo 256M@0x20000000 > $P/memory
snapshot assigned
try start-before-load sh -c "echo start > $P/state"
snapshot after-start
head -c 100000 /boot/bzImage > /tmp/truncated
try not-bzimage mint-kexec load os2 /mint.ko
try truncated mint-kexec load os2 /tmp/truncated
try too-small mint-kexec load os2 /boot/bzImage --initrd=/os2-initramfs.cpio.gz --mem=8M@0x20000000
try no-partition mint-kexec load os9 /boot/bzImage
try cmdline-too-long mint-kexec load os2 /boot/bzImage --append="$(head -c 3000 /dev/zero | tr '\0' x)"
try unknown-state sh -c "echo start > $M/os9/state"
try unknown-destroy sh -c "echo os9 > $M/destroy"
try bad-destroy sh -c "echo foo > $M/destroy"
try bad-command sh -c "echo jump > $P/state"
try stop-when-not-running sh -c "echo stop > $P/state"
snapshot after-load-errors
dmesg_section
