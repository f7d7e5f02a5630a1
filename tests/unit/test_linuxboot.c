/*
 * Kernel boot through the firmware (hw/linuxboot.c, roms/linuxboot.S):
 * a synthetic bzImage is laid out and its setup header patched as
 * Documentation/arch/x86/boot.rst asks of a 16-bit boot loader; the
 * pieces, the option ROM and "bootorder" reach fw_cfg; the option ROM
 * itself runs on the CPU against a real fw_cfg device and must copy
 * everything into place and enter the setup code as the protocol says.
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

#define RAM (8u << 20)
#define TOP (RAM - 0x40000u) /* the firmware keeps the top 256 KiB */
#define SETUP_SECTS 7        /* the protected-mode part starts at 8 * 512 */
#define PM_OFFSET ((SETUP_SECTS + 1) * 512)
#define ROM_SEG 0xC800

static const uint8_t payload[] = { 0x8B, 0x86, 0x28, 0x02, 0x00, 0x00, 0x8B, 0x18, 0xF4 };

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* A bzImage of protocol `version` with the payload; returns its size. */
static size_t make_image(uint8_t *img, uint16_t version, uint8_t loadflags)
{
    size_t size = PM_OFFSET + sizeof(payload);
    memset(img, 0, size);
    img[0x1F1] = SETUP_SECTS;
    img[0x1FA] = 0xFF; /* vid_mode: normal */
    img[0x1FB] = 0xFF;
    img[0x1FE] = 0x55;
    img[0x1FF] = 0xAA;
    img[0x200] = 0xEB;
    img[0x201] = 0x6A; /* header ends at 0x26C */
    memcpy(img + 0x202, "HdrS", 4);
    img[0x206] = (uint8_t)version;
    img[0x207] = (uint8_t)(version >> 8);
    img[0x211] = loadflags;
    put32(img + 0x214, 0x100000);   /* code32_start */
    put32(img + 0x22C, 0x37FFFFFF); /* initrd_addr_max */
    put32(img + 0x238, 2047);       /* cmdline_size */
    put32(img + 0x258, 0x100000);   /* pref_address */
    put32(img + 0x260, 0x200000);   /* init_size: up to 3 MiB */
    memcpy(img + PM_OFFSET, payload, sizeof(payload));
    return size;
}

