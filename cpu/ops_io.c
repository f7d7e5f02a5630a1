/*
 * ops_io.c - port I/O: IN, OUT and the I/O permission check.
 * (INS and OUTS live with the other string instructions, cpu/ops_string.c.)
 *
 * In real mode every port is open.  In protected mode a CPL at or below
 * IOPL may use every port; otherwise, and always in virtual-8086 mode, the
 * I/O permission bitmap of the current 32-bit TSS decides: the bitmap
 * starts at the 16-bit offset stored at TSS+66h, one bit a port, and every
 * bit of the accessed ports must be clear.  The CPU always reads the two
 * bytes holding the first port's bit and the next byte (SDM vol.1 19.5.2),
 * so both must lie inside the TSS limit, or the access faults #GP(0); a
 * 16-bit TSS has no bitmap and faults too.
 */
#include "hw/bus.h"
#include "ops.h"

#define TSS_IOMAP_OFF 0x66u   /* word: offset of the I/O bitmap in a 32-bit TSS */
#define TSS32_MIN_LIMIT 0x67u

static bool tss32(const struct seg *tr)
{
    unsigned type = AR_TYPE(tr->ar);
    return !(tr->ar & AR_S) && (tr->ar & AR_P) && (type == 9 || type == 11);
}

void io_check(struct cpu *cpu, uint16_t port, int size)
{
    if (!cpu_pmode(cpu) || (!cpu_v86(cpu) && cpu->cpl <= cpu_iopl(cpu))) {
        return;
    }
    const struct seg *tr = &cpu->tr;
    if (!tss32(tr) || tr->limit < TSS32_MIN_LIMIT) {
        cpu_fault(cpu, EX_GP, 0);
    }
    uint32_t map = sys_rd(cpu, tr->base + TSS_IOMAP_OFF, 16);
    uint32_t at = map + port / 8u;    /* at most 0xFFFF + 0x1FFF: no wrap */
    if (at + 1 > tr->limit) {
        cpu_fault(cpu, EX_GP, 0);
    }
    uint32_t bits = sys_rd(cpu, tr->base + at, 16);
    uint32_t want = ((1u << size) - 1) << (port & 7);
    if (bits & want) {
        cpu_fault(cpu, EX_GP, 0);
    }
}

/* Access size in bytes: byte forms are the even opcodes. */
static int io_bytes(const struct insn *in)
{
    return (in->opcode & 1) ? in->opsize / 8 : 1;
}

/* E4-E7 name the port in an 8-bit immediate, EC-EF in DX. */
static uint16_t io_port(const struct cpu *cpu, const struct insn *in)
{
    return (in->opcode & 8) ? (uint16_t)cpu->r[R_EDX] : (uint16_t)(in->imm & 0xFF);
}

bool io_breakpoint(struct cpu *cpu, uint16_t port, int size)
{
    if (!cpu->dbg_armed || !(cpu->cr4 & CR4_DE)) {
        return false;
    }
    static const uint32_t len[4] = { 1, 2, 8, 4 };
    uint32_t dr7 = cpu->dr[7], hit = 0;
    for (int n = 0; n < 4; n++) {
        if (!(dr7 >> (2 * n) & 3) || ((dr7 >> (16 + 4 * n)) & 3) != 2) {
            continue;
        }
        uint32_t l = len[(dr7 >> (18 + 4 * n)) & 3];
        uint32_t bp = (cpu->dr[n] & 0xFFFF) & ~(l - 1);
        if ((uint32_t)port - bp < l || bp - (uint32_t)port < (uint32_t)size) {
            hit |= 1u << n;
        }
    }
    cpu->dr6_pending |= hit;
    return hit != 0;
}

void op_in(struct cpu *cpu, const struct insn *in)
{
    int bytes = io_bytes(in);
    uint16_t port = io_port(cpu, in);
    io_check(cpu, port, bytes);
    reg_set(cpu, R_EAX, bytes * 8, bus_in(cpu->bus, port, bytes));
    io_breakpoint(cpu, port, bytes);
}

void op_out(struct cpu *cpu, const struct insn *in)
{
    int bytes = io_bytes(in);
    uint16_t port = io_port(cpu, in);
    io_check(cpu, port, bytes);
    bus_out(cpu->bus, port, cpu->r[R_EAX] & size_mask(bytes * 8), bytes);
    io_breakpoint(cpu, port, bytes);
}
