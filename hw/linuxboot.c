/*
 * linuxboot.c - direct Linux kernel boot (see linuxboot.h).
 *
 * A bzImage is the real-mode setup code ((setup_sects + 1) sectors of 512
 * bytes, setup_sects 0 meaning 4) followed by the protected-mode kernel.
 * The setup header at offset 0x1F1 tells a boot loader where things go;
 * kasou skips the real-mode setup and uses the 32-bit boot protocol of
 * Documentation/arch/x86/boot.rst, so nothing the real-mode code would
 * have asked the BIOS (memory map, video mode, EDD) is needed: the zero
 * page carries the e820 map, and a zeroed screen_info (no rows, no
 * columns) tells the kernel there is no VGA text console.
 *
 * Guest memory layout (all in conventional RAM, which the kernel may
 * reuse once it has copied what it needs):
 *   0x06000  GDT: null, null, __BOOT_CS, __BOOT_DS; the stack grows down
 *            from here
 *   0x07000  zero page (struct boot_params, 4 KiB)
 *   0x20000  command line
 *   code32_start (1 MiB)  protected-mode kernel
 *   top of RAM            initrd, 4 KiB aligned, below initrd_addr_max
 */
#include "linuxboot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cpu/cpu.h"
#include "cpu/mem.h"
#include "hw/bus.h"

#define LB_GDT 0x6000u
#define LB_ZERO_PAGE 0x7000u
#define LB_CMDLINE 0x20000u
#define LB_ZERO_PAGE_SIZE 4096u
#define LB_BOOT_CS 0x10
#define LB_BOOT_DS 0x18
#define LB_FILE_MAX (1024u << 20) /* no kernel or initrd is larger */

/* Offsets in the zero page and the setup header (bootparam.h). */
enum {
    BP_ALT_MEM_K = 0x1E0,
    BP_E820_ENTRIES = 0x1E8,
    BP_HDR = 0x1F1, /* setup header: copied from the image */
    HDR_SETUP_SECTS = 0x1F1,
    HDR_SYSSIZE = 0x1F4,
    HDR_BOOT_FLAG = 0x1FE,
    HDR_JUMP_END = 0x201, /* header ends at 0x202 + this byte */
    HDR_MAGIC = 0x202,
    HDR_VERSION = 0x206,
    HDR_TYPE_OF_LOADER = 0x210,
    HDR_LOADFLAGS = 0x211,
    HDR_CODE32_START = 0x214,
    HDR_RAMDISK_IMAGE = 0x218,
    HDR_RAMDISK_SIZE = 0x21C,
    HDR_CMD_LINE_PTR = 0x228,
    HDR_INITRD_ADDR_MAX = 0x22C,
    HDR_RELOCATABLE = 0x234,
    HDR_CMDLINE_SIZE = 0x238,
    HDR_PREF_ADDRESS = 0x258,
    HDR_INIT_SIZE = 0x260,
    BP_E820_TABLE = 0x2D0,
};
#define LOADED_HIGH 0x01
#define E820_RAM 1
#define E820_RESERVED 2
#define E820_MAX 8

struct e820_entry {
    uint64_t addr, size;
    uint32_t type;
};

struct linuxboot {
    uint8_t *kernel; /* the whole bzImage */
    size_t kernel_size;
    uint32_t pm_offset; /* protected-mode part: file offset ... */
    uint32_t pm_size;   /* ... and size */
    uint32_t load_addr; /* where it goes: code32_start */
    uint8_t *initrd;
    uint32_t initrd_size;
    uint32_t initrd_addr;
    char *cmdline;
    uint8_t zero_page[LB_ZERO_PAGE_SIZE];
};

static uint16_t get16(const uint8_t *p, uint32_t off)
{
    return (uint16_t)(p[off] | p[off + 1] << 8);
}

static uint32_t get32(const uint8_t *p, uint32_t off)
{
    return (uint32_t)get16(p, off) | (uint32_t)get16(p, off + 2) << 16;
}

