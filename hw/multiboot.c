/*
 * multiboot.c - Multiboot (version 1) kernels (see multiboot.h).
 *
 * Everything is decided here, on the host: the image is flattened into
 * one buffer for its load address (ELF segments copied to their physical
 * addresses, bss zeroed), the modules follow it on 4 KiB boundaries, and
 * the information block is built with the addresses the kernel will see.
 * The block's memory map is the PC layout the RAM size implies (base
 * memory up to the EBDA, the BIOS area, extended memory up to the
 * firmware's reserved top); the option ROM overwrites it with the
 * firmware's own E820 list, for which room for MULTIBOOT_MMAP_MAX
 * entries is left.
 *
 * Information block layout at MULTIBOOT_INFO_ADDR:
 *   0x000  the information structure (MBI_SIZE bytes)
 *   0x080  the memory map (MULTIBOOT_MMAP_MAX entries of 24 bytes)
 *   0x380  the module list (16 bytes a module)
 *   then   the strings: boot loader name, command line, module strings
 */
#include "multiboot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/fw_cfg.h"
#include "hw/linuxboot.h"
#include "util/log.h"

#define MB_LOW_LIMIT 0x100000u /* images load at 1 MiB or above */
#define MB_MMAP_OFF MBI_SIZE
#define MB_MMAP_ENTRY 24u
#define MB_MODS_OFF (MB_MMAP_OFF + MULTIBOOT_MMAP_MAX * MB_MMAP_ENTRY)
#define MB_MAX_MODS 64
#define MB_FLAGS_KNOWN (MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO | MULTIBOOT_VIDEO_MODE)

struct multiboot {
    struct multiboot_layout lay;
    uint8_t *image; /* lay.load_size bytes */
    uint8_t *info;  /* lay.info_size bytes */
};

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

long multiboot_find_header(const uint8_t *img, size_t size)
{
    size_t end = size < MULTIBOOT_SEARCH ? size : MULTIBOOT_SEARCH;
    for (size_t off = 0; off + 12 <= end; off += 4) {
        const uint8_t *h = img + off;
        if (rd32(h) == MULTIBOOT_HEADER_MAGIC &&
            (uint32_t)(rd32(h) + rd32(h + 4) + rd32(h + 8)) == 0) {
            return (long)off;
        }
    }
    return -1;
}

/* The image buffer: `size` zero bytes; -1 with a message if out of memory. */
static int alloc_image(struct multiboot *mb, uint32_t size, char *err, size_t errlen)
{
    mb->image = calloc(1, size ? size : 1);
    if (!mb->image) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    mb->lay.load_size = size;
    return 0;
}

/* The a.out kludge: the header's own addresses (flag bit 16). */
static int load_kludge(struct multiboot *mb, const uint8_t *img, size_t size, long hoff,
                       const char *name, char *err, size_t errlen)
{
    const uint8_t *h = img + hoff;
    if ((size_t)hoff + 32 > size) {
        snprintf(err, errlen, "Multiboot kernel '%s': the header's address fields are cut off",
                 name);
        return -1;
    }
    uint32_t header_addr = rd32(h + 12), load = rd32(h + 16), load_end = rd32(h + 20);
    uint32_t bss_end = rd32(h + 24);
    if (load > header_addr || header_addr - load > (uint32_t)hoff) {
        snprintf(err, errlen,
                 "Multiboot kernel '%s': load_addr %#x does not fit header_addr %#x at file "
                 "offset %#lx",
                 name, load, header_addr, hoff);
        return -1;
    }
    uint32_t file_off = (uint32_t)hoff - (header_addr - load);
    uint32_t avail = (uint32_t)(size - file_off);
    uint32_t len = load_end ? load_end - load : avail;
    if (load_end && (load_end < load || len > avail)) {
        snprintf(err, errlen,
                 "Multiboot kernel '%s': load_end_addr %#x is outside the file "
                 "(load_addr %#x, %u bytes from offset %#x)",
                 name, load_end, load, avail, file_off);
        return -1;
    }
    uint32_t end = load + len;
    if (bss_end && bss_end < end) {
        snprintf(err, errlen, "Multiboot kernel '%s': bss_end_addr %#x is below the image end %#x",
                 name, bss_end, end);
        return -1;
    }
    end = bss_end ? bss_end : end;
    if (end < load) {
        snprintf(err, errlen, "Multiboot kernel '%s': the image wraps around 4 GiB", name);
        return -1;
    }
    mb->lay.load_addr = load;
    mb->lay.image_end = end;
    mb->lay.entry = rd32(h + 28);
    if (alloc_image(mb, end - load, err, errlen) < 0) {
        return -1;
    }
    memcpy(mb->image, img + file_off, len);
    return 0;
}

