/* Optimised binary convolutions (see ebnn_opt.h).  Per output pixel the window's
 * activation words are gathered in weight order ([kh][kw][words(Cin)]) on the
 * stack, grouped once and shared by every output channel.  Taps outside the image
 * read 0 words (+1 pixels); with pad_mode 0 (ONNX zero padding) each channel then
 * takes back the mismatches its weights made against them. */
#include "ebnn_opt.h"

/* Raw packed weight word i of a grouped row (without its parity word). */
static uint32_t ebnn_opt_raw(const uint32_t *w, int32_t i)
{
    const int32_t g = i / 3, r = i % 3;
    return r ? w[3 * g] ^ w[3 * g + r] : w[3 * g];
}

/* Gathers the window of output pixel (oh, ow); returns the number of taps inside the
 * image and lists the outside ones in `missing` (count in *n_missing). */
static int32_t ebnn_opt_window(const uint32_t *in, const ebnn_window *g, int32_t pad_mode, int32_t oh, int32_t ow,
                               uint32_t *x, int32_t *missing, int32_t *n_missing)
{
    const int32_t wc = EBNN_WORDS(g->in_c), tail = g->in_c % 32;
    int32_t i, j, k, taps = 0, tap = 0;
    *n_missing = 0;
    for (i = 0; i < g->k_h; i++) {
        const int32_t ih = oh * g->stride_h - g->pad_top + i * g->dil_h;
        for (j = 0; j < g->k_w; j++, tap++, x += wc) {
            const int32_t iw = ow * g->stride_w - g->pad_left + j * g->dil_w;
            if (ih >= 0 && ih < g->in_h && iw >= 0 && iw < g->in_w) {
                const uint32_t *ip = in + (ih * g->in_w + iw) * wc;
                for (k = 0; k < wc; k++) {
                    x[k] = ip[k];
                }
                taps++;
            } else {
                for (k = 0; k < wc; k++) {
                    x[k] = pad_mode < 0 ? (k == wc - 1 && tail ? (1u << tail) - 1u : 0xFFFFFFFFu) : 0u;
                }
                if (pad_mode == 0) {
                    missing[(*n_missing)++] = tap;
                }
            }
        }
    }
    return pad_mode == 0 ? taps : g->k_h * g->k_w;
}

/* Dot products of every output channel at one pixel; calls back per channel. */
#define EBNN_OPT_CONV_BODY(EMIT)                                                                                       \
    uint32_t x[EBNN_OPT_MAX_WORDS];                                                                                    \
    int32_t missing[EBNN_OPT_MAX_WORDS];                                                                               \
    const int32_t wc = EBNN_WORDS(g->in_c), words = g->k_h * g->k_w * wc;                                               \
    const int32_t groups = (words + 2) / 3, stride = 3 * groups;                                                   \
    int32_t oh, ow, oc, q, n_missing, i = 0;                                                                           \
    for (q = words; q < 3 * groups; q++) {                                                                             \
        x[q] = 0u;                                                                                                     \
    }                                                                                                                  \
    for (oh = 0; oh < g->out_h; oh++) {                                                                                \
        for (ow = 0; ow < g->out_w; ow++) {                                                                            \
            const int32_t taps = ebnn_opt_window(in, g, pad_mode, oh, ow, x, missing, &n_missing);                     \
            const int32_t base = taps * g->in_c;                                                                       \
            ebnn_opt_group_inplace(x, groups);                                                                         \
            const uint32_t *wp = w;                                                                                    \
            for (oc = 0; oc < g->out_c; oc++, wp += stride, i++) {                                                     \
                int32_t m = ebnn_opt_row(x, wp, groups), d;                                           \
                for (q = 0; q < n_missing; q++) {                                                                      \
                    int32_t kk;                                                                                        \
                    for (kk = 0; kk < wc; kk++) {                                                                      \
                        m -= ebnn_popcount(ebnn_opt_raw(wp, missing[q] * wc + kk));                                \
                    }                                                                                                  \
                }                                                                                                      \
                d = base - 2 * m;                                                                                      \
                EMIT;                                                                                                  \
            }                                                                                                          \
        }                                                                                                              \
    }

void ebnn_bconv_opt(const uint32_t *in, const uint32_t *w, int32_t *out, const ebnn_window *g, int32_t pad_mode)
{
    EBNN_OPT_CONV_BODY(out[i] = d)
}

