/*
 * bus.h - the physical address space and the I/O port space.
 *
 * Physical memory is a sorted set of ranges: RAM (one host allocation),
 * ROM (host memory, writes ignored) and MMIO (handler callbacks).  The
 * 64K I/O port space maps port ranges to handlers.  A handler is
 * (opaque, read(off, size), write(off, val, size)); the bus splits accesses
 * wider than a handler accepts into byte accesses.  Unclaimed memory reads
 * as all ones and unclaimed ports read as all ones; writes to them vanish.
 */
#ifndef KASOU_BUS_H
#define KASOU_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct io_ops {
    uint32_t (*read)(void *opaque, uint32_t off, int size);
    void (*write)(void *opaque, uint32_t off, uint32_t val, int size);
    uint8_t sizes;   /* accepted access sizes: bit0=1 byte, bit1=2, bit2=4 */
};

enum { MAP_RAM, MAP_ROM, MAP_MMIO };

struct bus_map {
    uint32_t start, len;
    int kind;
    uint8_t *host;              /* RAM/ROM backing (host pointer to start) */
    const struct io_ops *ops;   /* MMIO */
    void *opaque;
};

#define BUS_MAX_MAPS 64
#define BUS_MAX_PORTS 128

struct bus_ports {
    uint16_t start, len;
    const struct io_ops *ops;
    void *opaque;
};

struct bus {
    uint8_t *ram;
    uint32_t ram_size;
    struct bus_map maps[BUS_MAX_MAPS];
    int nmaps;
    struct bus_ports ports[BUS_MAX_PORTS];
    int nports;
    uint16_t port_index[65536];  /* port -> ports[] slot + 1, or 0 */
    /* called when guest code or DMA writes memory (for code invalidation) */
    void (*write_notify)(void *opaque, uint32_t paddr, uint32_t len);
    void *notify_opaque;
    uint64_t generation;         /* bumped on map changes: TLBs must flush */
    /* the physical range [changed_lo, changed_hi) whose mapping changed
     * since bus_take_changed (empty: lo >= hi) */
    uint64_t changed_lo, changed_hi;
    /* called before a write changes memory (the JIT's lockstep journal) */
    void (*write_log)(void *opaque, uint32_t paddr, uint32_t len);
    void *log_opaque;
    uint64_t dev_accesses;       /* MMIO and port accesses so far */
};

/* Create a bus with `ram_size` bytes of zeroed RAM at physical 0. */
struct bus *bus_new(uint32_t ram_size);
void bus_free(struct bus *bus);

/* Map host memory as RAM (a framebuffer, say; the bus does not copy it). */
int bus_map_ram(struct bus *bus, uint32_t start, uint32_t len, uint8_t *host);
/* Map host memory as ROM (read-only; the bus does not copy it). */
int bus_map_rom(struct bus *bus, uint32_t start, uint32_t len, uint8_t *host);
int bus_map_mmio(struct bus *bus, uint32_t start, uint32_t len,
                 const struct io_ops *ops, void *opaque);
/* Remove the mapping that starts at `start`; RAM below it shows again. */
void bus_unmap(struct bus *bus, uint32_t start);
/* The physical range whose mapping changed since the last call, in
 * *start and *len; false if none did.  The range is cleared. */
bool bus_take_changed(struct bus *bus, uint32_t *start, uint64_t *len);
int bus_map_ports(struct bus *bus, uint16_t start, uint16_t len,
                  const struct io_ops *ops, void *opaque);
/* Remove the port range that starts at `start` (PCI BAR moves). */
void bus_unmap_ports(struct bus *bus, uint16_t start);

/*
 * Host pointer for the page holding `paddr`, if the whole page is plain
 * memory: RAM (writable) or ROM (writable == false).  NULL for MMIO,
 * unmapped space, or a page split between kinds.
 */
uint8_t *bus_page_ptr(struct bus *bus, uint32_t paddr, bool *writable);

uint32_t bus_read(struct bus *bus, uint32_t paddr, int size);
void bus_write(struct bus *bus, uint32_t paddr, uint32_t val, int size);
/* Bulk copy for devices (DMA); writes notify code invalidation. */
void bus_read_buf(struct bus *bus, uint32_t paddr, void *buf, size_t len);
void bus_write_buf(struct bus *bus, uint32_t paddr, const void *buf, size_t len);

uint32_t bus_in(struct bus *bus, uint16_t port, int size);
void bus_out(struct bus *bus, uint16_t port, uint32_t val, int size);

#endif
