#!/bin/sh
# linux.sh KASOU [CACHEDIR] - boot Debian 12's 32-bit Linux to a shell.
#
# Fetches Debian's i386 "686" (non-PAE) kernel and busybox-static with
# apt-get download into CACHEDIR (default ${KASOU_CACHE:-$HOME/.cache/kasou};
# never into the source tree), builds an initramfs on the fly, boots it
# with -kernel/-initrd/-append on the serial console (the default guest of
# util/guest.sh) and checks that userspace ran: /init prints a marker and
# starts shells on ttyS0 and on the VGA console; the test types commands
# into the serial one (through kasou's standard input, COM1's receiver):
# uname -a, /proc/cpuinfo, md5sum of busybox (compared with the host's),
# dd, then poweroff, which must end kasou with status 0.  The screen at
# the end must show the shell on tty1.  Then the same kernel and initramfs
# boot from an ISOLINUX CD (in the interpreter) and from a FAT hard disk
# (SYSLINUX; translated, each block checked against the interpreter),
# through SeaBIOS, to the shell and power off.
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
# Guest time limit: the boot takes about 20 s translated, 1.5 minutes on
# the interpreter (the lockstep boot has its own, KASOU_LINUX_CHECK_TIMEOUT).
TIMEOUT=${KASOU_LINUX_TIMEOUT:-300}
TMP_PREFIX=kasou-linux
. "$(dirname "$0")/lib.sh"

# The default guest's kernel and initramfs (util/guest.sh: Debian's
# packages fetched into the cache, kasou's own /init).
GUEST_CACHE=$(dirname "$CACHE")
. "$(dirname "$0")/../../util/guest.sh"

if ! guest_fetch >"$tmp/fetch" 2>&1; then
    not_ok "linux: fetch Debian's i386 kernel and busybox-static" "$(cat "$tmp/fetch")"
    finish
fi
ok "linux: fetch $(basename "$VMLINUZ") and busybox-static"
if ! guest_build "$tmp"; then
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
    start=$(date +%s)
    # The commands wait for /init's marker: the tty echoes input as it
    # arrives, which must not interleave with the script's output, and the
    # 8250 driver empties the UART's FIFO when it starts.
    type_into "$tmp/serial" "kasou-linux: shell" \
        "$(printf '%s\n' 'uname -a' 'head -n 8 /proc/cpuinfo' 'md5sum /bin/busybox' \
            'dd if=/dev/zero of=/dev/null bs=64k count=256' \
            'echo kasou-shell: $((6 * 7))' 'poweroff')" \
        "$KASOU" -display none -no-reboot -timeout "$TIMEOUT" -m 128 -serial stdio \
        -kernel "$VMLINUZ" -initrd "$tmp/initrd.gz" -append "$APPEND" \
        -screen-text "$tmp/screen.txt" -screenshot "$tmp/screen.png" \
        -chardev "file,id=sb,path=$tmp/seabios.log" -device isa-debugcon,chardev=sb,iobase=0x402 \
        2>"$tmp/err"
    secs=$(($(date +%s) - start))
}

boot
echo "# boot took ${secs} s (exit status $status)"
if [ -n "${KASOU_LINUX_LOG:-}" ]; then
    cp "$tmp/serial" "$KASOU_LINUX_LOG"   # keep the guest's console output
fi

if grep -q '^Booting from ROM' "$tmp/seabios.log" &&
    grep -q '^kasou: loading the Linux kernel' "$tmp/seabios.log" &&
    grep -q 'ACPI: RSDP' "$tmp/serial" && grep -q 'found SMP MP-table' "$tmp/serial"; then
    ok "linux: SeaBIOS boots the kernel from kasou's loader ROM (its e820, ACPI and MP tables)"
else
    not_ok "linux: SeaBIOS boots the kernel from kasou's loader ROM" \
        "$(tail -n 3 "$tmp/seabios.log" 2>/dev/null)"
fi
if grep -q "kasou-linux: userspace up" "$tmp/serial" 2>/dev/null; then
    ok "linux: kernel boots to userspace (/init runs)"
else
    not_ok "linux: kernel boots to userspace (/init runs)" \
        "exit status $status after ${secs} s; last serial output:" \
        "$(tail -n 15 "$tmp/serial" 2>/dev/null)" "stderr: $(head -n 3 "$tmp/err")"
