#!/bin/sh
# linux.sh KASOU [CACHEDIR] - boot Debian 12's 32-bit Linux to a shell.
#
# Fetches Debian's i386 "686" (non-PAE) kernel and busybox-static with
# apt-get download into CACHEDIR (default ${KASOU_CACHE:-$HOME/.cache/kasou};
# never into the source tree), builds an initramfs on the fly, boots it
# with -kernel/-initrd/-append on the serial console and checks that
# userspace ran: the init script prints a marker, uname -a and
# /proc/cpuinfo, then starts an interactive shell on ttyS0; the test types
# a command into it (through kasou's standard input, COM1's receiver) and
# then reboot -f, which -no-reboot turns into exit status 0.
#
# Needs the i386 architecture in dpkg (dpkg --add-architecture i386 &&
# apt-get update) and the network on the first run; nothing is
# installed.  A failed download fails the test: there is no skip.
# KASOU_LINUX_TIMEOUT overrides the guest time limit (seconds);
# KASOU_LINUX_LOG=FILE keeps the guest's serial output.
# Prints "ok - NAME" / "not ok - NAME" and "N passed, M failed".
set -u

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 KASOU [CACHEDIR]" >&2
    exit 2
fi
KASOU=$1
CACHE=${2:-${KASOU_CACHE:-$HOME/.cache/kasou}}/linux
# Guest time limit: the boot takes about 1.5 minutes on the interpreter.
TIMEOUT=${KASOU_LINUX_TIMEOUT:-600}
TMP_PREFIX=kasou-linux
. "$(dirname "$0")/lib.sh"

