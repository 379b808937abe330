#!/bin/sh
# The demo: what mint can do so far, narrated on the host console.
say() { echo; echo "### $*"; }
run() { echo "# $*"; "$@"; }
say "The host: $(nproc) CPUs online ($(cat /sys/devices/system/cpu/online)), kernel $(uname -r)"
say "Load the mint module"
run insmod /mint.ko
run ls -l /sys/kernel/mint/
run cat /sys/kernel/mint/version
say "Unload it: the host is as before"
run rmmod mint
run ls /sys/kernel/mint 2>&1
dmesg | grep mint
