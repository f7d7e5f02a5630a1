/*
 * mc146818.c - Motorola MC146818A real-time clock plus RAM, as on the
 * PC/AT: port 0x70 selects one of 128 bytes (bit 7 is the board's NMI
 * mask, latched here for the board to read), port 0x71 reads/writes it.
 *
 *   0-9    seconds, alarm seconds, minutes, alarm minutes, hours, alarm
 *          hours, day of week (1 = Sunday), date, month, year (00-99);
 *          BCD or binary (B.DM), hours 0-23 or 1-12 with bit 7 = PM (B.24)
 *   A  10  UIP (read only) DV2-0 (divider: 010 runs, 11x holds in reset)
 *          RS3-0 (periodic rate: 1, 2 = 256, 128 Hz; n = 3-15: 65536 >> n)
 *   B  11  SET PIE AIE UIE SQWE DM 24/12 DSE
 *   C  12  IRQF PF AF UF, read only; reading clears it and lowers IRQ8
 *   D  13  VRT (always 1: the battery is good), read only
 *   14-127 RAM (the BIOS's CMOS configuration)
 *
 * Time: the 32.768 kHz divider chain is derived from the virtual clock.
 * Once a second (counted from the constructor, or from 0.5 s before the
 * divider leaves reset) an update cycle advances the time registers and
 * sets UF, and AF if the alarm matches (alarm bytes 0xC0-0xFF match any
 * value); UIP reads 1 for the 244 us before and the 1984 us of each
 * update.  SET halts updates (and clears UIE).  PF is set on each edge of
 * the selected divider tap.  Flags are brought up to date lazily on every
 * access; a timer runs only while an enabled interrupt is still to come.
 * The time registers themselves are the clock's state, so values the
 * guest writes count on as the chip would count them.
 *
 * Not modelled: daylight saving (DSE), the square-wave pin (SQWE), time
 * bases other than 32.768 kHz (DV = 000, 001 stop the clock), the PIIX
 * upper 128-byte bank, and the register values during an update cycle
 * (reads return the previous second).  The century byte (0x32) is a BIOS
 * convention: it is set from the start date and never incremented.
 */
#include "mc146818.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hw/bus.h"
#include "util/log.h"

#define REG_A MC146818_REG_A
#define REG_B MC146818_REG_B
#define REG_C MC146818_REG_C
#define REG_D MC146818_REG_D

enum {
    B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10,
    B_DM = 0x04, B_24H = 0x02, B_DSE = 0x01,
    C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10,
    D_VRT = 0x80,
};

#define DIV_HZ 32768
#define UIP_NS 2228000      /* tBUC 244 us + tUC 1984 us */

/* Calendar fields, binary, hour 0-23. */
struct rtc_time {
    int sec, min, hour, wday, mday, mon, year;
};

static uint64_t now_ns(const struct mc146818 *rtc)
{
    return clock_ns(rtc->clk);
}

static bool divider_runs(const struct mc146818 *rtc)
{
    return (rtc->cmos[REG_A] & 0x70) == 0x20;
}

/* Divider cycles between the origin and virtual time t. */
static int64_t cycles_at(const struct mc146818 *rtc, uint64_t t)
{
    int64_t dt = (int64_t)t - rtc->origin;
    return dt / (int64_t)NS_PER_SEC * DIV_HZ +
           dt % (int64_t)NS_PER_SEC * DIV_HZ / (int64_t)NS_PER_SEC;
}

/* The first virtual time at which `cycles` have elapsed. */
static uint64_t ns_of_cycles(const struct mc146818 *rtc, int64_t cycles)
{
    int64_t q = cycles / DIV_HZ, r = cycles % DIV_HZ;
    return (uint64_t)(rtc->origin + q * (int64_t)NS_PER_SEC +
                      (r * (int64_t)NS_PER_SEC + DIV_HZ - 1) / DIV_HZ);
}

/* Periodic interrupt period in divider cycles, 0 = none. */
static int64_t period_cycles(const struct mc146818 *rtc)
{
    int rs = rtc->cmos[REG_A] & 15;
    if (rs == 0) {
        return 0;
    }
    return rs < 3 ? 64 << rs : 1 << (rs - 1);
}

static int from_reg(const struct mc146818 *rtc, uint8_t v)
{
    return (rtc->cmos[REG_B] & B_DM) ? v : (v >> 4) * 10 + (v & 15);
}

static uint8_t to_reg(const struct mc146818 *rtc, int v)
{
    return (uint8_t)((rtc->cmos[REG_B] & B_DM) ? v : (v / 10) << 4 | v % 10);
}

