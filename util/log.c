/* log.c - log channels and output (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <string.h>

uint32_t log_mask;
FILE *log_file;

static const struct {
    const char *name;
    uint32_t bit;
    const char *help;
} channels[] = {
    { "cpu", LOG_CPU, "CPU mode changes and resets" },
    { "int", LOG_INT, "interrupts and exceptions" },
    { "exec", LOG_EXEC, "instruction trace (disassembly and registers)" },
    { "io", LOG_IO, "accesses to unclaimed I/O ports" },
    { "unimp", LOG_UNIMP, "guest use of unimplemented features" },
    { "mmu", LOG_MMU, "page faults and TLB flushes" },
    { "guest_errors", LOG_GUEST, "invalid guest device programming" },
    { "dev", LOG_DEV, "device activity" },
};

static FILE *out(void)
{
    return log_file ? log_file : stderr;
}

void log_list(FILE *f)
{
    fprintf(f, "Log channels (-d a,b,...):\n");
    for (size_t i = 0; i < sizeof(channels) / sizeof(channels[0]); i++) {
        fprintf(f, "  %-13s %s\n", channels[i].name, channels[i].help);
    }
    fprintf(f, "  %-13s %s\n", "all", "every channel");
}

int log_parse(const char *spec)
{
    uint32_t mask = 0;
    while (*spec) {
        size_t n = strcspn(spec, ",");
        int found = 0;
        if (n == 3 && !strncmp(spec, "all", 3)) {
            mask = ~0u;
            found = 1;
        }
        for (size_t i = 0; !found && i < sizeof(channels) / sizeof(channels[0]); i++) {
            if (strlen(channels[i].name) == n && !strncmp(spec, channels[i].name, n)) {
                mask |= channels[i].bit;
                found = 1;
            }
        }
        if (!found) {
            return -1;
        }
        spec += n;
        if (*spec == ',') {
            spec++;
        }
    }
    log_mask |= mask;
    return 0;
}

int log_open(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        return -1;
    }
    log_file = f;
    return 0;
}

void log_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out(), fmt, ap);
    va_end(ap);
    fputc('\n', out());
}

void log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("kasou: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (log_file) {
        va_start(ap, fmt);
        fputs("warning: ", log_file);
        vfprintf(log_file, fmt, ap);
        va_end(ap);
        fputc('\n', log_file);
    }
}

int errmsg(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}
