/*
 * linuxboot.c - kernel boot through the firmware (see linuxboot.h).
 *
 * A bzImage is the real-mode setup code ((setup_sects + 1) sectors of 512
 * bytes, setup_sects 0 meaning 4) followed by the protected-mode kernel.
 * The setup header at offset 0x1F1 (Documentation/arch/x86/boot.rst) says
 * what the boot loader must fill in; kasou does what a boot loader using
 * the 16-bit protocol does, except that the copying is left to the option
 * ROM, which runs after SeaBIOS's POST:
 *
 *   protocol >= 2.02: setup at 0x10000, command line at 0x20000
 *   protocol 2.00/01: setup at 0x90000, command line below 0x9A000 (it
 *                     must share the setup's 64 KiB segment)
 *   the protected-mode kernel at 1 MiB (LOADED_HIGH: a bzImage)
 *   the initrd as high as initrd_addr_max and RAM allow, 4 KiB aligned,
 *   below the top LB_FIRMWARE_TOP bytes, where SeaBIOS keeps its tables
 *
 * The header in the setup copy gets type_of_loader B0h (QEMU's ID, which
 * kernels know), CAN_USE_HEAP with heap_end_ptr 512 bytes below the
 * command line, the command line pointer, the initrd and vid_mode from a
 * "vga=" option.  Everything else the setup code asks the BIOS itself.
 */
#include "linuxboot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hw/fw_cfg.h"
#include "hw/multiboot.h"

#define LB_FILE_MAX (1024u << 20) /* no kernel or initrd is larger */
#define LB_FIRMWARE_TOP 0x40000u  /* SeaBIOS's high tables: its 256 KiB zone */
#define LB_KERNEL_ADDR 0x100000u
#define LB_SETUP_MAX 0x8000u      /* setup code limit: 32 KiB (boot.rst) */
#define LB_LOADER_ID 0xB0         /* type_of_loader: QEMU */

/* Offsets in the setup code's header (bootparam.h). */
enum {
    HDR_CMD_LINE_MAGIC = 0x020, /* protocol < 2.02: A33Fh ... */
    HDR_CMD_LINE_OFFSET = 0x022, /* ... and the offset in the setup segment */
    HDR_SETUP_SECTS = 0x1F1,
    HDR_VID_MODE = 0x1FA,
    HDR_BOOT_FLAG = 0x1FE,
    HDR_JUMP_END = 0x201, /* header ends at 0x202 + this byte */
    HDR_MAGIC = 0x202,
    HDR_VERSION = 0x206,
    HDR_TYPE_OF_LOADER = 0x210,
    HDR_LOADFLAGS = 0x211,
    HDR_RAMDISK_IMAGE = 0x218,
    HDR_RAMDISK_SIZE = 0x21C,
    HDR_HEAP_END_PTR = 0x224,
    HDR_CMD_LINE_PTR = 0x228,
    HDR_INITRD_ADDR_MAX = 0x22C,
    HDR_RELOCATABLE = 0x234,
    HDR_CMDLINE_SIZE = 0x238,
    HDR_PREF_ADDRESS = 0x258,
    HDR_INIT_SIZE = 0x260,
};
#define LOADED_HIGH 0x01
#define CAN_USE_HEAP 0x80

