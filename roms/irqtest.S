/*
 * irqtest.S - a self-checking firmware for hardware interrupt delivery
 * on the PC/AT core logic (64 KiB, see rom.ld).
 *
 * In real mode it programs the 8259A pair (master vectors 20h-27h, slave
 * 28h-2Fh, cascade on IR2) and checks, one source at a time:
 *   1. 8254 counter 0 in mode 2 at about 1 kHz: IRQ0 wakes HLT, 5 ticks;
 *   2. counter 2 through port 61h: its output shows in bit 5 once the
 *      gate is raised and the count runs out (mode 0, polled);
 *   3. the MC146818 periodic interrupt (1024 Hz) through the slave:
 *      IRQ8, register C reports PF and is cleared by the read;
 *   4. an unmasked x87 zero-divide with CR0.NE=0: FERR# reaches IRQ13
 *      (slave IR5) at the next waiting x87 instruction; the handler
 *      clears the latch at port F0h, and sees ZE and ES in the status word;
 *   5. the same error with CR0.NE=1: #MF (vector 16), no IRQ13;
 *   6. 32-bit protected mode: IRQ0 through an interrupt gate of the IDT,
 *      with IF cleared inside the handler and restored by IRETD.
 * Then it prints "irqtest: all checks passed" on the debug console (port
 * E9h) and writes 0 to isa-debug-exit (status 1), or prints the first
 * failure and writes 1 (status 3).
 *
 * Memory: variables at 0x500, real-mode stack below 0x7000, IDT at 0x7000.
 */
    .set DEBUGCON, 0xe9
    .set DEBUG_EXIT, 0x501
    .set ticks, 0x500           /* IRQ0 count */
    .set rtc_ticks, 0x502       /* IRQ8 count */
    .set rtc_c, 0x504           /* register C as the IRQ8 handler read it */
    .set ferr_irqs, 0x506       /* IRQ13 count */
    .set ferr_sw, 0x508         /* x87 status word seen by the IRQ13 handler */
    .set mf_count, 0x50a        /* #MF count */
    .set mf_sw, 0x50c           /* x87 status word seen by the #MF handler */
    .set scratch, 0x50e
    .set pm_ticks, 0x510        /* IRQ0 count in protected mode */
    .set pm_flags, 0x514        /* EFLAGS inside the protected-mode handler */
    .set IDT, 0x7000
    .set CODE_SEL, 0x08
    .set DATA_SEL, 0x10

/* Set real-mode vector `vec` to handler `fn` in segment F000. */
.macro IVT vec, fn
    movw $(\fn - rom_start), (\vec * 4)
    movw $0xf000, (\vec * 4 + 2)
.endm

/* Fail with message `msg` unless the word at `mem` equals `val`. */
.macro EXPECTW mem, val, msg
    cmpw $\val, \mem
    je 1f
    mov $(\msg - rom_start), %si
    jmp fail
1:
.endm

    .code16
    .text
    .globl rom_start
rom_start:

start:
    cli
    cld
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $0x7000, %sp
    mov $0x500, %di             /* clear the variables */
    mov $16, %cx
    rep stosw
    IVT 0x20, irq0
    IVT 0x28, irq8
    IVT 0x2d, irq13
    IVT 16, mf_handler
    call big_real
    call pic_init
    call test_pit
    call test_port61
    call test_rtc
    call test_ferr
    call test_mf
    jmp test_pm

/*
 * Give FS a 4 GiB limit in real mode ("big real mode": a real-mode
 * segment load changes only the selector and base), check it by a store
 * above 1 MiB, and use it to put the local APIC (if the CPU has one) in
 * virtual-wire mode: LINT0 as ExtINT, so the 8259A's INT reaches the CPU.
 */
big_real:
    lgdtl %cs:gdt_desc - rom_start
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    jmp 1f
1:  mov $DATA_SEL, %bx
    mov %bx, %fs
    and $0xfffffffe, %eax
    mov %eax, %cr0
    jmp 2f
