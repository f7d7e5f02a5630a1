/*
 * apic.c - the P6 local APIC (see apic.h; Intel SDM vol.3 chapter 10).
 *
 * Interrupt flow.  A fixed interrupt (from the timer, the LVT, an IPI or
 * the I/O APIC) sets its bit in IRR (and in TMR when level-triggered).
 * The APIC drives the CPU's INTR while the highest IRR vector's priority
 * class is above the processor priority (PPR: the higher of TPR and the
 * highest in-service class), or while an ExtINT source (the 8259 on LINT0
 * in ExtINT mode, or an ExtINT message) is asserted.  The CPU's INTA cycle
 * (apic_ack) takes the ExtINT vector from the 8259 first, else moves the
 * highest IRR bit to ISR; a write to EOI clears the highest ISR bit and,
 * for a vector whose TMR bit is set, broadcasts the EOI to the I/O APIC.
 *
 * The highest IRR and ISR vectors are cached (irr_max, isr_max) and the
 * INTR level is recomputed only when something changes, so the CPU's
 * per-instruction check stays a test of one boolean.
 *
 * The timer counts at APIC_BUS_HZ / divider on the virtual clock.  The
 * current count is computed from the time the count was loaded; a host
 * timer is armed only while the count runs and the LVT entry is unmasked.
 */
#include "apic.h"

#include <stdlib.h>
#include <string.h>

#include "hw/bus.h"
#include "util/log.h"

#define APIC_MMIO_LEN 0x1000u
#define NS_PER_BUS_CLOCK (NS_PER_SEC / APIC_BUS_HZ)

/* Register offsets. */
enum {
    REG_ID = 0x020, REG_VERSION = 0x030, REG_TPR = 0x080, REG_APR = 0x090,
    REG_PPR = 0x0A0, REG_EOI = 0x0B0, REG_RRD = 0x0C0, REG_LDR = 0x0D0,
    REG_DFR = 0x0E0, REG_SVR = 0x0F0, REG_ISR = 0x100, REG_TMR = 0x180,
    REG_IRR = 0x200, REG_ESR = 0x280, REG_ICR_LO = 0x300, REG_ICR_HI = 0x310,
    REG_LVT = 0x320, REG_LVT_END = 0x380, REG_TIMER_INIT = 0x380,
    REG_TIMER_CUR = 0x390, REG_TIMER_DIV = 0x3E0,
};

/* LVT, ICR and SVR bits. */
#define LVT_VECTOR 0x000000FFu
#define LVT_MODE 0x00000700u
#define LVT_STATUS (1u << 12)
#define LVT_POLARITY (1u << 13)
#define LVT_REMOTE_IRR (1u << 14)
#define LVT_LEVEL (1u << 15)
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define SVR_ENABLE (1u << 8)
#define SVR_FOCUS_OFF (1u << 9)
#define ICR_LOGICAL (1u << 11)
#define ICR_ASSERT (1u << 14)
#define ICR_LEVEL (1u << 15)

/* ESR bits (P6: send/receive accept errors are bus errors we never see). */
#define ESR_SEND_ILLEGAL (1u << 5)
#define ESR_RECV_ILLEGAL (1u << 6)
#define ESR_ILLEGAL_REG (1u << 7)

/* Writable bits of each LVT entry (the thermal one does not exist on P6). */
static const uint32_t lvt_writable[APIC_LVT_COUNT] = {
    [APIC_LVT_TIMER] = LVT_VECTOR | LVT_MASKED | LVT_PERIODIC,
    [APIC_LVT_THERMAL] = 0,
    [APIC_LVT_PERF] = LVT_VECTOR | LVT_MODE | LVT_MASKED,
    [APIC_LVT_LINT0] = LVT_VECTOR | LVT_MODE | LVT_POLARITY | LVT_LEVEL | LVT_MASKED,
    [APIC_LVT_LINT1] = LVT_VECTOR | LVT_MODE | LVT_POLARITY | LVT_LEVEL | LVT_MASKED,
    [APIC_LVT_ERROR] = LVT_VECTOR | LVT_MASKED,
};

