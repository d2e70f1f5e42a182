/* Real-valued (float32) activations: ReLU, as ONNX and onnxruntime compute it. */
#include "ebnn_kernels.h"

/* x < 0 gives +0; -0, NaN and +inf pass unchanged.  Reads in[i] just before writing out[i],
 * so out may be in (the planner runs it in place). */
void ebnn_relu_f32(const float *in, float *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        out[i] = in[i] < 0.0f ? 0.0f : in[i];
    }
}
