/*
 * multiboot.h - Multiboot (version 1) kernels for -kernel.
 *
 * A Multiboot kernel carries a header (magic 1BADB002h, flags, checksum)
 * 4-byte aligned in its first 8 KiB.  It is an ELF32 executable whose
 * PT_LOAD segments say where it goes, or, with flag bit 16 (the "a.out
 * kludge"), any image whose header gives header_addr, load_addr,
 * load_end_addr, bss_end_addr and entry_addr.  The loader also passes
 * modules (-initrd "file args,file args", ",," for a comma in an
 * argument, as QEMU does) and an information block: mem_lower/mem_upper,
 * the memory map, the command line (the kernel's file name, a space and
 * -append), the module list and the boot loader name "kasou".
 *
 * The pieces go to the firmware like a Linux kernel's (see linuxboot.h):
 * FW_CFG_KERNEL_ADDR/SIZE/DATA hold the image (with its bss zeroed) and
 * the modules after it, page aligned; FW_CFG_INITRD_ADDR/SIZE/DATA the
 * information block with its strings; FW_CFG_KERNEL_ENTRY the entry;
 * FW_CFG_SETUP_SIZE is 0.  The option ROM copies them, replaces the
 * block's memory map (and mem_lower/mem_upper) with the firmware's E820
 * list, and enters the kernel in flat 32-bit protected mode without
 * paging, A20 on, EAX = 2BADB002h and EBX = the block.
 */
#ifndef KASOU_MULTIBOOT_H
#define KASOU_MULTIBOOT_H

#include <stddef.h>
#include <stdint.h>

struct fw_cfg;
struct multiboot;

#define MULTIBOOT_HEADER_MAGIC 0x1BADB002u
#define MULTIBOOT_BOOT_MAGIC 0x2BADB002u /* in EAX at the kernel's entry */
#define MULTIBOOT_SEARCH 8192u           /* the header is in these first bytes */
#define MULTIBOOT_INFO_ADDR 0x10000u     /* the information block ... */
#define MULTIBOOT_INFO_MAX 0x10000u      /* ... and its strings, at most 64 KiB */
#define MULTIBOOT_MMAP_MAX 32            /* map entries the ROM may write */

/* Header flags. */
#define MULTIBOOT_PAGE_ALIGN (1u << 0)
#define MULTIBOOT_MEMORY_INFO (1u << 1)
#define MULTIBOOT_VIDEO_MODE (1u << 2)
#define MULTIBOOT_AOUT_KLUDGE (1u << 16)

/* Offsets in the information block, and its flags. */
enum {
    MBI_FLAGS = 0,
    MBI_MEM_LOWER = 4,
    MBI_MEM_UPPER = 8,
    MBI_CMDLINE = 16,
    MBI_MODS_COUNT = 20,
    MBI_MODS_ADDR = 24,
    MBI_MMAP_LENGTH = 44,
    MBI_MMAP_ADDR = 48,
    MBI_BOOT_LOADER_NAME = 64,
    MBI_SIZE = 0x80, /* room for every version 1 field */
};
#define MBI_F_MEMORY (1u << 0)
#define MBI_F_CMDLINE (1u << 2)
#define MBI_F_MODS (1u << 3)
#define MBI_F_MMAP (1u << 6)
#define MBI_F_LOADER_NAME (1u << 9)

/* Where things go (physical addresses). */
struct multiboot_layout {
    uint32_t load_addr;  /* the image ... */
    uint32_t image_end;  /* ... up to the end of its bss */
    uint32_t load_size;  /* bytes from load_addr: image, bss, modules */
    uint32_t entry;
    uint32_t info_addr;  /* MULTIBOOT_INFO_ADDR */
    uint32_t info_size;
    int nmods;
};

/* Offset of a valid Multiboot header in img, or -1. */
long multiboot_find_header(const uint8_t *img, size_t size);
/*
 * Check and lay out a Multiboot kernel (img: the whole file, named
 * `name`), its command line (may be NULL) and its modules (may be NULL)
 * for ram_size bytes of RAM, of which the top `reserved` bytes are the
 * firmware's.  NULL with a message in err[].
 */
struct multiboot *multiboot_new(const uint8_t *img, size_t size, const char *name,
                                const char *cmdline, const char *modules, uint32_t ram_size,
                                uint32_t reserved, char *err, size_t errlen);
/* Publish it through fw_cfg (not the ROM); -1 if fw_cfg is full. */
int multiboot_install(const struct multiboot *mb, struct fw_cfg *fw);
const struct multiboot_layout *multiboot_layout(const struct multiboot *mb);
/* layout->load_size bytes for load_addr, and the information block. */
const uint8_t *multiboot_image(const struct multiboot *mb);
const uint8_t *multiboot_info(const struct multiboot *mb);
void multiboot_free(struct multiboot *mb);

#endif
