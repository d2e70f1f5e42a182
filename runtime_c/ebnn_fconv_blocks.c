/* Register-blocked kernels of the fused real-valued layers (ebnn_fconv.h): several pixels'
 * windows held in registers across the output channels, so that each weight is loaded once
 * for all of them; sums in the reference's order from +0, no FMA (-ffp-contract=off). */
#include <math.h>

#include "ebnn_fconv.h"

float ebnn_fconv_dot(const float *p, const float *w, int32_t k)
{
    float acc = 0.0f;
    int32_t i;
    for (i = 0; i < k; i++) {
        acc += p[i] * w[i];
    }
    return acc;
}

/* Two pixels' dot products with one weight row: each weight is loaded once. */
static void ebnn_fconv_dot2(const float *p, const float *q, const float *w, int32_t k, float *a, float *b)
{
    float x = 0.0f, y = 0.0f;
    int32_t i;
    for (i = 0; i < k; i++) {
        const float wi = w[i];
        x += p[i] * wi;
        y += q[i] * wi;
    }
    *a = x;
    *b = y;
}

/* acc = the dot of locals P0..P8 with W[0..8], in order from +0 (no FMA: -ffp-contract=off) */
#define EBNN_DOT9(acc, P, W)                                                                                           \
    acc = 0.0f;                                                                                                        \
    acc += P##0 * W[0];                                                                                                \
    acc += P##1 * W[1];                                                                                                \
    acc += P##2 * W[2];                                                                                                \
    acc += P##3 * W[3];                                                                                                \
    acc += P##4 * W[4];                                                                                                \
    acc += P##5 * W[5];                                                                                                \
    acc += P##6 * W[6];                                                                                                \
    acc += P##7 * W[7];                                                                                                \
    acc += P##8 * W[8]

/* Bits of pixels p and q (q may be null: one pixel) from their patches, 32 channels a word.
 * A 3x3 single-channel window (cs > 0) is read from tap (i, j) at p[i * rs + j * cs], in place
 * or from a patch. */
void ebnn_fconv_pair(const float *p, const float *q, int32_t rs, int32_t cs, const float *w, int32_t k,
                     int32_t m, const float *t, uint32_t flip, uint32_t *out_p, uint32_t *out_q)
{
    int32_t oc0;
    for (oc0 = 0; oc0 < m; oc0 += 32) {
        const int32_t n = m - oc0 < 32 ? m - oc0 : 32;
        const float *wr = w + oc0 * k, *tr = t + oc0, *te = tr + n;
        uint32_t bits_p = 0u, bits_q = 0u, bit = 1u;
        if (cs > 0 && q) {
            /* both windows in registers across the channels; each weight loaded once */
            const float *p1r = p + rs, *p2r = p1r + rs, *q1r = q + rs, *q2r = q1r + rs;
            const float p0 = p[0], p1 = p[cs], p2 = p[2 * cs], p3 = p1r[0], p4 = p1r[cs], p5 = p1r[2 * cs];
            const float p6 = p2r[0], p7 = p2r[cs], p8 = p2r[2 * cs];
            const float q0 = q[0], q1 = q[cs], q2 = q[2 * cs], q3 = q1r[0], q4 = q1r[cs], q5 = q1r[2 * cs];
            const float q6 = q2r[0], q7 = q2r[cs], q8 = q2r[2 * cs];
            for (; tr < te; tr++, wr += 9, bit <<= 1) {
                float u, v;
                EBNN_DOT9(u, p, wr);
                EBNN_DOT9(v, q, wr);
                if (u >= *tr) {
                    bits_p |= bit;
                }
                if (v >= *tr) {
                    bits_q |= bit;
                }
            }
        } else if (q) {
            for (; tr < te; tr++, wr += k, bit <<= 1) {
                float u, v;
                ebnn_fconv_dot2(p, q, wr, k, &u, &v);
                if (u >= *tr) {
                    bits_p |= bit;
                }
                if (v >= *tr) {
                    bits_q |= bit;
                }
            }
        } else {
            for (; tr < te; tr++, wr += k, bit <<= 1) {
                if (ebnn_fconv_dot(p, wr, k) >= *tr) {
                    bits_p |= bit;
                }
            }
        }
        out_p[oc0 >> 5] = (bits_p ^ flip) & EBNN_FCONV_MASK(n);
        if (q) {
            out_q[oc0 >> 5] = (bits_q ^ flip) & EBNN_FCONV_MASK(n);
        }
    }
}

