/* edgebnn optimised binary kernels (C99, no heap): same results as the portable
 * kernels of ebnn_kernels.h, which stay the oracle.
 *
 * Weight rows in the "grouped" format (edgebnn/optkernels.py): a row of `words`
 * packed words w1 w2 w3 | w4 w5 w6 | ... (zero-padded to whole groups of 3) is
 * stored per group as  w1, w1 ^ w2, w1 ^ w3.  The activations are put in the same
 * form once per input vector (dense) or output pixel (convolution) and shared by
 * every output channel.  With t_i = a_i ^ w_i and d_i = t1 ^ t_i (two XORs of the
 * stored words):  t1 + t2 + t3 = s + 2c per bit, with
 *     s = t1 ^ d2 ^ d3,   c = maj(t1, t2, t3) = t1 ^ (d2 & d3),
 * so three words cost 7 logic instructions for two words of weights 1 and 2.
 * These are summed with bit-sliced carry-save adders (Harley-Seal) into planes of
 * weight 1..8, counted once per chunk with SWAR nibble/byte sums: one USADA8 where
 * the DSP extension is present (__ARM_FEATURE_SIMD32), a multiply elsewhere; hosts
 * with popcnt (__POPCNT__) count each word directly.
 */
#ifndef EBNN_OPT_H
#define EBNN_OPT_H

#include <stdint.h>

#include "ebnn_kernels.h"

#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
#include <arm_acle.h>
#endif

/* The hand-scheduled Thumb-2 loops of the short dense and float binarize kernels (GCC-style
 * asm, optimisation on: at -O0 the frame pointer takes a register they need); the same C
 * runs elsewhere. */
#if defined(__GNUC__) && defined(__thumb2__) && defined(__OPTIMIZE__)
#define EBNN_OPT_ASM 1
#else
#define EBNN_OPT_ASM 0
#endif

/* Groups of 3 words counted by one carry-save chunk: counts per bit <= 30, so five
 * planes (weights 1..16) hold them and the top plane never carries. */
#define EBNN_OPT_CHUNK 10
/* Longest row (words, a multiple of 3) the optimised kernels take: the row's
 * activations are staged on the stack; codegen uses the portable kernel above. */
#define EBNN_OPT_MAX_WORDS 96

/* Sum of the four bytes of x: one USAD8 with the DSP extension, a multiply elsewhere
 * (ARMv6-M has MULS but no SIMD). */
static inline uint32_t ebnn_opt_bytesum(uint32_t x)
{
#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
    return __usad8(x, 0u);
#else
    x = (x & 0x00FF00FFu) + ((x >> 8) & 0x00FF00FFu); /* halfwords <= 510 */
    return (x * 0x00010001u) >> 16;
#endif
}

/* Per-nibble bit counts (each <= 4). */
static inline uint32_t ebnn_opt_nibbles(uint32_t v)
{
    v = v - ((v >> 1) & 0x55555555u);
    return (v & 0x33333333u) + ((v >> 2) & 0x33333333u);
}

/* popcount of one word: the byte sum in one USAD8 where the DSP extension has it. */
static inline int32_t ebnn_opt_popcount(uint32_t v)
{
#if defined(__POPCNT__)
    return __builtin_popcount(v);
#else
    v = ebnn_opt_nibbles(v);
    return (int32_t)ebnn_opt_bytesum((v + (v >> 4)) & 0x0F0F0F0Fu);
#endif
}

/* popcount(p1) + 2 popcount(p2) + 4 popcount(p4) + 8 popcount(p8) + 16 popcount(p16),
 * once per chunk. */
static inline int32_t ebnn_opt_tail(uint32_t p1, uint32_t p2, uint32_t p4, uint32_t p8, uint32_t p16)
{
    uint32_t x = ebnn_opt_nibbles(p1) + (ebnn_opt_nibbles(p2) << 1); /* nibbles <= 12 */
    uint32_t y = ebnn_opt_nibbles(p4) + (ebnn_opt_nibbles(p8) << 1);
    uint32_t z = ebnn_opt_nibbles(p16);                               /* nibbles <= 4 */
    x = (x & 0x0F0F0F0Fu) + ((x >> 4) & 0x0F0F0F0Fu);                /* bytes <= 24 */
    y = (y & 0x0F0F0F0Fu) + ((y >> 4) & 0x0F0F0F0Fu);
    z = (z + (z >> 4)) & 0x0F0F0F0Fu;                                /* bytes <= 8 */
    return (int32_t)ebnn_opt_bytesum(x + (y << 2) + (z << 4));      /* bytes <= 248 */
}

