#!/usr/bin/env bash
# Windows cross toolchain for tests/windows/run: a Debian sid chroot with Debian's rustc, cargo,
# rust-src and mingw-w64 (the host's rustup has no Windows target and cannot fetch one). The
# host's own Rust is not touched. Source this file; it defines:
#   win_toolchain_setup    create (once) and mount the chroot; prints what it did
#   win_chroot CMD...      run CMD in the chroot, with the repository bind-mounted at /src
#   win_toolchain_unmount  undo the mounts (call it from an EXIT trap)
# The chroot is cached at $PMEM_AFF4_WIN_ROOT (default ~/.cache/pmem-aff4/win-sid), so a rerun
# only mounts it. Needs root (debootstrap, chroot, mount) and the host packages debootstrap and
# wine64. Facts behind each step: ../shared/WINDOWS-BUILD.md.

WIN_ROOT=${PMEM_AFF4_WIN_ROOT:-$HOME/.cache/pmem-aff4/win-sid}
WIN_REPO=${WIN_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
WIN_PACKAGES="rustc cargo rust-src gcc-mingw-w64-x86-64 ca-certificates"
_win_mounted=()

# The mirror the host's apt uses (deb822 or one-line sources), deb.debian.org if none is found.
_win_mirror() {
  local m
  m=$(grep -hsoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list.d/*.sources \
        /etc/apt/sources.list.d/*.list /etc/apt/sources.list 2>/dev/null |
      grep -v security | head -1 | tr -d ' ')
  echo "${m:-http://deb.debian.org/debian}"
}

_win_mount() { # _win_mount SRC DEST [options]
  local src=$1 dest=$WIN_ROOT$2
  shift 2
  mkdir -p "$dest"
  # A bind left by an earlier run that died (or of another checkout) is replaced: the
  # mount must show SRC itself.
  if [ "$1" = --bind ] && mountpoint -q "$dest" &&
    [ "$(stat -c %d:%i "$src" 2>/dev/null)" != "$(stat -c %d:%i "$dest" 2>/dev/null)" ]; then
    umount -l "$dest" 2>/dev/null || true
  fi
  if ! mountpoint -q "$dest"; then
    mount "$@" "$src" "$dest"
    _win_mounted=("$dest" "${_win_mounted[@]}")
  fi
}

win_toolchain_unmount() {
  local d
  for d in "${_win_mounted[@]}"; do umount -l "$d" 2>/dev/null || true; done
  _win_mounted=()
}

win_chroot() {
  chroot "$WIN_ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
    LANG=C.UTF-8 "$@"
}

win_toolchain_setup() {
  [ "$(id -u)" = 0 ] || { echo "tests/windows: the chroot toolchain needs root (debootstrap, chroot, mount)" >&2; return 1; }
  command -v debootstrap >/dev/null || { echo "tests/windows: debootstrap missing: apt-get install debootstrap" >&2; return 1; }
  local t0=$SECONDS
  if [ ! -f "$WIN_ROOT/.pmem-aff4-ready" ]; then
    echo "windows toolchain: creating the sid chroot at $WIN_ROOT (cold start)"
    rm -rf "$WIN_ROOT"
    mkdir -p "$WIN_ROOT"
    debootstrap --variant=minbase sid "$WIN_ROOT" "$(_win_mirror)" >"$WIN_ROOT.debootstrap.log" 2>&1 ||
      { tail -20 "$WIN_ROOT.debootstrap.log" >&2; echo "tests/windows: debootstrap failed (log $WIN_ROOT.debootstrap.log)" >&2; return 1; }
    # The mirror may serve a frozen sid whose Release file has expired.
    echo 'Acquire::Check-Valid-Until "false";' >"$WIN_ROOT/etc/apt/apt.conf.d/99pmem-aff4-no-valid-until"
  fi
  cp -L /etc/resolv.conf "$WIN_ROOT/etc/resolv.conf"
  _win_mount proc /proc -t proc
  _win_mount /dev /dev --bind
  _win_mount "$WIN_REPO" /src --bind
  if [ ! -f "$WIN_ROOT/.pmem-aff4-ready" ]; then
    # Extra CA certificates of the host (a TLS-intercepting proxy), else cargo cannot fetch crates.
    mkdir -p "$WIN_ROOT/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$WIN_ROOT/usr/local/share/ca-certificates/" 2>/dev/null || true
    win_chroot sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends $WIN_PACKAGES >/dev/null && update-ca-certificates >/dev/null" ||
      { echo "tests/windows: apt-get install in the chroot failed" >&2; return 1; }
    win_chroot apt-get clean
    touch "$WIN_ROOT/.pmem-aff4-ready"
    echo "windows toolchain: chroot ready in $((SECONDS - t0)) s"
  fi
  echo "windows toolchain: $(win_chroot rustc --version), $(win_chroot x86_64-w64-mingw32-gcc -dumpversion | sed 's/^/mingw-w64 gcc /')"
}
