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
