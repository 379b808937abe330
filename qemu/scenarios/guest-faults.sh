#!/bin/sh
# A partition that panics (no init: the host sees `crashed` through the
# partition's ramoops crash record) and one that powers itself off: the host
# keeps running, and the partition can be stopped and started again.
. /scenarios/lib.sh
# misbehave TAG APPEND: boot a partition that goes wrong, let it, check the
# host, then stop it.
misbehave() {
    load os2 "$NONCE-$1" "$2"
    echo start > $M/os2/state
    # Both go wrong within seconds; a slow (debug, CI) host gets 60.
    echo "@@ $1-state $(wait_ended os2 60)"
    host_sleep2 "$1-sleep2"
    # A partition whose end the host saw has its CPUs stopped already;
    # `stop` acknowledges it either way.
    echo stop > $M/os2/state
    echo "@@ $1-stop-rc $? $(state os2)"
}
insmod /mint.ko
partition os2 1 256M@0x20000000
misbehave panic "rdinit=/nonexistent init=/nonexistent"
misbehave poweroff "mint.action=poweroff"
load os2 "$NONCE-ok"
echo start > $M/os2/state
wait_up os2 "$NONCE-ok" 60
echo "@@ ok-state $(state os2)"
echo stop > $M/os2/state
echo os2 > $M/destroy
rmmod mint
echo "@@ rmmod-rc $?"
echo "@@ online $(cat /sys/devices/system/cpu/online)"
dmesg_section
