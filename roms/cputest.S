/*
 * cputest.S - a self-checking CPU test firmware (64 KiB, see rom.ld).
 *
 * From the reset vector it enables A20, loads a GDT, enters 32-bit
 * protected mode with flat segments, builds an IDT, and runs checks:
 * arithmetic results and flags, multiply/divide, shifts and bit ops,
 * data movement, the stack, string instructions, exceptions (#UD, #DE,
 * #BP, #GP) caught by the IDT handler with the right vector, error code
 * and return EIP, then paging with an identity map, 4 MiB pages, INVLPG,
 * accessed/dirty bits and page faults with the right CR2 and error code.
 *
 * Every check compares against a value written down from the Intel SDM,
 * so the ROM also runs on real hardware or another emulator.  It prints
 * "cputest: N checks passed" on the debug console (port 0xe9) and writes
 * 0 to isa-debug-exit (status 1), or prints the first failure (what was
 * expected, what was found) and writes 1 (status 3).  An exception that
 * no check expected is a failure too.
 *
 * Memory used (all in the first 1 MiB, so A20 does not matter):
 *   0x7000 IDT, 0x8000 variables, 0x9000 top of stack,
 *   0x10000 page directory, 0x11000 page table, 0x20000 scratch buffer.
 */
    .set DEBUGCON, 0xe9
    .set DEBUG_EXIT, 0x501
    .set CODE_SEL, 0x08
    .set DATA_SEL, 0x10
    .set STACK_TOP, 0x9000
    .set IDT, 0x7000
    .set IDT_VECS, 32
    .set PD, 0x10000
    .set PT0, 0x11000
    .set BUF, 0x20000
    .set FL_ARITH, 0x8d5        /* CF PF AF ZF SF OF */
    .set FL_NOAF, 0x8c5         /* the same without AF (undefined for logic) */

    /* variables in RAM */
    .set checks, 0x8000         /* checks passed so far */
    .set got, 0x8004            /* last compared value */
    .set expect, 0x8008         /* ... and what it should have been */
    .set resume, 0x800c         /* where a fault handler returns; 0: none */
    .set got_vec, 0x8010        /* last exception: vector */
    .set got_err, 0x8014        /* error code (0 if none) */
    .set got_eip, 0x8018        /* EIP pushed by the CPU */
    .set got_cr2, 0x801c        /* CR2 at the time */
    .set scratch, 0x8020

/* Compare a register with an expected value; on mismatch report `name`. */
.macro CHECK expected, reg, name
    movl \reg, got
    movl \expected, expect
    cmpl \expected, \reg
    je .Lok\@
    mov $.Lname\@, %esi
    jmp fail
.Lname\@:
    .asciz "\name"
.Lok\@:
    incl checks
.endm

/* Compare the arithmetic flags (under `mask`) with `expected`. */
.macro CHECK_FLAGS expected, mask, name
    pushfl
    popl %edx
    andl \mask, %edx
    CHECK \expected, %edx, "\name"
.endm

/* Compare a memory dword with an expected value (clobbers %eax). */
.macro CHECK_MEM expected, mem, name
    movl \mem, %eax
    CHECK \expected, %eax, "\name"
.endm

/* Expect the next instruction to fault; the handler resumes at `label`. */
.macro ARM label
    movl $\label, resume
    movl $0xffffffff, got_vec
    movl $0xffffffff, got_eip
.endm

/* At the resume label: disarm, then check vector, error code and EIP. */
.macro CHECK_FAULT vec, err, eip, name
    movl $0, resume
    CHECK_MEM \vec, got_vec, "\name: vector"
    CHECK_MEM \err, got_err, "\name: error code"
    CHECK_MEM \eip, got_eip, "\name: saved EIP"
.endm

    .code16
    .text
    .globl rom_start
rom_start:

/* ---- real mode: enter protected mode ---- */
start16:
    cli
    cld
    inb $0x92, %al              /* fast A20 on (bit 1), no reset (bit 0) */
    orb $0x02, %al
    andb $0xfe, %al
    outb %al, $0x92
    lgdtl %cs:gdt_desc - rom_start
    movl %cr0, %eax
    orl $1, %eax                /* CR0.PE */
    movl %eax, %cr0
    ljmpl $CODE_SEL, $start32

    .p2align 3
gdt:
    .quad 0
    .quad 0x00cf9b000000ffff    /* 0x08: code, base 0, 4 GiB, 32-bit */
    .quad 0x00cf93000000ffff    /* 0x10: data, base 0, 4 GiB */
gdt_end:
gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt

    .code32
start32:
    movw $DATA_SEL, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movl $STACK_TOP, %esp
    movl $0, checks
    movl $0, resume
    call setup_idt
    call test_alu
    call test_muldiv
    call test_shift
    call test_move
    call test_string
    call test_faults
    call test_segments
    call test_paging
    mov $s_pass, %esi
    call puts
    movl checks, %eax
    call putdec
    mov $s_passed, %esi
    call puts
    movb $0, %al
    jmp finish

/* ---- output and exit ---- */

/* Print the NUL-terminated string at %esi. Clobbers %eax %edx %esi. */
puts:
    movw $DEBUGCON, %dx
1:  lodsb
    testb %al, %al
    jz 2f
    outb %al, %dx
    jmp 1b
2:  ret

/* Print %eax as 8 hex digits. Clobbers %eax %edx. */
puthex:
    pushl %ebx
    pushl %ecx
    movl %eax, %ebx
    movl $8, %ecx
    movw $DEBUGCON, %dx
1:  roll $4, %ebx
    movl %ebx, %eax
    andl $0xf, %eax
    movb hexdigits(%eax), %al
    outb %al, %dx
    loop 1b
    popl %ecx
    popl %ebx
    ret

/* Print %eax in decimal. Clobbers %eax %edx. */
putdec:
    pushl %ebx
    pushl %ecx
    movl $10, %ebx
    xorl %ecx, %ecx
1:  xorl %edx, %edx
    divl %ebx
    pushl %edx
    incl %ecx
    testl %eax, %eax
    jnz 1b
    movw $DEBUGCON, %dx
2:  popl %eax
    addb $'0', %al
    outb %al, %dx
    loop 2b
    popl %ecx
    popl %ebx
    ret

/* A check failed: %esi names it; got/expect hold the values. */
fail:
    pushl %esi
    mov $s_fail, %esi
    call puts
    popl %esi
    call puts
    mov $s_got, %esi
    call puts
    movl got, %eax
    call puthex
    mov $s_expected, %esi
    call puts
    movl expect, %eax
    call puthex
    mov $s_after, %esi
    call puts
    movl checks, %eax
    call putdec
    mov $s_passed_paren, %esi
    call puts
    movb $1, %al
    /* fall through */

/* Leave through isa-debug-exit with the value in %al; halt otherwise. */
finish:
    movw $DEBUG_EXIT, %dx
    outb %al, %dx
    cli
1:  hlt
    jmp 1b

hexdigits:
    .ascii "0123456789abcdef"
s_pass:
    .asciz "cputest: "
s_passed:
    .asciz " checks passed\n"
s_fail:
    .asciz "cputest: FAIL "
s_got:
    .asciz ": got 0x"
s_expected:
    .asciz ", expected 0x"
s_after:
    .asciz " (after "
s_passed_paren:
    .asciz " checks passed)\n"
s_unexpected:
    .asciz "cputest: FAIL unexpected exception "
s_at:
    .asciz " at EIP 0x"
s_errcode:
    .asciz " error code 0x"
s_nl:
    .asciz "\n"

/* ---- exceptions ---- */

/* One entry stub per vector: push a dummy error code where the CPU
 * pushes none, then the vector number. */
