/* Real-valued first layers that write bits (ebnn_fconv.h).
 *
 * Exactness: each sum starts at +0 and adds the products in the reference's order (taps,
 * then input channels), each product and sum rounded to float32 (no FMA: -ffp-contract=off).
 * A sum that starts at +0 is never -0, and the weights are finite, so a padded tap adding
 * 0 * w = +-0 leaves it unchanged: padded taps read zeros from the gathered patch, and the
 * dot products have no bounds checks.  The patch of an interior pixel is copied without
 * any either (a 3x3 single-channel window is read in place); only border pixels test each
 * tap.  A falling channel's negated weights give exactly the negated sum (up to the sign of
 * zero, which no comparison sees); after a pool its max is multiplied by -1 instead. */
#include <math.h>

#include "ebnn_fconv.h"

/* Windows of up to this many values are done four pixels at a time (scratch: 4 windows). */
#define EBNN_FCONV_QUAD 64

/* Whether every tap of conv pixel (oh, ow)'s window is inside the input. */
static int32_t ebnn_fconv_inside(const ebnn_window *g, int32_t oh, int32_t ow)
{
    const int32_t ih0 = oh * g->stride_h - g->pad_top, iw0 = ow * g->stride_w - g->pad_left;
    return ih0 >= 0 && iw0 >= 0 && ih0 + (g->k_h - 1) * g->dil_h < g->in_h && iw0 + (g->k_w - 1) * g->dil_w < g->in_w;
}

/* The window of conv pixel (oh, ow) into p, every step-th float: kh*kw*Cin values, taps
 * then channels. */
static void ebnn_fconv_patch(const float *in, const ebnn_window *g, int32_t sc, int32_t sh, int32_t sw,
                             int32_t oh, int32_t ow, float *p, int32_t step)
{
    const int32_t ih0 = oh * g->stride_h - g->pad_top, iw0 = ow * g->stride_w - g->pad_left;
    const int32_t c_n = g->in_c, dh = g->dil_h * sh, dw = g->dil_w * sw;
    int32_t i, j, c;
    if (ebnn_fconv_inside(g, oh, ow)) {
        const float *row = in + ih0 * sh + iw0 * sw;
        for (i = 0; i < g->k_h; i++, row += dh) {
            const float *px = row;
            for (j = 0; j < g->k_w; j++, px += dw) {
                for (c = 0; c < c_n; c++, p += step) {
                    *p = px[c * sc];
                }
            }
        }
        return;
    }
    for (i = 0; i < g->k_h; i++) {
        const int32_t ih = ih0 + i * g->dil_h;
        for (j = 0; j < g->k_w; j++) {
            const int32_t iw = iw0 + j * g->dil_w;
            const int32_t inside = ih >= 0 && ih < g->in_h && iw >= 0 && iw < g->in_w;
            for (c = 0; c < c_n; c++, p += step) {
                *p = inside ? in[c * sc + ih * sh + iw * sw] : 0.0f;
            }
        }
    }
}

/* Bits of one output pixel from its nq conv patches, any window: per channel the value, or
 * when pooled the max over the patches (NaN never wins, as in ebnn_maxpool_f32) times
 * sgn[channel]; then t <= v (and v <= hi when hi is not null). */
static void ebnn_fconv_general(const float *p, int32_t nq, int32_t pooled, const float *w, int32_t k, int32_t m,
                               const float *t, const float *hi, const float *sgn, uint32_t flip, uint32_t *out)
{
    int32_t oc0, b, j;
    for (oc0 = 0; oc0 < m; oc0 += 32) {
        const int32_t n = m - oc0 < 32 ? m - oc0 : 32;
        const float *wr = w + oc0 * k;
        uint32_t bits = 0u;
        for (b = 0; b < n; b++, wr += k) {
            const int32_t oc = oc0 + b;
            float v = pooled ? -HUGE_VALF : ebnn_fconv_dot(p, wr, k);
            for (j = 0; pooled && j < nq; j++) {
                const float d = ebnn_fconv_dot(p + j * k, wr, k);
                if (d > v) {
                    v = d;
                }
            }
            if (sgn) {
                v *= sgn[oc];
            }
            if (v >= t[oc] && (hi == 0 || v <= hi[oc])) {
                bits |= 1u << b;
            }
        }
        out[oc0 >> 5] = (bits ^ flip) & EBNN_FCONV_MASK(n);
    }
}

