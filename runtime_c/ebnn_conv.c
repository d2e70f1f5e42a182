/* Convolutions: binary (XOR-popcount over NHWC words) and float. */
#include "ebnn_kernels.h"

void ebnn_bconv(const uint32_t *in, const uint32_t *w, int32_t *out, const ebnn_window *g, int32_t pad_mode)
{
    const int32_t wc = EBNN_WORDS(g->in_c);
    const int32_t tail = g->in_c % 32;
    int32_t oh, ow, oc, i, j, k;
    for (oh = 0; oh < g->out_h; oh++) {
        for (ow = 0; ow < g->out_w; ow++) {
            for (oc = 0; oc < g->out_c; oc++) {
                const uint32_t *wp = w + oc * g->k_h * g->k_w * wc;
                int32_t mismatches = 0, taps = 0;
                for (i = 0; i < g->k_h; i++) {
                    const int32_t ih = oh * g->stride_h - g->pad_top + i * g->dil_h;
                    for (j = 0; j < g->k_w; j++, wp += wc) {
                        const int32_t iw = ow * g->stride_w - g->pad_left + j * g->dil_w;
                        if (ih >= 0 && ih < g->in_h && iw >= 0 && iw < g->in_w) {
                            const uint32_t *ip = in + (ih * g->in_w + iw) * wc;
                            for (k = 0; k < wc; k++) {
                                mismatches += ebnn_popcount(ip[k] ^ wp[k]);
                            }
                            taps++;
                        } else if (pad_mode != 0) {
                            for (k = 0; k < wc; k++) {
                                mismatches += ebnn_popcount(ebnn_pad_word(pad_mode, k, wc, tail) ^ wp[k]);
                            }
                            taps++;
                        }
                    }
                }
                out[(oh * g->out_w + ow) * g->out_c + oc] = taps * g->in_c - 2 * mismatches;
            }
        }
    }
}

void ebnn_conv_f32(const float *in, const float *w, float *out, const ebnn_window *g,
                   int32_t sc, int32_t sh, int32_t sw)
{
    int32_t oh, ow, oc, i, j, c;
    for (oh = 0; oh < g->out_h; oh++) {
        for (ow = 0; ow < g->out_w; ow++) {
            for (oc = 0; oc < g->out_c; oc++) {
                float acc = 0.0f;
                for (i = 0; i < g->k_h; i++) {
                    const int32_t ih = oh * g->stride_h - g->pad_top + i * g->dil_h;
                    for (j = 0; j < g->k_w; j++) {
                        const int32_t iw = ow * g->stride_w - g->pad_left + j * g->dil_w;
                        if (ih < 0 || ih >= g->in_h || iw < 0 || iw >= g->in_w) {
                            continue;
                        }
                        for (c = 0; c < g->in_c; c++) {
                            acc += in[c * sc + ih * sh + iw * sw] * w[((oc * g->in_c + c) * g->k_h + i) * g->k_w + j];
                        }
                    }
                }
                out[(oh * g->out_w + ow) * g->out_c + oc] = acc;
            }
        }
    }
}
