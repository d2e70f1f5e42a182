/* Transposed binary convolution that writes thresholded, optionally max-pooled bits (see
 * ebnn_opt.h): no accumulator map exists.  d >= thr is decided 32 channels at a time with the
 * vertical sums left bit-sliced: with base + K = 4 beta + rho, d >= thr is S + f_rho >= m -
 * beta, so the planes start at f_rho (the table of the residue rho, and of the window's kind
 * of border under ONNX zero padding) and one bit-sliced comparison with the number m - beta
 * gives the 32 decisions.  Pooling (a threshold per channel commutes with it) combines each
 * pixel's bits into the pooled words whose windows cover it: AND (max) or OR (channels in
 * or_mask). */
#include "ebnn_opt.h"

#define EBNN_POOL_PLANES 12 /* counts S + f < 2^12 for windows of at most EBNN_OPT_T_MAX_BITS */
#define EBNN_POOL_TAIL 6    /* up to 6 entries past whole 16s are summed one by one, more padded
                             * (the best of 4, 6, 8 and 10 on the pooled 32->64 row) */
/* The pooled outputs along one axis whose window (k taps, dilation 1) covers conv output o:
 * the range first .. first + count - 1 (count 0: none); returns count. */
static inline int32_t ebnn_covers(int32_t o, int32_t k, int32_t stride, int32_t pad, int32_t n, int32_t *first)
{
    if (k == stride && pad == 0) { /* windows that tile the map: one each, or none past the end */
        *first = o / k;
        return *first < n;
    }
    const int32_t hi_t = o + pad, lo_t = hi_t - k + 1; /* window starts lo_t .. hi_t */
    int32_t lo = lo_t <= 0 ? 0 : (lo_t + stride - 1) / stride, hi = hi_t / stride;
    hi = hi < n - 1 ? hi : n - 1;
    *first = lo;
    return hi >= lo ? hi - lo + 1 : 0;
}

/* Bit q: the count of lane q in the planes p[0..EBNN_POOL_PLANES - skip) is at least r, 0 < r
 * < 2^(EBNN_POOL_PLANES - skip): the borrow of count - r, rippled from the lowest plane (a 1
 * bit of r borrows where the plane is 0 or a borrow comes in, a 0 bit where both).  The
 * planes above are 0 and so are r's bits there: entered at case skip, case l reads plane
 * l - skip and bit l of r << skip. */
#define EBNN_BORROW(l) borrow = (rs & (1u << (l))) ? borrow | ~e[(l) - 11] : borrow & ~e[(l) - 11]
/* Two blocks' planes (the second EBNN_POOL_PLANES words on) against the same r: one test of
 * r's bit per plane for both. */
#define EBNN_BORROW2(l)                                                                                                \
    do {                                                                                                               \
        if (rs & (1u << (l))) {                                                                                        \
            borrow |= ~e[(l) - 11];                                                                                    \
            borrow2 |= ~e[(l) - 11 + EBNN_POOL_PLANES];                                                                \
        } else {                                                                                                       \
            borrow &= ~e[(l) - 11];                                                                                    \
            borrow2 &= ~e[(l) - 11 + EBNN_POOL_PLANES];                                                                \
        }                                                                                                              \
    } while (0)
#define EBNN_BORROWS(STEP)                                                                                             \
    switch (skip) {                                                                                                    \
    case 0: STEP(0); /* fallthrough */                                                                                 \
    case 1: STEP(1); /* fallthrough */                                                                                 \
    case 2: STEP(2); /* fallthrough */                                                                                 \
    case 3: STEP(3); /* fallthrough */                                                                                 \
    case 4: STEP(4); /* fallthrough */                                                                                 \
    case 5: STEP(5); /* fallthrough */                                                                                 \
    case 6: STEP(6); /* fallthrough */                                                                                 \
    case 7: STEP(7); /* fallthrough */                                                                                 \
    case 8: STEP(8); /* fallthrough */                                                                                 \
    case 9: STEP(9); /* fallthrough */                                                                                 \
    case 10: STEP(10); /* fallthrough */                                                                               \
    default: STEP(11); /* EBNN_POOL_PLANES - 1 */                                                                      \
    }
#if defined(__GNUC__)
#define EBNN_OUT_OF_LOOP __attribute__((noinline)) /* out of the pixel loop: r and p stay in registers */
#else
#define EBNN_OUT_OF_LOOP
#endif
EBNN_OUT_OF_LOOP static uint32_t ebnn_planes_ge(const uint32_t *p, uint32_t r, int32_t skip)
{
    uint32_t borrow = 0u;
    const uint32_t rs = r << skip, *e = p + (EBNN_POOL_PLANES - 1 - skip); /* plane l - skip at e[l - 11] */
    EBNN_BORROWS(EBNN_BORROW)
    return ~borrow;
}

