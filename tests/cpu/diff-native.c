/*
 * diff-native.c - the native half of the differential CPU test.
 *
 * Usage: diff-native SEED START COUNT GROUPS [CUT]   (numbers in C syntax)
 *
 * A 32-bit x86 Linux program (built with -m32, no sanitizers).  For each
 * sequence index START..START+COUNT-1 it generates the same sequence as
 * tests/difftest does (diffgen.c), copies the code to DIFF_CODE_ADDR with
 * a RET appended and the buffer to DIFF_DATA_ADDR (both mapped at those
 * fixed addresses, so memory operands and branch targets agree with the
 * emulated world), loads the initial registers and EFLAGS, runs it on the
 * host CPU, and writes one struct diff_result per sequence to stdout.
 *
 * Entry and exit go through a small assembly trampoline (diff_enter): it
 * saves the C registers, loads the guest ones, POPFs the flags, CALLs the
 * code, and on the RET stores the registers, PUSHF'd flags and an FNSAVE
 * image into the state block.  The x87 is FNINIT'd first, as the emulated
 * side starts from the FNINIT state too, with every (empty) register
 * holding +0: FXAM reports the sign of an empty register's old contents.  A fault inside generated code
 * (a #DE the generator chose, a #UD probe) arrives as a signal; the
 * handler records the vector (trapno), EIP, registers and flags from the
 * signal context and siglongjmps back, so faults are compared as well.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "diffgen.h"

#if !defined(__i386__)
#error "diff-native must be built for 32-bit x86 (-m32)"
#endif

#define CODE_MAP 0x10000u

/* Layout known to the trampoline: r at 0, eflags 32, target 36, fpu 40. */
struct nstate {
    uint32_t r[8];
    uint32_t eflags;
    uint32_t target;
    uint8_t fpu[DIFF_FPU_SIZE];
};
_Static_assert(sizeof(struct nstate) == 40 + DIFF_FPU_SIZE, "nstate layout");

void diff_enter(struct nstate *st);

__asm__(
    ".text\n"
    ".globl diff_enter\n"
    ".hidden diff_enter\n"
    ".type diff_enter, @function\n"
    "diff_enter:\n"
    "    pushl %ebp\n"
    "    pushl %ebx\n"
    "    pushl %esi\n"
    "    pushl %edi\n"
    "    movl 20(%esp), %eax\n"     /* st */
    "    pushl %eax\n"              /* kept at 8(%esp) across the call */
    "    pushl 36(%eax)\n"          /* call target */
    "    pushl 32(%eax)\n"          /* guest EFLAGS */
    "    fninit\n"                 /* registers +0, then empty: */
    "    fldz; fldz; fldz; fldz; fldz; fldz; fldz; fldz\n"
    "    fninit\n"                 /* FXAM of an empty one reads it */
    "    movl 4(%eax), %ecx\n"
    "    movl 8(%eax), %edx\n"
    "    movl 12(%eax), %ebx\n"
    "    movl 20(%eax), %ebp\n"
    "    movl 24(%eax), %esi\n"
    "    movl 28(%eax), %edi\n"
    "    movl 0(%eax), %eax\n"
    "    popfl\n"
    "    call *(%esp)\n"
    "    pushfl\n"
    "    pushl %eax\n"
    "    movl 12(%esp), %eax\n"     /* st, above eax, eflags and target */
    "    popl 0(%eax)\n"
    "    popl 32(%eax)\n"
    "    movl %ecx, 4(%eax)\n"
    "    movl %edx, 8(%eax)\n"
    "    movl %ebx, 12(%eax)\n"
    "    movl %ebp, 20(%eax)\n"
    "    movl %esi, 24(%eax)\n"
    "    movl %edi, 28(%eax)\n"
    "    fnsave 40(%eax)\n"
    "    cld\n"
    "    addl $8, %esp\n"
    "    popl %edi\n"
    "    popl %esi\n"
    "    popl %ebx\n"
    "    popl %ebp\n"
    "    ret\n"
    ".size diff_enter, .-diff_enter\n");

/*
 * The signal handler needs somewhere to put the fault and to jump back
 * to; this is the program's only mutable static state.
 */