/* --- 256-bit registers --- */

static void vec_set(uint32_t *bits, int v)
{
    bits[v >> 5] |= 1u << (v & 31);
}

static void vec_clear(uint32_t *bits, int v)
{
    bits[v >> 5] &= ~(1u << (v & 31));
}

static bool vec_test(const uint32_t *bits, int v)
{
    return (bits[v >> 5] >> (v & 31)) & 1;
}

static int vec_highest(const uint32_t *bits)
{
    for (int w = 7; w >= 0; w--) {
        if (bits[w]) {
            int b = 31;
            while (!(bits[w] >> b & 1)) {
                b--;
            }
            return w * 32 + b;
        }
    }
    return -1;
}

/* --- priorities and the INTR output --- */

static bool hw_enabled(const struct apic *apic)
{
    return (apic->base_msr & APIC_BASE_ENABLE) != 0;
}

static bool sw_enabled(const struct apic *apic)
{
    return (apic->svr & SVR_ENABLE) != 0;
}

/*
 * Is an LVT entry masked?  Software-disabled, every entry acts masked.
 * (A write while software-disabled keeps the mask bit as written, as
 * QEMU does, though the SDM says masks stay set: firmware that programs
 * LINT0 before it enables the APIC, as kasou's irqtest ROM does, works.)
 */
static bool lvt_masked(const struct apic *apic, int idx)
{
    return (apic->lvt[idx] & LVT_MASKED) || !sw_enabled(apic);
}

static uint32_t ppr(const struct apic *apic)
{
    uint32_t isrv = apic->isr_max < 0 ? 0 : (uint32_t)apic->isr_max;
    if ((apic->tpr & 0xF0) >= (isrv & 0xF0)) {
        return apic->tpr;
    }
    return isrv & 0xF0;
}

/* Arbitration priority (SDM 10.8.3.1); only reported, one CPU arbitrates alone. */
static uint32_t apr(const struct apic *apic)
{
    uint32_t isrv = apic->isr_max < 0 ? 0 : (uint32_t)apic->isr_max;
    uint32_t irrv = apic->irr_max < 0 ? 0 : (uint32_t)apic->irr_max;
    uint32_t tpr = apic->tpr;
    if ((tpr & 0xF0) >= (irrv & 0xF0) && (tpr & 0xF0) > (isrv & 0xF0)) {
        return tpr;
    }
    uint32_t m = tpr & 0xF0;
    m = (isrv & 0xF0) > m ? (isrv & 0xF0) : m;
    return (irrv & 0xF0) > m ? (irrv & 0xF0) : m;
}

/* Is the 8259 on LINT0 routed to INTR (the virtual wire)? */
static bool lint0_extint(const struct apic *apic)
{
    uint32_t lvt = apic->lvt[APIC_LVT_LINT0];
    if (!hw_enabled(apic) || !sw_enabled(apic)) {
        return true;
    }
    return (lvt & LVT_MODE) == (uint32_t)APIC_DM_EXTINT << 8 && !(lvt & LVT_MASKED);
}

static bool extint_pending(const struct apic *apic)
{
    return (lint0_extint(apic) && apic->lint[0]) || apic->extint_msg;
}

static bool fixed_pending(const struct apic *apic)
{
    return hw_enabled(apic) && apic->irr_max >= 0 &&
           ((uint32_t)apic->irr_max & 0xF0) > (ppr(apic) & 0xF0);
}

/* Recompute the INTR level after any change of state. */
static void update_intr(struct apic *apic)
{
    bool level = extint_pending(apic) || fixed_pending(apic);
    if (level != apic->intr_out) {
        apic->intr_out = level;
        apic->hooks->set_intr(apic->opaque, level);
    }
}

static void raise_error(struct apic *apic, uint32_t bits);