void ebnn_bconv_thr_opt(const uint32_t *in, const uint32_t *w, uint32_t *out, const ebnn_window *g,
                        int32_t pad_mode, const int32_t *thr, const uint32_t *neg, int32_t mod)
{
    const int32_t owc = EBNN_WORDS(g->out_c);
    uint32_t bits = 0u;
    int32_t t = 0;
    EBNN_OPT_CONV_BODY(
        bits |= ((uint32_t)(d < thr[t]) ^ ((neg[t >> 5] >> (t & 31)) & 1u)) << (oc & 31);
        if (++t == mod) { t = 0; }
        if ((oc & 31) == 31 || oc == g->out_c - 1) {
            out[(i / g->out_c) * owc + (oc >> 5)] = bits;
            bits = 0u;
        })
}

/* ---- Transposed convolution (see ebnn_opt.h and the dense form in ebnn_opt_dense.c) ----
 * The list holds, per input column s of the current row band (column s - pad_left),
 * the inputs listed for its k_h tap rows as s * k_h * cs + i * cs + channel (cs the tap
 * stride): the window of output column ow is the contiguous run of its k_w columns, and
 * shifting the weight pointer back by ow * k_h * cs turns the entries into tap-relative
 * word indices.  Columns outside the image list the padding value's bits (-1: every
 * channel) or nothing (+1, and ONNX zero padding, which then subtracts the missing taps'
 * weights through ttap). */

/* Lists column s of output row oh's band, first making room by moving the live columns
 * (those the next windows still read) to the front. */
void ebnn_band_column(ebnn_band *bd, const uint32_t *in, const ebnn_window *g, int32_t pad_mode, int32_t oh,
                             int32_t s)
{
    const int32_t wc = EBNN_WORDS(g->in_c), cs = 32 * wc + 1, r = EBNN_RING(s);
    const int32_t iw = s - g->pad_left;
    uint32_t *lp;
    int32_t i, c;
    if (bd->end + g->k_h * g->in_c + 16 > bd->cap) { /* a column lists at most k_h * in_c entries */
        const int32_t first = s >= g->k_w - 1 ? bd->start[EBNN_RING(s - g->k_w + 1)] : 0;
        const uint32_t *from = bd->list + first;
        uint32_t *to = bd->list;
        EBNN_BAND_MOVE(c, (bd->end - first + 7) >> 3, from, to) /* may read up to 7 entries past end */
        for (c = s - g->k_w + 1; c < s; c++) {
            if (c >= 0) {
                bd->start[EBNN_RING(c)] -= first;
            }
        }
        bd->end -= first;
    }
    bd->start[r] = bd->end;
    bd->missing[r] = 0u;
    lp = bd->list + bd->end;
#if EBNN_OPT_ASM /* a nibble at a time, up to 3 entries past the end: room, see above */
#define EBNN_CONV_LIST_PIXEL lp = ebnn_opt_list_nib32(ip, wc, 0u, base, lp, bd->list + bd->cap)
#else
#define EBNN_CONV_LIST_PIXEL                                                                                           \
    for (c = 0; c < wc; c++) {                                                                                         \
        lp = ebnn_opt_list_word32(ip[c], base + (uint32_t)(32 * c), lp);                                               \
    }
#endif
    EBNN_BAND_ROWS(uint32_t, (s * g->k_h + i) * cs, EBNN_CONV_LIST_PIXEL, bd->missing[r] |= 1u << i)
#undef EBNN_CONV_LIST_PIXEL
    bd->end = (int32_t)(lp - bd->list);
    bd->ones[r] = bd->end - bd->start[r];
}

/* What a transposed convolution writes: ints, or bits through the threshold. */
typedef struct {
    void *out;
    const uint32_t *twp;
    const int32_t *thr;
    const uint32_t *neg;
    int32_t out_c, mod;
} ebnn_conv_t_out;

/* Writes channels 32 b .. of one pixel from the block's lane sums s (see ebnn_opt_vsum;
 * the weights put channels 2 q and 2 q + 1 in the two halves of s[q]):
 * d = base + 4 S - 2 tw (+ corr, the zero-padding correction, when not null).  twp[q]
 * holds EBNN_OPT_TW_BIAS - 2 tw of the same two channels, so one add of 4 s[q] gives
 * both channels' 4 S - 2 tw, biased to stay non-negative. */
typedef void (*ebnn_conv_t_emit)(const ebnn_conv_t_out *c, int32_t pixel, int32_t b, const uint32_t *s, int32_t base,
                                 const int32_t *corr);

static inline int32_t ebnn_conv_t_lane(const uint32_t *s, int32_t q)
{
    return (int32_t)(q & 1 ? s[q >> 1] >> 16 : s[q >> 1] & 0xFFFFu);
}

/* 4 S - 2 tw of channel q of the block, biased by EBNN_OPT_TW_BIAS. */
static inline int32_t ebnn_conv_t_acc(const uint32_t *s, const uint32_t *twp, int32_t q)
{
    return 4 * ebnn_conv_t_lane(s, q) + ebnn_conv_t_lane(twp, q);
}

static void ebnn_conv_t(const uint32_t *in, const uint32_t *w, const uint16_t *ttap, const ebnn_window *g,
                        int32_t pad_mode, ebnn_conv_t_emit emit, const ebnn_conv_t_out *c, uint32_t *list,
                        int32_t cap)
{
    ebnn_band bd;
    uint32_t s[16];
    int32_t corr[32], start[EBNN_OPT_CONV_T_RING], ones[EBNN_OPT_CONV_T_RING];
    uint32_t missing[EBNN_OPT_CONV_T_RING];
    const int32_t wc = EBNN_WORDS(g->in_c), cs = 32 * wc + 1, taps = g->k_h * g->k_w, col = g->k_h * cs;
    int32_t oh, ow;
    bd.list = list;
    bd.cap = cap;
    bd.start = start;
    bd.ones = ones;
    bd.missing = missing;
    for (oh = 0; oh < g->out_h; oh++) {
        int32_t next = 0;
        bd.end = 0;
        for (ow = 0; ow < g->out_w; ow++) {
            int32_t j, n, a1 = 0, valid = taps, b, q;
            uint32_t miss = 0u;
            for (; next < ow + g->k_w; next++) {
                ebnn_band_column(&bd, in, g, pad_mode, oh, next);
            }
            for (j = 0; j < g->k_w; j++) {
                const int32_t r = EBNN_RING(ow + j);
                a1 += bd.ones[r];
                miss |= bd.missing[r];
            }
            for (j = 0; miss && j < g->k_w; j++) {
                valid -= ebnn_opt_popcount(bd.missing[EBNN_RING(ow + j)]);
            }
            n = bd.end - bd.start[EBNN_RING(ow)];
            {
                uint32_t *e = bd.list + bd.end;
                const uint32_t zero = (uint32_t)(ow * col + 32 * wc);
                for (; n & 15; n++) { /* pad to whole 16s with the window's first 0 word */
                    *e++ = zero;
                }
            }
            for (b = 0; 32 * b < g->out_c; b++) {
                const uint32_t *wb = w + b * taps * cs;
                ebnn_opt_vsum32(bd.list + bd.start[EBNN_RING(ow)], n,
                              (const uint32_t *)((uintptr_t)wb - (uintptr_t)(ow * col) * 4u), s);
                if (miss) { /* ONNX zero padding: the missing taps' weights are not mismatches */
                    for (q = 0; q < 32; q++) {
                        corr[q] = 0;
                    }
                    for (j = 0; j < g->k_w; j++) {
                        uint32_t m = bd.missing[EBNN_RING(ow + j)];
                        int32_t i;
                        for (i = 0; m; i++, m >>= 1) {
                            const uint16_t *tt = ttap + (j * g->k_h + i) * g->out_c + 32 * b;
                            for (q = 0; (m & 1u) && q < 32 && 32 * b + q < g->out_c; q++) {
                                corr[q] += 2 * tt[q];
                            }
                        }
                    }
                }
                emit(c, oh * g->out_w + ow, b, s, valid * g->in_c - 2 * a1, miss ? corr : 0);
            }
        }
    }
}

/* A whole block without corrections: o[2 q] and o[2 q + 1] from the halves of
 * 4 s[q] + twp[q] (both < 2^16: no carry between them), plus base. */
#if defined(__GNUC__) && defined(__thumb2__) && defined(__ARM_FEATURE_DSP)
/* 4 words at a time: two LDMs, an add and UXTAH / add-with-shift per word, one STM of the 8
 * results (the registers are fixed so that the STM writes them in channel order). */
