/*
 * jit.h - the dynamic binary translator's public interface.
 *
 * jit_attach() makes cpu_run() execute translated blocks (the interpreter
 * still runs what cannot be translated and delivers every event); without
 * it the CPU interprets.  Hosts without a backend (or a build configured
 * with --disable-jit) report jit_supported() false.
 */
#ifndef KASOU_JIT_H
#define KASOU_JIT_H

#include <stdbool.h>

#include "cpu/cpu.h"

bool jit_supported(void);
/*
 * Attach the translator to cpu (and its bus); -1 if unsupported or out of
 * memory.  With `check`, every block also runs in the interpreter on a copy
 * of the state and the first difference stops the program (jit/check.c).
 */
int jit_attach(struct cpu *cpu, bool check);
void jit_detach(struct cpu *cpu);
/* Translate at most n instructions a block (1..100; tests use 1 to check
 * each instruction's translation alone).  Drops the blocks translated so far. */
void jit_set_block_limit(struct cpu *cpu, unsigned n);

#endif
