#!/bin/sh
# A partition that panics and one that powers itself off: the host keeps
# running, and the partition can be stopped and started again.
. /scenarios/lib.sh
uptime_s() { cut -d' ' -f1 /proc/uptime; }
insmod /mint.ko
partition os2 1 256M@0x20000000
load os2 "$NONCE-panic" "rdinit=/nonexistent init=/nonexistent"
echo start > $M/os2/state
sleep 4
echo "@@ panic-state $(state os2)"
t0=$(uptime_s); sleep 2; echo "@@ panic-sleep2 $t0 $(uptime_s)"
echo stop > $M/os2/state
echo "@@ panic-stop-rc $? $(state os2)"
load os2 "$NONCE-poweroff" "mint.action=poweroff"
echo start > $M/os2/state
sleep 4
echo "@@ poweroff-state $(state os2)"
t0=$(uptime_s); sleep 2; echo "@@ poweroff-sleep2 $t0 $(uptime_s)"
echo stop > $M/os2/state
echo "@@ poweroff-stop-rc $? $(state os2)"
load os2 "$NONCE-ok"
echo start > $M/os2/state
sleep 4
echo "@@ ok-state $(state os2)"
echo stop > $M/os2/state
echo os2 > $M/destroy
rmmod mint
echo "@@ rmmod-rc $?"
echo "@@ online $(cat /sys/devices/system/cpu/online)"
dmesg_section