/* The rows x cols input region from (ih0, iw0) (rows dil_h apart), zeros outside the input. */
static void ebnn_fconv_region(const float *in, const ebnn_window *g, int32_t sh, int32_t sw, int32_t ih0, int32_t iw0,
                              int32_t rows, int32_t cols, float *p)
{
    int32_t r, c;
    for (r = 0; r < rows; r++) {
        const int32_t ih = ih0 + r * g->dil_h;
        for (c = 0; c < cols; c++) {
            const int32_t iw = iw0 + c;
            *p++ = ih >= 0 && ih < g->in_h && iw >= 0 && iw < g->in_w ? in[ih * sh + iw * sw] : 0.0f;
        }
    }
}

/* Output row oh without a pool: four pixels at a time for a 3x3 single-channel window with
 * unit horizontal stride, then two at a time (each weight loaded once for them). */
static void ebnn_fconv_row(const float *in, const float *w, uint32_t *out, const ebnn_window *g, int32_t sc,
                           int32_t sh, int32_t sw, const float *t, uint32_t flip, float *p, int32_t oh)
{
    const int32_t k = g->k_h * g->k_w * g->in_c, wc = EBNN_WORDS(g->out_c);
    const int32_t k33 = g->k_h == 3 && g->k_w == 3 && g->in_c == 1;
    const int32_t ih0 = oh * g->stride_h - g->pad_top;
    int32_t ow = 0;
    if (k33 && g->stride_w == 1 && g->dil_w == 1) {
        for (; ow + 4 <= g->out_w; ow += 4, out += 4 * wc) {
            const int32_t iw0 = ow - g->pad_left;
            if (ebnn_fconv_inside(g, oh, ow) && ebnn_fconv_inside(g, oh, ow + 3)) {
                ebnn_fconv_row4(in + ih0 * sh + iw0 * sw, g->dil_h * sh, sw, w, g->out_c, t, flip, out, wc);
            } else { /* a border block: a zero-padded copy of its region */
                ebnn_fconv_region(in, g, sh, sw, ih0, iw0, 3, 6, p);
                ebnn_fconv_row4(p, 6, 1, w, g->out_c, t, flip, out, wc);
            }
        }
    }
    for (; !k33 && k <= EBNN_FCONV_QUAD && ow + 4 <= g->out_w; ow += 4, out += 4 * wc) {
        int32_t j;
        for (j = 0; j < 4; j++) { /* interleaved: the four values of a tap are adjacent */
            ebnn_fconv_patch(in, g, sc, sh, sw, oh, ow + j, p + j, 4);
        }
        ebnn_fconv_quad(p, w, k, g->out_c, t, flip, out, wc);
    }
    for (; ow < g->out_w; ow += 2, out += 2 * wc) {
        const int32_t pair = ow + 1 < g->out_w;
        if (k33 && pair && ebnn_fconv_inside(g, oh, ow) && ebnn_fconv_inside(g, oh, ow + 1)) {
            /* interior 3x3 windows of one channel: read in place, no copy, no checks */
            const float *a = in + ih0 * sh + (ow * g->stride_w - g->pad_left) * sw;
            ebnn_fconv_pair(a, a + g->stride_w * sw, g->dil_h * sh, g->dil_w * sw, w, k, g->out_c, t, flip, out,
                            out + wc);
        } else {
            ebnn_fconv_patch(in, g, sc, sh, sw, oh, ow, p, 1);
            if (pair) {
                ebnn_fconv_patch(in, g, sc, sh, sw, oh, ow + 1, p + k, 1);
            }
            ebnn_fconv_pair(p, pair ? p + k : (const float *)0, 3, k33, w, k, g->out_c, t, flip, out, out + wc);
        }
    }
}

