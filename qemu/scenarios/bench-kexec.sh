#!/bin/sh
# Boot-time benchmark, kexec baseline: reboot the whole machine into the same
# bzImage with the partitions' initramfs (its /init prints the TSC).
echo "@@ tsc-khz $(sed -n 's/.*tsc_khz=\([0-9]*\).*/\1/p' /proc/cmdline)"
mint-kexec kexec /boot/bzImage --initrd=/os2-initramfs.cpio.gz \
    --append="console=ttyS0 panic=-1 mint.nonce=kexec"
echo "@@ kexec-failed"
