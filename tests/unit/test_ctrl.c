/*
 * Near control flow (CALL/RET/Jcc/JMP/LOOP/JCXZ), BOUND's #BR, the stack
 * frame instructions and MOV to/from segment registers, in real mode.
 * Expected values follow the SDM's instruction pages.
 */
#include <criterion/criterion.h>

#include "machine.h"

Test(ctrl, call_ret_loop)
{
    struct tm t = tm_new();
    t.cpu->r[R_ECX] = 3;
    t.cpu->r[R_EDX] = 0;   /* after reset EDX holds the CPU signature */
    const uint8_t code[] = { 0xE8, 0x03, 0x00,   /* 1000 call 1006 */
                             0xE2, 0xFB,         /* 1003 loop 1000 */
                             0xF4,               /* 1005 hlt */
                             0x42, 0xC3 };       /* 1006 inc dx; ret */
    tm_run(&t, code, sizeof(code), 100);
    cr_expect(t.cpu->halted);
    cr_expect_eq(t.cpu->r[R_EDX], 3);
    cr_expect_eq(t.cpu->r[R_ECX], 0);
    cr_expect_eq(t.cpu->r[R_ESP], 0x8000);
    cr_expect_eq(t.cpu->eip, 0x1006);  /* HLT leaves EIP after itself */
    tm_free(&t);
}

Test(ctrl, jcc_conditions)
{
    struct tm t = tm_new();
    /* cmp ax,bx with ax=-1, bx=1: signed less, unsigned above */
    t.cpu->r[R_EAX] = 0xFFFF;
    t.cpu->r[R_EBX] = 1;
    const uint8_t code[] = { 0x39, 0xD8 };
    tm_run(&t, code, sizeof(code), 1);
    cr_expect(cpu_cond(t.cpu, 0xC));   /* L */
    cr_expect(cpu_cond(t.cpu, 0x7));   /* A */
    cr_expect(!cpu_cond(t.cpu, 0x2));  /* B */
    cr_expect(!cpu_cond(t.cpu, 0x4));  /* E */
    cr_expect(cpu_cond(t.cpu, 0x8));   /* S */
    cr_expect(!cpu_cond(t.cpu, 0x0));  /* O */
    tm_free(&t);
}

Test(ctrl, ip_wraps_in_16bit_code)
{
    struct tm t = tm_new();
    t.cpu->eip = 0xFFF0;
    const uint8_t code[] = { 0xEB, 0x20 };       /* jmp short +20h */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->eip, 0x0012);
    tm_free(&t);
}

Test(ctrl, near_jump_past_64k_faults)
{
    struct tm t = tm_new();
    tm_ivt_hlt(&t, EX_GP, 0x3000);
    /* o32 jmp rel32 to 0x11009: outside the 64 KiB CS limit -> #GP(0) */
    const uint8_t code[] = { 0x66, 0xE9, 0x03, 0x00, 0x01, 0x00 };
    tm_run(&t, code, sizeof(code), 2);
    cr_expect(t.cpu->halted);
    cr_expect_eq(t.cpu->eip, 0x3001);
    cr_expect_eq(tm_get(&t, 0x7FFA, 2), 0x1000);     /* fault: IP of the JMP */
    tm_free(&t);
}

Test(ctrl, jcxz_and_loop_follow_address_size)
{
    struct tm t = tm_new();
    t.cpu->r[R_ECX] = 0x10000;
    const uint8_t code[] = { 0xE3, 0x10,             /* 1000 jcxz 1012: CX=0 */
                             0x00, 0x00 };
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->eip, 0x1012);
    t.cpu->eip = 0x1020;
    const uint8_t code2[] = { 0x67, 0xE2, 0x10 };    /* a32 loop: ECX-1 != 0 */
    tm_run(&t, code2, sizeof(code2), 1);
    cr_expect_eq(t.cpu->r[R_ECX], 0xFFFF);
    cr_expect_eq(t.cpu->eip, 0x1033);
    tm_free(&t);
}

Test(ctrl, ret_imm_and_indirect_call)
{
    struct tm t = tm_new();
    t.bus->ram[0x2000] = 0x00;
    t.bus->ram[0x2001] = 0x11;                   /* [2000] = 1100h */
    t.bus->ram[0x1100] = 0xC2;                   /* 1100 ret 4 */
    t.bus->ram[0x1101] = 0x04;
    t.bus->ram[0x1102] = 0x00;
    const uint8_t code[] = { 0xFF, 0x16, 0x00, 0x20 };  /* call [2000h] */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->eip, 0x1100);
    cr_expect_eq(t.cpu->r[R_ESP], 0x7FFE);
    cr_expect_eq(tm_get(&t, 0x7FFE, 2), 0x1004);
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->eip, 0x1004);
    cr_expect_eq(t.cpu->r[R_ESP], 0x8004);
    tm_free(&t);
}

Test(ctrl, bound_raises_br_at_the_instruction)
{
    struct tm t = tm_new();
    tm_ivt_hlt(&t, EX_BR, 0x3000);
    t.bus->ram[0x2000] = 0xF6;                   /* lower bound -10 */
    t.bus->ram[0x2001] = 0xFF;
    t.bus->ram[0x2002] = 0x0A;                   /* upper bound 10 */
    t.bus->ram[0x2003] = 0x00;
    t.cpu->r[R_EAX] = 0xFFF6;                    /* -10: inside */
    const uint8_t code[] = { 0x62, 0x06, 0x00, 0x20,    /* bound ax,[2000h] */
                             0x62, 0x1E, 0x00, 0x20 };  /* bound bx,[2000h] */
    t.cpu->r[R_EBX] = 11;                        /* outside */
    tm_run(&t, code, sizeof(code), 3);
    cr_expect(t.cpu->halted);
    cr_expect_eq(t.cpu->eip, 0x3001);
    cr_expect_eq(tm_get(&t, 0x7FFA, 2), 0x1004);     /* IP of the second BOUND */
    tm_free(&t);
}

Test(stack, enter_nested_and_leave)
{
    struct tm t = tm_new();
    t.cpu->r[R_EBP] = 0x7000;
    t.bus->ram[0x6FFE] = 0x34;                   /* outer frame's display */
    t.bus->ram[0x6FFF] = 0x12;
    const uint8_t code[] = { 0xC8, 0x08, 0x00, 0x02,    /* enter 8,2 */
                             0xC9 };                    /* leave */
    tm_run(&t, code, sizeof(code), 1);
    /* push bp; push [bp-2]; push frame; sp -= 8 */
    cr_expect_eq(tm_get(&t, 0x7FFE, 2), 0x7000);
    cr_expect_eq(tm_get(&t, 0x7FFC, 2), 0x1234);
    cr_expect_eq(tm_get(&t, 0x7FFA, 2), 0x7FFE);
    cr_expect_eq(t.cpu->r[R_EBP], 0x7FFE);
    cr_expect_eq(t.cpu->r[R_ESP], 0x7FF2);
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->r[R_EBP], 0x7000);
    cr_expect_eq(t.cpu->r[R_ESP], 0x8000);
    tm_free(&t);
}

Test(stack, pusha_popa_skip_sp)
{
    struct tm t = tm_new();
    for (int r = 0; r < 8; r++) {
        if (r != R_ESP) {
            t.cpu->r[r] = 0x1111u * (unsigned)(r + 1);
        }
    }
    const uint8_t code[] = { 0x60, 0x61 };         /* pusha; popa */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_ESP], 0x7FF0);
    cr_expect_eq(tm_get(&t, 0x7FF6, 2), 0x8000);      /* SP as it was */
    cr_expect_eq(tm_get(&t, 0x7FF0, 2), 0x8888);      /* DI last */
    t.cpu->r[R_EAX] = 0;
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->r[R_EAX], 0x1111);
    cr_expect_eq(t.cpu->r[R_ESP], 0x8000);
    tm_free(&t);
}

Test(stack, pop_mem_uses_incremented_sp)
{
    struct tm t = tm_new();
    t.bus->ram[0x7FFE] = 0xCD;
    t.bus->ram[0x7FFF] = 0xAB;
    t.cpu->r[R_ESP] = 0x7FFE;
    /* a32 pop word [esp]: the address uses SP after the pop (SDM POP) */
    const uint8_t code[] = { 0x67, 0x8F, 0x04, 0x24 };
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_ESP], 0x8000);
    cr_expect_eq(tm_get(&t, 0x8000, 2), 0xABCD);
    tm_free(&t);
}

Test(sreg, mov_to_and_from_segment_registers)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x1234;
    t.cpu->r[R_EBX] = 0xFFFFFFFFu;
    const uint8_t code[] = { 0x8E, 0xC0,            /* mov es,ax */
                             0x66, 0x8C, 0xC3,      /* mov ebx,es */
                             0x8C, 0x06, 0x00, 0x20 }; /* mov [2000h],es */
    tm_run(&t, code, sizeof(code), 3);
    cr_expect_eq(t.cpu->seg[S_ES].sel, 0x1234);
    cr_expect_eq(t.cpu->seg[S_ES].base, 0x12340);
    cr_expect_eq(t.cpu->r[R_EBX], 0x1234);        /* P6: zero-extended */
    cr_expect_eq(tm_get(&t, 0x2000, 2), 0x1234);
    tm_free(&t);
}

Test(sreg, mov_cs_is_undefined)
{
    struct tm t = tm_new();
    tm_ivt_hlt(&t, EX_UD, 0x3000);
    const uint8_t code[] = { 0x8E, 0xC8 };          /* mov cs,ax */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect(t.cpu->halted);
    cr_expect_eq(t.cpu->eip, 0x3001);
    cr_expect_eq(t.cpu->seg[S_CS].sel, 0);
    tm_free(&t);
}

Test(sreg, mov_ss_inhibits_interrupts)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x0100;
    const uint8_t code[] = { 0x8E, 0xD0 };          /* mov ss,ax */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->seg[S_SS].base, 0x1000);
    cr_expect(t.cpu->inhibit_irq);
    tm_free(&t);
}

/*
 * Single-stepping MOV SS: the trap comes after the instruction that
 * follows it, both executed as one step (SDM vol.3 6.8.3); an ordinary
 * instruction traps right after itself.
 */
Test(ctrl, single_step_over_mov_ss)
{
    struct tm t = tm_new();
    tm_ivt_hlt(&t, EX_DB, 0x2000);
    const uint8_t code[] = { 0x8E, 0xD0,         /* 1000 mov ss,ax */
                             0xBB, 0x01, 0x00,   /* 1002 mov bx,1 */
                             0xB9, 0x02, 0x00 }; /* 1005 mov cx,2 */
    t.cpu->r[R_EAX] = 0;
    t.cpu->r[R_EBX] = 0;
    t.cpu->r[R_ECX] = 0;
    cpu_set_eflags(t.cpu, F_TF, F_TF);
    tm_run(&t, code, sizeof(code), 10);  /* stops at the handler's HLT */
    cr_expect(t.cpu->halted);
    cr_expect_eq(t.cpu->eip, 0x2001, "in the #DB handler");
    cr_expect_eq(t.cpu->r[R_EBX], 1, "MOV BX ran before the trap");
    cr_expect_eq(t.cpu->r[R_ECX], 0, "MOV CX did not");
    cr_expect_eq(tm_get(&t, 0x8000 - 6, 2), 0x1005, "trap reports the next IP");
    cr_expect(t.cpu->dr[6] & DR6_BS);
    tm_free(&t);
}

Test(ctrl, single_step_traps_after_each_instruction)
{
    struct tm t = tm_new();
    tm_ivt_hlt(&t, EX_DB, 0x2000);
    const uint8_t code[] = { 0xBB, 0x01, 0x00,   /* 1000 mov bx,1 */
                             0xB9, 0x02, 0x00 }; /* 1003 mov cx,2 */
    t.cpu->r[R_EBX] = 0;
    t.cpu->r[R_ECX] = 0;
    cpu_set_eflags(t.cpu, F_TF, F_TF);
    tm_run(&t, code, sizeof(code), 10);
    cr_expect(t.cpu->halted);
    cr_expect_eq(t.cpu->eip, 0x2001);
    cr_expect_eq(t.cpu->r[R_EBX], 1);
    cr_expect_eq(t.cpu->r[R_ECX], 0);
    cr_expect_eq(tm_get(&t, 0x8000 - 6, 2), 0x1003);
    tm_free(&t);
}
