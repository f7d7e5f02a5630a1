#!/bin/sh
# pc.sh KASOU BUILDDIR [CACHEDIR] - boot the PC's media through SeaBIOS.
#
# Every case boots real software headless and checks what it printed on
# COM1 and showed on the VGA screen (-screen-text, and -screenshot read
# back with tests/pngtext against the VGA BIOS's own font):
#   - SeaBIOS with no media: its banner on the screen, "No bootable device"
#   - a 1.44M floppy formatted with mtools, with kasou's boot sector
#     (roms/bootsect.bin) reading a file mcopy put on it
#   - a hard disk with the same boot sector as its MBR: raw, qcow2 (and
#     compressed qcow2), and raw under -snapshot (the image is unchanged)
#   - an ISOLINUX CD (xorriso) to its boot: prompt, as -cdrom and,
#     isohybrid, as -hda
#   - a grub-mkrescue CD with GRUB's console on COM1, taking commands on stdin
#   - memtest86+ (booted from an ISOLINUX CD) testing memory on screen
#   - the SDL window on a virtual X server (Xvfb): keys typed into the
#     window with xdotool reach GRUB's command line
# Guest software comes from Debian packages fetched with apt-get download
# into CACHEDIR (default ${KASOU_CACHE:-$HOME/.cache/kasou}); the tools
# (mtools, xorriso, grub-common, qemu-utils, xvfb, xdotool) must be
# installed.  A missing
# tool or failed download fails the case: there is no skip.
set -u

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 KASOU BUILDDIR [CACHEDIR]" >&2
    exit 2
fi
KASOU=$1
BUILD=$2
CACHE=${3:-${KASOU_CACHE:-$HOME/.cache/kasou}}/pc
BIOSDIR=$(sed -n 's/^BIOS_DIR = //p' "$BUILD/config.mk")
VGAROM=$BIOSDIR/vgabios-stdvga.bin
PNGTEXT=$BUILD/tests/pngtext
BOOTSECT=$BUILD/roms/bootsect.bin
TMP_PREFIX=kasou-pc
. "$(dirname "$0")/lib.sh"

EXITDEV="isa-debug-exit,iobase=0x501,iosize=2"

# run NAME ARGS...: kasou headless, COM1 to $tmp/NAME.serial, the screen
# to $tmp/NAME.txt and $tmp/NAME.png; sets $status.
run() {
    name=$1
    shift
    "$KASOU" -display none -serial "file:$tmp/$name.serial" \
        -screen-text "$tmp/$name.txt" -screenshot "$tmp/$name.png" "$@" \
        </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err"
    status=$?
}

# shows NAME TEXT: the text screen and the screenshot both show TEXT.
shows() {
    grep -qF "$2" "$tmp/$1.txt" 2>/dev/null &&
        "$PNGTEXT" --font "$VGAROM" "$tmp/$1.png" >"$tmp/$1.ocr" 2>&1 &&
        grep -qF "$2" "$tmp/$1.ocr"
}

# why NAME: the evidence for a failed case.
why() {
    echo "exit status $status; stderr: $(head -n 3 "$tmp/$1.err" 2>/dev/null)"
    echo "serial: $(tail -n 5 "$tmp/$1.serial" 2>/dev/null)"
    echo "screen: $(grep -v '^$' "$tmp/$1.txt" 2>/dev/null | head -n 8)"
    echo "screenshot read back: $(grep -v '^ *$' "$tmp/$1.ocr" 2>/dev/null | head -n 8)"
}

fetch() { deb_fetch "$CACHE" "$1"; }

# --- SeaBIOS alone: POST on the screen, then no bootable device ---
run bios -boot order=c -timeout 6
if [ "$status" -eq 124 ] && shows bios "SeaBIOS (version" && shows bios "No bootable device"; then
    ok "SeaBIOS shows its banner and 'No bootable device' on the VGA screen (and screenshot)"
