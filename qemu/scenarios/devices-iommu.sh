#!/bin/sh
# Device assignment on a host whose IOMMU translates DMA (intel_iommu=on,
# interrupt remapping off; xtask/src/scenarios/devices_iommu.rs): the claim
# is refused, naming iommu=pt, and changes nothing.
. /scenarios/lib.sh
P=$M/os2
DISK=0000:01:00.0
echo "@@ iommu-group $(basename "$(readlink /sys/bus/pci/devices/$DISK/iommu_group)") $(cat /sys/bus/pci/devices/$DISK/iommu_group/type)"
insmod /mint.ko
echo "@@ insmod-rc $?"
partition os2 1 256M@0x20000000
echo $DISK > /sys/bus/pci/drivers/virtio-pci/unbind
try translated sh -c "echo $DISK > $P/devices"
echo "@@ after [$(cat $P/devices)] $(pci_driver $DISK)"
# The remedy the message names: an identity domain for the function's group.
echo identity > /sys/bus/pci/devices/$DISK/iommu_group/type
echo "@@ identity-rc $? $(cat /sys/bus/pci/devices/$DISK/iommu_group/type)"
echo $DISK > $P/devices
echo "@@ claim-identity-rc $? [$(cat $P/devices)] $(pci_driver $DISK)"
echo os2 > $M/destroy
echo "@@ destroy-rc $? $(pci_driver $DISK)"
rmmod mint
echo "@@ rmmod-rc $?"
dmesg_section
