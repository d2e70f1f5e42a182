/* Dense layers: binary (XOR-popcount), float input with binary weights, float. */
#include "ebnn_kernels.h"

void ebnn_bdense(const uint32_t *in, const uint32_t *w, int32_t *out, int32_t k, int32_t words, int32_t n)
{
    int32_t o, j;
    for (o = 0; o < n; o++) {
        int32_t mismatches = 0;
        for (j = 0; j < words; j++) {
            mismatches += ebnn_popcount(in[j] ^ w[j]);
        }
        out[o] = k - 2 * mismatches;
        w += words;
    }
}

void ebnn_dense_binw(const float *in, const uint32_t *w, float *out, int32_t k, int32_t n)
{
    const int32_t words = EBNN_WORDS(k);
    int32_t o, i;
    for (o = 0; o < n; o++) {
        float acc = 0.0f;
        for (i = 0; i < k; i++) {
            acc += ((w[i >> 5] >> (i & 31)) & 1u) ? -in[i] : in[i];
        }
        out[o] = acc;
        w += words;
    }
}

void ebnn_dense_f32(const float *in, const float *w, float *out, int32_t k, int32_t n)
{
    int32_t o, i;
    for (o = 0; o < n; o++) {
        float acc = 0.0f;
        for (i = 0; i < k; i++) {
            acc += in[i] * w[i];
        }
        out[o] = acc;
        w += k;
    }
}