/* Bits of four horizontally adjacent pixels of a 3x3 single-channel convolution with unit
 * horizontal stride and no dilation: their 3x6 input region x (tap (r, c) at x[r * rs + c * cs],
 * in place or a zero-padded copy) in registers across the channels, each weight loaded once
 * for the four.  out: the first pixel's words; the next ones follow every wc words. */
void ebnn_fconv_row4(const float *x, int32_t rs, int32_t cs, const float *w, int32_t m, const float *t,
                     uint32_t flip, uint32_t *out, int32_t wc)
{
    const float *x1 = x + rs, *x2 = x1 + rs;
    const float x00 = x[0], x01 = x[1 * cs], x02 = x[2 * cs], x03 = x[3 * cs], x04 = x[4 * cs], x05 = x[5 * cs];
    const float x10 = x1[0], x11 = x1[1 * cs], x12 = x1[2 * cs], x13 = x1[3 * cs], x14 = x1[4 * cs], x15 = x1[5 * cs];
    const float x20 = x2[0], x21 = x2[1 * cs], x22 = x2[2 * cs], x23 = x2[3 * cs], x24 = x2[4 * cs], x25 = x2[5 * cs];
    int32_t oc0;
    for (oc0 = 0; oc0 < m; oc0 += 32) {
        const int32_t n = m - oc0 < 32 ? m - oc0 : 32;
        const float *wr = w + oc0 * 9, *tr = t + oc0, *te = tr + n;
        uint32_t b0 = 0u, b1 = 0u, b2 = 0u, b3 = 0u, bit = 1u;
        for (; tr < te; tr++, wr += 9, bit <<= 1) {
            const float tv = *tr;
            float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f, wv;
            wv = wr[0];
            a0 += x00 * wv; a1 += x01 * wv; a2 += x02 * wv; a3 += x03 * wv;
            wv = wr[1];
            a0 += x01 * wv; a1 += x02 * wv; a2 += x03 * wv; a3 += x04 * wv;
            wv = wr[2];
            a0 += x02 * wv; a1 += x03 * wv; a2 += x04 * wv; a3 += x05 * wv;
            wv = wr[3];
            a0 += x10 * wv; a1 += x11 * wv; a2 += x12 * wv; a3 += x13 * wv;
            wv = wr[4];
            a0 += x11 * wv; a1 += x12 * wv; a2 += x13 * wv; a3 += x14 * wv;
            wv = wr[5];
            a0 += x12 * wv; a1 += x13 * wv; a2 += x14 * wv; a3 += x15 * wv;
            wv = wr[6];
            a0 += x20 * wv; a1 += x21 * wv; a2 += x22 * wv; a3 += x23 * wv;
            wv = wr[7];
            a0 += x21 * wv; a1 += x22 * wv; a2 += x23 * wv; a3 += x24 * wv;
            wv = wr[8];
            a0 += x22 * wv; a1 += x23 * wv; a2 += x24 * wv; a3 += x25 * wv;
            b0 |= a0 >= tv ? bit : 0u;
            b1 |= a1 >= tv ? bit : 0u;
            b2 |= a2 >= tv ? bit : 0u;
            b3 |= a3 >= tv ? bit : 0u;
        }
        b0 = (b0 ^ flip) & EBNN_FCONV_MASK(n);
        b1 = (b1 ^ flip) & EBNN_FCONV_MASK(n);
        b2 = (b2 ^ flip) & EBNN_FCONV_MASK(n);
        b3 = (b3 ^ flip) & EBNN_FCONV_MASK(n);
        out[oc0 >> 5] = b0;
        out[wc + (oc0 >> 5)] = b1;
        out[2 * wc + (oc0 >> 5)] = b2;
        out[3 * wc + (oc0 >> 5)] = b3;
    }
}

/* Bits of four pixels of any window from their interleaved patches (value i of pixel j at
 * p[4 * i + j]), each weight loaded once for the four; pixel j's words at out + j * wc. */