/* A fixed interrupt arrives: IRR, and TMR when it is level-triggered. */
static void accept_fixed(struct apic *apic, int vector, bool level)
{
    if (vector < 16) {
        raise_error(apic, ESR_RECV_ILLEGAL);
        return;
    }
    vec_set(apic->irr, vector);
    if (level) {
        vec_set(apic->tmr, vector);
    } else {
        vec_clear(apic->tmr, vector);
    }
    if (vector > apic->irr_max) {
        apic->irr_max = vector;
    }
    update_intr(apic);
}

static void raise_error(struct apic *apic, uint32_t bits)
{
    apic->esr_pending |= bits;
    uint32_t lvt = apic->lvt[APIC_LVT_ERROR];
    if (!lvt_masked(apic, APIC_LVT_ERROR) && (lvt & LVT_VECTOR) >= 16) {
        accept_fixed(apic, (int)(lvt & LVT_VECTOR), false);
    }
}

/* Deliver through a local vector table entry (timer, LINTn, error). */
static void lvt_deliver(struct apic *apic, int idx)
{
    uint32_t lvt = apic->lvt[idx];
    if (lvt_masked(apic, idx)) {
        return;
    }
    switch ((lvt & LVT_MODE) >> 8) {
    case APIC_DM_FIXED:
        accept_fixed(apic, (int)(lvt & LVT_VECTOR), false);
        break;
    case APIC_DM_NMI:
        apic->hooks->nmi(apic->opaque);
        break;
    case APIC_DM_EXTINT:
        update_intr(apic);   /* the 8259 drives INTR while LINT0 is high */
        break;
    default:
        log_once("apic: LVT delivery mode %u not implemented", (lvt & LVT_MODE) >> 8);
        break;
    }
}

/* --- the timer --- */

static uint64_t timer_ns_per_count(const struct apic *apic)
{
    uint32_t d = (apic->divide_conf & 3) | ((apic->divide_conf >> 1) & 4);
    uint64_t divider = d == 7 ? 1 : 2u << d;
    return divider * NS_PER_BUS_CLOCK;
}

static bool timer_periodic(const struct apic *apic)
{
    return (apic->lvt[APIC_LVT_TIMER] & LVT_PERIODIC) != 0;
}

static uint32_t timer_current(const struct apic *apic)
{
    if (apic->timer_initial == 0) {
        return 0;
    }
    uint64_t counts = (clock_ns(apic->clk) - apic->timer_start) / timer_ns_per_count(apic);
    if (timer_periodic(apic)) {
        return apic->timer_initial - (uint32_t)(counts % apic->timer_initial);
    }
    return counts >= apic->timer_initial ? 0 : apic->timer_initial - (uint32_t)counts;
}

/* Arm the host timer for the next time the count reaches zero, if wanted. */
static void timer_schedule(struct apic *apic)
{
    if (apic->timer_initial == 0 || !hw_enabled(apic) || lvt_masked(apic, APIC_LVT_TIMER) ||
        apic->timer_expired) {
        timer_del(&apic->timer);
        return;
    }
    uint64_t period = (uint64_t)apic->timer_initial * timer_ns_per_count(apic);
    uint64_t now = clock_ns(apic->clk), elapsed = now - apic->timer_start;
    if (timer_periodic(apic)) {
        timer_mod(&apic->timer, apic->timer_start + (elapsed / period + 1) * period);
    } else if (elapsed < period) {
        timer_mod(&apic->timer, apic->timer_start + period);
    } else {
        /* it ran out while masked: no interrupt */
        apic->timer_expired = true;
        timer_del(&apic->timer);
    }
}

static void timer_fire(void *opaque)
{
    struct apic *apic = opaque;
    if (!timer_periodic(apic)) {
        apic->timer_expired = true;
    }
    lvt_deliver(apic, APIC_LVT_TIMER);
    timer_schedule(apic);
}

/* Load the count (a write of the initial count register). */
static void timer_load(struct apic *apic, uint32_t count)
{
    apic->timer_initial = count;
    apic->timer_start = clock_ns(apic->clk);
    apic->timer_expired = false;
    timer_schedule(apic);
}

