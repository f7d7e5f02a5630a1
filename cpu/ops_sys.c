/* ops_sys.c - privileged and system instructions (being written). */
#include "ops.h"

void require_cpl0(struct cpu *cpu)
{
    if (cpu_pmode(cpu) && (cpu->cpl != 0 || cpu_v86(cpu))) {
        cpu_fault(cpu, EX_GP, 0);
    }
}
