/*
 * Protected mode: segment loads and their error codes, far calls through
 * call gates, returns to outer rings, interrupt delivery through the IDT
 * (stack switch, 16-bit gates, DPL checks, #NP, #DF, triple fault) and
 * virtual-8086 mode entry and exit.  Each test builds its GDT/IDT/TSS in
 * RAM by hand; expected values follow the SDM vol.2/vol.3 pseudocode.
 */
#include <criterion/criterion.h>

#include "pm.h"

#define TSS 0x12000u
#define STK0 0x20000u    /* ESP0 in the TSS */
#define STK0_RUN 0x1F000u /* ring-0 ESP when a test starts at ring 0 */
#define STK3 0x30000u
#define CODE 0x1000u

enum {
    SEL_CODE0 = PM_CODE0, SEL_DATA0 = PM_DATA0, SEL_CODE3 = PM_CODE3, SEL_DATA3 = PM_DATA3,
    SEL_TSS = 0x28, SEL_GATE = 0x30, SEL_NP = 0x38, SEL_XONLY = 0x40,
    SEL_CONF0 = 0x48, SEL_DATA3_16 = 0x50,
};

/* Flat 32-bit protected mode at `cpl`, running at CODE. */
static struct tm pm_new(unsigned cpl)
{
    struct tm t = tm_new();
    struct cpu *c = t.cpu;
    pm_flat_gdt(&t);
    pm_desc(&t, SEL_TSS, TSS, 0x67, 0x8B, 0);        /* busy: it is TR */
    pm_desc(&t, SEL_NP, 0, 0xFFFFF, 0x12, 0xC);       /* data, not present */
    pm_desc(&t, SEL_XONLY, 0, 0xFFFFF, 0x98, 0xC);    /* execute-only code */
    pm_desc(&t, SEL_CONF0, 0, 0xFFFFF, 0x9E, 0xC);    /* conforming, DPL 0 */
    pm_desc(&t, SEL_DATA3_16, 0, 0xFFFF, 0xF2, 0);
    tm_put(&t, TSS + 4, STK0, 4);
    tm_put(&t, TSS + 8, SEL_DATA0, 2);
    pm_exception_gates(&t);
    pm_enter(&t, SEL_TSS, cpl);
    c->eip = CODE;
    c->r[R_ESP] = cpl ? STK3 : STK0_RUN;
    c->eflags = F_FIXED1;
    return t;
}

/* The CPU sits at the handler of `vec` (a jmp $) after a fault. */
static void expect_at_handler(struct tm *t, int vec)
{
    cr_expect_eq(t->cpu->eip, PM_HANDLER(vec), "eip %x, expected handler of %d",
                 t->cpu->eip, vec);
    cr_expect_eq(t->cpu->seg[S_CS].sel, SEL_CODE0);
    cr_expect_eq(t->cpu->cpl, 0);
}

/* ... and the handler's stack starts with error code `err`. */
static void expect_handler_err(struct tm *t, int vec, uint32_t err)
{
    expect_at_handler(t, vec);
    uint32_t got = tm_get(t, t->cpu->r[R_ESP], 4);
    cr_expect_eq(got, err, "vector %d: error code %x, expected %x", vec, got, err);
}

/* Run `bytes` at ring `cpl`: expect fault vec(err) at CODE + at. */
static void expect_fault(unsigned cpl, const uint8_t *bytes, size_t n, uint32_t at,
                         int vec, uint32_t err)
{
    struct tm t = pm_new(cpl);
    tm_copy(&t, CODE, bytes, n);
    cpu_run(t.cpu, 8);
    expect_handler_err(&t, vec, err);
    uint32_t eip = tm_get(&t, t.cpu->r[R_ESP] + 4, 4);
    cr_expect_eq(eip, CODE + at, "faulting EIP %x", eip);
    tm_free(&t);
}

/* --- segment loads --- */