/* The extent of an ELF32 file's PT_LOAD segments; -1 if malformed. */
static int elf_extent(const uint8_t *img, size_t size, uint32_t *lo, uint32_t *hi)
{
    uint32_t phoff = rd32(img + 0x1C), phentsize = rd16(img + 0x2A), phnum = rd16(img + 0x2C);
    if (phentsize < 32 || phnum == 0 || phoff > size ||
        (uint64_t)phnum * phentsize > size - phoff) {
        return -1;
    }
    uint64_t l = UINT64_MAX, h = 0;
    for (uint32_t i = 0; i < phnum; i++) {
        const uint8_t *ph = img + phoff + i * phentsize;
        uint32_t off = rd32(ph + 4), paddr = rd32(ph + 12), filesz = rd32(ph + 16);
        uint32_t memsz = rd32(ph + 20);
        if (rd32(ph) != 1 || memsz == 0) { /* PT_LOAD with something in it */
            continue;
        }
        if (filesz > memsz || off > size || filesz > size - off) {
            return -1;
        }
        l = paddr < l ? paddr : l;
        h = (uint64_t)paddr + memsz > h ? (uint64_t)paddr + memsz : h;
    }
    if (h == 0 || h > 0x100000000ull) {
        return -1;
    }
    *lo = (uint32_t)l;
    *hi = (uint32_t)(h - 1); /* inclusive: may be 0xFFFFFFFF */
    return 0;
}

/* An ELF32 i386 executable: its PT_LOAD segments at their p_paddr. */
static int load_elf(struct multiboot *mb, const uint8_t *img, size_t size, const char *name,
                    char *err, size_t errlen)
{
    uint32_t lo, hi;
    if (size < 0x34 || memcmp(img, "\177ELF", 4) || img[4] != 1 || img[5] != 1 ||
        rd16(img + 0x10) != 2 || rd16(img + 0x12) != 3) {
        snprintf(err, errlen,
                 "Multiboot kernel '%s' is not an ELF32 i386 executable and its header has no "
                 "a.out kludge (flag bit 16)",
                 name);
        return -1;
    }
    if (elf_extent(img, size, &lo, &hi) < 0 || hi - lo >= 0xFFFFFFFFu) {
        snprintf(err, errlen, "Multiboot kernel '%s': bad or missing ELF program headers", name);
        return -1;
    }
    mb->lay.load_addr = lo;
    mb->lay.image_end = hi + 1;
    if (hi == 0xFFFFFFFFu || alloc_image(mb, hi + 1 - lo, err, errlen) < 0) {
        if (hi == 0xFFFFFFFFu) {
            snprintf(err, errlen, "Multiboot kernel '%s' reaches the top of memory", name);
        }
        return -1;
    }
    uint32_t phoff = rd32(img + 0x1C), phentsize = rd16(img + 0x2A), phnum = rd16(img + 0x2C);
    uint32_t entry = rd32(img + 0x18);
    mb->lay.entry = entry;
    for (uint32_t i = 0; i < phnum; i++) {
        const uint8_t *ph = img + phoff + i * phentsize;
        uint32_t vaddr = rd32(ph + 8), paddr = rd32(ph + 12), memsz = rd32(ph + 20);
        if (rd32(ph) != 1 || memsz == 0) {
            continue;
        }
        memcpy(mb->image + (paddr - lo), img + rd32(ph + 4), rd32(ph + 16));
        /* A kernel linked high names a virtual entry: use its physical twin. */
        if (vaddr != paddr && entry - vaddr < memsz) {
            mb->lay.entry = entry - vaddr + paddr;
        }
    }
    return 0;
}

