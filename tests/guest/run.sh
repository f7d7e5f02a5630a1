#!/bin/sh
# run.sh KASOU ROMDIR - kasou's machine tests.
#
# Boots the project's own ROMs (ROMDIR/demo.bin, cputest.bin, pmtest.bin,
# irqtest.bin, resettest.bin, ticktest.bin), SeaBIOS, and a few ROMs made
# here on the fly, and checks the command line's error handling.  Every
# run that executes guest code has a -timeout, so a broken CPU fails a case
# instead of hanging the suite.  Prints "ok - NAME" or
# "not ok - NAME" per case and ends with "N passed, M failed".
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 KASOU ROMDIR" >&2
    exit 2
fi
KASOU=$1
ROMDIR=$2
EXITDEV=isa-debug-exit,iobase=0x501,iosize=2
TMP_PREFIX=kasou-guest
. "$(dirname "$0")/lib.sh"

# A guard against a kasou that hangs (a case without -timeout, or a bug):
# coreutils timeout(1) if there is one.
GUARD=
if command -v timeout >/dev/null 2>&1; then
    GUARD="timeout -k 5 60"
fi

# run ARGS...: run kasou; sets $status, output in $tmp/out and $tmp/err.
run() {
    $GUARD "$KASOU" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    status=$?
}

# expect NAME STATUS: check the last run's exit status.
expect_status() {
    if [ "$status" -eq "$2" ]; then
        ok "$1"
    else
        not_ok "$1" "exit status $status, expected $2" \
            "stderr: $(head -c 300 "$tmp/err" | head -n 3)"
    fi
}

# expect_error NAME PATTERN: status 1 and a message matching PATTERN.
expect_error() {
    if [ "$status" -eq 1 ] && grep -q -e "$2" "$tmp/err"; then
        ok "$1"
    else
        not_ok "$1" "exit status $status (expected 1), stderr: $(head -n 2 "$tmp/err")"
    fi
}

# rom FILE BYTES: a 64 KiB image of one repeated 2-byte pattern (octal).
rom() {
    printf "$2" >"$1.part"
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
        cat "$1.part" "$1.part" >"$1.next"
        mv "$1.next" "$1.part"
    done
    mv "$1.part" "$1"
}

# --- the demo ROM
run -bios "$ROMDIR/demo.bin" -nographic -debugcon stdio -device "$EXITDEV" \
    -no-reboot -timeout 10
if [ "$(cat "$tmp/out")" = "Hello from kasou" ]; then
    ok "demo ROM prints its greeting on the debug console"
else
    not_ok "demo ROM prints its greeting on the debug console" \
        "stdout: $(head -c 200 "$tmp/out")" "stderr: $(head -n 3 "$tmp/err")"
fi
expect_status "demo ROM exits through isa-debug-exit with status 1" 1

run -bios "$ROMDIR/demo.bin" -nographic -debugcon "file:$tmp/con.txt" \
    -device "$EXITDEV" -no-reboot -timeout 10
if [ "$status" -eq 1 ] && [ "$(cat "$tmp/con.txt" 2>/dev/null)" = "Hello from kasou" ] &&
    [ ! -s "$tmp/out" ]; then
    ok "-debugcon file:PATH writes the console to a file"
else
    not_ok "-debugcon file:PATH writes the console to a file" "exit status $status"
fi

# self_check ROM PASSLINE [ARGS...]: boot ROMDIR/ROM.bin with its debug
# console on stdout; it passes when it prints a line matching PASSLINE
# and exits through isa-debug-exit with 0 (status 1).
self_check() {
    rom=$1
    pass=$2
    shift 2
    run -bios "$ROMDIR/$rom.bin" -nographic -debugcon stdio -device "$EXITDEV" -timeout 30 "$@"
    if grep -q "$pass" "$tmp/out" && [ "$status" -eq 1 ]; then
        ok "$rom ROM: $(grep "$pass" "$tmp/out")"
    else
        not_ok "$rom ROM passes all its checks" "exit status $status (expected 1)" \
            "stdout: $(head -c 600 "$tmp/out")" "stderr: $(head -n 3 "$tmp/err")"
    fi
}

# the CPU test ROM; rings, gates, tasks and V86; PIC, PIT, RTC, FERR#/IRQ13,
# #MF and IDT gates; INIT via port 92h, hard reset via port CF9h and a
# triple fault, counted in CMOS across the restarts (so no -no-reboot)
self_check cputest '^cputest: [0-9][0-9]* checks passed$' -no-reboot
self_check pmtest '^pmtest: [0-9][0-9]* checks passed$' -no-reboot
self_check irqtest '^irqtest: all checks passed$' -no-reboot
self_check resettest '^resettest: all checks passed$'

# --- deterministic time: with -icount shift=3 (8 ns an instruction) the
# ticktest ROM's loop (3 instructions) runs about 1 ms / 24 ns = 41,660
# times between two 8254 ticks, and exactly as often in every run
run -bios "$ROMDIR/ticktest.bin" -nographic -debugcon stdio -device "$EXITDEV" \
    -icount shift=3 -timeout 5
