/*
 * Direct Linux boot (hw/linuxboot.c): a synthetic bzImage is loaded and
 * the zero page, the memory layout and the 32-bit boot protocol's CPU
 * state are checked against Documentation/arch/x86/boot.rst; the images
 * kasou must refuse are refused with a message.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/cpu.h"
#include "hw/bus.h"
#include "hw/linuxboot.h"

#define RAM (8u << 20)
#define SETUP_SECTS 7 /* the protected-mode part starts at 8 * 512 */
#define PM_OFFSET ((SETUP_SECTS + 1) * 512)

/* mov eax, [esi + 0x228] (cmd_line_ptr); mov ebx, [eax]; hlt */
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

/* A bzImage of protocol `version` with the payload; returns its size. */
static size_t make_image(uint8_t *img, uint16_t version, uint8_t loadflags)
{
    size_t size = PM_OFFSET + sizeof(payload);
    memset(img, 0, size);
    img[0x1F1] = SETUP_SECTS;
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

static struct linuxboot *load(uint16_t version, uint8_t loadflags, size_t initrd_len, uint32_t ram,
                              char *err, size_t errlen)
{
    static uint8_t img[PM_OFFSET + sizeof(payload)];
    char kpath[32], ipath[32];
    write_tmp(kpath, img, make_image(img, version, loadflags));
    uint8_t *initrd = malloc(initrd_len + 1);
    memset(initrd, 0xA5, initrd_len);
    write_tmp(ipath, initrd, initrd_len);
    struct linuxboot *lb =
        linuxboot_new(kpath, initrd_len ? ipath : NULL, "console=ttyS0", ram, 0x20000, err, errlen);
    unlink(kpath);
    unlink(ipath);
    free(initrd);
    return lb;
}

Test(linuxboot, zero_page_and_entry_state)
{
    char err[256] = "";
    struct bus *bus = bus_new(RAM);
    struct cpu *cpu = calloc(1, sizeof(*cpu));
    cpu_init(cpu, bus);
    struct linuxboot *lb = load(0x20F, 0x01, 0x3000, RAM, err, sizeof(err));
    cr_assert_not_null(lb, "%s", err);
    linuxboot_start(lb, bus, cpu);
    const uint8_t *zp = bus->ram + cpu->r[R_ESI];
    /* protected mode, flat __BOOT_CS / __BOOT_DS, interrupts off */
    cr_expect(cpu->cr0 & CR0_PE);
    cr_expect_eq(cpu->cr0 & CR0_PG, 0);
    cr_expect_eq(cpu->eip, 0x100000u);
    cr_expect_eq(cpu->seg[S_CS].sel, 0x10);
    cr_expect(cpu->seg[S_CS].ar & AR_DB);
    cr_expect_eq(cpu->seg[S_CS].limit, 0xFFFFFFFFu);
    cr_expect_eq(cpu->seg[S_DS].sel, 0x18);
    cr_expect_eq(cpu->seg[S_SS].sel, 0x18);
    cr_expect_eq(cpu->seg[S_ES].base, 0);
    cr_expect_eq(cpu->eflags & F_IF, 0);
    cr_expect_eq(cpu->r[R_EBX] | cpu->r[R_EBP] | cpu->r[R_EDI], 0);
    /* the setup header copied in, and the loader's fields */
    cr_expect_eq(memcmp(zp + 0x202, "HdrS", 4), 0);
    cr_expect_eq(zp[0x1F1], SETUP_SECTS);
    cr_expect_eq(zp[0x210], 0xFF);
    cr_expect_str_eq((const char *)bus->ram + get32(zp + 0x228), "console=ttyS0");
    uint32_t rd = get32(zp + 0x218);
    cr_expect_eq(get32(zp + 0x21C), 0x3000u);
    cr_expect_eq(rd, RAM - 0x3000u);
    cr_expect_eq(bus->ram[rd], 0xA5);
    cr_expect_eq(bus->ram[rd + 0x2FFF], 0xA5);
    /* e820: low RAM, EBDA, BIOS, high RAM, the ROM below 4 GiB */
    cr_expect_eq(zp[0x1E8], 5);
    cr_expect_eq(get32(zp + 0x2D0 + 8), 0x9FC00u);
    cr_expect_eq(get32(zp + 0x2D0 + 16), 1u);
    cr_expect_eq(get32(zp + 0x2D0 + 20 * 3), 0x100000u);
    cr_expect_eq(get32(zp + 0x2D0 + 20 * 3 + 8), RAM - 0x100000u);
    cr_expect_eq(get32(zp + 0x2D0 + 20 * 4), 0xFFFE0000u);
    cr_expect_eq(get32(zp + 0x2D0 + 20 * 4 + 16), 2u);
    /* no VGA text console: screen_info has no rows or columns */
    cr_expect_eq(zp[0x07] | zp[0x0E], 0);
    /* the kernel runs with the flat segments: it reads the command line */
    cpu_run(cpu, 3);
    cr_expect_eq(cpu->r[R_EAX], get32(zp + 0x228));
    cr_expect_eq(cpu->r[R_EBX], get32((const uint8_t *)"cons"));
    cr_expect(cpu->halted);
    linuxboot_free(lb);
    free(cpu);
    bus_free(bus);
}

Test(linuxboot, refuses_what_it_cannot_boot)
{
    char err[256] = "";
    cr_expect_null(load(0x203, 0x01, 0, RAM, err, sizeof(err)));
    cr_expect(strstr(err, "2.04") != NULL, "%s", err);
    cr_expect_null(load(0x20F, 0x00, 0, RAM, err, sizeof(err)));
    cr_expect(strstr(err, "LOADED_HIGH") != NULL, "%s", err);
    /* the initrd must stay above the kernel's decompression area (3 MiB) */
    cr_expect_null(load(0x20F, 0x01, 0x600000, RAM, err, sizeof(err)));
    cr_expect(strstr(err, "too large") != NULL, "%s", err);
    cr_expect_null(load(0x20F, 0x01, 0, 2u << 20, err, sizeof(err)));
    cr_expect(strstr(err, "at least 3 MiB") != NULL, "%s", err);
    struct linuxboot *lb = load(0x20F, 0x01, 0x500000, RAM, err, sizeof(err));
    cr_expect_not_null(lb, "%s", err);
    linuxboot_free(lb);
    cr_expect_null(linuxboot_new("/nonexistent/bzImage", NULL, "", RAM, 0, err, sizeof(err)));
    cr_expect(strstr(err, "cannot open kernel") != NULL, "%s", err);
}