struct linuxboot {
    struct multiboot *mb; /* a Multiboot kernel, or NULL */
    struct linuxboot_layout lay;
    uint8_t *kernel;      /* the whole bzImage; its setup part is patched */
    size_t kernel_size;
    uint8_t *initrd;
    char *cmdline;
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

uint8_t *linuxboot_read_file(const char *what, const char *path, size_t *size, char *err,
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

/* Check the setup header; choose where the setup, kernel and command line go. */
static int check_kernel(struct linuxboot *lb, const char *path, uint32_t ram_size, char *err,
                        size_t errlen)
{
    const uint8_t *k = lb->kernel;
    struct linuxboot_layout *l = &lb->lay;
    l->protocol = get16(k, HDR_VERSION);
    if (l->protocol < 0x200 || !(k[HDR_LOADFLAGS] & LOADED_HIGH)) {
        snprintf(err, errlen,
                 "kernel '%s' uses boot protocol %u.%02u%s; kasou boots bzImages "
                 "(protocol 2.00 or later, loaded high)",
                 path, l->protocol >> 8, l->protocol & 0xFF,
                 (k[HDR_LOADFLAGS] & LOADED_HIGH) ? "" : " and is a zImage (not LOADED_HIGH)");
        return -1;
    }
    uint32_t setup_sects = k[HDR_SETUP_SECTS] ? k[HDR_SETUP_SECTS] : 4;
    l->setup_size = (setup_sects + 1) * 512;
    if (0x202u + k[HDR_JUMP_END] > l->setup_size || l->setup_size >= lb->kernel_size ||
        l->setup_size > LB_SETUP_MAX) {
        snprintf(err, errlen, "kernel '%s' is truncated or its setup header is invalid", path);
        return -1;
    }
    l->kernel_addr = LB_KERNEL_ADDR;
    l->kernel_size = (uint32_t)(lb->kernel_size - l->setup_size);
    l->cmdline_size = (uint32_t)strlen(lb->cmdline) + 1;
    if (l->protocol >= 0x202) {
        l->setup_addr = 0x10000;
        l->cmdline_addr = 0x20000;
    } else {
        l->setup_addr = 0x90000;
        l->cmdline_addr = (0x9A000u - l->cmdline_size) & ~0xFu;
    }
    if (ram_size < LB_FIRMWARE_TOP + LB_KERNEL_ADDR ||
        ram_size - LB_FIRMWARE_TOP - LB_KERNEL_ADDR < l->kernel_size) {
        snprintf(err, errlen, "kernel '%s' (%u KiB) does not fit in %u MiB of RAM", path,
                 l->kernel_size >> 10, ram_size >> 20);
        return -1;
    }
    return 0;
}

/* The command line fits the kernel's limit (and, before 2.02, the segment). */
static int check_cmdline(const struct linuxboot *lb, char *err, size_t errlen)
{
    uint16_t v = lb->lay.protocol;
    uint32_t max = v >= 0x206 ? get32(lb->kernel, HDR_CMDLINE_SIZE) : 255;
    if (v < 0x202 && max > 0x1000) {
        max = 0x1000;
    }
    if (lb->lay.cmdline_size - 1 > max) {
        snprintf(err, errlen, "-append: the command line is %u bytes; this kernel takes %u",
                 lb->lay.cmdline_size - 1, max);
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
    uint64_t floor = (uint64_t)lb->lay.kernel_addr + lb->lay.kernel_size;
    if (lb->lay.protocol >= 0x20A) {
        uint64_t base = lb->lay.kernel_addr;
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
    uint64_t top = ram_size - LB_FIRMWARE_TOP;
    uint64_t max = lb->lay.protocol >= 0x203 ? get32(lb->kernel, HDR_INITRD_ADDR_MAX)
                                             : 0x37FFFFFFu;
    if (max + 1 < top) {
        top = max + 1;
    }
    uint64_t floor = initrd_floor(lb);
    uint32_t size = lb->lay.initrd_size;
    if (size > top || ((top - size) & ~(uint64_t)0xFFF) < floor) {
        snprintf(err, errlen,
                 "initrd '%s' (%u KiB) is too large for %u MiB of RAM: it must fit between "
                 "%#llx (above the kernel) and %#llx; give more memory with -m",
                 path, size >> 10, ram_size >> 20, (unsigned long long)floor,
                 (unsigned long long)top);
        return -1;
    }
    lb->lay.initrd_addr = (uint32_t)((top - size) & ~(uint64_t)0xFFF);
    return 0;
}

/* vid_mode from "vga=normal|ext|ask|NUMBER" on the command line, if any. */
static void set_vid_mode(uint8_t *setup, const char *cmdline)
{
    for (const char *p = cmdline; (p = strstr(p, "vga=")) != NULL; p += 4) {
        if (p != cmdline && p[-1] != ' ') {
            continue;
        }
        const char *v = p + 4;
        char *end;
        long mode;
        if (!strncmp(v, "normal", 6)) {
            mode = 0xFFFF;
        } else if (!strncmp(v, "ext", 3)) {
            mode = 0xFFFE;
        } else if (!strncmp(v, "ask", 3)) {
            mode = 0xFFFD;
        } else {
            mode = strtol(v, &end, 0);
            if (end == v || mode < 0 || mode > 0xFFFF) {
                continue;
            }
        }
        put16(setup, HDR_VID_MODE, (uint16_t)mode);
    }
}

/* Fill in the header fields a boot loader owns (in the setup code copy). */
static void patch_header(struct linuxboot *lb)
{
    uint8_t *k = lb->kernel;
    const struct linuxboot_layout *l = &lb->lay;
    uint32_t cmd_off = l->cmdline_addr - l->setup_addr;
    k[HDR_TYPE_OF_LOADER] = LB_LOADER_ID;
    if (l->protocol >= 0x201) {
        put16(k, HDR_HEAP_END_PTR, (uint16_t)(cmd_off - 0x200));
        k[HDR_LOADFLAGS] |= CAN_USE_HEAP;
    }
    if (l->protocol >= 0x202) {
        put32(k, HDR_CMD_LINE_PTR, l->cmdline_addr);
    } else {
        put16(k, HDR_CMD_LINE_MAGIC, 0xA33F);
        put16(k, HDR_CMD_LINE_OFFSET, (uint16_t)cmd_off);
    }
    put32(k, HDR_RAMDISK_IMAGE, l->initrd_addr);
    put32(k, HDR_RAMDISK_SIZE, l->initrd_size);
    set_vid_mode(k, lb->cmdline);
}

/* The kernel file has no Linux header: a Multiboot kernel, or an error. */
static int load_multiboot(struct linuxboot *lb, const char *kernel, const char *initrd,
                          uint32_t ram_size, char *err, size_t errlen)
{
    if (multiboot_find_header(lb->kernel, lb->kernel_size) < 0) {
        snprintf(err, errlen,
                 "kernel '%s' is neither a Linux bzImage (no \"HdrS\" setup header) nor a "
                 "Multiboot kernel (no header in its first 8 KiB)",
                 kernel);
        return -1;
    }
    lb->mb = multiboot_new(lb->kernel, lb->kernel_size, kernel, lb->cmdline, initrd, ram_size,
                           LB_FIRMWARE_TOP, err, errlen);
    return lb->mb ? 0 : -1;
}

struct linuxboot *linuxboot_new(const char *kernel, const char *initrd, const char *cmdline,
                                uint32_t ram_size, char *err, size_t errlen)
{
    struct linuxboot *lb = calloc(1, sizeof(*lb));
    if (!lb || !(lb->cmdline = strdup(cmdline ? cmdline : ""))) {
        snprintf(err, errlen, "out of memory");
        linuxboot_free(lb);
        return NULL;
    }
    lb->kernel = linuxboot_read_file("kernel", kernel, &lb->kernel_size, err, errlen);
    if (!lb->kernel) {
        linuxboot_free(lb);
        return NULL;
    }
    const uint8_t *k = lb->kernel;
    if (lb->kernel_size < 0x300 || get32(k, HDR_MAGIC) != 0x53726448u /* "HdrS" */ ||
        get16(k, HDR_BOOT_FLAG) != 0xAA55) {
        if (load_multiboot(lb, kernel, initrd, ram_size, err, errlen) < 0) {
            linuxboot_free(lb);
            return NULL;
        }
        return lb;
    }
    if (check_kernel(lb, kernel, ram_size, err, errlen) < 0 ||
        check_cmdline(lb, err, errlen) < 0) {
        linuxboot_free(lb);
        return NULL;
    }
    if (initrd_floor(lb) > ram_size - LB_FIRMWARE_TOP) {
        snprintf(err, errlen,
                 "kernel '%s' needs at least %llu MiB of RAM to decompress itself; "
                 "give more with -m",
                 kernel, (unsigned long long)((initrd_floor(lb) + LB_FIRMWARE_TOP + 0xFFFFF) >> 20));
        linuxboot_free(lb);
        return NULL;
    }
    if (initrd) {
        size_t size;
        lb->initrd = linuxboot_read_file("initrd", initrd, &size, err, errlen);
        lb->lay.initrd_size = (uint32_t)size;
        if (!lb->initrd || place_initrd(lb, initrd, ram_size, err, errlen) < 0) {
            linuxboot_free(lb);
            return NULL;
        }
    }
    patch_header(lb);
    return lb;
}

uint8_t *linuxboot_rom_image(size_t *size)
{
    uint8_t *rom = malloc(linuxboot_rom_size);
    if (!rom) {
        return NULL;
    }
    memcpy(rom, linuxboot_rom, linuxboot_rom_size);
    uint32_t pnp = get16(rom, 0x1A);
    if (pnp + 32 <= linuxboot_rom_size && !memcmp(rom + pnp, "$PnP", 4)) {
        uint32_t len = rom[pnp + 5] * 16u;
        uint8_t sum = 0;
        rom[pnp + 9] = 0;
        for (uint32_t i = 0; i < len && pnp + i < linuxboot_rom_size; i++) {
            sum = (uint8_t)(sum + rom[pnp + i]);
        }
        rom[pnp + 9] = (uint8_t)-sum;
    }
    uint8_t sum = 0;
    rom[linuxboot_rom_size - 1] = 0;
    for (size_t i = 0; i < linuxboot_rom_size; i++) {
        sum = (uint8_t)(sum + rom[i]);
    }
    rom[linuxboot_rom_size - 1] = (uint8_t)-sum;
    *size = linuxboot_rom_size;
    return rom;
}

/* The "bootorder" file with our ROM first; the old lines follow. */
static int set_bootorder(struct fw_cfg *fw)
{
    static const char line[] = LINUXBOOT_BOOTORDER "\n";
    const struct fw_cfg_item *old = NULL;
    for (int i = 0; i < fw->nitems; i++) {
        const struct fw_cfg_item *it = &fw->items[i];
        if (it->key >= FW_CFG_FILE_FIRST && !strcmp(it->name, "bootorder")) {
            old = it;
        }
    }
    size_t keep = old ? strnlen((const char *)old->data, old->len) : 0;
    if (old && keep >= strlen(line) && !memcmp(old->data, line, strlen(line))) {
        return 0; /* already first */
    }
    char *order = malloc(strlen(line) + keep + 1);
    if (!order) {
        return -1;
    }
    memcpy(order, line, strlen(line));
    if (keep) {
        memcpy(order + strlen(line), old->data, keep);
    }
    order[strlen(line) + keep] = '\0';
    int rc = fw_cfg_add_file(fw, "bootorder", order, (uint32_t)(strlen(line) + keep + 1));
    free(order);
    return rc < 0 ? -1 : 0;
}

int linuxboot_add_rom(struct fw_cfg *fw, char *err, size_t errlen)
{
    size_t size;
    uint8_t *rom = linuxboot_rom_image(&size);
    int rc = rom ? fw_cfg_add_file(fw, LINUXBOOT_ROM_FILE, rom, (uint32_t)size) : -1;
    free(rom);
    if (rc < 0 || set_bootorder(fw) < 0) {
        snprintf(err, errlen, "-kernel: cannot add the kernel loader ROM to fw_cfg");
        return -1;
    }
    return 0;
}

/* The Linux pieces, as the ROM expects them. */
static int install_linux(const struct linuxboot *lb, struct fw_cfg *fw)
{
    const struct linuxboot_layout *l = &lb->lay;
    return fw_cfg_add_i32(fw, FW_CFG_SETUP_ADDR, l->setup_addr) < 0 ||
                   fw_cfg_add_i32(fw, FW_CFG_SETUP_SIZE, l->setup_size) < 0 ||
                   fw_cfg_add(fw, FW_CFG_SETUP_DATA, lb->kernel, l->setup_size) < 0 ||
                   fw_cfg_add_i32(fw, FW_CFG_KERNEL_ADDR, l->kernel_addr) < 0 ||
                   fw_cfg_add_i32(fw, FW_CFG_KERNEL_SIZE, l->kernel_size) < 0 ||
                   fw_cfg_add(fw, FW_CFG_KERNEL_DATA, lb->kernel + l->setup_size,
                              l->kernel_size) < 0 ||
                   fw_cfg_add_i32(fw, FW_CFG_INITRD_ADDR, l->initrd_addr) < 0 ||
                   fw_cfg_add_i32(fw, FW_CFG_INITRD_SIZE, l->initrd_size) < 0 ||
                   fw_cfg_add(fw, FW_CFG_INITRD_DATA, lb->initrd ? lb->initrd : (const uint8_t *)"",
                              l->initrd_size) < 0 ||
                   fw_cfg_add_i32(fw, FW_CFG_CMDLINE_ADDR, l->cmdline_addr) < 0 ||
                   fw_cfg_add_i32(fw, FW_CFG_CMDLINE_SIZE, l->cmdline_size) < 0 ||
                   fw_cfg_add(fw, FW_CFG_CMDLINE_DATA, lb->cmdline, l->cmdline_size) < 0
               ? -1
               : 0;
}

int linuxboot_install(const struct linuxboot *lb, struct fw_cfg *fw, char *err, size_t errlen)
{
    int rc = lb->mb ? multiboot_install(lb->mb, fw) : install_linux(lb, fw);
    if (rc < 0) {
        snprintf(err, errlen, "-kernel: fw_cfg is full");
        return -1;
    }
    return linuxboot_add_rom(fw, err, errlen);
}

const struct linuxboot_layout *linuxboot_layout(const struct linuxboot *lb)
{
    return lb->mb ? NULL : &lb->lay;
}

const uint8_t *linuxboot_setup(const struct linuxboot *lb)
{
    return lb->kernel;
}

void linuxboot_free(struct linuxboot *lb)
{
    if (!lb) {
        return;
    }
    multiboot_free(lb->mb);
    free(lb->kernel);
    free(lb->initrd);
    free(lb->cmdline);
    free(lb);
}
