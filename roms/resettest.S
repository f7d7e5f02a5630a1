/*
 * resettest.S - a self-checking firmware for the ways a PC resets
 * (64 KiB, see rom.ld).
 *
 * The firmware restarts itself three times and keeps count in CMOS byte
 * 40h, which is battery-backed and survives a reset:
 *   stage 0  copies itself into shadow RAM at F0000h (i440FX PAM0 = 30h:
 *            reads and writes go to DRAM), changes a marker byte in the
 *            shadow copy, and pulls port 92h bit 0 (fast reset), which the
 *            PIIX3 turns into INIT#: the CPU restarts, the chipset does not;
 *   stage 1  checks the marker still reads as changed (PAM0 kept), then
 *            resets through the PIIX3 reset control register, port CF9h,
 *            with SRST set (a hard reset: the chipset restarts too);
 *   stage 2  checks the hard reset put PAM0 back on the ROM side (the
 *            marker reads as built), then triple-faults: INT 3 with an
 *            interrupt table limit of 0 raises #GP, which cannot be
 *            delivered either (#DF), and neither can the double fault;
 *   stage 3  checks the CPU came back in its reset state (DX holds the
 *            processor signature, family 6) and passes.
 * The code runs where the CPU starts, in the ROM's alias below 4 GiB (CS
 * base FFFF0000h is kept: only near jumps), so it never depends on what
 * PAM0 shows at F0000h.
 * Under QEMU 7.2 the hard reset keeps PAM0 as the guest left it (the
 * 82441FX datasheet gives 00h after PCIRST#), so stage 2 fails there with
 * "the hard reset left PAM0 on shadow RAM".
 * Each stage prints a line on the debug console (port E9h); the end writes
 * 0 to isa-debug-exit (status 1), a failure writes 1 (status 3).
 */
    .set DEBUGCON, 0xe9
    .set DEBUG_EXIT, 0x501
    .set CMOS_STAGE, 0x40

    .code16
    .text
    .globl rom_start
rom_start:

start:
    cli
    cld
    mov %dx, %bp                /* the reset signature, before any use */
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %ss
    mov $0x7000, %sp
    call get_stage
    cmp $0, %al
    je stage0
    cmp $1, %al
    je stage1
    cmp $2, %al
    je stage2
    cmp $3, %al
    je stage3
    mov $(m_stage - rom_start), %si
    jmp fail

get_stage:
    mov $CMOS_STAGE, %al
    out %al, $0x70
    in $0x71, %al
    ret

/* Set the stage to AL. */
set_stage:
    push %ax
    mov $CMOS_STAGE, %al
    out %al, $0x70
    pop %ax
    out %al, $0x71
    ret

/* Write PAM0 (i440FX config 59h) = AL. */
set_pam0:
    push %ax
    mov $0x80000058, %eax
    mov $0xcf8, %dx
    out %eax, %dx
    pop %ax
    mov $0xcfd, %dx
    out %al, %dx
    ret

stage0:
    mov $(m_s0 - rom_start), %si
    call puts
    mov $0x30, %al              /* PAM0: DRAM for reads and writes */
    call set_pam0
    mov $0xf000, %ax
    mov %ax, %es
    xor %si, %si
    xor %di, %di
    mov $0x8000, %cx
    cs rep movsw                /* the ROM (high alias) onto the shadow */
    movb $'X', %es:(marker - rom_start)
    cmpb $'X', %es:(marker - rom_start)
    je 1f
    mov $(m_shadow - rom_start), %si
    jmp fail
1:  mov $1, %al
    call set_stage
    in $0x92, %al               /* fast reset */
    or $0x01, %al
    out %al, $0x92
    mov $(m_noreset - rom_start), %si
    jmp fail

stage1:
    mov $0xf000, %ax            /* INIT# kept the shadow mapping */
    mov %ax, %es
    cmpb $'X', %es:(marker - rom_start)
    je 1f
    mov $(m_init - rom_start), %si
    jmp fail
1:  mov $(m_s1 - rom_start), %si
    call puts
    mov $2, %al
    call set_stage
    mov $0xcf9, %dx
    mov $0x02, %al              /* SRST: a hard reset is wanted */
    out %al, %dx
    mov $0x06, %al              /* RCPU 0 -> 1: do it */
    out %al, %dx
    mov $(m_noreset - rom_start), %si
    jmp fail

stage2:
    mov $0xf000, %ax            /* the hard reset restored the ROM side */
    mov %ax, %es
    cmpb $'R', %es:(marker - rom_start)
    je 1f
    mov $(m_pam - rom_start), %si
    jmp fail
1:  mov $(m_s2 - rom_start), %si
    call puts
    mov $3, %al
    call set_stage
    lidtl %cs:(idt_none - rom_start)
    int $3
    mov $(m_noreset - rom_start), %si
    jmp fail

stage3:
    mov $(m_s3 - rom_start), %si
    call puts
    xor %al, %al                /* leave CMOS as found */
    call set_stage
    mov %bp, %ax                /* DX at reset: family in bits 11:8 */
    and $0x0f00, %ax
    cmp $0x0600, %ax
    je 1f
    mov $(m_sig - rom_start), %si
    jmp fail
1:  mov $(m_pass - rom_start), %si
    call puts
    mov $DEBUG_EXIT, %dx
    xor %al, %al
    out %al, %dx
2:  hlt
    jmp 2b

puts:
    push %ax
    push %dx
    mov $DEBUGCON, %dx
1:  cs lodsb
    test %al, %al
    jz 2f
    out %al, %dx
    jmp 1b
2:  pop %dx
    pop %ax
    ret

fail:
    push %si
    mov $(m_fail - rom_start), %si
    call puts
    pop %si
    call puts
    mov $(m_nl - rom_start), %si
    call puts
    xor %al, %al
    call set_stage
    mov $DEBUG_EXIT, %dx
    mov $1, %al
    out %al, %dx
1:  hlt
    jmp 1b

idt_none:
    .word 0                     /* limit 0: no vector fits */
    .long 0
marker:
    .byte 'R'

m_s0:       .asciz "resettest: power-on; shadowing the ROM, fast reset via port 92h\n"
m_s1:       .asciz "resettest: port 92h INIT kept the shadow RAM; hard reset via port CF9h\n"
m_s2:       .asciz "resettest: port CF9h hard reset restored the ROM mapping; triple fault\n"
m_s3:       .asciz "resettest: triple fault reset done\n"
m_pass:     .asciz "resettest: all checks passed\n"
m_fail:     .asciz "resettest: FAIL "
m_nl:       .asciz "\n"
m_stage:    .asciz "CMOS stage byte out of range"
m_shadow:   .asciz "shadow RAM not writable with PAM0 = 30h"
m_pam:      .asciz "the hard reset left PAM0 on shadow RAM"
m_init:     .asciz "the INIT from port 92h changed the PAM0 mapping"
m_noreset:  .asciz "the reset request was ignored"
m_sig:      .asciz "DX after reset does not hold a family 6 signature"

    /* The CPU starts here, at F000:FFF0 (CS base 0xFFFF0000). */
    .org 0xfff0, 0xf4
    .globl reset
reset:
    jmp start
    .org 0x10000, 0xf4
