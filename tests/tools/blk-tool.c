/*
 * blk-tool - kasou's block layer from the command line, for tests.
 *
 *   blk-tool [OPTIONS] info IMG              format, virtual size, details
 *   blk-tool [OPTIONS] read IMG OFFSET LEN   LEN bytes to stdout
 *   blk-tool [OPTIONS] write IMG OFFSET      stdin to the image, then flush
 *   blk-tool [OPTIONS] dump IMG              the whole disk to stdout
 *   blk-tool [OPTIONS] wrand IMG REF SEED COUNT MAXLEN
 *        COUNT writes of random data at random offsets (1..MAXLEN bytes,
 *        half of them sector-aligned), each also written to the raw file
 *        REF, a flush every few writes; then the whole disk is read back
 *        and compared with REF.  In one process, so it also checks
 *        --snapshot, whose overlay dies with the process.
 *   blk-tool [OPTIONS] hold IMG SECONDS      keep the image open (lock tests)
 *
 * OPTIONS: --format raw|qcow2, --snapshot, --read-only.  Exit status 0 on
 * success, 1 with a message on stderr otherwise.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/block/block.h"

#define CHUNK (1u << 20)

static int usage(void)
{
    fprintf(stderr, "usage: blk-tool [--format raw|qcow2] [--snapshot] [--read-only] "
                    "info|read|write|dump|wrand|hold IMG [ARGS]\n");
    return 1;
}

static uint64_t num(const char *s)
{
    return strtoull(s, NULL, 0);
}

static int put(const void *buf, size_t len)
{
    return fwrite(buf, 1, len, stdout) == len ? 0 : -1;
}

/* Copy [off, off + len) of the disk to stdout. */
static int cmd_read(struct blockdev *bd, uint64_t off, uint64_t len)
{
    uint8_t *buf = malloc(CHUNK);
    int r = buf ? 0 : -1;
    while (r == 0 && len > 0) {
        size_t n = len < CHUNK ? (size_t)len : CHUNK;
        r = blk_read(bd, off, buf, n) < 0 ? -1 : put(buf, n);
        off += n;
        len -= n;
    }
    free(buf);
    if (r < 0) {
        fprintf(stderr, "blk-tool: read failed at %" PRIu64 "\n", off);
    }
    return r;
}

static int cmd_write(struct blockdev *bd, uint64_t off)
{
    uint8_t *buf = malloc(CHUNK);
    int r = buf ? 0 : -1;
    size_t n;
    while (r == 0 && (n = fread(buf, 1, CHUNK, stdin)) > 0) {
        if (blk_write(bd, off, buf, n) < 0) {
            fprintf(stderr, "blk-tool: write failed at %" PRIu64 "\n", off);
            r = -1;
        }
        off += n;
    }
    free(buf);
    if (r == 0 && blk_flush(bd) < 0) {
        fprintf(stderr, "blk-tool: flush failed\n");
        r = -1;
    }
    return r;
}

static uint64_t rnd(uint64_t *st)
{
    *st ^= *st << 13;
    *st ^= *st >> 7;
    *st ^= *st << 17;
    return *st;
}

static int compare_all(struct blockdev *bd, FILE *ref)
{
    uint8_t *a = malloc(CHUNK), *b = malloc(CHUNK);
    int r = a && b ? 0 : -1;
    uint64_t size = blk_size(bd);
    for (uint64_t off = 0; r == 0 && off < size; off += CHUNK) {
        size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
        memset(b, 0, n);
        if (blk_read(bd, off, a, n) < 0 || fseeko(ref, (off_t)off, SEEK_SET) < 0) {
            r = -1;
            break;
        }
        size_t got = fread(b, 1, n, ref);
        (void)got;  /* a short reference reads as zeros, like the disk's tail */
        for (size_t i = 0; i < n; i++) {
            if (a[i] != b[i]) {
                fprintf(stderr, "blk-tool: mismatch at byte %" PRIu64 "\n", off + i);
                r = -1;
                break;
            }
        }
    }
    free(a);
    free(b);
    return r;
}

