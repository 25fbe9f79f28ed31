// ppexp's depthwise 2-D convolution for CPU training in dynamic mode (ppexp/modeling/depthwise.py).
//
// NCHW float32, one filter per channel (weight [C, 1, KH, KW]), any stride and zero padding, dilation 1,
// no bias. Paddle 3.3's own CPU kernel runs this at about 1 GMAC/s; these loops walk each output row as a
// contiguous run that the compiler vectorises (stride 1 along the width: MobileNetV3's recognition blocks,
// stride (2, 1)) and stay in L1 per plane. Serial and in a fixed order: the same inputs give the same bits.
#include <vector>

#include "paddle/extension.h"

namespace {

struct Geometry {
  int64_t n, c, h, w, kh, kw, oh, ow, sh, sw, ph, pw;
};

Geometry geometry(const paddle::Tensor& x, const paddle::Tensor& weight, int64_t sh, int64_t sw,
                  int64_t ph, int64_t pw) {
  auto xs = x.shape();
  auto ws = weight.shape();
  PD_CHECK(xs.size() == 4 && ws.size() == 4, "ppexp depthwise conv: x and weight must be 4-D (NCHW, C1HW)");
  PD_CHECK(ws[0] == xs[1] && ws[1] == 1, "ppexp depthwise conv: weight must be [C, 1, KH, KW] for C input channels");
  PD_CHECK(sh >= 1 && sw >= 1 && ph >= 0 && pw >= 0, "ppexp depthwise conv: bad stride or padding");
  Geometry g{xs[0], xs[1], xs[2], xs[3], ws[2], ws[3], 0, 0, sh, sw, ph, pw};
  g.oh = (g.h + 2 * ph - g.kh) / sh + 1;
  g.ow = (g.w + 2 * pw - g.kw) / sw + 1;
  PD_CHECK(g.oh > 0 && g.ow > 0, "ppexp depthwise conv: the kernel is larger than the padded input");
  return g;
}

// Output columns ow in [lo, hi) read input column ow * sw + off, off = kw - pw, inside [0, w).
inline void column_range(const Geometry& g, int64_t off, int64_t* lo, int64_t* hi) {
  *lo = off < 0 ? (-off + g.sw - 1) / g.sw : 0;
  int64_t last = g.w - 1 - off;  // largest ow * sw allowed
  *hi = last < 0 ? 0 : last / g.sw + 1;
  if (*hi > g.ow) *hi = g.ow;
}

}  // namespace

std::vector<paddle::Tensor> DepthwiseForward(const paddle::Tensor& x, const paddle::Tensor& weight,
                                             int64_t sh, int64_t sw, int64_t ph, int64_t pw) {
  PD_CHECK(x.is_cpu() && x.dtype() == paddle::DataType::FLOAT32, "ppexp depthwise conv: CPU float32 only");
  const Geometry g = geometry(x, weight, sh, sw, ph, pw);
  auto out = paddle::empty({g.n, g.c, g.oh, g.ow}, paddle::DataType::FLOAT32, x.place());
  const float* xp = x.data<float>();
  const float* wp = weight.data<float>();
  float* op = out.data<float>();
  for (int64_t plane = 0; plane < g.n * g.c; ++plane) {
    const float* xi = xp + plane * g.h * g.w;
    const float* wk = wp + (plane % g.c) * g.kh * g.kw;
    float* o = op + plane * g.oh * g.ow;
    for (int64_t i = 0; i < g.oh * g.ow; ++i) o[i] = 0.f;
    for (int64_t oh = 0; oh < g.oh; ++oh) {
      float* orow = o + oh * g.ow;
      for (int64_t kh = 0; kh < g.kh; ++kh) {
        const int64_t ih = oh * g.sh - g.ph + kh;
        if (ih < 0 || ih >= g.h) continue;
        const float* xrow = xi + ih * g.w;
        for (int64_t kw = 0; kw < g.kw; ++kw) {
          const float wv = wk[kh * g.kw + kw];
          const int64_t off = kw - g.pw;
          int64_t lo, hi;
          column_range(g, off, &lo, &hi);
          if (g.sw == 1) {
            const float* xr = xrow + off;
#pragma omp simd
            for (int64_t ow = lo; ow < hi; ++ow) orow[ow] += wv * xr[ow];
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) orow[ow] += wv * xrow[ow * g.sw + off];
          }
        }
      }
    }
  }
  return {out};
}