static void ebnn_conv_t_block(const uint32_t *s, const uint32_t *twp, int32_t base, int32_t *o)
{
    int32_t k;
    for (k = 0; k < 4; k++) {
        register uint32_t t0 __asm__("r2"), v0 __asm__("r3"), t1 __asm__("r4"), v1 __asm__("r5");
        register uint32_t t2 __asm__("r6"), v2 __asm__("r8"), t3 __asm__("r9"), v3 __asm__("r10");
        __asm__ volatile("ldmia %[s]!, {%[v0], %[v1], %[v2], %[v3]}\n\t"
                         "ldmia %[t]!, {%[t0], %[t1], %[t2], %[t3]}\n\t"
                         "add %[v0], %[t0], %[v0], lsl #2\n\t"
                         "uxtah %[t0], %[b], %[v0]\n\t"
                         "add %[v0], %[b], %[v0], lsr #16\n\t"
                         "add %[v1], %[t1], %[v1], lsl #2\n\t"
                         "uxtah %[t1], %[b], %[v1]\n\t"
                         "add %[v1], %[b], %[v1], lsr #16\n\t"
                         "add %[v2], %[t2], %[v2], lsl #2\n\t"
                         "uxtah %[t2], %[b], %[v2]\n\t"
                         "add %[v2], %[b], %[v2], lsr #16\n\t"
                         "add %[v3], %[t3], %[v3], lsl #2\n\t"
                         "uxtah %[t3], %[b], %[v3]\n\t"
                         "add %[v3], %[b], %[v3], lsr #16\n\t"
                         "stmia %[o]!, {%[t0], %[v0], %[t1], %[v1], %[t2], %[v2], %[t3], %[v3]}"
                         : [s] "+r"(s), [t] "+r"(twp), [o] "+r"(o), [t0] "=&r"(t0), [v0] "=&r"(v0), [t1] "=&r"(t1),
                           [v1] "=&r"(v1), [t2] "=&r"(t2), [v2] "=&r"(v2), [t3] "=&r"(t3), [v3] "=&r"(v3)
                         : [b] "r"(base)
                         : "memory");
    }
}
#else
static void ebnn_conv_t_block(const uint32_t *s, const uint32_t *twp, int32_t base, int32_t *o)
{
    const uint32_t *const end = s + 16;
    do {
        const uint32_t v = (*s++ << 2) + *twp++;
        o[0] = base + (int32_t)(v & 0xFFFFu);
        o[1] = base + (int32_t)(v >> 16);
        o += 2;
    } while (s != end);
}
#endif

static void ebnn_conv_t_ints(const ebnn_conv_t_out *c, int32_t pixel, int32_t b, const uint32_t *s, int32_t base,
                             const int32_t *corr)
{
    int32_t *o = (int32_t *)c->out + pixel * c->out_c + 32 * b;
    const uint32_t *twp = c->twp + 16 * b;
    const int32_t nq = c->out_c - 32 * b < 32 ? c->out_c - 32 * b : 32;
    int32_t q;
    base -= EBNN_OPT_TW_BIAS;
    if (nq == 32 && !corr) {
        ebnn_conv_t_block(s, twp, base, o);
        return;
    }
    for (q = 0; q < nq; q++) {
        o[q] = base + ebnn_conv_t_acc(s, twp, q) + (corr ? corr[q] : 0);
    }
}

void ebnn_bconv_t(const uint32_t *in, const uint32_t *w, const uint32_t *twp, const uint16_t *ttap, int32_t *out,
                  const ebnn_window *g, int32_t pad_mode, uint32_t *list, int32_t cap)
{
    ebnn_conv_t_out c = {0, 0, 0, 0, 0, 1};
    c.out = out;
    c.twp = twp;
    c.out_c = g->out_c;
    ebnn_conv_t(in, w, ttap, g, pad_mode, ebnn_conv_t_ints, &c, list, cap);
}

static void ebnn_conv_t_bits(const ebnn_conv_t_out *c, int32_t pixel, int32_t b, const uint32_t *s, int32_t base,
                             const int32_t *corr)
{
    const uint32_t *twp = c->twp + 16 * b;
    const int32_t nq = c->out_c - 32 * b < 32 ? c->out_c - 32 * b : 32;
    uint32_t bits = 0u;
    int32_t q, t = (32 * b) % c->mod;
    base -= EBNN_OPT_TW_BIAS;
    for (q = 0; q < nq; q++) {
        const int32_t d = base + ebnn_conv_t_acc(s, twp, q) + (corr ? corr[q] : 0);
        bits |= ((uint32_t)(d < c->thr[t]) ^ ((c->neg[t >> 5] >> (t & 31)) & 1u)) << q;
        if (++t == c->mod) {
            t = 0;
        }
    }
    ((uint32_t *)c->out)[pixel * EBNN_WORDS(c->out_c) + b] = bits;
}

void ebnn_bconv_thr_t(const uint32_t *in, const uint32_t *w, const uint32_t *twp, const uint16_t *ttap, uint32_t *out,
                      const ebnn_window *g, int32_t pad_mode, const int32_t *thr, const uint32_t *neg, int32_t mod,
                      uint32_t *list, int32_t cap)
{
    ebnn_conv_t_out c;
    c.out = out;
    c.twp = twp;
    c.thr = thr;
    c.neg = neg;
    c.out_c = g->out_c;
    c.mod = mod;
    ebnn_conv_t(in, w, ttap, g, pad_mode, ebnn_conv_t_bits, &c, list, cap);
}
