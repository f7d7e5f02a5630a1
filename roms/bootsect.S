/*
 * bootsect.S - a boot sector for kasou's boot tests (floppy and disk).
 *
 * The BIOS loads it at 0000:7C00 with the boot drive in DL.  It prints a
 * line on the screen (INT 10h teletype) and on COM1 (the UART directly),
 * reads the sector at LBA 33 of the boot drive through INT 13h (CHS for
 * a 1.44M floppy: that is the first data cluster of a FAT12 floppy, where
 * the test's mcopy put a file; the extended LBA read for a hard disk),
 * prints the NUL-terminated text it finds there, and leaves through
 * isa-debug-exit (port 0x501) with 0x10, i.e. kasou exit status 33.  An
 * INT 13h error prints "read error" and exits with 0x11 (status 35).
 *
 * Bytes 3-61 are left for a FAT BIOS parameter block: the test copies only
 * the jump (bytes 0-2) and the code (62-509) over a formatted floppy's
 * boot sector.  The signature 55AAh closes the sector.
 */
    .set COM1, 0x3f8
    .set DEBUG_EXIT, 0x501
    .set BUF, 0x7e00

    .code16
    .text
    .globl boot_start
boot_start:
    jmp main
    nop
    .org 0x3e
main:
    cli
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $0x7c00, %sp
    sti
    mov %dl, drive
    mov $hello, %si
    call print
    movb $0, BUF
    cmpb $0x80, drive
    jae disk
    mov $0x0201, %ax            /* read 1 sector: C0 H1 S16 = LBA 33 (18 spt) */
    mov $BUF, %bx
    mov $0x0010, %cx
    mov $1, %dh
    mov drive, %dl
    int $0x13
    jmp check
disk:
    mov $dap, %si
    mov $0x42, %ah
    mov drive, %dl
    int $0x13
check:
    jc fail
    mov $BUF, %si
    call print
    mov $0x10, %al
    jmp leave
fail:
    mov $rderr, %si
    call print
    mov $0x11, %al
leave:
    mov $DEBUG_EXIT, %dx
    out %al, %dx
1:  cli
    hlt
    jmp 1b

/* print: the string at DS:SI on the screen and COM1. */
print:
    lodsb
    test %al, %al
    jz 3f
    mov $0x0e, %ah
    mov $0x0007, %bx
    push %ax
    int $0x10
    pop %ax
    mov %al, %cl
    mov $COM1 + 5, %dx
2:  in %dx, %al                 /* wait for the transmitter holding register */
    test $0x20, %al
    jz 2b
    mov %cl, %al
    mov $COM1, %dx
    out %al, %dx
    jmp print
3:  ret

drive:
    .byte 0
dap:                            /* INT 13h AH=42h: 1 sector of LBA 33 */
    .byte 16, 0
    .word 1, BUF, 0
    .quad 33
hello:
    .asciz "kasou-boot: boot sector running\r\n"
rderr:
    .asciz "kasou-boot: read error\r\n"
    .org 510
    .byte 0x55, 0xaa
