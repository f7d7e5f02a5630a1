/*
 * demo.S - the demo firmware: print a greeting on the debug console
 * (port 0xe9) and leave through isa-debug-exit (port 0x501).
 *
 * It uses only the simplest instructions (MOV, OUT, LODSB, CMP, Jcc, JMP,
 * HLT) and no segment loads (the message is read through CS, whose base
 * is 0xFFFF0000 from reset) so it runs on an early CPU core.  Writing 0 to the exit port makes
 * kasou (or QEMU) exit with status (0 << 1) | 1 = 1.  Without an exit
 * device the CPU halts with interrupts disabled.  Layout: see rom.ld.
 */
    .set DEBUGCON, 0xe9
    .set DEBUG_EXIT, 0x501

    .code16
    .text
    .globl rom_start
rom_start:
start:
    mov $(msg - rom_start), %si
    mov $DEBUGCON, %dx
next:
    cs lodsb                    /* the message is in the code segment */
    cmp $0, %al
    je done
    out %al, %dx
    jmp next
done:
    mov $DEBUG_EXIT, %dx
    mov $0, %al
    out %al, %dx
halt:
    hlt                         /* reached only without an exit device */
    jmp halt

msg:
    .asciz "Hello from kasou\n"

    /* The CPU starts here, at F000:FFF0 (CS base 0xFFFF0000). */
    .org 0xfff0, 0xf4
    .globl reset
reset:
    jmp start
    .org 0x10000, 0xf4