/* A new divider: the count carries on from its current value. */
static void timer_set_divide(struct apic *apic, uint32_t val)
{
    uint32_t cur = timer_current(apic);
    apic->divide_conf = val & 0xB;
    if (apic->timer_initial && !apic->timer_expired) {
        uint64_t done = (uint64_t)(apic->timer_initial - cur) * timer_ns_per_count(apic);
        apic->timer_start = clock_ns(apic->clk) - done;
    }
    timer_schedule(apic);
}

/* --- reset --- */

/* The register state after RESET or INIT (SDM 10.4.7.1). */
static void reset_registers(struct apic *apic)
{
    timer_del(&apic->timer);
    apic->tpr = 0;
    apic->ldr = 0;
    apic->dfr = 0xFFFFFFFFu;
    apic->svr = 0xFF;
    apic->esr = apic->esr_pending = 0;
    apic->icr_lo = apic->icr_hi = 0;
    for (int i = 0; i < APIC_LVT_COUNT; i++) {
        apic->lvt[i] = LVT_MASKED;
    }
    memset(apic->irr, 0, sizeof(apic->irr));
    memset(apic->isr, 0, sizeof(apic->isr));
    memset(apic->tmr, 0, sizeof(apic->tmr));
    apic->irr_max = apic->isr_max = -1;
    apic->extint_msg = false;
    apic->timer_initial = 0;
    apic->divide_conf = 0;
    apic->timer_start = 0;
    apic->timer_expired = false;
    update_intr(apic);
}

static const struct io_ops apic_ops;

/* Map the registers where IA32_APIC_BASE says, or nowhere when disabled. */
static void remap(struct apic *apic)
{
    uint64_t base = apic->base_msr & 0xFFFFFF000ull;
    bool want = hw_enabled(apic) && base <= 0xFFFFF000ull;
    if (apic->mapped && (!want || apic->mapped_base != (uint32_t)base)) {
        bus_unmap(apic->bus, apic->mapped_base);
        apic->mapped = false;
    }
    if (hw_enabled(apic) && !want) {
        log_once("apic: base %#llx above 4 GiB is not mapped", (unsigned long long)base);
    }
    if (want && !apic->mapped) {
        if (bus_map_mmio(apic->bus, (uint32_t)base, APIC_MMIO_LEN, &apic_ops, apic) < 0) {
            log_warn("apic: cannot map the registers at %#x", (uint32_t)base);
            return;
        }
        apic->mapped = true;
        apic->mapped_base = (uint32_t)base;
    }
}

void apic_reset(struct apic *apic)
{
    apic->id = 0;
    apic->base_msr = APIC_DEFAULT_BASE | APIC_BASE_BSP | APIC_BASE_ENABLE;
    reset_registers(apic);
    remap(apic);
}

void apic_init_signal(struct apic *apic)
{
    reset_registers(apic);
}

void apic_set_base_msr(struct apic *apic, uint64_t value)
{
    bool was = hw_enabled(apic);
    apic->base_msr = value;
    if (was && !hw_enabled(apic)) {
        /* globally disabled: back to the power-up state (SDM 10.4.3) */
        reset_registers(apic);
    }
    remap(apic);
    timer_schedule(apic);
    update_intr(apic);
}

/* --- inputs: LINT pins and APIC bus messages --- */

/* A level-triggered fixed LINTn interrupt: once per assertion until EOI. */
static void lint_fixed_level(struct apic *apic, int idx)
{
    uint32_t *lvt = &apic->lvt[idx];
    if (!lvt_masked(apic, idx) && !(*lvt & LVT_REMOTE_IRR)) {
        *lvt |= LVT_REMOTE_IRR;
        accept_fixed(apic, (int)(*lvt & LVT_VECTOR), true);
    }
}

