/* Optimised activations: float to bits against one folded threshold per element. */
#include <string.h>

#include "ebnn_opt.h"

#define EBNN_OPT_CMP1(bits, in, t0, b) ((bits) |= (uint32_t)((in)[b] >= (t0)) << (b))
#define EBNN_OPT_CMP4(bits, in, t0, b)                                                                                 \
    EBNN_OPT_CMP1(bits, in, t0, b);                                                                                    \
    EBNN_OPT_CMP1(bits, in, t0, (b) + 1);                                                                              \
    EBNN_OPT_CMP1(bits, in, t0, (b) + 2);                                                                              \
    EBNN_OPT_CMP1(bits, in, t0, (b) + 3)
#define EBNN_OPT_CMP32(bits, in, t0)                                                                                   \
    EBNN_OPT_CMP4(bits, in, t0, 0);                                                                                    \
    EBNN_OPT_CMP4(bits, in, t0, 4);                                                                                    \
    EBNN_OPT_CMP4(bits, in, t0, 8);                                                                                    \
    EBNN_OPT_CMP4(bits, in, t0, 12);                                                                                   \
    EBNN_OPT_CMP4(bits, in, t0, 16);                                                                                   \
    EBNN_OPT_CMP4(bits, in, t0, 20);                                                                                   \
    EBNN_OPT_CMP4(bits, in, t0, 24);                                                                                   \
    EBNN_OPT_CMP4(bits, in, t0, 28)

void ebnn_binarize_cmp_f32(const float *in, uint32_t *out, int32_t rows, int32_t channels, const float *t,
                           int32_t t_mod, int32_t strict, int32_t invert)
{
    const int32_t wc = EBNN_WORDS(channels);
    const uint32_t flip = invert ? 0u : 1u;
    int32_t r, c, ti = 0;
    for (r = 0; r < rows; r++, out += wc) {
        for (c = 0; c < channels; c += 32) {
            const int32_t m = channels - c < 32 ? channels - c : 32;
            uint32_t bits = 0u;
            int32_t b;
            if (t_mod == 1 && m == 32 && !strict) {
                /* the common case, unrolled: constant shifts, no loop counter */
                const float t0 = t[0];
                EBNN_OPT_CMP32(bits, in, t0);
            } else if (t_mod == 1) {
                const float t0 = t[0];
                if (strict) {
                    for (b = 0; b < m; b++) {
                        bits |= (uint32_t)(in[b] > t0) << b;
                    }
                } else {
                    for (b = 0; b < m; b++) {
                        bits |= (uint32_t)(in[b] >= t0) << b;
                    }
                }
            } else {
                for (b = 0; b < m; b++) {
                    const uint32_t holds = strict ? (uint32_t)(in[b] > t[ti]) : (uint32_t)(in[b] >= t[ti]);
                    bits |= holds << b;
                    if (++ti == t_mod) {
                        ti = 0;
                    }
                }
            }
            in += m;
            /* holds -> bit 0 (+1) unless invert */
            out[c >> 5] = flip ? ~bits & (m == 32 ? 0xFFFFFFFFu : (1u << m) - 1u) : bits;
        }
    }
}

/* Float to bits against one threshold t > 0 compared as its bit pattern: x >= t exactly when
 * the bits of x lie in [lo, 0x7F800000] (lo = bits of t, + 1 when strict; -0, negatives and
 * NaNs fall outside), i.e. when (bits - lo) < r with r = 0x7F800001 - lo.  Thumb-2: the
 * comparison's carry is shifted in (ADC), four pixels per LDM, 3.25 instructions a pixel. */
#if EBNN_OPT_ASM
/* Four pixels p[-4..-1], the last first (each bit is shifted in from the carry). */
#define EBNN_OPT_CLEAR4                                                                                                \
    "ldmdb %[p]!, {%[t0], %[t1], %[t2], %[t3]}\n\t"                                                                  \
    "sub %[t3], %[t3], %[lo]\n\tcmp %[t3], %[r]\n\tadc %[bits], %[bits], %[bits]\n\t"                              \
    "sub %[t2], %[t2], %[lo]\n\tcmp %[t2], %[r]\n\tadc %[bits], %[bits], %[bits]\n\t"                              \
    "sub %[t1], %[t1], %[lo]\n\tcmp %[t1], %[r]\n\tadc %[bits], %[bits], %[bits]\n\t"                              \
    "sub %[t0], %[t0], %[lo]\n\tcmp %[t0], %[r]\n\tadc %[bits], %[bits], %[bits]\n\t"
