/* Optimised binary dense layers (see ebnn_opt.h): grouped weights, the activations
 * grouped once in arena scratch (x: 3 * groups words) and shared by every output. */
#include "ebnn_opt.h"

void ebnn_bdense_opt(const uint32_t *in, const uint32_t *w, int32_t *out, int32_t k, int32_t words, int32_t n,
                     uint32_t *x)
{
    const int32_t groups = (words + 2) / 3, stride = 3 * groups;
    ebnn_opt_group(in, words, x);
    int32_t o;
    for (o = 0; o < n; o++, w += stride) {
        out[o] = k - 2 * ebnn_opt_row(x, w, groups);
    }
}

void ebnn_bdense_thr_opt(const uint32_t *in, const uint32_t *w, uint32_t *out, int32_t k, int32_t words, int32_t n,
                         const int32_t *thr, const uint32_t *neg, int32_t mod, uint32_t *x)
{
    const int32_t groups = (words + 2) / 3, stride = 3 * groups;
    ebnn_opt_group(in, words, x);
    uint32_t bits = 0u;
    int32_t o, t = 0;
    for (o = 0; o < n; o++, w += stride) {
        const int32_t d = k - 2 * ebnn_opt_row(x, w, groups);
        bits |= ((uint32_t)(d < thr[t]) ^ ((neg[t >> 5] >> (t & 31)) & 1u)) << (o & 31);
        if (++t == mod) {
            t = 0;
        }
        if ((o & 31) == 31) {
            *out++ = bits;
            bits = 0u;
        }
    }
    if (n & 31) {
        *out = bits;
    }
}

/* Rows too short for the carry-save kernel (fewer than 9 words, e.g. TFC's 64-wide
 * hidden layers): a per-word popcount, still fused with the threshold so the int32
 * accumulators are never written or re-read. */
void ebnn_bdense_thr_small(const uint32_t *in, const uint32_t *w, uint32_t *out, int32_t k, int32_t words, int32_t n,
                           const int32_t *thr, const uint32_t *neg, int32_t mod)
{
    uint32_t bits = 0u;
    int32_t o, j, t = 0;
    for (o = 0; o < n; o++) {
        int32_t m = 0, d;
        for (j = 0; j < words; j++) {
            m += ebnn_opt_popcount(in[j] ^ *w++);
        }
        d = k - 2 * m;
        bits |= ((uint32_t)(d < thr[t]) ^ ((neg[t >> 5] >> (t & 31)) & 1u)) << (o & 31);
        if (++t == mod) {
            t = 0;
        }
        if ((o & 31) == 31) {
            *out++ = bits;
            bits = 0u;
        }
    }
    if (n & 31) {
        *out = bits;
    }
}

/* ---- Transposed ("vertical") dense kernels ----
 * With A1 the inputs whose bit is 1, T_j the number of 1 weight bits of output j and
 * S1_j the sum of output j's weight bits over A1, the mismatches are
 *     m_j = |A1| + T_j - 2 S1_j,   so   d_j = k - 2 m_j = k - 2|A1| - 2 T_j + 4 S1_j.
 * When more than half the inputs are 1, the 0 inputs A0 are summed instead (S0 = T - S1):
 *     d_j = k - 2|A1| + 2 T_j - 4 S0_j.
 * The weights are stored transposed per block of 32 outputs (word kk of a block holds
 * the bits of its 32 outputs at input kk, then one 0 word), so S for 32 outputs is the
 * bit-sliced (vertical) sum of the listed words: Harley-Seal carry-save adders over 16
 * words at a time, the 16s rippled into higher planes, converted to 32 integers once
 * per block (two per word, in 16-bit lanes). */

#if EBNN_OPT_ASM
/* A whole block in Thumb-2, four outputs a step (lanes q, q + 1 and q + 16, q + 17): the sums
 * and the counts load in pairs (LDRD), the outputs store in pairs (STRD).  Each output is
 * c = base - 2 T (+ 2 T with the list of clear bits, CT), then c + g S (g = 4 or -4): with the
 * DSP extension one SMLAxB of the lane's halfword, without it the lane extracted and an MLA. */
