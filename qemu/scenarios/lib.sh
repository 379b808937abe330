# Helpers shared by the scenario scripts (sourced, not run).
M=/sys/kernel/mint
NONCE=$(sed -n 's/.*mint\.nonce=\([^ ]*\).*/\1/p' /proc/cmdline)

# try NAME command...: run a command that must fail; report its status and
# first line of error output as `@@ case NAME rc=N message`.
try() {
    name=$1; shift
    out=$( ("$@") 2>&1 >/dev/null )
    echo "@@ case $name rc=$? $out" | head -n1
}

# free_kb: free memory including the pages parked on per-CPU lists, which
# MemFree leaves out (and which change when a CPU comes back online).
free_kb() {
    awk '/nr_free_pages/ { p += $2 } /^ +count:/ { p += $2 } END { print p * 4 }' /proc/zoneinfo
}

# nostamp: a kernel log line without its timestamp (the harness's marker
# reader would take a timestamp inside a marker for a line the kernel cut
# into).
nostamp() { sed 's/^\[[^]]*\] *//'; }

# klog_last TEXT: the last kernel log line holding TEXT, without its stamp.
klog_last() { dmesg | grep -F "$1" | tail -n 1 | nostamp; }

# iomem_section TAG: /proc/iomem between `@@ TAG-iomem-begin` and `-end`.
iomem_section() {
    echo "@@ $1-iomem-begin"
    cat /proc/iomem
    echo "@@ $1-iomem-end"
}

# released TAG: after destroying os2 with carved memory, what must be back
# (free memory, compared with `TAG-free-before`, and no os2 in /proc/iomem).
released() {
    echo "@@ $1-free-after $(free_kb)"
    echo "@@ $1-iomem-os2 $(grep -c ': os2$' /proc/iomem)"
}

# host_snapshot TAG: what must be identical before insmod and after rmmod.
host_snapshot() {
    echo "@@ host-$1 online=$(cat /sys/devices/system/cpu/online) iomem=$(md5sum < /proc/iomem | cut -c1-12) memfree_kb=$(free_kb)"
}

# partition NAME CPUS MEMORY: create and assign resources.
partition() {
    echo "$1" > $M/create && echo "$2" > $M/$1/cpus && echo "$3" > $M/$1/memory
}

# load NAME NONCE [extra append]: load the host's own image with the os2 initramfs.
load() {
    mint-kexec load "$1" /boot/bzImage --initrd=/os2-initramfs.cpio.gz --append="mint.nonce=$2 $3" > /dev/null
}

state() { cat $M/$1/state; }

# wait_up NAME NONCE SECONDS: wait until partition NAME's marker for NONCE is
# in its console (read from its memory), at most SECONDS.
wait_up() {
    n=0
    while ! grep -q -F "MINT-PARTITION-UP nonce=$2 " $M/$1/console && [ "$n" -lt $(($3 * 5)) ]; do
        sleep 0.2
        n=$((n + 1))
    done
}

# pci_driver BDF: the host driver bound to PCI function BDF, or `none`.
pci_driver() {
    d=$(readlink /sys/bus/pci/devices/$1/driver)
    if [ -n "$d" ]; then basename "$d"; else echo none; fi
}

# host_sleep2 KEY: the host's uptime before and after `sleep 2`, as
# `@@ KEY T0 T1` (the harness checks the host's clock and scheduler with it).
host_sleep2() {
    t0=$(cut -d' ' -f1 /proc/uptime)
    sleep 2
    echo "@@ $1 $t0 $(cut -d' ' -f1 /proc/uptime)"
}

# dmesg_section: the kernel log between markers, for the harness to check.
dmesg_section() {
    echo "@@ dmesg-begin"
    dmesg
    echo "@@ dmesg-end"
}

# unload_and_report: rmmod, then what must equal the `before` snapshot.
unload_and_report() {
    rmmod mint
    echo "@@ rmmod-rc $?"
    host_snapshot after
    dmesg_section
}

# wait_ended NAME SECONDS: wait until partition NAME no longer reads
# `running` (the host saw its kernel end), at most SECONDS; prints the state.
wait_ended() {
    n=0
    while [ "$(state $1)" = running ] && [ "$n" -lt $(($2 * 5)) ]; do
        sleep 0.2
        n=$((n + 1))
    done
    state $1
}