.macro VEC n
vec\n:
    .if !((\n == 8) || ((\n >= 10) && (\n <= 14)) || (\n == 17))
    pushl $0
    .endif
    pushl $\n
    jmp exc_common
.endm
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    VEC \n
    .endr

    .p2align 2
vectors:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .long vec\n
    .endr

/*
 * Stack: vector, error code, EIP, CS, EFLAGS.  Record them and CR2; if a
 * check armed `resume`, return there, else report the exception and stop.
 */
exc_common:
    pushl %eax
    movl 4(%esp), %eax
    movl %eax, got_vec
    movl 8(%esp), %eax
    movl %eax, got_err
    movl 12(%esp), %eax
    movl %eax, got_eip
    movl %cr2, %eax
    movl %eax, got_cr2
    movl resume, %eax
    testl %eax, %eax
    jz unexpected
    movl %eax, 12(%esp)         /* return to the resume label */
    movl $0, resume
    popl %eax
    addl $8, %esp               /* drop vector and error code */
    iret

unexpected:
    mov $s_unexpected, %esi
    call puts
    movl got_vec, %eax
    call putdec
    mov $s_at, %esi
    call puts
    movl got_eip, %eax
    call puthex
    mov $s_errcode, %esi
    call puts
    movl got_err, %eax
    call puthex
    mov $s_nl, %esi
    call puts
    movb $1, %al
    jmp finish

/* 32 interrupt gates (type 0xE, DPL 0, present) into the stubs. */
setup_idt:
    movl $IDT, %edi
    movl $vectors, %esi
    movl $IDT_VECS, %ecx
1:  lodsl
    movl %eax, %edx
    andl $0xffff, %eax
    orl $(CODE_SEL << 16), %eax
    movl %eax, (%edi)
    andl $0xffff0000, %edx
    orl $0x8e00, %edx
    movl %edx, 4(%edi)
    addl $8, %edi
    loop 1b
    lidt idt_desc
    ret

idt_desc:
    .word IDT_VECS * 8 - 1
    .long IDT

/* ---- arithmetic and flags (SDM vol.2 and appendix A of vol.1) ---- */
test_alu:
    movl $0x7fffffff, %eax
    addl $1, %eax
    CHECK_FLAGS $0x894, $FL_ARITH, "add 0x7fffffff+1 flags"
    CHECK $0x80000000, %eax, "add 0x7fffffff+1"
    xorl %eax, %eax
    subl $1, %eax
    CHECK_FLAGS $0x95, $FL_ARITH, "sub 0-1 flags"
    CHECK $0xffffffff, %eax, "sub 0-1"
    movl $0xffffffff, %eax
    stc
    adcl $0, %eax
    CHECK_FLAGS $0x55, $FL_ARITH, "adc -1+0+CF flags"
    CHECK $0, %eax, "adc -1+0+CF"
    movl $5, %eax
    stc
    sbbl $3, %eax
    CHECK_FLAGS $0, $FL_ARITH, "sbb 5-3-CF flags"
    CHECK $1, %eax, "sbb 5-3-CF"
    movb $0x7f, %bl
    stc
    incb %bl
    CHECK_FLAGS $0x891, $FL_ARITH, "inc 0x7f flags (CF kept)"
    movzbl %bl, %eax
    CHECK $0x80, %eax, "inc 0x7f"
    movl $1, %ecx
    clc
    decl %ecx
    CHECK_FLAGS $0x44, $FL_ARITH, "dec 1 flags"
    movl $0xf0f0f0f0, %eax
    andl $0x0ff00ff0, %eax
    CHECK_FLAGS $0x04, $FL_NOAF, "and flags"
    CHECK $0x00f000f0, %eax, "and"
    movl $0x80000000, %eax
    negl %eax
    CHECK_FLAGS $0x885, $FL_ARITH, "neg 0x80000000 flags"
    CHECK $0x80000000, %eax, "neg 0x80000000"
    movl $0xffffffff, %eax
    cmpl $1, %eax
    setl %bl
    seta %bh
    setg %cl
    setb %ch
    movzwl %bx, %eax
    CHECK $0x0101, %eax, "setl/seta after cmp -1,1"
    movzwl %cx, %eax
    CHECK $0, %eax, "setg/setb after cmp -1,1"
    movl $3, %ecx
    movl $1, %eax
    cmpl $3, %ecx
    jne 1f
    movl $2, %eax
