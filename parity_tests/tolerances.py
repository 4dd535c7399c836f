"""The tolerances the parity suite holds scratchnn to, and why.

float32 forward passes and single gradients differ from TensorFlow only by the
summation order of BLAS vs Eigen/oneDNN (a few ulp). float64 runs agree to ~1e-15:
the two engines do the same arithmetic. Long float32 training runs are chaotic
(a ReLU whose input is within rounding of 0 flips in one engine only; Adam turns
tiny gradients' rounding into visible steps), so curve tolerances grow with the
model's width, the epochs and the step size; float64 curves pin the algorithm.
"""

FORWARD_F32 = dict(rtol=1e-5, atol=1e-6)
FORWARD_F64 = dict(rtol=1e-10, atol=1e-12)
# atol relative to the largest gradient entry. 2e-6, not 1e-6: a conv bias gradient is a
# float32 sum over N*Ho*Wo = 21,632 terms, and measured against the float64 gradient of the
# same weights (CNN conv32, 6 seeds) KERAS's own error reached 1.35e-6 of the largest
# entry, scratchnn's 4.0e-7: the two float32 results can differ by more than 1e-6.
GRAD_F32 = dict(rtol=1e-5, atol=2e-6)
GRAD_F64 = dict(rtol=1e-9, atol=1e-12)
OPTIMIZER_F32 = dict(rtol=0, atol=1e-6)
OPTIMIZER_F64 = dict(rtol=0, atol=1e-14)
CURVE_DENSE_F32 = 1e-4       # every History key, every epoch (small dense models, >= 5 epochs)
CURVE_F64 = 1e-9             # any model: float64 curves are the same computation
CURVE_CONV_F32 = 1e-3
CURVE_CNN_B_F32 = 2e-2       # measured float32 drift of T4's CNN over 2 epochs (see its test)
