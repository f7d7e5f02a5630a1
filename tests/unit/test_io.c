/*
 * Port I/O: IN/OUT in their immediate and DX forms, INS/OUTS with REP,
 * and the protected-mode permission check (IOPL and the TSS bitmap).
 */
#include <setjmp.h>

#include <criterion/criterion.h>

#include "cpu/insn.h"
#include "cpu/mem.h"
#include "cpu/ops.h"
#include "machine.h"

#define CODE 0x1000u

/* A test device: records writes, returns a counter on reads. */
struct dev {
    uint32_t last_off, last_val;
    int last_size, writes;
    uint32_t next_read;
    uint8_t log[64];
    int nlog;
};

static uint32_t dev_read(void *opaque, uint32_t off, int size)
{
    struct dev *d = opaque;
    (void)off;
    (void)size;
    return d->next_read++;
}

static void dev_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct dev *d = opaque;
    d->last_off = off;
    d->last_val = val;
    d->last_size = size;
    d->writes++;
    if (d->nlog < (int)sizeof(d->log)) {
        d->log[d->nlog++] = (uint8_t)val;
    }
}

static const struct io_ops dev_ops = { dev_read, dev_write, 1 | 2 | 4 };

Test(io, out_imm_and_dx_forms)
{
    struct tm t = tm_new();
    struct dev d = { 0 };
    bus_map_ports(t.bus, 0x300, 8, &dev_ops, &d);
    t.cpu->r[R_EAX] = 0x12345678;
    t.cpu->r[R_EDX] = 0x304;
    const uint8_t code[] = { 0xE6, 0x00,  /* out 0,al: nobody listens */
                             0xEF,        /* out dx,ax */
                             0x66, 0xEF,  /* out dx,eax */
                             0xEE };      /* out dx,al */
    memcpy(tm_ram(&t, CODE), code, sizeof(code));
    cpu_run(t.cpu, 2);
    cr_expect_eq(d.writes, 1);
    cr_expect_eq(d.last_off, 4);
    cr_expect_eq(d.last_val, 0x5678);
    cr_expect_eq(d.last_size, 2);
    cpu_run(t.cpu, 1);
    cr_expect_eq(d.last_val, 0x12345678);
    cr_expect_eq(d.last_size, 4);
    cpu_run(t.cpu, 1);
    cr_expect_eq(d.last_val, 0x78);
    cr_expect_eq(d.last_size, 1);
    tm_free(&t);
}

Test(io, in_forms_and_unclaimed_ports)
{
    struct tm t = tm_new();
    struct dev d = { .next_read = 0xA1B2C3D4 };
    bus_map_ports(t.bus, 0x40, 4, &dev_ops, &d);
    t.cpu->r[R_EAX] = 0x11223344;
    t.cpu->r[R_EDX] = 0x9999;
    const uint8_t code[] = { 0xE4, 0x41,  /* in al,41h */
                             0xED,        /* in ax,dx (unclaimed) */
                             0x66, 0xE5, 0x40 }; /* in eax,40h */
    memcpy(tm_ram(&t, CODE), code, sizeof(code));
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->r[R_EAX], 0x112233D4);
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->r[R_EAX], 0x1122FFFF);
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->r[R_EAX], 0xA1B2C3D5);
    tm_free(&t);
}

Test(io, rep_insw_fills_memory_in_order)
{
    struct tm t = tm_new();
    struct dev d = { .next_read = 0x100 };
    bus_map_ports(t.bus, 0x1F0, 8, &dev_ops, &d);
    cpu_load_seg_real(t.cpu, S_ES, 0x0300);
    t.cpu->r[R_EDX] = 0x1F0;
    t.cpu->r[R_EDI] = 0x10;
    t.cpu->r[R_ECX] = 256;
    const uint8_t code[] = { 0xF3, 0x6D };   /* rep insw */
    tm_run(&t, code, sizeof(code), 1);
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t v = ld_le(tm_ram(&t, 0x3010 + 2 * i), 2);
        cr_assert_eq(v, 0x100 + i, "word %u", i);
    }
    cr_expect_eq(ld_le(tm_ram(&t, 0x3210), 2), 0);
    cr_expect_eq(t.cpu->r[R_EDI], 0x210);
    cr_expect_eq(t.cpu->r[R_ECX], 0);
    tm_free(&t);
}