else
    not_ok "SeaBIOS shows its banner and 'No bootable device' on the VGA screen" "$(why bios)"
fi

# --- QMP on stdio: a client's commands against the running PC ---
(
    sleep 6
    printf '%s\n' '{"execute": "qmp_capabilities"}' \
        '{"execute": "stop", "id": 1}' '{"execute": "query-status", "id": 2}' \
        '{"execute": "cont"}' \
        "{\"execute\": \"screendump\", \"arguments\": {\"filename\": \"$tmp/qmp.png\", \"format\": \"png\"}}" \
        "{\"execute\": \"pmemsave\", \"arguments\": {\"val\": 753664, \"size\": 4000, \"filename\": \"$tmp/qmp.mem\"}}" \
        '{"execute": "no-such-command"}' '{"execute": "quit"}'
    sleep 5
) | "$KASOU" -display none -qmp stdio -timeout 30 >"$tmp/qmp.out" 2>"$tmp/qmp.err"
status=$?
if [ "$status" -eq 0 ] && grep -q '"QMP": {"version"' "$tmp/qmp.out" &&
    grep -q '"event": "STOP"' "$tmp/qmp.out" &&
    grep -q '"status": "paused"' "$tmp/qmp.out" && grep -q '"id": 2' "$tmp/qmp.out" &&
    grep -q '"event": "RESUME"' "$tmp/qmp.out" && grep -q '"CommandNotFound"' "$tmp/qmp.out" &&
    grep -q '"event": "SHUTDOWN"' "$tmp/qmp.out"; then
    ok "QMP (stdio): negotiation, stop/query-status/cont with events, errors, quit"
else
    not_ok "QMP (stdio): negotiation, stop/query-status/cont with events, errors, quit" \
        "exit status $status; stderr: $(head -n 3 "$tmp/qmp.err")" "$(head -c 1500 "$tmp/qmp.out")"
fi
# text memory holds characters and attributes: "S\aeabIOS" -> keep every other byte
if [ -f "$tmp/qmp.mem" ] && od -An -c -w2 -v "$tmp/qmp.mem" | awk '{printf "%s", $1}' |
    grep -q "SeaBIOS" && "$PNGTEXT" --font "$VGAROM" "$tmp/qmp.png" 2>&1 | grep -q "SeaBIOS"; then
    ok "QMP: pmemsave of the text buffer and a PNG screendump both show SeaBIOS's banner"
else
    not_ok "QMP: pmemsave and screendump show SeaBIOS's banner" \
        "$(ls -l "$tmp/qmp.mem" "$tmp/qmp.png" 2>&1)"
fi

# --- a floppy made with mtools, booting kasou's boot sector ---
# boot_floppy IMG: the jump and code of bootsect.bin over the formatted
# floppy's boot sector (its BPB stays), and a file in the first cluster.
make_floppy() {
    need mformat mcopy || return 1
    mformat -C -f 1440 -v KASOU -i "$1" :: || return 1
    printf 'kasou-boot: read from the floppy by INT 13h\r\n\000' >"$tmp/msg.txt"
    mcopy -i "$1" "$tmp/msg.txt" ::MSG.TXT || return 1
    dd if="$BOOTSECT" of="$1" bs=1 count=3 conv=notrunc 2>/dev/null &&
        dd if="$BOOTSECT" of="$1" bs=1 skip=62 seek=62 count=450 conv=notrunc 2>/dev/null
}
if make_floppy "$tmp/floppy.img" >"$tmp/mk" 2>&1; then
    run floppy -fda "$tmp/floppy.img" -boot a -device "$EXITDEV" -timeout 30
    if [ "$status" -eq 33 ] && grep -q "read from the floppy by INT 13h" "$tmp/floppy.serial" &&
        shows floppy "kasou-boot: boot sector running"; then
        ok "floppy (mtools 1.44M): SeaBIOS boots its boot sector, which reads a file by INT 13h"
    else
        not_ok "floppy (mtools 1.44M) boots" "$(why floppy)"
    fi
