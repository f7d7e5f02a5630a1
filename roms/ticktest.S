/*
 * ticktest.S - how much code runs between two timer ticks (64 KiB, see
 * rom.ld): a probe for kasou's deterministic time (-icount).
 *
 * It programs the 8254 for about 1 kHz on IRQ0, waits for a tick, counts
 * loop iterations until the next one, and prints the count in hex on the
 * debug console (port E9h) as "ticktest: N iterations per tick", then
 * writes 0 to isa-debug-exit.  On real hardware, or with virtual time
 * that follows the host clock, N changes from run to run; with -icount it
 * is the same every time.
 */
    .set DEBUGCON, 0xe9
    .set DEBUG_EXIT, 0x501
    .set ticks, 0x500

    .code16
    .text
    .globl rom_start
rom_start:

start:
    cli
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %ss
    mov $0x7000, %sp
    movw $0, ticks
    movw $(irq0 - rom_start), 0x20 * 4
    movw $0xf000, 0x20 * 4 + 2
    mov $0x11, %al              /* 8259A: ICW1-4, master vectors 20h-27h */
    out %al, $0x20
    mov $0x20, %al
    out %al, $0x21
    mov $0x04, %al
    out %al, $0x21
    mov $0x01, %al
    out %al, $0x21
    mov $0xfe, %al              /* IRQ0 only */
    out %al, $0x21
    mov $0x34, %al              /* 8254 counter 0, mode 2, about 1 kHz */
    out %al, $0x43
    mov $1193, %ax
    out %al, $0x40
    mov %ah, %al
    out %al, $0x40
    sti
1:  hlt                         /* the first tick starts the measurement */
    cmpw $1, ticks
    jb 1b
    xor %ecx, %ecx
2:  inc %ecx                    /* until the second tick */
    cmpw $2, ticks
    jb 2b
    cli
    mov $(m_head - rom_start), %si
    call puts
    mov $8, %bx                 /* ECX in hex, 8 digits */
3:  rol $4, %ecx
    mov %cl, %al
    and $0x0f, %al
    add $'0', %al
    cmp $'9', %al
    jbe 4f
    add $('a' - '9' - 1), %al
4:  out %al, $DEBUGCON
    dec %bx
    jnz 3b
    mov $(m_tail - rom_start), %si
    call puts
    mov $DEBUG_EXIT, %dx
    xor %al, %al
    out %al, %dx
5:  hlt
    jmp 5b

irq0:
    push %ax
    incw %ss:ticks
    mov $0x20, %al
    out %al, $0x20
    pop %ax
    iret

puts:
    cs lodsb
    test %al, %al
    jz 1f
    out %al, $DEBUGCON
    jmp puts
1:  ret

m_head: .asciz "ticktest: 0x"
m_tail: .asciz " iterations per tick\n"

    .org 0xfff0, 0xf4
    .globl reset
reset:
    jmp start
    .org 0x10000, 0xf4
