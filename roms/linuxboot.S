/*
 * linuxboot.S - kasou's kernel loader option ROM (-kernel, -initrd).
 *
 * kasou hands this ROM to SeaBIOS as the fw_cfg file
 * "genroms/linuxboot.bin" and names it first in "bootorder"; SeaBIOS
 * copies it into the option ROM area after its POST, registers the Boot
 * Entry Vector of its PnP header as a boot device ("Booting from
 * ROM...") and calls it, in real mode, once everything else (ACPI, MP
 * and SMBIOS tables, PCI, the VGA BIOS, the e820 map) is in place.
 *
 * The BEV reads what the host prepared from fw_cfg (hw/linuxboot.c and
 * hw/multiboot.c), always through the DMA interface: a 16-byte
 * big-endian descriptor {control, length, address} on our stack whose
 * physical address goes to port 0x514 (high half) and 0x518 (low half,
 * which starts the transfer); the device writes guest memory directly,
 * so the data can land above 1 MiB without leaving real mode.
 *
 * Two payloads, told apart by FW_CFG_SETUP_SIZE:
 *  - Linux (setup size > 0): the real-mode setup (its header already
 *    patched by the host) goes to SETUP_ADDR, the protected-mode kernel
 *    to KERNEL_ADDR, the initrd to INITRD_ADDR, the command line to
 *    CMDLINE_ADDR; then the 16-bit boot protocol: DS = ES = FS = GS = SS
 *    = the setup segment, SP just below the command line, interrupts
 *    off, a far jump to setup segment + 20h, offset 0.
 *  - Multiboot v1 (setup size 0): KERNEL_DATA (the kernel image, its
 *    bss and the modules) to KERNEL_ADDR, INITRD_DATA (the Multiboot
 *    information block) to INITRD_ADDR; the block's memory map is
 *    replaced by the firmware's (INT 15h E820), which also gives
 *    mem_lower and mem_upper; then A20 on, a flat GDT built on the
 *    stack, protected mode without paging, EAX = 2BADB002h, EBX = the
 *    information block, and a jump to FW_CFG_KERNEL_ENTRY.
 *
 * Nothing here writes to the ROM itself (SeaBIOS write-protects it) and
 * every address is an offset in CS, so the image runs at any segment.
 * On an error the BEV prints why (screen and SeaBIOS's debug port 402h)
 * and returns, so SeaBIOS tries the next boot device.  The loader sets
 * the image checksum (last byte) and the PnP header checksum.
 */
    .set FW_CFG_SEL, 0x510
    .set FW_CFG_DATA, 0x511
    .set FW_CFG_DMA_HI, 0x514
    .set FW_CFG_DMA_LO, 0x518
    .set SIGNATURE, 0x00
    .set ID, 0x01
    .set KERNEL_ADDR, 0x07
    .set KERNEL_SIZE, 0x08
    .set INITRD_ADDR, 0x0a
    .set INITRD_SIZE, 0x0b
    .set KERNEL_ENTRY, 0x10
    .set KERNEL_DATA, 0x11
    .set INITRD_DATA, 0x12
    .set CMDLINE_ADDR, 0x13
    .set CMDLINE_SIZE, 0x14
    .set CMDLINE_DATA, 0x15
    .set SETUP_ADDR, 0x16
    .set SETUP_SIZE, 0x17
    .set SETUP_DATA, 0x18
    .set DMA_ERROR, 0x01
    .set DMA_SELECT_READ, 0x0a      /* select the item, then read it */
    .set ID_DMA, 0x02               /* FW_CFG_ID: the DMA interface exists */
    .set DEBUG_PORT, 0x402
    .set SMAP, 0x534d4150
    .set MB_MAGIC, 0x2badb002
    /* Multiboot information fields */
    .set MBI_MEM_LOWER, 4
    .set MBI_MEM_UPPER, 8
    .set MBI_MMAP_LENGTH, 44
    .set MBI_MMAP_ADDR, 48
    .set MMAP_ENTRY, 24             /* size field + the 20-byte E820 entry */
    .set MMAP_MAX, 32               /* entries the host leaves room for */

    /* The BEV's frame: locals below %bp */
    .set L_SETUP, -4                /* setup address (Linux) */
    .set L_CMDLINE, -8              /* command line address (Linux) */
    .set L_MBI, -12                 /* information block (Multiboot) */
    .set L_ENTRY, -16               /* kernel entry (Multiboot) */
    .set L_DESC, -32                /* DMA descriptor, 16 bytes */
    .set L_GDT, -64                 /* null, code 08h, data 10h */
    .set L_GDTR, -72                /* limit, base */
    .set L_FARPTR, -80              /* offset32, selector */
    .set FRAME, 80

    .code16
    .text
    .globl rom_start