/* ebnn_planes_ge of two blocks: the first's bits low, the second's high. */
EBNN_OUT_OF_LOOP static uint64_t ebnn_planes_ge2(const uint32_t *p, uint32_t r, int32_t skip)
{
    uint32_t borrow = 0u, borrow2 = 0u;
    const uint32_t rs = r << skip, *e = p + (EBNN_POOL_PLANES - 1 - skip);
    EBNN_BORROWS(EBNN_BORROW2)
    return (uint64_t)~borrow | (uint64_t)~borrow2 << 32;
}
#undef EBNN_BORROW
#undef EBNN_BORROW2
#undef EBNN_BORROWS

/* The channel bits of block b (spare channels 0). */
static uint32_t ebnn_block_mask(int32_t out_c, int32_t b)
{
    const int32_t left = out_c - 32 * b;
    return left >= 32 ? 0xFFFFFFFFu : (1u << left) - 1u;
}

/* The listed input columns of the current row band (as ebnn_band, 16-bit entries): per ring
 * slot (column & ring), where it starts in list, its entries and its tap rows outside the
 * image (zero padding); win_ones and win_lost sum the last two over the columns listed
 * since the window's first.  Entries are relative to column org: (s - org) col + tap row *
 * (32 wc + 1) + bit, and org moves up when the live columns move to the front, so they stay
 * below 2^16. */
typedef struct {
    uint16_t *list;
    int32_t *start, *ones, *lost;
    int32_t cap, end, org, ring, win_ones, win_lost;
} ebnn_pool_band;

/* Moves the live columns (from s - k_w + 1) to the front of the list, as words (from an even
 * entry: 8 words at a time, may read past end: < cap); rebased to org = their first column
 * only where column s would not fit 16 bits (wide images). */
#if defined(__GNUC__)
typedef uint32_t __attribute__((may_alias)) ebnn_pool_pair; /* two 16-bit entries */
#else
typedef uint32_t ebnn_pool_pair;
#endif
static void ebnn_pool_compact(ebnn_pool_band *bd, const ebnn_window *g, int32_t s, int32_t col)
{
    const int32_t fc = s - g->k_w + 1, first = (fc < s ? bd->start[fc & bd->ring] : bd->end) & ~1; /* k_w 1: none */
    const ebnn_pool_pair *from = (const ebnn_pool_pair *)(const void *)(bd->list + first);
    ebnn_pool_pair *to = (ebnn_pool_pair *)(void *)bd->list;
    int32_t c;
    EBNN_BAND_MOVE(c, (bd->end - first + 15) >> 4, from, to)
    for (c = fc; c < s; c++) {
        bd->start[c & bd->ring] -= first;
    }
    bd->end -= first;
    if ((s - bd->org + 1) * col > 65536) {
        const uint16_t d = (uint16_t)((fc - bd->org) * col);
        for (c = bd->start[fc & bd->ring]; c < bd->end; c++) {
            bd->list[c] = (uint16_t)(bd->list[c] - d);
        }
        bd->org = fc;
    }
}

/* Lists the set bits of the pixel's wc words at ip as 16-bit entries base + 32 word + bit. */
#if EBNN_OPT_ASM
#define EBNN_POOL_LIST_PIXEL lp = ebnn_opt_list_nib(ip, wc, 0u, base, lp) /* room: see ebnn_pool_compact's caller */
#else
#define EBNN_POOL_LIST_PIXEL                                                                                           \
    for (c = 0; c < wc; c++) {                                                                                         \
        lp = ebnn_opt_list_word(ip[c], base + (uint32_t)(32 * c), lp);                                                 \
    }
#endif

/* Lists column s of output row oh (as ebnn_band_column, on 16-bit entries). */
static void ebnn_pool_column(ebnn_pool_band *bd, const uint32_t *in, const ebnn_window *g, int32_t pad_mode,
                             int32_t oh, int32_t s, int32_t col)
{
    const int32_t wc = EBNN_WORDS(g->in_c), cs = 32 * wc + 1, r = s & bd->ring, iw = s - g->pad_left;
    uint16_t *lp;
    int32_t i, c;
    if (s >= g->k_w - 1 && (bd->end + g->k_h * g->in_c + 16 > bd->cap || (s - bd->org + 1) * col > 65536)) {
        ebnn_pool_compact(bd, g, s, col); /* full, or column s would not fit 16 bits */
    }
    bd->start[r] = bd->end;
    bd->lost[r] = 0;
    lp = bd->list + bd->end;
    EBNN_BAND_ROWS(uint16_t, (s - bd->org) * col + i * cs, EBNN_POOL_LIST_PIXEL, bd->lost[r]++)
    bd->end = (int32_t)(lp - bd->list);
    bd->ones[r] = bd->end - bd->start[r];
    bd->win_ones += bd->ones[r];
    bd->win_lost += bd->lost[r];
}

