/* Optimised binary dense layers (see ebnn_opt.h): grouped weights, the activations
 * grouped once on the stack and shared by every output. */
#include "ebnn_opt.h"

void ebnn_bdense_opt(const uint32_t *in, const uint32_t *w, int32_t *out, int32_t k, int32_t words, int32_t n)
{
    uint32_t x[EBNN_OPT_MAX_WORDS];
    const int32_t groups = (words + 2) / 3, stride = 3 * groups;
    ebnn_opt_group(in, words, x);
    int32_t o;
    for (o = 0; o < n; o++, w += stride) {
        out[o] = k - 2 * ebnn_opt_row(x, w, groups);
    }
}

void ebnn_bdense_thr_opt(const uint32_t *in, const uint32_t *w, uint32_t *out, int32_t k, int32_t words, int32_t n,
                         const int32_t *thr, const uint32_t *neg, int32_t mod)
{
    uint32_t x[EBNN_OPT_MAX_WORDS];
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

static inline int32_t ebnn_opt_ctz(uint32_t x)
{
#if defined(__ARM_ARCH_6M__) || !defined(__GNUC__)
    return ebnn_popcount((x & (0u - x)) - 1u);
#else
    return __builtin_ctz(x);
#endif
}

int32_t ebnn_opt_list(const uint32_t *in, int32_t k, int32_t words, uint16_t *list, int32_t *a1, int32_t *flip)
{
    int32_t i, n = 0, ones = 0;
    for (i = 0; i < words; i++) {
        ones += ebnn_opt_popcount(in[i]);
    }
    *a1 = ones;
    *flip = 2 * ones > k;
    for (i = 0; i < words; i++) {
        /* flipped, the padding bits are listed too: their weight words are 0 */
        uint32_t x = *flip ? ~in[i] : in[i];
        while (x) {
            list[n++] = (uint16_t)(32 * i + ebnn_opt_ctz(x));
            x &= x - 1u;
        }
    }
    while (n & 15) {
        list[n++] = (uint16_t)(32 * words); /* the block's 0 word */
    }
    return n;
}

#define EBNN_CSA(h, l, a, b, c)                                                                                        \
    do {                                                                                                               \
        const uint32_t a_ = (a), b_ = (b), c_ = (c), u_ = a_ ^ b_;                                                     \
        h = (a_ & b_) | (u_ & c_);                                                                                     \
        l = u_ ^ c_;                                                                                                   \
    } while (0)

/* Harley-Seal over 16 words LOAD(0..15) into the planes ones..eights; c gets the 16s. */
#define EBNN_HS16(LOAD, c)                                                                                             \
    do {                                                                                                               \
        uint32_t twosA, twosB, foursA, foursB, eightsA, eightsB;                                                       \
        EBNN_CSA(twosA, ones, ones, LOAD(0), LOAD(1));                                                                 \
        EBNN_CSA(twosB, ones, ones, LOAD(2), LOAD(3));                                                                 \
        EBNN_CSA(foursA, twos, twos, twosA, twosB);                                                                    \
        EBNN_CSA(twosA, ones, ones, LOAD(4), LOAD(5));                                                                 \
        EBNN_CSA(twosB, ones, ones, LOAD(6), LOAD(7));                                                                 \
        EBNN_CSA(foursB, twos, twos, twosA, twosB);                                                                    \
        EBNN_CSA(eightsA, fours, fours, foursA, foursB);                                                               \
        EBNN_CSA(twosA, ones, ones, LOAD(8), LOAD(9));                                                                 \
        EBNN_CSA(twosB, ones, ones, LOAD(10), LOAD(11));                                                               \
        EBNN_CSA(foursA, twos, twos, twosA, twosB);                                                                    \
        EBNN_CSA(twosA, ones, ones, LOAD(12), LOAD(13));                                                               \
        EBNN_CSA(twosB, ones, ones, LOAD(14), LOAD(15));                                                               \
        EBNN_CSA(foursB, twos, twos, twosA, twosB);                                                                    \
        EBNN_CSA(eightsB, fours, fours, foursA, foursB);                                                               \
        EBNN_CSA(c, eights, eights, eightsA, eightsB);                                                                 \
    } while (0)

/* Adds the 16 words x to planes p[0..3] (weights 1..8 relative); returns the carry (16s). */
static uint32_t ebnn_opt_hs_words(const uint32_t *x, uint32_t *p)
{
    uint32_t ones = p[0], twos = p[1], fours = p[2], eights = p[3], c;
#define EBNN_LOAD_X(i) x[i]
    EBNN_HS16(EBNN_LOAD_X, c);
#undef EBNN_LOAD_X
    p[0] = ones;
    p[1] = twos;
    p[2] = fours;
    p[3] = eights;
    return c;
}

/* Bit-sliced counts to bytes: planes p[0..7] (weights 1..128) of 32 lanes become 8
 * words c[r] whose byte n is lane 8n + r's count, by widening the fields 1 -> 2 -> 4 -> 8
 * bits (each step splits the lanes by one more bit of their index). */
static void ebnn_opt_bytes8(const uint32_t *p, uint32_t *c)
{
    uint32_t a[2][4], b[4][2];
    int32_t i, r;
    for (i = 0; i < 4; i++) {
        const uint32_t lo = p[2 * i], hi = p[2 * i + 1];
        a[0][i] = (lo & 0x55555555u) + ((hi & 0x55555555u) << 1);
        a[1][i] = ((lo >> 1) & 0x55555555u) + (hi & 0xAAAAAAAAu);
    }
    for (r = 0; r < 2; r++) {
        for (i = 0; i < 2; i++) {
            const uint32_t lo = a[r][2 * i], hi = a[r][2 * i + 1];
            b[r][i] = (lo & 0x33333333u) + ((hi & 0x33333333u) << 2);
            b[r + 2][i] = ((lo >> 2) & 0x33333333u) + (hi & 0xCCCCCCCCu);
        }
    }
    for (r = 0; r < 4; r++) {
        const uint32_t lo = b[r][0], hi = b[r][1];
        c[r] = (lo & 0x0F0F0F0Fu) + ((hi & 0x0F0F0F0Fu) << 4);
        c[r + 4] = ((lo >> 4) & 0x0F0F0F0Fu) + (hi & 0xF0F0F0F0u);
    }
}

/* Vertical sums of w[list[i]] (n a multiple of 16) as 16-bit lanes: s[q] holds the
 * sums of bits q (low half) and q + 16 (high half).  Level 1 (registers): Harley-Seal
 * per 16 listed words; its 16s are buffered and summed 16 at a time by level 2 into
 * planes p[4..7]; the 256s of that ripple into p[8..]. */
/* GCC's pre-allocation scheduling hoists the 16 loads and spills the planes on Cortex-M
 * (13 registers): without it the level-1 loop runs spill-free (7.2 instead of 8.1
 * instructions per listed word on Cortex-M4). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__arm__)
__attribute__((optimize("no-schedule-insns")))
#endif
void ebnn_opt_vsum(const uint16_t *list, int32_t n, const uint32_t *w, uint32_t *s)
{
    uint32_t ones = 0u, twos = 0u, fours = 0u, eights = 0u;
    uint32_t p[16], buf[16];
    int32_t l, top = 4, q;
    for (l = 0; l < EBNN_OPT_T_HI; l++) {
        p[4 + l] = 0u;
    }
    {
        const uint16_t *const end = list + n;
        while (list != end) {
            uint32_t *bp = buf, c;
            do {
#define EBNN_LOAD_W(i) w[list[i]]
                EBNN_HS16(EBNN_LOAD_W, *bp);
#undef EBNN_LOAD_W
                bp++;
                list += 16;
            } while (bp != buf + 16 && list != end);
            while (bp != buf + 16) {
                *bp++ = 0u;
            }
            c = ebnn_opt_hs_words(buf, p + 4);
            top = 8;
            for (l = 8; c && l < 4 + EBNN_OPT_T_HI; l++) {
                const uint32_t t = p[l] & c;
                p[l] ^= c;
                c = t;
            }
            if (l > top) {
                top = l;
            }
        }
    }
    p[0] = ones;
    p[1] = twos;
    p[2] = fours;
    p[3] = eights;
    ebnn_opt_bytes8(p, s);
    for (q = 0; q < 8; q++) {
        const uint32_t c = s[q];
        s[q] = c & 0x00FF00FFu;
        s[q + 8] = (c >> 8) & 0x00FF00FFu;
    }
    if (top > 8) {
        uint32_t hi[8];
        for (l = top; l < 16; l++) {
            p[l] = 0u;
        }
        ebnn_opt_bytes8(p + 8, hi);
        for (q = 0; q < 8; q++) {
            s[q] += (hi[q] & 0x00FF00FFu) << 8;
            s[q + 8] += hi[q] & 0xFF00FF00u;
        }
    }
}

void ebnn_bdense_t(const uint32_t *in, const uint32_t *w, const int32_t *tw, int32_t *out, int32_t k, int32_t words,
                   int32_t n)
{
    uint16_t list[EBNN_OPT_T_MAX_BITS + 16];
    uint32_t s[16];
    int32_t a1, flip, b, q;
    const int32_t len = ebnn_opt_list(in, k, words, list, &a1, &flip), base = k - 2 * a1, sg = flip ? -1 : 1;
    for (b = 0; b < n; b += 32, w += 32 * words + 1) {
        ebnn_opt_vsum(list, len, w, s);
        if (b + 32 <= n) {
            for (q = 0; q < 16; q++) {
                out[b + q] = base + sg * (4 * (int32_t)(s[q] & 0xFFFFu) - 2 * tw[b + q]);
                out[b + q + 16] = base + sg * (4 * (int32_t)(s[q] >> 16) - 2 * tw[b + q + 16]);
            }
            continue;
        }
        for (q = 0; b + q < n; q++) {
            const int32_t v = (int32_t)(q < 16 ? s[q] & 0xFFFFu : s[q - 16] >> 16);
            out[b + q] = base + sg * (4 * v - 2 * tw[b + q]);
        }
    }
}

void ebnn_bdense_thr_t(const uint32_t *in, const uint32_t *w, const int32_t *tw, uint32_t *out, int32_t k, int32_t words,
                       int32_t n,                       const int32_t *thr, const uint32_t *neg, int32_t mod)
{
    uint16_t list[EBNN_OPT_T_MAX_BITS + 16];
    uint32_t s[16];
    int32_t a1, flip, b, q, t = 0;
    const int32_t len = ebnn_opt_list(in, k, words, list, &a1, &flip), base = k - 2 * a1, sg = flip ? -1 : 1;
    for (b = 0; b < n; b += 32, w += 32 * words + 1) {
        uint32_t bits = 0u;
        ebnn_opt_vsum(list, len, w, s);
        for (q = 0; q < 32 && b + q < n; q++) {
            const int32_t v = (int32_t)(q < 16 ? s[q] & 0xFFFFu : s[q - 16] >> 16);
            const int32_t d = base + sg * (4 * v - 2 * tw[b + q]);
            bits |= ((uint32_t)(d < thr[t]) ^ ((neg[t >> 5] >> (t & 31)) & 1u)) << q;
            if (++t == mod) {
                t = 0;
            }
        }
        *out++ = bits;
    }
}
