/*
 * System instructions: descriptor-table registers, selector tests, control
 * and debug registers, IOPL-guarded flag instructions, CPUID, MSRs,
 * SYSENTER/SYSEXIT and debug breakpoints.  Protected mode is set up by
 * hand: a GDT in RAM and segment caches loaded from it.
 */
#include <criterion/criterion.h>

#include "cpu/insn.h"
#include "cpu/mem.h"
#include "pm.h"

static const uint32_t gdt_init[][2] = {
    { 0, 0 },
    { 0x0000FFFF, 0x00CF9B00 },  /* 0x08 ring-0 code, flat 32-bit */
    { 0x0000FFFF, 0x00CF9300 },  /* 0x10 ring-0 data */
    { 0x0000FFFF, 0x00CFFB00 },  /* 0x18 ring-3 code */
    { 0x0000FFFF, 0x00CFF300 },  /* 0x20 ring-3 data */
    { 0x00000067, 0x00008902 },  /* 0x28 32-bit TSS at 0x20000, available */
    { 0x100000FF, 0x00008202 },  /* 0x30 LDT at 0x21000, limit 0xFF */
    { 0x00081234, 0x0000EC00 },  /* 0x38 call gate, DPL 3 */
    { 0x00081234, 0x00008E00 },  /* 0x40 32-bit interrupt gate */
    { 0x00000FFF, 0x00409800 },  /* 0x48 execute-only code, limit 0xFFF */
    { 0x0000FFFF, 0x00409100 },  /* 0x50 read-only data */
    { 0x00000FFF, 0x00009700 },  /* 0x58 expand-down data, 16-bit, limit 0xFFF */
    { 0x00000067, 0x00000902 },  /* 0x60 TSS, not present */
    { 0x0000FFFF, 0x00CF9F00 },  /* 0x68 conforming readable code, DPL 0 */
};
#define NDESC (sizeof(gdt_init) / sizeof(gdt_init[0]))

/* Flat protected mode at `cpl`, code at 0x1000, stack at 0x8000. */
static void pm_setup(struct tm *t, int cpl)
{
    struct cpu *cpu = t->cpu;
    for (unsigned i = 0; i < NDESC; i++) {
        memcpy(t->bus->ram + PM_GDT + 8 * i, gdt_init[i], 8);
    }
    cpu->gdtr.base = PM_GDT;
    cpu->gdtr.limit = (uint16_t)(8 * NDESC - 1);
    cpu->cr0 |= CR0_PE;
    cpu->cpl = (uint8_t)cpl;
    pm_load(t, &cpu->seg[S_CS], cpl ? PM_CODE3 | 3 : PM_CODE0);
    for (int s = 0; s < 6; s++) {
        if (s != S_CS) {
            pm_load(t, &cpu->seg[s], cpl ? PM_DATA3 | 3 : PM_DATA0);
        }
    }
}

/* Execute one instruction at CS:EIP, catching a fault: its vector, or -1. */
static int run_catch(struct tm *t, const void *code, size_t len)
{
    tm_copy(t, t->cpu->seg[S_CS].base + t->cpu->eip, code, len);
    return tm_exec_catch(t->cpu);
}

static bool zf(struct tm *t)
{
    return cpu_get_eflags(t->cpu) & F_ZF;
}

/* ---- reset state ---- */

Test(sys, reset_values)
{
    struct tm t = tm_new();
    cr_expect_eq(t.cpu->r[R_EDX], CPU_SIGNATURE);
    cr_expect_eq(t.cpu->cr0, 0x60000010u);
    cr_expect_eq(t.cpu->dr[6], 0xFFFF0FF0u);
    cr_expect_eq(t.cpu->dr[7], 0x400u);
    tm_free(&t);
}

/* ---- descriptor-table registers ---- */

Test(sys, sgdt_layout_by_operand_size)
{
    struct tm t = tm_new();
    t.cpu->gdtr = (struct dtr){ 0x12345678u, 0xABCD };
    const uint8_t code[] = { 0x0F, 0x01, 0x06, 0x00, 0x20,          /* sgdt [0x2000] */
                             0x66, 0x0F, 0x01, 0x0E, 0x10, 0x20 };  /* sidt [0x2010] (o32) */
    t.cpu->idtr = (struct dtr){ 0x9ABCDEF0u, 0x03FF };
    memset(t.bus->ram + 0x2000, 0xEE, 0x20);
    tm_run(&t, code, sizeof(code), 2);
    const uint8_t want16[] = { 0xCD, 0xAB, 0x78, 0x56, 0x34, 0x00, 0xEE };
    const uint8_t want32[] = { 0xFF, 0x03, 0xF0, 0xDE, 0xBC, 0x9A, 0xEE };
    cr_expect_arr_eq(t.bus->ram + 0x2000, want16, sizeof(want16));
    cr_expect_arr_eq(t.bus->ram + 0x2010, want32, sizeof(want32));
    tm_free(&t);
}

