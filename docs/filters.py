"""The filter shown in README.md and docs/: tests check the printed adjoint is the generated one."""
import adc


@adc.differentiate(wrt=("b", "a"))
def iir_loss(b, a, x, target):
    y_prev = 0.0
    loss = 0.0
    for n in range(x.shape[0]):
        y = b * x[n] - a * y_prev
        loss += (y - target[n]) ** 2
        y_prev = y
    return loss
