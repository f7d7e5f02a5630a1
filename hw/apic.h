/*
 * apic.h - the local APIC of a P6-family CPU (Pentium Pro / Pentium II):
 * version 0x11 with five LVT entries (timer, performance counter, LINT0,
 * LINT1, error), memory-mapped at IA32_APIC_BASE (0xFEE00000 after reset).
 *
 * The local APIC sits between the CPU's INTR/NMI inputs and the
 * interrupt sources: its own timer and error LVT entries, its LINT0/LINT1
 * pins (the 8259's INT and the board's NMI) and the messages of the APIC
 * bus (from the I/O APIC, or the CPU's own IPIs).  The board gives it the
 * CPU side as hooks: the INTR level, an NMI, the INTA cycle of the 8259
 * for ExtINT interrupts, and the EOI broadcast for level-triggered vectors.
 *
 * Apart from the SDM, kasou does what QEMU does for a PC that never
 * programs the APIC: while the APIC is globally disabled (IA32_APIC_BASE
 * bit 11) or software-disabled (SVR bit 8), LINT0 is the 8259's INT wired
 * straight to INTR and LINT1 the NMI, the "virtual wire" a BIOS sets up,
 * so real-mode software and DOS see a plain PC/AT.
 */
#ifndef KASOU_APIC_H
#define KASOU_APIC_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/timer.h"

struct bus;

#define APIC_DEFAULT_BASE 0xFEE00000u
#define APIC_VERSION 0x00040011u      /* max LVT entry 4, version 11h (P6) */
#define APIC_BUS_HZ 100000000u        /* the timer counts 100 MHz bus clocks */
#define APIC_BASE_BSP 0x100u          /* IA32_APIC_BASE bits */
#define APIC_BASE_ENABLE 0x800u

/* Delivery modes (ICR, LVT and I/O APIC redirection entries, bits 10:8). */
enum apic_delivery {
    APIC_DM_FIXED = 0,
    APIC_DM_LOWEST = 1,
    APIC_DM_SMI = 2,
    APIC_DM_NMI = 4,
    APIC_DM_INIT = 5,
    APIC_DM_STARTUP = 6,
    APIC_DM_EXTINT = 7,
};

/* One interrupt message on the APIC bus. */
struct apic_msg {
    uint8_t vector;
    uint8_t mode;      /* enum apic_delivery */
    uint8_t dest;      /* destination field (an APIC ID, or a logical set) */
    bool logical;      /* destination mode: logical (LDR/DFR) or physical */
    bool level;        /* level-triggered: the vector's TMR bit is set */
};

/* The CPU side of the APIC, given by the board. */
struct apic_hooks {
    void (*set_intr)(void *opaque, bool level);   /* the CPU's INTR input */
    void (*nmi)(void *opaque);                    /* raise an NMI */
    int (*extint_ack)(void *opaque);              /* 8259 INTA cycle: vector */
    void (*eoi)(void *opaque, int vector);        /* EOI of a level vector */
};

/* Local vector table entries, in register order from 0x320. */
enum { APIC_LVT_TIMER, APIC_LVT_THERMAL, APIC_LVT_PERF, APIC_LVT_LINT0,
       APIC_LVT_LINT1, APIC_LVT_ERROR, APIC_LVT_COUNT };

struct apic {
    struct bus *bus;
    struct clock *clk;
    const struct apic_hooks *hooks;
    void *opaque;
    struct timer timer;
    uint64_t base_msr;      /* IA32_APIC_BASE as last written */
    uint32_t mapped_base;   /* where the registers are mapped, if mapped */
    bool mapped;
    uint8_t id;             /* 4-bit APIC ID (register bits 27:24) */
    uint8_t tpr;
    uint32_t ldr, dfr, svr;
    uint32_t esr;           /* errors latched by the last ESR write */
    uint32_t esr_pending;   /* errors since then */
    uint32_t icr_lo, icr_hi;
    uint32_t lvt[APIC_LVT_COUNT];
    uint32_t irr[8], isr[8], tmr[8];   /* 256-bit registers, bit v = vector v */
    int irr_max, isr_max;   /* highest set vector, or -1 (kept current) */
    bool lint[2];           /* LINT0/LINT1 input levels */
    bool extint_msg;        /* an ExtINT message awaits its INTA cycle */
    bool intr_out;          /* level driven on the CPU's INTR */
    /* timer: counts down from timer_initial at bus clock / divider */
    uint32_t timer_initial;
    uint32_t divide_conf;
    uint64_t timer_start;   /* virtual ns when the count was (re)loaded */
    bool timer_expired;     /* one-shot reached zero */
};

/* Create the APIC enabled at 0xFEE00000 (power-on state); NULL on failure. */
struct apic *apic_new(struct bus *bus, struct clock *clk, const struct apic_hooks *hooks,
                      void *opaque);
void apic_free(struct apic *apic);
/* RESET#: the power-on state, globally enabled at the default base, ID 0. */
void apic_reset(struct apic *apic);
/* INIT#: as RESET for the registers, but the ID and IA32_APIC_BASE stay. */
void apic_init_signal(struct apic *apic);
/* The CPU wrote IA32_APIC_BASE (MSR 1Bh): base address and global enable. */
void apic_set_base_msr(struct apic *apic, uint64_t value);
/* Drive LINT0 (pin 0) or LINT1 (pin 1); shaped as a struct irq's `set`. */
void apic_set_lint(void *opaque, int pin, int level);
/* A message from the APIC bus; true if this APIC accepted it. */
bool apic_deliver(struct apic *apic, const struct apic_msg *msg);
/* The CPU's INTA cycle: the vector to take (the spurious one if none). */
int apic_ack(struct apic *apic);
/* Is an interrupt waiting for the CPU (INTR asserted)? */
bool apic_pending(const struct apic *apic);
/* Register access at offset `off` from the base (tests, debuggers). */
uint32_t apic_read_reg(struct apic *apic, uint32_t off);
void apic_write_reg(struct apic *apic, uint32_t off, uint32_t val);

#endif