Test(sys, lgdt_lidt_base_width)
{
    struct tm t = tm_new();
    const uint8_t img[] = { 0xFF, 0x00, 0x78, 0x56, 0x34, 0x12 };
    memcpy(t.bus->ram + 0x2000, img, sizeof(img));
    const uint8_t code[] = { 0x0F, 0x01, 0x16, 0x00, 0x20,          /* lgdt [0x2000] */
                             0x66, 0x0F, 0x01, 0x1E, 0x00, 0x20 };  /* lidt [0x2000] (o32) */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect_eq(t.cpu->gdtr.base, 0x345678u);
    cr_expect_eq(t.cpu->gdtr.limit, 0xFF);
    cr_expect_eq(t.cpu->idtr.base, 0x12345678u);
    tm_free(&t);
}

Test(sys, lgdt_needs_cpl0)
{
    struct tm t = tm_new();
    pm_setup(&t, 3);
    const uint8_t code[] = { 0x0F, 0x01, 0x15, 0x00, 0x20, 0, 0 };  /* lgdt [0x2000] */
    cr_expect_eq(run_catch(&t, code, sizeof(code)), EX_GP);
    cr_expect_eq(t.cpu->exc_err, 0);
    cr_expect_eq(t.cpu->gdtr.base, PM_GDT);
    tm_free(&t);
}

Test(sys, selector_insns_ud_in_real_mode)
{
    const uint8_t forms[][3] = {
        { 0x0F, 0x00, 0xC0 },   /* sldt ax */
        { 0x0F, 0x00, 0xC8 },   /* str ax */
        { 0x0F, 0x00, 0xD0 },   /* lldt ax */
        { 0x0F, 0x00, 0xD8 },   /* ltr ax */
        { 0x0F, 0x00, 0xE0 },   /* verr ax */
        { 0x0F, 0x02, 0xC0 },   /* lar ax,ax */
        { 0x0F, 0x03, 0xC0 },   /* lsl ax,ax */
        { 0x63, 0xC0, 0x90 },   /* arpl ax,ax */
    };
    for (unsigned i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        struct tm t = tm_new();
        tm_ivt_hlt(&t, EX_UD, 0x3000);
        tm_run(&t, forms[i], 3, 2);
        cr_expect(t.cpu->halted, "form %u", i);
        cr_expect_eq(t.cpu->eip, 0x3001, "form %u", i);
        tm_free(&t);
    }
}

Test(sys, sldt_str_register_zero_extends)
{
    struct tm t = tm_new();
    pm_setup(&t, 0);
    t.cpu->tr.sel = 0x28;
    t.cpu->ldtr.sel = 0x30;
    t.cpu->r[R_EAX] = 0xFFFFFFFFu;
    t.cpu->r[R_EBX] = 0xFFFFFFFFu;
    const uint8_t code[] = { 0x0F, 0x00, 0xC8,          /* str eax */
                             0x66, 0x0F, 0x00, 0xC3 };  /* sldt bx (o16) */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect_eq(t.cpu->r[R_EAX], 0x28);
    cr_expect_eq(t.cpu->r[R_EBX], 0xFFFF0030u);
    tm_free(&t);
}

Test(sys, ltr_sets_busy_and_loads_tr)
{
    struct tm t = tm_new();
    pm_setup(&t, 0);
    t.cpu->r[R_EAX] = 0x28;
    const uint8_t code[] = { 0x0F, 0x00, 0xD8 };   /* ltr ax */
    cr_expect_eq(run_catch(&t, code, sizeof(code)), -1);
    cr_expect_eq(t.bus->ram[PM_GDT + 0x28 + 5], 0x8B);
    cr_expect_eq(t.cpu->tr.sel, 0x28);
    cr_expect_eq(t.cpu->tr.base, 0x20000u);
    cr_expect_eq(t.cpu->tr.limit, 0x67u);
    cr_expect_eq(AR_TYPE(t.cpu->tr.ar), 0xB);
    /* loading the now busy TSS again faults with its selector */
    t.cpu->eip = 0x1000;
    cr_expect_eq(run_catch(&t, code, sizeof(code)), EX_GP);
    cr_expect_eq(t.cpu->exc_err, 0x28);
    tm_free(&t);
}

Test(sys, ltr_faults)
{
    static const struct { uint16_t sel; int vec; uint32_t err; } cases[] = {
        { 0x0003, EX_GP, 0 },      /* null */
        { 0x002C, EX_GP, 0x2C },   /* TI = 1 */
        { 0x0010, EX_GP, 0x10 },   /* data segment */
        { 0x0060, EX_NP, 0x60 },   /* TSS not present */
        { 0x0800, EX_GP, 0x800 },  /* beyond the GDT limit */
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tm t = tm_new();
        pm_setup(&t, 0);
        t.cpu->r[R_EAX] = cases[i].sel;
        const uint8_t code[] = { 0x0F, 0x00, 0xD8 };
        cr_expect_eq(run_catch(&t, code, sizeof(code)), cases[i].vec, "case %u", i);
        cr_expect_eq(t.cpu->exc_err, cases[i].err, "case %u", i);
        tm_free(&t);
    }
}