first=$(cat "$tmp/out")
run -bios "$ROMDIR/ticktest.bin" -nographic -debugcon stdio -device "$EXITDEV" \
    -icount shift=3 -timeout 5
n=$(sed -n 's/^ticktest: 0x\([0-9a-f]*\) iterations per tick$/\1/p' "$tmp/out")
if [ "$status" -eq 1 ] && [ -n "$n" ] && [ "$first" = "$(cat "$tmp/out")" ] &&
    [ $((0x$n)) -ge 41000 ] && [ $((0x$n)) -le 42300 ]; then
    ok "-icount: the same $((0x$n)) loop iterations per 8254 tick in two runs"
else
    not_ok "-icount: deterministic loop count per 8254 tick" "exit status $status" \
        "first run: $first" "second run: $(cat "$tmp/out")"
fi

# --- Multiboot kernels through SeaBIOS and kasou's kernel loader ROM: the
# test kernel (ELF, then the a.out-kludge image) checks its entry state and
# prints its information block: the command line (file name and -append),
# the modules (-initrd "file args,file args", ",," for a comma) and the
# firmware's memory map; its A20 check needs 4 MiB of RAM
printf 'first module\n' >"$tmp/mod1"
printf 'second\n' >"$tmp/mod2"
for k in mbtest.elf mbtest-aout.bin; do
    run -kernel "$ROMDIR/$k" -append "a=1 b" -initrd "$tmp/mod1 x,,y,$tmp/mod2" -m 32 \
        -nographic -serial none -debugcon stdio -device "$EXITDEV" -timeout 30
    if [ "$status" -eq 1 ] && grep -q '^mbtest: all checks passed$' "$tmp/out" &&
        grep -qF "mbtest: cmdline=$ROMDIR/$k a=1 b" "$tmp/out" &&
        grep -qF "$tmp/mod1 x,y data=first module" "$tmp/out" &&
        grep -qF "$tmp/mod2 data=second" "$tmp/out" &&
        grep -q '^mbtest: mmap base=0x0*100000 len=0x0*1efe000 type=0x0*1$' "$tmp/out"; then
        ok "Multiboot $k through SeaBIOS: entry state, command line, 2 modules, e820 map"
    else
        not_ok "Multiboot $k through SeaBIOS" "exit status $status (expected 1)" \
            "stdout: $(head -c 600 "$tmp/out")" "stderr: $(head -n 3 "$tmp/err")"
    fi
done
run -kernel "$ROMDIR/demo.bin" -nographic -timeout 5
expect_error "-kernel with neither a bzImage nor a Multiboot kernel is refused" \
    "neither a Linux bzImage"

# --- SeaBIOS (the default firmware, from the seabios package): its POST
# (real and 32-bit protected mode, PCI enumeration through the i440FX and
# PIIX3 (ISA bridge, IDE, ACPI PM) and the VGA, fw_cfg, CMOS, PIT
# calibration, ACPI tables, the VGA BIOS, the 8042 and its PS/2 keyboard,
# the IDE channels) runs to the boot attempt.  Its log goes to port 0x402.
run -nographic -chardev "file,id=sb,path=$tmp/seabios.log" \
    -device isa-debugcon,chardev=sb,iobase=0x402 -timeout 4
if [ "$status" -eq 124 ] && grep -q '^SeaBIOS (version' "$tmp/seabios.log" &&
    grep -q '^Found 5 PCI devices' "$tmp/seabios.log" &&
    grep -q '^ACPI DSDT=' "$tmp/seabios.log" &&
    grep -q '^Start SeaVGABIOS' "$tmp/seabios.log" &&
    grep -q '^ATA controller 2 at 170' "$tmp/seabios.log" &&
    grep -q '^qemu/e820: addr 0x0000000000000000 len 0x0000000008000000 \[RAM\]' "$tmp/seabios.log" &&
    grep -q '^PS2 keyboard initialized' "$tmp/seabios.log" &&
    grep -q '^No bootable device' "$tmp/seabios.log"; then
    ok "SeaBIOS runs its POST to the boot attempt ($(grep -c . "$tmp/seabios.log") log lines)"
else
    not_ok "SeaBIOS runs its POST to the boot attempt" "exit status $status (expected 124)" \
        "log: $(tail -n 5 "$tmp/seabios.log" 2>/dev/null)" "stderr: $(head -n 3 "$tmp/err")"
fi

# --- SeaBIOS on COM1: with -nographic its serial console reaches the
# terminal (stdout), as in QEMU; -serial file:PATH sends it to a file
run -nographic -timeout 4
if [ "$status" -eq 124 ] && grep -q 'SeaBIOS (version' "$tmp/out" &&
    grep -q 'No bootable devic' "$tmp/out"; then
    ok "-nographic: SeaBIOS's serial console on stdout (COM1, 16550A)"
else
    not_ok "-nographic: SeaBIOS's serial console on stdout" "exit status $status" \
        "stdout: $(head -c 300 "$tmp/out")" "stderr: $(head -n 3 "$tmp/err")"
