/*
 * log.h - logging with channels chosen at run time (-d chan,chan -D file).
 *
 * log_ch() costs one load and a branch when its channel is off.  The log
 * settings are the only mutable globals in kasou.
 */
#ifndef KASOU_LOG_H
#define KASOU_LOG_H

#include <stdint.h>
#include <stdio.h>

enum log_channel {
    LOG_CPU = 1u << 0,    /* CPU state changes: mode switches, resets */
    LOG_INT = 1u << 1,    /* interrupts and exceptions */
    LOG_EXEC = 1u << 2,   /* instruction trace */
    LOG_IO = 1u << 3,     /* unclaimed I/O ports */
    LOG_UNIMP = 1u << 4,  /* guest uses something kasou does not implement */
    LOG_MMU = 1u << 5,    /* page faults, TLB flushes */
    LOG_GUEST = 1u << 6,  /* guest errors: bad register writes etc. */
    LOG_DEV = 1u << 7,    /* device activity */
};

extern uint32_t log_mask;
extern FILE *log_file;

/* Parse "cpu,int,..." ("help" lists them); returns -1 on an unknown name. */
int log_parse(const char *spec);
void log_list(FILE *f);
int log_open(const char *path);
void log_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a warning once per call site, whatever the mask (channel unimp). */
#define log_once(...)                                                      \
    do {                                                                   \
        static int log_once_done_;                                         \
        if (!log_once_done_) {                                             \
            log_once_done_ = 1;                                            \
            log_warn(__VA_ARGS__);                                         \
        }                                                                  \
    } while (0)
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Format a message into err[errlen] (if err) for a caller; returns -1. */
int errmsg(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_on(ch) (log_mask & (ch))
#define log_ch(ch, ...)                                                    \
    do {                                                                   \
        if (log_on(ch)) {                                                  \
            log_printf(__VA_ARGS__);                                       \
        }                                                                  \
    } while (0)

#endif