Test(sys, lldt_then_lar_through_ldt)
{
    struct tm t = tm_new();
    pm_setup(&t, 0);
    /* LDT entry 1: ring-3 data, limit 0x1FFFF with G = 0 */
    tm_put(&t, 0x21008, 0x0000FFFF, 4);
    tm_put(&t, 0x2100C, 0x0041F200, 4);
    t.cpu->r[R_EAX] = 0x30;
    t.cpu->r[R_EBX] = 0x0F;   /* LDT index 1, RPL 3 */
    const uint8_t code[] = { 0x0F, 0x00, 0xD0,      /* lldt ax */
                             0x0F, 0x02, 0xCB,      /* lar ecx,ebx */
                             0x0F, 0x03, 0xD3 };    /* lsl edx,ebx */
    tm_run(&t, code, sizeof(code), 3);
    cr_expect_eq(t.cpu->ldtr.base, 0x21000u);
    cr_expect_eq(t.cpu->ldtr.limit, 0xFFu);
    cr_expect_eq(t.cpu->r[R_ECX], 0x0041F200u);
    cr_expect_eq(t.cpu->r[R_EDX], 0x1FFFFu);
    cr_expect(zf(&t));
    tm_free(&t);
}

/* LAR/LSL on one selector: returns ZF; *lar and *lsl get the results. */
static bool lar_lsl(int cpl, uint16_t sel, uint32_t *lar, uint32_t *lsl, bool *lsl_zf)
{
    struct tm t = tm_new();
    pm_setup(&t, cpl);
    t.cpu->r[R_EBX] = sel;
    t.cpu->r[R_EAX] = 0xDEADBEEFu;
    t.cpu->r[R_ECX] = 0xDEADBEEFu;
    const uint8_t code[] = { 0x0F, 0x02, 0xC3,    /* lar eax,ebx */
                             0x9C, 0x5A,          /* pushfd; pop edx */
                             0x0F, 0x03, 0xCB };  /* lsl ecx,ebx */
    tm_run(&t, code, sizeof(code), 4);
    bool z = t.cpu->r[R_EDX] & F_ZF;
    *lar = t.cpu->r[R_EAX];
    *lsl = t.cpu->r[R_ECX];
    *lsl_zf = zf(&t);
    tm_free(&t);
    return z;
}

Test(sys, lar_lsl_descriptor_types)
{
    static const struct {
        int cpl;
        uint16_t sel;
        bool lar_ok, lsl_ok;
        uint32_t lar, lsl;
    } cases[] = {
        { 0, 0x08, true, true, 0x00CF9B00, 0xFFFFFFFF },  /* code, G = 1 */
        { 0, 0x28, true, true, 0x00008900, 0x67 },        /* available 32-bit TSS */
        { 0, 0x30, true, true, 0x00008200, 0xFF },        /* LDT */
        { 0, 0x38, true, false, 0x0000EC00, 0 },          /* call gate: LAR only */
        { 0, 0x40, false, false, 0, 0 },                  /* interrupt gate: neither */
        { 0, 0x48, true, true, 0x00409800, 0xFFF },       /* execute-only code */
        { 0, 0x00, false, false, 0, 0 },                  /* null */
        { 0, 0x0400, false, false, 0, 0 },                /* beyond the limit */
        { 3, 0x10, false, false, 0, 0 },                  /* DPL 0 data at CPL 3 */
        { 3, 0x68, true, true, 0x00CF9F00, 0xFFFFFFFF },  /* conforming: no DPL check */
        { 0, 0x23, true, true, 0x00CFF300, 0xFFFFFFFF },  /* ring-3 data, RPL 3 */
        { 0, 0x13, false, false, 0, 0 },                  /* RPL 3 > DPL 0 */
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t lar, lsl;
        bool lsl_zf;
        bool lar_zf = lar_lsl(cases[i].cpl, cases[i].sel, &lar, &lsl, &lsl_zf);
        cr_expect_eq(lar_zf, cases[i].lar_ok, "case %u", i);
        cr_expect_eq(lsl_zf, cases[i].lsl_ok, "case %u", i);
        cr_expect_eq(lar, cases[i].lar_ok ? cases[i].lar : 0xDEADBEEFu, "case %u", i);
        cr_expect_eq(lsl, cases[i].lsl_ok ? cases[i].lsl : 0xDEADBEEFu, "case %u", i);
    }
}

Test(sys, lar_16bit_operand)
{
    struct tm t = tm_new();
    pm_setup(&t, 0);
    t.cpu->r[R_EBX] = 0x08;
    t.cpu->r[R_EAX] = 0xFFFFFFFFu;
    const uint8_t code[] = { 0x66, 0x0F, 0x02, 0xC3 };   /* lar ax,bx */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_EAX], 0xFFFF9B00u);
    tm_free(&t);
}