# fetch: the kernel and busybox, downloaded once into $CACHE.  Sets
# $VMLINUZ and $BUSYBOX; on failure prints why and returns 1.
fetch() {
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
    for old in "$CACHE"/linux-image-*; do
        [ "$old" = "$CACHE/$kpkg" ] || rm -rf "$old"   # superseded kernels
    done
    mkdir -p "$CACHE/$kpkg" "$CACHE/busybox" || return 1
    VMLINUZ=$(ls "$CACHE/$kpkg"/boot/vmlinuz-* 2>/dev/null | head -n 1)
    if [ -z "$VMLINUZ" ]; then
        rm -f "$CACHE"/*.deb
        (cd "$CACHE" && apt-get download "$kpkg:i386") >"$tmp/apt" 2>&1 ||
            { tail -n 5 "$tmp/apt"; echo "apt-get download $kpkg:i386 failed"; return 1; }
        # Only /boot: the modules are not needed and take 300 MB.
        dpkg-deb --fsys-tarfile "$CACHE/${kpkg}_"*.deb | tar -x -C "$CACHE/$kpkg" ./boot ||
            { echo "cannot extract $kpkg"; return 1; }
        rm -f "$CACHE"/*.deb
        VMLINUZ=$(ls "$CACHE/$kpkg"/boot/vmlinuz-* 2>/dev/null | head -n 1)
        [ -n "$VMLINUZ" ] || { echo "$kpkg holds no /boot/vmlinuz-*"; return 1; }
    fi
    BUSYBOX=$CACHE/busybox/bin/busybox
    if [ ! -x "$BUSYBOX" ]; then
        (cd "$CACHE/busybox" && apt-get download busybox-static:i386) >"$tmp/apt" 2>&1 ||
            { tail -n 5 "$tmp/apt"; echo "apt-get download busybox-static:i386 failed"; return 1; }
        dpkg-deb -x "$CACHE/busybox"/busybox-static_*.deb "$CACHE/busybox" ||
            { echo "cannot extract busybox-static"; return 1; }
        rm -f "$CACHE/busybox"/*.deb
        [ -x "$BUSYBOX" ] || { echo "busybox-static holds no /bin/busybox"; return 1; }
    fi
    return 0
}

# --- a newc cpio archive written by hand (no cpio(1) needed) ---

CPIO_INO=1

# cpio_pad N: zero bytes up to the next multiple of 4 after N bytes.
cpio_pad() {
    head -c $(((4 - $1 % 4) % 4)) /dev/zero
}

# cpio_hdr NAME MODE SIZE RDEVMAJOR RDEVMINOR: one header and its name.
cpio_hdr() {
    namesize=$((${#1} + 1))
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        "$CPIO_INO" "$2" 0 0 1 0 "$3" 0 0 "$4" "$5" "$namesize" 0
    printf '%s\000' "$1"
    cpio_pad $((110 + namesize))
    CPIO_INO=$((CPIO_INO + 1))
}

cpio_dir() { cpio_hdr "$1" 16877 0 0 0; }              # 040755

cpio_file() {                                         # NAME HOSTFILE MODE
    size=$(wc -c <"$2")
    cpio_hdr "$1" "$3" "$size" 0 0
    cat "$2"
    cpio_pad "$size"
}

cpio_symlink() {                                      # NAME TARGET
    cpio_hdr "$1" 41471 ${#2} 0 0                     # 0120777
    printf '%s' "$2"
    cpio_pad ${#2}
}

cpio_chardev() { cpio_hdr "$1" 8576 0 "$2" "$3"; }    # 020600 MAJOR MINOR

cpio_trailer() { cpio_hdr "TRAILER!!!" 0 0 0 0; }

# The init script: the marker, the kernel and CPU as the guest sees
# them, then a shell on the console for the commands the test types.
write_init() {
    cat <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
echo "kasou-linux: userspace up"
uname -a
head -n 20 /proc/cpuinfo
echo "kasou-linux: done"
echo "kasou-linux: shell"
exec sh
EOF
}

build_initramfs() {
    write_init >"$tmp/init"
    {
        for d in bin dev proc sys; do
            cpio_dir "$d"
        done
        cpio_chardev dev/console 5 1
        cpio_file bin/busybox "$BUSYBOX" 33261          # 0100755
        for cmd in sh mount uname head cat echo reboot; do
            cpio_symlink "bin/$cmd" busybox
        done
        cpio_file init "$tmp/init" 33261
        cpio_trailer
    } | gzip -9 >"$tmp/initrd.gz"
}

if ! fetch >"$tmp/fetch" 2>&1; then
    not_ok "linux: fetch Debian's i386 kernel and busybox-static" "$(cat "$tmp/fetch")"
    finish
fi
ok "linux: fetch $(basename "$VMLINUZ") and busybox-static"
if ! build_initramfs; then
    not_ok "linux: build the initramfs"
    finish
fi

# console=ttyS0           the kernel console on COM1 (kasou has no VGA)
# earlyprintk=serial,...  messages from before the 8250 driver, the
#                         decompressor's too: shows where a boot dies
# nokaslr                 a fixed load address: logs comparable between runs
# panic=-1                reboot at once on a panic: -no-reboot ends kasou
# rdinit=/init            run our script from the initramfs
# cryptomgr.notests       skip the crypto API's self-tests of every
#                         algorithm: 100 s of the boot on the interpreter
APPEND="console=ttyS0 earlyprintk=serial,ttyS0,115200 nokaslr panic=-1 rdinit=/init"
APPEND="$APPEND cryptomgr.notests"
# boot: run kasou in the background with COM1 on a pipe and a file; once
# the guest's shell is up, type commands into it.  Sets $status, $secs.
boot() {
    mkfifo "$tmp/in" || return 1
    start=$(date +%s)
    "$KASOU" -display none -no-reboot -timeout "$TIMEOUT" -m 128 -serial stdio \
        -kernel "$VMLINUZ" -initrd "$tmp/initrd.gz" -append "$APPEND" \
        <"$tmp/in" >"$tmp/serial" 2>"$tmp/err" &
    pid=$!
    exec 3>"$tmp/in"
    # Typed only now: the tty echoes input as it arrives, which must not
    # interleave with the script's output, and the 8250 driver empties the
    # UART's FIFO when it starts.
    while kill -0 "$pid" 2>/dev/null && ! grep -q "kasou-linux: shell" "$tmp/serial"; do
        sleep 1
    done
    # (in a subshell: if kasou has already ended, SIGPIPE ends only that)
    (printf 'echo kasou-shell: $((6 * 7))\nreboot -f\n' >&3) 2>/dev/null
    wait "$pid"
    status=$?
    exec 3>&-
    secs=$(($(date +%s) - start))
}

boot
echo "# boot took ${secs} s (exit status $status)"
if [ -n "${KASOU_LINUX_LOG:-}" ]; then
    cp "$tmp/serial" "$KASOU_LINUX_LOG"   # keep the guest's console output
fi

if grep -q "kasou-linux: userspace up" "$tmp/serial" 2>/dev/null; then
    ok "linux: kernel boots to userspace (/init runs)"
else
    not_ok "linux: kernel boots to userspace (/init runs)" \
        "exit status $status after ${secs} s; last serial output:" \
        "$(tail -n 15 "$tmp/serial" 2>/dev/null)" "stderr: $(head -n 3 "$tmp/err")"
fi
if grep -q "^Linux .* 6\.1\..*-686 .* i686 GNU/Linux" "$tmp/serial" 2>/dev/null &&
    grep -q "^cpu family.*: 6" "$tmp/serial" && grep -q "kasou-linux: done" "$tmp/serial"; then
    ok "linux: uname -a and /proc/cpuinfo in the guest"
else
    not_ok "linux: uname -a and /proc/cpuinfo in the guest" \
        "$(grep -A 3 "userspace up" "$tmp/serial" 2>/dev/null | head -n 4)"
fi
if grep -q "^kasou-shell: 42" "$tmp/serial" 2>/dev/null; then
    ok "linux: an interactive shell on ttyS0 runs typed commands"
else
    not_ok "linux: an interactive shell on ttyS0 runs typed commands" \
        "$(grep -A 5 "kasou-linux: shell" "$tmp/serial" 2>/dev/null | head -n 6)"
fi
if [ "$status" -eq 0 ]; then
    ok "linux: reboot -f ends kasou with status 0 (-no-reboot)"
else
    not_ok "linux: reboot -f ends kasou with status 0 (-no-reboot)" \
        "exit status $status; stderr: $(head -n 3 "$tmp/err")"
fi
finish