else
    not_ok "floppy: build the image with mtools" "$(cat "$tmp/mk")"
fi

# --- a hard disk: the boot sector as MBR, the message at LBA 33 ---
make_disk() {
    dd if=/dev/zero of="$1" bs=1M count=8 2>/dev/null &&
        dd if="$BOOTSECT" of="$1" conv=notrunc 2>/dev/null &&
        printf 'kasou-boot: read from the disk by INT 13h AH=42h\r\n\000' |
        dd of="$1" bs=512 seek=33 conv=notrunc 2>/dev/null
}
disk_case() { # NAME DESCRIPTION KASOU-ARGS...
    dname=$1 ddesc=$2
    shift 2
    run "$dname" "$@" -boot c -device "$EXITDEV" -timeout 30
    if [ "$status" -eq 33 ] && grep -q "read from the disk by INT 13h" "$tmp/$dname.serial" &&
        shows "$dname" "kasou-boot: boot sector running"; then
        ok "hard disk ($ddesc): SeaBIOS boots the MBR, which reads LBA 33"
    else
        not_ok "hard disk ($ddesc) boots" "$(why "$dname")"
    fi
}
make_disk "$tmp/disk.img"
disk_case disk "raw, -hda" -hda "$tmp/disk.img"
# The same boot in the interpreter, and with every translated block of
# SeaBIOS and the boot sector checked against the interpreter (a
# difference ends kasou with status 2 and a report on stderr).
disk_case interp "raw, -accel interp" -accel interp -hda "$tmp/disk.img"
if grep -q '^ENABLE_JIT = yes' "$BUILD/config.mk"; then
    disk_case lockstep "raw, -accel jit,check=on: no block differs from the interpreter" \
        -accel jit,check=on -hda "$tmp/disk.img"
fi
disk_case drive "raw, -drive if=ide,index=1" -drive "file=$tmp/disk.img,if=ide,index=1,format=raw"
sum_before=$(md5sum <"$tmp/disk.img")
disk_case snap "raw, -snapshot" -snapshot -hda "$tmp/disk.img"
if [ "$(md5sum <"$tmp/disk.img")" = "$sum_before" ]; then
    ok "-snapshot: the image file is unchanged after the run"
else
    not_ok "-snapshot: the image file is unchanged after the run"
fi
if need qemu-img >"$tmp/mk" 2>&1 && qemu-img convert -O qcow2 "$tmp/disk.img" "$tmp/disk.qcow2" &&
    qemu-img convert -c -O qcow2 "$tmp/disk.img" "$tmp/diskc.qcow2"; then
    disk_case qcow2 "qcow2" -hda "$tmp/disk.qcow2"
    disk_case qcow2c "compressed qcow2" -drive "file=$tmp/diskc.qcow2,format=qcow2"
else
    not_ok "hard disk: qcow2 images made with qemu-img" "$(cat "$tmp/mk")"
fi