Test(sys, verr_verw)
{
    static const struct { uint16_t sel; bool r, w; } cases[] = {
        { 0x08, true, false },   /* readable code */
        { 0x10, true, true },    /* writable data */
        { 0x48, false, false },  /* execute-only code */
        { 0x50, true, false },   /* read-only data */
        { 0x28, false, false },  /* TSS */
        { 0x00, false, false },  /* null */
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tm t = tm_new();
        pm_setup(&t, 0);
        t.cpu->r[R_EBX] = cases[i].sel;
        const uint8_t code[] = { 0x0F, 0x00, 0xE3, 0x9C, 0x58,   /* verr bx; pushfd; pop eax */
                                 0x0F, 0x00, 0xEB };             /* verw bx */
        tm_run(&t, code, sizeof(code), 4);
        cr_expect_eq((bool)(t.cpu->r[R_EAX] & F_ZF), cases[i].r, "case %u", i);
        cr_expect_eq(zf(&t), cases[i].w, "case %u", i);
        tm_free(&t);
    }
}

Test(sys, arpl_adjusts_rpl)
{
    struct tm t = tm_new();
    pm_setup(&t, 0);
    t.cpu->r[R_EAX] = 0x1230;
    t.cpu->r[R_EBX] = 0x0003;
    const uint8_t code[] = { 0x63, 0xD8, 0x9C, 0x5A,   /* arpl ax,bx; pushfd; pop edx */
                             0x63, 0xD8 };             /* arpl ax,bx again */
    tm_run(&t, code, sizeof(code), 3);
    cr_expect_eq(t.cpu->r[R_EAX], 0x1233);
    cr_expect(t.cpu->r[R_EDX] & F_ZF);
    cpu_run(t.cpu, 1);
    cr_expect_not(zf(&t));
    tm_free(&t);
}

/* ---- control registers ---- */

Test(sys, mov_cr_checks)
{
    struct tm t = tm_new();
    pm_setup(&t, 0);
    const uint8_t cr1[] = { 0x0F, 0x22, 0xC8 };   /* mov cr1,eax */
    cr_expect_eq(run_catch(&t, cr1, 3), EX_UD);
    t.cpu->eip = 0x1000;
    t.cpu->r[R_EAX] = CR4_PAE;                    /* PAE: not implemented */
    const uint8_t cr4[] = { 0x0F, 0x22, 0xE0 };   /* mov cr4,eax */
    cr_expect_eq(run_catch(&t, cr4, 3), EX_GP);
    t.cpu->eip = 0x1000;
    t.cpu->r[R_EAX] = CR4_PSE | CR4_PGE | CR4_DE;
    cr_expect_eq(run_catch(&t, cr4, 3), -1);
    cr_expect_eq(t.cpu->cr4, CR4_PSE | CR4_PGE | CR4_DE);
    t.cpu->eip = 0x1000;
    t.cpu->r[R_EAX] = CR0_PG;                     /* PG without PE */
    const uint8_t cr0[] = { 0x0F, 0x22, 0xC0 };   /* mov cr0,eax */
    cr_expect_eq(run_catch(&t, cr0, 3), EX_GP);
    t.cpu->eip = 0x1000;
    t.cpu->r[R_EAX] = CR0_PE | CR0_NW;            /* NW without CD */
    cr_expect_eq(run_catch(&t, cr0, 3), EX_GP);
    t.cpu->eip = 0x1000;
    t.cpu->r[R_EAX] = CR0_PE | CR0_TS | 0x00000F00u;  /* reserved bits: ignored, ET = 1 */
    cr_expect_eq(run_catch(&t, cr0, 3), -1);
    cr_expect_eq(t.cpu->cr0, CR0_PE | CR0_TS | CR0_ET);
    t.cpu->cpl = 3;
    t.cpu->eip = 0x1000;
    const uint8_t rd[] = { 0x0F, 0x20, 0xC0 };    /* mov eax,cr0 at CPL 3 */
    cr_expect_eq(run_catch(&t, rd, 3), EX_GP);
    tm_free(&t);
}

Test(sys, smsw_lmsw_clts)
{
    struct tm t = tm_new();
    pm_setup(&t, 0);
    t.cpu->cr0 |= CR0_TS | CR0_MP;
    memset(t.bus->ram + 0x2000, 0, 8);
    const uint8_t code[] = { 0x0F, 0x01, 0x35, 0x00, 0x20, 0, 0,   /* lmsw [0x2000] (0): PE stays */
                             0x0F, 0x01, 0x25, 0x04, 0x20, 0, 0,   /* smsw [0x2004] */
                             0x0F, 0x06 };                         /* clts */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->cr0, 0x60000011u);
    t.cpu->cr0 |= CR0_TS;
    cpu_run(t.cpu, 2);
    cr_expect_eq(tm_get(&t, 0x2004, 4), 0x0019u);   /* 16 bits stored */
    cr_expect_eq(t.cpu->cr0, 0x60000011u);
    tm_free(&t);
}

