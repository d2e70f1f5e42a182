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