/* The window's n entries made whole 16s with entries of the zero word z where more than
 * EBNN_POOL_TAIL are past them (cheaper than summing those one by one); returns the count.
 * The list has room: ebnn_pool_column keeps 16 entries spare. */
static inline int32_t ebnn_pool_pad(const ebnn_pool_band *bd, int32_t n, uint16_t z)
{
    uint16_t *end = bd->list + bd->end;
    int32_t i;
    if ((n & 15) <= EBNN_POOL_TAIL) {
        return n;
    }
#if EBNN_OPT_ASM
    { /* 10 entries (>= 16 - EBNN_POOL_TAIL - 1) as 5 unaligned word stores, no loop */
        const uint32_t zz = z * 0x10001u;
        for (i = 0; i < 10; i += 2) {
            __builtin_memcpy(end + i, &zz, 4);
        }
    }
#else
    for (i = 0; i < 16 - (n & 15); i++) {
        end[i] = z;
    }
#endif
    return (n + 15) & ~15;
}

/* What every pixel of one call reads (built once, so that the pixel loop spills little: the
 * kernel's frame is on the deepest stack chain, above the vertical sums). */
typedef struct {
    const uint32_t *w, *f, *xw, *or_mask;
    uint32_t *out, *pl;
    const ebnn_window *g, *p;
    int32_t owc, col, block, row_words, m, skip;
} ebnn_pool_job;

/* Stores (no pool) or combines the bits of block b of a conv pixel into the pooled words
 * whose windows cover it (row_words apart vertically, owc horizontally; nh x nw of them from
 * o): AND, or OR in or_mask's channels. */
static inline void ebnn_pool_put(const ebnn_pool_job *c, uint32_t *o, int32_t b, uint32_t bits, int32_t nh, int32_t nw)
{
    uint32_t m;
    int32_t i, j;
    if (!c->p) {
        o[b] = bits;
        return;
    }
    m = c->or_mask[b];
    if (nh == 1 && nw == 1) { /* windows that do not overlap */
        o[b] = (o[b] & (bits | m)) | (bits & m);
        return;
    }
    for (i = 0; i < nh; i++, o += c->row_words) {
        for (j = 0; j < nw; j++) {
            uint32_t *t = o + j * c->owc + b;
            *t = (*t & (bits | m)) | (bits & m);
        }
    }
}

/* Every block of one conv pixel: its n listed entries summed, thresholded, stored or pooled
 * into the words from o. */
static inline void ebnn_pool_pixel(const ebnn_pool_job *c, const ebnn_pool_band *bd, int32_t ow, int32_t n,
                                   int32_t base1, const uint32_t *f, uint32_t *o, int32_t nh, int32_t nw)
{
    const uint16_t *list = bd->list + bd->start[ow & bd->ring];
    const uint32_t *wb = (const uint32_t *)((uintptr_t)c->w - (uintptr_t)((ow - bd->org) * c->col) * 4u);
    const int32_t r = c->m - (base1 >> 2); /* >= 1 (m > K / 2): spare lanes, all 0, decide 0 */
    int32_t b;
    f += (base1 & 3) * EBNN_POOL_PLANES;
    for (b = 0; b + 1 < c->owc; b += 2, wb += 2 * c->block, f += 8 * EBNN_POOL_PLANES) { /* blocks in pairs */
        uint64_t both;
        ebnn_opt_vsum16_planes(list, n, wb, f, c->pl);
        ebnn_opt_vsum16_planes(list, n, wb + c->block, f + 4 * EBNN_POOL_PLANES, c->pl + EBNN_POOL_PLANES);
        both = ebnn_planes_ge2(c->pl, (uint32_t)r, c->skip);
        ebnn_pool_put(c, o, b, (uint32_t)both ^ c->xw[b], nh, nw);
        ebnn_pool_put(c, o, b + 1, (uint32_t)(both >> 32) ^ c->xw[b + 1], nh, nw);
    }
    if (b < c->owc) {
        ebnn_opt_vsum16_planes(list, n, wb, f, c->pl);
        ebnn_pool_put(c, o, b, ebnn_planes_ge(c->pl, (uint32_t)r, c->skip) ^ c->xw[b], nh, nw);
    }
}