void ebnn_conv_f32_bin(const float *in, const float *w, uint32_t *out, const ebnn_window *g,
                       int32_t sc, int32_t sh, int32_t sw, const int32_t *pool, const float *t, const float *hi,
                       const float *sgn, int32_t invert, uint32_t *scratch, int32_t scratch_words)
{
    const int32_t k = g->k_h * g->k_w * g->in_c, wc = EBNN_WORDS(g->out_c);
    const int32_t hp = pool ? pool[8] : g->out_h, wp = pool ? pool[9] : g->out_w;
    const uint32_t flip = invert ? 0u : 0xFFFFFFFFu;
    float *p = (float *)scratch;
    int32_t ph, pw, qi, qj;
    (void)scratch_words;
    if (!pool && !hi) { /* one comparison per channel: the fast rows */
        for (ph = 0; ph < g->out_h; ph++) {
            ebnn_fconv_row(in, w, out + ph * g->out_w * wc, g, sc, sh, sw, t, flip, p, ph);
        }
        return;
    }
    if (pool && !hi && g->k_h == 3 && g->k_w == 3 && g->in_c == 1 && g->stride_h == 1 && g->stride_w == 1 &&
        g->dil_h == 1 && g->dil_w == 1 && pool[0] == 2 && pool[1] == 2 && pool[2] == 2 && pool[3] == 2 &&
        pool[4] == 0 && pool[5] == 0 && 2 * hp <= g->out_h && 2 * wp <= g->out_w) {
        /* 3x3 conv + 2x2 max-pool: the four conv pixels at once from their 4x4 region */
        for (ph = 0; ph < hp; ph++) {
            for (pw = 0; pw < wp; pw++, out += wc) {
                const int32_t ih0 = 2 * ph - g->pad_top, iw0 = 2 * pw - g->pad_left;
                if (ebnn_fconv_inside(g, 2 * ph, 2 * pw) && ebnn_fconv_inside(g, 2 * ph + 1, 2 * pw + 1)) {
                    ebnn_fconv_pool4(in + ih0 * sh + iw0 * sw, sh, sw, w, g->out_c, t, sgn, flip, out);
                } else {
                    ebnn_fconv_region(in, g, sh, sw, ih0, iw0, 4, 4, p);
                    ebnn_fconv_pool4(p, 4, 1, w, g->out_c, t, sgn, flip, out);
                }
            }
        }
        return;
    }
    for (ph = 0; ph < hp; ph++) {
        for (pw = 0; pw < wp; pw++, out += wc) {
            int32_t nq = 0;
            for (qi = 0; pool ? qi < pool[0] : qi < 1; qi++) {
                const int32_t oh = pool ? ph * pool[2] - pool[4] + qi * pool[6] : ph;
                for (qj = 0; pool ? qj < pool[1] : qj < 1; qj++) {
                    const int32_t ow = pool ? pw * pool[3] - pool[5] + qj * pool[7] : pw;
                    if (oh >= 0 && oh < g->out_h && ow >= 0 && ow < g->out_w) {
                        ebnn_fconv_patch(in, g, sc, sh, sw, oh, ow, p + nq * k, 1);
                        nq++;
                    }
                }
            }
            ebnn_fconv_general(p, nq, pool != 0, w, k, g->out_c, t, hi, sgn, flip, out);
        }
    }
}

void ebnn_dense_f32_bin(const float *in, const float *w, uint32_t *out, int32_t k, int32_t n, const float *t,
                        const float *hi, int32_t invert)
{
    const uint32_t flip = invert ? 0u : 0xFFFFFFFFu;
    uint32_t bits = 0u;
    int32_t o = 0, b, i;
    while (o < n) {
        float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        const int32_t rows = n - o < 4 ? n - o : 4;
        if (rows == 4) { /* four rows at a time: each input loaded once for them */
            const float *w0 = w, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
            float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
            for (i = 0; i < k; i++) {
                const float x = in[i];
                a0 += x * w0[i];
                a1 += x * w1[i];
                a2 += x * w2[i];
                a3 += x * w3[i];
            }
            acc[0] = a0;
            acc[1] = a1;
            acc[2] = a2;
            acc[3] = a3;
        } else {
            acc[0] = ebnn_fconv_dot(in, w, k);
        }
        for (b = 0; b < (rows == 4 ? 4 : 1); b++, o++, w += k) {
            if (acc[b] >= t[o] && (hi == 0 || acc[b] <= hi[o])) {
                bits |= 1u << (o & 31);
            }
            if ((o & 31) == 31 || o == n - 1) {
                *out++ = (bits ^ flip) & EBNN_FCONV_MASK((o & 31) + 1);
                bits = 0u;
            }
        }
    }
}