static void put16(uint8_t *p, uint32_t off, uint16_t v)
{
    p[off] = (uint8_t)v;
    p[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t off, uint32_t v)
{
    put16(p, off, (uint16_t)v);
    put16(p, off + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint32_t off, uint64_t v)
{
    put32(p, off, (uint32_t)v);
    put32(p, off + 4, (uint32_t)(v >> 32));
}

/* Read a whole regular file; what names it in messages ("kernel"). */
static uint8_t *read_file(const char *what, const char *path, size_t *size, char *err,
                          size_t errlen)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s '%s': %s", what, path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s '%s' is not a regular file", what, path);
        fclose(f);
        return NULL;
    }
    if ((unsigned long long)st.st_size > LB_FILE_MAX) {
        snprintf(err, errlen, "%s '%s' is too large (%lld bytes)", what, path,
                 (long long)st.st_size);
        fclose(f);
        return NULL;
    }
    *size = (size_t)st.st_size;
    uint8_t *buf = malloc(*size ? *size : 1);
    if (!buf || fread(buf, 1, *size, f) != *size) {
        snprintf(err, errlen, "cannot read %s '%s'%s", what, path,
                 buf ? ": short read" : ": out of memory");
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    return buf;
}

/* Check the setup header and find the protected-mode part. */
static int check_kernel(struct linuxboot *lb, const char *path, uint32_t ram_size, char *err,
                        size_t errlen)
{
    const uint8_t *k = lb->kernel;
    if (lb->kernel_size < 0x300 || get32(k, HDR_MAGIC) != 0x53726448u /* "HdrS" */ ||
        get16(k, HDR_BOOT_FLAG) != 0xAA55) {
        snprintf(err, errlen, "kernel '%s' is not a Linux bzImage (no \"HdrS\" setup header)",
                 path);
        return -1;
    }
    uint16_t version = get16(k, HDR_VERSION);
    if (version < 0x204 || !(k[HDR_LOADFLAGS] & LOADED_HIGH)) {
        snprintf(err, errlen,
                 "kernel '%s' uses boot protocol %u.%02u%s; kasou needs a bzImage "
                 "with protocol 2.04 or later",
                 path, version >> 8, version & 0xFF,
                 (k[HDR_LOADFLAGS] & LOADED_HIGH) ? "" : " and is a zImage (not LOADED_HIGH)");
        return -1;
    }
    uint32_t setup_sects = k[HDR_SETUP_SECTS] ? k[HDR_SETUP_SECTS] : 4;
    lb->pm_offset = (setup_sects + 1) * 512;
    if (0x202u + k[HDR_JUMP_END] > lb->pm_offset || lb->pm_offset >= lb->kernel_size) {
        snprintf(err, errlen, "kernel '%s' is truncated or its setup header is invalid", path);
        return -1;
    }
    lb->pm_size = (uint32_t)(lb->kernel_size - lb->pm_offset);
    lb->load_addr = get32(k, HDR_CODE32_START);
    if (lb->load_addr < 0x100000u || lb->load_addr >= ram_size ||
        ram_size - lb->load_addr < lb->pm_size) {
        snprintf(err, errlen, "kernel '%s' (%u KiB at %#x) does not fit in %u MiB of RAM", path,
                 lb->pm_size >> 10, lb->load_addr, ram_size >> 20);
        return -1;
    }
    return 0;
}

/*
 * The lowest address the initrd may use: above the loaded kernel and
 * above the area it decompresses into (pref_address + init_size for a
 * relocatable kernel of protocol 2.10 and later).
 */
static uint64_t initrd_floor(const struct linuxboot *lb)
{
    const uint8_t *k = lb->kernel;
    uint64_t floor = (uint64_t)lb->load_addr + lb->pm_size;
    if (get16(k, HDR_VERSION) >= 0x20A) {
        uint64_t base = lb->load_addr;
        uint64_t pref =
            (uint64_t)get32(k, HDR_PREF_ADDRESS) | (uint64_t)get32(k, HDR_PREF_ADDRESS + 4) << 32;
        if (k[HDR_RELOCATABLE] && pref > base) {
            base = pref;
        }
        uint64_t end = base + get32(k, HDR_INIT_SIZE);
        floor = end > floor ? end : floor;
    }
    return (floor + 0xFFF) & ~(uint64_t)0xFFF;
}