void ebnn_bconv_pool_t(const uint32_t *in, const uint32_t *w, const uint32_t *f, int32_t m, const uint8_t *row_kind,
                       const uint8_t *col_kind, int32_t col_kinds, uint32_t *out, const ebnn_window *g, int32_t pad_mode,
                       const uint32_t *xw, const ebnn_window *p, const uint32_t *or_mask, uint32_t *scratch, int32_t cap)
{
    ebnn_pool_band bd;
    ebnn_pool_job c;
    const int32_t wc = EBNN_WORDS(g->in_c), k = g->k_h * g->k_w * g->in_c;
    int32_t oh, ow, b;
    const int32_t table = 4 * EBNN_POOL_PLANES * EBNN_WORDS(g->out_c); /* words of a border kind's table */
    c.w = w;
    c.xw = xw;
    c.or_mask = or_mask;
    c.out = out;
    c.g = g;
    c.p = p;
    c.f = f;
    c.m = m;
    c.skip = EBNN_POOL_PLANES - 1; /* counts S + f <= K + m: the planes from bitlen(K + m) up stay 0 */
    while (c.skip > 0 && (m + k) >> (EBNN_POOL_PLANES - c.skip) != 0) {
        c.skip--;
    }
    c.pl = scratch; /* the planes: in scratch, not on the stack */
    c.owc = EBNN_WORDS(g->out_c);
    c.col = g->k_h * (32 * wc + 1);
    c.block = g->k_w * c.col;
    c.row_words = (p ? p->out_w : g->out_w) * c.owc;
    bd.ring = EBNN_POOL_RING(g->k_w);
    bd.start = (int32_t *)scratch + EBNN_POOL_PLANE_WORDS(c.owc);
    bd.ones = bd.start + bd.ring;
    bd.lost = bd.ones + bd.ring;
    bd.list = (uint16_t *)(scratch + EBNN_POOL_SCRATCH_WORDS(g->k_w, c.owc));
    bd.cap = 2 * (cap - EBNN_POOL_SCRATCH_WORDS(g->k_w, c.owc));
    bd.ring--; /* the mask of a slot */
    if (p) { /* each pooled word starts as the identity of its channels' AND or OR */
        const int32_t n = p->out_h * p->out_w;
        int32_t i;
        for (i = 0; i < n; i++) {
            for (b = 0; b < c.owc; b++) {
                out[i * c.owc + b] = ~or_mask[b] & ebnn_block_mask(g->out_c, b);
            }
        }
    }
    for (oh = 0; oh < g->out_h; oh++) {
        const uint32_t *f_row = f + (row_kind ? row_kind[oh] * col_kinds : 0) * table;
        int32_t next = 0, ph = oh;
        const int32_t nh = p ? ebnn_covers(oh, p->k_h, p->stride_h, p->pad_top, p->out_h, &ph) : 1;
        if (nh == 0) {
            continue; /* a row no pooling window reads */
        }
        bd.end = 0;
        bd.org = 0;
        bd.win_ones = bd.win_lost = 0;
        for (ow = 0; ow < g->out_w; ow++) {
            int32_t n, pw = ow;
            const int32_t nw = p ? ebnn_covers(ow, p->k_w, p->stride_w, p->pad_left, p->out_w, &pw) : 1;
            const uint32_t *f_px = f_row + (col_kind ? col_kind[ow] : 0) * table;
            if (ow > 0) { /* column ow - 1 leaves the window (before its ring slot is reused) */
                bd.win_ones -= bd.ones[(ow - 1) & bd.ring];
                bd.win_lost -= bd.lost[(ow - 1) & bd.ring];
            }
            for (; next < ow + g->k_w; next++) {
                ebnn_pool_column(&bd, in, g, pad_mode, oh, next, c.col);
            }
            if (nw == 0) {
                continue; /* a column no pooling window reads */
            }
            n = ebnn_pool_pad(&bd, bd.end - bd.start[ow & bd.ring], (uint16_t)((ow - bd.org) * c.col + 32 * wc));
            ebnn_pool_pixel(&c, &bd, ow, n, (g->k_h * g->k_w - bd.win_lost) * g->in_c - 2 * bd.win_ones + k, f_px, out + ph * c.row_words + pw * c.owc,
                            nh, nw);
        }
    }
}
