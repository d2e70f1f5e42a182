/* Optimised binary convolutions (see ebnn_opt.h).  Per output pixel the window's
 * activation words are gathered in weight order ([kh][kw][words(Cin)]) on the
 * stack, grouped once and shared by every output channel.  Taps outside the image
 * read 0 words (+1 pixels); with pad_mode 0 (ONNX zero padding) each channel then
 * takes back the mismatches its weights made against them. */
#include "ebnn_opt.h"

/* Raw packed weight word i of a grouped row (without its parity word). */
static uint32_t ebnn_opt_raw(const uint32_t *w, int32_t i)
{
    const int32_t g = i / 3, r = i % 3;
    return r ? w[3 * g] ^ w[3 * g + r] : w[3 * g];
}

/* Gathers the window of output pixel (oh, ow); returns the number of taps inside the
 * image and lists the outside ones in `missing` (count in *n_missing). */
static int32_t ebnn_opt_window(const uint32_t *in, const ebnn_window *g, int32_t pad_mode, int32_t oh, int32_t ow,
                               uint32_t *x, int32_t *missing, int32_t *n_missing)
{
    const int32_t wc = EBNN_WORDS(g->in_c), tail = g->in_c % 32;
    int32_t i, j, k, taps = 0, tap = 0;
    *n_missing = 0;
    for (i = 0; i < g->k_h; i++) {
        const int32_t ih = oh * g->stride_h - g->pad_top + i * g->dil_h;
        for (j = 0; j < g->k_w; j++, tap++, x += wc) {
            const int32_t iw = ow * g->stride_w - g->pad_left + j * g->dil_w;
            if (ih >= 0 && ih < g->in_h && iw >= 0 && iw < g->in_w) {
                const uint32_t *ip = in + (ih * g->in_w + iw) * wc;
                for (k = 0; k < wc; k++) {
                    x[k] = ip[k];
                }
                taps++;
            } else {
                for (k = 0; k < wc; k++) {
                    x[k] = pad_mode < 0 ? (k == wc - 1 && tail ? (1u << tail) - 1u : 0xFFFFFFFFu) : 0u;
                }
                if (pad_mode == 0) {
                    missing[(*n_missing)++] = tap;
                }
            }
        }
    }
    return pad_mode == 0 ? taps : g->k_h * g->k_w;
}

/* Dot products of every output channel at one pixel; calls back per channel. */
#define EBNN_OPT_CONV_BODY(EMIT)                                                                                       \
    uint32_t x[EBNN_OPT_MAX_WORDS];                                                                                    \
    int32_t missing[EBNN_OPT_MAX_WORDS];                                                                               \
    const int32_t wc = EBNN_WORDS(g->in_c), words = g->k_h * g->k_w * wc;                                               \
    const int32_t groups = (words + 2) / 3, stride = 3 * groups;                                                   \
    int32_t oh, ow, oc, q, n_missing, i = 0;                                                                           \
    for (q = words; q < 3 * groups; q++) {                                                                             \
        x[q] = 0u;                                                                                                     \
    }                                                                                                                  \
    for (oh = 0; oh < g->out_h; oh++) {                                                                                \
        for (ow = 0; ow < g->out_w; ow++) {                                                                            \
            const int32_t taps = ebnn_opt_window(in, g, pad_mode, oh, ow, x, missing, &n_missing);                     \
            const int32_t base = taps * g->in_c;                                                                       \
            ebnn_opt_group_inplace(x, groups);                                                                         \
            const uint32_t *wp = w;                                                                                    \
            for (oc = 0; oc < g->out_c; oc++, wp += stride, i++) {                                                     \
                int32_t m = ebnn_opt_row(x, wp, groups), d;                                           \
                for (q = 0; q < n_missing; q++) {                                                                      \
                    int32_t kk;                                                                                        \
                    for (kk = 0; kk < wc; kk++) {                                                                      \
                        m -= ebnn_popcount(ebnn_opt_raw(wp, missing[q] * wc + kk));                                \
                    }                                                                                                  \
                }                                                                                                      \
                d = base - 2 * m;                                                                                      \
                EMIT;                                                                                                  \
            }                                                                                                          \
        }                                                                                                              \
    }

void ebnn_bconv_opt(const uint32_t *in, const uint32_t *w, int32_t *out, const ebnn_window *g, int32_t pad_mode)
{
    EBNN_OPT_CONV_BODY(out[i] = d)
}

void ebnn_bconv_thr_opt(const uint32_t *in, const uint32_t *w, uint32_t *out, const ebnn_window *g,
                        int32_t pad_mode, const int32_t *thr, const uint32_t *neg, int32_t mod)
{
    const int32_t owc = EBNN_WORDS(g->out_c);
    uint32_t bits = 0u;
    int32_t t = 0;
    EBNN_OPT_CONV_BODY(
        bits |= ((uint32_t)(d < thr[t]) ^ ((neg[t >> 5] >> (t & 31)) & 1u)) << (oc & 31);
        if (++t == mod) { t = 0; }
        if ((oc & 31) == 31 || oc == g->out_c - 1) {
            out[(i / g->out_c) * owc + (oc >> 5)] = bits;
            bits = 0u;
        })
}
