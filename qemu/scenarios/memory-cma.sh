#!/bin/sh
# Carving on a host booted with cma= and movablecore= (6 GiB, no memmap=,
# -smp 3):
# first what the host made of the two parameters (its CMA area from the
# kernel log and /proc/meminfo, its ZONE_MOVABLE from the kernel log and
# /proc/zoneinfo);
# a: os2 gets 256M, which must come from the CMA area; it boots there;
#    destroy gives the memory back to the host and to the area;
# b: os2 gets 256M from the CMA area again and, while it holds it, os3 gets
#    1G, more than the area has left: carved from ZONE_MOVABLE; both boot
#    and run at once; destroy gives everything back;
# then rmmod, and the host must be as before insmod.
# The harness (xtask/src/scenarios/memory_cma.rs) checks everything printed
# here.
. /scenarios/lib.sh
# meminfo_kb FIELD: a /proc/meminfo value in kB.
meminfo_kb() { sed -n "s/^$1: *\([0-9]*\) kB/\1/p" /proc/meminfo; }
# movable_zone: ZONE_MOVABLE's figures from /proc/zoneinfo, as key=value.
movable_zone() {
    awk '/^Node/ { z = ($4 == "Movable") }
        z && $1 ~ /^(spanned|present|managed|start_pfn:)$/ { k = $1; sub(":", "", k); printf "%s=%s ", k, $2 }' /proc/zoneinfo
}
# carve_report TAG NAME: what the module logged for NAME's last carve.
carve_report() {
    echo "@@ $1-carved $(klog_last "$2: carved")"
    echo "@@ $1-zeroed $(klog_last "$2: zeroed")"
}

echo "@@ cma-reserved $(klog_last 'cma: Reserved ')"
echo "@@ cma-total-kb $(meminfo_kb CmaTotal)"
echo "@@ movable-start $(dmesg | grep -A1 -F 'Movable zone start for each node' | tail -n 1 | nostamp)"
echo "@@ movable-zone $(movable_zone)"
iomem_section boot
host_snapshot before
insmod /mint.ko
echo "@@ insmod-rc $?"

# --- a: 256M from the CMA area ----------------------------------------------
echo "@@ a-free-before $(free_kb)"
echo "@@ a-cma-free-before $(meminfo_kb CmaFree)"
partition os2 1 256M
echo "@@ a-memory-rc $?"
echo "@@ a-memory $(cat $M/os2/memory)"
echo "@@ a-cma-free-carved $(meminfo_kb CmaFree)"
carve_report a os2
iomem_section a
load os2 "$NONCE-a"
echo "@@ a-load-rc $?"
echo start > $M/os2/state
echo "@@ a-start-rc $?"
wait_up os2 "$NONCE-a" 120
echo "@@ a-state $(state os2)"
echo stop > $M/os2/state
echo "@@ a-stop-rc $?"
echo os2 > $M/destroy
echo "@@ a-destroy-rc $?"
released a
echo "@@ a-cma-free-after $(meminfo_kb CmaFree)"

# --- b: 256M from the CMA area and 1G beside it, both running ---------------
echo "@@ b-free-before $(free_kb)"
partition os2 1 256M
echo "@@ b2-memory-rc $?"
echo "@@ b2-memory $(cat $M/os2/memory)"
carve_report b2 os2
iomem_section b2
echo "@@ b-cma-free-between $(meminfo_kb CmaFree)"
partition os3 2 1G
echo "@@ b3-memory-rc $?"
echo "@@ b3-memory $(cat $M/os3/memory)"
carve_report b3 os3
iomem_section b3
load os2 "$NONCE-b2"
echo "@@ b2-load-rc $?"
load os3 "$NONCE-b3"
echo "@@ b3-load-rc $?"
echo start > $M/os2/state
echo "@@ b2-start-rc $?"
echo start > $M/os3/state
echo "@@ b3-start-rc $?"
wait_up os2 "$NONCE-b2" 120
wait_up os3 "$NONCE-b3" 120
echo "@@ b-states $(state os2) $(state os3)"
echo stop > $M/os2/state
echo "@@ b2-stop-rc $?"
echo stop > $M/os3/state
echo "@@ b3-stop-rc $?"
echo os2 > $M/destroy
echo "@@ b2-destroy-rc $?"
echo os3 > $M/destroy
echo "@@ b3-destroy-rc $?"
released b
echo "@@ b-iomem-os3 $(grep -c ': os3$' /proc/iomem)"
unload_and_report
