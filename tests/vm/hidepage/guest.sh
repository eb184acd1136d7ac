# Sourced by the guest's /init (tests/vm/init.sh), issue 10: pmem's read methods and the
# anti-forensic test. Uses init.sh's step(), $R and $nonce; see README.md here.

# While pmem.ko is loaded (read_method=auto), before the imager's acquisitions.
hidepage_start() {
	cat /sys/module/pmem/parameters/read_method >$R/read_method.default 2>&1
	# The cost of each method: the whole device to /dev/null, timed with /proc/uptime
	# (busybox dd prints no rate), before anything is hidden (kmap would stop there).
	for m in pte-remap kmap; do
		echo $m >/sys/module/pmem/parameters/read_method
		sync
		echo 3 >/proc/sys/vm/drop_caches
		t0=$(cut -d' ' -f1 /proc/uptime)
		dd if=/dev/pmem of=/dev/null bs=1M 2>$R/speed_$m.err
		echo $? >$R/speed_$m.rc
		t1=$(cut -d' ' -f1 /proc/uptime)
		echo "$t0 $t1" >$R/speed_$m.time
	done
	echo auto >/sys/module/pmem/parameters/read_method
	# The rootkit: a marker page removed from the direct map, for the rest of the run.
	step hide_insmod insmod /hidepage.ko nonce=$nonce
	cat /sys/module/hidepage/parameters/phys >$R/hidden.phys 2>&1
	h=$(cat $R/hidden.phys)
	step dd_hidden_remap dd if=/dev/pmem of=$R/dd-hidden-remap bs=4096 skip=$((h / 4096)) count=1
	echo kmap >/sys/module/pmem/parameters/read_method
	step dd_hidden_kmap dd if=/dev/pmem of=$R/dd-hidden-kmap bs=4096 skip=$((h / 4096)) count=1
	# Every page through both methods at once (two descriptors, the ioctls).
	echo auto >/sys/module/pmem/parameters/read_method
	step agree /bin/agree
	echo kmap >/sys/module/pmem/parameters/read_method
	step pmem_kmap pmem-aff4 -v --source pmem -o $R/pmem-kmap.aff4 --json
	echo auto >/sys/module/pmem/parameters/read_method
	cat /sys/module/pmem/parameters/read_method >$R/read_method.after 2>&1
	# The kcore and pmem (pte-remap) acquisitions of init.sh follow with the page hidden.
}

# At the end, before the kernel log is saved.
hidepage_end() {
	step hide_rmmod rmmod hidepage
}