Test(io, rep_insb_backward)
{
    struct tm t = tm_new();
    struct dev d = { .next_read = 1 };
    bus_map_ports(t.bus, 0x60, 1, &dev_ops, &d);
    t.cpu->r[R_EDX] = 0x60;
    t.cpu->r[R_EDI] = 0x2003;
    t.cpu->r[R_ECX] = 4;
    const uint8_t code[] = { 0xFD, 0xF3, 0x6C };   /* std; rep insb */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect_eq(memcmp(tm_ram(&t, 0x2000), "\x04\x03\x02\x01", 4), 0);
    cr_expect_eq(t.cpu->r[R_EDI], 0x1FFF);
    tm_free(&t);
}

Test(io, rep_outsb_with_override)
{
    struct tm t = tm_new();
    struct dev d = { 0 };
    bus_map_ports(t.bus, 0x3F8, 1, &dev_ops, &d);
    cpu_load_seg_real(t.cpu, S_FS, 0x0400);
    memcpy(tm_ram(&t, 0x4000), "kasou", 5);
    t.cpu->r[R_EDX] = 0x3F8;
    t.cpu->r[R_ESI] = 0;
    t.cpu->r[R_ECX] = 5;
    const uint8_t code[] = { 0x64, 0xF3, 0x6E };   /* rep outsb fs:[si] */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(d.nlog, 5);
    cr_expect_eq(memcmp(d.log, "kasou", 5), 0);
    cr_expect_eq(t.cpu->r[R_ESI], 5);
    tm_free(&t);
}

/* --- the permission check --- */

#define TSS 0x30000u
#define IOMAP 0x68u

/* Protected mode at CPL 3, IOPL 0, a 32-bit TSS whose bitmap covers 64 ports. */
static void pm_user(struct tm *t)
{
    struct cpu *c = t->cpu;
    c->cr0 |= CR0_PE;
    c->cpl = 3;
    c->eflags &= ~F_IOPL;
    c->tr.base = TSS;
    c->tr.ar = AR_P | (9u << 8);
    c->tr.limit = IOMAP + 8;       /* 8 bitmap bytes + the trailing one */
    st_le(tm_ram(t, TSS + 0x66), IOMAP, 2);
    memset(tm_ram(t, TSS + IOMAP), 0xFF, 9);
}

/* Run io_check, catching a fault: returns the vector or -1. */
static int check(struct cpu *cpu, uint16_t port, int size)
{
    TM_CATCH(cpu);
    io_check(cpu, port, size);
    return -1;
}

Test(io, real_mode_and_cpl_within_iopl_are_open)
{
    struct tm t = tm_new();
    cr_expect_eq(check(t.cpu, 0x80, 1), -1);
    pm_user(&t);
    t.cpu->tr.ar = 0;   /* no TSS at all: not consulted */
    t.cpu->eflags |= F_IOPL;
    cr_expect_eq(check(t.cpu, 0x80, 4), -1);
    t.cpu->cpl = 0;
    t.cpu->eflags &= ~F_IOPL;
    cr_expect_eq(check(t.cpu, 0x80, 4), -1);
    tm_free(&t);
}

