/*
 * Multiboot v1 kernels (hw/multiboot.c): ELF32 and a.out-kludge images
 * built here are flattened for their load address, modules placed on
 * page boundaries after them, and the information block holds what the
 * Multiboot 0.6.96 specification lists (flags, mem_lower/mem_upper, the
 * command line, the module list, the memory map, the boot loader name).
 * The option ROM then runs on the CPU against fw_cfg and must enter the
 * kernel in flat 32-bit protected mode with EAX = 2BADB002h and EBX =
 * the information block.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/cpu.h"
#include "hw/bus.h"
#include "hw/fw_cfg.h"
#include "hw/linuxboot.h"
#include "hw/multiboot.h"

#define RAM (8u << 20)
#define RESERVED 0x40000u
#define HDR_OFF 0x80 /* file offset of the Multiboot header in make_elf's files */
#define ELF_SIZE 0xD0

/* In test_linuxboot.c: run the option ROM's boot entry on the CPU. */
bool run_rom(struct bus *bus, struct cpu *cpu, uint16_t stop_cs, uint32_t stop_eip);

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void mb_header(uint8_t *h, uint32_t flags)
{
    put32(h, MULTIBOOT_HEADER_MAGIC);
    put32(h + 4, flags);
    put32(h + 8, (uint32_t)-(MULTIBOOT_HEADER_MAGIC + flags));
}

static void phdr(uint8_t *ph, uint32_t off, uint32_t vaddr, uint32_t paddr, uint32_t filesz,
                 uint32_t memsz)
{
    put32(ph, 1); /* PT_LOAD */
    put32(ph + 4, off);
    put32(ph + 8, vaddr);
    put32(ph + 12, paddr);
    put32(ph + 16, filesz);
    put32(ph + 20, memsz);
    put32(ph + 24, 7);
    put32(ph + 28, 16);
}

/*
 * An ELF32 i386 executable: segment 1 (0x40 bytes from file offset 0x80:
 * the Multiboot header, then 0xC3 bytes) at vaddr/paddr, entry 0x10 into
 * it; segment 2 (0x10 bytes of 0xD4, then `bss` zero bytes) 16 KiB
 * higher.  Returns the file size.
 */
static size_t make_elf(uint8_t *f, uint32_t vaddr, uint32_t paddr, uint32_t bss, uint32_t flags)
{
    memset(f, 0, ELF_SIZE);
    memcpy(f, "\177ELF", 4);
    f[4] = 1; /* ELFCLASS32 */
    f[5] = 1; /* little-endian */
    f[6] = 1;
    put16(f + 0x10, 2); /* ET_EXEC */
    put16(f + 0x12, 3); /* EM_386 */
    put32(f + 0x14, 1);
    put32(f + 0x18, vaddr + 0x10); /* e_entry */
    put32(f + 0x1C, 0x34);         /* e_phoff */
    put16(f + 0x28, 0x34);
    put16(f + 0x2A, 32);
    put16(f + 0x2C, 2);
    phdr(f + 0x34, HDR_OFF, vaddr, paddr, 0x40, 0x40);
    phdr(f + 0x54, 0xC0, vaddr + 0x4000, paddr + 0x4000, 0x10, 0x10 + bss);
    mb_header(f + HDR_OFF, flags);
    memset(f + HDR_OFF + 12, 0xC3, 0x40 - 12);
    memset(f + 0xC0, 0xD4, 0x10);
    return ELF_SIZE;
}

/*
 * An a.out-kludge image for 0x200000: 0x20 bytes of 0xAA, the header at
 * 0x20 (load_end_addr 0: the whole file), 0x40 bytes of 0xBB; bss to
 * 0x201000; entry 0x200040.
 */