2:  xor %bx, %bx
    mov %bx, %fs
    mov $0x200000, %ebx
    addr32 movl $0x5a5aa5a5, %fs:(%ebx)
    addr32 cmpl $0x5a5aa5a5, %fs:(%ebx)
    je 3f
    mov $(m_bigreal - rom_start), %si
    jmp fail
3:  mov $0xfee00350, %ebx       /* LVT LINT0: ExtINT, unmasked */
    addr32 movl $0x700, %fs:(%ebx)
    mov $0xfee000f0, %ebx       /* spurious vector register: APIC on */
    addr32 orl $0x1ff, %fs:(%ebx)
    ret

/* ICW1-ICW4 for both chips, then mask everything. */
pic_init:
    mov $0x11, %al              /* ICW1: edge, cascade, ICW4 follows */
    out %al, $0x20
    out %al, $0xa0
    mov $0x20, %al              /* ICW2: vector bases */
    out %al, $0x21
    mov $0x28, %al
    out %al, $0xa1
    mov $0x04, %al              /* ICW3: slave on master IR2 */
    out %al, $0x21
    mov $0x02, %al              /* ICW3: slave ID 2 */
    out %al, $0xa1
    mov $0x01, %al              /* ICW4: 8086 mode */
    out %al, $0x21
    out %al, $0xa1
    mov $0xff, %al
    out %al, $0x21
    out %al, $0xa1
    ret

/* Wait with HLT until the word at %bx reaches %cx (interrupts on). */
wait_count:
    sti
1:  hlt
    cmp %cx, (%bx)
    jb 1b
    cli
    ret

test_pit:
    mov $0x34, %al              /* counter 0, lo/hi byte, mode 2, binary */
    out %al, $0x43
    mov $1193, %ax              /* 1.193182 MHz / 1193: about 1 kHz */
    out %al, $0x40
    mov %ah, %al
    out %al, $0x40
    mov $0xfe, %al              /* unmask IRQ0 only */
    out %al, $0x21
    mov $ticks, %bx
    mov $5, %cx
    call wait_count             /* returns only once 5 ticks came */
    mov $(m_ok_pit - rom_start), %si
    call puts
    ret

test_port61:
    in $0x61, %al               /* gate 2 off, speaker off */
    and $0xfc, %al
    out %al, $0x61
    mov $0xb0, %al              /* counter 2, lo/hi byte, mode 0, binary */
    out %al, $0x43
    mov $100, %al
    out %al, $0x42
    xor %al, %al
    out %al, $0x42
    in $0x61, %al
    test $0x20, %al             /* mode 0: OUT low after the count is written */
    jz 1f
    mov $(m_p61_low - rom_start), %si
    jmp fail
1:  or $0x01, %al               /* raise gate 2: counting starts */
    out %al, $0x61
    mov $0xffff, %cx
2:  in $0x61, %al
    test $0x20, %al
    jnz 3f
    loop 2b
    mov $(m_p61_high - rom_start), %si
    jmp fail
3:  mov $(m_ok_p61 - rom_start), %si
    call puts
    ret

test_rtc:
    mov $0x0a, %al              /* register A: divider on, rate 6 (1024 Hz) */
    out %al, $0x70
    mov $0x26, %al
    out %al, $0x71
    mov $0x0c, %al              /* drop stale flags */
    out %al, $0x70
    in $0x71, %al
    mov $0x0b, %al              /* register B: PIE */
    out %al, $0x70
    in $0x71, %al
    or $0x40, %al
    mov %al, %ah
    mov $0x0b, %al
    out %al, $0x70
    mov %ah, %al
    out %al, $0x71
    mov $0xfe, %al              /* slave: IRQ8 only */
    out %al, $0xa1
    mov $0xfb, %al              /* master: the cascade (IR2) only */
    out %al, $0x21
    mov $rtc_ticks, %bx
    mov $3, %cx
    call wait_count
    mov $0x0b, %al              /* PIE off again */
    out %al, $0x70
    in $0x71, %al
    and $0xbf, %al
    mov %al, %ah
    mov $0x0b, %al
    out %al, $0x70
    mov %ah, %al
    out %al, $0x71
    mov rtc_c, %al              /* IRQF and PF were set when it was read */
    and $0xc0, %al
    cmp $0xc0, %al
    je 1f
    mov $(m_rtc_c - rom_start), %si
    jmp fail
