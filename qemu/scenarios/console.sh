#!/bin/sh
# Consoles without serial ports: os5 has no UART at all; everything the host
# learns of it comes through its `console` and `crash` files (its own
# kernel's pstore/ramoops region in its window). os2 (with its UART, ttyS1)
# runs alongside all along and must not notice.
. /scenarios/lib.sh
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
# wait_console NAME TEXT SECONDS: waits until NAME's console holds TEXT;
# prints the milliseconds it took, or "timeout".
wait_console() {
    t0=$(now_ms)
    while ! grep -q -F -e "$2" $M/$1/console; do
        if [ $(($(now_ms) - t0)) -ge $(($3 * 1000)) ]; then echo timeout; return 1; fi
        sleep 0.02
    done
    echo $(($(now_ms) - t0))
}
# wait_state NAME STATE SECONDS: waits until NAME's state is STATE; prints
# the milliseconds it took, or "timeout <state>".
wait_state() {
    t0=$(now_ms)
    while [ "$(state $1)" != "$2" ]; do
        if [ $(($(now_ms) - t0)) -ge $(($3 * 1000)) ]; then
            echo "timeout $(state $1)"
            # For the log: the end of its console, and stop it for the next case.
            tail -n 25 $M/$1/console | sed "s/^/$1| /" >&2
            echo stop > $M/$1/state
            return 1
        fi
        sleep 0.005
    done
    echo $(($(now_ms) - t0))
}
up() { echo "MINT-PARTITION-UP nonce=$NONCE-$1 "; }
# count NAME FILE TEXT: lines of NAME's FILE (console, crash) holding TEXT.
count() { grep -c -F -e "$3" $M/$1/$2; }

insmod /mint.ko
partition os2 1 256M@0x20000000
partition os5 2-3 256M@0x30000000
echo "@@ modes $(stat -c %a $M/os5/console) $(stat -c %a $M/os5/crash)"
echo "@@ empty-before $(wc -c < $M/os5/console) $(wc -c < $M/os5/crash)"

# os2, with its UART: its console file shows what ttyS1 shows.
load os2 "$NONCE-uart"
echo start > $M/os2/state
echo "@@ os2-console-ms $(wait_console os2 "$(up uart)" 60)"

# os5, no UART: nothing of it may reach a serial port.
load os5 "$NONCE-quiet"
echo "@@ os5-cmdline $(cat $M/os5/cmdline)"
echo start > $M/os5/state
echo "@@ quiet-console-ms $(wait_console os5 "$(up quiet)" 60)"
echo "@@ quiet-ramoops-console $(count os5 console 'printk: legacy console [ramoops')"
wait_console os5 "heartbeat 2 " 30 > /dev/null
echo "@@ quiet-tail $(tail -c 200 $M/os5/console | grep -q heartbeat && echo heartbeat)"
mint-kexec status
echo "@@ status-json $(mint-kexec status --json | tr -d '\n')"
# The console survives a stop, and reads the same at every offset.
echo stop > $M/os5/state
echo "@@ quiet-after-stop $(count os5 console "$(up quiet)")"
cat $M/os5/console > /tmp/full
dd if=$M/os5/console of=/tmp/part bs=1000 skip=3 count=5 2> /dev/null
dd if=/tmp/full of=/tmp/want bs=1000 skip=3 count=5 2> /dev/null
echo "@@ offset-read $(wc -c < /tmp/part) $(cmp /tmp/part /tmp/want > /dev/null && echo same || echo differ)"
echo "@@ mint-kexec-console $(mint-kexec console os5 | grep -c -F -e "$(up quiet)")"

# Refused loads change nothing.
before=$(md5sum < $M/os5/cmdline)
try console-size-odd mint-kexec load os5 /boot/bzImage --initrd=/os2-initramfs.cpio.gz --console-size 3K
try console-size-huge mint-kexec load os5 /boot/bzImage --initrd=/os2-initramfs.cpio.gz --console-size 255M
try ramoops-append mint-kexec load os5 /boot/bzImage --initrd=/os2-initramfs.cpio.gz --append=ramoops.mem_size=0x1000
try console-write sh -c "echo x > $M/os5/console"
try crash-write sh -c "echo x > $M/os5/crash"
echo "@@ refused-unchanged $(state os5) $([ "$(md5sum < $M/os5/cmdline)" = "$before" ] && echo same || echo changed) $(count os5 console "$(up quiet)")"

