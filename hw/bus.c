/*
 * bus.c - physical memory map and I/O port space (see bus.h).
 *
 * Lookups walk a small array of ranges, newest mapping first, so a ROM or
 * MMIO window mapped over RAM hides it.  Plain-memory pages are handed to
 * the CPU's TLB as host pointers; everything else takes this slow path.
 */
#include "bus.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

struct bus *bus_new(uint32_t ram_size)
{
    struct bus *bus = calloc(1, sizeof(*bus));
    if (!bus) {
        return NULL;
    }
    bus->ram = calloc(1, ram_size ? ram_size : 1);
    if (!bus->ram) {
        free(bus);
        return NULL;
    }
    bus->ram_size = ram_size;
    return bus;
}

void bus_free(struct bus *bus)
{
    if (bus) {
        free(bus->ram);
        free(bus);
    }
}

/* Mark [start, start + len) as remapped: TLBs flush, translations of it go. */
static void map_changed(struct bus *bus, uint32_t start, uint32_t len)
{
    uint64_t end = (uint64_t)start + len;
    if (bus->changed_lo >= bus->changed_hi) {
        bus->changed_lo = start;
        bus->changed_hi = end;
    } else {
        bus->changed_lo = start < bus->changed_lo ? start : bus->changed_lo;
        bus->changed_hi = end > bus->changed_hi ? end : bus->changed_hi;
    }
    bus->generation++;
}

bool bus_take_changed(struct bus *bus, uint32_t *start, uint64_t *len)
{
    if (bus->changed_lo >= bus->changed_hi) {
        return false;
    }
    *start = (uint32_t)bus->changed_lo;
    *len = bus->changed_hi - bus->changed_lo;
    bus->changed_lo = bus->changed_hi = 0;
    return true;
}

static int add_map(struct bus *bus, struct bus_map m)
{
    if (bus->nmaps == BUS_MAX_MAPS || m.len == 0) {
        return -1;
    }
    bus->maps[bus->nmaps++] = m;
    map_changed(bus, m.start, m.len);
    return 0;
}

int bus_map_ram(struct bus *bus, uint32_t start, uint32_t len, uint8_t *host)
{
    return add_map(bus, (struct bus_map){ .start = start, .len = len,
                                          .kind = MAP_RAM, .host = host });
}

int bus_map_rom(struct bus *bus, uint32_t start, uint32_t len, uint8_t *host)
{
    return add_map(bus, (struct bus_map){ .start = start, .len = len,
                                          .kind = MAP_ROM, .host = host });
}

int bus_map_mmio(struct bus *bus, uint32_t start, uint32_t len,
                 const struct io_ops *ops, void *opaque)
{
    return add_map(bus, (struct bus_map){ .start = start, .len = len,
                                          .kind = MAP_MMIO, .ops = ops,
                                          .opaque = opaque });
}

void bus_unmap(struct bus *bus, uint32_t start)
{
    for (int i = bus->nmaps - 1; i >= 0; i--) {
        if (bus->maps[i].start == start) {
            map_changed(bus, start, bus->maps[i].len);
            memmove(&bus->maps[i], &bus->maps[i + 1],
                    (size_t)(bus->nmaps - i - 1) * sizeof(bus->maps[0]));
            bus->nmaps--;
            return;
        }
    }
}

/* The newest mapping covering paddr, or NULL (then RAM or nothing). */
static const struct bus_map *find_map(const struct bus *bus, uint32_t paddr)
{
    for (int i = bus->nmaps - 1; i >= 0; i--) {
        const struct bus_map *m = &bus->maps[i];
        if (paddr - m->start < m->len) {
            return m;
        }
    }
    return NULL;
}

/* Does any mapping overlap [start, start+len)? */
static bool map_overlaps(const struct bus *bus, uint32_t start, uint32_t len)
{
    for (int i = 0; i < bus->nmaps; i++) {
        const struct bus_map *m = &bus->maps[i];
        uint64_t a0 = m->start, a1 = (uint64_t)m->start + m->len;
        if (a0 < (uint64_t)start + len && (uint64_t)start < a1) {
            return true;
        }
    }
    return false;
}