void ebnn_fconv_quad(const float *p, const float *w, int32_t k, int32_t m, const float *t, uint32_t flip,
                     uint32_t *out, int32_t wc)
{
    int32_t oc0, i;
    for (oc0 = 0; oc0 < m; oc0 += 32) {
        const int32_t n = m - oc0 < 32 ? m - oc0 : 32;
        const float *wr = w + oc0 * k, *tr = t + oc0, *te = tr + n;
        uint32_t b0 = 0u, b1 = 0u, b2 = 0u, b3 = 0u, bit = 1u;
        for (; tr < te; tr++, wr += k, bit <<= 1) {
            const float *q = p;
            float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
            for (i = 0; i + 1 < k; i += 2, q += 8) { /* two taps an iteration, in order */
                const float u = wr[i], v = wr[i + 1];
                a0 += q[0] * u;
                a1 += q[1] * u;
                a2 += q[2] * u;
                a3 += q[3] * u;
                a0 += q[4] * v;
                a1 += q[5] * v;
                a2 += q[6] * v;
                a3 += q[7] * v;
            }
            if (i < k) {
                const float u = wr[i];
                a0 += q[0] * u;
                a1 += q[1] * u;
                a2 += q[2] * u;
                a3 += q[3] * u;
            }
            b0 |= a0 >= *tr ? bit : 0u;
            b1 |= a1 >= *tr ? bit : 0u;
            b2 |= a2 >= *tr ? bit : 0u;
            b3 |= a3 >= *tr ? bit : 0u;
        }
        out[oc0 >> 5] = (b0 ^ flip) & EBNN_FCONV_MASK(n);
        out[wc + (oc0 >> 5)] = (b1 ^ flip) & EBNN_FCONV_MASK(n);
        out[2 * wc + (oc0 >> 5)] = (b2 ^ flip) & EBNN_FCONV_MASK(n);
        out[3 * wc + (oc0 >> 5)] = (b3 ^ flip) & EBNN_FCONV_MASK(n);
    }
}

/* Bits of one output pixel of a 3x3 single-channel convolution (unit stride, no dilation)
 * max-pooled 2x2: its four conv pixels' 4x4 input region x (tap (r, c) at x[r * rs + c * cs],
 * in place or a zero-padded copy) in registers across the channels, each weight loaded once
 * for the four; the max (NaN never wins, as in ebnn_maxpool_f32) times sgn, then t <= v. */
void ebnn_fconv_pool4(const float *x, int32_t rs, int32_t cs, const float *w, int32_t m, const float *t,
                      const float *sgn, uint32_t flip, uint32_t *out)
{
    const float *x1 = x + rs, *x2 = x1 + rs, *x3 = x2 + rs;
    const float x00 = x[0], x01 = x[1 * cs], x02 = x[2 * cs], x03 = x[3 * cs];
    const float x10 = x1[0], x11 = x1[1 * cs], x12 = x1[2 * cs], x13 = x1[3 * cs];
    const float x20 = x2[0], x21 = x2[1 * cs], x22 = x2[2 * cs], x23 = x2[3 * cs];
    const float x30 = x3[0], x31 = x3[1 * cs], x32 = x3[2 * cs], x33 = x3[3 * cs];
    int32_t oc0;
    for (oc0 = 0; oc0 < m; oc0 += 32) {
        const int32_t n = m - oc0 < 32 ? m - oc0 : 32;
        const float *wr = w + oc0 * 9, *tr = t + oc0, *te = tr + n, *sr = sgn + oc0;
        uint32_t bits = 0u, bit = 1u;
        for (; tr < te; tr++, sr++, wr += 9, bit <<= 1) {
            float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f, v = -HUGE_VALF, wv;
            wv = wr[0];
            a0 += x00 * wv; a1 += x01 * wv; a2 += x10 * wv; a3 += x11 * wv;
            wv = wr[1];
            a0 += x01 * wv; a1 += x02 * wv; a2 += x11 * wv; a3 += x12 * wv;
            wv = wr[2];
            a0 += x02 * wv; a1 += x03 * wv; a2 += x12 * wv; a3 += x13 * wv;
            wv = wr[3];
            a0 += x10 * wv; a1 += x11 * wv; a2 += x20 * wv; a3 += x21 * wv;
            wv = wr[4];
            a0 += x11 * wv; a1 += x12 * wv; a2 += x21 * wv; a3 += x22 * wv;
            wv = wr[5];
            a0 += x12 * wv; a1 += x13 * wv; a2 += x22 * wv; a3 += x23 * wv;
            wv = wr[6];
            a0 += x20 * wv; a1 += x21 * wv; a2 += x30 * wv; a3 += x31 * wv;
            wv = wr[7];
            a0 += x21 * wv; a1 += x22 * wv; a2 += x31 * wv; a3 += x32 * wv;
            wv = wr[8];
            a0 += x22 * wv; a1 += x23 * wv; a2 += x32 * wv; a3 += x33 * wv;
            v = a0 > v ? a0 : v;
            v = a1 > v ? a1 : v;
            v = a2 > v ? a2 : v;
            v = a3 > v ? a3 : v;
            if (v * *sr >= *tr) {
                bits |= bit;
            }
        }
        out[oc0 >> 5] = (bits ^ flip) & EBNN_FCONV_MASK(n);
    }
}