# --- ISOLINUX: a CD, and the same ISO isohybrid as a hard disk ---
make_isolinux() { # DIR ISO [extra config lines]
    need xorriso >/dev/null || return 1
    fetch isolinux && fetch syslinux-common || return 1
    mkdir -p "$1/isolinux" &&
        cp "$CACHE/isolinux/usr/lib/ISOLINUX/isolinux.bin" "$1/isolinux/" &&
        cp "$CACHE/syslinux-common/usr/lib/syslinux/modules/bios/ldlinux.c32" "$1/isolinux/" ||
        return 1
    xorriso -as mkisofs -quiet -o "$2" -b isolinux/isolinux.bin -c isolinux/boot.cat \
        -no-emul-boot -boot-load-size 4 -boot-info-table \
        -isohybrid-mbr "$CACHE/isolinux/usr/lib/ISOLINUX/isohdpfx.bin" "$1"
}
mkdir -p "$tmp/iso"
cat >"$tmp/iso/isolinux.cfg" <<'CFG'
SERIAL 0 115200
SAY kasou-isolinux: config read
PROMPT 1
TIMEOUT 0
CFG
mkdir -p "$tmp/iso/isolinux" && mv "$tmp/iso/isolinux.cfg" "$tmp/iso/isolinux/"
if make_isolinux "$tmp/iso" "$tmp/isolinux.iso" >"$tmp/mk" 2>&1; then
    run isocd -cdrom "$tmp/isolinux.iso" -boot d -timeout 30
    if grep -q "^ISOLINUX 6" "$tmp/isocd.serial" && grep -q "boot:" "$tmp/isocd.serial" &&
        shows isocd "kasou-isolinux: config read" && shows isocd "boot:"; then
        ok "ISOLINUX CD (-cdrom): El Torito boot to the boot: prompt on COM1 and the screen"
    else
        not_ok "ISOLINUX CD (-cdrom) boots to its prompt" "$(why isocd)"
    fi
    run isohd -hda "$tmp/isolinux.iso" -boot c -timeout 30
    if grep -q "boot:" "$tmp/isohd.serial" && shows isohd "kasou-isolinux: config read" &&
        shows isohd "boot:"; then
        ok "ISOLINUX isohybrid image as -hda boots to the boot: prompt"
    else
        not_ok "ISOLINUX isohybrid image as -hda boots" "$(why isohd)"
    fi
else
    not_ok "ISOLINUX: build the CD with xorriso" "$(cat "$tmp/mk")"
fi

# --- GRUB (grub-mkrescue) with its console on COM1, driven from stdin ---
make_grub() {
    need grub-mkrescue xorriso mformat >/dev/null || return 1
    fetch grub-pc-bin || return 1
    mkdir -p "$tmp/grub/boot/grub"
    cat >"$tmp/grub/boot/grub/grub.cfg" <<'CFG'
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
echo kasou-grub: config read
CFG
    grub-mkrescue -d "$CACHE/grub-pc-bin/usr/lib/grub/i386-pc" -o "$1" "$tmp/grub"
}
if make_grub "$tmp/grub.iso" >"$tmp/mk" 2>&1; then
    mkfifo "$tmp/grub.in"
    "$KASOU" -display none -serial stdio -cdrom "$tmp/grub.iso" -boot d -timeout 60 \
        -screen-text "$tmp/grubcd.txt" -screenshot "$tmp/grubcd.png" \
        <"$tmp/grub.in" >"$tmp/grubcd.serial" 2>"$tmp/grubcd.err" &
    pid=$!
    exec 3>"$tmp/grub.in"
    n=0
    while kill -0 "$pid" 2>/dev/null && ! grep -q "grub>" "$tmp/grubcd.serial" && [ $n -lt 60 ]; do
        sleep 1
        n=$((n + 1))
    done
    (printf 'echo kasou-grub-typed\r' >&3; sleep 2; printf 'halt\r' >&3) 2>/dev/null
    wait "$pid"
    status=$?
    exec 3>&-
    # (GRUB draws with escape sequences: the lines do not start clean)
    if grep -aq "kasou-grub: config read" "$tmp/grubcd.serial" &&
        grep -aq "kasou-grub-typed" "$tmp/grubcd.serial" &&
        shows grubcd "grub> echo kasou-grub-typed"; then
        ok "GRUB rescue CD: its console on COM1 runs commands typed on stdin"
    else
        not_ok "GRUB rescue CD runs typed commands on COM1" "$(why grubcd)"
    fi
    if [ "$status" -eq 0 ]; then
        ok "GRUB's halt powers the PC off through ACPI: kasou exits 0"
    else
        not_ok "GRUB's halt powers the PC off through ACPI" "$(why grubcd)"
    fi
else
    not_ok "GRUB: build the rescue CD with grub-mkrescue" "$(cat "$tmp/mk")"
fi