rom_start:
    .byte 0x55, 0xaa
    .byte (rom_end - rom_start) / 512
init:                               /* offset 3: the BIOS's init call */
    lret                            /* nothing to set up before the boot */
    .org 0x18, 0
    .word 0                         /* no PCI data structure */
    .word pnp - rom_start           /* the PnP expansion header */

    .balign 16, 0
pnp:
    .ascii "$PnP"
    .byte 1                         /* structure revision */
    .byte 2                         /* length in 16-byte units */
    .word 0                         /* no next header */
    .byte 0
    .byte 0                         /* checksum: set by the loader */
    .long 0                         /* device identifier */
    .word 0                         /* manufacturer string: none */
    .word product - rom_start       /* product string */
    .byte 0, 0, 0                   /* device type code */
    .byte 0x20                      /* device indicators: IPL device */
    .word 0                         /* boot connection vector: none */
    .word 0                         /* disconnect vector: none */
    .word bev - rom_start           /* boot entry vector */
    .word 0
    .word 0                         /* static resource information */

/* The boot entry vector: load the payload and start it. */
bev:
    pushal
    push %ds
    push %es
    push %fs
    push %gs
    mov %sp, %bp
    sub $FRAME, %sp
    cld
    mov $SIGNATURE, %ax
    call cfg_read32
    cmp $0x554d4551, %eax           /* "QEMU" */
    jne no_fw_cfg
    mov $ID, %ax
    call cfg_read32
    test $ID_DMA, %al
    jz no_dma
    mov $SETUP_SIZE, %ax
    call cfg_read32
    test %eax, %eax
    jz multiboot

linux:
    mov $msg_linux, %si
    call print
    mov $SETUP_ADDR, %ax
    mov $SETUP_SIZE, %bx
    mov $SETUP_DATA, %si
    call load
    jc dma_failed
    mov %edi, L_SETUP(%bp)
    mov $KERNEL_ADDR, %ax
    mov $KERNEL_SIZE, %bx
    mov $KERNEL_DATA, %si
    call load
    jc dma_failed
    mov $INITRD_ADDR, %ax
    mov $INITRD_SIZE, %bx
    mov $INITRD_DATA, %si
    call load
    jc dma_failed
    mov $CMDLINE_ADDR, %ax
    mov $CMDLINE_SIZE, %bx
    mov $CMDLINE_DATA, %si
    call load
    jc dma_failed
    mov %edi, L_CMDLINE(%bp)
    /* The 16-bit entry: the stack tops out under the command line
     * (an offset of 0 is the top of the 64 KiB segment). */
    mov L_SETUP(%bp), %eax
    mov L_CMDLINE(%bp), %ecx
    sub %eax, %ecx
    shr $4, %eax
    cli
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    mov %ax, %ss
    mov %cx, %sp
    add $0x20, %ax
    push %ax
    push $0
    lret