fi
run -nographic -serial "file:$tmp/com1.txt" -timeout 4
if [ "$status" -eq 124 ] && grep -q 'SeaBIOS (version' "$tmp/com1.txt" && [ ! -s "$tmp/out" ]; then
    ok "-serial file:PATH: COM1 output in the file, nothing on stdout"
else
    not_ok "-serial file:PATH: COM1 output in the file" "exit status $status" \
        "file: $(head -c 200 "$tmp/com1.txt" 2>/dev/null)" "stdout: $(head -c 200 "$tmp/out")"
fi
run -serial bogus
if [ "$status" -eq 1 ] && grep -q "unsupported character device 'bogus'" "$tmp/err"; then
    ok "-serial with an unknown backend is refused"
else
    not_ok "-serial with an unknown backend is refused" "exit status $status" \
        "stderr: $(head -n 3 "$tmp/err")"
fi

# --- ROMs made here: HLT everywhere, and "jmp $" everywhere
rom "$tmp/hlt.bin" '\364\364'
rom "$tmp/loop.bin" '\353\376'
run -bios "$tmp/hlt.bin" -nographic
if [ "$status" -eq 0 ] && grep -q "halted with interrupts disabled" "$tmp/err"; then
    ok "HLT with interrupts disabled ends the run with status 0"
else
    not_ok "HLT with interrupts disabled ends the run with status 0" \
        "exit status $status, stderr: $(head -n 2 "$tmp/err")"
fi
run -bios "$tmp/hlt.bin" -nographic -timeout 0.5
expect_status "HLT with -timeout waits for the timeout (status 124)" 124
run -bios "$tmp/loop.bin" -nographic -timeout 1
expect_status "-timeout stops a guest that loops forever (status 124)" 124

# --- command-line errors
run -bios "$tmp/no-such-file.bin" -nographic
expect_error "a missing -bios file is an error naming the file" "no-such-file.bin"
: >"$tmp/empty.bin"
run -bios "$tmp/empty.bin" -nographic
expect_error "an empty -bios file is an error" "empty"
head -c 5000 "$ROMDIR/demo.bin" >"$tmp/odd.bin"
run -bios "$tmp/odd.bin" -nographic
expect_error "a -bios file that is not whole 4 KiB pages is an error" "4 KiB"
run -bios "$ROMDIR/demo.bin" -m abc
expect_error "-m abc is refused" "\-m"
run -bios "$ROMDIR/demo.bin" -m 0
expect_error "-m 0 is refused" "\-m"
run -bios "$ROMDIR/demo.bin" -m 64X
expect_error "-m with an unknown suffix is refused" "\-m"
run -bios "$ROMDIR/demo.bin" -frobnicate
expect_error "an unknown option is an error naming it" "frobnicate"
run -bios
expect_error "an option missing its argument is an error" "requires an argument"
run -device isa-debugcon,iobase=0xe9
expect_error "isa-debugcon without a chardev is refused" "chardev"
run -device isa-debugcon,chardev=nope
expect_error "isa-debugcon naming an unknown chardev is refused" "nope"
run -accel tcg
expect_error "-accel names an unknown accelerator" "unknown accelerator 'tcg'"
run -accel jit,speed=max
expect_error "-accel jit refuses an unknown property" "bad jit properties"
# No desktop: -display sdl cannot open a window and says so (forced to the
# X11 driver with no DISPLAY, so no other video driver can step in).
$GUARD env DISPLAY= WAYLAND_DISPLAY= SDL_VIDEODRIVER=x11 "$KASOU" -display sdl -timeout 2 \
    >"$tmp/out" 2>"$tmp/err" </dev/null
status=$?
expect_error "-display sdl without a desktop is an error, not a crash" "display sdl"
run -display gtk
expect_error "an unknown -display type is refused" "gtk"
run -hda "$tmp/no-such-disk.img"
expect_error "a missing -hda image is an error naming it" "no-such-disk.img"
run -drive "file=$ROMDIR/demo.bin,if=scsi"
expect_error "-drive with an unsupported interface is refused" "if=scsi"
run -drive "file=$ROMDIR/demo.bin,bogus=1"
expect_error "-drive with an unknown parameter is refused" "bogus"
run -drive "file=$ROMDIR/demo.bin,format=vmdk"
expect_error "-drive with an unsupported format is refused" "vmdk"
run -drive "file=$ROMDIR/demo.bin,format=qcow2"
expect_error "format=qcow2 on a file that is not qcow2 is an error" "qcow2"
run -hda "$ROMDIR/demo.bin" -drive "file=$ROMDIR/demo.bin,index=0"
expect_error "two drives in one IDE slot are refused" "already in use"
run -fda "$ROMDIR/demo.bin"
expect_error "a floppy image of no floppy size is refused" "floppy"
run -boot order=z
expect_error "-boot with an unknown drive letter is refused" "boot order"
run -qmp "bogus:thing"
expect_error "-qmp with an unknown endpoint is refused" "qmp"
run -d nosuchchannel
expect_error "an unknown -d channel is refused" "nosuchchannel"
run -version
if [ "$status" -eq 0 ] && grep -q "kasou version" "$tmp/out"; then
    ok "-version prints the version"
else
    not_ok "-version prints the version" "exit status $status"
fi

finish