1:  CHECK $2, %eax, "jne not taken when equal"
    movl $1, %eax
    movl $2, %ecx
    cmpl %ecx, %eax
    cmovl %ecx, %eax
    CHECK $2, %eax, "cmovl"
    movl $5, scratch
    movl $5, %eax
    movl $9, %ecx
    cmpxchgl %ecx, scratch
    CHECK_FLAGS $0x40, $0x40, "cmpxchg equal ZF"
    CHECK_MEM $9, scratch, "cmpxchg equal stores"
    movb $0x19, %al
    addb $0x28, %al
    daa
    movzbl %al, %eax
    CHECK $0x47, %eax, "daa 0x19+0x28"
    ret

test_muldiv:
    movl $0x10000, %eax
    movl $0x10001, %ecx
    mull %ecx
    movl %edx, %ebx
    CHECK_FLAGS $0x801, $0x801, "mul CF/OF"
    CHECK $0x10000, %eax, "mul 0x10000*0x10001 low"
    CHECK $1, %ebx, "mul 0x10000*0x10001 high"
    movl $7, %ecx
    imull $-3, %ecx, %eax
    CHECK_FLAGS $0, $0x801, "imul 7*-3 CF/OF"
    CHECK $0xffffffeb, %eax, "imul 7*-3"
    movl $0x40000000, %eax
    movl $2, %ecx
    imull %ecx
    movl %edx, %ebx
    CHECK_FLAGS $0x801, $0x801, "imul overflow CF/OF"
    CHECK $0x80000000, %eax, "imul 0x40000000*2 low"
    CHECK $0, %ebx, "imul 0x40000000*2 high"
    movl $1, %edx
    movl $5, %eax
    movl $0x10, %ecx
    divl %ecx
    CHECK $0x10000000, %eax, "div 0x100000005/16 quotient"
    CHECK $5, %edx, "div 0x100000005/16 remainder"
    movl $-7, %eax
    cltd
    movl $2, %ecx
    idivl %ecx
    CHECK $0xfffffffd, %eax, "idiv -7/2 quotient"
    CHECK $0xffffffff, %edx, "idiv -7/2 remainder"
    movl $100, %eax
    movb $7, %cl
    divb %cl
    movzwl %ax, %eax
    CHECK $0x020e, %eax, "div 100/7 (byte)"
    ret

test_shift:
    movl $0x12345678, %eax
    shll $4, %eax
    CHECK_FLAGS $1, $1, "shl 4 CF"
    CHECK $0x23456780, %eax, "shl 4"
    movl $0x12345678, %eax
    roll $8, %eax
    CHECK $0x34567812, %eax, "rol 8"
    rorl $12, %eax
    CHECK $0x81234567, %eax, "ror 12"
    movl $-16, %eax
    sarl $2, %eax
    CHECK $0xfffffffc, %eax, "sar -16,2"
    movl $0x80000000, %eax
    shrl $2, %eax
    CHECK $0x20000000, %eax, "shr 2"
    movl $0x12345678, %eax
    movl $0x9abcdef0, %ecx
    shldl $8, %ecx, %eax
    CHECK $0x3456789a, %eax, "shld 8"
    movl $0x12345678, %eax
    shrdl $8, %ecx, %eax
    CHECK $0xf0123456, %eax, "shrd 8"
    movl $1, %eax
    movb $36, %cl
    shll %cl, %eax
    CHECK $0x10, %eax, "shl by CL masks the count to 5 bits"
    stc
    movl $0x80000000, %eax
    rcll $1, %eax
    CHECK_FLAGS $1, $1, "rcl CF out"
    CHECK $1, %eax, "rcl CF in"
    movl $0x00100100, %eax
    bsfl %eax, %ecx
    CHECK $8, %ecx, "bsf"
    bsrl %eax, %ecx
    CHECK $20, %ecx, "bsr"
    movl $0x12345678, %eax
    bswapl %eax
    CHECK $0x78563412, %eax, "bswap"
    xorl %eax, %eax
    btsl $5, %eax
    CHECK_FLAGS $0, $1, "bts old bit in CF"
    CHECK $0x20, %eax, "bts"
    btl $5, %eax
    CHECK_FLAGS $1, $1, "bt CF"
    ret