static sigjmp_buf fault_jmp;
static struct diff_result *fault_res;

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
    const ucontext_t *uc = ctx;
    const greg_t *gr = uc->uc_mcontext.gregs;
    uint32_t eip = (uint32_t)gr[REG_EIP];
    (void)si;
    if (!fault_res || eip < DIFF_CODE_ADDR || eip >= DIFF_CODE_ADDR + CODE_MAP) {
        static const char msg[] = "diff-native: fault outside generated code\n";
        ssize_t n = write(2, msg, sizeof(msg) - 1);
        (void)n;
        _exit(128 + sig);
    }
    static const int order[8] = { REG_EAX, REG_ECX, REG_EDX, REG_EBX,
                                  REG_ESP, REG_EBP, REG_ESI, REG_EDI };
    fault_res->vec = (int32_t)gr[REG_TRAPNO];
    fault_res->eip = eip;
    for (int i = 0; i < 8; i++) {
        fault_res->r[i] = (uint32_t)gr[order[i]];
    }
    fault_res->r[4] = 0;
    fault_res->eflags = (uint32_t)gr[REG_EFL];
    siglongjmp(fault_jmp, 1);
}

static void *map_fixed(uint32_t addr, uint32_t len, int prot)
{
    void *p = mmap((void *)(uintptr_t)addr, len, prot,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED || p != (void *)(uintptr_t)addr) {
        fprintf(stderr, "diff-native: cannot map %#x (%u bytes)\n", addr, len);
        exit(2);
    }
    return p;
}

static void run_one(const struct diff_seq *s, uint8_t *code, uint8_t *data,
                    struct diff_result *res)
{
    static struct nstate st;   /* static: survives the siglongjmp */
    memcpy(code, s->code, s->len);
    code[s->len] = 0xC3;   /* RET back to the trampoline */
    memcpy(data, s->data, DIFF_DATA_SIZE);
    memset(data + (DIFF_TREC_ADDR - DIFF_DATA_ADDR), 0, sizeof(res->trec));
    memset(res, 0, sizeof(*res));
    memcpy(st.r, s->init.r, sizeof(st.r));
    st.eflags = s->init.eflags | 0x202;
    st.target = DIFF_CODE_ADDR;
    res->index = s->index;
    fault_res = res;
    if (sigsetjmp(fault_jmp, 1) == 0) {
        diff_enter(&st);
        res->vec = -1;
        res->eip = DIFF_CODE_ADDR + s->len;
        memcpy(res->r, st.r, sizeof(res->r));
        res->r[4] = 0;
        res->eflags = st.eflags;
        memcpy(res->fpu, st.fpu, DIFF_FPU_SIZE);
    } else {
        __asm__ volatile("cld; fninit");
    }
    fault_res = NULL;
    memcpy(res->data, data, DIFF_DATA_SIZE);
    memcpy(res->trec, data + (DIFF_TREC_ADDR - DIFF_DATA_ADDR), sizeof(res->trec));
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: diff-native SEED START COUNT GROUPS [CUT]\n");
        return 2;
    }
    uint64_t seed = strtoull(argv[1], NULL, 0);
    uint32_t start = (uint32_t)strtoul(argv[2], NULL, 0);
    uint32_t count = (uint32_t)strtoul(argv[3], NULL, 0);
    uint32_t groups = (uint32_t)strtoul(argv[4], NULL, 0);
    uint32_t cut = argc > 5 ? (uint32_t)strtoul(argv[5], NULL, 0) : 0;
    uint8_t *code = map_fixed(DIFF_CODE_ADDR, CODE_MAP, PROT_READ | PROT_WRITE | PROT_EXEC);
    uint8_t *data = map_fixed(DIFF_DATA_ADDR, 0x1000, PROT_READ | PROT_WRITE);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    static const int sigs[5] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP };
    for (int i = 0; i < 5; i++) {
        sigaction(sigs[i], &sa, NULL);
    }
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));

    struct diff_seq *s = malloc(sizeof(*s));
    struct diff_result *res = malloc(sizeof(*res));
    if (!s || !res) {
        return 2;
    }
    for (uint32_t i = 0; i < count; i++) {
        diff_gen(s, seed, start + i, groups);
        if (cut) {
            diff_truncate(s, cut);   /* see difftest --bisect */
        }
        run_one(s, code, data, res);
        if (fwrite(res, sizeof(*res), 1, stdout) != 1) {
            return 1;   /* the reader went away */
        }
    }
    fflush(stdout);
    free(s);
    free(res);
    return 0;
}