/* Mismatches popcount(a ^ w) over one row: x holds the activations and w the
 * weights, both grouped.  One group per step keeps every plane in a register
 * (two groups per step made GCC spill on Cortex-M4). */
static inline int32_t ebnn_opt_row(const uint32_t *x, const uint32_t *w, int32_t groups)
{
#if defined(__POPCNT__)
    int32_t m = 0, g;
    for (g = 0; g < groups; g++, x += 3, w += 3) {
        const uint32_t t1 = x[0] ^ w[0];
        m += __builtin_popcount(t1) + __builtin_popcount(t1 ^ x[1] ^ w[1]) + __builtin_popcount(t1 ^ x[2] ^ w[2]);
    }
    return m;
#else
    int32_t m = 0;
    while (groups > 0) {
        int32_t g = groups < EBNN_OPT_CHUNK ? groups : EBNN_OPT_CHUNK;
        uint32_t p1 = 0u, p2 = 0u, p4 = 0u, p8 = 0u, p16 = 0u;
        groups -= g;
        do {
            /* t1 + t2 + t3 = s + 2c per bit (see the top of this file) */
            const uint32_t t = x[0] ^ w[0], d2 = x[1] ^ w[1], d3 = x[2] ^ w[2];
            const uint32_t c = t ^ (d2 & d3), s = t ^ d2 ^ d3;
            uint32_t f = p1 & s, u, h;
            p1 ^= s;
            u = p2 ^ c; /* carry-save add of c and f (both weight 2) into p2 */
            h = (p2 & c) | (u & f);
            p2 = u ^ f;
            f = p4 & h;
            p4 ^= h;
            p16 ^= p8 & f; /* counts <= 30: p16 never carries */
            p8 ^= f;
            x += 3;
            w += 3;
        } while (--g);
        m += ebnn_opt_tail(p1, p2, p4, p8, p16);
    }
    return m;
#endif
}

/* Put `words` packed activation words into grouped form (zero-padded to whole
 * groups) in x. */
static inline void ebnn_opt_group(const uint32_t *a, int32_t words, uint32_t *x)
{
    int32_t i;
    for (i = 0; i + 3 <= words; i += 3, a += 3, x += 3) {
        const uint32_t a1 = a[0];
        x[0] = a1;
        x[1] = a1 ^ a[1];
        x[2] = a1 ^ a[2];
    }
    if (i < words) {
        const uint32_t a1 = a[0];
        x[0] = a1;
        x[1] = i + 1 < words ? a1 ^ a[1] : a1;
        x[2] = a1;
    }
}

/* In-place form of ebnn_opt_group for a buffer already padded to whole groups. */
static inline void ebnn_opt_group_inplace(uint32_t *x, int32_t groups)
{
    int32_t g;
    for (g = 0; g < groups; g++, x += 3) {
        x[1] ^= x[0];
        x[2] ^= x[0];
    }
}

/* Binary dense, grouped weights (3 * groups words per output). */
void ebnn_bdense_opt(const uint32_t *in, const uint32_t *w, int32_t *out, int32_t k, int32_t words, int32_t n,
                     uint32_t *x);
/* The same fused with the threshold that follows: out bits = (d < thr[t]) ^ neg bit t,
 * t = o % mod (see ebnn_threshold). */
void ebnn_bdense_thr_opt(const uint32_t *in, const uint32_t *w, uint32_t *out, int32_t k, int32_t words, int32_t n,
                         const int32_t *thr, const uint32_t *neg, int32_t mod, uint32_t *x);

/* ebnn_bdense_thr_opt for short rows, plain (ungrouped) weights as ebnn_bdense. */
void ebnn_bdense_thr_small(const uint32_t *in, const uint32_t *w, uint32_t *out, int32_t k, int32_t words, int32_t n,
                           const int32_t *thr, const uint32_t *neg, int32_t mod);

/* Rows of at most EBNN_OPT_SHORT_WORDS words, plain weights as ebnn_bdense.  Thresholded:
 * bit o = (m << 24) >= c[o] with m = popcount(in ^ row o) (the compiler negates the rows of
 * negative-slope outputs and sets c = B << 24: bit set iff m >= B). */
#define EBNN_OPT_SHORT_WORDS 4
void ebnn_bdense_thr_short(const uint32_t *in, const uint32_t *w, uint32_t *out, int32_t words, int32_t n,
                           const uint32_t *c);
void ebnn_bdense_short(const uint32_t *in, const uint32_t *w, int32_t *out, int32_t k, int32_t words, int32_t n);