1:  mov $0x0c, %al              /* the read in the handler cleared them */
    out %al, $0x70
    in $0x71, %al
    test $0x80, %al
    jz 2f
    mov $(m_rtc_clear - rom_start), %si
    jmp fail
2:  mov $(m_ok_rtc - rom_start), %si
    call puts
    ret

/* Leave ST0 = 1/0 with ZE unmasked: an unmasked, pending x87 error. */
x87_error:
    fninit
    fnstcw scratch
    andw $0xfffb, scratch       /* unmask ZE */
    fldcw scratch
    fld1
    fldz
    fdivrp %st, %st(1)          /* ST1 / ST0 = 1 / 0 */
    ret

test_ferr:
    mov $0xdb, %al              /* slave: IRQ13 only (IR5) */
    out %al, $0xa1
    mov $0xfb, %al              /* master: cascade only */
    out %al, $0x21
    call x87_error
    sti
    fwait                       /* FERR# -> IRQ13 */
    nop
    cli
    EXPECTW ferr_irqs, 1, m_ferr
    mov ferr_sw, %ax
    and $0x84, %ax              /* ES and ZE */
    cmp $0x84, %ax
    je 1f
    mov $(m_ferr_sw - rom_start), %si
    jmp fail
1:  mov $(m_ok_ferr - rom_start), %si
    call puts
    ret

test_mf:
    mov %cr0, %eax              /* CR0.NE: report x87 errors as #MF */
    or $0x20, %eax
    mov %eax, %cr0
    mov $0xff, %al              /* every line masked: only #MF may come */
    out %al, $0x21
    out %al, $0xa1
    call x87_error
    fwait                       /* #MF; the handler clears ES, FWAIT reruns */
    EXPECTW mf_count, 1, m_mf
    mov mf_sw, %ax
    and $0x84, %ax
    cmp $0x84, %ax
    je 1f
    mov $(m_mf_sw - rom_start), %si
    jmp fail
1:  EXPECTW ferr_irqs, 1, m_mf_irq
    xor %al, %al                /* FERR# latched IRQ13 (masked): clear it */
    out %al, $0xf0
    mov %cr0, %eax
    and $0xffffffdf, %eax
    mov %eax, %cr0
    fninit
    mov $(m_ok_mf - rom_start), %si
    call puts
    ret

/* ---- interrupt handlers (real mode) ---- */
irq0:
    push %ax
    incw %ss:ticks
    mov $0x20, %al              /* non-specific EOI */
    out %al, $0x20
    pop %ax
    iret

irq8:
    push %ax
    mov $0x0c, %al              /* reading register C acknowledges */
    out %al, $0x70
    in $0x71, %al
    mov %al, %ss:rtc_c
    incw %ss:rtc_ticks
    mov $0x20, %al
    out %al, $0xa0
    out %al, $0x20
    pop %ax
    iret

irq13:
    push %ax
    xor %al, %al                /* clear the coprocessor error latch */
    out %al, $0xf0
    fnstsw %ss:ferr_sw
    fnclex
    incw %ss:ferr_irqs
    mov $0x20, %al
    out %al, $0xa0
    out %al, $0x20
    pop %ax
    iret

mf_handler:
    fnstsw %ss:mf_sw
    fnclex
    incw %ss:mf_count
    iret

/* ---- output ---- */
/* Print the NUL-terminated string at CS:SI. */
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
    mov $DEBUG_EXIT, %dx
    mov $1, %al
    out %al, %dx
    cli
1:  hlt
    jmp 1b

/* ---- 6: protected mode ---- */
test_pm:
    lgdtl %cs:gdt_desc - rom_start
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $CODE_SEL, $pm32

    .p2align 3
gdt:
    .quad 0
    .quad 0x00cf9b000000ffff    /* 0x08: code, base 0, 4 GiB, 32-bit */
    .quad 0x00cf93000000ffff    /* 0x10: data, base 0, 4 GiB */
gdt_end:
gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt
idt_desc:
    .word 0x30 * 8 - 1
    .long IDT

    .code32