uint8_t *bus_page_ptr(struct bus *bus, uint32_t paddr, bool *writable)
{
    uint32_t page = paddr & ~0xFFFu;
    const struct bus_map *m = find_map(bus, page);
    if (m) {
        if (m->kind == MAP_MMIO || page - m->start > m->len - 4096) {
            return NULL;
        }
        /* a later mapping may cover part of this page */
        for (int i = bus->nmaps - 1; &bus->maps[i] != m; i--) {
            const struct bus_map *o = &bus->maps[i];
            if (o->start < page + 4096 && page < o->start + o->len) {
                return NULL;
            }
        }
        *writable = m->kind == MAP_RAM;
        return m->host + (page - m->start);
    }
    if (page < bus->ram_size && bus->ram_size - page >= 4096 &&
        !map_overlaps(bus, page, 4096)) {
        *writable = true;
        return bus->ram + page;
    }
    return NULL;
}

static uint32_t read_byte(struct bus *bus, uint32_t paddr)
{
    const struct bus_map *m = find_map(bus, paddr);
    if (m) {
        if (m->kind == MAP_MMIO) {
            bus->dev_accesses++;
            return m->ops->read(m->opaque, paddr - m->start, 1) & 0xFF;
        }
        return m->host[paddr - m->start];
    }
    return paddr < bus->ram_size ? bus->ram[paddr] : 0xFF;
}

static void write_byte(struct bus *bus, uint32_t paddr, uint8_t val)
{
    const struct bus_map *m = find_map(bus, paddr);
    if (m) {
        if (m->kind == MAP_MMIO) {
            bus->dev_accesses++;
            m->ops->write(m->opaque, paddr - m->start, val, 1);
        } else if (m->kind == MAP_RAM) {
            m->host[paddr - m->start] = val;
        }
        return;
    }
    if (paddr < bus->ram_size) {
        bus->ram[paddr] = val;
    }
}

static uint32_t size_mask_bytes(int size)
{
    return size >= 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
}

static bool size_ok(const struct io_ops *ops, int size)
{
    return ops->sizes & (size == 1 ? 1 : size == 2 ? 2 : 4);
}

/* Is [paddr, paddr + size) plain RAM?  m: the mapping at paddr (none). */
static bool plain_ram(const struct bus *bus, const struct bus_map *m, uint32_t paddr, int size)
{
    return !m && paddr < bus->ram_size && bus->ram_size - paddr >= (uint32_t)size &&
           !find_map(bus, paddr + (uint32_t)size - 1);
}

uint32_t bus_read(struct bus *bus, uint32_t paddr, int size)
{
    const struct bus_map *m = find_map(bus, paddr);
    if (m && m->kind == MAP_MMIO && paddr - m->start <= m->len - size &&
        size_ok(m->ops, size)) {
        bus->dev_accesses++;
        return m->ops->read(m->opaque, paddr - m->start, size) & size_mask_bytes(size);
    }
    uint32_t v = 0;
    if (plain_ram(bus, m, paddr, size)) {
        for (int i = size - 1; i >= 0; i--) {
            v = v << 8 | bus->ram[paddr + (uint32_t)i];
        }
        return v;
    }
    for (int i = 0; i < size; i++) {
        v |= read_byte(bus, paddr + i) << (8 * i);
    }
    return v;
}

void bus_write(struct bus *bus, uint32_t paddr, uint32_t val, int size)
{
    const struct bus_map *m = find_map(bus, paddr);
    if (bus->write_log) {
        bus->write_log(bus->log_opaque, paddr, (uint32_t)size);
    }
    if (m && m->kind == MAP_MMIO && paddr - m->start <= m->len - size &&
        size_ok(m->ops, size)) {
        bus->dev_accesses++;
        m->ops->write(m->opaque, paddr - m->start, val, size);
        return;
    }
    if (plain_ram(bus, m, paddr, size)) {
        for (int i = 0; i < size; i++) {
            bus->ram[paddr + (uint32_t)i] = (uint8_t)(val >> (8 * i));
        }
    } else {
        for (int i = 0; i < size; i++) {
            write_byte(bus, paddr + i, (uint8_t)(val >> (8 * i)));
        }
    }
    if (bus->write_notify) {
        bus->write_notify(bus->notify_opaque, paddr, (uint32_t)size);
    }
}

/* Bytes from paddr to the end of its 4 KiB page, at most len. */
static size_t page_chunk(uint32_t paddr, size_t len)
{
    size_t room = 4096 - (paddr & 0xFFFu);
    return len < room ? len : room;
}

