/*
 * mbtest.S - a Multiboot (version 1) test kernel for kasou's -kernel.
 *
 * Built twice by the Makefile: as an ELF executable linked at 1 MiB
 * (roms/mbtest.elf, header flags: page-aligned modules, memory info) and,
 * with -DAOUT_KLUDGE, as a flat image whose header carries the a.out
 * kludge addresses (roms/mbtest-aout.bin, flag bit 16).
 *
 * It checks the entry state the specification promises (EAX = 2BADB002h,
 * protected mode without paging, interrupts off, flat segments, A20 on,
 * bss zeroed), then prints the information block on the debug console
 * (port 0xE9): flags, mem_lower/mem_upper, the command line, the boot
 * loader name, each module (addresses, string, first line of its
 * contents) and the memory map, checking that the map holds usable RAM
 * at 1 MiB matching mem_upper.  It ends with "mbtest: all checks passed"
 * and isa-debug-exit (port 0x501) value 0 (kasou exits with status 1),
 * or "mbtest: FAIL ..." and value 1 (status 3).
 */
    .set DEBUGCON, 0xe9
    .set DEBUG_EXIT, 0x501
    .set MB_HEADER_MAGIC, 0x1badb002
    .set MB_BOOT_MAGIC, 0x2badb002
#ifdef AOUT_KLUDGE
    .set MB_FLAGS, 0x00010003       /* page-align modules, memory info, a.out kludge */
#else
    .set MB_FLAGS, 0x00000003
#endif
    .set A20_LOW, 0x2fff00          /* 0x3fff00 aliases it when A20 is off */

    .code32
    .text
    .globl start
start:
    jmp main

    .balign 4
mb_header:
    .long MB_HEADER_MAGIC
    .long MB_FLAGS
    .long -(MB_HEADER_MAGIC + MB_FLAGS)
#ifdef AOUT_KLUDGE
    .long mb_header                 /* header_addr */
    .long start                     /* load_addr */
    .long load_end                  /* load_end_addr */
    .long bss_end                   /* bss_end_addr */
    .long main                      /* entry_addr */
#endif

main:
    mov $stack_top, %esp
    mov %ebx, %ebp                  /* the information block */
    cmp $MB_BOOT_MAGIC, %eax
    jne bad_magic
    pushf
    pop %eax
    test $0x200, %eax               /* IF */
    jnz bad_if
    mov %cr0, %eax
    and $0x80000001, %eax
    cmp $1, %eax                    /* PE on, PG off */
    jne bad_cr0
    cmpl $0, bss_word
    jne bad_bss
    movl $0x11111111, A20_LOW
    movl $0x22222222, A20_LOW + 0x100000
    cmpl $0x11111111, A20_LOW
    jne bad_a20
    mov $s_entry, %esi
    call puts

    mov $s_flags, %esi
    call puts
    mov 0(%ebp), %eax
    call puthex
    mov $s_lower, %esi
    call puts
    mov 4(%ebp), %eax
    call puthex
    mov $s_upper, %esi
    call puts
    mov 8(%ebp), %eax
    call puthex
    call newline
    testl $0x004, 0(%ebp)
    jz bad_flags
    mov $s_cmdline, %esi
    call puts
    mov 16(%ebp), %esi
    call puts
    call newline
    testl $0x200, 0(%ebp)
    jz bad_flags
    mov $s_loader, %esi
    call puts
    mov 64(%ebp), %esi
    call puts
    call newline
    call show_modules
    call show_mmap
    mov $s_pass, %esi
    call puts
    xor %al, %al
    jmp leave

/* show_modules: one line a module; mods_addr entries of 16 bytes. */
show_modules:
    testl $0x008, 0(%ebp)
    jz bad_flags
    mov $s_mods, %esi
    call puts
    mov 20(%ebp), %eax
    call puthex
    call newline
    mov 20(%ebp), %ecx
    mov 24(%ebp), %edi
1:  test %ecx, %ecx
    jz 3f
    mov $s_mod, %esi
    call puts
    mov 0(%edi), %eax
    testl $0xfff, %eax              /* asked for page-aligned modules */
    jnz bad_align
    call puthex
    mov $s_dash, %esi
    call puts
    mov 4(%edi), %eax
    call puthex
    mov $s_space, %esi
    call puts
    mov 8(%edi), %esi
    call puts
    mov $s_data, %esi
    call puts
    mov 0(%edi), %esi               /* the first line of the module */
    mov 4(%edi), %edx
2:  cmp %edx, %esi
    jae 4f
    lodsb
    cmp $'\n', %al
    je 4f
    call putc
    jmp 2b
4:  call newline
    add $16, %edi
    dec %ecx
    jmp 1b
3:  ret