Test(pmode, load_ds_checks_error_codes)
{
    /* push imm32; pop ds: the fault is reported at the pop (CODE + 5) */
    const uint8_t beyond[] = { 0x68, 0xF8, 0x01, 0, 0, 0x1F };
    const uint8_t tss[] = { 0x68, SEL_TSS, 0, 0, 0, 0x1F };
    const uint8_t xonly[] = { 0x68, SEL_XONLY, 0, 0, 0, 0x1F };
    const uint8_t np[] = { 0x68, SEL_NP, 0, 0, 0, 0x1F };
    const uint8_t ldt[] = { 0x68, 0x0C, 0, 0, 0, 0x1F };
    struct { const uint8_t *b; int vec; uint32_t err; } cases[] = {
        { beyond, EX_GP, 0x1F8 }, { tss, EX_GP, SEL_TSS }, { xonly, EX_GP, SEL_XONLY },
        { np, EX_NP, SEL_NP }, { ldt, EX_GP, 0x0C },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tm t = pm_new(0);
        tm_copy(&t, CODE, cases[i].b, 6);
        cpu_run(t.cpu, 3);
        expect_at_handler(&t, cases[i].vec);
        uint32_t esp = t.cpu->r[R_ESP];
        cr_expect_eq(tm_get(&t, esp, 4), cases[i].err, "case %zu: error %x", i, tm_get(&t, esp, 4));
        cr_expect_eq(tm_get(&t, esp + 4, 4), CODE + 5, "case %zu: faulting EIP", i);
        tm_free(&t);
    }
}

Test(pmode, load_ds_privilege_and_null)
{
    /* ring 3 may not load DPL-0 data, whatever the RPL */
    const uint8_t dpl0[] = { 0x68, SEL_DATA0 | 3, 0, 0, 0, 0x1F };
    expect_fault(3, dpl0, sizeof(dpl0), 5, EX_GP, SEL_DATA0);

    /* ring 0 with RPL 3 on DPL-0 data: RPL > DPL */
    const uint8_t rpl3[] = { 0x68, SEL_DATA0 | 3, 0, 0, 0, 0x1F };
    expect_fault(0, rpl3, sizeof(rpl3), 5, EX_GP, SEL_DATA0);

    /* a conforming readable code segment is loadable from ring 3 */
    struct tm t = pm_new(3);
    const uint8_t conf[] = { 0x68, SEL_CONF0 | 3, 0, 0, 0, 0x1F };
    tm_copy(&t, CODE, conf, sizeof(conf));
    cpu_run(t.cpu, 2);
    cr_expect_eq(t.cpu->seg[S_DS].sel, SEL_CONF0 | 3);
    cr_expect_eq(t.cpu->eip, CODE + 6);
    tm_free(&t);

    /* null DS loads, then a read through it faults #GP(0) */
    t = pm_new(3);
    const uint8_t null[] = { 0x6A, 0x03, 0x1F, 0xA1, 0, 0, 0, 0 }; /* mov eax,[0] */
    tm_copy(&t, CODE, null, sizeof(null));
    cpu_run(t.cpu, 3);
    expect_handler_err(&t, EX_GP, 0);
    cr_expect_eq(tm_get(&t, t.cpu->r[R_ESP] + 4, 4), CODE + 3);
    cr_expect_eq(tm_get(&t, t.cpu->r[R_ESP] + 16, 4), STK3, "ring-3 ESP saved");
    tm_free(&t);
}

Test(pmode, load_ss_rules)
{
    const uint8_t null[] = { 0x6A, 0x00, 0x17 };            /* push 0; pop ss */
    expect_fault(0, null, sizeof(null), 2, EX_GP, 0);
    const uint8_t np[] = { 0x6A, SEL_NP, 0x17 };
    expect_fault(0, np, sizeof(np), 2, EX_SS, SEL_NP);
    const uint8_t ro[] = { 0x6A, SEL_DATA3, 0x17 };         /* RPL 0 != DPL 3 */
    expect_fault(0, ro, sizeof(ro), 2, EX_GP, SEL_DATA3);
    const uint8_t code0[] = { 0x6A, SEL_CODE0, 0x17 };
    expect_fault(0, code0, sizeof(code0), 2, EX_GP, SEL_CODE0);

    /* a good load sets the accessed bit in the GDT and the cache */
    struct tm t = pm_new(0);
    tm_put(&t, PM_GDT + SEL_DATA0 + 5, 0x92, 1);
    const uint8_t ok[] = { 0x6A, SEL_DATA0, 0x17 };
    tm_copy(&t, CODE, ok, sizeof(ok));
    cpu_run(t.cpu, 2);
    cr_expect_eq(tm_get(&t, PM_GDT + SEL_DATA0 + 5, 1), 0x93);
    cr_expect_eq(t.cpu->seg[S_SS].ar, 0xC09300u);
    cr_expect_eq(t.cpu->seg[S_SS].limit, 0xFFFFFFFFu);
    tm_free(&t);
}

Test(pmode, lss_loads_pointer)
{
    struct tm t = pm_new(0);
    tm_put(&t, 0x5000, 0x12345678, 4);
    tm_put(&t, 0x5004, SEL_DATA0, 2);
    const uint8_t lss[] = { 0x0F, 0xB2, 0x25, 0x00, 0x50, 0, 0 };  /* lss esp,[0x5000] */
    tm_copy(&t, CODE, lss, sizeof(lss));
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->r[R_ESP], 0x12345678u);
    cr_expect_eq(t.cpu->seg[S_SS].sel, SEL_DATA0);
    tm_free(&t);
}

/* --- far calls, gates and returns --- */

Test(pmode, call_gate_to_ring0_and_back)
{
    struct tm t = pm_new(3);
    pm_gate_at(&t, PM_GDT + SEL_GATE, SEL_CODE0, 0x3000, 0xEC, 2);   /* 32-bit, DPL 3 */
    const uint8_t user[] = {
        0x68, 0x11, 0x11, 0x11, 0x11,              /* push 0x11111111 */
        0x68, 0x22, 0x22, 0x22, 0x22,              /* push 0x22222222 */
        0x9A, 0, 0, 0, 0, SEL_GATE | 3, 0,         /* call far gate:0 */
    };
    const uint8_t kern[] = { 0x6A, SEL_DATA0, 0x1F,   /* push 0x10; pop ds */
                             0xCA, 0x08, 0x00 };      /* retf 8 */
    tm_copy(&t, CODE, user, sizeof(user));
    tm_copy(&t, 0x3000, kern, sizeof(kern));
    tm_put(&t, PM_GDT + SEL_CODE0 + 5, 0x9A, 1);
    cpu_run(t.cpu, 3);
    struct cpu *c = t.cpu;
    cr_expect_eq(c->cpl, 0);
    cr_expect_eq(c->seg[S_CS].sel, SEL_CODE0);
    cr_expect_eq(c->eip, 0x3000);
    cr_expect_eq(c->seg[S_SS].sel, SEL_DATA0);
    cr_expect_eq(c->r[R_ESP], STK0 - 24);
    cr_expect_eq(tm_get(&t, STK0 - 4, 4), SEL_DATA3 | 3);
    cr_expect_eq(tm_get(&t, STK0 - 8, 4), STK3 - 8);
    cr_expect_eq(tm_get(&t, STK0 - 12, 4), 0x11111111u);
    cr_expect_eq(tm_get(&t, STK0 - 16, 4), 0x22222222u);
    cr_expect_eq(tm_get(&t, STK0 - 20, 4), SEL_CODE3 | 3);
    cr_expect_eq(tm_get(&t, STK0 - 24, 4), CODE + sizeof(user));
    cr_expect_eq(tm_get(&t, PM_GDT + SEL_CODE0 + 5, 1), 0x9B, "accessed bit");

    cpu_run(t.cpu, 3);
    cr_expect_eq(c->cpl, 3);
    cr_expect_eq(c->seg[S_CS].sel, SEL_CODE3 | 3);
    cr_expect_eq(c->eip, CODE + sizeof(user));
    cr_expect_eq(c->seg[S_SS].sel, SEL_DATA3 | 3);
    cr_expect_eq(c->r[R_ESP], STK3);
    cr_expect_eq(c->seg[S_DS].sel, 0, "DPL-0 DS nulled on return to ring 3");
    cr_expect_eq(c->seg[S_DS].ar, 0);
    cr_expect_eq(c->seg[S_ES].sel, SEL_DATA3 | 3);
    tm_free(&t);
}

Test(pmode, call_gate_16bit_same_ring)
{
    struct tm t = pm_new(0);
    pm_gate_at(&t, PM_GDT + SEL_GATE, SEL_CODE0, 0x3000, 0x84, 0);   /* 16-bit, DPL 0 */
    const uint8_t c1[] = { 0x9A, 0, 0, 0, 0, SEL_GATE, 0 };
    tm_copy(&t, CODE, c1, sizeof(c1));
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->eip, 0x3000);
    cr_expect_eq(t.cpu->r[R_ESP], STK0_RUN - 4);
    cr_expect_eq(tm_get(&t, STK0_RUN - 2, 2), SEL_CODE0);
    cr_expect_eq(tm_get(&t, STK0_RUN - 4, 2), CODE + 7);
    tm_free(&t);
}

Test(pmode, far_jump_checks)
{
    /* non-conforming DPL 3 code from ring 0 */
    const uint8_t j3[] = { 0xEA, 0, 0x20, 0, 0, SEL_CODE3 | 3, 0 };
    expect_fault(0, j3, sizeof(j3), 0, EX_GP, SEL_CODE3);
    /* data segment */
    const uint8_t jd[] = { 0xEA, 0, 0x20, 0, 0, SEL_DATA0, 0 };
    expect_fault(0, jd, sizeof(jd), 0, EX_GP, SEL_DATA0);
    /* null selector */
    const uint8_t jn[] = { 0xEA, 0, 0x20, 0, 0, 0, 0 };
    expect_fault(0, jn, sizeof(jn), 0, EX_GP, 0);

    /* conforming DPL-0 code from ring 3: CPL stays 3, RPL becomes 3 */
    struct tm t = pm_new(3);
    const uint8_t jc[] = { 0xEA, 0, 0x20, 0, 0, SEL_CONF0, 0 };
    tm_copy(&t, CODE, jc, sizeof(jc));
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->eip, 0x2000);
    cr_expect_eq(t.cpu->seg[S_CS].sel, SEL_CONF0 | 3);
    cr_expect_eq(t.cpu->cpl, 3);
    tm_free(&t);

    /* offset beyond the limit of a 64 KiB segment: #GP(0) */
    t = pm_new(0);
    pm_desc(&t, SEL_GATE, 0, 0xFFFF, 0x9A, 0x4);
    const uint8_t jl[] = { 0xEA, 0, 0, 1, 0, SEL_GATE, 0 };
    tm_copy(&t, CODE, jl, sizeof(jl));
    cpu_run(t.cpu, 1);
    expect_handler_err(&t, EX_GP, 0);
    tm_free(&t);
}

Test(pmode, retf_outer_checks_ss)
{
    /* ring 0 returns to ring 3 with an SS whose RPL is 0 */
    struct tm t = pm_new(0);
    tm_put(&t, STK0_RUN - 16, 0x2000, 4);
    tm_put(&t, STK0_RUN - 12, SEL_CODE3 | 3, 4);
    tm_put(&t, STK0_RUN - 8, STK3, 4);
    tm_put(&t, STK0_RUN - 4, SEL_DATA3, 4);
    t.cpu->r[R_ESP] = STK0_RUN - 16;
    const uint8_t r[] = { 0xCB };
    tm_copy(&t, CODE, r, 1);
    cpu_run(t.cpu, 1);
    expect_handler_err(&t, EX_GP, SEL_DATA3);
    tm_free(&t);
}

/* --- interrupts --- */

Test(pmode, int_from_ring3_switches_stack)
{
    struct tm t = pm_new(3);
    pm_idt_gate(&t, 0x80, SEL_CODE0, 0x4000, 0xEE);     /* int gate, DPL 3 */
    const uint8_t u[] = { 0xCD, 0x80 };
    const uint8_t k[] = { 0xCF };                    /* iretd */
    tm_copy(&t, CODE, u, sizeof(u));
    tm_copy(&t, 0x4000, k, sizeof(k));
    t.cpu->eflags |= F_IF | F_CF;
    cpu_run(t.cpu, 1);
    struct cpu *c = t.cpu;
    cr_expect_eq(c->eip, 0x4000);
    cr_expect_eq(c->cpl, 0);
    cr_expect_eq(c->seg[S_SS].sel, SEL_DATA0);
    cr_expect_eq(c->r[R_ESP], STK0 - 20);
    cr_expect_eq(tm_get(&t, STK0 - 4, 4), SEL_DATA3 | 3);
    cr_expect_eq(tm_get(&t, STK0 - 8, 4), STK3);
    cr_expect_eq(tm_get(&t, STK0 - 12, 4), F_FIXED1 | F_IF | F_CF);
    cr_expect_eq(tm_get(&t, STK0 - 16, 4), SEL_CODE3 | 3);
    cr_expect_eq(tm_get(&t, STK0 - 20, 4), CODE + 2);
    cr_expect_eq(cpu_get_eflags(c) & F_IF, 0, "interrupt gate clears IF");

    cpu_run(t.cpu, 1);
    cr_expect_eq(c->eip, CODE + 2);
    cr_expect_eq(c->cpl, 3);
    cr_expect_eq(c->r[R_ESP], STK3);
    cr_expect_eq(c->seg[S_SS].sel, SEL_DATA3 | 3);
    cr_expect_eq(cpu_get_eflags(c), F_FIXED1 | F_IF | F_CF);
    tm_free(&t);
}

Test(pmode, trap_gate_keeps_if_and_16bit_gate_frame)
{
    struct tm t = pm_new(0);
    pm_idt_gate(&t, 0x81, SEL_CODE0, 0x4000, 0x8F);     /* trap gate */
    const uint8_t u[] = { 0xCD, 0x81 };
    tm_copy(&t, CODE, u, sizeof(u));
    t.cpu->eflags |= F_IF;
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->eip, 0x4000);
    cr_expect(cpu_get_eflags(t.cpu) & F_IF);
    cr_expect_eq(t.cpu->r[R_ESP], STK0_RUN - 12, "same ring: no SS:ESP pushed");
    tm_free(&t);

    t = pm_new(0);
    pm_idt_gate(&t, 0x83, SEL_CODE0, 0x4000, 0x86);     /* 16-bit int gate */
    const uint8_t v[] = { 0xCD, 0x83 };
    tm_copy(&t, CODE, v, sizeof(v));
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->eip, 0x4000);
    cr_expect_eq(t.cpu->r[R_ESP], STK0_RUN - 6);
    cr_expect_eq(tm_get(&t, STK0_RUN - 2, 2), F_FIXED1);
    cr_expect_eq(tm_get(&t, STK0_RUN - 4, 2), SEL_CODE0);
    cr_expect_eq(tm_get(&t, STK0_RUN - 6, 2), CODE + 2);
    tm_free(&t);
}

Test(pmode, int_gate_faults)
{
    /* INT n through a gate with DPL < CPL: #GP(vec*8+2), EXT clear */
    const uint8_t dpl[] = { 0xCD, 0x81 };
    expect_fault(3, dpl, sizeof(dpl), 0, EX_GP, 0x81 * 8 + 2);
    /* beyond the IDT limit */
    struct tm t = pm_new(0);
    t.cpu->idtr.limit = 0x40F;
    const uint8_t lim[] = { 0xCD, 0x90 };
    tm_copy(&t, CODE, lim, sizeof(lim));
    cpu_run(t.cpu, 1);
    expect_handler_err(&t, EX_GP, 0x90 * 8 + 2);
    tm_free(&t);
    /* not-present gate: #NP(vec*8+2) */
    t = pm_new(0);
    pm_idt_gate(&t, 0x82, SEL_CODE0, 0x4000, 0x6E);
    const uint8_t np[] = { 0xCD, 0x82 };
    tm_copy(&t, CODE, np, sizeof(np));
    cpu_run(t.cpu, 1);
    expect_handler_err(&t, EX_NP, 0x82 * 8 + 2);
    tm_free(&t);
    /* an exception (INT3 is software, INT1 is not) ignores gate DPL */
    t = pm_new(3);
    const uint8_t icebp[] = { 0xF1 };
    tm_copy(&t, CODE, icebp, 1);
    cpu_run(t.cpu, 1);
    expect_at_handler(&t, EX_DB);
    cr_expect_eq(tm_get(&t, t.cpu->r[R_ESP], 4), CODE + 1);
    tm_free(&t);
}

Test(pmode, fault_delivering_fault_is_double_fault)
{
    struct tm t = pm_new(0);
    pm_idt_gate(&t, EX_NP, SEL_CODE0, PM_HANDLER(EX_NP), 0x0E);   /* #NP gate absent */
    const uint8_t np[] = { 0x6A, SEL_NP, 0x1F };
    tm_copy(&t, CODE, np, sizeof(np));
    cpu_run(t.cpu, 3);
    expect_handler_err(&t, EX_DF, 0);
    cr_expect_eq(tm_get(&t, t.cpu->r[R_ESP] + 4, 4), CODE + 2);
    cr_expect_not(t.cpu->reset_request);
    tm_free(&t);

    /* a benign #UD whose gate is absent becomes #NP(6*8+2+EXT) */
    t = pm_new(0);
    pm_idt_gate(&t, EX_UD, SEL_CODE0, PM_HANDLER(EX_UD), 0x0E);
    const uint8_t ud[] = { 0x0F, 0xFF };
    tm_copy(&t, CODE, ud, sizeof(ud));
    cpu_run(t.cpu, 1);
    expect_handler_err(&t, EX_NP, EX_UD * 8 + 3);
    tm_free(&t);
}

Test(pmode, triple_fault_requests_reset)
{
    struct tm t = pm_new(0);
    t.cpu->idtr.limit = 0;
    const uint8_t ud[] = { 0x0F, 0xFF };
    tm_copy(&t, CODE, ud, sizeof(ud));
    cpu_run(t.cpu, 5);
    cr_expect(t.cpu->reset_request);
    tm_free(&t);
}

/* --- virtual-8086 mode --- */

/* From ring 0, IRETD into V86 at 2000:0100 with the given EFLAGS. */
static struct tm v86_new(uint32_t eflags)
{
    struct tm t = pm_new(0);
    uint32_t frame[9] = { 0x100, 0x2000, eflags, 0xFFF0, 0x3000, 0x111, 0x222, 0x333, 0x444 };
    uint32_t sp = STK0_RUN - 36;
    for (int i = 0; i < 9; i++) {
        tm_put(&t, sp + 4 * (uint32_t)i, frame[i], 4);
    }
    t.cpu->r[R_ESP] = sp;
    const uint8_t iret[] = { 0xCF };
    tm_copy(&t, CODE, iret, 1);
    cpu_run(t.cpu, 1);
    return t;
}

Test(pmode, iret_to_v86)
{
    struct tm t = v86_new(F_VM | F_IF | F_FIXED1);
    struct cpu *c = t.cpu;
    cr_expect(cpu_v86(c));
    cr_expect_eq(c->cpl, 3);
    cr_expect_eq(c->eip, 0x100);
    cr_expect_eq(c->seg[S_CS].sel, 0x2000);
    cr_expect_eq(c->seg[S_CS].base, 0x20000);
    cr_expect_eq(c->seg[S_CS].limit, 0xFFFF);
    cr_expect_eq(AR_DPL(c->seg[S_CS].ar), 3);
    cr_expect_eq(c->seg[S_SS].base, 0x30000);
    cr_expect_eq(c->r[R_ESP], 0xFFF0);
    cr_expect_eq(c->seg[S_ES].base, 0x1110);
    cr_expect_eq(c->seg[S_DS].base, 0x2220);
    cr_expect_eq(c->seg[S_FS].base, 0x3330);
    cr_expect_eq(c->seg[S_GS].sel, 0x444);
    tm_free(&t);
}

Test(pmode, v86_int_with_iopl0_faults_to_ring0)
{
    struct tm t = v86_new(F_VM | F_IF | F_FIXED1);
    const uint8_t i21[] = { 0xCD, 0x21 };
    tm_copy(&t, 0x20100, i21, sizeof(i21));
    cpu_run(t.cpu, 1);
    struct cpu *c = t.cpu;
    expect_at_handler(&t, EX_GP);
    cr_expect_not(cpu_v86(c));
    cr_expect_eq(c->r[R_ESP], STK0 - 40);
    /* a fault pushes RF set (SDM vol.3 17.3.1.1) */
    uint32_t want[10] = { 0x444, 0x333, 0x222, 0x111, 0x3000, 0xFFF0,
                          F_VM | F_RF | F_IF | F_FIXED1, 0x2000, 0x100, 0 };
    for (int i = 0; i < 10; i++) {
        uint32_t at = STK0 - 4 * (uint32_t)(i + 1);
        cr_expect_eq(tm_get(&t, at, 4), want[i], "slot %d: %x", i, tm_get(&t, at, 4));
    }
    for (int s = 0; s < 6; s++) {
        if (s == S_ES || s == S_DS || s == S_FS || s == S_GS) {
            cr_expect_eq(c->seg[s].sel, 0, "segment %d nulled", s);
        }
    }
    tm_free(&t);
}

Test(pmode, v86_int_iopl3_and_iret_back)
{
    struct tm t = v86_new(F_VM | F_IOPL | F_FIXED1);
    pm_idt_gate(&t, 0x21, SEL_CODE0, 0x4000, 0xEE);
    const uint8_t i21[] = { 0xCD, 0x21 };
    const uint8_t iret[] = { 0xCF };
    tm_copy(&t, 0x20100, i21, sizeof(i21));
    tm_copy(&t, 0x4000, iret, 1);
    struct cpu *c = t.cpu;
    cpu_run(c, 1);
    cr_expect_eq(c->eip, 0x4000);
    cr_expect_eq(c->r[R_ESP], STK0 - 36);
    cr_expect_eq(tm_get(&t, STK0 - 36, 4), 0x102);
    cpu_run(c, 1);
    cr_expect(cpu_v86(c));
    cr_expect_eq(c->eip, 0x102);
    cr_expect_eq(c->seg[S_DS].base, 0x2220);
    cr_expect_eq(c->r[R_ESP], 0xFFF0);
    tm_free(&t);
}

Test(pmode, v86_int3_not_iopl_sensitive_but_iret_is)
{
    struct tm t = v86_new(F_VM | F_FIXED1);
    pm_idt_gate(&t, EX_BP, SEL_CODE0, 0x4000, 0xEE);
    const uint8_t i3[] = { 0xCC };
    tm_copy(&t, 0x20100, i3, 1);
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->eip, 0x4000);
    cr_expect_eq(tm_get(&t, STK0 - 36, 4), 0x101);
    tm_free(&t);

    t = v86_new(F_VM | F_FIXED1);
    const uint8_t iret[] = { 0xCF };
    tm_copy(&t, 0x20100, iret, 1);
    cpu_run(t.cpu, 1);
    expect_at_handler(&t, EX_GP);
    cr_expect_eq(tm_get(&t, STK0 - 36, 4), 0x100, "fault points at the IRET");
    tm_free(&t);
}

Test(pmode, sel_check_for_lar)
{
    struct tm t = pm_new(3);
    uint32_t d[2];
    cr_expect(cpu_sel_check(t.cpu, SEL_DATA3 | 3, SELCHK_LAR, d));
    cr_expect_not(cpu_sel_check(t.cpu, SEL_DATA0 | 3, SELCHK_LAR, d));
    cr_expect(cpu_sel_check(t.cpu, SEL_CONF0, SELCHK_VERR, d));
    cr_expect_not(cpu_sel_check(t.cpu, SEL_CONF0, SELCHK_VERW, d));
    cr_expect_not(cpu_sel_check(t.cpu, 0, SELCHK_LAR, d));
    t.cpu->cpl = 0;
    cr_expect(cpu_sel_check(t.cpu, SEL_TSS, SELCHK_LSL, d));
    cr_expect_not(cpu_sel_check(t.cpu, SEL_TSS, SELCHK_VERR, d));
    cr_expect_not(cpu_sel_check(t.cpu, SEL_XONLY, SELCHK_VERR, d));
    tm_free(&t);
}

Test(pmode, iret_at_cpl3_keeps_iopl_and_if)
{
    struct tm t = pm_new(3);
    tm_put(&t, STK3 - 12, 0x2000, 4);
    tm_put(&t, STK3 - 8, SEL_CODE3 | 3, 4);
    tm_put(&t, STK3 - 4, F_FIXED1 | F_IOPL | F_IF | F_ZF | F_NT, 4);
    t.cpu->r[R_ESP] = STK3 - 12;
    const uint8_t iret[] = { 0xCF };
    tm_copy(&t, CODE, iret, 1);
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->eip, 0x2000);
    cr_expect_eq(t.cpu->r[R_ESP], STK3);
    cr_expect_eq(cpu_get_eflags(t.cpu), F_FIXED1 | F_ZF | F_NT,
                 "CPL 3 > IOPL 0: IF and IOPL unchanged");
    tm_free(&t);
}

Test(pmode, bad_ring0_stack_escalates_to_triple_fault)
{
    /* INT from ring 3 needs SS0; a null SS0 faults #TS, whose delivery
       needs SS0 again (#DF), whose delivery fails too: shutdown */
    struct tm t = pm_new(3);
    tm_put(&t, TSS + 8, 0, 2);
    pm_idt_gate(&t, 0x80, SEL_CODE0, 0x4000, 0xEE);
    const uint8_t u[] = { 0xCD, 0x80 };
    tm_copy(&t, CODE, u, sizeof(u));
    cpu_run(t.cpu, 4);
    cr_expect(t.cpu->reset_request);
    tm_free(&t);
}