/* ---- data movement, stack, calls ---- */
ret_5a5a:
    movl $0x5a5a, %eax
    ret

test_move:
    movl $0x80, %eax
    movsbl %al, %ecx
    CHECK $0xffffff80, %ecx, "movsx byte"
    movl $0xffff, %eax
    movzwl %ax, %ecx
    CHECK $0xffff, %ecx, "movzx word"
    movswl %ax, %ecx
    CHECK $0xffffffff, %ecx, "movsx word"
    movl $0x1000, %eax
    movl $3, %ecx
    leal 8(%eax,%ecx,4), %edx
    CHECK $0x1014, %edx, "lea base+index*4+disp"
    movl $1, %eax
    movl $2, %ebx
    xchgl %eax, %ebx
    CHECK $2, %eax, "xchg"
    CHECK $1, %ebx, "xchg (other side)"
    movl $0x12345678, scratch
    movw scratch + 2, %ax
    movzwl %ax, %eax
    CHECK $0x1234, %eax, "little-endian word load"
    movl %esp, %edi
    pushl $0x12345678
    popl %eax
    movl %esp, %ecx
    CHECK $0x12345678, %eax, "push imm / pop"
    CHECK %edi, %ecx, "push/pop balance ESP"
    xorl %eax, %eax
    call ret_5a5a
    CHECK $0x5a5a, %eax, "call/ret"
    CHECK %edi, %esp, "call/ret balance ESP"
    movl $0x11, %eax
    movl $0x22, %ebx
    pushal
    xorl %eax, %eax
    xorl %ebx, %ebx
    popal
    CHECK $0x11, %eax, "pusha/popa eax"
    CHECK $0x22, %ebx, "pusha/popa ebx"
    pushfl
    orl $0x400, (%esp)
    popfl
    pushfl
    popl %eax
    cld
    andl $0x400, %eax
    CHECK $0x400, %eax, "popf sets DF"
    movl $10, %ecx
    xorl %eax, %eax
1:  incl %eax
    loop 1b
    CHECK $10, %eax, "loop 10 times"
    ret

/* ---- string instructions ---- */
str16:
    .ascii "kasou string ops"

