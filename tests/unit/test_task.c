/*
 * Hardware task switches: JMP/CALL to a TSS or task gate, IRET with NT,
 * exceptions through task gates, 16-bit TSSs and the faults of SDM vol.3
 * section 7.3 (busy TSS, short TSS, bad segments in the new task).
 */
#include <criterion/criterion.h>

#include "pm.h"

#define TSS1 0x12000u   /* the running task (TR) */
#define TSS2 0x12100u
#define TSS16 0x12200u
#define CODE 0x1000u
#define CODE2 0x5000u
#define STK1 0x1F000u
#define STK2 0x1E000u

enum {
    SEL_CODE0 = PM_CODE0, SEL_DATA0 = PM_DATA0, SEL_CODE3 = PM_CODE3,
    SEL_T1 = 0x28, SEL_T2 = 0x30, SEL_TGATE = 0x38, SEL_T16 = 0x40,
};

/* Task 2's 32-bit TSS: runs at CODE2, flat ring 0, EAX = 0x55. */
static void tss2_init(struct tm *t)
{
    tm_put(t, TSS2 + 0x20, CODE2, 4);
    tm_put(t, TSS2 + 0x24, F_FIXED1, 4);
    tm_put(t, TSS2 + 0x28, 0x55, 4);
    tm_put(t, TSS2 + 0x38, STK2, 4);
    static const uint16_t sregs[6] = { SEL_DATA0, SEL_CODE0, SEL_DATA0,
                                       SEL_DATA0, SEL_DATA0, SEL_DATA0 };
    for (int i = 0; i < 6; i++) {
        tm_put(t, TSS2 + 0x48 + 4 * (uint32_t)i, sregs[i], 2);
    }
}

static struct tm task_new(void)
{
    struct tm t = tm_new();
    struct cpu *c = t.cpu;
    pm_flat_gdt(&t);
    pm_desc(&t, SEL_T1, TSS1, 0x67, 0x8B, 0);
    pm_desc(&t, SEL_T2, TSS2, 0x67, 0x89, 0);
    pm_gate_at(&t, PM_GDT + SEL_TGATE, SEL_T2, 0, 0x85, 0);   /* task gate to task 2 */
    pm_desc(&t, SEL_T16, TSS16, 0x2B, 0x81, 0);
    tss2_init(&t);
    pm_exception_gates(&t);
    pm_enter(&t, SEL_T1, 0);
    c->eip = CODE;
    c->r[R_ESP] = STK1;
    c->r[R_EAX] = 0xAAAA;
    c->eflags = F_FIXED1 | F_CF;
    return t;
}

Test(task, jmp_to_tss_and_back)
{
    struct tm t = task_new();
    struct cpu *c = t.cpu;
    const uint8_t go[] = { 0xEA, 0, 0, 0, 0, SEL_T2, 0 };
    const uint8_t back[] = { 0xEA, 0, 0, 0, 0, SEL_T1, 0 };
    tm_copy(&t, CODE, go, sizeof(go));
    tm_copy(&t, CODE2, back, sizeof(back));
    cpu_run(c, 1);
    cr_expect_eq(c->tr.sel, SEL_T2);
    cr_expect_eq(c->tr.base, TSS2);
    cr_expect_eq(c->eip, CODE2);
    cr_expect_eq(c->r[R_EAX], 0x55);
    cr_expect_eq(c->r[R_ESP], STK2);
    cr_expect(c->cr0 & CR0_TS);
    cr_expect_eq(cpu_get_eflags(c) & (F_NT | F_CF), 0);
    cr_expect_eq(pm_access_byte(&t, SEL_T1), 0x89, "old task no longer busy");
    cr_expect_eq(pm_access_byte(&t, SEL_T2), 0x8B, "new task busy");
    cr_expect_eq(tm_get(&t, TSS1 + 0x20, 4), CODE + 7, "saved EIP");
    cr_expect_eq(tm_get(&t, TSS1 + 0x24, 4), F_FIXED1 | F_CF, "saved EFLAGS");
    cr_expect_eq(tm_get(&t, TSS1 + 0x28, 4), 0xAAAA, "saved EAX");
    cr_expect_eq(tm_get(&t, TSS1 + 0x38, 4), STK1, "saved ESP");
    cr_expect_eq(tm_get(&t, TSS1 + 0x4C, 2), SEL_CODE0, "saved CS");

    cpu_run(c, 1);
    cr_expect_eq(c->tr.sel, SEL_T1);
    cr_expect_eq(c->eip, CODE + 7);
    cr_expect_eq(c->r[R_EAX], 0xAAAA);
    cr_expect(cpu_get_eflags(c) & F_CF);
    cr_expect_eq(pm_access_byte(&t, SEL_T2), 0x89);
    cr_expect_eq(pm_access_byte(&t, SEL_T1), 0x8B);
    cr_expect_eq(tm_get(&t, TSS2 + 0x20, 4), CODE2 + 7);
    tm_free(&t);
}

Test(task, call_task_gate_then_iret_nt)
{
    struct tm t = task_new();
    struct cpu *c = t.cpu;
    const uint8_t go[] = { 0x9A, 0, 0, 0, 0, SEL_TGATE, 0 };
    const uint8_t ret[] = { 0xCF };
    tm_copy(&t, CODE, go, sizeof(go));
    tm_copy(&t, CODE2, ret, sizeof(ret));
    cpu_run(c, 1);
    cr_expect_eq(c->tr.sel, SEL_T2);
    cr_expect(cpu_get_eflags(c) & F_NT);
    cr_expect_eq(tm_get(&t, TSS2, 2), SEL_T1, "back-link");
    cr_expect_eq(pm_access_byte(&t, SEL_T1), 0x8B, "caller stays busy");
    cr_expect_eq(pm_access_byte(&t, SEL_T2), 0x8B);

    cpu_run(c, 1);
    cr_expect_eq(c->tr.sel, SEL_T1);
    cr_expect_eq(c->eip, CODE + 7);
    cr_expect_eq(c->r[R_EAX], 0xAAAA);
    cr_expect_eq(cpu_get_eflags(c) & F_NT, 0);
    cr_expect_eq(pm_access_byte(&t, SEL_T2), 0x89, "IRET frees the nested task");
    cr_expect_eq(pm_access_byte(&t, SEL_T1), 0x8B);
    cr_expect_eq(tm_get(&t, TSS2 + 0x24, 4) & F_NT, 0, "NT cleared in the saved image");
    tm_free(&t);
}

Test(task, exception_through_task_gate_pushes_error_code)
{
    struct tm t = task_new();
    struct cpu *c = t.cpu;
    tm_put(&t, PM_IDT + 8 * EX_GP + 2, SEL_T2, 2);
    tm_put(&t, PM_IDT + 8 * EX_GP + 5, 0x85, 1);
    const uint8_t bad[] = { 0x68, 0xF8, 0x01, 0, 0, 0x1F };   /* push 0x1f8; pop ds */
    tm_copy(&t, CODE, bad, sizeof(bad));
    tm_put(&t, CODE2, 0xFEEB, 2);
    cpu_run(c, 3);
    cr_expect_eq(c->tr.sel, SEL_T2);
    cr_expect_eq(c->eip, CODE2);
    cr_expect_eq(c->r[R_ESP], STK2 - 4);
    cr_expect_eq(tm_get(&t, STK2 - 4, 4), 0x1F8);
    cr_expect_eq(tm_get(&t, TSS1 + 0x20, 4), CODE + 5, "old task resumes at the fault");
    cr_expect_eq(tm_get(&t, TSS2, 2), SEL_T1);
    cr_expect(cpu_get_eflags(c) & F_NT);
    tm_free(&t);
}

Test(task, switch_faults)
{
    /* JMP to the busy current TSS: #GP(sel) */
    struct tm t = task_new();
    const uint8_t busy[] = { 0xEA, 0, 0, 0, 0, SEL_T1, 0 };
    tm_copy(&t, CODE, busy, sizeof(busy));
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->eip, PM_HANDLER(EX_GP));
    cr_expect_eq(tm_get(&t, t.cpu->r[R_ESP], 4), SEL_T1);
    tm_free(&t);

    /* a TSS limit below 0x67: #TS(sel), still in the old task */
    t = task_new();
    pm_desc(&t, SEL_T2, TSS2, 0x60, 0x89, 0);
    const uint8_t shortt[] = { 0xEA, 0, 0, 0, 0, SEL_T2, 0 };
    tm_copy(&t, CODE, shortt, sizeof(shortt));
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->eip, PM_HANDLER(EX_TS));
    cr_expect_eq(t.cpu->tr.sel, SEL_T1);
    cr_expect_eq(tm_get(&t, t.cpu->r[R_ESP], 4), SEL_T2);
    cr_expect_eq(tm_get(&t, t.cpu->r[R_ESP] + 4, 4), CODE);
    tm_free(&t);

    /* a bad DS in the new TSS: #TS(DS) raised in the new task */
    t = task_new();
    tm_put(&t, TSS2 + 0x54, 0x1F8, 2);
    tm_copy(&t, CODE, shortt, sizeof(shortt));
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->eip, PM_HANDLER(EX_TS));
    cr_expect_eq(t.cpu->tr.sel, SEL_T2);
    cr_expect_eq(t.cpu->r[R_ESP], STK2 - 16);
    cr_expect_eq(tm_get(&t, STK2 - 16, 4), 0x1F8);
    cr_expect_eq(tm_get(&t, STK2 - 12, 4), CODE2, "new task's EIP");
    tm_free(&t);
}

Test(task, sixteen_bit_tss)
{
    struct tm t = task_new();
    struct cpu *c = t.cpu;
    tm_put(&t, TSS16 + 0x0E, 0x6000, 2);   /* IP */
    tm_put(&t, TSS16 + 0x10, 0x0001, 2);   /* FLAGS: CF */
    tm_put(&t, TSS16 + 0x12, 0x1234, 2);   /* AX */
    tm_put(&t, TSS16 + 0x1A, 0xE000, 2);   /* SP */
    tm_put(&t, TSS16 + 0x22, SEL_DATA0, 2);
    tm_put(&t, TSS16 + 0x24, SEL_CODE0, 2);
    tm_put(&t, TSS16 + 0x26, SEL_DATA0, 2);
    tm_put(&t, TSS16 + 0x28, SEL_DATA0, 2);
    const uint8_t go[] = { 0xEA, 0, 0, 0, 0, SEL_T16, 0 };
    tm_copy(&t, CODE, go, sizeof(go));
    tm_put(&t, 0x6000, 0xFEEB, 2);
    cpu_run(c, 1);
    cr_expect_eq(c->tr.sel, SEL_T16);
    cr_expect_eq(c->eip, 0x6000);
    cr_expect_eq(c->r[R_EAX], 0xFFFF1234u);
    cr_expect_eq(c->r[R_ESP], 0xFFFFE000u);
    cr_expect_eq(cpu_get_eflags(c), F_FIXED1 | F_CF);
    cr_expect_eq(c->seg[S_FS].sel, 0);
    cr_expect_eq(c->seg[S_GS].sel, 0);
    cr_expect_eq(pm_access_byte(&t, SEL_T16), 0x83, "16-bit busy TSS");
    tm_free(&t);
}