/* Place the initrd as high as RAM and initrd_addr_max allow. */
static int place_initrd(struct linuxboot *lb, const char *path, uint32_t ram_size, char *err,
                        size_t errlen)
{
    uint64_t top = ram_size;
    uint64_t max = (uint64_t)get32(lb->kernel, HDR_INITRD_ADDR_MAX) + 1;
    if (max < top) {
        top = max;
    }
    uint64_t floor = initrd_floor(lb);
    if (lb->initrd_size > top || ((top - lb->initrd_size) & ~(uint64_t)0xFFF) < floor) {
        snprintf(err, errlen,
                 "initrd '%s' (%u KiB) is too large for %u MiB of RAM: it must fit between "
                 "%#llx (above the kernel) and %#llx; give more memory with -m",
                 path, lb->initrd_size >> 10, ram_size >> 20, (unsigned long long)floor,
                 (unsigned long long)top);
        return -1;
    }
    lb->initrd_addr = (uint32_t)((top - lb->initrd_size) & ~(uint64_t)0xFFF);
    return 0;
}

/* The PC memory map the firmware would report (int 15h, E820h). */
static int build_e820(struct e820_entry *e, uint32_t ram_size, uint32_t rom_size)
{
    int n = 0;
    e[n++] = (struct e820_entry){ 0, 0x9FC00, E820_RAM };
    e[n++] = (struct e820_entry){ 0x9FC00, 0x400, E820_RESERVED };   /* EBDA */
    e[n++] = (struct e820_entry){ 0xF0000, 0x10000, E820_RESERVED }; /* BIOS */
    e[n++] = (struct e820_entry){ 0x100000, ram_size - 0x100000u, E820_RAM };
    if (rom_size) {
        e[n++] = (struct e820_entry){ 0x100000000ull - rom_size, rom_size, E820_RESERVED };
    }
    return n;
}

/* Fill the zero page: the image's setup header, then our fields. */
static void build_zero_page(struct linuxboot *lb, uint32_t ram_size, uint32_t rom_size)
{
    uint8_t *zp = lb->zero_page;
    const uint8_t *k = lb->kernel;
    uint32_t hdr_end = 0x202u + k[HDR_JUMP_END];
    memset(zp, 0, sizeof(lb->zero_page));
    memcpy(zp + BP_HDR, k + BP_HDR, hdr_end - BP_HDR);
    zp[HDR_TYPE_OF_LOADER] = 0xFF; /* a loader without an assigned id */
    put32(zp, HDR_CMD_LINE_PTR, LB_CMDLINE);
    put32(zp, HDR_RAMDISK_IMAGE, lb->initrd_size ? lb->initrd_addr : 0);
    put32(zp, HDR_RAMDISK_SIZE, lb->initrd_size);
    put32(zp, BP_ALT_MEM_K, (ram_size - 0x100000u) >> 10);
    struct e820_entry e[E820_MAX];
    int n = build_e820(e, ram_size, rom_size);
    zp[BP_E820_ENTRIES] = (uint8_t)n;
    for (int i = 0; i < n; i++) {
        uint32_t off = BP_E820_TABLE + 20u * (uint32_t)i;
        put64(zp, off, e[i].addr);
        put64(zp, off + 8, e[i].size);
        put32(zp, off + 16, e[i].type);
    }
}

static int check_cmdline(const struct linuxboot *lb, char *err, size_t errlen)
{
    uint32_t max =
        get16(lb->kernel, HDR_VERSION) >= 0x206 ? get32(lb->kernel, HDR_CMDLINE_SIZE) : 255;
    if (strlen(lb->cmdline) > max) {
        snprintf(err, errlen, "-append: the command line is %zu bytes; this kernel takes %u",
                 strlen(lb->cmdline), max);
        return -1;
    }
    return 0;
}

struct linuxboot *linuxboot_new(const char *kernel, const char *initrd, const char *cmdline,
                                uint32_t ram_size, uint32_t rom_size, char *err, size_t errlen)
{
    struct linuxboot *lb = calloc(1, sizeof(*lb));
    if (!lb || !(lb->cmdline = strdup(cmdline ? cmdline : ""))) {
        snprintf(err, errlen, "out of memory");
        linuxboot_free(lb);
        return NULL;
    }
    lb->kernel = read_file("kernel", kernel, &lb->kernel_size, err, errlen);
    if (!lb->kernel || check_kernel(lb, kernel, ram_size, err, errlen) < 0 ||
        check_cmdline(lb, err, errlen) < 0) {
        linuxboot_free(lb);
        return NULL;
    }
    if (initrd_floor(lb) > ram_size) {
        snprintf(err, errlen,
                 "kernel '%s' needs at least %llu MiB of RAM to decompress itself; "
                 "give more with -m",
                 kernel, (unsigned long long)((initrd_floor(lb) + 0xFFFFF) >> 20));
        linuxboot_free(lb);
        return NULL;
    }
    if (initrd) {
        size_t size;
        lb->initrd = read_file("initrd", initrd, &size, err, errlen);
        lb->initrd_size = (uint32_t)size;
        if (!lb->initrd || place_initrd(lb, initrd, ram_size, err, errlen) < 0) {
            linuxboot_free(lb);
            return NULL;
        }
    }
    build_zero_page(lb, ram_size, rom_size);
    return lb;
}