/* Register forms of 0F 01 (SMSW/LMSW share the opcode with memory-only SGDT...). */
Test(sys, smsw_lmsw_register_forms)
{
    struct tm t = tm_new();
    pm_setup(&t, 0);
    t.cpu->r[R_EAX] = 0x000E;   /* MP EM TS, PE = 0: PE stays set */
    const uint8_t code[] = { 0x0F, 0x01, 0xF0,     /* lmsw ax */
                             0x0F, 0x01, 0xE3 };   /* smsw ebx */
    cr_expect_eq(run_catch(&t, code, 3), -1);
    cr_expect_eq(t.cpu->cr0, 0x6000001Fu);
    cr_expect_eq(run_catch(&t, code + 3, 3), -1);
    cr_expect_eq(t.cpu->r[R_EBX], 0x6000001Fu);   /* all of CR0, as a P6 does */
    tm_free(&t);
}

/* ---- IOPL-guarded flag instructions ---- */

Test(sys, popf_rules_at_cpl3)
{
    /* IOPL 0, CPL 3: IF and IOPL keep their values, DF/AC/ID change */
    struct tm t = tm_new();
    pm_setup(&t, 3);
    t.cpu->eflags = F_FIXED1 | F_IF;
    t.cpu->r[R_EAX] = F_DF | F_AC | F_ID | F_IOPL | F_VM | F_RF | F_VIF | F_CF;
    const uint8_t code[] = { 0x50, 0x9D };   /* push eax; popfd */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect_eq(cpu_get_eflags(t.cpu), F_FIXED1 | F_IF | F_DF | F_AC | F_ID | F_CF);
    tm_free(&t);

    /* IOPL 3, CPL 3: IF changes, IOPL still not */
    t = tm_new();
    pm_setup(&t, 3);
    t.cpu->eflags = F_FIXED1 | F_IF | F_IOPL;
    t.cpu->r[R_EAX] = 0;
    tm_run(&t, code, sizeof(code), 2);
    cr_expect_eq(cpu_get_eflags(t.cpu), F_FIXED1 | F_IOPL);
    tm_free(&t);
}

Test(sys, popf_cpl0_and_16bit)
{
    struct tm t = tm_new();
    pm_setup(&t, 0);
    t.cpu->eflags = F_FIXED1 | F_AC;
    t.cpu->r[R_EAX] = F_IOPL | F_IF | F_NT;
    const uint8_t code[] = { 0x50, 0x9D,            /* push eax; popfd */
                             0x66, 0x50, 0x66, 0x9D };  /* push ax; popf */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect_eq(cpu_get_eflags(t.cpu), F_FIXED1 | F_IOPL | F_IF | F_NT);
    /* a 16-bit POPF leaves bits 31:16 (AC here) alone */
    t.cpu->eflags |= F_AC;
    t.cpu->r[R_EAX] = 0;
    cpu_run(t.cpu, 2);
    cr_expect_eq(cpu_get_eflags(t.cpu), F_FIXED1 | F_AC);
    tm_free(&t);
}

Test(sys, pushf_popf_v86_iopl)
{
    struct tm t = tm_new();
    t.cpu->cr0 |= CR0_PE;
    t.cpu->eflags = F_FIXED1 | F_VM | F_IOPL;
    t.cpu->cpl = 3;
    for (int s = 0; s < 6; s++) {
        cpu_load_seg_real(t.cpu, s, 0);
    }
    const uint8_t code[] = { 0x66, 0x9C };   /* pushfd */
    cr_expect_eq(run_catch(&t, code, 2), -1);
    cr_expect_eq(tm_get(&t, 0x7FFC, 4), F_FIXED1 | F_IOPL);   /* VM not in the image */
    t.cpu->eflags = F_FIXED1 | F_VM;                       /* IOPL 0 */
    t.cpu->eip = 0x1000;
    cr_expect_eq(run_catch(&t, code, 2), EX_GP);
    t.cpu->eip = 0x1000;
    const uint8_t cli[] = { 0xFA };
    cr_expect_eq(run_catch(&t, cli, 1), EX_GP);
    tm_free(&t);
}

Test(sys, cli_sti_hlt_privilege)
{
    struct tm t = tm_new();
    pm_setup(&t, 3);
    t.cpu->eflags = F_FIXED1 | F_IF | (2u << 12);   /* IOPL 2 < CPL 3 */
    const uint8_t cli[] = { 0xFA }, sti[] = { 0xFB }, hlt[] = { 0xF4 };
    cr_expect_eq(run_catch(&t, cli, 1), EX_GP);
    cr_expect_eq(t.cpu->exc_err, 0);
    cr_expect_eq(run_catch(&t, hlt, 1), EX_GP);
    cr_expect_not(t.cpu->halted);
    t.cpu->eflags = F_FIXED1 | F_IOPL;
    cr_expect_eq(run_catch(&t, sti, 1), -1);
    cr_expect(t.cpu->eflags & F_IF);
    cr_expect_eq(t.cpu->inhibit_irq, 1);
    tm_free(&t);
}

/* ---- CPUID, MSRs, TSC ---- */

