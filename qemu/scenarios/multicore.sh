#!/bin/sh
# A two-core partition: os2 on CPUs 1-2 brings up its second core itself;
# the host keeps CPUs 0 and 3. Then a non-contiguous set, 1,3.
. /scenarios/lib.sh
insmod /mint.ko
partition os2 1-2 256M@0x20000000
echo "@@ apic-ids $(cat $M/os2/apic_ids)"
load os2 "$NONCE-a" "mint.action=workload"
echo start > $M/os2/state
echo "@@ state $(state os2)"
echo "@@ online-during $(cat /sys/devices/system/cpu/online)"
# The host works on its own cores meanwhile, CPU 3 included.
host_sleep2 sleep2
echo "@@ host-cpu3 $(taskset -c 3 sh -c 'cut -d" " -f39 /proc/self/stat')"
sleep 5
echo stop > $M/os2/state
echo "@@ stopped $(state os2) $(cat /sys/devices/system/cpu/online)"
echo start > $M/os2/state
sleep 5
echo stop > $M/os2/state
echo os2 > $M/destroy
echo "@@ online-after-destroy $(cat /sys/devices/system/cpu/online)"
echo "@@ pinned $(taskset -c 1 sh -c 'cut -d" " -f39 /proc/self/stat') $(taskset -c 2 sh -c 'cut -d" " -f39 /proc/self/stat')"
partition os2 1,3 256M@0x20000000
echo "@@ apic-ids-b $(cat $M/os2/apic_ids)"
load os2 "$NONCE-b"
echo start > $M/os2/state
echo "@@ online-during-b $(cat /sys/devices/system/cpu/online)"
sleep 4
echo stop > $M/os2/state
echo os2 > $M/destroy
rmmod mint
echo "@@ rmmod-rc $?"
echo "@@ online-end $(cat /sys/devices/system/cpu/online)"
dmesg_section