#if defined(__ARM_FEATURE_DSP)
#define EBNN_OPT_T_LO(T, S) CT " %[" T "], %[base], %[" T "], lsl #1\n\tsmlabb %[" T "], %[" S "], %[g], %[" T "]\n\t"
#define EBNN_OPT_T_HI(T, S) CT " %[" T "], %[base], %[" T "], lsl #1\n\tsmlatb %[" T "], %[" S "], %[g], %[" T "]\n\t"
#else
#define EBNN_OPT_T_LO(T, S)                                                                                            \
    "uxth %[x], %[" S "]\n\t" CT " %[" T "], %[base], %[" T "], lsl #1\n\tmla %[" T "], %[x], %[g], %[" T "]\n\t"
#define EBNN_OPT_T_HI(T, S)                                                                                            \
    "lsr %[x], %[" S "], #16\n\t" CT " %[" T "], %[base], %[" T "], lsl #1\n\tmla %[" T "], %[x], %[g], %[" T "]\n\t"
#endif
#define EBNN_OPT_T_QUAD                                                                                                \
    "ldrd %[s0], %[s1], [%[s]], #8\n\t"                                                                               \
    "ldrd %[t0], %[t1], [%[tw]], #8\n\t"                                                                              \
    "ldrd %[u0], %[u1], [%[tw], #56]\n\t" EBNN_OPT_T_LO("t0", "s0") EBNN_OPT_T_LO("t1", "s1")                        \
    "strd %[t0], %[t1], [%[out]], #8\n\t" EBNN_OPT_T_HI("u0", "s0") EBNN_OPT_T_HI("u1", "s1")                        \
    "strd %[u0], %[u1], [%[out], #56]\n\t"
#define EBNN_OPT_T_QUAD2 EBNN_OPT_T_QUAD EBNN_OPT_T_QUAD
#define EBNN_OPT_T_OUT(CT) /* straight-line: no loop counter */                                                        \
    __asm__ volatile(EBNN_OPT_T_QUAD2 EBNN_OPT_T_QUAD2 EBNN_OPT_T_QUAD2 EBNN_OPT_T_QUAD2 /* its results are stores */    \
                     : [s] "+&r"(s), [tw] "+&r"(tw), [out] "+&r"(out), [s0] "=&r"(s0), [s1] "=&r"(s1),                  \
                       [t0] "=&r"(t0), [t1] "=&r"(t1), [u0] "=&r"(u0), [u1] "=&r"(u1), [x] "=&r"(x)                      \
                     : [base] "r"(base), [g] "r"(flip ? -4 : 4)                                                        \
                     : "memory")
static void ebnn_opt_t_block(const uint32_t *s, const int32_t *tw, int32_t *out, int32_t base, int32_t flip)
{
    uint32_t s0, s1, t0, t1, u0, u1, x;
    if (flip) {
#define CT "add"
        EBNN_OPT_T_OUT(CT);
#undef CT
    } else {
#define CT "sub"
        EBNN_OPT_T_OUT(CT);
#undef CT
    }
}
#undef EBNN_OPT_T_LO
#undef EBNN_OPT_T_HI
#undef EBNN_OPT_T_QUAD
#undef EBNN_OPT_T_QUAD2
#undef EBNN_OPT_T_OUT
#endif

/* Outputs b .. b + m - 1 of one block from its lane sums s: base + 4 S - 2 T, or with the
 * list of clear bits base - 4 S + 2 T. */
static void ebnn_opt_t_outputs(const uint32_t *s, const int32_t *tw, int32_t *out, int32_t m, int32_t base, int32_t flip)
{
    int32_t q;
#if EBNN_OPT_ASM
    if (m == 32) {
        ebnn_opt_t_block(s, tw, out, base, flip);
        return;
    }
#endif
    for (q = 0; q < m; q++) {
        const int32_t v = 4 * (int32_t)(q < 16 ? s[q] & 0xFFFFu : s[q - 16] >> 16) - 2 * tw[q];
        out[q] = flip ? base - v : base + v;
    }
}

void ebnn_bdense_t(const uint32_t *in, const uint32_t *w, const int32_t *tw, int32_t *out, int32_t k, int32_t words,
                   int32_t n, uint32_t *list)
{
    uint32_t s[16];
    int32_t a1, flip, b;
    const int32_t len = ebnn_opt_list(in, words, list, &a1, &flip), base = k - 2 * a1;
    for (b = 0; b < n; b += 32, w += 32 * words + 1) {
        ebnn_opt_vsum32(list, len, w, s);
        ebnn_opt_t_outputs(s, tw + b, out + b, n - b < 32 ? n - b : 32, base, flip);
    }
}