/* Binary convolution, grouped weights (3 * groups words per output channel for
 * its kh * kw * words(Cin) row); as ebnn_bconv. */
void ebnn_bconv_opt(const uint32_t *in, const uint32_t *w, int32_t *out, const ebnn_window *g, int32_t pad_mode);
void ebnn_bconv_thr_opt(const uint32_t *in, const uint32_t *w, uint32_t *out, const ebnn_window *g,
                        int32_t pad_mode, const int32_t *thr, const uint32_t *neg, int32_t mod);

/* Float to bits with one float threshold per element and no chain (the chain was
 * folded into the threshold at compile time): bit 0 (+1) where in[i] >= t[i % t_mod]
 * (> when strict), swapped when invert. */
void ebnn_binarize_cmp_f32(const float *in, uint32_t *out, int32_t rows, int32_t channels, const float *t,
                           int32_t t_mod, int32_t strict, int32_t invert);

/* The same for one threshold t > 0 compared as a float32 bit pattern (exact for every input,
 * -0 and NaN included): lo = the bits of t, + 1 when strict. */
void ebnn_binarize_bits_f32(const float *in, uint32_t *out, int32_t rows, int32_t channels, uint32_t lo,
                            int32_t invert);

/* out[i] = table[(in[i] + k) >> half]: an affine chain on accumulators |d| <= k tabulated
 * (half = 1 when every d has the parity of k). */
void ebnn_affine_lut_i32(const int32_t *in, float *out, int32_t n, const float *table, int32_t k, int32_t half);

static inline int32_t ebnn_opt_ctz(uint32_t x)
{
#if defined(__ARM_ARCH_6M__) || !defined(__GNUC__)
    return ebnn_popcount((x & (0u - x)) - 1u);
#else
    return __builtin_ctz(x);
#endif
}

/* Appends base + i for every set bit i of x to lp; returns the new end (16- and 32-bit
 * lists).  Thumb-2 has RBIT: reversed once, each bit is then one CLZ and cleared by its
 * own mask. */
#if defined(__GNUC__) && defined(__thumb2__)
#define EBNN_OPT_LIST_WORD(NAME, T)                                                                                    \
    static inline T *NAME(uint32_t x, uint32_t base, T *lp)                                                            \
    {                                                                                                                  \
        uint32_t y;                                                                                                    \
        __asm__("rbit %0, %1" : "=r"(y) : "r"(x));                                                                     \
        while (y) {                                                                                                    \
            const uint32_t t = (uint32_t)__builtin_clz(y);                                                             \
            *lp++ = (T)(base + t);                                                                                     \
            y &= ~(0x80000000u >> t);                                                                                  \
        }                                                                                                              \
        return lp;                                                                                                     \
    }
#else
#define EBNN_OPT_LIST_WORD(NAME, T)                                                                                    \
    static inline T *NAME(uint32_t x, uint32_t base, T *lp)                                                            \
    {                                                                                                                  \
        while (x) {                                                                                                    \
            *lp++ = (T)(base + (uint32_t)ebnn_opt_ctz(x));                                                             \
            x &= x - 1u;                                                                                               \
        }                                                                                                              \
        return lp;                                                                                                     \
    }
#endif
EBNN_OPT_LIST_WORD(ebnn_opt_list_word, uint16_t)
EBNN_OPT_LIST_WORD(ebnn_opt_list_word32, uint32_t)
#if EBNN_OPT_ASM
/* ebnn_opt_list_word over in[0..words) ^ fm by a nibble table (base + 32 * word + bit; 16-bit
 * entries below 2^16); both write up to 3 entries past the returned end. */
uint16_t *ebnn_opt_list_nib(const uint32_t *in, int32_t words, uint32_t fm, uint32_t base, uint16_t *lp);
uint32_t *ebnn_opt_list_nib32(const uint32_t *in, int32_t words, uint32_t fm, uint32_t base, uint32_t *lp,
                              const uint32_t *stop); /* null once a pair of words starts past stop */
#endif

/* Transposed dense kernels (ebnn_opt_dense.c): w holds ceil(n / 32) blocks of
 * 32 * words + 1 words (word i: bit q = weight bit of output 32 b + q at input bit i of
 * the packed row, padding included; then a 0 word); tw[o] = number of 1 weight bits of
 * output o.  32 * words <= EBNN_OPT_T_MAX_BITS (convolution), EBNN_OPT_T_DENSE_BITS (dense). */