multiboot:
    mov $msg_multiboot, %si
    call print
    mov $KERNEL_ADDR, %ax
    mov $KERNEL_SIZE, %bx
    mov $KERNEL_DATA, %si
    call load
    jc dma_failed
    mov $INITRD_ADDR, %ax
    mov $INITRD_SIZE, %bx
    mov $INITRD_DATA, %si
    call load
    jc dma_failed
    mov %edi, L_MBI(%bp)
    mov $KERNEL_ENTRY, %ax
    call cfg_read32
    mov %eax, L_ENTRY(%bp)
    call e820_to_mbi
    in $0x92, %al                   /* A20 on (fast gate), no reset */
    or $0x02, %al
    and $0xfe, %al
    out %al, $0x92
    /* Flat 4 GiB code and data segments, accessed bits preset. */
    movl $0, L_GDT(%bp)
    movl $0, L_GDT+4(%bp)
    movl $0x0000ffff, L_GDT+8(%bp)
    movl $0x00cf9b00, L_GDT+12(%bp)
    movl $0x0000ffff, L_GDT+16(%bp)
    movl $0x00cf9300, L_GDT+20(%bp)
    movw $23, L_GDTR(%bp)
    lea L_GDT(%bp), %bx
    call ss_linear
    mov %eax, L_GDTR+2(%bp)
    xor %eax, %eax
    mov %cs, %ax
    shl $4, %eax
    add $(pm32 - rom_start), %eax
    mov %eax, L_FARPTR(%bp)
    movw $0x08, L_FARPTR+4(%bp)
    mov L_MBI(%bp), %ebx
    mov L_ENTRY(%bp), %esi
    cli
    lgdtl L_GDTR(%bp)
    mov %cr0, %eax
    or $1, %eax                     /* PE; paging stays off */
    mov %eax, %cr0
    ljmpl *L_FARPTR(%bp)

    .code32
pm32:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    mov %ax, %ss
    mov $MB_MAGIC, %eax
    jmp *%esi
    .code16

no_fw_cfg:
    mov $msg_no_fw_cfg, %si
    jmp fail
no_dma:
    mov $msg_no_dma, %si
    jmp fail
dma_failed:
    mov $msg_dma, %si
fail:
    call print
    mov %bp, %sp
    pop %gs
    pop %fs
    pop %es
    pop %ds
    popal
    lret                            /* SeaBIOS tries the next device */

/*
 * load: fetch one payload piece.  %ax, %bx and %si are the fw_cfg keys
 * of its address, its size and its data.  Returns the address in %edi
 * and the size in %ecx; CF set if the transfer failed.
 */
load:
    call cfg_read32
    mov %eax, %edi
    mov %bx, %ax
    call cfg_read32
    mov %eax, %ecx
    test %ecx, %ecx
    jz 1f                           /* nothing to copy (CF clear) */
    mov %si, %ax
    call dma_read
1:  ret

/* cfg_read32: the first 4 bytes of item %ax, little-endian, in %eax. */
cfg_read32:
    push %cx
    push %dx
    mov $FW_CFG_SEL, %dx
    out %ax, %dx
    inc %dx                         /* the data port, one byte at a time */
    mov $4, %cx
1:  in %dx, %al
    ror $8, %eax
    loop 1b
    pop %dx
    pop %cx
    ret

/*
 * dma_read: copy %ecx bytes of item %ax to physical address %edi
 * through the DMA interface, with the descriptor in the BEV's frame.
 * CF set if the device reports an error.
 */
dma_read:
    push %eax
    push %ebx
    push %ecx
    push %edx
    movzwl %ax, %eax
    shl $16, %eax
    or $DMA_SELECT_READ, %eax
    bswap %eax
    mov %eax, L_DESC(%bp)
    bswap %ecx
    mov %ecx, L_DESC+4(%bp)
    movl $0, L_DESC+8(%bp)
    mov %edi, %eax
    bswap %eax
    mov %eax, L_DESC+12(%bp)
    lea L_DESC(%bp), %bx
    call ss_linear
    bswap %eax
    mov %eax, %ebx
    xor %eax, %eax
    mov $FW_CFG_DMA_HI, %dx
    out %eax, %dx
    mov %ebx, %eax
    mov $FW_CFG_DMA_LO, %dx
    out %eax, %dx                   /* starts the transfer */