Test(sys, cpuid_vendor_and_signature)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0;
    const uint8_t code[] = { 0x0F, 0xA2 };
    tm_run(&t, code, sizeof(code), 1);
    char vendor[13];
    memcpy(vendor, &t.cpu->r[R_EBX], 4);
    memcpy(vendor + 4, &t.cpu->r[R_EDX], 4);
    memcpy(vendor + 8, &t.cpu->r[R_ECX], 4);
    vendor[12] = 0;
    cr_expect_str_eq(vendor, "GenuineIntel");
    cr_expect_eq(t.cpu->r[R_EAX], 2);
    t.cpu->eip = 0x1000;
    t.cpu->r[R_EAX] = 1;
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->r[R_EAX], CPU_SIGNATURE);
    cr_expect_eq((t.cpu->r[R_EAX] >> 8) & 0xF, 6);
    uint32_t f = t.cpu->r[R_EDX];
    cr_expect(f & (1u << 11));          /* SEP */
    cr_expect(f & (1u << 13));          /* PGE */
    cr_expect_not(f & (1u << 6));       /* no PAE */
    cr_expect_not(f & (1u << 1));       /* no VME */
    /* a leaf above the maximum returns leaf 2 */
    t.cpu->eip = 0x1000;
    t.cpu->r[R_EAX] = 0x80000000u;
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->r[R_EAX] & 0xFF, 1);
    tm_free(&t);
}

/* Execute rdmsr/wrmsr with ECX = msr; returns the fault vector or -1. */
static int msr_op(struct tm *t, bool write, uint32_t msr, uint64_t *v)
{
    t->cpu->eip = 0x1000;
    t->cpu->r[R_ECX] = msr;
    t->cpu->r[R_EAX] = (uint32_t)*v;
    t->cpu->r[R_EDX] = (uint32_t)(*v >> 32);
    const uint8_t code[] = { 0x0F, (uint8_t)(write ? 0x30 : 0x32) };
    int r = run_catch(t, code, 2);
    *v = (uint64_t)t->cpu->r[R_EDX] << 32 | t->cpu->r[R_EAX];
    return r;
}

Test(sys, msr_sysenter_and_faults)
{
    struct tm t = tm_new();
    uint64_t v = 0x0000000000000008ull;
    cr_expect_eq(msr_op(&t, true, 0x174, &v), -1);
    v = 0xC0001000ull;
    cr_expect_eq(msr_op(&t, true, 0x175, &v), -1);
    v = 0xC0100000ull;
    cr_expect_eq(msr_op(&t, true, 0x176, &v), -1);
    v = 0;
    cr_expect_eq(msr_op(&t, false, 0x174, &v), -1);
    cr_expect_eq(v, 8);
    cr_expect_eq(msr_op(&t, false, 0x175, &v), -1);
    cr_expect_eq(v, 0xC0001000ull);
    cr_expect_eq(msr_op(&t, false, 0x176, &v), -1);
    cr_expect_eq(v, 0xC0100000ull);
    cr_expect_eq(msr_op(&t, false, 0x277, &v), EX_GP);   /* PAT: not on a P6 */
    cr_expect_eq(msr_op(&t, false, 0xFE, &v), -1);
    cr_expect_eq(v, 0x508);
    v = 0x7;                                             /* type 7: invalid */
    cr_expect_eq(msr_op(&t, true, 0x2FF, &v), EX_GP);
    v = 0xC06;
    cr_expect_eq(msr_op(&t, true, 0x2FF, &v), -1);
    v = 0xFFFFFFFF00000000ull;                           /* TSC: P6 writes bits 31:0 */
    cr_expect_eq(msr_op(&t, true, 0x10, &v), -1);
    cr_expect_eq(msr_op(&t, false, 0x10, &v), -1);
    cr_expect_lt(v, 16);
    pm_setup(&t, 3);
    cr_expect_eq(msr_op(&t, false, 0x174, &v), EX_GP);
    tm_free(&t);
}

Test(sys, rdtsc_rdpmc_privilege)
{
    struct tm t = tm_new();
    pm_setup(&t, 3);
    const uint8_t rdtsc[] = { 0x0F, 0x31 }, rdpmc[] = { 0x0F, 0x33 };
    cr_expect_eq(run_catch(&t, rdtsc, 2), -1);
    t.cpu->cr4 |= CR4_TSD;
    t.cpu->eip = 0x1000;
    cr_expect_eq(run_catch(&t, rdtsc, 2), EX_GP);
    t.cpu->eip = 0x1000;
    t.cpu->r[R_ECX] = 0;
    cr_expect_eq(run_catch(&t, rdpmc, 2), EX_GP);   /* PCE = 0 at CPL 3 */
    t.cpu->cr4 |= CR4_PCE;
    t.cpu->eip = 0x1000;
    cr_expect_eq(run_catch(&t, rdpmc, 2), -1);
    t.cpu->eip = 0x1000;
    t.cpu->r[R_ECX] = 2;
    cr_expect_eq(run_catch(&t, rdpmc, 2), EX_GP);
    tm_free(&t);
}

