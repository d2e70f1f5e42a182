/* edgebnn portable kernels (C99, no heap).
 *
 * Bit conventions: a binary value is +-1, bit 1 means -1; 32 values per uint32_t
 * word along the channel axis, channel c at bit c % 32 of word c / 32; each row
 * (pixel) is padded to whole words with 0 bits (+1) in both operands, so padding
 * adds nothing to popcount(a ^ w).  Activations are (rows, channels): (n) for
 * dense layers, (H, W, C) for convolutions (NHWC).
 *
 * Per-element constants are read as c[i % mod]: mod 1 for one value, mod = the
 * channel count for one per channel, mod = n for one per element.
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

/* Binary dense: out[o] = k - 2 * popcount(in ^ w[o]) over `words` words. */
void ebnn_bdense(const uint32_t *in, const uint32_t *w, int32_t *out, int32_t k, int32_t words, int32_t n);

/* Float input, binary weights: out[o] = sum_i (w bit ? -in[i] : in[i]). */
void ebnn_dense_binw(const float *in, const uint32_t *w, float *out, int32_t k, int32_t n);

/* Float dense: out[o] = sum_i in[i] * w[o * k + i]. */
void ebnn_dense_f32(const float *in, const float *w, float *out, int32_t k, int32_t n);

/* Geometry of a 2-D window op (convolution or pooling). */
typedef struct {
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, pad_top, pad_left, dil_h, dil_w;
} ebnn_window;

/* Word k of a tap outside the image when pad_mode != 0: the padding value's bits
 * (pad_mode < 0: -1, bits 1 up to in_c; > 0: +1, bits 0). */
static inline uint32_t ebnn_pad_word(int32_t pad_mode, int32_t k, int32_t wc, int32_t tail)
{
    if (pad_mode >= 0) {
        return 0u;
    }
    return k == wc - 1 && tail ? (1u << tail) - 1u : 0xFFFFFFFFu;
}

/* Binary convolution, NHWC bits in, (Ho, Wo, Cout) int32 dot products out;
 * weights [Cout][kh][kw][words(Cin)].  Taps outside the image: pad_mode 0 adds
 * nothing (ONNX zero padding), 1 reads +1 pixels, -1 reads -1 pixels. */
void ebnn_bconv(const uint32_t *in, const uint32_t *w, int32_t *out, const ebnn_window *g, int32_t pad_mode);

/* Float convolution reading input element (c, h, w) at in[c*sc + h*sh + w*sw];
 * weights [Cout][Cin][kh][kw] (ONNX order); output (Ho, Wo, Cout); zero padding. */
void ebnn_conv_f32(const float *in, const float *w, float *out, const ebnn_window *g,
                   int32_t sc, int32_t sh, int32_t sw);

/* Max pooling: bits (AND: any +1 wins), int32 (max, or min for channels whose bit
 * is set in use_min), float.  NHWC; taps outside the image are ignored. */
/* Bits pooled per channel: AND (max) where or_mask's bit is 0, OR where it is 1 (a pool moved
 * behind a threshold that flips its direction); a null or_mask is AND throughout. */
void ebnn_maxpool_bits(const uint32_t *in, uint32_t *out, const ebnn_window *g, const uint32_t *or_mask);
void ebnn_maxpool_i32(const int32_t *in, int32_t *out, const ebnn_window *g, const uint32_t *use_min);
void ebnn_maxpool_f32(const float *in, float *out, const ebnn_window *g);
/* Average pooling; count_pad: divide by the taps inside the padded image. */
void ebnn_avgpool_f32(const float *in, float *out, const ebnn_window *g, int32_t pad_bottom, int32_t pad_right,
                      int32_t count_pad);

/* Integer threshold to bits: bit = (d[i] < thr[i % mod]) ^ neg bit (i % mod). */
void ebnn_threshold(const int32_t *d, const int32_t *thr, const uint32_t *neg, int32_t mod, uint32_t *out,
                    int32_t rows, int32_t channels);

/* Bits to floats: hi where the bit is 0, lo where it is 1. */
void ebnn_unpack(const uint32_t *in, float *out, float hi, float lo, int32_t rows, int32_t channels);

/* out[i] = in[index[i]]. */
void ebnn_gather_f32(const float *in, float *out, const int32_t *index, int32_t n);

/* Element-wise float32 steps (the graph's Mul/Add/Sub/Div/BatchNorm and activations), in order. */
enum { EBNN_MUL, EBNN_ADD, EBNN_SUB, EBNN_DIV, EBNN_RSUB, EBNN_RDIV, EBNN_ABS, EBNN_MAX, EBNN_MIN, EBNN_PRELU,
       EBNN_SIGMOID, EBNN_TANH };

typedef struct {
    int32_t op;  /* EBNN_MUL ... */
    int32_t mod; /* constant of element i: c[i % mod] */
    const float *c;
} ebnn_step;

