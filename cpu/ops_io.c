/* ops_io.c - port I/O: IN, OUT, INS, OUTS and the I/O permission check. */
#include "ops.h"

void io_check(struct cpu *cpu, uint16_t port, int size)
{
    if (cpu_pmode(cpu) && (cpu->cpl > cpu_iopl(cpu) || cpu_v86(cpu))) {
        cpu_fault(cpu, EX_GP, 0);
    }
}
