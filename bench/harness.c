/*
 * harness.c - the host side of the benchmarks: one small program with
 * three jobs, so bench/run needs nothing beyond sh and a C compiler.
 *
 *   harness native WORKLOAD COUNT REPS
 *       run the kernel natively (it is linked with the same kernels.o the
 *       ROM contains) REPS times; print "checksum XXXXXXXX ms WALL cpu_ms
 *       CPU", the fastest run's wall-clock and CPU milliseconds.
 *   harness patch ROM WORKLOAD COUNT FLAGS
 *       write the parameter block (three little-endian dwords) at offset
 *       0xffe0 of a copy of the benchmark ROM.
 *   harness time OUT LIMIT CMD [ARG...]
 *       run CMD with stdin from /dev/null and stdout/stderr to OUT,
 *       killing it after LIMIT seconds; print "ms WALL cpu_ms CPU rss_kb
 *       MAXRSS status STATUS" (wall-clock milliseconds, the child's user
 *       plus system CPU milliseconds, its peak resident set in KiB, its
 *       exit status or 128+signal).
 *
 * It is built -m32 with the kernels (see bench/run).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernels.h"

#define PARAM_OFFSET 0xffe0L

static double clock_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double now_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

static double timeval_ms(struct timeval tv)
{
    return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

static unsigned long parse_num(const char *s)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    if (errno != 0 || *s == '\0' || *end != '\0') {
        fprintf(stderr, "harness: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

static int cmd_native(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: harness native WORKLOAD COUNT REPS\n");
        return 2;
    }
    uint32_t id = (uint32_t)parse_num(argv[0]);
    uint32_t count = (uint32_t)parse_num(argv[1]);
    unsigned long reps = parse_num(argv[2]);
    void *mem = aligned_alloc(4096, BENCH_MEM_SIZE);
    if (mem == NULL) {
        perror("harness: aligned_alloc");
        return 1;
    }
    memset(mem, 0, BENCH_MEM_SIZE);
    double best = -1.0;
    double best_cpu = -1.0;
    uint32_t sum = 0;
    for (unsigned long i = 0; i < reps || i == 0; i++) {
        double t0 = now_ms();
        double c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
        uint32_t s = bench_run(id, count, mem);
        double c = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
        double t = now_ms() - t0;
        if (i > 0 && s != sum) {
            fprintf(stderr, "harness: checksum changed between runs\n");
            return 1;
        }
        sum = s;
        if (best < 0 || t < best) {
            best = t;
        }
        if (best_cpu < 0 || c < best_cpu) {
            best_cpu = c;
        }
    }
    printf("checksum %08x ms %.3f cpu_ms %.3f\n", (unsigned)sum, best, best_cpu);
    free(mem);
    return 0;
}

static int cmd_patch(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: harness patch ROM WORKLOAD COUNT FLAGS\n");
        return 2;
    }
    unsigned char block[12];
    for (int i = 0; i < 3; i++) {
        unsigned long v = parse_num(argv[1 + i]);
        for (int b = 0; b < 4; b++) {
            block[i * 4 + b] = (unsigned char)(v >> (8 * b));
        }
    }
    FILE *f = fopen(argv[0], "r+b");
    if (f == NULL || fseek(f, PARAM_OFFSET, SEEK_SET) != 0 ||
        fwrite(block, sizeof block, 1, f) != 1 || fclose(f) != 0) {
        perror("harness: patch");
        return 1;
    }
    return 0;
}

/* Wait for child `pid` at most `limit` seconds, then kill it; SIGCHLD is
 * blocked by the caller so sigtimedwait can sleep on it. */
static void wait_limited(pid_t pid, unsigned long limit, const sigset_t *chld)
{
    double deadline = now_ms() + (double)limit * 1e3;
    for (;;) {
        siginfo_t si;
        if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            si.si_pid == pid) {
            return;  /* exited; wait4 below reaps it */
        }
        double left = deadline - now_ms();
        if (left <= 0) {
            fprintf(stderr, "harness: killing the command after %lu s\n", limit);
            kill(pid, SIGKILL);
            return;
        }
        long long ns = (long long)(left * 1e6);
        struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
        sigtimedwait(chld, NULL, &ts);
    }
}

static int cmd_time(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: harness time OUT LIMIT CMD [ARG...]\n");
        return 2;
    }
    unsigned long limit = parse_num(argv[1]);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0) {
        perror("harness: fork");
        return 1;
    }
    if (pid == 0) {
        sigprocmask(SIG_UNBLOCK, &chld, NULL);
        int in = open("/dev/null", O_RDONLY);
        int out = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
            dup2(out, 2) < 0) {
            _exit(127);
        }
        execvp(argv[2], &argv[2]);
        _exit(127);
    }
    wait_limited(pid, limit, &chld);
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("harness: wait4");
            return 1;
        }
    }
    double t = now_ms() - t0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("ms %.3f cpu_ms %.3f rss_kb %ld status %d\n", t,
           timeval_ms(ru.ru_utime) + timeval_ms(ru.ru_stime), ru.ru_maxrss, code);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "native") == 0) {
        return cmd_native(argc - 2, argv + 2);
    }
    if (argc >= 2 && strcmp(argv[1], "patch") == 0) {
        return cmd_patch(argc - 2, argv + 2);
    }
    if (argc >= 2 && strcmp(argv[1], "time") == 0) {
        return cmd_time(argc - 2, argv + 2);
    }
    fprintf(stderr, "usage: harness native|patch|time ...\n");
    return 2;
}
