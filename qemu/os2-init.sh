#!/bin/sh
# /init.sh of the partition's initramfs (busybox sh), started by /init
# (qemu/init-stamp.c), which read the TSC first. Prints one marker line with
# what the partition sees (the nonce it was given on its command line, its
# CPU count and memory), then a heartbeat every second, forever.
# Lines go to the kernel log (/dev/kmsg), which the kernel prints on the
# partition's console (console=ttyS1 for os2), and to /dev/console (the tty).
# tsc= in the marker is the TSC when /init started (the end point of the
# boot-time benchmarks); read here only if this script was started otherwise.
tsc_init=${MINT_INIT_TSC:-$(/bin/tsc)}
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { echo "$*" > /dev/kmsg; echo "tty: $*"; }
# As PID 1 this script gets busybox reboot/poweroff/halt without -f as a
# signal (SIGTERM reboot, SIGUSR2 poweroff, SIGUSR1 halt) and does the real
# thing, as busybox init would. A trap runs once the current command is done
# (at most the 1 s heartbeat sleep).
trap 'say "init: reboot requested"; reboot -f' TERM
trap 'say "init: poweroff requested"; poweroff -f' USR2
trap 'say "init: halt requested"; halt -f' USR1
# Test hook: `mint.agent=1` loads mint.ko, which inside a partition runs as
# the agent (reports reboot/poweroff/halt/panic to the host's status page).
case " $(cat /proc/cmdline) " in
    *" mint.agent=1 "*) insmod /mint.ko; say "agent loaded rc=$?" ;;
esac
nonce=$(sed -n 's/.*mint\.nonce=\([^ ]*\).*/\1/p' /proc/cmdline)
memtotal=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)
say "MINT-PARTITION-UP nonce=$nonce cpus=$(nproc) memtotal_kb=$memtotal online=$(cat /sys/devices/system/cpu/online) tsc=$tsc_init"
# Test hooks: `mint.action=poweroff` powers the partition off after the marker;
# `reboot` and `halt` reboot or halt it (-f: straight to the kernel);
# `reboot-init`, `poweroff-init` and `halt-init` ask init (this script, see the
# traps above) from a child, as a plain `reboot` does; `sysrq-b` is an
# emergency restart; `panic` panics (sysrq-c), `panic-cpu1` does so on CPU 1;
# `softlockup` wedges CPU 0 in the kernel, `hardlockup` CPU 1 with interrupts
# off, `hung` blocks a task in D state; `chatty` logs 12000 numbered lines.
# The fixed CPU-bound work of the throughput benchmark (also run by the host).
work() { awk 'BEGIN { for (i = 0; i < 400000; i++) s += i % 7; print s }' > /dev/null; }
# `mint.action=bench` times `work`; `mint.action=spin` keeps the CPU busy.
# `mint.action=workload` runs one busy thread per CPU for 2 s and reports
# how busy each CPU was.
cpu_times() { grep "^cpu[0-9]" /proc/stat | awk '{ t = 0; for (i = 2; i <= NF; i++) t += $i; print $1, t, $5 }'; }
case " $(cat /proc/cmdline) " in
    *" mint.action=poweroff "*) say "powering off"; poweroff -f ;;
    *" mint.action=reboot "*) say "rebooting"; reboot -f ;;
    *" mint.action=halt "*) say "halting"; halt -f ;;
    *" mint.action=reboot-init "*) say "asking init to reboot"; reboot & ;;
    *" mint.action=poweroff-init "*) say "asking init to power off"; poweroff & ;;
    *" mint.action=halt-init "*) say "asking init to halt"; halt & ;;
    *" mint.action=sysrq-b "*) say "sysrq-b"; echo b > /proc/sysrq-trigger ;;
    *" mint.action=panic "*) say "panicking"; echo c > /proc/sysrq-trigger ;;
    *" mint.action=panic-cpu1 "*)
        say "panicking on CPU 1"
        taskset -c 1 sh -c 'echo c > /proc/sysrq-trigger'
        ;;
    *" mint.action=softlockup "*)
        # An in-tree test module spins in the kernel with preemption off
        # for two minutes; the soft-lockup detector should end it long before.
        say "wedging CPU 0 in the kernel"
        insmod /test_lockup.ko time_secs=120 disable_preempt=1
        say "test_lockup returned rc=$?"
        ;;
    *" mint.action=hardlockup "*)
        # The same module with interrupts off, on CPU 1: only the other CPU's
        # buddy detector can notice.
        say "wedging CPU 1 with interrupts off"
        taskset -c 1 insmod /test_lockup.ko time_secs=120 disable_irq=1
        say "test_lockup returned rc=$?"
        ;;
    *" mint.action=hung "*)
        # Init's child blocks in the kernel, uninterruptibly, for two minutes.
        say "blocking a task in D state"
        insmod /test_lockup.ko time_secs=120 state=D
        say "test_lockup returned rc=$?"
        ;;
    *" mint.action=chatty "*)
        # 12000 numbered lines (about 1.2 MB with their timestamps) through
        # one open /dev/kmsg (needs printk.devkmsg=on: not rate-limited).
        say "chatty begin"
        awk 'BEGIN { for (i = 0; i < 12000; i++) { printf "chatty %05d ..............................................................\n", i > "/dev/kmsg"; fflush("/dev/kmsg") } }'
        say "chatty done"
        ;;
    *" mint.action=bench "*)
        # The benchmark's CPU-bound work, timed with the TSC, five times.
        for r in 1 2 3 4 5; do
            t0=$(tsc); work; t1=$(tsc)
            say "BENCH-WORK cycles=$((t1 - t0))"
        done
        ;;
    *" mint.action=spin "*)
        say "spinning"
        while :; do :; done
        ;;
    *" mint.action=workload "*)
        cpu_times > /tmp/t0
        n=$(nproc); c=0
        while [ "$c" -lt "$n" ]; do
            taskset -c "$c" sh -c 'end=$(( $(cut -d. -f1 /proc/uptime) + 3 )); while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do :; done' &
            c=$((c + 1))
        done
        wait
        cpu_times > /tmp/t1
        say "WORKLOAD $(paste /tmp/t0 /tmp/t1 | awk '{ printf "%s=%d%% ", $1, 100 - 100 * ($6 - $3) / ($5 - $2) }')"
        ;;
    *" mint.action=memfill "*)
        # The memory scenarios (qemu/scenarios/memory.sh): fill most of the
        # RAM the host gave this partition with a pattern derived from the
        # nonce and verify it twice (qemu/memfill.c); `mint.memfill_mib=N`
        # sets the amount (default 1536 MiB).
        mib=$(sed -n 's/.*mint\.memfill_mib=\([0-9]*\).*/\1/p' /proc/cmdline)
        say "MEMFILL-MEMTOTAL $(grep MemTotal /proc/meminfo)"
        say "MEMFILL-BEGIN mib=${mib:=1536}"
        r=$(memfill "$nonce" "$mib" 2>&1)
        say "MEMFILL-RESULT rc=$? $r"
        ;;