#define EBNN_OPT_CLEAR_OPERANDS                                                                                        \
    : [p] "+r"(p), [bits] "+r"(bits), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3)                   \
    : [lo] "r"(lo), [r] "r"(r)                                                                                         \
    : "cc", "memory"
#endif

static inline uint32_t ebnn_opt_clear_f32(const float *in, int32_t m, uint32_t lo, uint32_t r)
{
    uint32_t bits = 0u;
    int32_t b = m;
#if EBNN_OPT_ASM
    const void *p = in + m; /* read by the asm only: no aliased C access */
    /* LDM takes its registers in ascending order: pinned (GNU local register variables) */
    register uint32_t t0 __asm__("r8"), t1 __asm__("r9"), t2 __asm__("r10"), t3 __asm__("r11");
    if (m == 32) { /* straight-line: 3.25 instructions a pixel */
        __asm__(EBNN_OPT_CLEAR4 EBNN_OPT_CLEAR4 EBNN_OPT_CLEAR4 EBNN_OPT_CLEAR4 EBNN_OPT_CLEAR4 EBNN_OPT_CLEAR4
                EBNN_OPT_CLEAR4 EBNN_OPT_CLEAR4 EBNN_OPT_CLEAR_OPERANDS);
        return bits;
    }
    if ((m & 3) == 0) { /* a short row (its pixels a multiple of 4): groups of 4 */
        for (; b > 0; b -= 4) {
            __asm__(EBNN_OPT_CLEAR4 EBNN_OPT_CLEAR_OPERANDS);
        }
        return bits;
    }
#endif
    while (b-- > 0) { /* the last first, as the carry chain */
        uint32_t u;
        memcpy(&u, in + b, sizeof u); /* the bit pattern, within the aliasing rules */
        bits = (bits << 1) | (uint32_t)(u - lo >= r);
    }
    return bits;
}

#if EBNN_OPT_ASM
/* nw whole words of pixels from in to out, in one loop: 109 instructions a word. */
static void ebnn_opt_clear_words(const float *in, uint32_t *out, int32_t nw, uint32_t lo, uint32_t r)
{
    const void *p = in + 32;
    uint32_t bits = 0u;
    register uint32_t t0 __asm__("r8"), t1 __asm__("r9"), t2 __asm__("r10"), t3 __asm__("r11");
    /* volatile: it stores the words itself, and its register outputs are unused */
    __asm__ volatile("1:\n\t" EBNN_OPT_CLEAR4 EBNN_OPT_CLEAR4 EBNN_OPT_CLEAR4 EBNN_OPT_CLEAR4 EBNN_OPT_CLEAR4 EBNN_OPT_CLEAR4
            EBNN_OPT_CLEAR4 EBNN_OPT_CLEAR4
            "add %[p], %[p], #256\n\t"
            "str %[bits], [%[out]], #4\n\t"
            "movs %[bits], #0\n\t"
            "subs %[nw], %[nw], #1\n\t"
            "bne 1b\n\t"
            : [p] "+r"(p), [bits] "+r"(bits), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3),
              [out] "+r"(out), [nw] "+r"(nw)
            : [lo] "r"(lo), [r] "r"(r)
            : "cc", "memory");
}
#endif

void ebnn_binarize_bits_f32(const float *in, uint32_t *out, int32_t rows, int32_t channels, uint32_t lo,
                            int32_t invert)
{
    const uint32_t r = 0x7F800001u - lo;
    const int32_t wc = EBNN_WORDS(channels);
    int32_t row, c = 0, i;
    for (row = 0; row < rows; row++, out += wc) {
#if EBNN_OPT_ASM
        if (channels >= 32) {
            ebnn_opt_clear_words(in, out, channels >> 5, lo, r);
            c = channels & ~31;
            in += c;
        }
#endif
        for (i = c >> 5; c < channels; c += 32, i++) {
            const int32_t m = channels - c < 32 ? channels - c : 32;
            out[i] = ebnn_opt_clear_f32(in, m, lo, r); /* bit 1 (-1) where x < t */
            in += m;
        }
        c = 0;
        if (invert) { /* bit 0 (+1) where x < t */
            for (i = 0; i < wc; i++) {
                out[i] = ~out[i];
            }
            if (channels & 31) {
                out[wc - 1] &= (1u << (channels & 31)) - 1u;
            }
        }
    }
}

/* An affine chain on accumulators |d| <= k with the same constants for every element, as a
 * table of its float32 results (computed at compile time by the same float32 steps): 2 k + 1
 * of them, or with half = 1 the k + 1 of the d that have the parity of k. */
void ebnn_affine_lut_i32(const int32_t *in, float *out, int32_t n, const float *table, int32_t k, int32_t half)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        out[i] = table[(in[i] + k) >> half];
    }
}
