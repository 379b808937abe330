#!/bin/sh
# 20 (mint.cycles=) cycles of: create os2, carve 256M at runtime, load,
# start, wait for its marker, stop, destroy; then check nothing leaked
# (the host boots with 6 GiB and without memmap=).
. /scenarios/lib.sh
P=$M/os2
cycles=$(sed -n 's/.*mint\.cycles=\([0-9]*\).*/\1/p' /proc/cmdline)
echo "@@ cycles ${cycles:=20}"
host_snapshot before
insmod /mint.ko
echo "@@ insmod-rc $?"
# Rewrites keep what they name: the same size again, the list read back
# plus one more item, a size of one window, and a refused list.
carves() { dmesg | grep -c 'os2: carved'; }
echo os2 > $M/create && echo 1 > $P/cpus
echo 256M > $P/memory
first=$(cat $P/memory)
echo "@@ rw-first $first carves=$(carves)"
echo 256M > $P/memory
echo "@@ rw-again rc=$? $(cat $P/memory) carves=$(carves)"
echo "$first,128M" > $P/memory
echo "@@ rw-plus rc=$? $(cat $P/memory) carves=$(carves)"
both=$(cat $P/memory)
echo 128M > $P/memory
echo "@@ rw-shrink rc=$? $(cat $P/memory) carves=$(carves) iomem_os2=$(grep -c ': os2$' /proc/iomem)"
kept=$(cat $P/memory)
try rw-refused sh -c "echo $kept,64G > $P/memory"
echo "@@ rw-after-refusal $(cat $P/memory) carves=$(carves)"
echo os2 > $M/destroy
echo "@@ rw-destroyed iomem_os2=$(grep -c ': os2$' /proc/iomem)"
echo "@@ rw-both $both"
i=1
while [ "$i" -le "$cycles" ]; do
    echo os2 > $M/create || echo "@@ cycle-failed $i create"
    echo 1 > $P/cpus || echo "@@ cycle-failed $i cpus"
    echo 256M > $P/memory || echo "@@ cycle-failed $i memory"
    echo "@@ cycle-memory $i $(cat $P/memory)"
    load os2 "$NONCE-c$i" || echo "@@ cycle-failed $i load"
    echo start > $P/state || echo "@@ cycle-failed $i start"
    wait_up os2 "$NONCE-c$i" 60
    [ "$(state os2)" = running ] || echo "@@ cycle-failed $i state $(state os2)"
    echo stop > $P/state || echo "@@ cycle-failed $i stop"
    echo os2 > $M/destroy || echo "@@ cycle-failed $i destroy"
    echo "@@ cycle-done $i free_kb=$(free_kb) iomem_os2=$(grep -c ': os2$' /proc/iomem)"
    i=$((i + 1))
done
unload_and_report