/* ---- Short rows (at most EBNN_OPT_SHORT_WORDS words, e.g. TFC's 64-wide layers) ----
 * The input words stay in registers; a row's mismatches m are summed as nibble counts
 * (two words per byte sum) and one multiply puts their sum in the top byte.  Thresholded,
 * the compiler stores the rows of negative-slope outputs with their real bits negated (m
 * becomes k - m) and c = B << 24 per output, so that bit o is (m << 24) >= c (m >= B): no
 * flag, no modulo counter in the loop. */
typedef struct {
    uint32_t m55, m33, m0f;
} ebnn_opt_masks;

/* The masks in registers: Thumb-2 then ANDs a shifted register in one instruction (GCC
 * would rebuild each immediate mask after a separate shift). */
static inline ebnn_opt_masks ebnn_opt_masks_get(void)
{
    ebnn_opt_masks k = {0x55555555u, 0x33333333u, 0x0F0F0F0Fu};
#if defined(__GNUC__)
    __asm__("" : "+r"(k.m55), "+r"(k.m33), "+r"(k.m0f));
#endif
    return k;
}

static inline uint32_t ebnn_opt_nib2(uint32_t t, uint32_t u, ebnn_opt_masks k)
{
    t = t - ((t >> 1) & k.m55);
    u = u - ((u >> 1) & k.m55);
    t = (t & k.m33) + ((t >> 2) & k.m33) + (u & k.m33) + ((u >> 2) & k.m33);
    return (t & k.m0f) + ((t >> 4) & k.m0f); /* bytes <= 16 */
}

/* The byte counts of one row of W words against the inputs a0..a3 (unused ones 0). */
#define EBNN_OPT_SHORT_X(W, w)                                                                                         \
    ((W) <= 2 ? ebnn_opt_nib2(a0 ^ (w)[0], (W) == 2 ? a1 ^ (w)[1] : 0u, km)                                           \
              : ebnn_opt_nib2(a0 ^ (w)[0], a1 ^ (w)[1], km) + ebnn_opt_nib2(a2 ^ (w)[2], (W) == 4 ? a3 ^ (w)[3] : 0u, km))
/* m << 24 (byte sums <= 128: the multiply leaves m in the top byte) */
#define EBNN_OPT_SHORT_M24(W, w) (EBNN_OPT_SHORT_X(W, w) * 0x01010101u)

#define EBNN_OPT_SHORT_THR(W)                                                                                          \
    for (o = 0; o < n; o++, w += (W)) {                                                                                \
        bits = (bits >> 1) | ((uint32_t)(EBNN_OPT_SHORT_M24(W, w) >= c[o]) << 31);                                    \
        if ((o & 31) == 31) {                                                                                          \
            *out++ = bits;                                                                                             \
        }                                                                                                              \
    }

#if EBNN_OPT_ASM
/* Two-word rows in Thumb-2: outputs 32 at a time, last first, each bit shifted in from the
 * carry of the comparison (ADCS); a sentinel bit set 32 - m places up ends the block when
 * it carries out.  22 instructions per output, masks in registers. */
