/* Integer model inputs (see ebnn_input.h). */
#include <string.h>

#include "ebnn_input.h"

/* The SIMD path: DSP cores, GCC-style asm, and optimisation on (at -O0 the frame pointer
 * takes a register the asm needs). */
#if defined(__GNUC__) && defined(__OPTIMIZE__) && defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
#define EBNN_INPUT_SIMD 1
#else
#define EBNN_INPUT_SIMD 0
#endif

#if EBNN_INPUT_SIMD
/* 8 codes against one threshold q < 256: USUB8 sets a GE flag per byte where u >= q (int8
 * codes made u by one EOR per 4); SEL keeps 1 in the other bytes (0x01 for codes 0..3, 0x10
 * for 4..7), and one multiply by 0x01020408 gathers the 8 flags into the top byte in order
 * (the partial products never overlap): 10 instructions per 8 codes. */
#define EBNN_INPUT_FLIP "eor %[x0], %[x0], %[f]\n\teor %[x1], %[x1], %[f]\n\t"
#define EBNN_INPUT_8(FLIP)                                                                                             \
    "ldr %[x0], [%[p]], #4\n\t"                                                                                       \
    "ldr %[x1], [%[p]], #4\n\t" FLIP "usub8 %[t0], %[x0], %[qq]\n\t"                                                 \
    "sel %[t0], %[z], %[m01]\n\t"                                                                                     \
    "usub8 %[t1], %[x1], %[qq]\n\t"                                                                                   \
    "sel %[t1], %[z], %[m10]\n\t"                                                                                     \
    "orr %[t0], %[t0], %[t1]\n\t"                                                                                     \
    "mul %[t0], %[t0], %[magic]\n\t"                                                                                  \
    "and %[t0], %[t0], #0xFF000000\n\t"                                                                               \
    "orr %[bits], %[t0], %[bits], lsr #8\n\t"
#define EBNN_INPUT_OPERANDS                                                                                            \
    : [p] "+r"(p), [bits] "+r"(bits), [x0] "=&r"(x0), [x1] "=&r"(x1), [t0] "=&r"(t0), [t1] "=&r"(t1)                   \
    : [qq] "r"(qq), [z] "r"(0u), [m01] "r"(0x01010101u), [m10] "r"(0x10101010u), [magic] "r"(0x01020408u),           \
      [f] "r"(0x80808080u)                                                                                             \
    : "cc", "memory"

/* Whole words of 32 codes; the codes need no alignment (LDR takes unaligned words here). */
static void ebnn_input_words(const uint8_t *p, uint32_t *out, int32_t nw, uint32_t q, int32_t is_signed)
{
    const uint32_t qq = q * 0x01010101u;
    uint32_t x0, x1, t0, t1;
    for (; nw > 0; nw--) {
        uint32_t bits = 0u;
        if (is_signed) {
            __asm__(EBNN_INPUT_8(EBNN_INPUT_FLIP) EBNN_INPUT_8(EBNN_INPUT_FLIP) EBNN_INPUT_8(EBNN_INPUT_FLIP)
                        EBNN_INPUT_8(EBNN_INPUT_FLIP) EBNN_INPUT_OPERANDS);
        } else {
            __asm__(EBNN_INPUT_8("") EBNN_INPUT_8("") EBNN_INPUT_8("") EBNN_INPUT_8("") EBNN_INPUT_OPERANDS);
        }
        *out++ = bits;
    }
}
#endif

void ebnn_binarize_int(const void *in, uint32_t *out, int32_t rows, int32_t channels, const uint16_t *q,
                       const uint8_t *inv, int32_t mod, uint32_t flip)
{
    const uint8_t *p = (const uint8_t *)in;
    const int32_t wc = (channels + 31) / 32;
    int32_t r, c, k, i = 0;
    for (r = 0; r < rows; r++, out += wc) {
        c = 0;
#if EBNN_INPUT_SIMD
        if (mod == 1 && !inv[0] && q[0] < 256u) {
            const int32_t nw = channels >> 5;
            ebnn_input_words(p, out, nw, q[0], flip != 0u);
            c = 32 * nw;
            p += c;
            i += c;
        }
#endif
        if (c < channels) {
            for (k = c >> 5; k < wc; k++) {
                out[k] = 0u;
            }
        }
        for (; c < channels; c++, p++, i++) {
            const int32_t j = mod == 1 ? 0 : i % mod;
            const uint32_t bit = (uint32_t)(((uint32_t)(*p ^ flip) < q[j]) ^ inv[j]);
            out[c >> 5] |= bit << (c & 31);
        }
    }
}

void ebnn_scale_int(const void *in, float *out, int32_t n, const float *table, int32_t mod, uint32_t flip)
{
    const uint8_t *p = (const uint8_t *)in;
    int32_t i, j = 0;
    for (i = 0; i < n; i++) {
        out[i] = table[(uint32_t)(p[i] ^ flip) * (uint32_t)mod + (uint32_t)j];
        if (++j == mod) {
            j = 0;
        }
    }
}
