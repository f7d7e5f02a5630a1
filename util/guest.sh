#!/bin/sh
# guest.sh - kasou's default guest: Debian 12's i386 Linux with busybox.
#
#   sh util/guest.sh [CACHEDIR]    fetch and build; prints the two paths
#   . util/guest.sh                (sourced: guest_fetch, guest_build)
#
# Fetches Debian's "686" (non-PAE) kernel package and busybox-static for
# i386 with apt-get download into CACHEDIR (default
# ${KASOU_CACHE:-$HOME/.cache/kasou}; never into the source tree) and
# builds an initramfs around busybox with kasou's own /init:
# CACHEDIR/guest/vmlinuz and CACHEDIR/guest/initrd.gz.  Boot them with
#   kasou -nographic -kernel .../vmlinuz -initrd .../initrd.gz -append console=ttyS0
# (a shell on COM1; on the VGA console too, tty1, in the window).
# `poweroff` in the guest powers the PC off and kasou exits 0.
#
# Needs dpkg's i386 architecture (dpkg --add-architecture i386 &&
# apt-get update) and the network on the first run.

GUEST_CACHE=${GUEST_CACHE:-${KASOU_CACHE:-$HOME/.cache/kasou}}

# guest_fetch: the kernel and busybox, downloaded once.  Sets $VMLINUZ and
# $BUSYBOX; on failure prints why and returns 1.
guest_fetch() {
    lcache=$GUEST_CACHE/linux
    if ! dpkg --print-foreign-architectures 2>/dev/null | grep -qx i386; then
        echo "dpkg has no i386 architecture: run" \
            "'dpkg --add-architecture i386 && apt-get update' first"
        return 1
    fi
    # The meta-package names the current 686 (non-PAE) kernel package.
    kpkg=$(apt-cache depends linux-image-686:i386 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*-686\)\(:i386\)\{0,1\}$/\1/p' | head -n 1)
    if [ -z "$kpkg" ]; then
        echo "apt-cache cannot resolve linux-image-686:i386 (apt-get update?)"
        return 1
    fi
    for old in "$lcache"/linux-image-*; do
        [ "$old" = "$lcache/$kpkg" ] || rm -rf "$old"   # superseded kernels
    done
    mkdir -p "$lcache/$kpkg" "$lcache/busybox" || return 1
    VMLINUZ=$(ls "$lcache/$kpkg"/boot/vmlinuz-* 2>/dev/null | head -n 1)
    if [ -z "$VMLINUZ" ]; then
        rm -f "$lcache"/*.deb
        (cd "$lcache" && apt-get download "$kpkg:i386") >"$lcache/apt.log" 2>&1 ||
            { tail -n 5 "$lcache/apt.log"; echo "apt-get download $kpkg:i386 failed"; return 1; }
        # Only /boot: the modules are not needed and take 300 MB.
        dpkg-deb --fsys-tarfile "$lcache/${kpkg}_"*.deb | tar -x -C "$lcache/$kpkg" ./boot ||
            { echo "cannot extract $kpkg"; return 1; }
        rm -f "$lcache"/*.deb
        VMLINUZ=$(ls "$lcache/$kpkg"/boot/vmlinuz-* 2>/dev/null | head -n 1)
        [ -n "$VMLINUZ" ] || { echo "$kpkg holds no /boot/vmlinuz-*"; return 1; }
    fi
    BUSYBOX=$lcache/busybox/bin/busybox
    if [ ! -x "$BUSYBOX" ]; then
        (cd "$lcache/busybox" && apt-get download busybox-static:i386) >"$lcache/apt.log" 2>&1 ||
            { tail -n 5 "$lcache/apt.log"; echo "apt-get download busybox-static:i386 failed"; return 1; }
        dpkg-deb -x "$lcache/busybox"/busybox-static_*.deb "$lcache/busybox" ||
            { echo "cannot extract busybox-static"; return 1; }
        rm -f "$lcache/busybox"/*.deb
        [ -x "$BUSYBOX" ] || { echo "busybox-static holds no /bin/busybox"; return 1; }
    fi
    return 0
}

# --- a newc cpio archive written by hand (no cpio(1) needed) ---

GUEST_INO=1

guest_pad() { # zero bytes up to the next multiple of 4 after $1 bytes
    head -c $(((4 - $1 % 4) % 4)) /dev/zero
}

guest_hdr() { # NAME MODE SIZE RDEVMAJOR RDEVMINOR: a header and its name
    namesize=$((${#1} + 1))
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        "$GUEST_INO" "$2" 0 0 1 0 "$3" 0 0 "$4" "$5" "$namesize" 0
    printf '%s\000' "$1"
    guest_pad $((110 + namesize))
    GUEST_INO=$((GUEST_INO + 1))
}

guest_dir() { guest_hdr "$1" 16877 0 0 0; }              # 040755

guest_file() {                                           # NAME HOSTFILE MODE
    size=$(wc -c <"$2")
    guest_hdr "$1" "$3" "$size" 0 0
    cat "$2"
    guest_pad "$size"
}

guest_chardev() { guest_hdr "$1" 8576 0 "$2" "$3"; }      # 020600 MAJOR MINOR

# The guest's /init: mount the kernel's file systems, install busybox's
# applets, print who we are, and keep a shell on the console (COM1 with
# console=ttyS0) and one on the VGA console (tty1).  busybox's poweroff,
# reboot and halt signal PID 1, which this script turns into the real
# thing.
guest_init() {
    cat <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin HOME=/ TERM=linux
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "hello from the kasou guest" >/etc/motd
md5sum /bin/busybox >/etc/busybox.md5
trap 'sync; poweroff -f' USR2
trap 'sync; reboot -f' TERM
trap 'sync; halt -f' USR1
echo "kasou-linux: userspace up"
echo
echo "kasou guest: Linux $(uname -r) $(uname -m), busybox $(busybox | head -n 1 | cut -d' ' -f2)"
echo "Type 'poweroff' to power the PC off."
echo "kasou-linux: shell"
while :; do
    setsid cttyhack sh -l &
    if [ -e /dev/tty1 ] && ! grep -q 'console=tty1' /proc/cmdline; then
        setsid sh -c 'echo "kasou guest on tty1"; exec sh -l' </dev/tty1 >/dev/tty1 2>&1 &
    fi
    wait
done
INIT
}

# guest_build DIR: DIR/initrd.gz from $BUSYBOX and guest_init.
guest_build() {
    guest_init >"$1/init.sh" || return 1
    {
        for d in bin dev etc proc sys tmp; do
            guest_dir "$d"
        done
        guest_chardev dev/console 5 1
        guest_file bin/busybox "$BUSYBOX" 33261          # 0100755
        guest_file init "$1/init.sh" 33261
        guest_hdr "TRAILER!!!" 0 0 0 0
    } | gzip -9 >"$1/initrd.gz.new" && mv "$1/initrd.gz.new" "$1/initrd.gz"
}

guest_main() {
    [ $# -gt 0 ] && GUEST_CACHE=$1
    guest_fetch || return 1
    mkdir -p "$GUEST_CACHE/guest" || return 1
    cp "$VMLINUZ" "$GUEST_CACHE/guest/vmlinuz" && guest_build "$GUEST_CACHE/guest" || return 1
    echo "$GUEST_CACHE/guest/vmlinuz"
    echo "$GUEST_CACHE/guest/initrd.gz"
}

# Run (not sourced): build and print the paths.
case $0 in
*guest.sh) guest_main "$@" ;;
esac