1:  mov L_DESC(%bp), %eax
    bswap %eax
    test $~DMA_ERROR, %eax          /* busy until only the error bit is left */
    jnz 1b
    pop %edx
    pop %ecx
    pop %ebx
    test $DMA_ERROR, %al
    pop %eax
    jz 2f
    stc
    ret
2:  clc
    ret

/* ss_linear: the physical address of SS:%bx in %eax. */
ss_linear:
    xor %eax, %eax
    mov %ss, %ax
    shl $4, %eax
    push %ebx
    movzwl %bx, %ebx
    add %ebx, %eax
    pop %ebx
    ret

/*
 * e820_to_mbi: replace the information block's memory map by the
 * firmware's E820 list (the host left room for MMAP_MAX entries at
 * mmap_addr) and take mem_lower and mem_upper from it.  The block is
 * 16-byte aligned, addressed through %fs.
 */
e820_to_mbi:
    pushal
    push %es
    mov L_MBI(%bp), %eax
    shr $4, %eax
    mov %ax, %fs
    xor %ebx, %ebx                  /* continuation value */
    xor %esi, %esi                  /* bytes of map written */
1:  lea MMAP_ENTRY(%esi), %eax
    cmp $MMAP_MAX * MMAP_ENTRY, %eax
    ja 3f                           /* full */
    mov %fs:MBI_MMAP_ADDR, %eax
    add %esi, %eax
    mov %eax, %edi
    shr $4, %eax
    mov %ax, %es
    and $0x0f, %di
    movl $20, %es:(%di)             /* the entry's size field */
    add $4, %di
    mov $0xe820, %eax
    mov $20, %ecx
    mov $SMAP, %edx
    int $0x15
    jc 3f
    cmp $SMAP, %eax
    jne 3f
    call note_mem
    add $MMAP_ENTRY, %esi
    test %ebx, %ebx
    jnz 1b
3:  test %esi, %esi
    jz 4f                           /* no E820: keep the host's map */
    mov %esi, %fs:MBI_MMAP_LENGTH
4:  pop %es
    popal
    ret

/* note_mem: mem_lower/mem_upper (KiB) from the usable E820 entry at ES:DI
 * that starts at 0 or at 1 MiB. */
note_mem:
    cmpl $1, %es:16(%di)
    jne 2f
    cmpl $0, %es:4(%di)
    jne 2f
    mov %es:(%di), %eax
    test %eax, %eax
    jnz 1f
    mov %es:8(%di), %eax
    shr $10, %eax
    mov %eax, %fs:MBI_MEM_LOWER
    ret
1:  cmp $0x100000, %eax
    jne 2f
    mov %es:8(%di), %eax
    mov %es:12(%di), %edx
    shrd $10, %edx, %eax
    mov %eax, %fs:MBI_MEM_UPPER
2:  ret

/* print: the NUL-terminated string at CS:SI, on the screen (INT 10h)
 * and on SeaBIOS's debug port. */
print:
    push %ax
    push %bx
    push %dx
1:  cs lodsb
    test %al, %al
    jz 2f
    mov $DEBUG_PORT, %dx
    out %al, %dx
    mov $0x0e, %ah
    mov $0x0007, %bx
    int $0x10
    jmp 1b
2:  pop %dx
    pop %bx
    pop %ax
    ret

product:
    .asciz "kasou kernel loader"
msg_linux:
    .asciz "kasou: loading the Linux kernel\r\n"
msg_multiboot:
    .asciz "kasou: loading the Multiboot kernel\r\n"
msg_no_fw_cfg:
    .asciz "kasou kernel loader: no fw_cfg device\r\n"
msg_no_dma:
    .asciz "kasou kernel loader: fw_cfg has no DMA interface\r\n"
msg_dma:
    .asciz "kasou kernel loader: fw_cfg DMA transfer failed\r\n"

    .byte 0                         /* the image checksum: set by the loader */
    .balign 512, 0
    .globl rom_end
rom_end:
