/*
 * Hardware task switches: JMP/CALL to a TSS or task gate, IRET with NT,
 * exceptions through task gates, 16-bit TSSs and the faults of SDM vol.3
 * section 7.3 (busy TSS, short TSS, bad segments in the new task).
 */
#include <criterion/criterion.h>

#include "machine.h"

#define GDT 0x10000u
#define IDT 0x11000u
#define TSS1 0x12000u   /* the running task (TR) */
#define TSS2 0x12100u
#define TSS16 0x12200u
#define CODE 0x1000u
#define CODE2 0x5000u
#define STK1 0x1F000u
#define STK2 0x1E000u
#define HANDLER(v) (0x8000u + (uint32_t)(v) * 0x10u)

enum {
    SEL_CODE0 = 0x08, SEL_DATA0 = 0x10, SEL_CODE3 = 0x18,
    SEL_T1 = 0x28, SEL_T2 = 0x30, SEL_TGATE = 0x38, SEL_T16 = 0x40,
};

static void put(struct tm *t, uint32_t a, uint32_t v, int n)
{
    for (int i = 0; i < n; i++) {
        t->bus->ram[a + (uint32_t)i] = (uint8_t)(v >> (8 * i));
    }
}

static uint32_t get(struct tm *t, uint32_t a, int n)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++) {
        v |= (uint32_t)t->bus->ram[a + (uint32_t)i] << (8 * i);
    }
    return v;
}

static void desc(struct tm *t, uint16_t sel, uint32_t base, uint32_t limit,
                 uint8_t access, uint8_t flags)
{
    uint32_t a = GDT + (sel & ~7u);
    put(t, a, limit & 0xFFFF, 2);
    put(t, a + 2, base & 0xFFFFFF, 3);
    put(t, a + 5, access, 1);
    put(t, a + 6, (uint32_t)(flags << 4) | ((limit >> 16) & 0xF), 1);
    put(t, a + 7, base >> 24, 1);
}

static uint8_t access_byte(struct tm *t, uint16_t sel)
{
    return (uint8_t)get(t, GDT + (sel & ~7u) + 5, 1);
}

static void load(struct tm *t, struct seg *s, uint16_t sel)
{
    uint32_t d[2] = { get(t, GDT + (sel & ~7u), 4), get(t, GDT + (sel & ~7u) + 4, 4) };
    cpu_desc_to_seg(s, sel, d);
}

/* Task 2's 32-bit TSS: runs at CODE2, flat ring 0, EAX = 0x55. */
static void tss2_init(struct tm *t)
{
    put(t, TSS2 + 0x20, CODE2, 4);
    put(t, TSS2 + 0x24, F_FIXED1, 4);
    put(t, TSS2 + 0x28, 0x55, 4);
    put(t, TSS2 + 0x38, STK2, 4);
    static const uint16_t sregs[6] = { SEL_DATA0, SEL_CODE0, SEL_DATA0,
                                       SEL_DATA0, SEL_DATA0, SEL_DATA0 };
    for (int i = 0; i < 6; i++) {
        put(t, TSS2 + 0x48 + 4 * (uint32_t)i, sregs[i], 2);
    }
}

static struct tm task_new(void)
{
    struct tm t = tm_new();
    struct cpu *c = t.cpu;
    desc(&t, SEL_CODE0, 0, 0xFFFFF, 0x9A, 0xC);
    desc(&t, SEL_DATA0, 0, 0xFFFFF, 0x92, 0xC);
    desc(&t, SEL_CODE3, 0, 0xFFFFF, 0xFA, 0xC);
    desc(&t, SEL_T1, TSS1, 0x67, 0x8B, 0);
    desc(&t, SEL_T2, TSS2, 0x67, 0x89, 0);
    put(&t, GDT + SEL_TGATE + 2, SEL_T2, 2);       /* task gate to task 2 */
    put(&t, GDT + SEL_TGATE + 5, 0x85, 1);
    desc(&t, SEL_T16, TSS16, 0x2B, 0x81, 0);
    tss2_init(&t);
    for (int v = 0; v < 32; v++) {
        uint32_t a = IDT + 8 * (uint32_t)v;
        put(&t, a, HANDLER(v) & 0xFFFF, 2);
        put(&t, a + 2, SEL_CODE0, 2);
        put(&t, a + 5, 0x8E, 1);
        put(&t, HANDLER(v), 0xFEEB, 2);
    }
    c->cr0 |= CR0_PE;
    c->gdtr = (struct dtr){ GDT, 0xFF };
    c->idtr = (struct dtr){ IDT, 0xFF };
    load(&t, &c->tr, SEL_T1);
    c->ldtr = (struct seg){ 0, 0, 0, 0 };
    load(&t, &c->seg[S_CS], SEL_CODE0);
    for (int s = 0; s < 6; s++) {
        if (s != S_CS) {
            load(&t, &c->seg[s], SEL_DATA0);
        }
    }
    c->cpl = 0;
    c->eip = CODE;
    c->r[R_ESP] = STK1;
    c->r[R_EAX] = 0xAAAA;
    c->eflags = F_FIXED1 | F_CF;
    return t;
}

static void code(struct tm *t, uint32_t at, const uint8_t *bytes, size_t n)
{
    memcpy(t->bus->ram + at, bytes, n);
}

Test(task, jmp_to_tss_and_back)
{
    struct tm t = task_new();
    struct cpu *c = t.cpu;
    const uint8_t go[] = { 0xEA, 0, 0, 0, 0, SEL_T2, 0 };
    const uint8_t back[] = { 0xEA, 0, 0, 0, 0, SEL_T1, 0 };
    code(&t, CODE, go, sizeof(go));
    code(&t, CODE2, back, sizeof(back));
    cpu_run(c, 1);
    cr_expect_eq(c->tr.sel, SEL_T2);
    cr_expect_eq(c->tr.base, TSS2);
    cr_expect_eq(c->eip, CODE2);
    cr_expect_eq(c->r[R_EAX], 0x55);
    cr_expect_eq(c->r[R_ESP], STK2);
    cr_expect(c->cr0 & CR0_TS);
    cr_expect_eq(cpu_get_eflags(c) & (F_NT | F_CF), 0);
    cr_expect_eq(access_byte(&t, SEL_T1), 0x89, "old task no longer busy");
    cr_expect_eq(access_byte(&t, SEL_T2), 0x8B, "new task busy");
    cr_expect_eq(get(&t, TSS1 + 0x20, 4), CODE + 7, "saved EIP");
    cr_expect_eq(get(&t, TSS1 + 0x24, 4), F_FIXED1 | F_CF, "saved EFLAGS");
    cr_expect_eq(get(&t, TSS1 + 0x28, 4), 0xAAAA, "saved EAX");
    cr_expect_eq(get(&t, TSS1 + 0x38, 4), STK1, "saved ESP");
    cr_expect_eq(get(&t, TSS1 + 0x4C, 2), SEL_CODE0, "saved CS");

    cpu_run(c, 1);
    cr_expect_eq(c->tr.sel, SEL_T1);
    cr_expect_eq(c->eip, CODE + 7);
    cr_expect_eq(c->r[R_EAX], 0xAAAA);
    cr_expect(cpu_get_eflags(c) & F_CF);
    cr_expect_eq(access_byte(&t, SEL_T2), 0x89);
    cr_expect_eq(access_byte(&t, SEL_T1), 0x8B);
    cr_expect_eq(get(&t, TSS2 + 0x20, 4), CODE2 + 7);
    tm_free(&t);
}

Test(task, call_task_gate_then_iret_nt)
{
    struct tm t = task_new();
    struct cpu *c = t.cpu;
    const uint8_t go[] = { 0x9A, 0, 0, 0, 0, SEL_TGATE, 0 };
    const uint8_t ret[] = { 0xCF };
    code(&t, CODE, go, sizeof(go));
    code(&t, CODE2, ret, sizeof(ret));
    cpu_run(c, 1);
    cr_expect_eq(c->tr.sel, SEL_T2);
    cr_expect(cpu_get_eflags(c) & F_NT);
    cr_expect_eq(get(&t, TSS2, 2), SEL_T1, "back-link");
    cr_expect_eq(access_byte(&t, SEL_T1), 0x8B, "caller stays busy");
    cr_expect_eq(access_byte(&t, SEL_T2), 0x8B);

    cpu_run(c, 1);
    cr_expect_eq(c->tr.sel, SEL_T1);
    cr_expect_eq(c->eip, CODE + 7);
    cr_expect_eq(c->r[R_EAX], 0xAAAA);
    cr_expect_eq(cpu_get_eflags(c) & F_NT, 0);
    cr_expect_eq(access_byte(&t, SEL_T2), 0x89, "IRET frees the nested task");
    cr_expect_eq(access_byte(&t, SEL_T1), 0x8B);
    cr_expect_eq(get(&t, TSS2 + 0x24, 4) & F_NT, 0, "NT cleared in the saved image");
    tm_free(&t);
}

Test(task, exception_through_task_gate_pushes_error_code)
{
    struct tm t = task_new();
    struct cpu *c = t.cpu;
    put(&t, IDT + 8 * EX_GP + 2, SEL_T2, 2);
    put(&t, IDT + 8 * EX_GP + 5, 0x85, 1);
    const uint8_t bad[] = { 0x68, 0xF8, 0x01, 0, 0, 0x1F };   /* push 0x1f8; pop ds */
    code(&t, CODE, bad, sizeof(bad));
    put(&t, CODE2, 0xFEEB, 2);
    cpu_run(c, 3);
    cr_expect_eq(c->tr.sel, SEL_T2);
    cr_expect_eq(c->eip, CODE2);
    cr_expect_eq(c->r[R_ESP], STK2 - 4);
    cr_expect_eq(get(&t, STK2 - 4, 4), 0x1F8);
    cr_expect_eq(get(&t, TSS1 + 0x20, 4), CODE + 5, "old task resumes at the fault");
    cr_expect_eq(get(&t, TSS2, 2), SEL_T1);
    cr_expect(cpu_get_eflags(c) & F_NT);
    tm_free(&t);
}

Test(task, switch_faults)
{
    /* JMP to the busy current TSS: #GP(sel) */
    struct tm t = task_new();
    const uint8_t busy[] = { 0xEA, 0, 0, 0, 0, SEL_T1, 0 };
    code(&t, CODE, busy, sizeof(busy));
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->eip, HANDLER(EX_GP));
    cr_expect_eq(get(&t, t.cpu->r[R_ESP], 4), SEL_T1);
    tm_free(&t);

    /* a TSS limit below 0x67: #TS(sel), still in the old task */
    t = task_new();
    desc(&t, SEL_T2, TSS2, 0x60, 0x89, 0);
    const uint8_t shortt[] = { 0xEA, 0, 0, 0, 0, SEL_T2, 0 };
    code(&t, CODE, shortt, sizeof(shortt));
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->eip, HANDLER(EX_TS));
    cr_expect_eq(t.cpu->tr.sel, SEL_T1);
    cr_expect_eq(get(&t, t.cpu->r[R_ESP], 4), SEL_T2);
    cr_expect_eq(get(&t, t.cpu->r[R_ESP] + 4, 4), CODE);
    tm_free(&t);

    /* a bad DS in the new TSS: #TS(DS) raised in the new task */
    t = task_new();
    put(&t, TSS2 + 0x54, 0x1F8, 2);
    code(&t, CODE, shortt, sizeof(shortt));
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->eip, HANDLER(EX_TS));
    cr_expect_eq(t.cpu->tr.sel, SEL_T2);
    cr_expect_eq(t.cpu->r[R_ESP], STK2 - 16);
    cr_expect_eq(get(&t, STK2 - 16, 4), 0x1F8);
    cr_expect_eq(get(&t, STK2 - 12, 4), CODE2, "new task's EIP");
    tm_free(&t);
}

Test(task, sixteen_bit_tss)
{
    struct tm t = task_new();
    struct cpu *c = t.cpu;
    put(&t, TSS16 + 0x0E, 0x6000, 2);   /* IP */
    put(&t, TSS16 + 0x10, 0x0001, 2);   /* FLAGS: CF */
    put(&t, TSS16 + 0x12, 0x1234, 2);   /* AX */
    put(&t, TSS16 + 0x1A, 0xE000, 2);   /* SP */
    put(&t, TSS16 + 0x22, SEL_DATA0, 2);
    put(&t, TSS16 + 0x24, SEL_CODE0, 2);
    put(&t, TSS16 + 0x26, SEL_DATA0, 2);
    put(&t, TSS16 + 0x28, SEL_DATA0, 2);
    const uint8_t go[] = { 0xEA, 0, 0, 0, 0, SEL_T16, 0 };
    code(&t, CODE, go, sizeof(go));
    put(&t, 0x6000, 0xFEEB, 2);
    cpu_run(c, 1);
    cr_expect_eq(c->tr.sel, SEL_T16);
    cr_expect_eq(c->eip, 0x6000);
    cr_expect_eq(c->r[R_EAX], 0xFFFF1234u);
    cr_expect_eq(c->r[R_ESP], 0xFFFFE000u);
    cr_expect_eq(cpu_get_eflags(c), F_FIXED1 | F_CF);
    cr_expect_eq(c->seg[S_FS].sel, 0);
    cr_expect_eq(c->seg[S_GS].sel, 0);
    cr_expect_eq(access_byte(&t, SEL_T16), 0x83, "16-bit busy TSS");
    tm_free(&t);
}
