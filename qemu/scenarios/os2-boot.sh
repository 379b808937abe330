#!/bin/sh
# Boot os2 on CPU 1 in the memmap= window with the host's own bzImage, then
# check the host stays healthy while os2 runs (also under a CPU load).
. /scenarios/lib.sh
P=$M/os2
echo "@@ image-sha256 $(sha256sum /boot/bzImage | cut -d' ' -f1)"
echo "@@ online-before $(cat /sys/devices/system/cpu/online)"
insmod /mint.ko
echo "@@ insmod-rc $?"
echo os2 > $M/create
echo "@@ create-rc $?"
echo 1 > $P/cpus
echo "@@ cpus-rc $?"
echo 256M@0x20000000 > $P/memory
echo "@@ memory-rc $?"
echo "@@ iomem $(grep -i ': os2' /proc/iomem | tr -s ' ')"
echo "@@ state-before $(cat $P/state)"
mint-kexec load os2 /boot/bzImage --initrd=/os2-initramfs.cpio.gz --append="mint.nonce=$NONCE"
echo "@@ load-rc $?"
echo "@@ state-loaded $(cat $P/state)"
echo "@@ cmdline $(cat $P/cmdline)"
echo start > $P/state
echo "@@ start-rc $?"
echo "@@ state $(cat $P/state)"
echo "@@ online-during $(cat /sys/devices/system/cpu/online)"
mint-kexec status os2
# The host's clock and shell while os2 boots and runs.
host_sleep2 sleep2
# Re-onlining the partition's CPU must be refused while it runs.
echo "@@ reonline $( (echo 1 > /sys/devices/system/cpu/cpu1/online) 2>&1 )"
echo "@@ online-after-reonline $(cat /sys/devices/system/cpu/online)"
# A CPU load on the host while os2 keeps its heartbeat.
echo "@@ load-begin"
( end=$(( $(cut -d. -f1 /proc/uptime) + 4 )); while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do :; done )
echo "@@ load-end"
sleep 1
echo "@@ state-end $(cat $P/state)"
dmesg_section
