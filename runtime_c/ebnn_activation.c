/* Activations: integer thresholds to bits, bits to floats, float gathers. */
#include "ebnn_kernels.h"

void ebnn_threshold(const int32_t *d, const int32_t *thr, const uint32_t *neg, int32_t mod, uint32_t *out,
                    int32_t rows, int32_t channels)
{
    const int32_t wc = EBNN_WORDS(channels);
    int32_t r, c, i = 0;
    for (r = 0; r < rows; r++, out += wc) {
        for (c = 0; c < wc; c++) {
            out[c] = 0u;
        }
        for (c = 0; c < channels; c++, i++) {
            const int32_t t = i % mod;
            const uint32_t bit = (uint32_t)(d[i] < thr[t]) ^ ((neg[t >> 5] >> (t & 31)) & 1u);
            out[c >> 5] |= bit << (c & 31);
        }
    }
}

void ebnn_unpack(const uint32_t *in, float *out, float hi, float lo, int32_t rows, int32_t channels)
{
    const int32_t wc = EBNN_WORDS(channels);
    int32_t r, c;
    for (r = 0; r < rows; r++, in += wc) {
        for (c = 0; c < channels; c++) {
            *out++ = ((in[c >> 5] >> (c & 31)) & 1u) ? lo : hi;
        }
    }
}

void ebnn_gather_f32(const float *in, float *out, const int32_t *index, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        out[i] = in[index[i]];
    }
}

void ebnn_concat_f32(const float *const *srcs, const int32_t *sizes, int32_t parts, float *out, int32_t outer,
                     float fill)
{
    int32_t r, k, j;
    for (r = 0; r < outer; r++) {
        for (k = 0; k < parts; k++) {
            const float *src = srcs[k] ? srcs[k] + (long)r * sizes[k] : 0;
            for (j = 0; j < sizes[k]; j++) {
                *out++ = src ? src[j] : fill;
            }
        }
    }
}

void ebnn_argmax_f32(const float *in, int32_t *out, int32_t rows, int32_t n)
{
    int32_t r, j;
    for (r = 0; r < rows; r++, in += n) {
        int32_t best = 0;
        for (j = 1; j < n; j++) {
            if (in[j] > in[best]) {
                best = j;
            }
        }
        out[r] = best;
    }
}