# A panic: `crashed` within a second, the crash record, the kernel log line;
# the next start clears the old console.
load os5 "$NONCE-panic" "mint.action=panic"
echo start > $M/os5/state
echo "@@ panic-console-ms $(wait_console os5 panicking 60)"
echo "@@ panic-latency-ms $(wait_state os5 crashed 30)"
echo "@@ panic-state $(state os5)"
echo "@@ partitions $(tr '\n' ';' < $M/partitions)"
echo "@@ crash-first $(head -n 1 $M/os5/crash)"
echo "@@ crash-panic-line $(count os5 crash 'Kernel panic - not syncing: sysrq triggered crash')"
echo "@@ console-old-new $(count os5 console "$(up quiet)") $(count os5 console "$(up panic)")"
echo "@@ mint-kexec-crash $(mint-kexec console os5 --crash | head -n 1)"
echo "@@ status-json-crashed $(mint-kexec status --json | tr -d '\n')"
host_sleep2 panic-sleep2
echo stop > $M/os5/state
echo "@@ stop-crashed $? $(state os5) $(count os5 crash 'Kernel panic')"

# A CPU wedged in the kernel (preemption off): the soft-lockup detector
# panics it (softlockup_panic=1 in the defaults).
load os5 "$NONCE-wedge" "mint.action=softlockup"
echo start > $M/os5/state
echo "@@ wedge-console-ms $(wait_console os5 wedging 60)"
echo "@@ wedge-latency-ms $(wait_state os5 crashed 90)"
echo "@@ wedge-crash $(count os5 crash 'BUG: soft lockup') $(count os5 crash 'Kernel panic - not syncing: softlockup')"
echo "@@ wedge-crash-empty-before $(count os5 crash 'sysrq triggered crash')"

# A CPU wedged with interrupts off: the other CPU's buddy detector panics
# the partition (nmi_watchdog=panic in the defaults).
load os5 "$NONCE-hard" "mint.action=hardlockup"
echo start > $M/os5/state
echo "@@ hard-console-ms $(wait_console os5 'wedging CPU 1' 60)"
echo "@@ hard-latency-ms $(wait_state os5 crashed 90)"
echo "@@ hard-crash $(count os5 crash 'Watchdog detected hard LOCKUP') $(count os5 crash 'Kernel panic - not syncing: Hard LOCKUP')"

# A task blocked in the kernel: the hung-task detector panics the partition
# when asked to (sysctl.kernel.hung_task_panic=1; not a default, see the README).
load os5 "$NONCE-hung" "mint.action=hung sysctl.kernel.hung_task_panic=1 sysctl.kernel.hung_task_timeout_secs=5"
echo start > $M/os5/state
echo "@@ hung-console-ms $(wait_console os5 'blocking a task' 60)"
echo "@@ hung-latency-ms $(wait_state os5 crashed 90)"
echo "@@ hung-crash $(count os5 crash 'blocked for more than') $(count os5 crash 'Kernel panic - not syncing: hung_task: blocked tasks')"

# A chatty partition: the ring wraps, and still reads in order.
load os5 "$NONCE-chatty" "mint.action=chatty printk.devkmsg=on"
echo start > $M/os5/state
echo "@@ chatty-ms $(wait_console os5 'chatty done' 180)"
# Stopped first: a read of the ring while it still moves (heartbeats) can
# show a seam between two page reads (docs/sysfs-abi.md); the console stays
# readable after stop.
echo stop > $M/os5/state
cat $M/os5/console > /tmp/chatty
echo "@@ chatty-bytes $(wc -c < /tmp/chatty) banner=$(grep -c 'Linux version' /tmp/chatty)"
echo "@@ chatty-order $(grep -o 'chatty [0-9][0-9]*' /tmp/chatty | awk '{ n = $2; sub(/^0+/, "", n); n += 0; if (NR > 1 && n <= prev) back++; if (NR > 1 && n > prev + 1) { gaps++; if (gaps <= 3) at = at prev "-" n "," } if (NR == 1) first = n; prev = n } END { printf "first=%d last=%d back=%d gaps=%d lines=%d at=%s", first, prev, back, gaps, NR, at }') dropped=$(grep -c 'messages dropped' /tmp/chatty)"
grep -m 3 -B 2 -A 2 'messages dropped' /tmp/chatty | cut -c1-120 | sed 's/chatty /line /; s/^/os5| /'

echo "@@ os2-still $(state os2) $(count os2 console "$(up uart)")"
host_sleep2 end-sleep2
echo stop > $M/os2/state
echo os5 > $M/destroy
echo os2 > $M/destroy
rmmod mint
echo "@@ rmmod-rc $?"
echo "@@ online $(cat /sys/devices/system/cpu/online)"
dmesg_section