static int hour_from_reg(const struct mc146818 *rtc, uint8_t v)
{
    if (rtc->cmos[REG_B] & B_24H) {
        return from_reg(rtc, v);
    }
    return from_reg(rtc, v & 0x7F) % 12 + ((v & 0x80) ? 12 : 0);
}

static uint8_t hour_to_reg(const struct mc146818 *rtc, int h)
{
    if (rtc->cmos[REG_B] & B_24H) {
        return to_reg(rtc, h);
    }
    int h12 = h % 12 ? h % 12 : 12;
    return (uint8_t)(to_reg(rtc, h12) | (h >= 12 ? 0x80 : 0));
}

static void load_time(const struct mc146818 *rtc, struct rtc_time *tm)
{
    const uint8_t *r = rtc->cmos;
    tm->sec = from_reg(rtc, r[MC146818_SEC]);
    tm->min = from_reg(rtc, r[MC146818_MIN]);
    tm->hour = hour_from_reg(rtc, r[MC146818_HOUR]);
    tm->wday = from_reg(rtc, r[MC146818_WDAY]);
    tm->mday = from_reg(rtc, r[MC146818_MDAY]);
    tm->mon = from_reg(rtc, r[MC146818_MONTH]);
    tm->year = from_reg(rtc, r[MC146818_YEAR]);
}

static void store_time(struct mc146818 *rtc, const struct rtc_time *tm)
{
    uint8_t *r = rtc->cmos;
    r[MC146818_SEC] = to_reg(rtc, tm->sec);
    r[MC146818_MIN] = to_reg(rtc, tm->min);
    r[MC146818_HOUR] = hour_to_reg(rtc, tm->hour);
    r[MC146818_WDAY] = to_reg(rtc, tm->wday);
    r[MC146818_MDAY] = to_reg(rtc, tm->mday);
    r[MC146818_MONTH] = to_reg(rtc, tm->mon);
    r[MC146818_YEAR] = to_reg(rtc, tm->year);
}

static int days_in_month(int mon, int year)
{
    static const uint8_t days[12] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
    };
    if (mon < 1 || mon > 12) {
        return 31;
    }
    /* The chip's leap rule: every year divisible by four (2000 was). */
    return days[mon - 1] + (mon == 2 && year % 4 == 0);
}

static void next_day(struct rtc_time *tm)
{
    tm->wday = tm->wday >= 7 ? 1 : tm->wday + 1;
    if (++tm->mday > days_in_month(tm->mon, tm->year)) {
        tm->mday = 1;
        if (++tm->mon > 12) {
            tm->mon = 1;
            tm->year = (tm->year + 1) % 100;
        }
    }
}

static void next_second(struct rtc_time *tm)
{
    if (++tm->sec < 60) {
        return;
    }
    tm->sec = 0;
    if (++tm->min < 60) {
        return;
    }
    tm->min = 0;
    if (++tm->hour < 24) {
        return;
    }
    tm->hour = 0;
    next_day(tm);
}

static bool alarm_matches(const struct mc146818 *rtc,
                          const struct rtc_time *tm)
{
    const uint8_t *r = rtc->cmos;
    uint8_t now[3] = { to_reg(rtc, tm->sec), to_reg(rtc, tm->min),
                       hour_to_reg(rtc, tm->hour) };
    uint8_t alarm[3] = { r[MC146818_SEC_ALARM], r[MC146818_MIN_ALARM],
                         r[MC146818_HOUR_ALARM] };
    for (int i = 0; i < 3; i++) {
        if (alarm[i] < 0xC0 && alarm[i] != now[i]) {
            return false;
        }
    }
    return true;
}

/* Run `n` update cycles: count the time on, set UF and maybe AF. */
static void run_updates(struct mc146818 *rtc, int64_t n)
{
    struct rtc_time tm;
    load_time(rtc, &tm);
    if (n > 86400) {
        /* Skip whole days without looking: the alarm is checked over the
         * last day, which covers every time of day. */
        int64_t skip = n - 86400;
        int64_t sod = tm.sec % 60 + tm.min % 60 * 60 + tm.hour % 24 * 3600;
        int64_t days = (sod + skip) / 86400;
        sod = (sod + skip) % 86400;
        tm.sec = (int)(sod % 60);
        tm.min = (int)(sod / 60 % 60);
        tm.hour = (int)(sod / 3600);
        for (int64_t d = 0; d < days; d++) {
            next_day(&tm);
        }
        n = 86400;
    }
    for (int64_t i = 0; i < n; i++) {
        next_second(&tm);
        if (alarm_matches(rtc, &tm)) {
            rtc->cmos[REG_C] |= C_AF;
        }
    }
    store_time(rtc, &tm);
    rtc->cmos[REG_C] |= C_UF;
}