test_string:
    cld
    movl $str16, %esi
    movl $BUF, %edi
    movl $16, %ecx
    rep movsb
    CHECK $0, %ecx, "rep movsb count"
    CHECK $(BUF + 16), %edi, "rep movsb edi"
    movl $str16, %esi
    movl $BUF, %edi
    movl $16, %ecx
    repe cmpsb
    CHECK_FLAGS $0x40, $0x40, "repe cmpsb equal: ZF"
    CHECK $0, %ecx, "repe cmpsb equal: count"
    movb $'X', BUF + 5
    movl $str16, %esi
    movl $BUF, %edi
    movl $16, %ecx
    repe cmpsb
    CHECK_FLAGS $0, $0x40, "repe cmpsb mismatch: ZF"
    CHECK $10, %ecx, "repe cmpsb mismatch: count"
    CHECK $(str16 + 6), %esi, "repe cmpsb mismatch: esi"
    movl $0, BUF + 0x120
    movl $0xa5a5a5a5, %eax
    movl $(BUF + 0x100), %edi
    movl $8, %ecx
    rep stosl
    CHECK_MEM $0xa5a5a5a5, BUF + 0x11c, "rep stosl last dword"
    CHECK_MEM $0, BUF + 0x120, "rep stosl stops at the count"
    movl $str16, %edi
    movb $'g', %al
    movl $16, %ecx
    repne scasb
    CHECK $4, %ecx, "repne scasb count"
    CHECK $(str16 + 12), %edi, "repne scasb edi"
    movl $(str16 + 3), %esi
    std
    lodsb
    cld
    movzbl %al, %eax
    CHECK $'o', %eax, "std; lodsb byte"
    CHECK $(str16 + 2), %esi, "std; lodsb esi"
    movl $BUF, %edi
    xorl %ecx, %ecx
    rep stosb
    CHECK $BUF, %edi, "rep stosb with ecx=0"
    movl $str16, %esi
    movl $(BUF + 0x200), %edi
    movl $4, %ecx
    rep movsl
    CHECK_MEM $0x73706f20, BUF + 0x20c, "rep movsl"
    ret

/* ---- exceptions through the IDT (SDM vol.3 chapter 6) ---- */
test_faults:
    ARM .Lud_r
.Lud:
    ud2
.Lud_r:
    CHECK_FAULT $6, $0, $.Lud, "ud2 raises #UD"
    ARM .Lde_r
    movl $5, %eax
    xorl %edx, %edx
    xorl %ecx, %ecx
.Lde:
    divl %ecx
.Lde_r:
    movl %eax, %ebx
    CHECK_FAULT $0, $0, $.Lde, "div by zero raises #DE"
    CHECK $5, %ebx, "#DE leaves EAX alone"
    ARM .Lde2_r
    movl $0x80000000, %eax
    movl $0xffffffff, %edx
    movl $0xffffffff, %ecx
.Lde2:
    idivl %ecx
.Lde2_r:
    CHECK_FAULT $0, $0, $.Lde2, "idiv overflow raises #DE"
    ARM .Lbp_r
    int3
.Lbp_r:
    CHECK_FAULT $3, $0, $.Lbp_r, "int3 traps after the instruction"
    ret

/* ---- protected-mode segment loads ---- */
test_segments:
    ARM .Lgp_r
    movw $0x18, %ax
.Lgp:
    movw %ax, %ds
.Lgp_r:
    CHECK_FAULT $13, $0x18, $.Lgp, "selector past the GDT limit: #GP(sel)"
    movw %ds, %ax
    movzwl %ax, %eax
    CHECK $DATA_SEL, %eax, "DS unchanged after a failed load"
    ARM .Lss_r
    movw $CODE_SEL, %ax
.Lss:
    movw %ax, %ss
.Lss_r:
    CHECK_FAULT $13, $CODE_SEL, $.Lss, "code segment into SS: #GP(sel)"
    xorl %eax, %eax
    movw %ax, %es
    ARM .Lnull_r
.Lnull:
    movl %es:0, %eax
.Lnull_r:
    CHECK_FAULT $13, $0, $.Lnull, "access through a null ES: #GP(0)"
    movw $DATA_SEL, %ax
    movw %ax, %es
    ret

/* ---- paging (SDM vol.3 chapter 4, 32-bit paging) ---- */

/* Identity-map 0-4 MiB with a page table, except three test pages, and
 * map 4-8 MiB with one 4 MiB page onto physical 0. */
build_page_tables:
    movl $PT0, %edi
    movl $0x003, %eax           /* present, writable, supervisor */
    movl $1024, %ecx
1:  stosl
    addl $0x1000, %eax
    loop 1b
    movl $0, PT0 + 0x300 * 4                  /* 0x300000: not present */
    movl $(0x301000 | 0x001), PT0 + 0x301 * 4 /* 0x301000: read-only */
    movl $(0x5000 | 0x003), PT0 + 0x302 * 4   /* 0x302000 -> 0x5000 */
    movl $PD, %edi
    xorl %eax, %eax
    movl $1024, %ecx
    rep stosl
    movl $(PT0 | 0x003), PD
    movl $0x083, PD + 4         /* PS: 4 MiB at 0x400000 -> 0 */
    ret