#define EBNN_OPT_T_MAX_BITS 1024
#define EBNN_OPT_T_DENSE_BITS 32768 /* vertical sums stay below 2^16 per 16-bit lane */
int32_t ebnn_opt_list(const uint32_t *in, int32_t words, uint32_t *list, int32_t *a1, int32_t *flip);
void ebnn_opt_vsum32(const uint32_t *list, int32_t n, const uint32_t *w, uint32_t *s);
/* ebnn_opt_vsum on a 16-bit list without the lanes: the bit-sliced counts p[0..11] (plane l of
 * weight 2^l, lane q at bit q) of init (12 planes) plus the sums, all below 2^12 (the pooled
 * conv starts them at its per-lane offsets and compares the planes with one number). */
void ebnn_opt_vsum16_planes(const uint16_t *list, int32_t n, const uint32_t *w, const uint32_t *init, uint32_t *p);
/* list: arena scratch (planned per layer) of EBNN_OPT_T_LIST(words) entries. */
#define EBNN_OPT_T_LIST(words) (16 * (words) + 80) /* the fewer of the set and clear bits, room for two words */
void ebnn_bdense_t(const uint32_t *in, const uint32_t *w, const int32_t *tw, int32_t *out, int32_t k, int32_t words,
                   int32_t n, uint32_t *list);
/* ebnn_bdense_t thresholded, the threshold folded per output (weight_layouts.t_bounds): pq holds
 * n bounds for a list of set bits, then n for a list of clear ones. */
void ebnn_bdense_bnd_t(const uint32_t *in, const uint32_t *w, const int32_t *pq, uint32_t *out, int32_t words,
                       int32_t n, uint32_t *list);

/* Transposed binary convolution (ebnn_opt_conv.c), stride_w = dil_w = 1: w holds
 * ceil(out_c / 32) blocks of k_w * k_h taps, column-major (tap (i, j) at j * k_h + i),
 * each 32 * words(in_c) + 1 words: word c holds the block's 32 weight bits at input
 * channel c (padding channels 0), lane q < 16 for channel 2 q of the block and lane q + 16
 * for channel 2 q + 1; then a 0 word.  With T_o the number of 1 weight bits of output o,
 * twp[o / 2] holds EBNN_OPT_TW_BIAS - 2 T_o of outputs o (low half) and o + 1 (high half),
 * o even; ttap[t * out_c + o] counts them per tap t (pad_mode 0 with padding; else unused).
 * The set input bits are listed per input column of the current band of rows, so an input
 * pixel is listed once per output row rather than once per tap. */
#define EBNN_OPT_CONV_T_RING 16
#define EBNN_OPT_TW_BIAS 4096 /* > 2 T and 4 S + 4096 < 2^16 for rows <= EBNN_OPT_T_MAX_BITS */
#define EBNN_RING(s) ((s) & (EBNN_OPT_CONV_T_RING - 1)) /* a column's slot in the band */
/* The listed columns of the current row band (ebnn_opt_conv.c): per ring slot, where the
 * column starts in list, its entries and (pad_mode 0) its tap rows outside the image. */
typedef struct {
    uint32_t *list;
    int32_t cap;
    int32_t *start, *ones;
    uint32_t *missing;
    int32_t end;
} ebnn_band;
void ebnn_band_column(ebnn_band *bd, const uint32_t *in, const ebnn_window *g, int32_t pad_mode, int32_t oh, int32_t s);
/* The k_h tap rows of input column iw in output row oh's band, listed from lp by both
 * transposed convolutions (32-bit entries here, 16-bit in ebnn_opt_conv_pool.c): a row inside
 * the image lists its pixel's set bits (LIST_PIXEL: from the words at ip, entries base + 32
 * word + bit, advancing lp), a row outside it every channel (pad_mode -1) or nothing (+1
 * pixels; MISSING under ONNX zero padding).  BASE: row i's entry of channel 0.  Uses the
 * caller's in, g, pad_mode, oh, iw, wc, lp, i and c (a macro, so that each kernel compiles to
 * the code it had with the loop written out). */
#define EBNN_BAND_ROWS(ENTRY, BASE, LIST_PIXEL, MISSING)                                                               \
    for (i = 0; i < g->k_h; i++) {                                                                                     \
        const int32_t ih = oh * g->stride_h - g->pad_top + i * g->dil_h;                                               \
        const uint32_t base = (uint32_t)(BASE);                                                                        \
        if (ih >= 0 && ih < g->in_h && iw >= 0 && iw < g->in_w) {                                                      \
            const uint32_t *ip = in + (ih * g->in_w + iw) * wc;                                                        \
            LIST_PIXEL;                                                                                                \
        } else if (pad_mode < 0) {                                                                                     \
            for (c = 0; c < g->in_c; c++) {                                                                            \
                *lp++ = (ENTRY)(base + (uint32_t)c);                                                                   \
            }                                                                                                          \
        } else if (pad_mode == 0) {                                                                                    \
            MISSING;                                                                                                   \
        }                                                                                                              \
    }
