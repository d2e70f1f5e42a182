/* Pooling over NHWC tensors: bits, int32 accumulators, floats. */
#include <math.h>

#include "ebnn_kernels.h"

/* First input row of tap i of output row o, or -1 when outside the image. */
static int32_t ebnn_tap(int32_t o, int32_t i, int32_t stride, int32_t pad, int32_t dil, int32_t size)
{
    const int32_t at = o * stride - pad + i * dil;
    return (at >= 0 && at < size) ? at : -1;
}

/* OR is AND under complement (a | b == ~(~a & ~b)): the words of or_mask's channels are flipped
 * on the way in and out, so one AND loop serves both; a null mask flips nothing. */
void ebnn_maxpool_bits(const uint32_t *in, uint32_t *out, const ebnn_window *g, const uint32_t *or_mask)
{
    const int32_t wc = EBNN_WORDS(g->in_c);
    int32_t oh, ow, i, j, k;
    for (oh = 0; oh < g->out_h; oh++) {
        for (ow = 0; ow < g->out_w; ow++) {
            uint32_t *op = out + (oh * g->out_w + ow) * wc;
            for (k = 0; k < wc; k++) {
                op[k] = 0xFFFFFFFFu;
            }
            for (i = 0; i < g->k_h; i++) {
                const int32_t ih = ebnn_tap(oh, i, g->stride_h, g->pad_top, g->dil_h, g->in_h);
                for (j = 0; j < g->k_w; j++) {
                    const int32_t iw = ebnn_tap(ow, j, g->stride_w, g->pad_left, g->dil_w, g->in_w);
                    const uint32_t *px;
                    if (ih < 0 || iw < 0) {
                        continue;
                    }
                    px = in + (ih * g->in_w + iw) * wc;
                    if (or_mask) {
                        for (k = 0; k < wc; k++) {
                            op[k] &= px[k] ^ or_mask[k];
                        }
                    } else {
                        for (k = 0; k < wc; k++) {
                            op[k] &= px[k];
                        }
                    }
                }
            }
            for (k = 0; or_mask && k < wc; k++) {
                op[k] ^= or_mask[k];
            }
        }
    }
}

void ebnn_maxpool_i32(const int32_t *in, int32_t *out, const ebnn_window *g, const uint32_t *use_min)
{
    int32_t oh, ow, c, i, j;
    for (oh = 0; oh < g->out_h; oh++) {
        for (ow = 0; ow < g->out_w; ow++) {
            for (c = 0; c < g->in_c; c++) {
                const int32_t lowest = (use_min[c >> 5] >> (c & 31)) & 1u;
                int32_t best = lowest ? INT32_MAX : INT32_MIN;
                for (i = 0; i < g->k_h; i++) {
                    const int32_t ih = ebnn_tap(oh, i, g->stride_h, g->pad_top, g->dil_h, g->in_h);
                    for (j = 0; j < g->k_w; j++) {
                        const int32_t iw = ebnn_tap(ow, j, g->stride_w, g->pad_left, g->dil_w, g->in_w);
                        int32_t v;
                        if (ih < 0 || iw < 0) {
                            continue;
                        }
                        v = in[(ih * g->in_w + iw) * g->in_c + c];
                        if (lowest ? v < best : v > best) {
                            best = v;
                        }
                    }
                }
                out[(oh * g->out_w + ow) * g->in_c + c] = best;
            }
        }
    }
}

void ebnn_maxpool_f32(const float *in, float *out, const ebnn_window *g)
{
    int32_t oh, ow, c, i, j;
    for (oh = 0; oh < g->out_h; oh++) {
        for (ow = 0; ow < g->out_w; ow++) {
            for (c = 0; c < g->in_c; c++) {
                float best = -HUGE_VALF;
                for (i = 0; i < g->k_h; i++) {
                    const int32_t ih = ebnn_tap(oh, i, g->stride_h, g->pad_top, g->dil_h, g->in_h);
                    for (j = 0; j < g->k_w; j++) {
                        const int32_t iw = ebnn_tap(ow, j, g->stride_w, g->pad_left, g->dil_w, g->in_w);
                        float v;
                        if (ih < 0 || iw < 0) {
                            continue;
                        }
                        v = in[(ih * g->in_w + iw) * g->in_c + c];
                        if (v > best) {
                            best = v;
                        }
                    }
                }
                out[(oh * g->out_w + ow) * g->in_c + c] = best;
            }
        }
    }
}

void ebnn_avgpool_f32(const float *in, float *out, const ebnn_window *g, int32_t pad_bottom, int32_t pad_right,
                      int32_t count_pad)
{
    int32_t oh, ow, c, i, j;
    for (oh = 0; oh < g->out_h; oh++) {
        for (ow = 0; ow < g->out_w; ow++) {
            for (c = 0; c < g->in_c; c++) {
                float sum = 0.0f, count = 0.0f;
                for (i = 0; i < g->k_h; i++) {
                    const int32_t rh = oh * g->stride_h - g->pad_top + i * g->dil_h;
                    for (j = 0; j < g->k_w; j++) {
                        const int32_t rw = ow * g->stride_w - g->pad_left + j * g->dil_w;
                        if (rh >= 0 && rh < g->in_h && rw >= 0 && rw < g->in_w) {
                            sum += in[(rh * g->in_w + rw) * g->in_c + c];
                            count += 1.0f;
                        } else if (count_pad && rh < g->in_h + pad_bottom && rw < g->in_w + pad_right) {
                            count += 1.0f;
                        }
                    }
                }
                out[(oh * g->out_w + ow) * g->in_c + c] = sum / count;
            }
        }
    }
}
