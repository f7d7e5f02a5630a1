/*
 * mc146818.h - the Motorola MC146818A real-time clock and its CMOS RAM at
 * ports 0x70 (index; bit 7 masks NMI) and 0x71 (data).  IRQ8 out.
 */
#ifndef KASOU_MC146818_H
#define KASOU_MC146818_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/irq.h"
#include "hw/timer.h"

struct bus;

/* start_time for the constructors: take the host's clock (UTC). */
#define MC146818_HOST_TIME INT64_MIN

/* Register indexes. */
enum {
    MC146818_SEC, MC146818_SEC_ALARM, MC146818_MIN, MC146818_MIN_ALARM,
    MC146818_HOUR, MC146818_HOUR_ALARM, MC146818_WDAY, MC146818_MDAY,
    MC146818_MONTH, MC146818_YEAR,
    MC146818_REG_A, MC146818_REG_B, MC146818_REG_C, MC146818_REG_D,
    MC146818_CENTURY = 0x32,    /* PC convention: set at start, not counted */
};

struct mc146818 {
    uint8_t cmos[128];      /* 0-9 time, 10-13 registers A-D, then RAM */
    uint8_t index;
    bool nmi_masked;
    struct clock *clk;
    struct timer timer;     /* next periodic/update event while it matters */
    struct irq irq8;
    bool irq_level;
    int64_t origin;         /* virtual ns: update cycles end at origin+k s */
    int64_t seconds_done;   /* update cycles accounted for since origin */
    int64_t cycles_done;    /* 32.768 kHz divider cycles accounted for */
};

/* start_time: seconds since 1970-01-01 UTC, or MC146818_HOST_TIME. */
void mc146818_init(struct mc146818 *rtc, struct clock *clk, struct irq irq8,
                   int64_t start_time);
/* Claim ports 0x70-0x71 on `bus`. */
int mc146818_map(struct mc146818 *rtc, struct bus *bus);
/* Allocate, init and map; NULL on failure.  mc146818_free() releases it. */
struct mc146818 *mc146818_new(struct bus *bus, struct clock *clk,
                              struct irq irq8, int64_t start_time);
void mc146818_free(struct mc146818 *rtc);

/* Has the guest set the NMI mask bit (port 0x70 bit 7)? */
bool mc146818_nmi_masked(const struct mc146818 *rtc);
/* Board access to CMOS bytes (index 0-127).  set_cmos writes as the guest
 * would; get_cmos reads without side effects (register C is not cleared). */
void mc146818_set_cmos(struct mc146818 *rtc, int index, uint8_t value);
uint8_t mc146818_get_cmos(struct mc146818 *rtc, int index);

#endif
