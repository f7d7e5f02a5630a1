/*
 * 8237A DMA pair, programmed through its ports as a BIOS does.  Register
 * layout, flip-flop, status bits, terminal-count and autoinitialize
 * behaviour from the Intel 8237A datasheet; page register ports and the
 * word addressing of channels 5-7 from the IBM PC/AT technical reference.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "hw/bus.h"
#include "hw/i8237.h"

static struct bus *bus;
static struct i8237 *dma;
static int calls;
static uint8_t pattern[256];
static size_t moved;
static bool saw_tc;

static void out(uint16_t port, uint8_t v)
{
    bus_out(bus, port, v, 1);
}

static uint8_t in(uint16_t port)
{
    return (uint8_t)bus_in(bus, port, 1);
}

/* The handler a device registers: writes `pattern` until TC or 256 bytes. */
static void device_writes(void *opaque, int chan)
{
    calls++;
    moved += i8237_write_memory(dma, chan, pattern, 256);
    saw_tc = i8237_tc(dma, chan);
    i8237_set_dreq(dma, chan, false);
}

static void setup(void)
{
    bus = bus_new(2u << 20);
    dma = i8237_new(bus);
    cr_assert_not_null(dma);
    calls = 0;
    moved = 0;
    saw_tc = false;
    for (int i = 0; i < 256; i++) {
        pattern[i] = (uint8_t)(i * 7 + 1);
    }
    /* SeaBIOS's dma_setup: master clear both, channel 4 cascade, unmasked */
    out(0x0D, 0);
    out(0xDA, 0);
    out(0xD6, 0xC0);
    out(0xD4, 0x00);
}

static void teardown(void)
{
    i8237_free(dma);
    bus_free(bus);
}

/* Program an 8-bit channel as a BIOS does (masked while it is written). */
static void program8(int ch, uint8_t mode, uint32_t addr, uint16_t count)
{
    static const uint16_t page_port[4] = { 0x87, 0x83, 0x81, 0x82 };
    out(0x0A, (uint8_t)(4 | ch));
    out(0x0C, 0);
    out((uint16_t)(ch * 2), (uint8_t)addr);
    out((uint16_t)(ch * 2), (uint8_t)(addr >> 8));
    out(0x0C, 0);
    out((uint16_t)(ch * 2 + 1), (uint8_t)count);
    out((uint16_t)(ch * 2 + 1), (uint8_t)(count >> 8));
    out(0x0B, (uint8_t)(mode | ch));
    out(page_port[ch], (uint8_t)(addr >> 16));
}

TestSuite(i8237, .init = setup, .fini = teardown);

Test(i8237, flip_flop_orders_the_bytes)
{
    out(0x0C, 0);
    out(0x04, 0x34);
    out(0x04, 0x12);
    out(0x05, 0xFF);   /* count low: the flip-flop was back at low */
    out(0x05, 0x01);
    out(0x0C, 0);
    cr_assert_eq(in(0x04), 0x34);
    cr_assert_eq(in(0x04), 0x12);
    cr_assert_eq(in(0x05), 0xFF);
    cr_assert_eq(in(0x05), 0x01);
    /* a read leaves the flip-flop on the high byte: clear it to restart */
    cr_assert_eq(in(0x04), 0x34);
    out(0x0C, 0);
    cr_assert_eq(in(0x04), 0x34);
    cr_assert_eq(i8237_remaining(dma, 2), 0x200);
}

Test(i8237, page_registers_and_plain_latches)
{
    out(0x81, 0x12);
    out(0x84, 0x5A);
    out(0x8F, 0xA5);
    cr_assert_eq(in(0x81), 0x12);
    cr_assert_eq(in(0x84), 0x5A);
    cr_assert_eq(in(0x8F), 0xA5);
    /* channel 2's page is 81h: a transfer lands at 12xxxxh */
    program8(2, 0x44, 0x120010, 3);
    out(0x0A, 2);
    i8237_set_handler(dma, 2, device_writes, NULL);
    i8237_set_dreq(dma, 2, true);
    cr_assert_eq(moved, 4);
    cr_assert_eq(memcmp(bus->ram + 0x120010, pattern, 4), 0);
}