void apic_set_lint(void *opaque, int pin, int level)
{
    struct apic *apic = opaque;
    bool was = apic->lint[pin & 1];
    apic->lint[pin & 1] = level != 0;
    int idx = (pin & 1) ? APIC_LVT_LINT1 : APIC_LVT_LINT0;
    uint32_t lvt = apic->lvt[idx];
    bool wire = !hw_enabled(apic) || !sw_enabled(apic);
    if (wire || (lvt & LVT_MODE) == (uint32_t)APIC_DM_EXTINT << 8) {
        /* the virtual wire: LINT0 is INTR (a level), LINT1 is NMI (an edge) */
        if (pin & 1) {
            if (level && !was) {
                apic->hooks->nmi(apic->opaque);
            }
        } else {
            update_intr(apic);
        }
        return;
    }
    if ((lvt & LVT_MODE) == 0 && (lvt & LVT_LEVEL)) {
        if (level) {
            lint_fixed_level(apic, idx);
        }
        return;
    }
    if (level && !was) {
        lvt_deliver(apic, idx);   /* edge: fixed, NMI */
    }
}

/* Does a destination (physical ID or logical set) name this APIC? */
static bool dest_match(const struct apic *apic, uint8_t dest, bool logical)
{
    if (dest == 0xFF) {
        return true;   /* broadcast, in either mode */
    }
    if (!logical) {
        return dest == apic->id || dest == 0x0F;   /* 0Fh: P6 broadcast */
    }
    uint8_t ldr = (uint8_t)(apic->ldr >> 24);
    if ((apic->dfr >> 28) == 0xF) {
        return (ldr & dest) != 0;   /* flat model: a bit per APIC */
    }
    /* cluster model: cluster number in the high nibble, members in the low */
    return ((dest >> 4) == 0xF || (dest >> 4) == (ldr >> 4)) && (dest & ldr & 0x0F);
}

bool apic_deliver(struct apic *apic, const struct apic_msg *msg)
{
    if (!hw_enabled(apic) || !dest_match(apic, msg->dest, msg->logical)) {
        return false;
    }
    switch (msg->mode) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST:
        accept_fixed(apic, msg->vector, msg->level);
        break;
    case APIC_DM_NMI:
        apic->hooks->nmi(apic->opaque);
        break;
    case APIC_DM_EXTINT:
        apic->extint_msg = true;
        update_intr(apic);
        break;
    case APIC_DM_INIT:
        log_once("apic: INIT message to the only CPU ignored");
        break;
    default:
        log_once("apic: delivery mode %u not implemented", msg->mode);
        break;
    }
    return true;
}

/* --- the CPU side --- */

int apic_ack(struct apic *apic)
{
    int vector;
    if (extint_pending(apic)) {
        apic->extint_msg = false;
        vector = apic->hooks->extint_ack(apic->opaque);
    } else if (fixed_pending(apic)) {
        vector = apic->irr_max;
        vec_clear(apic->irr, vector);
        vec_set(apic->isr, vector);
        apic->irr_max = vec_highest(apic->irr);
        if (vector > apic->isr_max) {
            apic->isr_max = vector;
        }
    } else {
        vector = (int)(apic->svr & 0xFF);   /* spurious: nothing in service */
    }
    update_intr(apic);
    return vector;
}

bool apic_pending(const struct apic *apic)
{
    return apic->intr_out;
}

/* EOI: retire the highest in-service vector. */
static void eoi(struct apic *apic)
{
    int vector = apic->isr_max;
    if (vector < 0) {
        return;
    }
    vec_clear(apic->isr, vector);
    apic->isr_max = vec_highest(apic->isr);
    if (vec_test(apic->tmr, vector)) {
        for (int idx = APIC_LVT_LINT0; idx <= APIC_LVT_LINT1; idx++) {
            uint32_t *lvt = &apic->lvt[idx];
            if ((*lvt & LVT_REMOTE_IRR) && (int)(*lvt & LVT_VECTOR) == vector) {
                *lvt &= ~LVT_REMOTE_IRR;
                if (apic->lint[idx - APIC_LVT_LINT0]) {
                    lint_fixed_level(apic, idx);   /* still asserted */
                }
            }
        }
        apic->hooks->eoi(apic->opaque, vector);
    }
    update_intr(apic);
}

