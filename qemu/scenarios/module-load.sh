#!/bin/sh
# Load and unload mint.ko; report what sysfs and the kernel show.
. /scenarios/lib.sh
insmod /mint.ko
echo "@@ insmod-rc $?"
echo "@@ files $(ls /sys/kernel/mint | tr '\n' ' ' | sed 's/ $//')"
for f in /sys/kernel/mint/*; do
    echo "@@ mode $(basename "$f") $(stat -c %a "$f")"
done
echo "@@ version $(cat /sys/kernel/mint/version)"
echo "@@ partitions [$(cat /sys/kernel/mint/partitions)]"
grep -q '^mint ' /proc/modules && echo "@@ module-listed yes" || echo "@@ module-listed no"
rmmod mint
echo "@@ rmmod-rc $?"
[ -e /sys/kernel/mint ] && echo "@@ after-rmmod present" || echo "@@ after-rmmod absent"
grep -q '^mint ' /proc/modules && echo "@@ module-listed-after yes" || echo "@@ module-listed-after no"
dmesg_section