static int cmd_wrand(struct blockdev *bd, const char *refpath, uint64_t seed, uint64_t count,
                     uint64_t maxlen)
{
    FILE *ref = fopen(refpath, "r+b");
    uint64_t size = blk_size(bd), st = seed * 2654435761u + 1;
    uint8_t *buf = malloc(maxlen + 512);
    if (!ref || !buf || !maxlen || size == 0) {
        fprintf(stderr, "blk-tool: wrand: cannot open '%s' or bad arguments\n", refpath);
        free(buf);
        return 1;
    }
    int r = 0;
    for (uint64_t i = 0; i < count && r == 0; i++) {
        uint64_t len = 1 + rnd(&st) % maxlen, off;
        len = len > size ? size : len;
        off = rnd(&st) % (size - len + 1);
        if (i & 1) {
            off &= ~511ull;
            len = (len + 511) & ~511ull;
            len = len > size - off ? size - off : len;
        }
        for (uint64_t j = 0; j < len; j++) {
            buf[j] = (uint8_t)(rnd(&st) >> 24);
        }
        if (blk_write(bd, off, buf, len) < 0 || fseeko(ref, (off_t)off, SEEK_SET) < 0 ||
            fwrite(buf, 1, len, ref) != len) {
            fprintf(stderr, "blk-tool: wrand: write %" PRIu64 " (%" PRIu64 "+%" PRIu64
                    ") failed\n", i, off, len);
            r = -1;
        }
        if (r == 0 && i % 7 == 6 && blk_flush(bd) < 0) {
            r = -1;
        }
    }
    free(buf);
    if (r == 0 && (blk_flush(bd) < 0 || fflush(ref) != 0 || compare_all(bd, ref) < 0)) {
        r = -1;
    }
    fclose(ref);
    return r;
}

static int run(struct blockdev *bd, const char *cmd, int argc, char **argv)
{
    if (strcmp(cmd, "info") == 0) {
        char info[512];
        blk_info(bd, info, sizeof(info));
        printf("format: %s\nvirtual size: %" PRIu64 "\nread-only: %s\n%s%s", blk_format(bd),
               blk_size(bd), blk_read_only(bd) ? "yes" : "no", info, info[0] ? "\n" : "");
        return 0;
    }
    if (strcmp(cmd, "read") == 0 && argc == 2) {
        return cmd_read(bd, num(argv[0]), num(argv[1]));
    }
    if (strcmp(cmd, "dump") == 0 && argc == 0) {
        return cmd_read(bd, 0, blk_size(bd));
    }
    if (strcmp(cmd, "write") == 0 && argc == 1) {
        return cmd_write(bd, num(argv[0]));
    }
    if (strcmp(cmd, "hold") == 0 && argc == 1) {
        printf("holding\n");
        fflush(stdout);
        sleep((unsigned)num(argv[0]));
        return 0;
    }
    if (strcmp(cmd, "wrand") == 0 && argc == 4) {
        return cmd_wrand(bd, argv[0], num(argv[1]), num(argv[2]), num(argv[3]));
    }
    return usage();
}

int main(int argc, char **argv)
{
    struct blk_open_opts opts = {0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            opts.format = argv[++i];
        } else if (strcmp(argv[i], "--snapshot") == 0) {
            opts.snapshot = true;
        } else if (strcmp(argv[i], "--read-only") == 0) {
            opts.read_only = true;
        } else {
            return usage();
        }
    }
    if (argc - i < 2) {
        return usage();
    }
    const char *cmd = argv[i], *path = argv[i + 1];
    bool reading = strcmp(cmd, "info") == 0 || strcmp(cmd, "read") == 0 ||
                   strcmp(cmd, "dump") == 0;
    if (reading) {
        opts.read_only = true;
    }
    char err[512];
    struct blockdev *bd = blk_open(path, &opts, err, sizeof(err));
    if (!bd) {
        fprintf(stderr, "blk-tool: %s\n", err);
        return 1;
    }
    int r = run(bd, cmd, argc - i - 2, argv + i + 2);
    blk_close(bd);
    if (fflush(stdout) != 0) {
        r = -1;
    }
    return r == 0 ? 0 : 1;
}
