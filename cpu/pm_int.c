/* pm_int.c - protected-mode interrupt delivery (being written). */
#include "ops.h"

void pm_interrupt(struct cpu *cpu, int vec, uint32_t err, int kind, uint32_t ret_eip);

void pm_interrupt(struct cpu *cpu, int vec, uint32_t err, int kind, uint32_t ret_eip)
{
    cpu->reset_request = true;
}