static void write_tmp(char *path, const void *data, size_t len)
{
    strcpy(path, "/tmp/kasou-lbXXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static struct linuxboot *load_cmd(uint16_t version, uint8_t loadflags, size_t initrd_len,
                                  uint32_t ram, const char *cmdline, char *err, size_t errlen)
{
    static uint8_t img[PM_OFFSET + sizeof(payload)];
    char kpath[32], ipath[32];
    write_tmp(kpath, img, make_image(img, version, loadflags));
    uint8_t *initrd = malloc(initrd_len + 1);
    memset(initrd, 0xA5, initrd_len);
    write_tmp(ipath, initrd, initrd_len);
    struct linuxboot *lb =
        linuxboot_new(kpath, initrd_len ? ipath : NULL, cmdline, ram, err, errlen);
    unlink(kpath);
    unlink(ipath);
    free(initrd);
    return lb;
}

static struct linuxboot *load(uint16_t version, uint8_t loadflags, size_t initrd_len, uint32_t ram,
                              char *err, size_t errlen)
{
    return load_cmd(version, loadflags, initrd_len, ram, "console=ttyS0", err, errlen);
}

/* An fw_cfg item read through the selector and data ports; its length. */
static uint32_t cfg_read(struct bus *bus, struct fw_cfg *fw, uint16_t key, uint8_t *buf,
                         uint32_t max)
{
    uint32_t len = 0;
    for (int i = 0; i < fw->nitems; i++) {
        if (fw->items[i].key == key) {
            len = fw->items[i].len;
        }
    }
    bus_out(bus, 0x510, key, 2);
    for (uint32_t i = 0; i < len && i < max; i++) {
        buf[i] = (uint8_t)bus_in(bus, 0x511, 1);
    }
    return len;
}

static uint32_t cfg_u32(struct bus *bus, struct fw_cfg *fw, uint16_t key)
{
    uint8_t b[4] = { 0 };
    cr_assert_eq(cfg_read(bus, fw, key, b, 4), 4u, "fw_cfg key %#x", key);
    return get32(b);
}

/* The key of the fw_cfg file `name`, or -1. */
static int cfg_file(struct fw_cfg *fw, const char *name)
{
    for (int i = 0; i < fw->nitems; i++) {
        if (fw->items[i].key >= FW_CFG_FILE_FIRST && !strcmp(fw->items[i].name, name)) {
            return fw->items[i].key;
        }
    }
    return -1;
}

Test(linuxboot, layout_and_patched_header)
{
    char err[256] = "";
    struct linuxboot *lb = load(0x20F, 0x01, 0x3000, RAM, err, sizeof(err));
    cr_assert_not_null(lb, "%s", err);
    const struct linuxboot_layout *l = linuxboot_layout(lb);
    cr_assert_not_null(l);
    cr_expect_eq(l->protocol, 0x20F);
    cr_expect_eq(l->setup_addr, 0x10000u);
    cr_expect_eq(l->setup_size, PM_OFFSET);
    cr_expect_eq(l->kernel_addr, 0x100000u);
    cr_expect_eq(l->kernel_size, sizeof(payload));
    cr_expect_eq(l->cmdline_addr, 0x20000u);
    cr_expect_eq(l->cmdline_size, sizeof("console=ttyS0"));
    /* as high as possible below the firmware's top, page aligned */
    cr_expect_eq(l->initrd_addr, (TOP - 0x3000u) & ~0xFFFu);
    cr_expect_eq(l->initrd_size, 0x3000u);
    const uint8_t *s = linuxboot_setup(lb);
    cr_expect_eq(s[0x210], 0xB0);                   /* type_of_loader */
    cr_expect_eq(s[0x211], 0x81);                   /* LOADED_HIGH | CAN_USE_HEAP */
    cr_expect_eq(get16(s + 0x224), 0xFE00);         /* heap_end_ptr */
    cr_expect_eq(get32(s + 0x228), 0x20000u);       /* cmd_line_ptr */
    cr_expect_eq(get32(s + 0x218), l->initrd_addr); /* ramdisk_image */
    cr_expect_eq(get32(s + 0x21C), 0x3000u);        /* ramdisk_size */
    cr_expect_eq(get16(s + 0x1FA), 0xFFFF);         /* vid_mode kept */
    cr_expect_eq(get16(s + 0x20), 0);               /* no old command line magic */
    linuxboot_free(lb);
}

Test(linuxboot, old_protocol_keeps_everything_in_the_setup_segment)
{
    char err[256] = "";
    struct linuxboot *lb = load(0x201, 0x01, 0x3000, RAM, err, sizeof(err));
    cr_assert_not_null(lb, "%s", err);
    const struct linuxboot_layout *l = linuxboot_layout(lb);
    cr_expect_eq(l->setup_addr, 0x90000u);
    cr_expect_eq(l->cmdline_addr, (0x9A000u - sizeof("console=ttyS0")) & ~0xFu);
    /* initrd_addr_max is a 2.03 field: the default 0x37FFFFFF applies */
    cr_expect_eq(l->initrd_addr, (TOP - 0x3000u) & ~0xFFFu);
    const uint8_t *s = linuxboot_setup(lb);
    cr_expect_eq(get16(s + 0x20), 0xA33F); /* cmd_line_magic */
    cr_expect_eq(get16(s + 0x22), l->cmdline_addr - 0x90000u);
    cr_expect_eq(get16(s + 0x224), l->cmdline_addr - 0x90000u - 0x200);
    cr_expect_eq(get32(s + 0x228), 0u); /* cmd_line_ptr is a 2.02 field */
    linuxboot_free(lb);
    /* protocol 2.00 has no heap */
    lb = load(0x200, 0x01, 0, RAM, err, sizeof(err));
    cr_assert_not_null(lb, "%s", err);
    cr_expect_eq(linuxboot_setup(lb)[0x211], 0x01);
    cr_expect_eq(linuxboot_layout(lb)->initrd_addr, 0u);
    linuxboot_free(lb);
}

Test(linuxboot, vga_option_sets_vid_mode)
{
    static const struct {
        const char *cmdline;
        uint16_t mode;
    } cases[] = {
        { "console=ttyS0 vga=0x317", 0x317 }, { "vga=ask", 0xFFFD },
        { "vga=ext root=/dev/sda", 0xFFFE },  { "vga=791", 791 },
        { "novga=1 vga=normal", 0xFFFF },     { "xvga=3", 0xFFFF },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "";
        struct linuxboot *lb = load_cmd(0x20F, 0x01, 0, RAM, cases[i].cmdline, err, sizeof(err));
        cr_assert_not_null(lb, "%s", err);
        cr_expect_eq(get16(linuxboot_setup(lb) + 0x1FA), cases[i].mode, "%s",
                     cases[i].cmdline);
        linuxboot_free(lb);
    }
}

Test(linuxboot, refuses_what_it_cannot_boot)
{
    char err[256] = "";
    cr_expect_null(load(0x1FF, 0x01, 0, RAM, err, sizeof(err)));
    cr_expect(strstr(err, "protocol 1.255") != NULL, "%s", err);
    cr_expect_null(load(0x20F, 0x00, 0, RAM, err, sizeof(err)));
    cr_expect(strstr(err, "LOADED_HIGH") != NULL, "%s", err);
    /* the initrd must stay above the kernel's decompression area (3 MiB) */
    cr_expect_null(load(0x20F, 0x01, 0x600000, RAM, err, sizeof(err)));
    cr_expect(strstr(err, "too large") != NULL, "%s", err);
    cr_expect_null(load(0x20F, 0x01, 0, 2u << 20, err, sizeof(err)));
    cr_expect(strstr(err, "does not fit") || strstr(err, "at least"), "%s", err);
    struct linuxboot *lb = load(0x20F, 0x01, 0x400000, RAM, err, sizeof(err));
    cr_expect_not_null(lb, "%s", err);
    linuxboot_free(lb);
    cr_expect_null(linuxboot_new("/nonexistent/bzImage", NULL, "", RAM, err, sizeof(err)));
    cr_expect(strstr(err, "cannot open kernel") != NULL, "%s", err);
    /* neither a bzImage nor a Multiboot kernel */
    char path[32];
    static uint8_t junk[16384];
    memset(junk, 0x90, sizeof(junk));
    write_tmp(path, junk, sizeof(junk));
    cr_expect_null(linuxboot_new(path, NULL, "", RAM, err, sizeof(err)));
    cr_expect(strstr(err, "neither a Linux bzImage") != NULL, "%s", err);
    unlink(path);
    /* a command line longer than cmdline_size */
    char *longcmd = malloc(3000);
    memset(longcmd, 'x', 2999);
    longcmd[2999] = '\0';
    cr_expect_null(load_cmd(0x20F, 0x01, 0, RAM, longcmd, err, sizeof(err)));
    cr_expect(strstr(err, "2999 bytes; this kernel takes 2047") != NULL, "%s", err);
    free(longcmd);
}

Test(linuxboot, option_rom_header_and_checksums)
{
    size_t size;
    uint8_t *rom = linuxboot_rom_image(&size);
    cr_assert_not_null(rom);
    cr_expect_eq(rom[0], 0x55);
    cr_expect_eq(rom[1], 0xAA);
    cr_expect_eq(size % 512, 0u);
    cr_expect_eq(rom[2] * 512u, size);
    uint8_t sum = 0;
    for (size_t i = 0; i < size; i++) {
        sum = (uint8_t)(sum + rom[i]);
    }
    cr_expect_eq(sum, 0, "the whole image sums to 0");
    uint16_t pnp = get16(rom + 0x1A);
    cr_assert_lt(pnp + 32u, size);
    cr_expect_eq(memcmp(rom + pnp, "$PnP", 4), 0);
    sum = 0;
    for (unsigned i = 0; i < rom[pnp + 5] * 16u; i++) {
        sum = (uint8_t)(sum + rom[pnp + i]);
    }
    cr_expect_eq(sum, 0, "the PnP header sums to 0");
    uint16_t bev = get16(rom + pnp + 0x1A), product = get16(rom + pnp + 0x10);
    cr_expect(bev > pnp && bev < size);
    cr_expect_eq(get16(rom + pnp + 0x16), 0, "a BEV device, no BCV");
    cr_expect_str_eq((const char *)rom + product, "kasou kernel loader");
    free(rom);
}

Test(linuxboot, fw_cfg_items_and_bootorder)
{
    char err[256] = "";
    struct bus *bus = bus_new(1 << 20);
    struct fw_cfg *fw = fw_cfg_new(bus);
    fw_cfg_add_file(fw, "bootorder", "/pci@i0cf8/ide@1,1/drive@0/disk@0\n", 35);
    struct linuxboot *lb = load(0x20F, 0x01, 0x3000, RAM, err, sizeof(err));
    cr_assert_not_null(lb, "%s", err);
    cr_assert_eq(linuxboot_install(lb, fw, err, sizeof(err)), 0, "%s", err);
    const struct linuxboot_layout *l = linuxboot_layout(lb);
    cr_expect_eq(cfg_u32(bus, fw, FW_CFG_SETUP_ADDR), 0x10000u);
    cr_expect_eq(cfg_u32(bus, fw, FW_CFG_SETUP_SIZE), PM_OFFSET);
    cr_expect_eq(cfg_u32(bus, fw, FW_CFG_KERNEL_ADDR), 0x100000u);
    cr_expect_eq(cfg_u32(bus, fw, FW_CFG_KERNEL_SIZE), sizeof(payload));
    cr_expect_eq(cfg_u32(bus, fw, FW_CFG_INITRD_ADDR), l->initrd_addr);
    cr_expect_eq(cfg_u32(bus, fw, FW_CFG_INITRD_SIZE), 0x3000u);
    cr_expect_eq(cfg_u32(bus, fw, FW_CFG_CMDLINE_ADDR), 0x20000u);
    cr_expect_eq(cfg_u32(bus, fw, FW_CFG_CMDLINE_SIZE), sizeof("console=ttyS0"));
    uint8_t buf[PM_OFFSET];
    cr_expect_eq(cfg_read(bus, fw, FW_CFG_SETUP_DATA, buf, sizeof(buf)), PM_OFFSET);
    cr_expect_eq(memcmp(buf, linuxboot_setup(lb), PM_OFFSET), 0);
    cr_expect_eq(buf[0x210], 0xB0);
    cr_expect_eq(cfg_read(bus, fw, FW_CFG_KERNEL_DATA, buf, sizeof(buf)), sizeof(payload));
    cr_expect_eq(memcmp(buf, payload, sizeof(payload)), 0);
    cr_expect_eq(cfg_read(bus, fw, FW_CFG_CMDLINE_DATA, buf, sizeof(buf)),
                 sizeof("console=ttyS0"));
    cr_expect_str_eq((const char *)buf, "console=ttyS0");
    cr_expect_eq(cfg_read(bus, fw, FW_CFG_INITRD_DATA, buf, sizeof(buf)), 0x3000u);
    cr_expect_eq(buf[0], 0xA5);
    /* the ROM as a file, first in the boot order; the old lines follow */
    int key = cfg_file(fw, LINUXBOOT_ROM_FILE);
    cr_assert_gt(key, 0);
    cr_expect_eq(cfg_read(bus, fw, (uint16_t)key, buf, 2), linuxboot_rom_size);
    cr_expect_eq(buf[0], 0x55);
    key = cfg_file(fw, "bootorder");
    cr_assert_gt(key, 0);
    char order[128] = "";
    cfg_read(bus, fw, (uint16_t)key, (uint8_t *)order, sizeof(order) - 1);
    cr_expect_str_eq(order, "/rom@genroms/linuxboot.bin\n/pci@i0cf8/ide@1,1/drive@0/disk@0\n");
    /* installing again (same kernel) does not repeat the line */
    cr_assert_eq(linuxboot_install(lb, fw, err, sizeof(err)), 0, "%s", err);
    memset(order, 0, sizeof(order));
    cfg_read(bus, fw, (uint16_t)key, (uint8_t *)order, sizeof(order) - 1);
    cr_expect_str_eq(order, "/rom@genroms/linuxboot.bin\n/pci@i0cf8/ide@1,1/drive@0/disk@0\n");
    linuxboot_free(lb);
    fw_cfg_free(fw);
    bus_free(bus);
}

/*
 * Run the option ROM's boot entry in real mode, as SeaBIOS calls it: at
 * ROM_SEG with its own stack; INT 10h just returns.  Stops when CS
 * reaches `stop_cs` (real mode) or, with stop_cs 0, when protected-mode
 * code reaches stop_eip; false if it never does.
 */
bool run_rom(struct bus *bus, struct cpu *cpu, uint16_t stop_cs, uint32_t stop_eip);

bool run_rom(struct bus *bus, struct cpu *cpu, uint16_t stop_cs, uint32_t stop_eip)
{
    size_t size;
    uint8_t *rom = linuxboot_rom_image(&size);
    memcpy(bus->ram + ROM_SEG * 16u, rom, size);
    uint16_t bev = get16(rom + get16(rom + 0x1A) + 0x1A);
    free(rom);
    bus->ram[0x500] = 0xCF; /* INT 10h: IRET */
    put32(bus->ram + 0x10 * 4, 0x500);
    bus->ram[0x510] = 0xF9; /* INT 15h: STC; RETF 2 (no E820) */
    bus->ram[0x511] = 0xCA;
    bus->ram[0x512] = 0x02;
    bus->ram[0x513] = 0x00;
    put32(bus->ram + 0x15 * 4, 0x510);
    for (int s = 0; s < 6; s++) {
        cpu_load_seg_real(cpu, s, 0);
    }
    cpu_load_seg_real(cpu, S_CS, ROM_SEG);
    cpu->eip = bev;
    cpu->r[R_ESP] = 0x7000;
    for (int i = 0; i < 200000; i++) {
        cpu_run(cpu, 1);
        bool pm = cpu->cr0 & CR0_PE;
        if (stop_cs ? !pm && cpu->seg[S_CS].sel == stop_cs
                    : pm && cpu->eip == stop_eip && cpu->seg[S_CS].sel == 0x08) {
            return true;
        }
    }
    return false;
}

Test(linuxboot, option_rom_loads_linux_and_enters_setup)
{
    char err[256] = "";
    struct bus *bus = bus_new(RAM);
    struct cpu *cpu = calloc(1, sizeof(*cpu));
    cpu_init(cpu, bus);
    struct fw_cfg *fw = fw_cfg_new(bus);
    struct linuxboot *lb = load(0x20F, 0x01, 0x3000, RAM, err, sizeof(err));
    cr_assert_not_null(lb, "%s", err);
    cr_assert_eq(linuxboot_install(lb, fw, err, sizeof(err)), 0, "%s", err);
    const struct linuxboot_layout *l = linuxboot_layout(lb);
    cr_assert(run_rom(bus, cpu, 0x1020, 0), "the ROM never jumped to 1020:0000");
    /* the 16-bit boot protocol's entry state */
    cr_expect_eq(cpu->eip, 0u);
    cr_expect_eq(cpu->seg[S_DS].sel, 0x1000);
    cr_expect_eq(cpu->seg[S_ES].sel, 0x1000);
    cr_expect_eq(cpu->seg[S_FS].sel, 0x1000);
    cr_expect_eq(cpu->seg[S_GS].sel, 0x1000);
    cr_expect_eq(cpu->seg[S_SS].sel, 0x1000);
    cr_expect_eq(cpu->r[R_ESP] & 0xFFFF, 0u, "stack at the top of the setup segment");
    cr_expect_eq(cpu->eflags & F_IF, 0u);
    /* everything in place */
    cr_expect_eq(memcmp(bus->ram + 0x10000, linuxboot_setup(lb), PM_OFFSET), 0);
    cr_expect_eq(memcmp(bus->ram + 0x100000, payload, sizeof(payload)), 0);
    cr_expect_str_eq((const char *)bus->ram + 0x20000, "console=ttyS0");
    cr_expect_eq(bus->ram[l->initrd_addr], 0xA5);
    cr_expect_eq(bus->ram[l->initrd_addr + 0x2FFF], 0xA5);
    cr_expect_eq(bus->ram[l->initrd_addr + 0x3000], 0);
    linuxboot_free(lb);
    fw_cfg_free(fw);
    free(cpu);
    bus_free(bus);
}

Test(linuxboot, option_rom_returns_to_the_bios_without_fw_cfg)
{
    struct bus *bus = bus_new(RAM);
    struct cpu *cpu = calloc(1, sizeof(*cpu));
    cpu_init(cpu, bus);
    /* the caller's far return address on the stack: 0000:0600 (HLT) */
    bus->ram[0x600] = 0xF4;
    put32(bus->ram + 0x7000 - 4, 0x00000600);
    cpu->r[R_ESP] = 0x7000 - 4;
    size_t size;
    uint8_t *rom = linuxboot_rom_image(&size);
    memcpy(bus->ram + ROM_SEG * 16u, rom, size);
    uint16_t bev = get16(rom + get16(rom + 0x1A) + 0x1A);
    free(rom);
    bus->ram[0x500] = 0xCF;
    put32(bus->ram + 0x10 * 4, 0x500);
    for (int s = 0; s < 6; s++) {
        cpu_load_seg_real(cpu, s, 0);
    }
    cpu_load_seg_real(cpu, S_CS, ROM_SEG);
    cpu->eip = bev;
    for (int i = 0; i < 100000 && !cpu->halted; i++) {
        cpu_run(cpu, 1);
    }
    cr_expect(cpu->halted);
    cr_expect_eq(cpu->seg[S_CS].sel, 0);
    cr_expect_eq(cpu->eip, 0x601u);
    cr_expect_eq(cpu->r[R_ESP], 0x7000u, "the caller's stack is balanced");
    free(cpu);
    bus_free(bus);
}
