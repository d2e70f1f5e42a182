/* edgebnn emulator firmware: runs the emitted model under QEMU with
 * semihosting file I/O and times it with SysTick.
 *
 * Files, in QEMU's working folder:
 *   input.bin   MODEL_INPUT_SIZE model_input_t values per inference, read to EOF
 *   output.bin  MODEL_OUTPUT_SIZE model_output_t values (float32, or int32 indices) per inference
 *   stats.bin   uint32 words: a header, then per inference MODEL_LAYERS + 3
 *               stamps of (wraps, value, spins) - see edgebnn/emulate.py
 *
 * Timing.  Under `-icount shift=0` QEMU retires one instruction per ns of
 * virtual time, so SysTick on the processor clock (25 MHz on MPS2) moves once
 * per 40 instructions.  A stamp spins on the current-value register until it
 * changes (a tick edge) in a loop of exactly EMU_SPIN_INSNS instructions and
 * keeps the number of spins: the instructions between two stamps are then
 *   instructions_per_tick * ticks - EMU_SPIN_INSNS * spins - constant,
 * exact to EMU_SPIN_INSNS instructions, with the constant (the stamp's own
 * cost) measured at start-up by two back-to-back stamps.  The build defines
 * MODEL_LAYER_HOOK(i) to call emu_layer_hook(i): stamp i + 1 is taken before
 * layer i, stamp MODEL_LAYERS + 1 after the last one, stamps 0 and
 * MODEL_LAYERS + 2 just before and after model_run.  SysTick wraps (every
 * 2^24 ticks) are counted by its exception. */
#include <stdint.h>
#include <stdio.h>

#include "model.h"

#define EMU_SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define EMU_SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define EMU_SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#ifndef EMU_SYSTICK_RELOAD
#define EMU_SYSTICK_RELOAD 0x00FFFFFFu
#endif
#define EMU_MAGIC 0x554d4545u /* "EEMU" */
#define EMU_VERSION 1u
#define EMU_SPIN_INSNS 4u
#define EMU_CAL_LOOPS 100000u /* two instructions each */
#define EMU_STAMPS (MODEL_LAYERS + 3)

typedef struct {
    uint32_t wraps, value, spins;
} emu_stamp;

void emu_systick_handler(void);
void emu_layer_hook(int i);

static volatile uint32_t emu_wraps;
static emu_stamp emu_stamps[EMU_STAMPS];
static model_input_t emu_in[MODEL_INPUT_SIZE];
static model_output_t emu_out[MODEL_OUTPUT_SIZE];

void emu_systick_handler(void)
{
    emu_wraps++;
}

/* Spin to the next SysTick edge; each spin is EMU_SPIN_INSNS instructions. */
__attribute__((always_inline)) static inline void emu_stamp_take(emu_stamp *s)
{
    uint32_t first, now, spins = 0;
    __asm__ volatile(
        "ldr %[first], [%[cvr]]\n"
        "1:\n\t"
        "ldr %[now], [%[cvr]]\n\t"
        "adds %[spins], %[spins], #1\n\t"
        "cmp %[now], %[first]\n\t"
        "beq 1b\n"
        : [first] "=&r"(first), [now] "=&r"(now), [spins] "+r"(spins)
        : [cvr] "r"(&EMU_SYST_CVR)
        : "cc", "memory");
    s->wraps = emu_wraps;
    s->value = now;
    s->spins = spins;
}

__attribute__((noinline)) void emu_layer_hook(int i)
{
    emu_stamp_take(&emu_stamps[i + 1]);
}

/* EMU_CAL_LOOPS iterations of two instructions each. */
__attribute__((noinline)) static void emu_known_loop(void)
{
    uint32_t n = EMU_CAL_LOOPS;
    __asm__ volatile(
        "1:\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n"
        : [n] "+r"(n)
        :
        : "cc");
}

static int emu_write(FILE *f, const void *data, size_t size, size_t count)
{
    return fwrite(data, size, count, f) == count;
}

int main(void)
{
    FILE *in = fopen("input.bin", "rb");
    FILE *out = fopen("output.bin", "wb");
    FILE *stats = fopen("stats.bin", "wb");
    uint32_t header[6] = {EMU_MAGIC, EMU_VERSION, MODEL_LAYERS, EMU_SYSTICK_RELOAD, EMU_SPIN_INSNS,
                          EMU_CAL_LOOPS};
    emu_stamp cal[4];
    int ok;

    if (!in || !out || !stats) {
        fprintf(stderr, "edgebnn firmware: cannot open input.bin, output.bin or stats.bin\n");
        return 2;
    }
    /* SysTick on the processor clock, exception on wrap, from the top. */
    EMU_SYST_CSR = 0;
    EMU_SYST_RVR = EMU_SYSTICK_RELOAD;
    EMU_SYST_CVR = 0;
    EMU_SYST_CSR = 7u;

    /* Calibration: instructions per tick, then the cost of an empty region. */
    emu_stamp_take(&cal[0]);
    emu_known_loop();
    emu_stamp_take(&cal[1]);
    emu_layer_hook(-1);
    emu_layer_hook(0);
    cal[2] = emu_stamps[0];
    cal[3] = emu_stamps[1];

    ok = emu_write(stats, header, sizeof header[0], 6) && emu_write(stats, cal, sizeof cal, 1);
    while (ok && fread(emu_in, sizeof emu_in[0], MODEL_INPUT_SIZE, in) == MODEL_INPUT_SIZE) {
        emu_layer_hook(-1);
        model_run(emu_in, emu_out);
        emu_layer_hook(MODEL_LAYERS + 1);
        ok = emu_write(out, emu_out, sizeof emu_out[0], MODEL_OUTPUT_SIZE)
             && emu_write(stats, emu_stamps, sizeof emu_stamps, 1);
    }
    ok = !ferror(in) && ok;
    ok = (fclose(out) == 0) && ok;
    ok = (fclose(stats) == 0) && ok;
    fclose(in);
    if (!ok) {
        fprintf(stderr, "edgebnn firmware: file I/O through semihosting failed\n");
        return 3;
    }
    return 0;
}