/* One module description: "file args" with ",," standing for ','. */
static const char *next_module(const char *s, char *out, size_t outlen)
{
    size_t n = 0;
    while (*s && !(s[0] == ',' && s[1] != ',')) {
        if (s[0] == ',') {
            s++; /* ",," */
        }
        if (n + 1 < outlen) {
            out[n++] = *s;
        }
        s++;
    }
    out[n] = '\0';
    return *s ? s + 1 : s;
}

/* Append a string to the information block; its physical address. */
static uint32_t add_string(struct multiboot *mb, uint32_t *used, const char *s)
{
    uint32_t at = *used;
    size_t len = strlen(s) + 1;
    memcpy(mb->info + at, s, len);
    *used += (uint32_t)len;
    return MULTIBOOT_INFO_ADDR + at;
}

/* The memory map the RAM size implies (before the firmware's replaces it). */
static uint32_t default_mmap(uint8_t *map, uint32_t ram_size, uint32_t reserved)
{
    static const struct {
        uint32_t addr, len, type;
    } low[] = { { 0, 0x9FC00, 1 }, { 0x9FC00, 0x400, 2 }, { 0xF0000, 0x10000, 2 } };
    uint32_t n = 0;
    for (size_t i = 0; i < sizeof(low) / sizeof(low[0]); i++, n++) {
        wr32(map + n * MB_MMAP_ENTRY, 20);
        wr64(map + n * MB_MMAP_ENTRY + 4, low[i].addr);
        wr64(map + n * MB_MMAP_ENTRY + 12, low[i].len);
        wr32(map + n * MB_MMAP_ENTRY + 20, low[i].type);
    }
    uint32_t top = ram_size - reserved;
    uint32_t ext[2][3] = { { 0x100000, top - 0x100000, 1 }, { top, reserved, 2 } };
    for (int i = 0; i < 2; i++, n++) {
        wr32(map + n * MB_MMAP_ENTRY, 20);
        wr64(map + n * MB_MMAP_ENTRY + 4, ext[i][0]);
        wr64(map + n * MB_MMAP_ENTRY + 12, ext[i][1]);
        wr32(map + n * MB_MMAP_ENTRY + 20, ext[i][2]);
    }
    return n * MB_MMAP_ENTRY;
}

/* The information block without modules; the strings start at *used. */
static int build_info(struct multiboot *mb, const char *name, const char *cmdline,
                      size_t strings, uint32_t ram_size, uint32_t reserved, uint32_t *used,
                      char *err, size_t errlen)
{
    uint32_t fixed = MB_MODS_OFF + (uint32_t)mb->lay.nmods * 16;
    if (strings > MULTIBOOT_INFO_MAX - fixed) {
        snprintf(err, errlen,
                 "Multiboot: the command line and module strings take %zu bytes; at most %u fit",
                 strings, MULTIBOOT_INFO_MAX - fixed);
        return -1;
    }
    mb->lay.info_addr = MULTIBOOT_INFO_ADDR;
    mb->lay.info_size = fixed + (uint32_t)strings;
    mb->info = calloc(1, mb->lay.info_size);
    if (!mb->info) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    uint8_t *mbi = mb->info;
    *used = fixed;
    wr32(mbi + MBI_FLAGS, MBI_F_MEMORY | MBI_F_CMDLINE | MBI_F_MODS | MBI_F_MMAP |
                              MBI_F_LOADER_NAME);
    wr32(mbi + MBI_MEM_LOWER, 0x9FC00 >> 10);
    wr32(mbi + MBI_MEM_UPPER, (ram_size - reserved - 0x100000u) >> 10);
    wr32(mbi + MBI_MMAP_LENGTH, default_mmap(mbi + MB_MMAP_OFF, ram_size, reserved));
    wr32(mbi + MBI_MMAP_ADDR, MULTIBOOT_INFO_ADDR + MB_MMAP_OFF);
    wr32(mbi + MBI_MODS_COUNT, (uint32_t)mb->lay.nmods);
    wr32(mbi + MBI_MODS_ADDR, MULTIBOOT_INFO_ADDR + MB_MODS_OFF);
    wr32(mbi + MBI_BOOT_LOADER_NAME, add_string(mb, used, "kasou"));
    uint32_t at = *used;
    memcpy(mbi + at, name, strlen(name));
    at += (uint32_t)strlen(name);
    if (cmdline && *cmdline) {
        mbi[at++] = ' ';
        memcpy(mbi + at, cmdline, strlen(cmdline));
        at += (uint32_t)strlen(cmdline);
    }
    mbi[at++] = '\0';
    wr32(mbi + MBI_CMDLINE, MULTIBOOT_INFO_ADDR + *used);
    *used = at;
    return 0;
}