static uint32_t ebnn_opt_short2_block(uint32_t a0, uint32_t a1, const uint32_t *w, const uint32_t *c, int32_t m)
{
    uint32_t bits = 1u << (32 - m), t, u, x;
    const uint32_t m55 = 0x55555555u, m33 = 0x33333333u, m0f = 0x0F0F0F0Fu, m01 = 0x01010101u;
    w += 2 * m;
    c += m;
    __asm__("1:\n\t"
            "ldrd %[t], %[u], [%[w], #-8]!\n\t"
            "eor %[t], %[t], %[a0]\n\t"
            "eor %[u], %[u], %[a1]\n\t"
            "and %[x], %[m55], %[t], lsr #1\n\t"
            "sub %[t], %[t], %[x]\n\t"
            "and %[x], %[m55], %[u], lsr #1\n\t"
            "sub %[u], %[u], %[x]\n\t"
            "and %[x], %[m33], %[t], lsr #2\n\t"
            "and %[t], %[t], %[m33]\n\t"
            "add %[t], %[t], %[x]\n\t"
            "and %[x], %[m33], %[u], lsr #2\n\t"
            "and %[u], %[u], %[m33]\n\t"
            "add %[t], %[t], %[u]\n\t"
            "add %[t], %[t], %[x]\n\t"
            "and %[x], %[m0f], %[t], lsr #4\n\t"
            "and %[t], %[t], %[m0f]\n\t"
            "add %[t], %[t], %[x]\n\t"
            "mul %[t], %[t], %[m01]\n\t"
            "ldr %[x], [%[c], #-4]!\n\t"
            "cmp %[t], %[x]\n\t"
            "adcs %[bits], %[bits], %[bits]\n\t"
            "bcc 1b\n\t"
            : [bits] "+r"(bits), [w] "+r"(w), [c] "+r"(c), [t] "=&r"(t), [u] "=&r"(u), [x] "=&r"(x)
            : [a0] "r"(a0), [a1] "r"(a1), [m55] "r"(m55), [m33] "r"(m33), [m0f] "r"(m0f), [m01] "r"(m01)
            : "cc", "memory");
    return bits;
}
#endif

void ebnn_bdense_thr_short(const uint32_t *in, const uint32_t *w, uint32_t *out, int32_t words, int32_t n,
                           const uint32_t *c)
{
    const uint32_t a0 = in[0], a1 = words > 1 ? in[1] : 0u, a2 = words > 2 ? in[2] : 0u, a3 = words > 3 ? in[3] : 0u;
    const ebnn_opt_masks km = ebnn_opt_masks_get();
    uint32_t bits = 0u;
    int32_t o;
#if EBNN_OPT_ASM
    if (words == 2) {
        for (o = 0; o < n; o += 32, w += 64, c += 32) {
            *out++ = ebnn_opt_short2_block(a0, a1, w, c, n - o < 32 ? n - o : 32);
        }
        return;
    }
#endif
    switch (words) {
    case 1: EBNN_OPT_SHORT_THR(1) break;
    case 2: EBNN_OPT_SHORT_THR(2) break;
    case 3: EBNN_OPT_SHORT_THR(3) break;
    default: EBNN_OPT_SHORT_THR(4) break;
    }
    if (n & 31) {
        *out = bits >> (32 - (n & 31));
    }
}

#define EBNN_OPT_SHORT_DOT(W)                                                                                          \
    for (o = 0; o < n; o++, w += (W)) {                                                                                \
        out[o] = k - 2 * (int32_t)(EBNN_OPT_SHORT_M24(W, w) >> 24);                                                    \
    }

#if EBNN_OPT_ASM
/* Two-word rows without a threshold, four outputs per step: d = k - 2 m = k - (m << 24 >> 23)
 * (the multiply's bit 23 is 0: the lower bytes sum to at most 48); 20.5 instructions per
 * output in 13 registers (a frame pointer may take the 14th).  The row's d into %[D]. */
#define EBNN_OPT_DOT2(D, T, U)                                                                                         \
    "ldrd %[" T "], %[" U "], [%[w]], #8\n\t"                                                                        \
    "eor %[" T "], %[" T "], %[a0]\n\t"                                                                              \
    "eor %[" U "], %[" U "], %[a1]\n\t"                                                                              \
    "and %[x], %[m55], %[" T "], lsr #1\n\t"                                                                         \
    "sub %[" T "], %[" T "], %[x]\n\t"                                                                               \
    "and %[x], %[m55], %[" U "], lsr #1\n\t"                                                                         \
    "sub %[" U "], %[" U "], %[x]\n\t"                                                                               \
    "and %[x], %[m33], %[" T "], lsr #2\n\t"                                                                         \
    "and %[" T "], %[" T "], %[m33]\n\t"                                                                             \
    "add %[" T "], %[" T "], %[x]\n\t"                                                                               \
    "and %[x], %[m33], %[" U "], lsr #2\n\t"                                                                         \
    "and %[" U "], %[" U "], %[m33]\n\t"                                                                             \
    "add %[" T "], %[" T "], %[" U "]\n\t"                                                                           \
    "add %[" T "], %[" T "], %[x]\n\t"                                                                               \
    "and %[x], %[m0f], %[" T "], lsr #4\n\t"                                                                         \
    "and %[" T "], %[" T "], %[m0f]\n\t"                                                                             \
    "add %[" T "], %[" T "], %[x]\n\t"                                                                               \
    "mul %[" T "], %[" T "], %[m01]\n\t"                                                                             \
    "sub %[" D "], %[k], %[" T "], lsr #23\n\t"