Test(sys, sysenter_sysexit_segments)
{
    struct tm t = tm_new();
    pm_setup(&t, 3);
    const uint8_t sysenter[] = { 0x0F, 0x34 }, sysexit[] = { 0x0F, 0x35 };
    cr_expect_eq(run_catch(&t, sysenter, 2), EX_GP);   /* SYSENTER_CS = 0 */
    t.cpu->msr.sysenter_cs = 0x0B;   /* RPL bits are dropped */
    t.cpu->msr.sysenter_esp = 0x9000;
    t.cpu->msr.sysenter_eip = 0x4000;
    t.cpu->eflags |= F_IF;
    t.cpu->eip = 0x1000;
    cr_expect_eq(run_catch(&t, sysenter, 2), -1);
    const struct cpu *c = t.cpu;
    cr_expect_eq(c->cpl, 0);
    cr_expect_eq(c->seg[S_CS].sel, 0x08);
    cr_expect_eq(c->seg[S_CS].base, 0);
    cr_expect_eq(c->seg[S_CS].limit, 0xFFFFFFFFu);
    cr_expect_eq(c->seg[S_CS].ar, 0x00C09B00u);
    cr_expect_eq(c->seg[S_SS].sel, 0x10);
    cr_expect_eq(c->seg[S_SS].ar, 0x00C09300u);
    cr_expect_eq(c->r[R_ESP], 0x9000);
    cr_expect_eq(c->eip, 0x4000);
    cr_expect_not(c->eflags & F_IF);
    t.cpu->r[R_ECX] = 0x7000;
    t.cpu->r[R_EDX] = 0x1000;
    cr_expect_eq(run_catch(&t, sysexit, 2), -1);
    cr_expect_eq(c->cpl, 3);
    cr_expect_eq(c->seg[S_CS].sel, 0x1B);
    cr_expect_eq(c->seg[S_CS].ar, 0x00C0FB00u);
    cr_expect_eq(c->seg[S_SS].sel, 0x23);
    cr_expect_eq(c->seg[S_SS].ar, 0x00C0F300u);
    cr_expect_eq(c->r[R_ESP], 0x7000);
    cr_expect_eq(c->eip, 0x1000);
    /* SYSEXIT at CPL 3 */
    cr_expect_eq(run_catch(&t, sysexit, 2), EX_GP);
    tm_free(&t);
}

/* ---- debug registers ---- */

Test(sys, dr0_instruction_breakpoint)
{
    struct tm t = tm_new();
    tm_ivt_hlt(&t, EX_DB, 0x3000);
    t.cpu->dr[0] = 0x1001;      /* the second instruction */
    t.cpu->dr[7] = 0x401;       /* L0, execute, 1 byte */
    cpu_debug_update(t.cpu);
    const uint8_t code[] = { 0x90, 0x40, 0x40 };   /* nop; inc ax; inc ax */
    tm_run(&t, code, sizeof(code), 3);
    cr_expect_eq(t.cpu->r[R_EAX], 0);              /* the breakpoint faults first */
    cr_expect(t.cpu->halted);
    cr_expect_eq(t.cpu->dr[6] & 0xF, 1);
    cr_expect_eq(t.bus->ram[0x7FFA] | t.bus->ram[0x7FFB] << 8, 0x1001);   /* IP pushed */
    tm_free(&t);
}

Test(sys, rf_suppresses_instruction_breakpoint)
{
    struct tm t = tm_new();
    tm_ivt_hlt(&t, EX_DB, 0x3000);
    t.cpu->dr[0] = 0x1000;
    t.cpu->dr[7] = 0x002;       /* G0 */
    cpu_debug_update(t.cpu);
    t.cpu->eflags |= F_RF;
    const uint8_t code[] = { 0x40, 0x40 };
    tm_run(&t, code, sizeof(code), 2);
    cr_expect_eq(t.cpu->r[R_EAX], 2);
    cr_expect_not(t.cpu->eflags & F_RF);
    cr_expect_eq(t.cpu->dr[6] & 0xF, 0);
    tm_free(&t);
}

Test(sys, data_breakpoint_traps_after_write)
{
    struct tm t = tm_new();
    tm_ivt_hlt(&t, EX_DB, 0x3000);
    t.cpu->dr[1] = 0x2001;      /* 4-byte breakpoint: covers 0x2000-0x2003 */
    t.cpu->dr[7] = 0x400 | 0x4 | (0xDu << 20);   /* L1, R/W1 = 01 (write), LEN1 = 11 */
    cpu_debug_update(t.cpu);
    const uint8_t code[] = { 0xA0, 0x02, 0x20,     /* mov al,[0x2002]: a read, no hit */
                             0xA2, 0x03, 0x20,     /* mov [0x2003],al: hit */
                             0x40 };
    tm_run(&t, code, sizeof(code), 3);
    cr_expect(t.cpu->halted);
    cr_expect_eq(t.cpu->dr[6] & 0xF, 2);
    cr_expect_eq(t.bus->ram[0x7FFA] | t.bus->ram[0x7FFB] << 8, 0x1006);  /* a trap */
    tm_free(&t);
}