Test(i8237, mask_registers)
{
    cr_assert_eq(in(0x0F) & 0x0F, 0x0F, "master clear masks every channel");
    out(0x0A, 0x01);             /* clear mask bit 1 */
    cr_assert_eq(in(0x0F) & 0x0F, 0x0D);
    out(0x0A, 0x05);             /* set it again */
    cr_assert_eq(in(0x0F) & 0x0F, 0x0F);
    out(0x0E, 0);                /* clear all */
    cr_assert_eq(in(0x0F) & 0x0F, 0x00);
    out(0x0F, 0x0A);             /* write all */
    cr_assert_eq(in(0x0F) & 0x0F, 0x0A);
    cr_assert_eq(in(0xDE) & 0x0F, 0x0E, "second controller: only channel 4 unmasked");
}

Test(i8237, transfer_runs_when_unmasked_and_sets_tc)
{
    i8237_set_handler(dma, 2, device_writes, NULL);
    program8(2, 0x44, 0x012340, 15);   /* single, increment, write, 16 bytes */
    i8237_set_dreq(dma, 2, true);
    cr_assert_eq(calls, 0, "masked: no service");
    cr_assert_eq(in(0x08) & 0xF0, 0x40, "request bit 2 pending");
    out(0x0A, 0x02);                   /* unmask: the request is served */
    cr_assert_eq(calls, 1);
    cr_assert_eq(moved, 16);
    cr_assert(saw_tc);
    cr_assert_eq(memcmp(bus->ram + 0x12340, pattern, 16), 0);
    cr_assert_eq(bus->ram[0x12350], 0, "nothing past the count");
    uint8_t st = in(0x08);
    cr_assert_eq(st & 0x0F, 0x04, "TC on channel 2");
    cr_assert_eq(in(0x08) & 0x0F, 0x00, "the read cleared it");
    cr_assert_eq(in(0x0F) & 0x04, 0x04, "TC without autoinit masks the channel");
    out(0x0C, 0);
    cr_assert_eq(in(0x04), 0x50);
    cr_assert_eq(in(0x04), 0x23);
    cr_assert_eq(in(0x05), 0xFF, "count ends at FFFFh");
    cr_assert_eq(in(0x05), 0xFF);
}

Test(i8237, autoinit_reloads)
{
    i8237_set_handler(dma, 1, device_writes, NULL);
    program8(1, 0x54, 0x003000, 7);   /* autoinit, write, 8 bytes */
    out(0x0A, 0x01);
    i8237_set_dreq(dma, 1, true);
    cr_assert_eq(moved, 8);
    cr_assert(saw_tc);
    cr_assert_eq(in(0x0F) & 0x02, 0, "autoinit leaves the channel unmasked");
    out(0x0C, 0);
    cr_assert_eq(in(0x02), 0x00);
    cr_assert_eq(in(0x02), 0x30);
    cr_assert_eq(in(0x03), 7);
    cr_assert_eq(in(0x03), 0);
    /* the next block goes to the same place again */
    memset(bus->ram + 0x3000, 0, 8);
    i8237_set_dreq(dma, 1, true);
    cr_assert_eq(calls, 2);
    cr_assert_eq(memcmp(bus->ram + 0x3000, pattern, 8), 0);
}

Test(i8237, decrement_mode_writes_downwards)
{
    i8237_set_handler(dma, 3, device_writes, NULL);
    program8(3, 0x64, 0x004010, 3);   /* decrement, write, 4 bytes */
    out(0x0A, 0x03);
    i8237_set_dreq(dma, 3, true);
    cr_assert_eq(moved, 4);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(bus->ram[0x4010 - i], pattern[i]);
    }
    out(0x0C, 0);
    cr_assert_eq(in(0x06), 0x0C);
    cr_assert_eq(in(0x06), 0x40);
}

Test(i8237, address_wraps_inside_the_page)
{
    i8237_set_handler(dma, 2, device_writes, NULL);
    program8(2, 0x44, 0x05FFFE, 3);
    out(0x0A, 0x02);
    i8237_set_dreq(dma, 2, true);
    cr_assert_eq(moved, 4);
    cr_assert_eq(bus->ram[0x5FFFE], pattern[0]);
    cr_assert_eq(bus->ram[0x5FFFF], pattern[1]);
    cr_assert_eq(bus->ram[0x50000], pattern[2], "the page does not carry");
    cr_assert_eq(bus->ram[0x50001], pattern[3]);
    cr_assert_eq(bus->ram[0x60000], 0);
}