void ebnn_affine_i32(const int32_t *in, float *out, int32_t n, const ebnn_step *steps, int32_t nsteps);
void ebnn_affine_f32(const float *in, float *out, int32_t n, const ebnn_step *steps, int32_t nsteps);

/* Two computed tensors: out[i] = a[i] op b[i % m] (op: EBNN_ADD ... EBNN_MIN; m = n, or the
 * channel count of a per-channel b). */
void ebnn_ewise_f32(const float *a, const float *b, float *out, int32_t n, int32_t m, int32_t op);

/* The index of the first largest of each of rows rows of n values (ArgMax, TopK with k = 1). */
void ebnn_argmax_f32(const float *in, int32_t *out, int32_t rows, int32_t n);

/* Concatenation along one axis: outer rows, each one block of sizes[k] values from srcs[k]
 * (fill where srcs[k] is NULL: a constant Pad of that axis). */
void ebnn_concat_f32(const float *const *srcs, const int32_t *sizes, int32_t parts, float *out, int32_t outer,
                     float fill);

/* Softmax (LogSoftmax when take_log) over each of rows rows of n values, in double. */
void ebnn_softmax_f32(const float *in, float *out, int32_t rows, int32_t n, int32_t take_log);

/* ReLU as ONNX computes it: out[i] = in[i] < 0 ? +0 : in[i] (-0, NaN, +inf pass unchanged). */
void ebnn_relu_f32(const float *in, float *out, int32_t n);

/* XNOR-Net activation scale: out[r][c] = in[r][c] * m[r] (one factor per pixel),
 * and the per-pixel channel mean that computes it. */
void ebnn_scale_rows(const float *in, const float *m, float *out, int32_t rows, int32_t channels);
void ebnn_mean_rows(const float *in, float *out, int32_t rows, int32_t channels);

/* Float to bits: +1 (bit 0) where steps(in[i]) >= t[i % t_mod] (> when strict),
 * swapped when invert. */
void ebnn_binarize_f32(const float *in, uint32_t *out, int32_t rows, int32_t channels, const ebnn_step *steps,
                       int32_t nsteps, const float *t, int32_t t_mod, int32_t strict, int32_t invert);

/* Sparse binary layers: dot = popcount(m) - 2 * popcount(m & (a ^ w)) over the
 * connections m; all-zero mask words (and whole all-zero kernels) are skipped.
 * "masked": sign words w and mask words m stored as they are.
 * "huffman": the mask bytes in one canonical Huffman code (MSB first), and the sign
 * bits of the connections only (LSB first; NULL when all +1), decoded row by row. */
typedef struct {
    const uint16_t *first;  /* first code of each length 1..15 */
    const uint16_t *count;  /* number of codes of each length */
    const uint16_t *offset; /* index in symbols of the first code of each length */
    const uint8_t *symbols; /* mask bytes by (code length, value) */
    int32_t max_len;
} ebnn_huff;

void ebnn_bdense_masked(const uint32_t *in, const uint32_t *w, const uint32_t *m, int32_t *out, int32_t words,
                        int32_t n);
/* "words": only the words with a connection; row o's are entries ends[o-1]..ends[o]-1,
 * each with its word index in the row (tap * words(in_c) + word for convolutions), its
 * mask and its sign word. */
void ebnn_bdense_words(const uint32_t *in, const uint32_t *ends, const uint16_t *index, const uint32_t *m,
                       const uint32_t *w, int32_t *out, int32_t n);
void ebnn_bconv_words(const uint32_t *in, const uint32_t *ends, const uint16_t *index, const uint32_t *m,
                      const uint32_t *w, int32_t *out, const ebnn_window *g, int32_t pad_mode);
/* scratch (arena): EBNN_HUFF_LUT_WORDS words, a decoding table filled per call. */
#define EBNN_HUFF_LUT_WORDS 128
void ebnn_bdense_huff(const uint32_t *in, const ebnn_huff *h, const uint32_t *code, const uint32_t *signs,
                      int32_t *out, int32_t words, int32_t n, uint32_t *scratch);
void ebnn_bconv_masked(const uint32_t *in, const uint32_t *w, const uint32_t *m, int32_t *out,
                       const ebnn_window *g, int32_t pad_mode);
/* scratch: EBNN_HUFF_LUT_WORDS + 2 * k_h * k_w * words(in_c) words (the table, then one
 * output channel's mask and sign words, decoded once). */
void ebnn_bconv_huff(const uint32_t *in, const ebnn_huff *h, const uint32_t *code, const uint32_t *signs,
                     int32_t *out, const ebnn_window *g, int32_t pad_mode, uint32_t *scratch);

/* Two-level weights {beta, alpha}: out = d * gamma[c] + s[r] * beta[c], where s is the
 * row's (pixel's) sum of activations. */
void ebnn_combine(const int32_t *d, const int32_t *s, const float *gamma, const float *beta, float *out,
                  int32_t rows, int32_t channels);

#endif
