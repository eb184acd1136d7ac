# Sourced by tests/vm/run (issue 10): host-side checks of pmem's read methods and of the
# anti-forensic test, per boot. Uses run's check/fail/rc_is/same_ranges/vmtool and its
# loop variables (p, cpu, out, R, bin, venv, kstart, kend, klen, ram_end). See README.md here.

hidepage_build() { # hidepage_build SRC KDIR: builds hidepage.ko in SRC/tests/vm/hidepage
  cp -r "$here/hidepage" "$1/tests/vm/"
  timeout 300 make -C "$1/tests/vm/hidepage" KDIR="$2" W=1 >"$1/tests/vm/hidepage/build.log" 2>&1 ||
    fatal "module build in tests/vm/hidepage failed: $(tail -20 "$1/tests/vm/hidepage/build.log")"
  check "hidepage.ko (test-only rootkit) builds with zero warnings (W=1)" \
    bash -c "! grep -iE 'warning|error' '$1/tests/vm/hidepage/build.log'"
  timeout 120 gcc -static -O2 -Wall -Wextra -Werror -I "$repo/drivers/linux/pmem" \
    -o "$1/agree" "$here/hidepage/agree.c" || fatal "cannot build tests/vm/hidepage/agree.c"
  # The remap core must build without kernel headers (for the lmap parasite).
  check "pte_remap.c builds freestanding, without kernel headers (gcc -ffreestanding -nostdinc -Werror)" \
    gcc -c -ffreestanding -nostdinc -fno-pic -mcmodel=kernel -Wall -Wextra -Werror -O2 \
    -o "$1/pte_remap.o" "$repo/drivers/linux/pmem/pte_remap.c"
}

hidepage_initramfs() { # hidepage_initramfs ROOT SRC
  cp "$2/tests/vm/hidepage/hidepage.ko" "$1/hidepage.ko"
  cp "$here/hidepage/guest.sh" "$1/hidepage.sh"
  cp "$2/agree" "$1/bin/agree"
}

hc() { python3 "$here/hidepage/hidecheck.py" "$@"; }