/* I/O breakpoints need CR4.DE; R/W = 10 then matches port accesses. */
Test(sys, io_breakpoint_traps_after_out)
{
    struct tm t = tm_new();
    tm_ivt_hlt(&t, EX_DB, 0x3000);
    t.cpu->dr[2] = 0x80;        /* port 0x80, 2 bytes: 0x80-0x81 */
    t.cpu->dr[7] = 0x400 | 0x10 | (0x6u << 24);   /* L2, R/W2 = 10, LEN2 = 01 */
    cpu_debug_update(t.cpu);
    const uint8_t code[] = { 0xE6, 0x7F,           /* out 0x7f,al: no hit */
                             0xE6, 0x81,           /* out 0x81,al: hit */
                             0x40 };
    /* without CR4.DE the breakpoint is not an I/O breakpoint: no trap */
    tm_run(&t, code, sizeof(code), 3);
    cr_expect_not(t.cpu->halted);
    cr_expect_eq(t.cpu->r[R_EAX] & 0xFF, 1);
    /* with CR4.DE the OUT to 0x81 traps after itself */
    t.cpu->eip = 0x1000;
    t.cpu->r[R_EAX] = 0;
    t.cpu->cr4 |= CR4_DE;
    tm_run(&t, code, sizeof(code), 3);
    cr_expect(t.cpu->halted);
    cr_expect_eq(t.cpu->r[R_EAX], 0, "the trap came before INC");
    cr_expect_eq(t.cpu->dr[6] & 0xF, 4);
    cr_expect_eq(t.bus->ram[0x7FFA] | t.bus->ram[0x7FFB] << 8, 0x1004);
    tm_free(&t);
}

Test(sys, single_step_sets_bs)
{
    struct tm t = tm_new();
    tm_ivt_hlt(&t, EX_DB, 0x3000);
    t.cpu->eflags |= F_TF;
    const uint8_t code[] = { 0x40, 0x40 };
    tm_run(&t, code, sizeof(code), 2);
    cr_expect_eq(t.cpu->r[R_EAX], 1);
    cr_expect(t.cpu->dr[6] & DR6_BS);
    cr_expect_eq(t.bus->ram[0x7FFA] | t.bus->ram[0x7FFB] << 8, 0x1001);
    tm_free(&t);
}

Test(sys, mov_dr_general_detect_and_aliases)
{
    struct tm t = tm_new();
    const uint8_t rd4[] = { 0x0F, 0x21, 0xE0 };   /* mov eax,dr4 */
    cr_expect_eq(run_catch(&t, rd4, 3), -1);
    cr_expect_eq(t.cpu->r[R_EAX], 0xFFFF0FF0u);   /* DR6 */
    t.cpu->cr4 |= CR4_DE;
    t.cpu->eip = 0x1000;
    cr_expect_eq(run_catch(&t, rd4, 3), EX_UD);
    t.cpu->dr[7] |= DR7_GD;
    t.cpu->eip = 0x1000;
    const uint8_t rd0[] = { 0x0F, 0x21, 0xC0 };   /* mov eax,dr0 */
    cr_expect_eq(run_catch(&t, rd0, 3), EX_DB);
    cr_expect(t.cpu->dr[6] & DR6_BD);
    cr_expect_not(t.cpu->dr[7] & DR7_GD);
    t.cpu->eip = 0x1000;
    t.cpu->r[R_EAX] = 0;
    const uint8_t wr6[] = { 0x0F, 0x23, 0xF0 };   /* mov dr6,eax */
    cr_expect_eq(run_catch(&t, wr6, 3), -1);
    cr_expect_eq(t.cpu->dr[6], 0xFFFF0FF0u);
    tm_free(&t);
}

/* ---- paging seen from an instruction ---- */

Test(sys, user_store_to_readonly_page_faults)
{
    struct tm t = tm_new();
    pm_setup(&t, 3);
    for (uint32_t i = 0; i < 256; i++) {
        tm_put(&t, 0x31000 + 4 * i, (i << 12) | 7, 4);   /* user, writable */
    }
    tm_put(&t, 0x31000 + 4 * 5, 0x5000 | 5, 4);          /* page 5: user, read-only */
    tm_put(&t, 0x30000, 0x31000 | 7, 4);
    t.cpu->cr3 = 0x30000;
    t.cpu->cr0 |= CR0_PG | CR0_WP;
    mmu_flush(t.cpu, false);
    t.cpu->r[R_EAX] = 0x12345678u;
    const uint8_t code[] = { 0xA3, 0x04, 0x50, 0x00, 0x00 };   /* mov [0x5004],eax */
    cr_expect_eq(run_catch(&t, code, sizeof(code)), EX_PF);
    cr_expect_eq(t.cpu->exc_err, 7);   /* present, write, user */
    cr_expect_eq(t.cpu->cr2, 0x5004u);
    cr_expect_eq(tm_get(&t, 0x5004, 4), 0);
    cr_expect_eq(t.cpu->eip, 0x1000);
    tm_free(&t);
}
