#!/bin/sh
# /init of the test guest (busybox; built into the initramfs by tests/vm/run).
# Kernel command line: pmemtest_mode=probe|full|distro|refusal pmemtest_nonce=HEX pmemtest_rng=0|1
# full: our modules (pmem.ko, crashdev.ko, hidepage.ko) and every source; distro: only the
# static binary and the distribution's own modules (a kernel we built nothing for).
# Results go to /out/r on the virtio disk (ext4, made by the host). Progress lines on
# the console start with "PMEMTEST:"; the host waits for "READY-FOR-PMEMSAVE" and "DONE".
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1

say() { echo "PMEMTEST: $*"; }
off() {
	sync
	umount /out 2>/dev/null
	say "DONE $*"
	poweroff -f
}

mode=full
nonce=
rng=1
for w in $(cat /proc/cmdline); do
	case $w in
	pmemtest_mode=*) mode=${w#*=} ;;
	pmemtest_nonce=*) nonce=${w#*=} ;;
	pmemtest_rng=*) rng=${w#*=} ;;
	esac
done
if [ "$mode" = probe ]; then
	say "PROBE-OK"
	poweroff -f
fi
# lmap's refusals (issue 11), in a boot with module.sig_enforce=1 or lockdown=integrity:
# each attempt prints one line "PMEMTEST: REFUSAL <what> rc=<exit code> <error line>".
if [ "$mode" = refusal ]; then
	mkdir -p /sys/kernel/security /tmp
	mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
	refusal() {
		what=$1
		shift
		err=$(timeout -s KILL 120 pmem-aff4 --source lmap -o /tmp/refused.aff4 2>&1 >/dev/null)
		rc=$?
		say "REFUSAL $what rc=$rc $(echo "$err" | grep -m1 'error:')"
	}
	refusal first
	grep -q pmem_lmap /proc/modules && say "REFUSAL-LEFT-MODULE"
	echo 1 >/proc/sys/kernel/modules_disabled
	refusal modules_disabled
	say "DONE ok"
	poweroff -f
fi

for m in $(cat /lib/mods/order); do
	insmod "/lib/mods/$m" || say "insmod $m failed"
done
i=0
while { [ ! -b /dev/vda ] || [ ! -b /dev/vdb ]; } && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
mkdir -p /out
mount -t ext4 /dev/vda /out || off "FATAL: cannot mount /dev/vda"
R=/out/r
mkdir -p $R

# step NAME CMD...: stdout -> NAME.out, stderr -> NAME.err, exit code -> NAME.rc
# (a step that hangs is killed after 300 s: exit code 137)
step() {
	name=$1
	shift
	# Drop the page cache first: it holds earlier results, which would otherwise be
	# acquired too (and they compress badly).
	sync
	echo 3 >/proc/sys/vm/drop_caches
	t0=$(date +%s)
	timeout -s KILL 300 "$@" >"$R/$name.out" 2>"$R/$name.err"
	rc=$?
	echo $rc >"$R/$name.rc"
	echo $(($(date +%s) - t0)) >"$R/$name.secs"
	say "step $name rc=$rc ($(($(date +%s) - t0)) s)"
}

# Issue 10: pmem's read methods and the anti-forensic test (hidepage_start, hidepage_end).
[ "$mode" = full ] && . /hidepage.sh

# With a virtio-rng device (pmemtest_rng=1) wait until the kernel's CRNG is ready; the
# boot without one (pmemtest_rng=0: qemu64, no RDRAND, no virtio-rng, as in early boot
# or a minimal VM) starts the imager while the CRNG is not ready: it must not wait for it.
i=0
while [ "$rng" = 1 ] && ! dmesg | grep -q 'crng init done' && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
dmesg | grep 'crng init done' >$R/crng
cat /proc/iomem >$R/iomem
cat /proc/version >$R/version
cat /proc/cmdline >$R/cmdline
cat /sys/kernel/vmcoreinfo >$R/vmcoreinfo 2>&1
grep -E '^(flags|model name)' /proc/cpuinfo | sort -u >$R/cpuinfo
grep -o 'la57' /proc/cpuinfo | head -1 >$R/la57

# 8192 pages (32 MiB) with a known pattern, locked in RAM for the rest of the run: many
# pages, so that some land in memory the kernel freed after boot (e.g. the gap between
# its rodata and data), which sources map in unusual ways.
/bin/marker "$nonce" 8192 >$R/marker.txt 2>$R/marker.err &
i=0
while ! grep -q MARKER-READY $R/marker.txt && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
grep -q MARKER-READY $R/marker.txt || say "marker did not start: $(cat $R/marker.err)"

kc=$(grep ' : Kernel code$' /proc/iomem | head -1 | tr -d ' ' | cut -d: -f1)
ks=$((0x${kc%-*}))
ke=$((0x${kc#*-} + 1))
ram_end=$(grep '^[0-9a-f]*-[0-9a-f]* : System RAM$' /proc/iomem | tail -1 | cut -d' ' -f1)
ram_end=$((0x${ram_end#*-} + 1))
markers=$(sed -n 's/^page [0-9]* //p' $R/marker.txt | head -4 | tr '\n' ' ')
# The RAM part of pages that are only partly RAM (a System RAM range starting or ending
# inside a page): /dev/pmem must read these bytes, /proc/kcore cannot.
partial=
for l in $(grep '^[0-9a-f]*-[0-9a-f]* : System RAM$' /proc/iomem | cut -d' ' -f1); do
	s=$((0x${l%-*}))
	e=$((0x${l#*-} + 1))
	[ $((s / 4096)) -eq $(((e - 1) / 4096)) ] && continue
	[ $((s % 4096)) -ne 0 ] && partial="$partial$(printf '0x%x:0x%x' $s $((4096 - s % 4096))),"
	[ $((e % 4096)) -ne 0 ] && partial="$partial$(printf '0x%x:0x%x' $((e / 4096 * 4096)) $((e % 4096))),"
done
# The kernel's own view of KASLR: the virtual address of _text (kallsyms) and where the
# VMCOREINFO note is (its physical address and size, hex).
grep -m1 -E ' [tT] _text$' /proc/kallsyms >$R/kallsyms_text
# (the file says "%pa %x": "0x00000000011e2000 1024")
read -r vci_addr vci_size </sys/kernel/vmcoreinfo
vci_addr=${vci_addr#0x}
# The host pauses the guest and saves these ranges with QMP pmemsave (ground truth).
say "READY-FOR-PMEMSAVE kcode=$(printf '0x%x,0x%x' $ks $ke) vmcoreinfo=0x$vci_addr:0x$vci_size markers=$(echo $markers | tr ' ' ',') partial=$partial"

if [ "$mode" = full ]; then
step insmod insmod /pmem.ko
ls -l /dev/pmem >$R/devpmem.ls 2>&1
# Direct checks of the module with dd.
step dd_kcode dd if=/dev/pmem of=$R/dd-kcode-page bs=4096 skip=$((ks / 4096)) count=1
step dd_unaligned dd if=/dev/pmem of=$R/dd-unaligned bs=1 skip=$((ks + 4000)) count=200
k=0
for a in $markers; do
	step dd_marker$k dd if=/dev/pmem of=$R/dd-marker$k bs=4096 skip=$((a / 4096)) count=1
	k=$((k + 1))
done
# 16 single-byte reads across the end of a System RAM range inside a page: 8 RAM bytes,
# then 8 bytes of non-RAM (zeros).
edge=$(echo "$partial" | tr ',' '\n' | grep -m1 '^0x[0-9a-f]*000:')
if [ -n "$edge" ]; then
	ee=$((${edge%:*} + ${edge#*:}))
	echo "$(printf '0x%x' $((ee - 8)))" >$R/ram-edge
	step dd_ram_edge dd if=/dev/pmem of=$R/dd-ram-edge bs=1 skip=$((ee - 8)) count=16
fi
step dd_past_end dd if=/dev/pmem of=$R/dd-past-end bs=4096 skip=$((ram_end / 4096)) count=1
step dd_full dd if=/dev/pmem of=$R/pmem.dd bs=1M
hidepage_start
fi

# The imager.
step kcore pmem-aff4 -v --source kcore -o $R/kcore.aff4 --json
step devmem pmem-aff4 -v --source devmem -o $R/devmem.aff4
if [ "$mode" = full ]; then
step pmem pmem-aff4 -v --source pmem -o $R/pmem.aff4 --json
# auto must choose /dev/pmem; interrupted with SIGINT (Ctrl-C) after 4 s, it must close
# a valid container marked incomplete (exit 130), or have finished (exit 0).
step auto timeout -s INT 4 pmem-aff4 -v -o $R/auto.aff4 --json
step rmmod rmmod pmem
ls /dev/pmem >$R/devpmem-after-rmmod.ls 2>&1
fi

# lmap (issue 11): no module built for this kernel. The guest has only the distribution's
# own modules (a subset of the package's /lib/modules tree, copied by the host); pmem-aff4
# injects its parasite into one of them, loads it, reads, and unloads it.
if [ -d "/lib/modules/$(uname -r)" ]; then
	step lmap pmem-aff4 -v --source lmap -o $R/lmap.aff4 --json
	cat /proc/modules >$R/lmap-modules.txt
	grep pmem_lmap /proc/devices >$R/lmap-devices.txt
	ls -d /dev/pmem-lmap.* /tmp/pmem-lmap.* >$R/lmap-leftovers.txt 2>/dev/null
	# Ctrl-C (SIGINT) in the middle: the module must be unloaded all the same.
	step lmap_int timeout -s INT 3 pmem-aff4 -v --source lmap -o $R/lmap-int.aff4 --json
	cat /proc/modules >$R/lmap-int-modules.txt
	rm -f $R/lmap-int.aff4
fi
# What a responder types on a host without our module: no flags at all (auto picks
# /proc/kcore); stderr is not a terminal, so it holds the one-line summary.
# The footprint test: right before it, a helper fills 3/4 of the available memory
# (at most 512 MiB) with marker pages and exits, so they sit on the free lists like a
# dead process's memory; the host counts how many are intact in the image and how
# many image pages are blocks of the container (written to this ext4 disk).
avail=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
fpages=$((avail / 4 * 3 / 4))
[ $fpages -gt 131072 ] && fpages=131072
echo $fpages >$R/freed.pages
dmesg | grep 'crng init done' >$R/crng-at-plain
step plain sh -c "/bin/marker $nonce $fpages free >/dev/null && exec pmem-aff4 -o $R/plain.aff4"
# -o - streams the container: here onto the raw second disk (the host cuts it to the
# size the JSON summary, on stderr, gives and opens it).
if [ "$mode" = full ]; then
step stream sh -c "pmem-aff4 --source kcore -o - --json >/dev/vdb"

# Issue 9: a live acquisition killed with SIGKILL once 24 MiB of its container reached
# the disk; the host recovers the partial file (--recover) and checks what it holds.
# killed.out says how big the partial file was and whether the process was still there.
step killed sh -c '
	pmem-aff4 --source kcore -o '$R'/killed.aff4 2>'$R'/killed.log &
	pid=$!
	i=0 s=0
	while [ $i -lt 1200 ] && kill -0 $pid 2>/dev/null; do
		s=$(stat -c %s '$R'/killed.aff4.partial 2>/dev/null || echo 0)
		[ "$s" -ge 25165824 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL $pid
	wait $pid
	echo "killed=$? partial_bytes=$s"
	sleep 0.2
	if kill -0 $pid 2>/dev/null; then echo "alive=yes"; else echo "alive=no"; fi'
fi

if [ "$mode" = full ]; then
# The /dev/crash source, through the test-only module.
step insmod_crash insmod /crashdev.ko
step dd_crash_kcode dd if=/dev/crash of=$R/dd-crash-kcode-page bs=4096 skip=$((ks / 4096)) count=1
step crash pmem-aff4 -v --source crash -o $R/crash.aff4 --json
step rmmod_crash rmmod crashdev

hidepage_end
fi
dmesg >$R/dmesg
cat /proc/sys/kernel/tainted >$R/tainted
off ok
