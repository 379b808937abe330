#!/bin/sh
# Partitions on the CPU with APIC ID 256 (x2apic profile; see
# xtask/src/scenarios/apic256.rs): a: that CPU alone; b: CPU 1 and that CPU.
. /scenarios/lib.sh
P=$M/os2
echo "@@ apicids $(awk '/^processor/ { p = $3 } /^apicid/ { printf "%s%s:%s", s, p, $3; s = " " }' /proc/cpuinfo)"
big=$(awk '/^processor/ { p = $3 } /^apicid/ { if ($3 == 256) print p }' /proc/cpuinfo)
insmod /mint.ko
echo "@@ insmod-rc $?"
# run TAG CPUS ACTION: one partition's life on CPUS, as `@@ TAG-...` lines.
run() {
    echo os2 > $M/create
    echo "$2" > $P/cpus
    echo "@@ $1-cpus-rc $?"
    echo 256M@0x20000000 > $P/memory
    echo "@@ $1-apic-ids $(cat $P/apic_ids)"
    load os2 "$NONCE-$1" "$3"
    echo "@@ $1-load-rc $?"
    echo start > $P/state
    echo "@@ $1-start-rc $?"
    echo "@@ $1-state $(state os2)"
    echo "@@ $1-online-during $(cat /sys/devices/system/cpu/online)"
    host_sleep2 "$1-sleep2"
    sleep 8
    echo "@@ $1-state-end $(state os2)"
    echo stop > $P/state
    echo os2 > $M/destroy
    echo "@@ $1-online-after $(cat /sys/devices/system/cpu/online)"
}
run a "$big" ""
run b "1,$big" "mint.action=workload"
rmmod mint
echo "@@ rmmod-rc $?"
dmesg_section
