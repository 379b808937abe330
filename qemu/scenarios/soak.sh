#!/bin/sh
# Soak: N load/start/verify/stop cycles of os2 with a fresh nonce each boot
# (N from mint.cycles= on the command line), then check nothing leaked.
. /scenarios/lib.sh
cycles=$(sed -n 's/.*mint\.cycles=\([0-9]*\).*/\1/p' /proc/cmdline)
echo "@@ cycles ${cycles:=10}"
host_snapshot before
insmod /mint.ko
partition os2 1 256M@0x20000000
i=1
while [ "$i" -le "$cycles" ]; do
    load os2 "$NONCE-c$i" || echo "@@ cycle-failed $i load"
    echo start > $M/os2/state || echo "@@ cycle-failed $i start"
    wait_up os2 "$NONCE-c$i" 30
    [ "$(state os2)" = running ] || echo "@@ cycle-failed $i state $(state os2)"
    echo stop > $M/os2/state || echo "@@ cycle-failed $i stop"
    echo "@@ cycle-done $i"
    i=$((i + 1))
done
echo os2 > $M/destroy
unload_and_report