/* show_mmap: every entry; one must be usable RAM at 1 MiB of mem_upper KiB. */
show_mmap:
    testl $0x040, 0(%ebp)
    jz bad_flags
    mov 48(%ebp), %edi
    mov %edi, %edx
    add 44(%ebp), %edx              /* end of the map */
    xor %ebx, %ebx                  /* found the 1 MiB entry */
1:  cmp %edx, %edi
    jae 2f
    mov $s_mmap, %esi
    call puts
    mov 8(%edi), %eax
    call puthex
    mov 4(%edi), %eax
    call puthex_nolead
    mov $s_len, %esi
    call puts
    mov 16(%edi), %eax
    call puthex
    mov 12(%edi), %eax
    call puthex_nolead
    mov $s_type, %esi
    call puts
    mov 20(%edi), %eax
    call puthex
    call newline
    cmpl $0x100000, 4(%edi)
    jne 3f
    cmpl $1, 20(%edi)
    jne 3f
    mov 12(%edi), %eax
    shr $10, %eax
    cmp 8(%ebp), %eax               /* mem_upper */
    jne 3f
    inc %ebx
3:  add 0(%edi), %edi               /* size field: bytes after it */
    add $4, %edi
    jmp 1b
2:  test %ebx, %ebx
    jz bad_mmap
    ret

bad_magic:
    mov $s_bad_magic, %esi
    jmp fail
bad_if:
    mov $s_bad_if, %esi
    jmp fail
bad_cr0:
    mov $s_bad_cr0, %esi
    jmp fail
bad_bss:
    mov $s_bad_bss, %esi
    jmp fail
bad_a20:
    mov $s_bad_a20, %esi
    jmp fail
bad_flags:
    mov $s_bad_flags, %esi
    jmp fail
bad_align:
    mov $s_bad_align, %esi
    jmp fail
bad_mmap:
    mov $s_bad_mmap, %esi
fail:
    push %esi
    mov $s_fail, %esi
    call puts
    pop %esi
    call puts
    call newline
    mov $1, %al
leave:
    mov $DEBUG_EXIT, %dx
    out %al, %dx
1:  cli
    hlt
    jmp 1b

/* puts: the NUL-terminated string at %esi. */
puts:
    push %eax
1:  lodsb
    test %al, %al
    jz 2f
    call putc
    jmp 1b
2:  pop %eax
    ret

putc:
    push %edx
    mov $DEBUGCON, %dx
    out %al, %dx
    pop %edx
    ret

newline:
    push %eax
    mov $'\n', %al
    call putc
    pop %eax
    ret

/* puthex: "0x" and %eax in 8 hex digits; puthex_nolead: the digits only. */
puthex:
    push %esi
    mov $s_0x, %esi
    call puts
    pop %esi
puthex_nolead:
    push %eax
    push %ecx
    push %edx
    mov %eax, %edx
    mov $8, %ecx
1:  rol $4, %edx
    mov %edx, %eax
    and $0x0f, %eax
    mov hexdigits(%eax), %al
    call putc
    loop 1b
    pop %edx
    pop %ecx
    pop %eax
    ret

hexdigits:  .ascii "0123456789abcdef"
s_entry:    .asciz "mbtest: entry state ok (magic, PE without paging, IF off, A20, bss)\n"
s_flags:    .asciz "mbtest: flags="
s_lower:    .asciz " mem_lower="
s_upper:    .asciz " mem_upper="
s_cmdline:  .asciz "mbtest: cmdline="
s_loader:   .asciz "mbtest: boot_loader_name="
s_mods:     .asciz "mbtest: mods_count="
s_mod:      .asciz "mbtest: module "
s_dash:     .asciz "-"
s_space:    .asciz " "
s_data:     .asciz " data="
s_mmap:     .asciz "mbtest: mmap base="
s_len:      .asciz " len="
s_type:     .asciz " type="
s_0x:       .asciz "0x"
s_pass:     .asciz "mbtest: all checks passed\n"
s_fail:     .asciz "mbtest: FAIL "
s_bad_magic: .asciz "EAX is not 0x2BADB002"
s_bad_if:   .asciz "interrupts are enabled"
s_bad_cr0:  .asciz "not in protected mode without paging"
s_bad_bss:  .asciz "bss is not zeroed"
s_bad_a20:  .asciz "A20 is off"
s_bad_flags: .asciz "a promised information flag is missing"
s_bad_align: .asciz "a module is not page aligned"
s_bad_mmap: .asciz "no usable RAM at 1 MiB matching mem_upper in the memory map"
    .balign 4
load_end:

    .bss
    .balign 4
bss_word:
    .skip 4
    .balign 16
    .skip 4096
stack_top:
bss_end:
