/*
 * cpu.h - the x86 CPU state and the public interface of cpu/.
 *
 * kasou models a P6-class (family 6) 32-bit CPU.  All architectural state
 * lives in struct cpu; the interpreter (cpu/interp.c) and the JIT share it.
 *
 * Arithmetic flags are lazy: an instruction records (operation, size,
 * result, operands) in the cc_* fields and the six arithmetic EFLAGS bits
 * are computed only when something reads them (cpu/flags.c).  When cc_op is
 * CC_EAGER the arithmetic bits in `eflags` are authoritative.
 *
 * Faults are raised with cpu_fault(), which records the exception and
 * longjmps back to the execution loop; instructions therefore check
 * everything that can fault before they change architectural state (string
 * instructions under REP commit per iteration, so a restart resumes them).
 */
#ifndef KASOU_CPU_H
#define KASOU_CPU_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

struct bus;
struct insn;

/* General registers, in ModRM order. */
enum { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI };

/* Segment registers, in the order of the Sreg ModRM field. */
enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_NONE = 7 };

/* CPUID leaf 1 EAX, also EDX after reset: family 6, model 3, stepping 3 */
#define CPU_SIGNATURE 0x0633u

/* EFLAGS bits */
#define F_CF   0x00000001u
#define F_FIXED1 0x00000002u
#define F_PF   0x00000004u
#define F_AF   0x00000010u
#define F_ZF   0x00000040u
#define F_SF   0x00000080u
#define F_TF   0x00000100u
#define F_IF   0x00000200u
#define F_DF   0x00000400u
#define F_OF   0x00000800u
#define F_IOPL 0x00003000u
#define F_NT   0x00004000u
#define F_RF   0x00010000u
#define F_VM   0x00020000u
#define F_AC   0x00040000u
#define F_VIF  0x00080000u
#define F_VIP  0x00100000u
#define F_ID   0x00200000u
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

/* CR0 bits */
#define CR0_PE 0x00000001u
#define CR0_MP 0x00000002u
#define CR0_EM 0x00000004u
#define CR0_TS 0x00000008u
#define CR0_ET 0x00000010u
#define CR0_NE 0x00000020u
#define CR0_WP 0x00010000u
#define CR0_AM 0x00040000u
#define CR0_NW 0x20000000u
#define CR0_CD 0x40000000u
#define CR0_PG 0x80000000u

/* CR4 bits (those a P6 implements) */
#define CR4_VME 0x0001u
#define CR4_PVI 0x0002u
#define CR4_TSD 0x0004u
#define CR4_DE  0x0008u
#define CR4_PSE 0x0010u
#define CR4_PAE 0x0020u
#define CR4_MCE 0x0040u
#define CR4_PGE 0x0080u
#define CR4_PCE 0x0100u
#define CR4_OSFXSR 0x0200u

/* DR6/DR7 bits */
#define DR6_BD 0x2000u    /* debug-register access detected (DR7.GD) */
#define DR6_BS 0x4000u    /* single step */
#define DR6_BT 0x8000u    /* task switch (TSS T bit) */
#define DR7_GD 0x2000u    /* general detect: MOV DRn faults #DB */

/* Exception vectors */
enum {
    EX_DE = 0, EX_DB = 1, EX_NMI = 2, EX_BP = 3, EX_OF = 4, EX_BR = 5,
    EX_UD = 6, EX_NM = 7, EX_DF = 8, EX_TS = 10, EX_NP = 11, EX_SS = 12,
    EX_GP = 13, EX_PF = 14, EX_MF = 16, EX_AC = 17, EX_MC = 18,
};
#define EXC_NOERR 0xFFFFFFFFu /* error-code argument for vectors without one */

/*
 * A loaded segment register: the visible selector and the hidden
 * descriptor cache.  `ar` holds the descriptor's access-rights bits exactly
 * as LAR returns them (bits 8-23 of the high dword: type, S, DPL, P, AVL,
 * D/B, G); `limit` is the expanded byte limit.
 */
struct seg {
    uint16_t sel;
    uint32_t base;
    uint32_t limit;
    uint32_t ar;
};
#define AR_TYPE(ar) (((ar) >> 8) & 0xF)
#define AR_S    0x1000u   /* code/data (1) or system (0) */
#define AR_DPL(ar) (((ar) >> 13) & 3)
#define AR_P    0x8000u
#define AR_AVL  0x100000u
#define AR_DB   0x400000u
#define AR_G    0x800000u

struct dtr {
    uint32_t base;
    uint16_t limit;
};

/* Lazy-flag operations; see cpu/flags.c. */
enum cc_op {
    CC_EAGER,   /* arithmetic bits are in cpu->eflags */
    CC_ADD,     /* res = a + b */
    CC_ADC,     /* res = a + b + carry-in (aux) */
    CC_SUB,     /* res = a - b */
    CC_SBB,     /* res = a - b - borrow-in (aux) */
    CC_LOGIC,   /* res = a op b; CF = OF = AF = 0 */
    CC_INC,     /* res = a + 1; CF = aux */
    CC_DEC,     /* res = a - 1; CF = aux */
    CC_SHIFT,   /* shifts, SHLD/SHRD, MUL/IMUL: SF/ZF/PF from res, AF = 0,
                   CF and OF given as F_CF | F_OF bits in aux */
};

/*
 * Software TLB: one direct-mapped table per privilege and access kind,
 * large enough to map 32 MiB per table.  Flushes visit only the entries
 * filled since the last one (tlb_log) unless more were filled than it holds.
 */
#define TLB_BITS 13
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_LOG 2048u
enum { TLB_READ, TLB_WRITE, TLB_EXEC, TLB_KINDS };
struct tlb_entry {
    uint32_t tag;       /* linear page | TLB_* flags; TLB_INVALID when empty */
    uint32_t phys;      /* physical page address | TLB_GLOBAL */
    uintptr_t addend;   /* host pointer = addend + linear address */
};
#define TLB_INVALID 0x1u   /* tag bit: entry unusable */
#define TLB_GLOBAL 0x1u    /* phys bit: a global page (PGE), kept by CR3 loads */
/* index into cpu->tlb of linear address lin's entry for user (0/1) and kind */
#define TLB_SLOT(user, kind, lin) \
    (((unsigned)(user) * TLB_KINDS + (unsigned)(kind)) * TLB_SIZE + (((lin) >> 12) & (TLB_SIZE - 1)))
/* tag bit of a write entry for a page holding translated code: the fast
 * paths miss, the slow path writes through the bus without a page walk */
#define TLB_CODE 0x2u

/* Lines of the interpreter's decoded-instruction cache (a power of two). */
#define ICACHE_LINES 4096u

/* x87 FPU state */
struct fpu {
    uint64_t mant[8];  /* physical registers R0-R7, 80-bit: mant + sexp */
    uint16_t sexp[8];
    uint16_t cw, sw, tw; /* tw: full 2-bit-per-register tag word */
    uint16_t fop;
    uint32_t fip, fdp;
    uint16_t fcs, fds;
};

/* Machine-specific registers that a P6 keeps. */
struct msrs {
    uint64_t tsc_offset;
    uint32_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t apic_base;
    uint64_t mtrr_cap, mtrr_def_type, mtrr_fixed[11], mtrr_var[16];
    uint64_t pat, misc_enable, bios_sign_id, platform_id;
    uint64_t perfctr[2];        /* PERFCTR0/1 (they hold their value: no events counted) */
    uint32_t perfevtsel[2];     /* EVNTSEL0/1 */
    uint64_t mcg_status;
};

struct cpu {
    uint32_t r[8];
    uint32_t eip;
    uint32_t next_eip;  /* eip of the instruction after the current one */
    uint32_t eflags;    /* arithmetic bits valid only if cc_op == CC_EAGER */

    /* lazy flags */
    uint8_t cc_op, cc_size; /* cc_size: 8, 16 or 32 */
    uint32_t cc_res, cc_a, cc_b, cc_aux;

    /*
     * Translated code (jit/): blocks stop at their next entry once icount
     * reaches jit_limit (an interrupt request zeroes it), and after the
     * current instruction when jit_stop is set (a store hit translated code).
     */
    uint64_t jit_limit;
    uint8_t jit_stop;
    /* Scratch of translated code: a deferred instruction's source or
     * result (jit/lower.c, the flags only a fault could see), and the
     * carry-in of an ADC/SBB across its memory read. */
    uint32_t jit_defer, jit_carry;
    /* Host addends of TLB lookups that covered the later accesses of a
     * block through the same base registers too (jit/lower.c); 0: none. */
    uintptr_t jit_page[4];
    /*
     * Return-address cache of translated code (jit/lower.c): an inline
     * CALL pushes its return EIP with the host code of the block there
     * (once known) and the CALL site's constant to fill in; RET pops and
     * jumps straight there when the EIPs match.  Emptied whenever the CPU
     * loop starts a run of blocks, so it never outlives a mode or mapping.
     */
    uint8_t jit_ras_top;
    struct jit_ras {
        uint32_t eip;
        const void *code;
        void *site;
    } jit_ras[16];

    struct seg seg[6];
    struct seg ldtr, tr;
    struct dtr gdtr, idtr;
    uint32_t cr0, cr2, cr3, cr4;
    uint32_t dr[8];
    uint8_t cpl;

    struct fpu fpu;
    struct msrs msr;

    /* memory */
    struct bus *bus;
    uint32_t a20_mask;  /* 0xFFFFFFFF, or ~(1 << 20) with A20 off */
    uint64_t bus_gen;   /* bus map generation the TLB was filled under */
    /* [(user * TLB_KINDS + kind) * TLB_SIZE + index]: see TLB_SLOT */
    struct tlb_entry tlb[2 * TLB_KINDS * TLB_SIZE];
    /* entries filled since the last flush, as indices into tlb: [0] the
     * non-global ones (a CR3 load visits only these), [1] the global ones;
     * n > TLB_LOG: more than that were filled, visits cover every entry */
    struct tlb_log {
        uint32_t n;
        uint32_t idx[TLB_LOG];
    } tlb_log[2];
    uint32_t tlb_large[32]; /* bitmap of 4 MiB regions with 4 MiB-page TLB entries */
    bool walk_writes;       /* the page walk is setting accessed/dirty bits */

    /* execution control */
    jmp_buf jmp;          /* cpu_fault() longjmps here */
    bool jmp_valid;
    int exc_vec;          /* pending exception being delivered, or -1 */
    uint32_t exc_err;
    int exc_depth;        /* nested fault count for #DF / triple fault */
    bool halted;
    bool intr_line;       /* INTR pin level */
    bool nmi_pending;
    bool nmi_blocked;
    uint8_t inhibit_irq;  /* one-instruction shadow: INHIBIT_STI after STI
                             (interrupts), INHIBIT_MOV_SS after a load of
                             SS by MOV or POP (interrupts and debug traps) */
    bool trap_after;      /* single-step trap due after this instruction */
    bool soft_int_taken;  /* INT n/INT3/INTO/INT1 delivered: no single-step
                             trap after it (TF is reloaded by IRET) */
    uint32_t dr6_pending; /* DR6 bits to report with the next #DB */
    bool reset_request;   /* triple fault or guest reset request */
    bool ferr;            /* FERR# output level (legacy x87 error reporting) */
    uint64_t icount;      /* retired instructions */
    uint64_t tsc_base;
    bool dbg_armed;       /* DR7 enables a breakpoint: interp/MMU check DR0-3 */

    /*
     * An execution engine cpu_run() hands whole runs of instructions to
     * (the JIT), or NULL.  code_pages[phys >> 12] != 0 marks pages it
     * translated code from: they get no write TLB entries, so stores to
     * them reach the bus and its write_notify hook.
     */
    const struct cpu_accel *accel;
    void *accel_opaque;
    const uint8_t *code_pages;
    /* A run may go past its budget by one block of translated code (time
     * is the host's, so nothing depends on where a run ends); otherwise
     * the interpreter runs the instructions left when no block fits. */
    bool run_may_overrun;

    /* machine hooks (set by the board) */
    void *hook_opaque;
    int (*intr_ack)(void *opaque);            /* INTA cycle: returns vector */
    void (*ferr_changed)(void *opaque, bool level);
    void (*a20_changed)(void *opaque, bool on);
    uint64_t (*clock_ns)(void *opaque);       /* virtual time, for RDTSC */
    /* IA32_APIC_BASE was written; set only when a local APIC is attached
     * (CPUID then reports the APIC while the MSR's enable bit is set) */
    void (*apic_base_changed)(void *opaque, uint64_t value);

    /* per-instruction scratch used by the interpreter */
    uint32_t ea;          /* effective offset of the ModRM memory operand */
    uint8_t rep_active;

    /*
     * Decoded-instruction cache of the interpreter (cpu/interp.c), keyed
     * by the host address of the instruction's first byte.  A line holds
     * the bytes it was decoded from and is used only while guest memory
     * still holds those bytes, so writes (self-modifying code, aliases,
     * DMA) need no invalidation.  `insn` is a struct insn, copied in/out.
     */
    struct icache_line {
        uintptr_t key;          /* 2 * host address + 32-bit code; 0: empty */
        uint64_t bytes[2];      /* instruction bytes, zero beyond len */
        uint64_t mask[2];       /* 0xFF in each byte below len */
        uint8_t len;
        _Alignas(8) unsigned char insn[48];
    } icache[ICACHE_LINES];
};

enum { INHIBIT_STI = 1, INHIBIT_MOV_SS = 2 };

struct cpu_accel {
    const char *name;
    /* Run from CS:EIP while icount < limit; false: nothing runnable here
     * (the interpreter executes one instruction instead). */
    bool (*exec)(struct cpu *cpu, uint64_t limit);
    /* The bus map changed: code cached by physical address in the range
     * bus_take_changed reports is stale. */
    void (*bus_changed)(struct cpu *cpu);
};

/* --- life cycle (cpu/cpu.c) --- */
void cpu_init(struct cpu *cpu, struct bus *bus);
void cpu_reset(struct cpu *cpu);
/* INIT#: as RESET, but the x87 state, the MSRs and the TSC are kept
 * (SDM vol.3 table 9-1). */
void cpu_init_signal(struct cpu *cpu);

/* --- execution (cpu/interp.c) --- */
/* Run up to `max` instructions; returns the number retired. */
uint64_t cpu_run(struct cpu *cpu, uint64_t max);
/* Execute exactly one instruction (or deliver one pending event). */
void cpu_step(struct cpu *cpu);
/* Execute the instruction at CS:EIP without taking events first (faults
 * longjmp to cpu->jmp); the JIT's lockstep check replays blocks with it. */
void cpu_exec_one(struct cpu *cpu);
void cpu_set_intr(struct cpu *cpu, bool level);
/* The A20 gate: with it off, physical address bit 20 reads as zero. */
void cpu_set_a20(struct cpu *cpu, bool on);
void cpu_raise_nmi(struct cpu *cpu);
/* Recompute dbg_armed after DR0-3/DR7 change (task switches clear DR7.Ln). */
void cpu_debug_update(struct cpu *cpu);

/* --- faults (cpu/except.c) --- */
_Noreturn void cpu_fault(struct cpu *cpu, int vec, uint32_t err);
/* Deliver an interrupt or exception through the IDT/IVT. */
void cpu_interrupt(struct cpu *cpu, int vec, uint32_t err, int kind);
enum { INT_HW, INT_EXC, INT_SOFT, INT_ICEBP };
/* Log once per site and raise #UD (unimplemented or undefined insn). */
_Noreturn void cpu_undefined(struct cpu *cpu, const struct insn *in);

/* --- flags (cpu/flags.c) --- */
uint32_t cpu_get_eflags(struct cpu *cpu);
/* Write EFLAGS bits under `mask` (no privilege checks: callers do them). */
void cpu_set_eflags(struct cpu *cpu, uint32_t val, uint32_t mask);
bool cpu_cf(struct cpu *cpu);
bool cpu_cond(struct cpu *cpu, int cc); /* Jcc condition code 0..15 */
static inline void cc_set(struct cpu *cpu, enum cc_op op, int size,
                          uint32_t res, uint32_t a, uint32_t b)
{
    cpu->cc_op = (uint8_t)op;
    cpu->cc_size = (uint8_t)size;
    cpu->cc_res = res;
    cpu->cc_a = a;
    cpu->cc_b = b;
}
/* Replace the arithmetic flags by `flags` (bits under F_ARITH). */
void cc_set_eager(struct cpu *cpu, uint32_t flags);
uint8_t parity8(uint32_t v);

/* --- modes --- */
static inline bool cpu_pmode(const struct cpu *cpu) { return cpu->cr0 & CR0_PE; }
static inline bool cpu_v86(const struct cpu *cpu) { return cpu->eflags & F_VM; }
static inline bool cpu_real(const struct cpu *cpu) { return !(cpu->cr0 & CR0_PE); }
static inline unsigned cpu_iopl(const struct cpu *cpu) { return (cpu->eflags >> 12) & 3; }
static inline bool cpu_code32(const struct cpu *cpu) { return cpu->seg[S_CS].ar & AR_DB; }
static inline bool cpu_stack32(const struct cpu *cpu) { return cpu->seg[S_SS].ar & AR_DB; }

