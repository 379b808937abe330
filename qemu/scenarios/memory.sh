#!/bin/sh
# Memory carved at runtime (the host boots without memmap=, with 6 GiB):
# a: os2 gets 2G carved from the running host, fills 1.5 GiB of it with its
#    own pattern while the host fills 1 GiB of its own, both verify; destroy
#    gives the memory back;
# b: a partition of two carved ranges (512M,256M) boots and uses both;
# c: requests that cannot be carved fail with ENOMEM and change nothing;
# d: carve times of 256M, 1G and 2G on an idle host, then with a busy page
#    cache (a 2 GiB file read from the ext4 disk) and 512 MiB of anonymous
#    memory that the carves must migrate (memfill checks it survived);
# then rmmod, and the host must be as before insmod.
# The harness (xtask/src/scenarios/memory.rs) checks everything printed here.
. /scenarios/lib.sh
P=$M/os2
uptime_s() { cut -d' ' -f1 /proc/uptime; }
# wait_console NAME TEXT SECONDS: wait until TEXT is in partition NAME's
# console (read from its memory), at most SECONDS and only while it runs;
# prints the line.
wait_console() {
    n=0
    while ! grep -q -F "$2" $M/$1/console 2>/dev/null && [ "$n" -lt $(($3 * 5)) ]; do
        case "$(state $1 2>/dev/null)" in
            starting | running) ;;
            *) break ;;
        esac
        sleep 0.2
        n=$((n + 1))
    done
    grep -F "$2" $M/$1/console 2>/dev/null | tail -n 1 | nostamp
}
# new_os2: an empty os2 with CPU 1.
new_os2() {
    echo os2 > $M/create && echo 1 > $P/cpus
}

host_snapshot before
insmod /mint.ko
echo "@@ insmod-rc $?"

# --- a: 2 GiB carved, both sides fill and verify -------------------------
new_os2
echo "@@ a-create-rc $?"
echo "@@ a-free-before $(free_kb)"
echo 2G > $P/memory
echo "@@ a-memory-rc $?"
echo "@@ a-memory $(cat $P/memory)"
echo "@@ a-lowmem $(cat $P/lowmem)"
echo "@@ a-free-carved $(free_kb)"
echo "@@ a-carved $(klog_last 'os2: carved')"
iomem_section a
load os2 "$NONCE-a" "mint.action=memfill"
echo "@@ a-load-rc $?"
echo start > $P/state
echo "@@ a-start-rc $?"
# The host starts its own fill once os2's has begun, so the two overlap
# (os2 fills half as much again, the harness checks the order).
echo "@@ a-os2-begin $(wait_console os2 '] MEMFILL-BEGIN' 120)"
echo "@@ a-host-memfill-begin"
r=$(memfill "host-$NONCE" 1024)
echo "@@ a-host-memfill rc=$? $r"
echo "@@ a-os2-memfill $(wait_console os2 '] MEMFILL-RESULT' 300)"
echo "@@ a-state $(state os2)"
echo stop > $P/state
echo "@@ a-stop-rc $?"
echo os2 > $M/destroy
echo "@@ a-destroy-rc $?"
released a

# --- b: two carved ranges --------------------------------------------------
new_os2
echo "@@ b-free-before $(free_kb)"
echo 512M,256M > $P/memory
echo "@@ b-memory-rc $?"
echo "@@ b-memory $(cat $P/memory)"
echo "@@ b-lowmem $(cat $P/lowmem)"
iomem_section b
# 600 MiB: more than either range holds.
load os2 "$NONCE-b" "mint.action=memfill mint.memfill_mib=600"
echo "@@ b-load-rc $?"
echo start > $P/state
echo "@@ b-start-rc $?"
echo "@@ b-os2-memfill $(wait_console os2 '] MEMFILL-RESULT' 300)"
echo "@@ b-state $(state os2)"
echo stop > $P/state
echo os2 > $M/destroy
echo "@@ b-destroy-rc $?"
released b

# --- c: what cannot be carved ----------------------------------------------
new_os2
echo 256M > $P/memory
echo "@@ c-memory-rc $?"
c_snap() {
    echo "@@ c-snap $1 memory=$(cat $P/memory) iomem=$(md5sum < /proc/iomem | cut -c1-12) free_kb=$(free_kb)"
}
c_snap before
# More than the machine has; then less than it has free but more than any
# contiguous RAM (3 GiB above 4 GiB, under 3 GiB below the PCI hole).
try enomem-16g sh -c "echo 16G > $P/memory"
c_snap after-16g
try enomem-4g sh -c "echo 4G > $P/memory"
c_snap after-4g
echo os2 > $M/destroy
echo "@@ c-destroy-rc $?"

# --- d: carve times ----------------------------------------------------------
# carve TAG SIZE: carve SIZE into a fresh os2, report the module's log lines
# for it and the wall time of the write, destroy.
carve() {
    new_os2
    n=$(dmesg | grep -c 'os2: carved')
    t0=$(uptime_s)
    echo "$2" > $P/memory
    rc=$?
    t1=$(uptime_s)
    line=
    [ "$(dmesg | grep -c 'os2: carved')" -gt "$n" ] && line=$(klog_last 'os2: carved')
    zeroed=$(klog_last 'os2: zeroed')
    echo "@@ carve $1 $2 rc=$rc wall=$t0,$t1 memory=$(cat $P/memory) | $line | $zeroed"
    echo os2 > $M/destroy
}
cached_kb() { sed -n 's/^Cached: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
for s in 256M 1G 2G; do carve idle $s; done
# Busy: 2 GiB of clean page cache (a sparse file read from ext4) and
# 512 MiB of anonymous memory held by memfill, verified after the carves.
mkdir -p /mnt/disk
mount -t ext4 /dev/vda /mnt/disk
echo "@@ busy-mount-rc $?"
truncate -s 2G /mnt/disk/cache
cat /mnt/disk/cache > /dev/null
rm -f /tmp/memfill-go
memfill "busy-$NONCE" 512 /tmp/memfill-go > /tmp/memfill-busy &
busy=$!
n=0
while ! grep -q filled /tmp/memfill-busy && kill -0 $busy && [ "$n" -lt 600 ]; do
    sleep 0.2
    n=$((n + 1))
done
echo "@@ busy-before cached_kb=$(cached_kb) free_kb=$(free_kb)"
for s in 256M 1G 2G; do carve busy $s; done
echo "@@ busy-after cached_kb=$(cached_kb) free_kb=$(free_kb)"
touch /tmp/memfill-go
wait $busy
echo "@@ busy-memfill rc=$? $(tail -n 1 /tmp/memfill-busy)"
rm /mnt/disk/cache
umount /mnt/disk
echo "@@ busy-umount-rc $?"
unload_and_report