# --- the SDL window: typing into it (Xvfb + xdotool) reaches the guest ---
sdl_window() {
    need Xvfb xdotool || return 1
    [ -f "$tmp/grub.iso" ] || { echo "no GRUB CD (see above)"; return 1; }
    grep -q '^ENABLE_SDL = yes' "$BUILD/config.mk" || { echo "built without SDL2"; return 1; }
    disp=:$((90 + $$ % 100))
    Xvfb "$disp" -screen 0 1024x768x24 -nolisten tcp >"$tmp/xvfb.log" 2>&1 &
    xpid=$!
    sleep 2
    # Under AddressSanitizer, leak checks are off for this run only: SDL's
    # X11 and D-Bus libraries keep allocations past exit (and SDL unloads
    # them, so they cannot be suppressed by name); kasou's own memory is
    # leak-checked by every other run.
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        DISPLAY=$disp "$KASOU" -display sdl -name kasou-window-test -serial stdio \
        -cdrom "$tmp/grub.iso" -boot d -timeout 60 -screen-text "$tmp/sdl.txt" \
        </dev/null >"$tmp/sdl.serial" 2>"$tmp/sdl.err" &
    kpid=$!
    n=0
    while kill -0 "$kpid" 2>/dev/null && ! grep -aq "grub>" "$tmp/sdl.serial" && [ $n -lt 50 ]; do
        sleep 1
        n=$((n + 1))
    done
    wid=$(DISPLAY=$disp xdotool search --name kasou-window-test | head -n 1)
    if [ -n "$wid" ]; then
        DISPLAY=$disp xdotool windowfocus --sync "$wid"
        DISPLAY=$disp xdotool type --delay 40 "echo typed-into-the-window"
        DISPLAY=$disp xdotool key Return
        sleep 3
        DISPLAY=$disp xdotool type --delay 40 "halt"
        DISPLAY=$disp xdotool key Return
    else
        echo "no window named kasou-window-test"
    fi
    wait "$kpid"
    status=$?
    kill "$xpid" 2>/dev/null
    wait "$xpid" 2>/dev/null
    grep -q "grub> echo typed-into-the-window" "$tmp/sdl.txt" &&
        grep -aq "typed-into-the-window" "$tmp/sdl.serial" && [ "$status" -eq 0 ]
}
if sdl_window >"$tmp/mk" 2>&1; then
    ok "SDL window (on Xvfb): keys typed into it reach GRUB, halt ends the run with 0"
else
    not_ok "SDL window (on Xvfb): keys typed into it reach GRUB" "$(cat "$tmp/mk")" \
        "exit status ${status:-?}; stderr: $(head -n 3 "$tmp/sdl.err" 2>/dev/null)" \
        "screen: $(grep -v '^$' "$tmp/sdl.txt" 2>/dev/null | tail -n 4)"
fi

# --- memtest86+ from an ISOLINUX CD, testing memory on the screen ---
# (LINUX, not KERNEL: ISOLINUX takes a .bin KERNEL for a CD boot sector)
mkdir -p "$tmp/mt/isolinux"
cat >"$tmp/mt/isolinux/isolinux.cfg" <<'CFG'
DEFAULT memtest
LABEL memtest
  LINUX /memtest.bin
CFG
if fetch memtest86+ >"$tmp/mk" 2>&1 &&
    cp "$CACHE/memtest86+/boot/memtest86+ia32.bin" "$tmp/mt/memtest.bin" &&
    make_isolinux "$tmp/mt" "$tmp/memtest.iso" >>"$tmp/mk" 2>&1; then
    run memtest -cdrom "$tmp/memtest.iso" -boot d -m 64 -timeout 60
    if shows memtest "Memtest86+" && shows memtest "Test #" && grep -q "Errors: 0" "$tmp/memtest.txt"; then
        ok "memtest86+ boots from CD and tests memory on the screen"
    else
        not_ok "memtest86+ boots from CD and tests memory" "$(why memtest)"
    fi
else
    not_ok "memtest86+: build its CD" "$(cat "$tmp/mk")"
fi

finish