pm32:
    mov $DATA_SEL, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $0x7000, %esp
    mov $IDT, %edi              /* 30h gates, all to pm_irq0 (only IRQ0 comes) */
    mov $0x30, %ecx
    mov $pm_irq0, %eax
1:  mov %ax, (%edi)
    movw $CODE_SEL, 2(%edi)
    movw $0x8e00, 4(%edi)       /* present, DPL 0, 32-bit interrupt gate */
    mov %eax, %edx
    shr $16, %edx
    mov %dx, 6(%edi)
    add $8, %edi
    loop 1b
    lidtl idt_desc
    mov $0xfe, %al              /* IRQ0 only */
    out %al, $0x21
    movl $0, pm_ticks
    sti
2:  hlt
    cmpl $3, pm_ticks
    jb 2b
    cli
    cmpl $3, pm_ticks
    je 3f
    mov $m_pm, %esi
    jmp fail32
3:  testl $0x200, pm_flags      /* the gate cleared IF */
    jz 4f
    mov $m_pm_if, %esi
    jmp fail32
4:  mov $m_ok_pm, %esi
    call puts32
    mov $m_pass, %esi
    call puts32
    mov $DEBUG_EXIT, %dx
    xor %al, %al
    out %al, %dx
5:  hlt
    jmp 5b

pm_irq0:
    push %eax
    pushfl
    popl pm_flags
    incl pm_ticks
    mov $0x20, %al
    out %al, $0x20
    pop %eax
    iretl

puts32:
    push %eax
    push %edx
    mov $DEBUGCON, %dx
1:  lodsb
    test %al, %al
    jz 2f
    out %al, %dx
    jmp 1b
2:  pop %edx
    pop %eax
    ret

fail32:
    push %esi
    mov $m_fail, %esi
    call puts32
    pop %esi
    call puts32
    mov $m_nl, %esi
    call puts32
    mov $DEBUG_EXIT, %dx
    mov $1, %al
    out %al, %dx
1:  hlt
    jmp 1b

/* ---- messages ---- */
m_ok_pit:    .asciz "irqtest: PIT IRQ0 woke HLT 5 times\n"
m_ok_p61:    .asciz "irqtest: counter 2 output seen at port 61h\n"
m_ok_rtc:    .asciz "irqtest: RTC periodic IRQ8 through the slave PIC\n"
m_ok_ferr:   .asciz "irqtest: x87 error with CR0.NE=0 raised IRQ13 (FERR#)\n"
m_ok_mf:     .asciz "irqtest: x87 error with CR0.NE=1 raised #MF\n"
m_ok_pm:     .asciz "irqtest: protected-mode IRQ0 through an interrupt gate\n"
m_pass:      .asciz "irqtest: all checks passed\n"
m_fail:      .asciz "irqtest: FAIL "
m_nl:        .asciz "\n"
m_p61_low:   .asciz "counter 2 OUT high before the gate rose"
m_p61_high:  .asciz "counter 2 OUT never rose"
m_bigreal:   .asciz "store above 1 MiB through a 4 GiB FS limit in real mode"
m_rtc_c:     .asciz "RTC register C lacked IRQF|PF in the IRQ8 handler"
m_rtc_clear: .asciz "RTC register C not cleared by reading it"
m_ferr:      .asciz "IRQ13 count after an unmasked x87 error"
m_ferr_sw:   .asciz "x87 status word in the IRQ13 handler"
m_mf:        .asciz "#MF count with CR0.NE=1"
m_mf_sw:     .asciz "x87 status word in the #MF handler"
m_mf_irq:    .asciz "IRQ13 raised although CR0.NE=1 and IRQ13 masked"
m_pm:        .asciz "protected-mode IRQ0 count"
m_pm_if:     .asciz "IF set inside an interrupt-gate handler"

    /* The CPU starts here, at F000:FFF0 (CS base 0xFFFF0000). */
    .code16
    .org 0xfff0, 0xf4
    .globl reset
reset:
    ljmp $0xf000, $(start - rom_start)
    .org 0x10000, 0xf4