/* An IPI: the ICR low word was written. */
static void send_ipi(struct apic *apic)
{
    uint32_t lo = apic->icr_lo;
    unsigned mode = (lo & LVT_MODE) >> 8, shorthand = (lo >> 18) & 3;
    bool to_self;
    switch (shorthand) {
    case 0:
        to_self = dest_match(apic, (uint8_t)(apic->icr_hi >> 24), (lo & ICR_LOGICAL) != 0);
        break;
    case 3:
        to_self = false;   /* all excluding self: there is nobody else */
        break;
    default:
        to_self = true;    /* self, all including self */
        break;
    }
    log_ch(LOG_INT, "apic: IPI icr=%08x:%08x%s", apic->icr_hi, lo, to_self ? "" : " (to nobody)");
    if (!to_self) {
        return;
    }
    if ((mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST) && (lo & LVT_VECTOR) < 16) {
        raise_error(apic, ESR_SEND_ILLEGAL);
        return;
    }
    if (mode == APIC_DM_INIT && !(lo & ICR_ASSERT) && (lo & ICR_LEVEL)) {
        return;   /* INIT level de-assert: only resynchronises arbitration IDs */
    }
    struct apic_msg msg = { .vector = (uint8_t)lo, .mode = (uint8_t)mode, .dest = 0xFF };
    if (mode == APIC_DM_STARTUP) {
        log_once("apic: STARTUP IPI to the only CPU ignored");
        return;
    }
    apic_deliver(apic, &msg);
}

/* --- registers --- */

static uint32_t read_vec_reg(const uint32_t *bits, uint32_t off, uint32_t base)
{
    return bits[(off - base) >> 4];
}

uint32_t apic_read_reg(struct apic *apic, uint32_t off)
{
    off &= 0xFF0;
    if (off >= REG_ISR && off < REG_ISR + 0x80) {
        return read_vec_reg(apic->isr, off, REG_ISR);
    }
    if (off >= REG_TMR && off < REG_TMR + 0x80) {
        return read_vec_reg(apic->tmr, off, REG_TMR);
    }
    if (off >= REG_IRR && off < REG_IRR + 0x80) {
        return read_vec_reg(apic->irr, off, REG_IRR);
    }
    if (off >= REG_LVT && off < REG_LVT_END) {
        return apic->lvt[(off - REG_LVT) >> 4];
    }
    switch (off) {
    case REG_ID:
        return (uint32_t)apic->id << 24;
    case REG_VERSION:
        return APIC_VERSION;
    case REG_TPR:
        return apic->tpr;
    case REG_APR:
        return apr(apic);
    case REG_PPR:
        return ppr(apic);
    case REG_LDR:
        return apic->ldr;
    case REG_DFR:
        return apic->dfr;
    case REG_SVR:
        return apic->svr;
    case REG_ESR:
        return apic->esr;
    case REG_ICR_LO:
        return apic->icr_lo;   /* delivery status: always idle */
    case REG_ICR_HI:
        return apic->icr_hi;
    case REG_TIMER_INIT:
        return apic->timer_initial;
    case REG_TIMER_CUR:
        return timer_current(apic);
    case REG_TIMER_DIV:
        return apic->divide_conf;
    case REG_EOI:
    case REG_RRD:
        return 0;
    default:
        raise_error(apic, ESR_ILLEGAL_REG);
        return 0;
    }
}

static void write_svr(struct apic *apic, uint32_t val)
{
    /* P6: vector bits 3:0 read as ones */
    apic->svr = (val & (0xFF | SVR_ENABLE | SVR_FOCUS_OFF)) | 0x0F;
    if (!sw_enabled(apic)) {
        for (int i = 0; i < APIC_LVT_COUNT; i++) {
            apic->lvt[i] |= LVT_MASKED;   /* SDM 10.4.7.2 */
        }
    }
    timer_schedule(apic);
    update_intr(apic);
}

