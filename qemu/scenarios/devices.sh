#!/bin/sh
# Devices a partition owns (xtask/src/scenarios/devices.rs): os2 gets the disk
# behind root port 1 and the NIC behind root port 2, drives them with its own
# drivers (MSI), talks to the host over the emulated link, and everything
# goes back to the host at destroy. On a host with interrupt remapping (the
# x2apic profile) every claim is refused instead.
. /scenarios/lib.sh
P=$M/os2
DISK=0000:01:00.0
NIC=0000:02:00.0
HOSTNIC=0000:00:03.0
NOMSI=0000:03:00.0
# console_line WHAT SECONDS: wait for WHAT in os2's console; prints the line.
console_line() {
    n=0
    while ! grep -q -F -e "$1" $P/console && [ "$n" -lt $(($2 * 5)) ]; do
        sleep 0.2
        n=$((n + 1))
    done
    grep -F -e "$1" $P/console | tail -n 1 | sed 's/^\[[^]]*\] //'
}
ir=no
dmesg | grep -q "Enabled IRQ remapping" && ir=yes
echo "@@ ir $ir"
echo "@@ drivers-at-boot $(pci_driver $DISK) $(pci_driver $NIC) $(pci_driver $HOSTNIC) $(pci_driver $NOMSI)"
insmod /mint.ko
echo "@@ insmod-rc $?"
partition os2 1 256M@0x20000000

# Refusals: each changes nothing (devices stays empty, drivers stay).
try bdf-malformed sh -c "echo 0000:01:00 > $P/devices"
try bdf-missing sh -c "echo 0000:07:00.0 > $P/devices"
try driver-bound sh -c "echo $DISK > $P/devices"
try bridge sh -c "echo 0000:00:04.0 > $P/devices"
try shares-bus sh -c "echo 0000:00:1f.2 > $P/devices"
try no-msi sh -c "echo $NOMSI > $P/devices"
echo "@@ after-refusals [$(cat $P/devices)] $(pci_driver $DISK) $(pci_driver $NIC) $(pci_driver $HOSTNIC)"

# Hand both functions to os2 (mint-kexec assign unbinds the host driver).
mint-kexec assign os2 $DISK $NIC > /tmp/assign.out 2>&1
echo "@@ assign-rc $? $(head -n 1 /tmp/assign.out)"
echo "@@ devices [$(cat $P/devices | tr '\n' ' ')] $(pci_driver $DISK) $(pci_driver $NIC)"
if [ $ir = yes ]; then
    dmesg_section
    rmmod mint
    echo "@@ rmmod-rc $?"
    exit 0
fi
# A rewrite of the list hands a function back (its host driver binds it
# again) and claims it anew.
mint-kexec release os2 $NIC > /dev/null 2>&1
echo "@@ release-rc $? [$(cat $P/devices | tr '\n' ' ')] $(pci_driver $NIC)"
mint-kexec assign os2 $NIC > /dev/null 2>&1
echo "@@ reassign-rc $? [$(cat $P/devices | tr '\n' ' ')] $(pci_driver $NIC)"
# All or nothing: one good and one refused function claim neither.
echo os3 > $M/create
try one-bad sh -c "echo $DISK,$NIC > $M/os3/devices"
echo "@@ os3-devices [$(cat $M/os3/devices)]"
echo os3 > $M/destroy

# The host's side of the link: its own NIC, a file to serve.
ip addr add 169.254.0.1/16 dev eth0 && ip link set eth0 up
echo "@@ host-nic-rc $?"
mkdir -p /srv && dd if=/dev/urandom of=/srv/blob bs=1M count=8 2> /dev/null
echo "@@ host-blob $(sha256sum < /srv/blob | cut -c1-64)"
httpd -p 169.254.0.1:8080 -h /srv

load os2 "$NONCE" "mint.action=devices"
echo "@@ load-rc $?"
# QEMU traces every port access from here (the harness switches it on), to
# count the partition's accesses to the shared config ports 0xcf8/0xcfc.
# The host reads a config register through them once, so the trace shows
# it was on (CPU 0's accesses).
echo "@@ trace-on"
sleep 3
head -c 4 /sys/bus/pci/devices/0000:00:00.0/config > /dev/null
echo "@@ cmdline-pci $(tr ' ' '\n' < $P/cmdline | grep -E '^(pci=|reserve=)' | tr '\n' ' ')"
echo start > $P/state
echo "@@ start-rc $?"
try running sh -c "echo > $P/devices"
echo "@@ devices-running [$(cat $P/devices | tr '\n' ' ')]"
echo "@@ os2-serving $(console_line 'DEV-SERVING' 180)"
ping -c 3 -W 5 169.254.0.2 > /tmp/ping.out 2>&1
echo "@@ host-ping-rc $? $(grep -c 'bytes from' /tmp/ping.out)"
wget -q -O /tmp/os2blob http://169.254.0.2:8080/blob
echo "@@ host-wget-rc $? $(sha256sum < /tmp/os2blob | cut -c1-64)"
echo "@@ os2-done $(console_line 'DEV-DONE' 120)"
echo "@@ trace-off"
sleep 2
echo "@@ state $(state os2)"
echo "@@ host-nic-after $(pci_driver $HOSTNIC) $(cat /sys/class/net/eth0/operstate)"

# A surprise: the host removes the NIC's function while os2 owns it (and
# runs): the module quiesces it. A rescan finds it again, but no host driver
# may bind it while os2 still owns its address; os2 cannot start again with
# it gone.
echo 1 > /sys/bus/pci/devices/$NIC/remove
echo "@@ nic-removed $? $(state os2) $([ -e /sys/bus/pci/devices/$NIC ] && echo present || echo gone)"
echo 1 > /sys/bus/pci/rescan
echo "@@ nic-rescanned $(pci_driver $NIC) $(cat /sys/bus/pci/devices/$NIC/driver_override)"
echo stop > $P/state
try start-removed sh -c "echo start > $P/state"

# Destroy: both are reset and probed by the host's driver again.
echo os2 > $M/destroy
echo "@@ destroy-rc $?"
sleep 1
echo "@@ drivers-after $(pci_driver $DISK) $(pci_driver $NIC) $(cat /sys/bus/pci/devices/$NIC/driver_override)"
disk=$(ls /sys/bus/pci/devices/$DISK/virtio*/block 2> /dev/null | head -n 1)
mkdir -p /mnt && mount -t ext4 /dev/$disk /mnt
echo "@@ host-mount-rc $? $disk"
echo "@@ host-reads-nonce $(cat /mnt/nonce)"
echo "@@ host-reads-os2 $(cat /mnt/os2-file)"
umount /mnt
rmmod mint
echo "@@ rmmod-rc $?"
dmesg_section
