/* edgebnn portable kernels (C99, no heap).
 *
 * Bit conventions: a binary value is +-1, bit 1 means -1; 32 values per uint32_t
 * word, element i at bit i % 32 of word i / 32; the last word is padded with 0 bits
 * (+1) in both operands, so padding adds nothing to popcount(a ^ w).
 */
#ifndef EBNN_KERNELS_H
#define EBNN_KERNELS_H

#include <stdint.h>

#define EBNN_WORDS(n) (((n) + 31) / 32)

/* Number of set bits; SWAR, so it needs no popcount instruction. */
static inline int32_t ebnn_popcount(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0F0F0F0Fu;
    return (int32_t)((x * 0x01010101u) >> 24);
}

/* Binary dense: out[o] = k - 2 * popcount(in ^ w[o]) (the +-1 dot product). */
void ebnn_bdense(const uint32_t *in, const uint32_t *w, int32_t *out, int32_t k, int32_t n);

/* Float input, binary weights: out[o] = sum_i (w bit ? -in[i] : in[i]). */
void ebnn_dense_binw(const float *in, const uint32_t *w, float *out, int32_t k, int32_t n);

/* Float dense: out[o] = sum_i in[i] * w[o * k + i]. */
void ebnn_dense_f32(const float *in, const float *w, float *out, int32_t k, int32_t n);

/* Integer threshold to bits: bit i = (d[i] < thr[i]) ^ neg bit i. */
void ebnn_threshold(const int32_t *d, const int32_t *thr, const uint32_t *neg, uint32_t *out, int32_t n);

/* Bits to floats: hi where the bit is 0, lo where it is 1. */
void ebnn_unpack(const uint32_t *in, float *out, float hi, float lo, int32_t n);

/* Element-wise float32 steps (the graph's Mul/Add/Sub/Div/BatchNorm), in order. */
enum { EBNN_MUL, EBNN_ADD, EBNN_SUB, EBNN_DIV, EBNN_RSUB, EBNN_RDIV };

typedef struct {
    int32_t op;     /* EBNN_MUL ... */
    int32_t stride; /* 1: one constant per element; 0: one constant for all */
    const float *c;
} ebnn_step;

void ebnn_affine_i32(const int32_t *in, float *out, int32_t n, const ebnn_step *steps, int32_t nsteps);
void ebnn_affine_f32(const float *in, float *out, int32_t n, const ebnn_step *steps, int32_t nsteps);

/* Float to bits: +1 (bit 0) where steps(in[i]) >= t (> t when strict), swapped
 * when invert. */
void ebnn_binarize_f32(const float *in, uint32_t *out, int32_t n, const ebnn_step *steps, int32_t nsteps,
                       const float *t, int32_t t_stride, int32_t strict, int32_t invert);

#endif
