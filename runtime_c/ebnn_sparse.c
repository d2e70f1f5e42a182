/* Sparse binary layers: masked, word-list and Huffman-coded weights, two-level combination. */
#include "ebnn_kernels.h"

/* Decoding state: the stream, the bit position, and a table of the codes up to 8 bits
 * long indexed by the next 8 bits (entry: symbol | length << 8; 0 length: longer code).
 * The table lives in the arena (scratch) and is filled once per layer call. */
typedef struct {
    const ebnn_huff *h;
    const uint32_t *code, *signs;
    uint32_t pos, spos;
    uint16_t *lut;
} ebnn_reader;

static void ebnn_reader_init(ebnn_reader *r, const ebnn_huff *h, const uint32_t *code, const uint32_t *signs,
                             uint32_t *scratch)
{
    int32_t len, i;
    uint32_t c;
    r->h = h;
    r->code = code;
    r->signs = signs;
    r->pos = r->spos = 0u;
    r->lut = (uint16_t *)scratch;
    for (i = 0; i < 256; i++) {
        r->lut[i] = 0u;
    }
    for (len = 1; len <= 8 && len <= h->max_len; len++) {
        for (c = 0u; c < h->count[len]; c++) {
            const uint32_t lo = (h->first[len] + c) << (8 - len);
            const uint16_t entry = (uint16_t)(h->symbols[h->offset[len] + c] | (len << 8));
            for (i = 0; i < (1 << (8 - len)); i++) {
                r->lut[lo + (uint32_t)i] = entry;
            }
        }
    }
}

/* One mask byte (canonical decoding; the table answers codes of up to 8 bits). */
static uint32_t ebnn_huff_byte(ebnn_reader *r)
{
    const uint32_t word = r->pos >> 5, shift = r->pos & 31u;
    /* the stream ends with a spare zero word, so reading word + 1 stays inside */
    const uint32_t window = (r->code[word] << shift) | (shift ? r->code[word + 1] >> (32u - shift) : 0u);
    const uint32_t entry = r->lut[window >> 24];
    uint32_t value = 0u;
    int32_t len;
    if (entry >> 8) {
        r->pos += entry >> 8;
        return entry & 0xFFu;
    }
    for (len = 1; len <= r->h->max_len; len++) {
        value = (value << 1) | ((window >> (31 - (len - 1))) & 1u);
        if (value - r->h->first[len] < r->h->count[len]) {
            r->pos += (uint32_t)len;
            return r->h->symbols[r->h->offset[len] + (value - r->h->first[len])];
        }
    }
    return 0u; /* not reached on a stream the compiler wrote (codes are at most 15 bits) */
}

/* The next mask word, and its sign word from the connections' sign bits. */
static uint32_t ebnn_huff_word(ebnn_reader *r, uint32_t *sign)
{
    uint32_t m = ebnn_huff_byte(r);
    uint32_t rest, s = 0u;
    m |= ebnn_huff_byte(r) << 8;
    m |= ebnn_huff_byte(r) << 16;
    m |= ebnn_huff_byte(r) << 24;
    if (r->signs) {
        for (rest = m; rest; r->spos++) {
            const uint32_t low = rest & (0u - rest);
            if ((r->signs[r->spos >> 5] >> (r->spos & 31u)) & 1u) {
                s |= low;
            }
            rest ^= low;
        }
    }
    *sign = s;
    return m;
}

static int32_t ebnn_masked_dot(uint32_t a, uint32_t w, uint32_t m)
{
    return ebnn_popcount(m) - 2 * ebnn_popcount(m & (a ^ w));
}

void ebnn_bdense_masked(const uint32_t *in, const uint32_t *w, const uint32_t *m, int32_t *out, int32_t words,
                        int32_t n)
{
    int32_t o, j;
    for (o = 0; o < n; o++, w += words, m += words) {
        int32_t d = 0;
        for (j = 0; j < words; j++) {
            if (m[j]) {
                d += ebnn_masked_dot(in[j], w[j], m[j]);
            }
        }
        out[o] = d;
    }
}

void ebnn_bdense_words(const uint32_t *in, const uint32_t *ends, const uint16_t *index, const uint32_t *m,
                       const uint32_t *w, int32_t *out, int32_t n)
{
    uint32_t e = 0u;
    int32_t o;
    for (o = 0; o < n; o++) {
        int32_t d = 0;
        for (; e < ends[o]; e++) {
            d += ebnn_masked_dot(in[index[e]], w[e], m[e]);
        }
        out[o] = d;
    }
}

void ebnn_bdense_huff(const uint32_t *in, const ebnn_huff *h, const uint32_t *code, const uint32_t *signs,
                      int32_t *out, int32_t words, int32_t n, uint32_t *scratch)
{
    ebnn_reader r;
    uint32_t sign;
    int32_t o, j;
    ebnn_reader_init(&r, h, code, signs, scratch);
    for (o = 0; o < n; o++) {
        int32_t d = 0;
        for (j = 0; j < words; j++) {
            const uint32_t m = ebnn_huff_word(&r, &sign);
            if (m) {
                d += ebnn_masked_dot(in[j], sign, m);
            }
        }
        out[o] = d;
    }
}