esac
# `mint.action=devices`: the device scenario (qemu/scenarios/devices.sh): the
# functions this partition sees and their drivers, its disk (read the nonce
# file, write its own), its NIC (169.254.0.2: ping the host, fetch the host's
# file, serve one of its own), and how its MSI counts grew meanwhile.
msi_count() { awk '/PCI-MSI/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' /proc/interrupts; }
case " $(cat /proc/cmdline) " in
    *" mint.action=devices "*)
        for d in /sys/bus/pci/devices/*; do
            fns="$fns $(basename $d)=$(basename "$(readlink $d/driver)")"
        done
        say "DEV-PCI$fns"
        for d in /sys/bus/virtio/devices/*; do
            vds="$vds $(basename "$(readlink $d/driver)")"
        done
        say "DEV-VIRTIO$vds"
        say "DEV-MSI-LINES $(grep -c PCI-MSI /proc/interrupts)"
        msi0=$(msi_count)
        mkdir -p /mnt
        mount -t ext4 /dev/vda /mnt
        say "DEV-MOUNT rc=$?"
        say "DEV-DISK-NONCE $(cat /mnt/nonce)"
        echo "os2-wrote-$nonce" > /mnt/os2-file
        sync
        umount /mnt
        say "DEV-DISK-WRITTEN rc=$?"
        ip addr add 169.254.0.2/16 dev eth0 && ip link set eth0 up
        say "DEV-NIC rc=$?"
        ping -c 3 -W 5 169.254.0.1 > /tmp/ping 2>&1
        say "DEV-PING rc=$? replies=$(grep -c 'bytes from' /tmp/ping)"
        wget -q -O /tmp/hostblob http://169.254.0.1:8080/blob
        say "DEV-WGET rc=$? sha=$(sha256sum < /tmp/hostblob | cut -c1-64)"
        rm -f /tmp/hostblob
        mkdir -p /tmp/srv
        dd if=/dev/urandom of=/tmp/srv/blob bs=1M count=8 2> /dev/null
        httpd -p 169.254.0.2:8080 -h /tmp/srv
        say "DEV-SERVING sha=$(sha256sum < /tmp/srv/blob | cut -c1-64)"
        # The host fetches it (8 MiB more sent on eth0), then waits for DEV-DONE.
        tx() { sed -n 's/.*eth0://p' /proc/net/dev | awk '{ print $9 }'; }
        tx0=$(tx); n=0
        while [ "$n" -lt 90 ] && [ "$(($(tx) - tx0))" -lt 8388608 ]; do
            sleep 1; n=$((n + 1))
        done
        say "DEV-DONE msi_before=$msi0 msi_after=$(msi_count)"
        ;;
esac
# `mint.panic_after=N`: panic (sysrq-c) after the Nth heartbeat.
panic_after=$(sed -n 's/.*mint\.panic_after=\([0-9]*\).*/\1/p' /proc/cmdline)
i=0
while true; do
    i=$((i + 1))
    say "heartbeat $i uptime $(cut -d' ' -f1 /proc/uptime)"
    if [ "$i" = "$panic_after" ]; then
        say "panicking after $i heartbeats (mint.panic_after)"
        echo c > /proc/sysrq-trigger
    fi
    sleep 1
done