/* --- segment loads (cpu/seg.c) --- */
/* Load a segment register as MOV/POP/LDS do (mode-dependent checks). */
void cpu_load_seg(struct cpu *cpu, int sreg, uint16_t sel);
/* Real-mode / V86 style load: base = sel << 4, no checks. */
void cpu_load_seg_real(struct cpu *cpu, int sreg, uint16_t sel);
/* Read a descriptor (8 bytes) from the GDT/LDT; faults with `vec` on limit. */
bool cpu_read_desc(struct cpu *cpu, uint16_t sel, uint32_t d[2]);
/* As cpu_read_desc, but faults vec((sel & ~3) | ext) when out of range. */
void cpu_fetch_desc(struct cpu *cpu, uint16_t sel, uint32_t d[2], int vec, uint32_t ext);
/* Fill a segment cache from descriptor words (base, limit by G, LAR bits). */
void cpu_desc_to_seg(struct seg *s, uint16_t sel, const uint32_t d[2]);
/* Set the accessed bit of a code/data descriptor in memory (and in d). */
void cpu_desc_set_accessed(struct cpu *cpu, uint16_t sel, uint32_t d[2]);
/* Rewrite the high dword of sel's descriptor (TSS busy bits). */
void cpu_desc_write_hi(struct cpu *cpu, uint16_t sel, uint32_t hi);
/*
 * LAR/LSL/VERR/VERW test: true if sel names a descriptor of a type the
 * instruction accepts and visible at CPL and RPL; d receives the words.
 */
enum { SELCHK_LAR, SELCHK_LSL, SELCHK_VERR, SELCHK_VERW };
bool cpu_sel_check(struct cpu *cpu, uint16_t sel, int kind, uint32_t d[2]);
/* After a return to an outer ring: null DS/ES/FS/GS the new CPL may not use. */
void cpu_null_outer_segs(struct cpu *cpu);
/*
 * The GDT descriptor of a system segment named by LLDT, LTR, a task gate or
 * a nested-task return: an LDT selector, one beyond the GDT limit, or a
 * descriptor with S set or a type not in the bit set `types` faults
 * vec((sel & ~3) | ext); a present bit of 0 faults np_vec with that code.
 */
void cpu_fetch_sys_desc(struct cpu *cpu, uint16_t sel, unsigned types, int vec,
                        int np_vec, uint32_t ext, uint32_t d[2]);

/* --- hardware task switch (cpu/task.c) --- */
enum { TS_JMP, TS_CALL, TS_IRET, TS_INT };
/*
 * Switch to the task whose TSS descriptor is (sel, d), which the caller has
 * checked for type, privilege and presence.  old_eip is saved in the old
 * TSS; err (or EXC_NOERR) is pushed on the new task's stack; ext is the EXT
 * bit for faults raised while loading the new task.
 */
void cpu_task_switch(struct cpu *cpu, uint16_t sel, const uint32_t d[2], int src,
                     uint32_t old_eip, uint32_t err, uint32_t ext);

/* --- register access helpers --- */
static inline uint8_t reg8(const struct cpu *cpu, int r)
{
    return r < 4 ? (uint8_t)cpu->r[r] : (uint8_t)(cpu->r[r - 4] >> 8);
}
static inline void set_reg8(struct cpu *cpu, int r, uint8_t v)
{
    if (r < 4) {
        cpu->r[r] = (cpu->r[r] & ~0xFFu) | v;
    } else {
        cpu->r[r - 4] = (cpu->r[r - 4] & ~0xFF00u) | ((uint32_t)v << 8);
    }
}
static inline void set_reg16(struct cpu *cpu, int r, uint16_t v)
{
    cpu->r[r] = (cpu->r[r] & ~0xFFFFu) | v;
}
/* Read/write a general register of `size` bits (8/16/32; 8 uses AH.. mapping). */
static inline uint32_t reg_get(const struct cpu *cpu, int r, int size)
{
    return size == 8 ? reg8(cpu, r) : size == 16 ? (cpu->r[r] & 0xFFFF) : cpu->r[r];
}
static inline void reg_set(struct cpu *cpu, int r, int size, uint32_t v)
{
    if (size == 8) {
        set_reg8(cpu, r, (uint8_t)v);
    } else if (size == 16) {
        set_reg16(cpu, r, (uint16_t)v);
    } else {
        cpu->r[r] = v;
    }
}
static inline uint32_t size_mask(int size)
{
    return size == 32 ? 0xFFFFFFFFu : (1u << size) - 1;
}

#endif
