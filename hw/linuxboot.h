/*
 * linuxboot.h - direct Linux kernel boot (-kernel, -initrd, -append).
 *
 * kasou loads a bzImage the way a boot loader using the Linux x86 32-bit
 * boot protocol does: the protected-mode kernel at its code32_start, the
 * initrd near the top of RAM, a "zero page" (struct boot_params) with the
 * kernel's setup header, the command line and an e820 memory map, and a
 * GDT holding the flat __BOOT_CS (0x10) and __BOOT_DS (0x18) segments.
 * The CPU then starts at code32_start in 32-bit protected mode with ESI
 * pointing to the zero page; the firmware's POST does not run.
 */
#ifndef KASOU_LINUXBOOT_H
#define KASOU_LINUXBOOT_H

#include <stddef.h>
#include <stdint.h>

struct bus;
struct cpu;
struct linuxboot;

/*
 * Read and check the kernel (a bzImage, boot protocol 2.04 or later, with
 * LOADED_HIGH) and the initrd (path may be NULL), and lay them out in
 * ram_size bytes of RAM; rom_size is the firmware image mapped below
 * 4 GiB (reserved in the e820 map).  NULL with a message in err[].
 */
struct linuxboot *linuxboot_new(const char *kernel, const char *initrd, const char *cmdline,
                                uint32_t ram_size, uint32_t rom_size, char *err, size_t errlen);
/*
 * Copy everything into guest RAM and put the CPU (just reset) in the
 * state the 32-bit boot protocol describes.  Used at start-up and again
 * after a guest reset, so a rebooting kernel boots again.
 */
void linuxboot_start(const struct linuxboot *lb, struct bus *bus, struct cpu *cpu);
void linuxboot_free(struct linuxboot *lb);

#endif