/* One output channel of a sparse binary convolution: rows w, m of k_h * k_w * wc words. */
static void ebnn_bconv_channel(const uint32_t *in, const uint32_t *w, const uint32_t *m, int32_t *out,
                               const ebnn_window *g, int32_t pad_mode)
{
    const int32_t wc = EBNN_WORDS(g->in_c);
    const int32_t row = g->k_h * g->k_w * wc;
    const int32_t tail = g->in_c % 32;
    int32_t oh, ow, i, j, k, any = 0;
    for (k = 0; k < row; k++) {
        any |= m[k] != 0u;
    }
    for (oh = 0; oh < g->out_h; oh++) {
        for (ow = 0; ow < g->out_w; ow++, out += g->out_c) {
            int32_t d = 0, t = 0;
            for (i = 0; any && i < g->k_h; i++) {
                const int32_t ih = oh * g->stride_h - g->pad_top + i * g->dil_h;
                for (j = 0; j < g->k_w; j++, t += wc) {
                    const int32_t iw = ow * g->stride_w - g->pad_left + j * g->dil_w;
                    const int32_t inside = ih >= 0 && ih < g->in_h && iw >= 0 && iw < g->in_w;
                    const uint32_t *ip = inside ? in + (ih * g->in_w + iw) * wc : in;
                    if (!inside && pad_mode == 0) {
                        continue;
                    }
                    for (k = 0; k < wc; k++) {
                        uint32_t a;
                        if (!m[t + k]) {
                            continue;
                        }
                        a = inside ? ip[k] : ebnn_pad_word(pad_mode, k, wc, tail);
                        d += ebnn_masked_dot(a, w[t + k], m[t + k]);
                    }
                }
            }
            *out = d;
        }
    }
}

void ebnn_bconv_masked(const uint32_t *in, const uint32_t *w, const uint32_t *m, int32_t *out,
                       const ebnn_window *g, int32_t pad_mode)
{
    const int32_t row = g->k_h * g->k_w * EBNN_WORDS(g->in_c);
    int32_t oc;
    for (oc = 0; oc < g->out_c; oc++) {
        ebnn_bconv_channel(in, w + oc * row, m + oc * row, out + oc, g, pad_mode);
    }
}

/* One pixel of a word-list convolution: the entries [e, end) in tap order. */
static int32_t ebnn_words_pixel(const uint32_t *in, const uint16_t *index, const uint32_t *m, const uint32_t *w,
                                uint32_t e, uint32_t end, const ebnn_window *g, int32_t pad_mode, int32_t oh,
                                int32_t ow)
{
    const int32_t wc = EBNN_WORDS(g->in_c);
    int32_t i, j, d = 0;
    uint32_t limit = 0u;
    for (i = 0; i < g->k_h && e < end; i++) {
        const int32_t ih = oh * g->stride_h - g->pad_top + i * g->dil_h;
        for (j = 0; j < g->k_w && e < end; j++) {
            const int32_t iw = ow * g->stride_w - g->pad_left + j * g->dil_w;
            const int32_t inside = ih >= 0 && ih < g->in_h && iw >= 0 && iw < g->in_w;
            const uint32_t *ip = in + (inside ? (ih * g->in_w + iw) * wc : 0);
            const uint32_t first = limit;
            limit += (uint32_t)wc;
            for (; e < end && index[e] < limit; e++) {
                const int32_t k = (int32_t)(index[e] - first);
                if (inside) {
                    d += ebnn_masked_dot(ip[k], w[e], m[e]);
                } else if (pad_mode != 0) {
                    d += ebnn_masked_dot(ebnn_pad_word(pad_mode, k, wc, g->in_c % 32), w[e], m[e]);
                }
            }
        }
    }
    return d;
}

void ebnn_bconv_words(const uint32_t *in, const uint32_t *ends, const uint16_t *index, const uint32_t *m,
                      const uint32_t *w, int32_t *out, const ebnn_window *g, int32_t pad_mode)
{
    uint32_t start = 0u;
    int32_t oc, oh, ow;
    for (oc = 0; oc < g->out_c; oc++) {
        int32_t *o = out + oc;
        for (oh = 0; oh < g->out_h; oh++) {
            for (ow = 0; ow < g->out_w; ow++, o += g->out_c) {
                *o = ebnn_words_pixel(in, index, m, w, start, ends[oc], g, pad_mode, oh, ow);
            }
        }
        start = ends[oc];
    }
}

void ebnn_bconv_huff(const uint32_t *in, const ebnn_huff *h, const uint32_t *code, const uint32_t *signs,
                     int32_t *out, const ebnn_window *g, int32_t pad_mode, uint32_t *scratch)
{
    const int32_t row = g->k_h * g->k_w * EBNN_WORDS(g->in_c);
    ebnn_reader r;
    int32_t oc, k;
    ebnn_reader_init(&r, h, code, signs, scratch);
    scratch += EBNN_HUFF_LUT_WORDS;
    for (oc = 0; oc < g->out_c; oc++) {
        for (k = 0; k < row; k++) {
            scratch[k] = ebnn_huff_word(&r, &scratch[row + k]);
        }
        ebnn_bconv_channel(in, scratch + row, scratch, out + oc, g, pad_mode);
    }
}

void ebnn_combine(const int32_t *d, const int32_t *s, const float *gamma, const float *beta, float *out,
                  int32_t rows, int32_t channels)
{
    int32_t r, c;
    for (r = 0; r < rows; r++) {
        for (c = 0; c < channels; c++) {
            const float dd = (float)*d++ * gamma[c];
            const float ss = (float)s[r] * beta[c];
            *out++ = dd + ss;
        }
    }
}
