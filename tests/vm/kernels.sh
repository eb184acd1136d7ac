#!/usr/bin/env bash
# The second kernel generation of the real-kernel tests: Debian's 6.12 cloud kernel from
# bookworm-backports, fetched with apt-get download into a private apt state and unpacked
# with dpkg-deb -x (never installed on this machine); cached in ~/.cache/pmem-aff4-vm.
#
# Sourced by tests/vm/run (fetch_bpo_kernel). Run directly, it fetches that kernel and makes
# sure bookworm's 6.1 cloud kernel modules are installed (/lib/modules/<abi>), for the lmap
# injector's tests on real modules (drivers/tests/lmap_inject.rs): .ci/run does this before
# the cargo tests. Prints "GENERATION ABI MODULES-DIR" per kernel.
# Debian's 6.12 cloud kernel from bookworm-backports, fetched with apt-get download into a
# private apt state and unpacked with dpkg-deb -x (never installed on this machine); cached
# in ~/.cache/pmem-aff4-vm. Its modules are xz-compressed (.ko.xz).
# cloud_abi [APT-OPTIONS...]: the ABI the metapackage linux-image-cloud-amd64 names, e.g.
# 6.1.0-57-cloud-amd64 (empty if the package lists do not know it).
cloud_abi() {
  apt-cache "$@" depends linux-image-cloud-amd64 2>/dev/null |
    sed -n 's/^ *Depends: linux-image-\(.*-cloud-amd64\)$/\1/p' | head -1
}

fetch_bpo_kernel() { # sets bpo_abi, bpo_root
  local cache=${XDG_CACHE_HOME:-$HOME/.cache}/pmem-aff4-vm uri st opts
  st=$cache/apt
  mkdir -p "$st/lists/partial" "$st/cache/archives/partial" "$st/parts" "$cache/kernels"
  uri=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null |
    grep -v security | head -1)
  [ -n "$uri" ] || uri=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\(http[^ ]*\) bookworm .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -1)
  uri=${uri:-http://deb.debian.org/debian}
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" >"$st/parts/bookworm-backports.sources"
  opts=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$st/parts" -o Dir::State::Lists="$st/lists"
    -o Dir::Cache="$st/cache" -o Apt::Key::gpgvcommand=/usr/bin/gpgv)
  timeout 300 apt-get "${opts[@]}" update -qq >"$work/apt-bpo.log" 2>&1 || true
  # Pinned: 6.12.95 (the metapackage's choice in 2026-12) oopses early in boot about every
  # second time under this qemu's TCG (NULL dereference, double fault in the slab
  # allocator; tests/vm/README.md, Known findings); 6.12.94 booted 11 of 11 times.
  bpo_abi=${PMEM_VM_BPO_ABI:-6.12.94+deb12-cloud-amd64}
  apt-cache "${opts[@]}" show "linux-image-$bpo_abi" >/dev/null 2>&1 ||
    bpo_abi=$(cloud_abi "${opts[@]}")
  if [ -z "$bpo_abi" ]; then # offline: the newest one already unpacked
    bpo_abi=$(ls -1v "$cache/kernels" 2>/dev/null | tail -1)
    [ -n "$bpo_abi" ] && [ -f "$cache/kernels/$bpo_abi/READY" ] ||
      fatal "cannot resolve bookworm-backports' cloud kernel from $uri: $(tail -3 "$work/apt-bpo.log")"
  fi
  bpo_root=$cache/kernels/$bpo_abi
  if [ ! -f "$bpo_root/READY" ]; then
    say "fetching linux-image-$bpo_abi from bookworm-backports (apt-get download, dpkg-deb -x)"
    rm -rf "$bpo_root" "$cache/deb"
    mkdir -p "$cache/deb"
    (cd "$cache/deb" && timeout 600 apt-get "${opts[@]}" download "linux-image-$bpo_abi") >>"$work/apt-bpo.log" 2>&1 ||
      fatal "apt-get download linux-image-$bpo_abi failed: $(tail -3 "$work/apt-bpo.log")"
    dpkg-deb -x "$cache/deb"/linux-image-*.deb "$bpo_root" || fatal "dpkg-deb -x of linux-image-$bpo_abi failed"
    rm -rf "$cache/deb"
    touch "$bpo_root/READY"
  fi
  [ -f "$bpo_root/boot/vmlinuz-$bpo_abi" ] && [ -d "$bpo_root/lib/modules/$bpo_abi" ] ||
    fatal "$bpo_root lacks boot/vmlinuz-$bpo_abi or lib/modules/$bpo_abi"
  # The package's postinst would run depmod: modules.dep, for the guest's module order.
  [ -f "$bpo_root/lib/modules/$bpo_abi/modules.dep" ] || depmod -b "$bpo_root" "$bpo_abi" ||
    fatal "depmod -b $bpo_root $bpo_abi failed"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  say() { echo "[kernels] $*" >&2; }
  fatal() { echo "FATAL: $*" >&2; exit 1; }
  work=$(mktemp -d /tmp/pmem-aff4-kernels.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  [ "$(id -u)" = 0 ] || fatal "tests/vm/kernels.sh needs root (apt-get)"
  abi61=$(cloud_abi)
  if [ -z "$abi61" ]; then
    timeout 300 apt-get update -qq || true
    abi61=$(cloud_abi)
  fi
  [ -n "$abi61" ] || fatal "cannot resolve the 6.1 cloud kernel (apt-cache depends linux-image-cloud-amd64)"
  if [ ! -d "/lib/modules/$abi61/kernel" ]; then
    img=linux-image-$abi61-unsigned
    apt-cache show "$img" >/dev/null 2>&1 || img=linux-image-$abi61
    say "installing $img"
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends "$img" kmod >"$work/apt.log" 2>&1 ||
      fatal "apt-get install $img failed: $(tail -5 "$work/apt.log")"
  fi
  fetch_bpo_kernel
  echo "6.1 $abi61 /lib/modules/$abi61"
  echo "6.12 $bpo_abi $bpo_root/lib/modules/$bpo_abi"
fi
