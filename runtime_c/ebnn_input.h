/* Integer (uint8 / int8) model inputs: the first op's decision or scaling tabulated on the
 * 256 codes at compile time (edgebnn/passes/int_input.py).  u = code ^ flip is the code
 * minus the type's least (flip 0x80 for int8, 0 for uint8). */
#ifndef EBNN_INPUT_H
#define EBNN_INPUT_H

#include <stdint.h>

/* bits: bit 1 (-1) where (u < q[i % mod]) ^ inv[i % mod]; q in 0..256. */
void ebnn_binarize_int(const void *in, uint32_t *out, int32_t rows, int32_t channels, const uint16_t *q,
                       const uint8_t *inv, int32_t mod, uint32_t flip);
/* out[i] = table[u * mod + i % mod]. */
void ebnn_scale_int(const void *in, float *out, int32_t n, const float *table, int32_t mod, uint32_t flip);

#endif