static void write_lvt(struct apic *apic, int idx, uint32_t val)
{
    uint32_t keep = LVT_REMOTE_IRR | LVT_STATUS;
    uint32_t v = (apic->lvt[idx] & keep) | (val & lvt_writable[idx]);
    if (idx == APIC_LVT_THERMAL) {
        log_once("apic: no thermal LVT entry on a P6");
    }
    apic->lvt[idx] = v;
    if (idx == APIC_LVT_TIMER) {
        timer_schedule(apic);
    } else if (idx == APIC_LVT_LINT0 || idx == APIC_LVT_LINT1) {
        if (!(v & LVT_MODE) && (v & LVT_LEVEL) && apic->lint[idx - APIC_LVT_LINT0]) {
            lint_fixed_level(apic, idx);   /* unmasked while asserted */
        }
    }
    update_intr(apic);
}

void apic_write_reg(struct apic *apic, uint32_t off, uint32_t val)
{
    off &= 0xFF0;
    if (off >= REG_LVT && off < REG_LVT_END) {
        write_lvt(apic, (int)((off - REG_LVT) >> 4), val);
        return;
    }
    switch (off) {
    case REG_ID:
        apic->id = (uint8_t)((val >> 24) & 0x0F);
        break;
    case REG_TPR:
        apic->tpr = (uint8_t)val;
        update_intr(apic);
        break;
    case REG_EOI:
        eoi(apic);
        break;
    case REG_LDR:
        apic->ldr = val & 0xFF000000u;
        break;
    case REG_DFR:
        apic->dfr = (val & 0xF0000000u) | 0x0FFFFFFFu;
        break;
    case REG_SVR:
        write_svr(apic, val);
        break;
    case REG_ESR:
        /* a write latches the errors seen since the previous one */
        apic->esr = apic->esr_pending;
        apic->esr_pending = 0;
        break;
    case REG_ICR_LO:
        apic->icr_lo = val & ~LVT_STATUS & 0x000CCFFFu;
        send_ipi(apic);
        break;
    case REG_ICR_HI:
        apic->icr_hi = val & 0xFF000000u;
        break;
    case REG_TIMER_INIT:
        timer_load(apic, val);
        break;
    case REG_TIMER_DIV:
        timer_set_divide(apic, val);
        break;
    case REG_VERSION:
    case REG_APR:
    case REG_PPR:
    case REG_RRD:
    case REG_TIMER_CUR:
        break;   /* read-only */
    default:
        if (off >= REG_ISR && off < REG_IRR + 0x80) {
            break;   /* ISR, TMR, IRR are read-only */
        }
        raise_error(apic, ESR_ILLEGAL_REG);
        break;
    }
}

/* MMIO: 32-bit registers on 16-byte boundaries; narrower reads shift. */
static uint32_t apic_mmio_read(void *opaque, uint32_t off, int size)
{
    struct apic *apic = opaque;
    if ((off & 0xF) + (uint32_t)size > 4) {
        return 0;
    }
    uint32_t v = apic_read_reg(apic, off) >> (8 * (off & 3));
    return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void apic_mmio_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct apic *apic = opaque;
    if (size != 4 || (off & 0xF)) {
        log_once("apic: %d-byte write at offset %#x ignored", size, off);
        return;
    }
    apic_write_reg(apic, off, val);
}

static const struct io_ops apic_ops = {
    .read = apic_mmio_read, .write = apic_mmio_write, .sizes = 1 | 2 | 4,
};

struct apic *apic_new(struct bus *bus, struct clock *clk, const struct apic_hooks *hooks,
                      void *opaque)
{
    struct apic *apic = calloc(1, sizeof(*apic));
    if (!apic) {
        return NULL;
    }
    apic->bus = bus;
    apic->clk = clk;
    apic->hooks = hooks;
    apic->opaque = opaque;
    timer_init(&apic->timer, clk, timer_fire, apic);
    apic_reset(apic);
    if (!apic->mapped) {
        apic_free(apic);
        return NULL;
    }
    return apic;
}

void apic_free(struct apic *apic)
{
    if (!apic) {
        return;
    }
    timer_del(&apic->timer);
    if (apic->mapped) {
        bus_unmap(apic->bus, apic->mapped_base);
    }
    free(apic);
}
