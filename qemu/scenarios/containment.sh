#!/bin/sh
# Containment: multi-CPU partitions that panic (sysrq-c, on their second CPU,
# on three CPUs), reboot (-f, through init, sysrq-b) and power off or halt,
# with and without the agent (mint.ko loaded inside the partition). After
# each, the host must be healthy and the partition startable again; the
# host's state file says how the partition ended. Then the module's own
# lifetime: concurrent loads, a re-written CPU list, rmmod with partitions
# left created.
. /scenarios/lib.sh
insmod /mint.ko
echo "@@ online-before $(cat /sys/devices/system/cpu/online)"

# ended TAG ACTION [WAIT]: boot os2 with mint.action=ACTION (and the agent
# when TAG ends in -agent), wait for the host to see it end, report the state
# the host shows, check the host, then make sure it can be stopped (a
# partition the host could not see end) and started again.
ended() {
    agent=""
    case $1 in *-agent) agent="mint.agent=1" ;; esac
    load os2 "$NONCE-$1" "mint.action=$2 $agent"
    echo start > $M/os2/state
    echo "@@ $1-state $(wait_ended os2 ${3:-25})"
    host_sleep2 "$1-sleep2"
    echo "@@ $1-online $(cat /sys/devices/system/cpu/online)"
    if [ "$(state os2)" = running ]; then echo stop > $M/os2/state; fi
    echo "@@ $1-after $(state os2)"
}

partition os2 1-2 256M@0x20000000
# Re-writing the same CPU list changes nothing: CPU 1 is not booted back
# into the host (the host logs every CPU it brings up).
b0=$(dmesg | grep -c 'Booting Node 0 Processor 1 ')
echo 1-2 > $M/os2/cpus
echo "@@ rewrite-cpus-rc $? $(cat $M/os2/cpus) boots=$(( $(dmesg | grep -c 'Booting Node 0 Processor 1 ') - b0 ))"

# Two CPUs, no agent: a panic shows as `crashed` (the partition's own
# ramoops crash record), a halt cannot be seen (the state stays running), and
# the host must survive both; a poweroff goes through ACPI S5 to the status
# page. (A reboot without the agent is a race against the kernel's
# 15 ms fallback to the keyboard controller: not run here, see the README.)
ended panic2 panic
ended panic2-cpu1 panic-cpu1
ended halt2 halt 6
ended poweroff2 poweroff
# With the agent: every way of ending is reported.
ended panic2-agent panic
ended reboot2-agent reboot
ended reboot-init2-agent reboot-init
ended sysrq-b2-agent sysrq-b
ended halt2-agent halt
ended poweroff-init2-agent poweroff-init

# Three CPUs: the host keeps only CPU 0.
echo 1-3 > $M/os2/cpus
ended panic3 panic
ended panic3-cpu1-agent panic-cpu1
# Shrinking the list gives back only CPU 3.
echo 1-2 > $M/os2/cpus
echo "@@ shrink $(cat $M/os2/cpus) online=$(cat /sys/devices/system/cpu/online)"

# A normal boot afterwards still works.
load os2 "$NONCE-ok"
echo start > $M/os2/state
wait_up os2 "$NONCE-ok" 60
echo "@@ ok-state $(state os2)"
echo stop > $M/os2/state

# A second load while one is in progress gets EBUSY, and the first one
# completes. The first is held open half-way: its image is made by
# mint-kexec against a copy of os2's files, written one page, then the rest.
mkdir -p /tmp/fake/os2
for f in version tsc_khz; do cat $M/$f > /tmp/fake/$f; done
for f in cpus memory state apic_ids lowmem; do cat $M/os2/$f > /tmp/fake/os2/$f; done
: > /tmp/fake/os2/load
mint-kexec --sysfs /tmp/fake load os2 /boot/bzImage --initrd=/os2-initramfs.cpio.gz --append="mint.nonce=$NONCE-la" > /dev/null
echo "@@ first-load-image $(wc -c < /tmp/fake/os2/load)"
exec 3> $M/os2/load
dd if=/tmp/fake/os2/load bs=4096 count=1 >&3 2>/dev/null
echo "@@ first-load-half $(state os2)"
try second-load mint-kexec load os2 /boot/bzImage --initrd=/os2-initramfs.cpio.gz --append="mint.nonce=$NONCE-lb"
dd if=/tmp/fake/os2/load bs=4096 skip=1 >&3 2>/dev/null
exec 3>&-
echo "@@ first-load-done $(state os2)"
echo start > $M/os2/state
wait_up os2 "$NONCE-la" 60
echo "@@ after-two-loads $(state os2)"
echo stop > $M/os2/state

# rmmod with partitions left created: os2 stopped with CPUs and memory, os3
# with CPUs only. Everything goes back to the host.
echo os3 > $M/create && echo 3 > $M/os3/cpus 2>/dev/null
echo "@@ before-rmmod $(cat $M/partitions | tr '\n' ' ')online=$(cat /sys/devices/system/cpu/online)"
rmmod mint
echo "@@ rmmod-rc $?"
echo "@@ online-end $(cat /sys/devices/system/cpu/online)"
echo "@@ iomem-end $(grep -c ' : os' /proc/iomem)"
dmesg_section
