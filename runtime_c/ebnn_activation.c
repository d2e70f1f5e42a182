/* Activations: integer thresholds to bits, bits to floats. */
#include "ebnn_kernels.h"

void ebnn_threshold(const int32_t *d, const int32_t *thr, const uint32_t *neg, uint32_t *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < EBNN_WORDS(n); i++) {
        out[i] = 0u;
    }
    for (i = 0; i < n; i++) {
        uint32_t bit = (uint32_t)(d[i] < thr[i]) ^ ((neg[i >> 5] >> (i & 31)) & 1u);
        out[i >> 5] |= bit << (i & 31);
    }
}

void ebnn_unpack(const uint32_t *in, float *out, float hi, float lo, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        out[i] = ((in[i >> 5] >> (i & 31)) & 1u) ? lo : hi;
    }
}