test_paging:
    call build_page_tables
    movl $0x11111111, 0x5000
    movl $0x22222222, 0x6000
    movl $PD, %eax
    movl %eax, %cr3
    movl %cr4, %eax
    orl $0x10, %eax             /* CR4.PSE */
    movl %eax, %cr4
    movl %cr0, %eax
    orl $0x80000000, %eax       /* CR0.PG */
    movl %eax, %cr0
    jmp 1f
1:  movl %cr0, %eax
    andl $0x80000001, %eax
    CHECK $0x80000001, %eax, "CR0.PG and PE set"
    CHECK_MEM $0x11111111, 0x5000, "identity-mapped read"
    CHECK_MEM $0x11111111, 0x302000, "read through an alias page"
    movl PT0 + 0x302 * 4, %eax
    andl $0x60, %eax
    CHECK $0x20, %eax, "read sets the accessed bit, not dirty"
    movl $0x33333333, 0x302000
    CHECK_MEM $0x33333333, 0x5000, "write through an alias page"
    movl PT0 + 0x302 * 4, %eax
    andl $0x60, %eax
    CHECK $0x60, %eax, "write sets the dirty bit"
    movl $(0x6000 | 0x003), PT0 + 0x302 * 4
    invlpg 0x302000
    CHECK_MEM $0x22222222, 0x302000, "INVLPG drops the old translation"
    CHECK_MEM $0x33333333, 0x405000, "read through a 4 MiB page"
    movl PD + 4, %eax
    andl $0x20, %eax
    CHECK $0x20, %eax, "4 MiB page accessed bit"
    call test_page_faults
    movl %cr0, %eax
    andl $0x7ffeffff, %eax      /* paging and WP off again */
    movl %eax, %cr0
    ret

test_page_faults:
    ARM .Lpf1_r
.Lpf1:
    movl 0x300010, %eax
.Lpf1_r:
    CHECK_FAULT $14, $0, $.Lpf1, "#PF reading a not-present page"
    CHECK_MEM $0x300010, got_cr2, "#PF reading a not-present page: CR2"
    ARM .Lpf2_r
.Lpf2:
    movl $1, 0x300ffc
.Lpf2_r:
    CHECK_FAULT $14, $2, $.Lpf2, "#PF writing a not-present page"
    CHECK_MEM $0x300ffc, got_cr2, "#PF writing a not-present page: CR2"
    ARM .Lpf3_r
.Lpf3:
    movl 0x2ffffe, %eax
.Lpf3_r:
    CHECK_FAULT $14, $0, $.Lpf3, "#PF on a read crossing into a not-present page"
    CHECK_MEM $0x300000, got_cr2, "page-crossing #PF: CR2"
    movl $0x44444444, 0x301004
    CHECK_MEM $0x44444444, 0x301004, "supervisor write to a read-only page, WP=0"
    movl %cr0, %eax
    orl $0x10000, %eax          /* CR0.WP */
    movl %eax, %cr0
    ARM .Lpf4_r
.Lpf4:
    movl $0x55555555, 0x301004
.Lpf4_r:
    CHECK_FAULT $14, $3, $.Lpf4, "#PF writing a read-only page, WP=1"
    CHECK_MEM $0x301004, got_cr2, "#PF writing a read-only page: CR2"
    CHECK_MEM $0x44444444, 0x301004, "the faulting write changed nothing"
    ret

/* ---- the reset vector: F000:FFF0, CS base 0xFFFF0000 ---- */
    .code16
    .org 0xfff0, 0xf4
    .globl reset
reset:
    ljmp $0xf000, $(start16 - rom_start)
    .org 0x10000, 0xf4