Test(io, bitmap_bits_decide)
{
    struct tm t = tm_new();
    pm_user(&t);
    tm_ram(&t, TSS + IOMAP)[2] = 0xF0;   /* ports 10h-13h open */
    cr_expect_eq(check(t.cpu, 0x10, 1), -1);
    cr_expect_eq(check(t.cpu, 0x10, 4), -1);
    cr_expect_eq(check(t.cpu, 0x11, 4), EX_GP, "port 14h is closed");
    cr_expect_eq(t.cpu->exc_err, 0);
    cr_expect_eq(check(t.cpu, 0x14, 1), EX_GP);
    tm_free(&t);
}

/* A word at port 7 needs the bits of ports 7 and 8, in two bytes. */
Test(io, access_across_a_bitmap_byte)
{
    struct tm t = tm_new();
    pm_user(&t);
    tm_ram(&t, TSS + IOMAP)[0] = 0x7F;
    cr_expect_eq(check(t.cpu, 7, 1), -1);
    cr_expect_eq(check(t.cpu, 7, 2), EX_GP);
    tm_ram(&t, TSS + IOMAP)[1] = 0xFE;
    cr_expect_eq(check(t.cpu, 7, 2), -1);
    tm_free(&t);
}

/* Both bytes read must lie inside the TSS limit. */
Test(io, bitmap_beyond_limit_faults)
{
    struct tm t = tm_new();
    pm_user(&t);
    memset(tm_ram(&t, TSS + IOMAP), 0, 9);
    cr_expect_eq(check(t.cpu, 63, 1), -1, "bytes 7 and 8 are inside");
    cr_expect_eq(check(t.cpu, 64, 1), EX_GP, "bytes 8 and 9: 9 is outside");
    t.cpu->tr.limit = IOMAP + 7;
    cr_expect_eq(check(t.cpu, 63, 1), EX_GP);
    cr_expect_eq(check(t.cpu, 56, 1), EX_GP);
    cr_expect_eq(check(t.cpu, 55, 1), -1);
    tm_free(&t);
}

Test(io, tss16_and_short_tss_fault)
{
    struct tm t = tm_new();
    pm_user(&t);
    memset(tm_ram(&t, TSS + IOMAP), 0, 9);
    cr_expect_eq(check(t.cpu, 0, 1), -1);
    t.cpu->tr.ar = AR_P | (3u << 8);   /* busy 16-bit TSS */
    cr_expect_eq(check(t.cpu, 0, 1), EX_GP);
    t.cpu->tr.ar = AR_P | (11u << 8);
    t.cpu->tr.limit = 0x66;
    cr_expect_eq(check(t.cpu, 0, 1), EX_GP);
    tm_free(&t);
}

/* V86 mode consults the bitmap even with IOPL 3. */
Test(io, v86_uses_bitmap_whatever_iopl)
{
    struct tm t = tm_new();
    pm_user(&t);
    t.cpu->eflags |= F_VM | F_IOPL;
    cr_expect_eq(check(t.cpu, 0x20, 1), EX_GP);
    tm_ram(&t, TSS + IOMAP)[4] = 0xFE;
    cr_expect_eq(check(t.cpu, 0x20, 1), -1);
    tm_free(&t);
}

/* A refused IN changes nothing. */
Test(io, refused_in_leaves_eax)
{
    struct tm t = tm_new();
    struct dev d = { .next_read = 0x55 };
    bus_map_ports(t.bus, 0x20, 2, &dev_ops, &d);
    pm_user(&t);
    t.cpu->r[R_EAX] = 0xCAFE;
    struct insn in;
    const uint8_t code[] = { 0xE4, 0x20 };
    cr_assert_eq(insn_decode_buf(&in, code, sizeof(code), 0), 2);
    t.cpu->exc_vec = -1;
    if (!setjmp(t.cpu->jmp)) {
        in.op->fn(t.cpu, &in);
    }
    cr_expect_eq(t.cpu->exc_vec, EX_GP);
    cr_expect_eq(t.cpu->r[R_EAX], 0xCAFE);
    cr_expect_eq(d.next_read, 0x55, "the device was not read");
    tm_free(&t);
}