static uint8_t irq_flags(const struct mc146818 *rtc)
{
    uint8_t b = rtc->cmos[REG_B], c = rtc->cmos[REG_C];
    return (uint8_t)(c & b & (C_PF | C_AF | C_UF));   /* same bit places */
}

static void update_irq(struct mc146818 *rtc)
{
    bool level = irq_flags(rtc) != 0;
    if (level != rtc->irq_level) {
        rtc->irq_level = level;
        irq_set(&rtc->irq8, level);
    }
}

/* Bring flags and time registers up to virtual time t. */
static void rtc_sync(struct mc146818 *rtc, uint64_t t)
{
    if (!divider_runs(rtc)) {
        return;
    }
    int64_t cycles = cycles_at(rtc, t), period = period_cycles(rtc);
    if (period && cycles / period > rtc->cycles_done / period) {
        rtc->cmos[REG_C] |= C_PF;
    }
    rtc->cycles_done = cycles;
    int64_t secs = cycles / DIV_HZ;
    if (secs > rtc->seconds_done) {
        if (!(rtc->cmos[REG_B] & B_SET)) {
            run_updates(rtc, secs - rtc->seconds_done);
        }
        rtc->seconds_done = secs;
    }
    update_irq(rtc);
}

/* Arm the timer for the next event that would raise IRQ8, if any. */
static void rtc_schedule(struct mc146818 *rtc)
{
    uint8_t b = rtc->cmos[REG_B];
    uint64_t next = CLOCK_NEVER;
    if (!divider_runs(rtc) || rtc->irq_level) {
        timer_del(&rtc->timer);
        return;
    }
    int64_t period = period_cycles(rtc);
    if ((b & B_PIE) && period) {
        next = ns_of_cycles(rtc, (rtc->cycles_done / period + 1) * period);
    }
    if ((b & (B_AIE | B_UIE)) && !(b & B_SET)) {
        uint64_t sec = ns_of_cycles(rtc, (rtc->seconds_done + 1) * DIV_HZ);
        next = sec < next ? sec : next;
    }
    if (next == CLOCK_NEVER) {
        timer_del(&rtc->timer);
    } else {
        timer_mod(&rtc->timer, next);
    }
}

static void rtc_timer(void *opaque)
{
    struct mc146818 *rtc = opaque;
    rtc_sync(rtc, now_ns(rtc));
    rtc_schedule(rtc);
}

static bool update_in_progress(const struct mc146818 *rtc, uint64_t t)
{
    if (!divider_runs(rtc) || (rtc->cmos[REG_B] & B_SET)) {
        return false;
    }
    int64_t phase = ((int64_t)t - rtc->origin) % (int64_t)NS_PER_SEC;
    return phase >= (int64_t)NS_PER_SEC - UIP_NS;
}

static void write_reg_a(struct mc146818 *rtc, uint8_t val, uint64_t t)
{
    bool was_running = divider_runs(rtc);
    rtc->cmos[REG_A] = val & 0x7F;
    if (divider_runs(rtc) && !was_running) {
        /* The first update comes half a second after the reset ends. */
        rtc->origin = (int64_t)t - (int64_t)NS_PER_SEC / 2;
        rtc->cycles_done = cycles_at(rtc, t);
        rtc->seconds_done = 0;
    }
    if ((val & 0x70) != 0x20 && (val & 0x60) != 0x60) {
        log_once("rtc: time bases other than 32.768 kHz are not modelled");
    }
}

static void write_reg(struct mc146818 *rtc, int index, uint8_t val)
{
    uint64_t t = now_ns(rtc);
    rtc_sync(rtc, t);
    switch (index) {
    case REG_A:
        write_reg_a(rtc, val, t);
        break;
    case REG_B:
        if (val & B_SET) {
            val &= (uint8_t)~B_UIE;
        }
        if (val & B_DSE) {
            log_once("rtc: daylight saving (DSE) is not modelled");
        }
        rtc->cmos[REG_B] = val;
        break;
    case REG_C:
    case REG_D:
        break;              /* read only */
    default:
        rtc->cmos[index] = val;
        break;
    }
    update_irq(rtc);
    rtc_schedule(rtc);
}