static size_t make_kludge(uint8_t *f, uint32_t header_addr)
{
    memset(f, 0xAA, 0x20);
    mb_header(f + 0x20, MULTIBOOT_AOUT_KLUDGE | MULTIBOOT_MEMORY_INFO);
    put32(f + 0x2C, header_addr);
    put32(f + 0x30, 0x200000); /* load_addr */
    put32(f + 0x34, 0);        /* load_end_addr: to the end of the file */
    put32(f + 0x38, 0x201000); /* bss_end_addr */
    put32(f + 0x3C, 0x200040); /* entry_addr */
    memset(f + 0x40, 0xBB, 0x40);
    return 0x80;
}

static void write_tmp(char *path, const void *data, size_t len)
{
    strcpy(path, "/tmp/kasou-mbXXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/* A host pointer to what the information block's address `a` holds. */
static const char *info_str(const struct multiboot *mb, uint32_t a)
{
    cr_assert(a >= MULTIBOOT_INFO_ADDR &&
              a < MULTIBOOT_INFO_ADDR + multiboot_layout(mb)->info_size);
    return (const char *)multiboot_info(mb) + (a - MULTIBOOT_INFO_ADDR);
}

Test(multiboot, finds_the_header)
{
    static uint8_t f[16384];
    memset(f, 0, sizeof(f));
    cr_expect_eq(multiboot_find_header(f, sizeof(f)), -1);
    mb_header(f + 0x1FF4, 0); /* the last place it fits in whole */
    cr_expect_eq(multiboot_find_header(f, sizeof(f)), 0x1FF4);
    put32(f + 0x1FF4 + 8, 0); /* bad checksum */
    cr_expect_eq(multiboot_find_header(f, sizeof(f)), -1);
    memset(f, 0, sizeof(f));
    mb_header(f + 0x1FF8, 0); /* not whole in the first 8 KiB */
    cr_expect_eq(multiboot_find_header(f, sizeof(f)), -1);
    memset(f, 0, sizeof(f));
    mb_header(f + 0x102, 0); /* not 4-byte aligned */
    cr_expect_eq(multiboot_find_header(f, sizeof(f)), -1);
    cr_expect_eq(multiboot_find_header(f, 8), -1);
}

Test(multiboot, elf_segments_bss_and_entry)
{
    char err[256] = "";
    uint8_t f[ELF_SIZE];
    size_t n = make_elf(f, 0xC0100000u, 0x100000, 0x2000, MULTIBOOT_PAGE_ALIGN);
    struct multiboot *mb =
        multiboot_new(f, n, "kern", NULL, NULL, RAM, RESERVED, err, sizeof(err));
    cr_assert_not_null(mb, "%s", err);
    const struct multiboot_layout *l = multiboot_layout(mb);
    cr_expect_eq(l->load_addr, 0x100000u);
    cr_expect_eq(l->image_end, 0x106010u);
    cr_expect_eq(l->load_size, 0x6010u);
    cr_expect_eq(l->entry, 0x100010u, "a virtual entry becomes its physical address");
    const uint8_t *img = multiboot_image(mb);
    cr_expect_eq(get32(img), MULTIBOOT_HEADER_MAGIC);
    cr_expect_eq(img[0x3F], 0xC3);
    cr_expect_eq(img[0x40], 0, "the gap between segments is zero");
    cr_expect_eq(img[0x4000], 0xD4);
    cr_expect_eq(img[0x400F], 0xD4);
    cr_expect_eq(img[0x4010], 0, "bss is zero");
    cr_expect_eq(img[0x600F], 0);
    multiboot_free(mb);
}

Test(multiboot, aout_kludge)
{
    char err[256] = "";
    uint8_t f[0x80];
    size_t n = make_kludge(f, 0x200020);
    struct multiboot *mb = multiboot_new(f, n, "k", NULL, NULL, RAM, RESERVED, err, sizeof(err));
    cr_assert_not_null(mb, "%s", err);
    const struct multiboot_layout *l = multiboot_layout(mb);
    cr_expect_eq(l->load_addr, 0x200000u);
    cr_expect_eq(l->image_end, 0x201000u);
    cr_expect_eq(l->load_size, 0x1000u);
    cr_expect_eq(l->entry, 0x200040u);
    const uint8_t *img = multiboot_image(mb);
    cr_expect_eq(img[0], 0xAA);
    cr_expect_eq(get32(img + 0x20), MULTIBOOT_HEADER_MAGIC);
    cr_expect_eq(img[0x7F], 0xBB);
    cr_expect_eq(img[0x80], 0);
    multiboot_free(mb);
    /* load_end_addr cuts the file; the kludge wins over an ELF file */
    put32(f + 0x34, 0x200030);
    mb = multiboot_new(f, n, "k", NULL, NULL, RAM, RESERVED, err, sizeof(err));
    cr_assert_not_null(mb, "%s", err);
    cr_expect_eq(multiboot_image(mb)[0x2E], 0x20);   /* header_addr, still loaded */
    cr_expect_eq(multiboot_image(mb)[0x32], 0);      /* load_addr's 0x20: now bss */
    cr_expect_eq(multiboot_layout(mb)->image_end, 0x201000u);
    multiboot_free(mb);
}

Test(multiboot, information_block)
{
    char err[256] = "";
    uint8_t f[ELF_SIZE];
    size_t n = make_elf(f, 0x100000, 0x100000, 0, MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO);
    char m1[32], m2[32], mods[128];
    write_tmp(m1, "first module\n", 13);
    write_tmp(m2, "2nd", 3);
    snprintf(mods, sizeof(mods), "%s root=/dev/x,%s a,,b", m1, m2);
    struct multiboot *mb =
        multiboot_new(f, n, "kern.elf", "a=1 b", mods, RAM, RESERVED, err, sizeof(err));
    unlink(m1);
    unlink(m2);
    cr_assert_not_null(mb, "%s", err);
    const uint8_t *mbi = multiboot_info(mb);
    const struct multiboot_layout *l = multiboot_layout(mb);
    cr_expect_eq(l->info_addr, MULTIBOOT_INFO_ADDR);
    cr_expect_eq(get32(mbi + MBI_FLAGS), 0x24Du); /* memory, cmdline, mods, mmap, name */
    cr_expect_eq(get32(mbi + MBI_MEM_LOWER), 639u);
    cr_expect_eq(get32(mbi + MBI_MEM_UPPER), (RAM - RESERVED - 0x100000u) >> 10);
    cr_expect_str_eq(info_str(mb, get32(mbi + MBI_CMDLINE)), "kern.elf a=1 b");
    cr_expect_str_eq(info_str(mb, get32(mbi + MBI_BOOT_LOADER_NAME)), "kasou");
    /* modules: page aligned after the image (which ends at 0x104010) */
    cr_assert_eq(get32(mbi + MBI_MODS_COUNT), 2u);
    cr_assert_eq(l->nmods, 2);
    const uint8_t *mod = (const uint8_t *)info_str(mb, get32(mbi + MBI_MODS_ADDR));
    cr_expect_eq(get32(mod), 0x105000u);
    cr_expect_eq(get32(mod + 4), 0x105000u + 13);
    char want[64];
    snprintf(want, sizeof(want), "%s root=/dev/x", m1);
    cr_expect_str_eq(info_str(mb, get32(mod + 8)), want);
    cr_expect_eq(get32(mod + 16), 0x106000u);
    cr_expect_eq(get32(mod + 20), 0x106003u);
    snprintf(want, sizeof(want), "%s a,b", m2);
    cr_expect_str_eq(info_str(mb, get32(mod + 24)), want);
    cr_expect_eq(l->load_size, 0x6003u);
    cr_expect_eq(memcmp(multiboot_image(mb) + 0x5000, "first module\n", 13), 0);
    cr_expect_eq(memcmp(multiboot_image(mb) + 0x6000, "2nd", 3), 0);
    /* the memory map: 24-byte entries (size 20), PC layout */
    uint32_t len = get32(mbi + MBI_MMAP_LENGTH);
    cr_assert_eq(len, 5 * 24u);
    const uint8_t *map = (const uint8_t *)info_str(mb, get32(mbi + MBI_MMAP_ADDR));
    static const uint32_t want_map[5][3] = {
        { 0, 0x9FC00, 1 },
        { 0x9FC00, 0x400, 2 },
        { 0xF0000, 0x10000, 2 },
        { 0x100000, RAM - RESERVED - 0x100000, 1 },
        { RAM - RESERVED, RESERVED, 2 },
    };
    for (int i = 0; i < 5; i++) {
        const uint8_t *e = map + 24 * i;
        cr_expect_eq(get32(e), 20u);
        cr_expect_eq(get32(e + 4), want_map[i][0], "entry %d", i);
        cr_expect_eq(get32(e + 8), 0u);
        cr_expect_eq(get32(e + 12), want_map[i][1], "entry %d", i);
        cr_expect_eq(get32(e + 20), want_map[i][2], "entry %d", i);
    }
    /* room left for the firmware's map before the module list */
    cr_expect_eq(get32(mbi + MBI_MODS_ADDR) - get32(mbi + MBI_MMAP_ADDR),
                 24u * MULTIBOOT_MMAP_MAX);
    multiboot_free(mb);
}

Test(multiboot, refuses_what_it_cannot_load)
{
    char err[256] = "";
    uint8_t f[ELF_SIZE];
    size_t n = make_elf(f, 0x100000, 0x100000, 0, 1u << 3); /* an unknown required flag */
    cr_expect_null(multiboot_new(f, n, "k", NULL, NULL, RAM, RESERVED, err, sizeof(err)));
    cr_expect(strstr(err, "requires features") != NULL, "%s", err);
    n = make_elf(f, 0x8000, 0x8000, 0, 0);
    cr_expect_null(multiboot_new(f, n, "k", NULL, NULL, RAM, RESERVED, err, sizeof(err)));
    cr_expect(strstr(err, "loads at 0x8000") != NULL, "%s", err);
    n = make_elf(f, 0x100000, RAM - 0x2000, 0, 0);
    cr_expect_null(multiboot_new(f, n, "k", NULL, NULL, RAM, RESERVED, err, sizeof(err)));
    cr_expect(strstr(err, "-m") != NULL, "%s", err);
    n = make_elf(f, 0x100000, 0x100000, 0, 0);
    f[0] = 0; /* not ELF, no kludge */
    cr_expect_null(multiboot_new(f, n, "k", NULL, NULL, RAM, RESERVED, err, sizeof(err)));
    cr_expect(strstr(err, "not an ELF32") != NULL, "%s", err);
    n = make_elf(f, 0x100000, 0x100000, 0, 0);
    put32(f + 0x1C, 0xA0); /* program headers cut off */
    cr_expect_null(multiboot_new(f, n, "k", NULL, NULL, RAM, RESERVED, err, sizeof(err)));
    cr_expect(strstr(err, "program headers") != NULL, "%s", err);
    uint8_t k[0x80];
    n = make_kludge(k, 0x100020); /* header_addr below load_addr */
    cr_expect_null(multiboot_new(k, n, "k", NULL, NULL, RAM, RESERVED, err, sizeof(err)));
    cr_expect(strstr(err, "does not fit header_addr") != NULL, "%s", err);
    n = make_kludge(k, 0x200020);
    put32(k + 0x34, 0x200100); /* load_end_addr beyond the file */
    cr_expect_null(multiboot_new(k, n, "k", NULL, NULL, RAM, RESERVED, err, sizeof(err)));
    cr_expect(strstr(err, "load_end_addr") != NULL, "%s", err);
    n = make_elf(f, 0x100000, 0x100000, 0, 0);
    cr_expect_null(multiboot_new(f, n, "k", NULL, "/nonexistent/mod arg", RAM, RESERVED, err,
                                 sizeof(err)));
    cr_expect(strstr(err, "cannot open Multiboot module '/nonexistent/mod'") != NULL, "%s", err);
    cr_expect_null(multiboot_new(f, n, "k", NULL, ",x", RAM, RESERVED, err, sizeof(err)));
    cr_expect(strstr(err, "without a file name") != NULL, "%s", err);
    /* a module larger than the RAM left */
    char big[32];
    uint8_t *data = calloc(1, 0x800000);
    write_tmp(big, data, 0x800000);
    free(data);
    cr_expect_null(multiboot_new(f, n, "k", NULL, big, RAM, RESERVED, err, sizeof(err)));
    cr_expect(strstr(err, "does not fit in RAM") != NULL, "%s", err);
    unlink(big);
}

Test(multiboot, fw_cfg_and_option_rom_entry)
{
    char err[256] = "", kpath[32], mpath[32];
    uint8_t f[ELF_SIZE];
    write_tmp(kpath, f, make_elf(f, 0x100000, 0x100000, 0x100, MULTIBOOT_PAGE_ALIGN));
    write_tmp(mpath, "module", 6);
    struct bus *bus = bus_new(RAM);
    struct cpu *cpu = calloc(1, sizeof(*cpu));
    cpu_init(cpu, bus);
    struct fw_cfg *fw = fw_cfg_new(bus);
    memset(bus->ram + 0x104000, 0x77, 0x1000); /* the bss must come out zeroed */
    struct linuxboot *lb = linuxboot_new(kpath, mpath, "x=y", RAM, err, sizeof(err));
    unlink(kpath);
    unlink(mpath);
    cr_assert_not_null(lb, "%s", err);
    cr_expect_null(linuxboot_layout(lb), "a Multiboot kernel has no Linux layout");
    cr_assert_eq(linuxboot_install(lb, fw, err, sizeof(err)), 0, "%s", err);
    cr_assert(run_rom(bus, cpu, 0, 0x100010), "the ROM never reached the kernel's entry");
    /* the entry state: EAX magic, EBX the block, flat 32-bit, no paging */
    cr_expect_eq(cpu->r[R_EAX], MULTIBOOT_BOOT_MAGIC);
    cr_expect_eq(cpu->r[R_EBX], MULTIBOOT_INFO_ADDR);
    cr_expect_eq(cpu->cr0 & (CR0_PE | CR0_PG), CR0_PE);
    cr_expect_eq(cpu->eflags & (F_IF | F_VM), 0u);
    cr_expect(cpu->seg[S_CS].ar & AR_DB);
    for (int s = 0; s < 6; s++) {
        cr_expect_eq(cpu->seg[s].base, 0u, "segment %d", s);
        cr_expect_eq(cpu->seg[s].limit, 0xFFFFFFFFu, "segment %d", s);
    }
    /* the kernel, its bss, the module and the information block in place */
    cr_expect_eq(get32(bus->ram + 0x100000), MULTIBOOT_HEADER_MAGIC);
    cr_expect_eq(bus->ram[0x104000], 0xD4);
    cr_expect_eq(bus->ram[0x104010], 0, "bss zeroed");
    cr_expect_eq(bus->ram[0x10410F], 0, "bss zeroed");
    const uint8_t *mbi = bus->ram + MULTIBOOT_INFO_ADDR;
    const uint8_t *mod = bus->ram + get32(mbi + MBI_MODS_ADDR);
    cr_expect_eq(get32(mod), 0x105000u);
    cr_expect_eq(memcmp(bus->ram + 0x105000, "module", 6), 0);
    cr_expect_eq(get32(mbi + MBI_FLAGS), 0x24Du);
    char want[64];
    snprintf(want, sizeof(want), "%s x=y", kpath);
    cr_expect_str_eq((const char *)bus->ram + get32(mbi + MBI_CMDLINE), want);
    /* without E820 (this test's INT 15h fails) the host's map stays */
    cr_expect_eq(get32(mbi + MBI_MMAP_LENGTH), 5 * 24u);
    linuxboot_free(lb);
    fw_cfg_free(fw);
    free(cpu);
    bus_free(bus);
}