Test(i8237, word_channel_addresses_words)
{
    i8237_set_handler(dma, 5, device_writes, NULL);
    out(0xD4, 0x05);   /* mask 5 */
    out(0xD8, 0);
    out(0xC4, 0xFF);   /* word address 0FFFFh: byte 1FFFEh in the 128K block */
    out(0xC4, 0xFF);
    out(0xD8, 0);
    out(0xC6, 2);      /* 3 words */
    out(0xC6, 0);
    out(0xD6, 0x45);   /* single, write, channel 5 */
    out(0x8B, 0x03);   /* page: bit 0 ignored -> 020000h */
    out(0xD4, 0x01);
    i8237_set_dreq(dma, 5, true);
    cr_assert_eq(moved, 6);
    cr_assert_eq(bus->ram[0x3FFFE], pattern[0]);
    cr_assert_eq(bus->ram[0x3FFFF], pattern[1]);
    cr_assert_eq(bus->ram[0x20000], pattern[2], "wraps inside the 128K block");
    cr_assert_eq(bus->ram[0x20003], pattern[5]);
    cr_assert_eq(in(0xD0) & 0x02, 0x02, "TC on channel 5");
}

static uint8_t got[64];

static void device_reads(void *opaque, int chan)
{
    calls++;
    moved += i8237_read_memory(dma, chan, got, sizeof(got));
    saw_tc = i8237_tc(dma, chan);
}

Test(i8237, read_and_verify_transfers)
{
    memcpy(bus->ram + 0x7000, pattern, 16);
    i8237_set_handler(dma, 1, device_reads, NULL);
    program8(1, 0x48, 0x007000, 15);  /* single, read (memory -> device) */
    out(0x0A, 0x01);
    i8237_set_dreq(dma, 1, true);
    cr_assert_eq(moved, 16);
    cr_assert_eq(memcmp(got, pattern, 16), 0);
    cr_assert(saw_tc);
    /* verify: the count runs, memory is not read */
    moved = 0;
    program8(1, 0x40, 0x007000, 7);
    out(0x0A, 0x01);
    i8237_set_dreq(dma, 1, true);
    cr_assert_eq(moved, 8);
    cr_assert_eq(got[0], 0xFF);
    cr_assert_eq(in(0x08) & 0x02, 0x02);
    /* a write device on a verify channel leaves memory alone */
    memset(bus->ram + 0x7000, 0xEE, 8);
    i8237_set_handler(dma, 1, device_writes, NULL);
    program8(1, 0x40, 0x007000, 7);
    out(0x0A, 0x01);
    i8237_set_dreq(dma, 1, true);
    cr_assert_eq(bus->ram[0x7000], 0xEE);
}

Test(i8237, disabled_controller_holds_requests)
{
    i8237_set_handler(dma, 0, device_writes, NULL);
    out(0x0D, 0);      /* the reset state -kernel boots find: */
    out(0xDA, 0);      /* the cascade masked too, which is not waited for */
    program8(0, 0x44, 0x008000, 0);
    out(0x08, 0x04);   /* command: controller disabled */
    out(0x0A, 0x00);
    i8237_set_dreq(dma, 0, true);
    cr_assert_eq(calls, 0);
    cr_assert(!i8237_ready(dma, 0));
    out(0x08, 0x00);   /* enabling it serves the waiting request */
    cr_assert_eq(calls, 1);
    cr_assert_eq(bus->ram[0x8000], pattern[0]);
    /* a channel in cascade mode is not a transfer channel */
    out(0xD6, 0xC1);
    out(0xD4, 0x01);
    cr_assert(!i8237_ready(dma, 5));
}

Test(i8237, master_clear_and_software_request)
{
    out(0x09, 0x06);   /* request channel 2 */
    cr_assert_eq(in(0x08) & 0xF0, 0x40);
    out(0x0D, 0);
    cr_assert_eq(in(0x08), 0x00, "master clear drops requests");
    cr_assert_eq(in(0x0F) & 0x0F, 0x0F);
}