/* A guest read; `clear` false peeks without clearing register C. */
static uint8_t read_reg(struct mc146818 *rtc, int index, bool clear)
{
    uint64_t t = now_ns(rtc);
    uint8_t v;
    rtc_sync(rtc, t);
    switch (index) {
    case REG_A:
        return (uint8_t)(rtc->cmos[REG_A] |
                         (update_in_progress(rtc, t) ? 0x80 : 0));
    case REG_C:
        v = rtc->cmos[REG_C];
        v |= irq_flags(rtc) ? C_IRQF : 0;
        if (clear) {
            rtc->cmos[REG_C] = 0;
            update_irq(rtc);
            rtc_schedule(rtc);
        }
        return v;
    case REG_D:
        return D_VRT;
    default:
        return rtc->cmos[index];
    }
}

static uint32_t rtc_read(void *opaque, uint32_t off, int size)
{
    (void)size;
    struct mc146818 *rtc = opaque;
    if (off == 0) {
        return 0xFF;        /* the index port is write only */
    }
    return read_reg(rtc, rtc->index, true);
}

static void rtc_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    (void)size;
    struct mc146818 *rtc = opaque;
    if (off == 0) {
        rtc->index = val & 0x7F;
        rtc->nmi_masked = val & 0x80;
    } else {
        write_reg(rtc, rtc->index, (uint8_t)val);
    }
}

static const struct io_ops rtc_ops = {
    .read = rtc_read, .write = rtc_write, .sizes = 1,
};

/* Days since 1970-01-01 to a proleptic Gregorian date (y, m 1-12, d). */
static void civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    /* Count in 400-year eras starting on 1 March 0000, so that the leap
     * day is the last day of each counted year. */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                       /* 0-146096 */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);  /* 0-365 */
    int64_t mp = (5 * doy + 2) / 153;                     /* March = 0 */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static void set_start_time(struct mc146818 *rtc, int64_t unix_secs)
{
    int64_t days = unix_secs / 86400, sod = unix_secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    struct rtc_time tm;
    int64_t year;
    civil_from_days(days, &year, &tm.mon, &tm.mday);
    tm.year = (int)(((year % 100) + 100) % 100);
    tm.wday = (int)(((days + 4) % 7 + 7) % 7) + 1;   /* 1970-01-01: Thu */
    tm.hour = (int)(sod / 3600);
    tm.min = (int)(sod / 60 % 60);
    tm.sec = (int)(sod % 60);
    store_time(rtc, &tm);
    rtc->cmos[MC146818_CENTURY] = to_reg(rtc, (int)((year / 100) % 100));
}

void mc146818_init(struct mc146818 *rtc, struct clock *clk, struct irq irq8,
                   int64_t start_time)
{
    memset(rtc, 0, sizeof(*rtc));
    rtc->clk = clk;
    rtc->irq8 = irq8;
    timer_init(&rtc->timer, clk, rtc_timer, rtc);
    rtc->cmos[REG_A] = 0x26;        /* 32.768 kHz, 1024 Hz periodic rate */
    rtc->cmos[REG_B] = B_24H;       /* BCD, 24-hour */
    rtc->cmos[REG_D] = D_VRT;
    if (start_time == MC146818_HOST_TIME) {
        start_time = (int64_t)time(NULL);
    }
    set_start_time(rtc, start_time);
    rtc->origin = (int64_t)now_ns(rtc);
}

int mc146818_map(struct mc146818 *rtc, struct bus *bus)
{
    return bus_map_ports(bus, 0x70, 2, &rtc_ops, rtc);
}

struct mc146818 *mc146818_new(struct bus *bus, struct clock *clk,
                              struct irq irq8, int64_t start_time)
{
    struct mc146818 *rtc = calloc(1, sizeof(*rtc));
    if (!rtc) {
        return NULL;
    }
    mc146818_init(rtc, clk, irq8, start_time);
    if (bus && mc146818_map(rtc, bus) < 0) {
        free(rtc);
        return NULL;
    }
    return rtc;
}

void mc146818_free(struct mc146818 *rtc)
{
    if (rtc) {
        timer_del(&rtc->timer);
        free(rtc);
    }
}

bool mc146818_nmi_masked(const struct mc146818 *rtc)
{
    return rtc->nmi_masked;
}

void mc146818_set_cmos(struct mc146818 *rtc, int index, uint8_t value)
{
    write_reg(rtc, index & 0x7F, value);
}

uint8_t mc146818_get_cmos(struct mc146818 *rtc, int index)
{
    return read_reg(rtc, index & 0x7F, false);
}
