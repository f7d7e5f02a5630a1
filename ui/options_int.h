/*
 * options_int.h - the parsing helpers the option files share
 * (ui/options.c: machine, chardevs, devices; ui/options_media.c: drives,
 * boot order, display and batch options).
 */
#ifndef KASOU_OPTIONS_INT_H
#define KASOU_OPTIONS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "ui/options.h"

/* One item of a "a,b=c" list, split at its first '='. */
struct opt_kv {
    char key[OPT_ID_MAX];
    char val[OPT_PATH_MAX];
    bool has_val;
};

/* Print "kasou: OPT: " and fmt (one %s: what); returns OPT_ERROR. */
enum opt_result opt_fail(const char *opt, const char *fmt, const char *what);
/* Take the next item of a comma list from *p (",," is a literal comma). */
int opt_next_item(const char **p, struct opt_kv *kv);
/* Decimal or 0x hex, at most max; -1 if not. */
int opt_parse_uint(const char *s, uint32_t max, uint32_t *out);
/* on/off, yes/no, true/false; -1 if none of them. */
int opt_parse_bool(const char *s, bool *out);

enum opt_result opt_drive(struct options *o, const char *arg);
enum opt_result opt_hda(struct options *o, const char *arg);
enum opt_result opt_hdb(struct options *o, const char *arg);
enum opt_result opt_hdc(struct options *o, const char *arg);
enum opt_result opt_hdd(struct options *o, const char *arg);
enum opt_result opt_cdrom(struct options *o, const char *arg);
enum opt_result opt_fda(struct options *o, const char *arg);
enum opt_result opt_fdb(struct options *o, const char *arg);
enum opt_result opt_boot(struct options *o, const char *arg);
enum opt_result opt_snapshot(struct options *o, const char *arg);
enum opt_result opt_screenshot(struct options *o, const char *arg);
enum opt_result opt_screen_text(struct options *o, const char *arg);
enum opt_result opt_name(struct options *o, const char *arg);
enum opt_result opt_no_shutdown(struct options *o, const char *arg);
enum opt_result opt_qmp(struct options *o, const char *arg);
/* After parsing: give drives without index= their slots; -snapshot. */
enum opt_result opt_finish_drives(struct options *o);

#endif
