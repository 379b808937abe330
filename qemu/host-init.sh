#!/bin/sh
# /init of the host's initramfs (busybox). Mounts the pseudo file systems,
# then runs the scenario named by `mint.scenario=NAME` on the kernel command
# line (/scenarios/NAME.sh), or a shell when there is none, and powers off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "@@ host-ready"
scenario=$(sed -n 's/.*mint\.scenario=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$scenario" ] && [ -f "/scenarios/$scenario.sh" ]; then
    sh "/scenarios/$scenario.sh"
    echo "@@ scenario-exit $?"
else
    [ -n "$scenario" ] && echo "@@ no-such-scenario $scenario"
    setsid cttyhack sh
fi
# `mint.linger=N`: wait N seconds first, so that what the kernel reports
# late (the debug kernel delays kobject releases by up to 4 s) still reaches
# the console the harness checks.
linger=$(sed -n 's/.*mint\.linger=\([0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$linger" ] && sleep "$linger" && echo "@@ lingered $linger"
# -no-reboot makes QEMU exit when the host reboots.
reboot -f