fi
if grep -q "^Linux .* 6\.1\..*-686 .* i686 GNU/Linux" "$tmp/serial" 2>/dev/null &&
    grep -q "^cpu family.*: 6" "$tmp/serial"; then
    ok "linux: uname -a and /proc/cpuinfo typed into the shell on ttyS0"
else
    not_ok "linux: uname -a and /proc/cpuinfo typed into the shell on ttyS0" \
        "$(grep -A 12 "kasou-linux: shell" "$tmp/serial" 2>/dev/null | head -n 14)"
fi
want=$(md5sum <"$BUSYBOX" | cut -d' ' -f1)
if grep -q "^$want  /bin/busybox" "$tmp/serial" 2>/dev/null; then
    ok "linux: md5sum of busybox in the guest matches the host's ($want)"
else
    not_ok "linux: md5sum of busybox in the guest matches the host's" "want $want" \
        "$(grep "busybox" "$tmp/serial" | tail -n 3)"
fi
if grep -q "^256+0 records in" "$tmp/serial" && grep -q "^kasou-shell: 42" "$tmp/serial"; then
    ok "linux: dd and shell arithmetic run"
else
    not_ok "linux: dd and shell arithmetic run" "$(grep -A 4 "records in" "$tmp/serial")"
fi
if [ "$status" -eq 0 ] && grep -q "reboot: Power down" "$tmp/serial"; then
    ok "linux: poweroff in the guest ends kasou with status 0"
else
    not_ok "linux: poweroff in the guest ends kasou with status 0" \
        "exit status $status; stderr: $(head -n 3 "$tmp/err")" "$(tail -n 3 "$tmp/serial")"
fi
# The VGA console: /init keeps a shell on tty1 too; Linux's VGA text
# console draws it (read back from the screenshot as well).
PNGTEXT=$(dirname "$KASOU")/tests/pngtext
BIOSDIR=$(sed -n 's/^BIOS_DIR = //p' "$(dirname "$KASOU")/config.mk" 2>/dev/null)
"$PNGTEXT" --font "${BIOSDIR:-/usr/share/seabios}/vgabios-stdvga.bin" "$tmp/screen.png" \
    >"$tmp/screen.ocr" 2>&1
if grep -q "kasou guest on tty1" "$tmp/screen.txt" 2>/dev/null &&
    grep -q "^/ #" "$tmp/screen.txt" && grep -q "kasou guest on tty1" "$tmp/screen.ocr" &&
    grep -q "^/ #" "$tmp/screen.ocr"; then
    ok "linux: the VGA console (tty1) shows the guest's shell prompt (text and screenshot)"
else
    not_ok "linux: the VGA console (tty1) shows the guest's shell prompt" \
        "screen: $(grep -v '^$' "$tmp/screen.txt" 2>/dev/null | tail -n 5)" \
        "screenshot read back: $(grep -v '^ *$' "$tmp/screen.ocr" 2>/dev/null | tail -n 5)"
fi

# --- The same kernel and initramfs from boot media, through SeaBIOS: an
# ISOLINUX CD (xorriso) and a FAT hard disk made with mtools and made
# bootable with SYSLINUX's installer (Debian's packages, unpacked only).
MEDIA=$(dirname "$CACHE")/pc
SL_APPEND="console=ttyS0 panic=-1 cryptomgr.notests"

# media_boot NAME ARGS...: boot, wait for the shell, type uname -r and
# poweroff; sets $status and leaves COM1's output in $tmp/NAME.serial.
media_boot() {
    name=$1
    shift
    type_into "$tmp/$name.serial" "kasou-linux: shell" \
        "$(printf '%s\n' 'echo kasou-media: $(uname -r)' 'poweroff')" \
        "$KASOU" -display none -timeout "${MEDIA_TIMEOUT:-$TIMEOUT}" -m 128 -serial stdio "$@" \
        2>"$tmp/$name.err"
}

media_check() { # NAME DESCRIPTION LOADER-BANNER
    if [ "$status" -eq 0 ] && grep -q "^$3" "$tmp/$1.serial" &&
        grep -q "^kasou-media: 6\.1\..*-686" "$tmp/$1.serial" &&
        grep -q "reboot: Power down" "$tmp/$1.serial"; then
        ok "linux: $2 boots to the shell and powers off (status 0)"
    else
        not_ok "linux: $2 boots to the shell and powers off" \
            "exit status $status; stderr: $(head -n 3 "$tmp/$1.err")" \
            "$(tail -n 8 "$tmp/$1.serial" 2>/dev/null)"
    fi
}