hidepage_checks() {
  local h levels m c C raw v
  levels=4
  [ "$cpu" != max ] || levels=5
  check "$p pmem.ko reads with pte-remap by default (read_method parameter)" grep -qx pte-remap "$R/read_method.default"
  check "$p ... its load line names the method and ${levels}-level paging" \
    grep -q "pmem: /dev/pmem ready (RAM ends at 0x[0-9a-f]*, read method pte-remap, ${levels}-level paging)" "$R/dmesg"
  check "$p ... no read method was refused or fell back (kernel log)" bash -c "! grep -E 'pmem: .*(refused|reading with kmap)' '$R/dmesg'"
  check "$p ... every rogue PTE was found restored at rmmod (kernel log)" bash -c "! grep 'was not restored' '$R/dmesg'"
  for m in pte-remap kmap; do
    check "$p dd of all of /dev/pmem to /dev/null with $m succeeds" rc_is "$R/speed_$m" 0
    v=$(hc speed "$R/speed_$m.time" "$ram_end" 2>&1) && echo "      $p read cost, $m: $v (dd bs=1M of the whole device to /dev/null)"
  done
  check "$p hidepage.ko (the rootkit) loads" rc_is "$R/hide_insmod" 0
  check "$p ... and the marker page's direct-map address faults afterwards" \
    grep -q 'hidepage: marker page at physical 0x[0-9a-f]* removed from the direct map (a direct-map read now faults)' "$R/dmesg"
  h=$(cat "$R/hidden.phys" 2>/dev/null)
  if ! [[ $h =~ ^[0-9]+$ ]] || [ "$h" -eq 0 ]; then
    fail "$p the hidden page's physical address is known" "hidden.phys: $h"
    return
  fi
  echo "      $p hidden page at $(printf '%#x' "$h")"
  hc expected "$(cat "$out/nonce")" "$out/hidden.expected"
  check "$p dd of the hidden page, pte-remap: the marker, byte-exact" vmtool cmp "$R/dd-hidden-remap" 0 "$out/hidden.expected" 0 4096
  check "$p dd of the hidden page, kmap: the read fails (EIO), no marker" \
    bash -c "[ \"\$(cat '$R/dd_hidden_kmap.rc')\" != 0 ] && grep -q 'Input/output error' '$R/dd_hidden_kmap.err' && ! grep -q HIDDEN '$R/dd-hidden-kmap'"

  # Both methods at once, page by page, over all of System RAM (agree.c).
  check "$p agree: pte-remap and kmap read every System RAM page, compared at once" rc_is "$R/agree" 0
  v=$(grep '^AGREE ' "$R/agree.out" 2>/dev/null)
  echo "      $p $v"
  check "$p agree: no page differs between pte-remap and kmap (a changing page is re-read)" \
    bash -c "grep -q '^AGREE .* differ=0 kmap_eio=1 remap_err=0\$' '$R/agree.out' || { grep -v '^AGREE' '$R/agree.out' | head; exit 1; }"
  # Pages holding the reader's own state (its kernel stack and task, the per-CPU area)
  # never agree but differ in few bytes; they are a handful.
  check "$p agree: at most 64 pages differ only in the reader's own state (<= 2 KiB of a page)" \
    bash -c "v=\$(sed -n 's/^AGREE .* small=\([0-9]*\) .*/\1/p' '$R/agree.out'); [ -n \"\$v\" ] && [ \"\$v\" -le 64 ] || { echo \"small=\$v\"; exit 1; }"
  check "$p agree: the one page kmap cannot read is the hidden one, and pte-remap reads it" \
    grep -qx "kmap-eio $(printf '%#x' "$h") remap=ok errno=5" "$R/agree.out"

  # The containers: kcore (zero-fills), pmem (pte-remap, the marker), pmem-kmap (unreadable).
  # The hidden page of kcore and pmem is read with pyaff4 (one page, no export).
  head -c 4096 /dev/zero >"$out/zero.page"
  for c in kcore pmem pmem-kmap; do
    C=$R/$c.aff4
    if [ "$c" = pmem-kmap ]; then
      check "$p $c: acquisition exits 0" rc_is "$R/pmem_kmap" 0
      [ -f "$C" ] || { fail "$p $c: no container $C"; continue; }
      check "$p $c: pmem-aff4 --verify" timeout 300 "$bin" -q --verify "$C"
      check "$p $c: the map's RAM == /proc/iomem System RAM" same_ranges "$C" "$R/iomem"
      check "$p $c: the JSON summary says read_method kmap and >= 1 unreadable page" python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(0 if r.get('read_method') == 'kmap' and r['unreadable_pages'] >= 1 else 'read_method=%r unreadable_pages=%r' % (r.get('read_method'), r['unreadable_pages']))" "$R/pmem_kmap.out"
    fi
    [ -f "$C" ] || { fail "$p $c: no container $C"; continue; }
    timeout 120 "$bin" --list --json "$C" >"$C.hp.list.json" || { fail "$p $c: pmem-aff4 --list --json"; continue; }
    timeout 120 "$bin" -V --json "$C" >"$C.hp.view.json" || { fail "$p $c: pmem-aff4 -V --json"; continue; }
    case $c in
      kcore)
        check "$p kcore: no pmem:readMethod (not our module)" bash -c "! python3 '$here/hidepage/hidecheck.py' rdf '$C.hp.view.json' readMethod 2>/dev/null"
        check "$p kcore: the hidden page is NOT the marker: /proc/kcore zero-filled it (pyaff4 reads zeros)" \
          timeout 300 "$venv/bin/python" "$here/vmtool.py" pyaff4-cmp "$C" "$h" "$out/zero.page"
        check "$p kcore: ... and the map calls it data (zeros), not unreadable: indistinguishable from real zeros" \
          bash -c "k=\$(python3 '$here/vmtool.py' map-kind '$C.hp.list.json' $h 4096) && case \$k in *unreadable*|*unknown*|*hole*) echo \$k; exit 1;; esac"
        ;;
      pmem)
        check "$p pmem: pmem:readMethod is pte-remap (RDF)" bash -c "[ \"\$(python3 '$here/hidepage/hidecheck.py' rdf '$C.hp.view.json' readMethod)\" = pte-remap ]"
        check "$p pmem: the summary names the read method" grep -q 'read method pte-remap' "$R/pmem.out"
        check "$p pmem (pte-remap): the hidden page in the container is the marker, byte-exact (pyaff4)" \
          timeout 300 "$venv/bin/python" "$here/vmtool.py" pyaff4-cmp "$C" "$h" "$out/hidden.expected"
        check "$p pmem (pte-remap): the hidden page is data in the map" \
          bash -c "[ \"\$(python3 '$here/vmtool.py' map-kind '$C.hp.list.json' $h 4096)\" = data ]"
        ;;
      pmem-kmap)
        raw=$out/$c.hp.raw
        check "$p $c: --export raw" timeout 300 "$bin" -q --export "$raw" "$C"
        check "$p pmem-kmap: pmem:readMethod is kmap (RDF)" bash -c "[ \"\$(python3 '$here/hidepage/hidecheck.py' rdf '$C.hp.view.json' readMethod)\" = kmap ]"
        check "$p pmem-kmap: the hidden page is aff4:UnreadableData (the fault is reported, not zero-filled)" \
          bash -c "[ \"\$(python3 '$here/vmtool.py' map-kind '$C.hp.list.json' $h 4096)\" = unreadable ]"
        check "$p pmem-kmap: the hidden page's range is in the summary's unreadable_ranges" python3 -c "
import json, sys
h = int(sys.argv[2])
r = json.load(open(sys.argv[1]))
sys.exit(0 if any(u['start'] <= h and h + 4096 <= u['end'] for u in r['unreadable_ranges']) else 'unreadable_ranges=%r' % r['unreadable_ranges'][:8])" "$R/pmem_kmap.out" "$h"
        check "$p pmem-kmap: no marker in the export at the hidden page" bash -c "! grep -q HIDDEN <(dd if='$raw' bs=4096 skip=$((h / 4096)) count=1 2>/dev/null)"
        check "$p pmem-kmap: Kernel code ($kstart-$kend) in the export == pmemsave" \
          vmtool cmp "$raw" "$kstart" "$out/kcode.pmemsave" 0 "$klen" "$out/kcode.late.pmemsave"
        check "$p pmem-kmap: all 8192 marker pages in the export at their physical addresses" \
          vmtool marker-check "$raw" "$(cat "$out/nonce")" "$R/marker.txt"
        rm -f "$raw"
        ;;
    esac
  done
  check "$p rmmod hidepage (the page restored and freed)" rc_is "$R/hide_rmmod" 0
  check "$p ... kernel log says so" grep -q 'hidepage: page at physical 0x[0-9a-f]* restored and freed' "$R/dmesg"
  check "$p read_method is writable at run time and back to its default" grep -qx pte-remap "$R/read_method.after"
}