static void ebnn_opt_short2_dots(uint32_t a0, uint32_t a1, const uint32_t *w, int32_t *out, int32_t k, int32_t quads)
{
    uint32_t t, u, x;
    const uint32_t m55 = 0x55555555u, m33 = 0x33333333u, m0f = 0x0F0F0F0Fu, m01 = 0x01010101u;
#define EBNN_OPT_DOT2_STORE EBNN_OPT_DOT2("t", "t", "u") "str %[t], [%[out]], #4\n\t"
    __asm__ volatile("1:\n\t" EBNN_OPT_DOT2_STORE EBNN_OPT_DOT2_STORE EBNN_OPT_DOT2_STORE EBNN_OPT_DOT2_STORE
                     "subs %[n], %[n], #1\n\t"
                     "bne 1b\n\t"
                     : [w] "+r"(w), [out] "+r"(out), [n] "+r"(quads), [t] "=&r"(t), [u] "=&r"(u), [x] "=&r"(x)
                     : [a0] "r"(a0), [a1] "r"(a1), [m55] "r"(m55), [m33] "r"(m33), [m0f] "r"(m0f), [m01] "r"(m01),
                       [k] "r"(k)
                     : "cc", "memory");
}
#endif

void ebnn_bdense_short(const uint32_t *in, const uint32_t *w, int32_t *out, int32_t k, int32_t words, int32_t n)
{
    const uint32_t a0 = in[0], a1 = words > 1 ? in[1] : 0u, a2 = words > 2 ? in[2] : 0u, a3 = words > 3 ? in[3] : 0u;
    const ebnn_opt_masks km = ebnn_opt_masks_get();
    int32_t o;
#if EBNN_OPT_ASM
    if (words == 2 && n > 3) { /* groups of 4 here, the rest below */
        ebnn_opt_short2_dots(a0, a1, w, out, k, n >> 2);
        w += 2 * (n & ~3);
        out += n & ~3;
        n &= 3;
    }
#endif
    switch (words) {
    case 1: EBNN_OPT_SHORT_DOT(1) break;
    case 2: EBNN_OPT_SHORT_DOT(2) break;
    case 3: EBNN_OPT_SHORT_DOT(3) break;
    default: EBNN_OPT_SHORT_DOT(4) break;
    }
}

/* ebnn_bdense_t thresholded, the threshold folded per output at compile time: the rows of
 * negative-slope outputs negated (thresholds 1 - thr), and with d = k - 2|A1| + sg (4 S - 2 T),
 *     d < thr  <=>  sg 4 S - 2|A1| < thr + sg 2 T - k =: pq[o] (sg = 1) or pq[n + o] (sg = -1),
 * so each bit is one subtraction's sign: no flag, no modulo counter. */
void ebnn_bdense_bnd_t(const uint32_t *in, const uint32_t *w, const int32_t *pq, uint32_t *out, int32_t words,
                       int32_t n, uint32_t *list)
{
    uint32_t s[16];
    int32_t a1, flip, b, q;
    const int32_t len = ebnn_opt_list(in, words, list, &a1, &flip), g = flip ? -4 : 4;
    const int32_t *r = flip ? pq + n : pq;
    for (b = 0; b < n; b += 32, w += 32 * words + 1, r += 32) {
        const int32_t m = n - b < 32 ? n - b : 32, lo = m < 16 ? m : 16;
        uint32_t bits = 0u;
        ebnn_opt_vsum32(list, len, w, s);
        for (q = 0; q < lo; q++) {
            bits |= ((uint32_t)(g * (int32_t)(s[q] & 0xFFFFu) - 2 * a1 - r[q]) >> 31) << q;
        }
        for (q = 16; q < m; q++) {
            bits |= ((uint32_t)(g * (int32_t)(s[q - 16] >> 16) - 2 * a1 - r[q]) >> 31) << q;
        }
        *out++ = bits;
    }
}