make_cd() {
    need xorriso >/dev/null && deb_fetch "$MEDIA" isolinux && deb_fetch "$MEDIA" syslinux-common ||
        return 1
    mkdir -p "$tmp/cd/isolinux" &&
        cp "$MEDIA/isolinux/usr/lib/ISOLINUX/isolinux.bin" "$tmp/cd/isolinux/" &&
        cp "$MEDIA/syslinux-common/usr/lib/syslinux/modules/bios/ldlinux.c32" "$tmp/cd/isolinux/" &&
        cp "$VMLINUZ" "$tmp/cd/vmlinuz" && cp "$tmp/initrd.gz" "$tmp/cd/initrd.gz" || return 1
    printf 'SERIAL 0 115200\nDEFAULT linux\nLABEL linux\n  LINUX /vmlinuz\n  APPEND initrd=/initrd.gz %s\n' \
        "$SL_APPEND" >"$tmp/cd/isolinux/isolinux.cfg"
    xorriso -as mkisofs -quiet -o "$tmp/linux.iso" -b isolinux/isolinux.bin \
        -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table "$tmp/cd"
}
# The CD boots in the interpreter, the disk in the translator with every
# block checked against the interpreter (where the build has a JIT): the
# whole boot, firmware, loader and kernel, runs on both engines.
if make_cd >"$tmp/mk" 2>&1; then
    media_boot cd -cdrom "$tmp/linux.iso" -boot d -accel interp
    media_check cd "ISOLINUX CD (-cdrom, -accel interp)" "ISOLINUX 6"
else
    not_ok "linux: build the ISOLINUX CD" "$(cat "$tmp/mk")"
fi

make_fat() {
    need mformat mcopy >/dev/null && deb_fetch "$MEDIA" syslinux || return 1
    dd if=/dev/zero of="$tmp/fat.img" bs=1M count=0 seek=48 2>/dev/null &&
        mformat -i "$tmp/fat.img" -T 98304 -h 16 -s 63 -v KASOU :: &&
        mcopy -i "$tmp/fat.img" "$VMLINUZ" ::VMLINUZ &&
        mcopy -i "$tmp/fat.img" "$tmp/initrd.gz" ::INITRD.GZ || return 1
    printf 'SERIAL 0 115200\nDEFAULT linux\nLABEL linux\n  LINUX /VMLINUZ\n  APPEND initrd=/INITRD.GZ %s\n' \
        "$SL_APPEND" >"$tmp/syslinux.cfg"
    mcopy -i "$tmp/fat.img" "$tmp/syslinux.cfg" ::SYSLINUX.CFG &&
        "$MEDIA/syslinux/usr/bin/syslinux" --install "$tmp/fat.img"
}
if make_fat >"$tmp/mk" 2>&1; then
    if grep -q '^ENABLE_JIT = yes' "$(dirname "$KASOU")/config.mk" 2>/dev/null; then
        # lockstep runs the interpreter and the translator: several times slower
        MEDIA_TIMEOUT=${KASOU_LINUX_CHECK_TIMEOUT:-1500}
        media_boot fat -hda "$tmp/fat.img" -boot c -accel jit,check=on
        media_check fat "FAT hard disk with SYSLINUX (-hda, -accel jit,check=on: no block differs)" \
            "SYSLINUX 6"
        if grep -q "compared with the interpreter, no difference" "$tmp/fat.err"; then
            ok "linux: lockstep: $(grep -o '[0-9]* blocks run, [0-9]* compared' "$tmp/fat.err")"
        else
            not_ok "linux: lockstep boot compared blocks" "$(head -n 20 "$tmp/fat.err")"
        fi
        MEDIA_TIMEOUT=
    else
        media_boot fat -hda "$tmp/fat.img" -boot c
        media_check fat "FAT hard disk with SYSLINUX (-hda)" "SYSLINUX 6"
    fi
else
    not_ok "linux: build the FAT hard disk" "$(cat "$tmp/mk")"
fi
finish