/* Moves the live columns' list from `from` down to `to` (word pointers, advanced), n8 groups
 * of 8 words, each 8 loaded before they are stored (from - to may be less than 8; may read
 * past the list's end: < cap).  n: the caller's counter. */
#define EBNN_BAND_MOVE(n, n8, from, to)                                                                                \
    for (n = (n8); n > 0; n--, from += 8, to += 8) {                                                                   \
        const uint32_t e0 = from[0], e1 = from[1], e2 = from[2], e3 = from[3];                                         \
        const uint32_t e4 = from[4], e5 = from[5], e6 = from[6], e7 = from[7];                                         \
        to[0] = e0;                                                                                                    \
        to[1] = e1;                                                                                                    \
        to[2] = e2;                                                                                                    \
        to[3] = e3;                                                                                                    \
        to[4] = e4;                                                                                                    \
        to[5] = e5;                                                                                                    \
        to[6] = e6;                                                                                                    \
        to[7] = e7;                                                                                                    \
    }
/* list: cap entries of scratch (the arena, planned per layer), at least the window's
 * channels (k_h k_w in_c: a tap lists at most in_c entries) + a column's + 16; the spare room
 * sets how often the live columns move to the front. */
void ebnn_bconv_t(const uint32_t *in, const uint32_t *w, const uint32_t *twp, const uint16_t *ttap, int32_t *out,
                  const ebnn_window *g, int32_t pad_mode, uint32_t *list, int32_t cap);
void ebnn_bconv_thr_t(const uint32_t *in, const uint32_t *w, const uint32_t *twp, const uint16_t *ttap, uint32_t *out,
                      const ebnn_window *g, int32_t pad_mode, const int32_t *thr, const uint32_t *neg, int32_t mod,
                      uint32_t *list, int32_t cap);

/* ebnn_bconv_t with its threshold (one per channel) and an optional max-pool fused
 * (ebnn_opt_conv_pool.c): out holds the pooled bits (p: the pool's geometry over the conv
 * output, dilation 1; or_mask: channels pooled by OR, the others by AND) or, with p null, the
 * thresholded bits.  w as ebnn_bconv_t but lane q of each block is channel 32 b + q.  With
 * K = k_h k_w in_c, d >= thr is decided as S + f >= m - beta (base + K = 4 beta + rho): f holds
 * per kind of window, block and residue rho 12 bit planes of f_rho = m - ceil((2 T + thr + K -
 * 2 M - rho) / 4) (M: the 1 weight bits of the taps outside the image under ONNX zero padding;
 * spare channels 0), m at least the largest such ceiling and more than K / 2.  The kind of window of output pixel (oh, ow)
 * is row_kind[oh] * col_kinds + col_kind[ow] (row_kind null: one kind).  xw[b]: ~neg of the
 * block's channels.  scratch: cap words, EBNN_POOL_SCRATCH_WORDS(k_w, out words) of bookkeeping
 * (the planes of up to two blocks, the band's ring of EBNN_POOL_RING(k_w) columns), then a list of 16-bit entries (as
 * ebnn_bconv_t's, relative to the band's first listed column): at least the window's
 * channels + 16 of them. */
#define EBNN_POOL_RING(kw) ((kw) <= 2 ? 2 : (kw) <= 4 ? 4 : (kw) <= 8 ? 8 : 16) /* >= k_w, a power of 2 */
#define EBNN_POOL_PLANE_WORDS(owc) ((owc) > 1 ? 24 : 12) /* the planes of one block, or of a pair */
#define EBNN_POOL_SCRATCH_WORDS(kw, owc) (EBNN_POOL_PLANE_WORDS(owc) + 3 * EBNN_POOL_RING(kw))
void ebnn_bconv_pool_t(const uint32_t *in, const uint32_t *w, const uint32_t *f, int32_t m, const uint8_t *row_kind,
                       const uint8_t *col_kind, int32_t col_kinds, uint32_t *out, const ebnn_window *g, int32_t pad_mode,
                       const uint32_t *xw, const ebnn_window *p, const uint32_t *or_mask, uint32_t *scratch, int32_t cap);

#endif