/* A flat 4 GiB segment: base 0, limit 0xFFFFF pages, G and D/B set. */
static void flat_desc(uint32_t d[2], uint32_t type)
{
    d[0] = 0x0000FFFFu;
    d[1] = 0x00CF0000u | AR_P | AR_S | (type << 8);
}

/*
 * The 32-bit boot protocol's entry state: protected mode without paging,
 * CS = __BOOT_CS and DS = ES = SS = __BOOT_DS (flat, 4 GiB), interrupts
 * off, ESI = the zero page, EBP = EDI = EBX = 0.
 */
static void enter_kernel(const struct linuxboot *lb, struct bus *bus, struct cpu *cpu)
{
    uint32_t code[2], data[2];
    uint8_t gdt[32] = { 0 };
    flat_desc(code, 0xB); /* execute/read, accessed */
    flat_desc(data, 0x3); /* read/write, accessed */
    put32(gdt, LB_BOOT_CS, code[0]);
    put32(gdt, LB_BOOT_CS + 4, code[1]);
    put32(gdt, LB_BOOT_DS, data[0]);
    put32(gdt, LB_BOOT_DS + 4, data[1]);
    bus_write_buf(bus, LB_GDT, gdt, sizeof(gdt));
    cpu->gdtr = (struct dtr){ LB_GDT, sizeof(gdt) - 1 };
    cpu->idtr = (struct dtr){ 0, 0 };
    cpu->cr0 = CR0_PE | CR0_ET;
    cpu_desc_to_seg(&cpu->seg[S_CS], LB_BOOT_CS, code);
    for (int s = 0; s < 6; s++) {
        if (s != S_CS) {
            cpu_desc_to_seg(&cpu->seg[s], LB_BOOT_DS, data);
        }
    }
    cpu->cpl = 0;
    cpu->eflags = F_FIXED1;
    cpu->cc_op = CC_EAGER;
    memset(cpu->r, 0, sizeof(cpu->r));
    cpu->r[R_ESI] = LB_ZERO_PAGE;
    cpu->r[R_ESP] = LB_GDT;
    cpu->eip = get32(lb->zero_page, HDR_CODE32_START);
    mmu_flush(cpu, false);
}

/* BIOS data area words a kernel may look at: COM1, base memory, EBDA. */
static void fill_bda(struct bus *bus)
{
    uint8_t w[2];
    put16(w, 0, 0x3F8);
    bus_write_buf(bus, 0x400, w, 2);
    put16(w, 0, 0x9FC00 >> 4);
    bus_write_buf(bus, 0x40E, w, 2);
    put16(w, 0, 639);
    bus_write_buf(bus, 0x413, w, 2);
}

void linuxboot_start(const struct linuxboot *lb, struct bus *bus, struct cpu *cpu)
{
    fill_bda(bus);
    bus_write_buf(bus, LB_ZERO_PAGE, lb->zero_page, sizeof(lb->zero_page));
    bus_write_buf(bus, LB_CMDLINE, lb->cmdline, strlen(lb->cmdline) + 1);
    bus_write_buf(bus, lb->load_addr, lb->kernel + lb->pm_offset, lb->pm_size);
    if (lb->initrd_size) {
        bus_write_buf(bus, lb->initrd_addr, lb->initrd, lb->initrd_size);
    }
    enter_kernel(lb, bus, cpu);
}

void linuxboot_free(struct linuxboot *lb)
{
    if (!lb) {
        return;
    }
    free(lb->kernel);
    free(lb->initrd);
    free(lb->cmdline);
    free(lb);
}
