/*
 * irq.h - an interrupt line: (fn, opaque, n).  A device holds a struct irq
 * for each output pin and raises or lowers it; the board connects the pin
 * to an interrupt controller input when it wires the machine.
 */
#ifndef KASOU_IRQ_H
#define KASOU_IRQ_H

struct irq {
    void (*set)(void *opaque, int n, int level);
    void *opaque;
    int n;
};

static inline void irq_set(const struct irq *irq, int level)
{
    if (irq->set) {
        irq->set(irq->opaque, irq->n, level);
    }
}

static inline void irq_pulse(const struct irq *irq)
{
    irq_set(irq, 1);
    irq_set(irq, 0);
}

#endif