/* Count the modules and the bytes their descriptions take (with NULs). */
static int count_modules(const char *modules, size_t *bytes, char *err, size_t errlen)
{
    int n = 0;
    size_t cap = strlen(modules) + 1;
    char *desc = malloc(cap);
    if (!desc) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (const char *s = modules; *s;) {
        s = next_module(s, desc, cap);
        if (desc[0] == '\0' || desc[0] == ' ') {
            snprintf(err, errlen, "-initrd: a Multiboot module without a file name in '%s'",
                     modules);
            free(desc);
            return -1;
        }
        *bytes += strlen(desc) + 1;
        n++;
    }
    free(desc);
    if (n > MB_MAX_MODS) {
        snprintf(err, errlen, "-initrd: %d Multiboot modules; at most %d", n, MB_MAX_MODS);
        return -1;
    }
    return n;
}

/* Read one module and place it on the next page boundary after `*top`. */
static int place_module(struct multiboot *mb, int i, const char *desc, uint32_t limit,
                        uint32_t *top, uint32_t *used, char *err, size_t errlen)
{
    size_t plen = strcspn(desc, " ");
    char *path = strndup(desc, plen);
    size_t msize = 0;
    uint8_t *data = path ? linuxboot_read_file("Multiboot module", path, &msize, err, errlen)
                         : NULL;
    if (!path) {
        snprintf(err, errlen, "out of memory");
    }
    uint64_t start = ((uint64_t)*top + 0xFFF) & ~(uint64_t)0xFFF;
    if (data && start + msize > limit) {
        snprintf(err, errlen,
                 "Multiboot module '%s' (%zu KiB) does not fit in RAM above the kernel "
                 "(at %#llx, below %#x); give more memory with -m",
                 path, msize >> 10, (unsigned long long)start, limit);
        free(data);
        data = NULL;
    }
    uint32_t new_size = data ? (uint32_t)(start + msize - mb->lay.load_addr) : 0;
    uint8_t *grown = data ? realloc(mb->image, new_size ? new_size : 1) : NULL;
    if (data && !grown) {
        snprintf(err, errlen, "out of memory");
    }
    if (!grown) {
        free(data);
        free(path);
        return -1;
    }
    mb->image = grown;
    uint32_t old = mb->lay.load_size;
    memset(mb->image + old, 0, new_size - old);
    memcpy(mb->image + (start - mb->lay.load_addr), data, msize);
    mb->lay.load_size = new_size;
    *top = (uint32_t)(start + msize);
    uint8_t *m = mb->info + MB_MODS_OFF + 16 * (uint32_t)i;
    wr32(m, (uint32_t)start);
    wr32(m + 4, (uint32_t)(start + msize)); /* mod_end: the first byte after it */
    wr32(m + 8, add_string(mb, used, desc));
    wr32(m + 12, 0);
    free(data);
    free(path);
    return 0;
}

static int load_modules(struct multiboot *mb, const char *modules, uint32_t limit,
                        uint32_t *used, char *err, size_t errlen)
{
    size_t cap = strlen(modules) + 1;
    char *desc = malloc(cap);
    if (!desc) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    uint32_t top = mb->lay.image_end;
    const char *s = modules;
    for (int i = 0; i < mb->lay.nmods; i++) {
        s = next_module(s, desc, cap);
        if (place_module(mb, i, desc, limit, &top, used, err, errlen) < 0) {
            free(desc);
            return -1;
        }
    }
    free(desc);
    return 0;
}