void bus_read_buf(struct bus *bus, uint32_t paddr, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        size_t n = page_chunk(paddr, len);
        bool writable;
        const uint8_t *host = bus_page_ptr(bus, paddr, &writable);
        if (host) {
            memcpy(p, host + (paddr & 0xFFFu), n);     /* plain RAM or ROM */
        } else {
            for (size_t i = 0; i < n; i++) {
                p[i] = (uint8_t)read_byte(bus, paddr + (uint32_t)i);
            }
        }
        p += n;
        paddr += (uint32_t)n;
        len -= n;
    }
}

void bus_write_buf(struct bus *bus, uint32_t paddr, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    if (bus->write_log && len) {
        bus->write_log(bus->log_opaque, paddr, (uint32_t)len);
    }
    for (size_t done = 0; done < len;) {
        uint32_t a = paddr + (uint32_t)done;
        size_t n = page_chunk(a, len - done);
        bool writable;
        uint8_t *host = bus_page_ptr(bus, a, &writable);
        if (host && writable) {
            memcpy(host + (a & 0xFFFu), p + done, n);  /* plain RAM */
        } else {
            for (size_t i = 0; i < n; i++) {
                write_byte(bus, a + (uint32_t)i, p[done + i]);
            }
        }
        done += n;
    }
    if (bus->write_notify && len) {
        bus->write_notify(bus->notify_opaque, paddr, (uint32_t)len);
    }
}

int bus_map_ports(struct bus *bus, uint16_t start, uint16_t len,
                  const struct io_ops *ops, void *opaque)
{
    if (len == 0 || (uint32_t)start + len > 65536) {
        return -1;
    }
    int slot = 0;
    while (slot < bus->nports && bus->ports[slot].ops) {
        slot++;   /* reuse a slot freed by bus_unmap_ports */
    }
    if (slot == BUS_MAX_PORTS) {
        return -1;
    }
    bus->ports[slot] = (struct bus_ports){ start, len, ops, opaque };
    if (slot == bus->nports) {
        bus->nports++;
    }
    for (uint32_t p = start; p < (uint32_t)start + len; p++) {
        bus->port_index[p] = (uint16_t)(slot + 1);
    }
    return 0;
}

void bus_unmap_ports(struct bus *bus, uint16_t start)
{
    for (int i = 0; i < bus->nports; i++) {
        struct bus_ports *p = &bus->ports[i];
        if (p->start == start && p->ops) {
            for (uint32_t q = p->start; q < (uint32_t)p->start + p->len; q++) {
                if (bus->port_index[q] == i + 1) {
                    bus->port_index[q] = 0;
                }
            }
            p->ops = NULL;   /* the slot stays; indices of others are kept */
            p->len = 0;
            return;
        }
    }
}

static uint32_t in_byte(struct bus *bus, uint16_t port)
{
    uint16_t idx = bus->port_index[port];
    if (!idx) {
        log_ch(LOG_IO, "in from unclaimed port %#x", port);
        return 0xFF;
    }
    const struct bus_ports *p = &bus->ports[idx - 1];
    return p->ops->read(p->opaque, port - p->start, 1) & 0xFF;
}

static void out_byte(struct bus *bus, uint16_t port, uint8_t val)
{
    uint16_t idx = bus->port_index[port];
    if (!idx) {
        log_ch(LOG_IO, "out %#x to unclaimed port %#x", val, port);
        return;
    }
    const struct bus_ports *p = &bus->ports[idx - 1];
    p->ops->write(p->opaque, port - p->start, val, 1);
}

uint32_t bus_in(struct bus *bus, uint16_t port, int size)
{
    bus->dev_accesses++;
    uint16_t idx = bus->port_index[port];
    if (idx) {
        const struct bus_ports *p = &bus->ports[idx - 1];
        if (port - p->start <= p->len - size && size_ok(p->ops, size)) {
            return p->ops->read(p->opaque, port - p->start, size) & size_mask_bytes(size);
        }
    }
    uint32_t v = 0;
    for (int i = 0; i < size; i++) {
        v |= in_byte(bus, (uint16_t)(port + i)) << (8 * i);
    }
    return v;
}

void bus_out(struct bus *bus, uint16_t port, uint32_t val, int size)
{
    bus->dev_accesses++;
    uint16_t idx = bus->port_index[port];
    if (idx) {
        const struct bus_ports *p = &bus->ports[idx - 1];
        if (port - p->start <= p->len - size && size_ok(p->ops, size)) {
            p->ops->write(p->opaque, port - p->start, val, size);
            return;
        }
    }
    for (int i = 0; i < size; i++) {
        out_byte(bus, (uint16_t)(port + i), (uint8_t)(val >> (8 * i)));
    }
}
