/* Element-wise float32 steps, applied exactly in graph order (no contraction into
 * fused multiply-adds: build with -ffp-contract=off or -std=c99). */
#include <math.h>

#include "ebnn_kernels.h"

static float ebnn_apply(float v, const ebnn_step *s, int32_t nsteps, int32_t i)
{
    int32_t k;
    for (k = 0; k < nsteps; k++) {
        const float c = s[k].c[i % s[k].mod];
        switch (s[k].op) {
        case EBNN_MUL: v = v * c; break;
        case EBNN_ADD: v = v + c; break;
        case EBNN_SUB: v = v - c; break;
        case EBNN_DIV: v = v / c; break;
        case EBNN_RSUB: v = c - v; break;
        case EBNN_RDIV: v = c / v; break;
        case EBNN_ABS: v = fabsf(v); break;
        case EBNN_MAX: v = v < c ? c : v; break;
        case EBNN_MIN: v = v > c ? c : v; break;
        case EBNN_PRELU: v = v < 0.0f ? v * c : v; break;
        /* in double, rounded once: the reference rounds the same way */
        case EBNN_SIGMOID: v = (float)(1.0 / (1.0 + exp(-(double)v))); break;
        default: v = (float)tanh((double)v); break;
        }
    }
    return v;
}

void ebnn_affine_i32(const int32_t *in, float *out, int32_t n, const ebnn_step *steps, int32_t nsteps)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        out[i] = ebnn_apply((float)in[i], steps, nsteps, i);
    }
}

void ebnn_affine_f32(const float *in, float *out, int32_t n, const ebnn_step *steps, int32_t nsteps)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        out[i] = ebnn_apply(in[i], steps, nsteps, i);
    }
}

void ebnn_ewise_f32(const float *a, const float *b, float *out, int32_t n, int32_t m, int32_t op)
{
    int32_t i, j = 0;
    for (i = 0; i < n; i++) {
        const float x = a[i], c = b[j];
        switch (op) {
        case EBNN_ADD: out[i] = x + c; break;
        case EBNN_SUB: out[i] = x - c; break;
        case EBNN_MUL: out[i] = x * c; break;
        case EBNN_DIV: out[i] = x / c; break;
        case EBNN_RSUB: out[i] = c - x; break;
        case EBNN_RDIV: out[i] = c / x; break;
        case EBNN_MAX: out[i] = x < c ? c : x; break;
        default: out[i] = x > c ? c : x; break;
        }
        if (++j == m) {
            j = 0;
        }
    }
}

void ebnn_softmax_f32(const float *in, float *out, int32_t rows, int32_t n, int32_t take_log)
{
    int32_t r, j;
    for (r = 0; r < rows; r++, in += n, out += n) {
        double top = in[0], total = 0.0;
        for (j = 1; j < n; j++) {
            top = in[j] > top ? in[j] : top;
        }
        for (j = 0; j < n; j++) {
            total += exp((double)in[j] - top);
        }
        for (j = 0; j < n; j++) {
            const double shifted = (double)in[j] - top;
            out[j] = (float)(take_log ? shifted - log(total) : exp(shifted) / total);
        }
    }
}

void ebnn_scale_rows(const float *in, const float *m, float *out, int32_t rows, int32_t channels)
{
    int32_t r, c;
    for (r = 0; r < rows; r++) {
        for (c = 0; c < channels; c++, in++) {
            *out++ = *in * m[r];
        }
    }
}

void ebnn_mean_rows(const float *in, float *out, int32_t rows, int32_t channels)
{
    int32_t r, c;
    for (r = 0; r < rows; r++) {
        float sum = 0.0f;
        for (c = 0; c < channels; c++) {
            sum += *in++;
        }
        out[r] = sum / (float)channels;
    }
}

void ebnn_binarize_f32(const float *in, uint32_t *out, int32_t rows, int32_t channels, const ebnn_step *steps,
                       int32_t nsteps, const float *t, int32_t t_mod, int32_t strict, int32_t invert)
{
    const int32_t wc = EBNN_WORDS(channels);
    int32_t r, c, i = 0;
    for (r = 0; r < rows; r++, out += wc) {
        for (c = 0; c < wc; c++) {
            out[c] = 0u;
        }
        for (c = 0; c < channels; c++, i++) {
            const float v = ebnn_apply(in[i], steps, nsteps, i);
            const float ti = t[i % t_mod];
            const int32_t holds = strict ? (v > ti) : (v >= ti);
            const uint32_t bit = (uint32_t)(invert ? holds : !holds);
            out[c >> 5] |= bit << (c & 31);
        }
    }
}
