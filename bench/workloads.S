/*
 * workloads.S - the benchmark ROM: a 64 KiB firmware image (see rom.ld)
 * that runs one workload from kernels.c and reports its checksum.
 *
 * From the reset vector it enables A20, enters 32-bit protected mode with
 * flat 4 GiB segments, initialises the x87, optionally turns on paging
 * with an identity map of 4 KiB pages, then calls
 *     bench_run(params.workload, params.count, 0x100000)
 * and prints "bench: checksum XXXXXXXX" on the debug console (port 0xe9)
 * before writing 0 to isa-debug-exit (port 0x501; emulators exit with
 * status 1).  The same ROM serves every workload: bench/run patches the
 * parameter block at image offset 0xffe0 (three little-endian dwords:
 * workload number, count, flags; flag bit 0 = paging on).
 *
 * Memory (guest RAM of 16 MiB is plenty):
 *   0x10000 page directory, 0x11000-0x12fff page tables (maps 0-8 MiB),
 *   0x90000 top of stack, 0x100000 the workload's buffer (BENCH_MEM_SIZE).
 */
    .set DEBUGCON, 0xe9
    .set DEBUG_EXIT, 0x501
    .set CODE_SEL, 0x08
    .set DATA_SEL, 0x10
    .set STACK_TOP, 0x90000
    .set PD, 0x10000
    .set PT0, 0x11000
    .set PT_COUNT, 2
    .set WORK_MEM, 0x100000
    .set PARAM_PAGING, 1

    .section .text.rom, "ax"
    .code16
    .globl rom_start, start16
rom_start:
start16:
    cli
    cld
    inb $0x92, %al              /* fast A20 on (bit 1), no reset (bit 0) */
    orb $0x02, %al
    andb $0xfe, %al
    outb %al, $0x92
    lgdtl %cs:(gdt_desc - rom_start)
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
    fninit                      /* control word 0x37f, as a Linux process has */
    testl $PARAM_PAGING, params_flags
    jz 1f
    call paging_on
1:  subl $4, %esp               /* keep the stack 16-byte aligned at the call */
    pushl $WORK_MEM
    pushl params_count
    pushl params_workload
    call bench_run
    addl $16, %esp
    movl %eax, %ebx
    movl $s_checksum, %esi
    call puts
    movl %ebx, %eax
    call puthex
    movl $s_nl, %esi
    call puts
    movw $DEBUG_EXIT, %dx
    movb $0, %al
    outb %al, %dx
    cli
2:  hlt
    jmp 2b

/* Identity-map the first 4 MiB * PT_COUNT with 4 KiB pages, then CR0.PG. */
paging_on:
    movl $PT0, %edi             /* page tables: frame i -> i, present, RW */
    movl $0x003, %eax
    movl $(PT_COUNT * 1024), %ecx
1:  movl %eax, (%edi)
    addl $4, %edi
    addl $0x1000, %eax
    loop 1b
    movl $PD, %edi              /* the directory: clear, then PT_COUNT entries */
    xorl %eax, %eax
    movl $1024, %ecx
    rep stosl
    movl $PD, %edi
    movl $(PT0 + 0x003), %eax
    movl $PT_COUNT, %ecx
2:  movl %eax, (%edi)
    addl $4, %edi
    addl $0x1000, %eax
    loop 2b
    movl $PD, %eax
    movl %eax, %cr3
    movl %cr0, %eax
    orl $0x80000000, %eax       /* CR0.PG */
    movl %eax, %cr0
    ret

/* Print the NUL-terminated string at %esi. Clobbers %eax %edx %esi. */
puts:
    movw $DEBUGCON, %dx
1:  lodsb
    testb %al, %al
    jz 2f
    outb %al, %dx
    jmp 1b
2:  ret

/* Print %eax as 8 hex digits. Clobbers %eax %ecx %edx. */
puthex:
    pushl %ebx
    movl %eax, %ebx
    movl $8, %ecx
    movw $DEBUGCON, %dx
1:  roll $4, %ebx
    movl %ebx, %eax
    andl $0xf, %eax
    movb hexdigits(%eax), %al
    outb %al, %dx
    loop 1b
    popl %ebx
    ret

hexdigits:
    .ascii "0123456789abcdef"
s_checksum:
    .asciz "bench: checksum "
s_nl:
    .asciz "\n"

/* The parameter block bench/run patches (offset 0xffe0 in the image). */
    .section .rom.params, "a"
    .globl params
params:
params_workload:
    .long 0
params_count:
    .long 0
params_flags:
    .long 0
    .long 0

/* The reset vector: F000:FFF0, CS base 0xFFFF0000. */
    .section .rom.reset, "ax"
    .code16
    .globl reset
reset:
    ljmp $0xf000, $0            /* start16 opens the image (rom.ld checks) */
    .fill 11, 1, 0xf4

    .section .note.GNU-stack, "", @progbits