std::vector<paddle::Tensor> DepthwiseBackward(const paddle::Tensor& x, const paddle::Tensor& weight,
                                              const paddle::Tensor& grad_out, int64_t sh, int64_t sw,
                                              int64_t ph, int64_t pw) {
  const Geometry g = geometry(x, weight, sh, sw, ph, pw);
  auto gs = grad_out.shape();
  PD_CHECK(gs.size() == 4 && gs[0] == g.n && gs[1] == g.c && gs[2] == g.oh && gs[3] == g.ow,
           "ppexp depthwise conv: grad_out has the wrong shape");
  auto grad_x = paddle::empty({g.n, g.c, g.h, g.w}, paddle::DataType::FLOAT32, x.place());
  auto grad_w = paddle::empty({g.c, 1, g.kh, g.kw}, paddle::DataType::FLOAT32, x.place());
  const float* xp = x.data<float>();
  const float* wp = weight.data<float>();
  const float* gp = grad_out.data<float>();
  float* gxp = grad_x.data<float>();
  float* gwp = grad_w.data<float>();
  for (int64_t i = 0; i < g.c * g.kh * g.kw; ++i) gwp[i] = 0.f;
  for (int64_t plane = 0; plane < g.n * g.c; ++plane) {
    const float* xi = xp + plane * g.h * g.w;
    const float* gi = gp + plane * g.oh * g.ow;
    const float* wk = wp + (plane % g.c) * g.kh * g.kw;
    float* gwk = gwp + (plane % g.c) * g.kh * g.kw;
    float* gx = gxp + plane * g.h * g.w;
    for (int64_t i = 0; i < g.h * g.w; ++i) gx[i] = 0.f;
    for (int64_t oh = 0; oh < g.oh; ++oh) {
      const float* grow = gi + oh * g.ow;
      for (int64_t kh = 0; kh < g.kh; ++kh) {
        const int64_t ih = oh * g.sh - g.ph + kh;
        if (ih < 0 || ih >= g.h) continue;
        const float* xrow = xi + ih * g.w;
        float* gxrow = gx + ih * g.w;
        for (int64_t kw = 0; kw < g.kw; ++kw) {
          const float wv = wk[kh * g.kw + kw];
          const int64_t off = kw - g.pw;
          int64_t lo, hi;
          column_range(g, off, &lo, &hi);
          float acc = 0.f;
          if (g.sw == 1) {
            const float* xr = xrow + off;
            float* gr = gxrow + off;
#pragma omp simd reduction(+ : acc)
            for (int64_t ow = lo; ow < hi; ++ow) {
              gr[ow] += wv * grow[ow];
              acc += grow[ow] * xr[ow];
            }
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) {
              gxrow[ow * g.sw + off] += wv * grow[ow];
              acc += grow[ow] * xrow[ow * g.sw + off];
            }
          }
          gwk[kh * g.kw + kw] += acc;
        }
      }
    }
  }
  return {grad_x, grad_w};
}

PD_BUILD_OP(ppexp_depthwise_conv2d)
    .Inputs({"X", "Weight"})
    .Outputs({"Out"})
    .Attrs({"sh: int64_t", "sw: int64_t", "ph: int64_t", "pw: int64_t"})
    .SetKernelFn(PD_KERNEL(DepthwiseForward));

PD_BUILD_GRAD_OP(ppexp_depthwise_conv2d)
    .Inputs({"X", "Weight", paddle::Grad("Out")})
    .Outputs({paddle::Grad("X"), paddle::Grad("Weight")})
    .Attrs({"sh: int64_t", "sw: int64_t", "ph: int64_t", "pw: int64_t"})
    .SetKernelFn(PD_KERNEL(DepthwiseBackward));