/* Find the header, check its flags and flatten the image. */
static int load_image(struct multiboot *mb, const uint8_t *img, size_t size, const char *name,
                      uint32_t limit, char *err, size_t errlen)
{
    long hoff = multiboot_find_header(img, size);
    if (hoff < 0) {
        snprintf(err, errlen, "'%s' has no Multiboot header in its first %u bytes", name,
                 MULTIBOOT_SEARCH);
        return -1;
    }
    uint32_t flags = rd32(img + hoff + 4);
    if (flags & 0xFFFFu & ~MB_FLAGS_KNOWN) {
        snprintf(err, errlen,
                 "Multiboot kernel '%s' requires features kasou does not provide "
                 "(header flags %#x)",
                 name, flags);
        return -1;
    }
    if (flags & MULTIBOOT_VIDEO_MODE) {
        log_warn("Multiboot kernel '%s' asks for a video mode: ignored (text mode)", name);
    }
    int rc = flags & MULTIBOOT_AOUT_KLUDGE ? load_kludge(mb, img, size, hoff, name, err, errlen)
                                           : load_elf(mb, img, size, name, err, errlen);
    if (rc < 0) {
        return -1;
    }
    if (mb->lay.load_addr < MB_LOW_LIMIT || mb->lay.image_end > limit) {
        snprintf(err, errlen,
                 "Multiboot kernel '%s' loads at %#x-%#x; kasou loads kernels between 1 MiB "
                 "and %#x (give more memory with -m)",
                 name, mb->lay.load_addr, mb->lay.image_end, limit);
        return -1;
    }
    return 0;
}

struct multiboot *multiboot_new(const uint8_t *img, size_t size, const char *name,
                                const char *cmdline, const char *modules, uint32_t ram_size,
                                uint32_t reserved, char *err, size_t errlen)
{
    struct multiboot *mb = calloc(1, sizeof(*mb));
    if (!mb) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    uint32_t limit = ram_size > reserved + MB_LOW_LIMIT ? ram_size - reserved : MB_LOW_LIMIT;
    size_t strings = strlen("kasou") + 1 + strlen(name) + 1 + (cmdline ? strlen(cmdline) + 1 : 0);
    uint32_t used;
    int n = modules ? count_modules(modules, &strings, err, errlen) : 0;
    if (n < 0 || load_image(mb, img, size, name, limit, err, errlen) < 0) {
        multiboot_free(mb);
        return NULL;
    }
    mb->lay.nmods = n;
    if (build_info(mb, name, cmdline, strings, ram_size, reserved, &used, err, errlen) < 0 ||
        (n && load_modules(mb, modules, limit, &used, err, errlen) < 0)) {
        multiboot_free(mb);
        return NULL;
    }
    return mb;
}

int multiboot_install(const struct multiboot *mb, struct fw_cfg *fw)
{
    const struct multiboot_layout *l = &mb->lay;
    return fw_cfg_add_i32(fw, FW_CFG_KERNEL_ADDR, l->load_addr) < 0 ||
                   fw_cfg_add_i32(fw, FW_CFG_KERNEL_SIZE, l->load_size) < 0 ||
                   fw_cfg_add(fw, FW_CFG_KERNEL_DATA, mb->image, l->load_size) < 0 ||
                   fw_cfg_add_i32(fw, FW_CFG_KERNEL_ENTRY, l->entry) < 0 ||
                   fw_cfg_add_i32(fw, FW_CFG_INITRD_ADDR, l->info_addr) < 0 ||
                   fw_cfg_add_i32(fw, FW_CFG_INITRD_SIZE, l->info_size) < 0 ||
                   fw_cfg_add(fw, FW_CFG_INITRD_DATA, mb->info, l->info_size) < 0 ||
                   fw_cfg_add_i32(fw, FW_CFG_SETUP_ADDR, 0) < 0 ||
                   fw_cfg_add_i32(fw, FW_CFG_SETUP_SIZE, 0) < 0
               ? -1
               : 0;
}

const struct multiboot_layout *multiboot_layout(const struct multiboot *mb)
{
    return &mb->lay;
}

const uint8_t *multiboot_image(const struct multiboot *mb)
{
    return mb->image;
}

const uint8_t *multiboot_info(const struct multiboot *mb)
{
    return mb->info;
}

void multiboot_free(struct multiboot *mb)
{
    if (!mb) {
        return;
    }
    free(mb->image);
    free(mb->info);
    free(mb);
}
