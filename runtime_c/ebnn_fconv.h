/* Real-valued first layers that write bits: a float convolution or dense layer fused with
 * an optional max-pool and a folded BatchNorm + sign (one float32 threshold per channel). */
#ifndef EBNN_FCONV_H
#define EBNN_FCONV_H

#include "ebnn_kernels.h"

/* Float convolution reading input element (c, h, w) at in[c*sc + h*sh + w*sw]; weights
 * [Cout][kh][kw][Cin] (taps, then input channels: the reference's summation order); then,
 * when pool is not null, the max over the pool window {k_h, k_w, stride_h, stride_w,
 * pad_top, pad_left, dil_h, dil_w, out_h, out_w} of conv pixels (NaN skipped, as in
 * ebnn_maxpool_f32) times sgn[channel]; bit 0 (+1) where t[channel] <= value (and value <=
 * hi[channel] when hi is not null), swapped when invert.  Output NHWC bits.  scratch: k_h*k_w*Cin floats
 * per pool tap, or max(two windows, 18) without a pool (zeros for padded taps). */
void ebnn_conv_f32_bin(const float *in, const float *w, uint32_t *out, const ebnn_window *g,
                       int32_t sc, int32_t sh, int32_t sw, const int32_t *pool, const float *t, const float *hi,
                       const float *sgn, int32_t invert, uint32_t *scratch, int32_t scratch_words);

/* Float dense: out bit o = 0 (+1) where t[o] <= sum_i in[i] * w[o * k + i] (and the sum
 * <= hi[o] when hi is not null), swapped when invert. */
void ebnn_dense_f32_bin(const float *in, const float *w, uint32_t *out, int32_t k, int32_t n, const float *t,
                        const float *hi, int32_t invert);

/* 32 bits, or the low n (a word's channels) */
#define EBNN_FCONV_MASK(n) ((n) == 32 ? 0xFFFFFFFFu : (1u << (n)) - 1u)

/* The register-blocked kernels ebnn_conv_f32_bin calls (ebnn_fconv_blocks.c); each writes the
 * bits of its pixels, 32 channels a word, bit 0 (+1) where t[channel] <= value unless flip. */
float ebnn_fconv_dot(const float *p, const float *w, int32_t k);
void ebnn_fconv_pair(const float *p, const float *q, int32_t rs, int32_t cs, const float *w, int32_t k, int32_t m,
                     const float *t, uint32_t flip, uint32_t *out_p, uint32_t *out_q);
void ebnn_fconv_row4(const float *x, int32_t rs, int32_t cs, const float *w, int32_t m, const float *t,
                     uint32_t flip, uint32_t *out, int32_t wc);
void ebnn_fconv_quad(const float *p, const float *w, int32_t k, int32_t m, const float *t, uint32_t flip,
                     uint32_t *out, int32_t wc);
void ebnn_fconv_pool4(const float *x, int32_t rs, int32_t cs, const float *w, int32_t m, const float *t,
                      const float *sgn, uint32_t flip, uint32_t *out);

#endif
