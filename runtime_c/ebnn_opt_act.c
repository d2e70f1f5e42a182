/* Optimised activations: float to bits against one folded threshold per element. */
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
