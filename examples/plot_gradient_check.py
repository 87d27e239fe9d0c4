"""
==============================================
Gradient checking: the step size and a bug
==============================================

:func:`skgd.gradient_check.check_estimator_gradient` compares the analytic
gradient of the objective an estimator trains on with centered finite
differences. This example shows the two things every gradient check has to
get right.

1. **The step h.** The error of the centered difference is truncation,
   :math:`O(h^2)`, plus round-off, :math:`O(\\varepsilon |f| / h)`: plotted
   against :math:`h` it is V-shaped, lowest near :math:`h = 10^{-5}` in float64.
   For the hinge loss, a large :math:`h` also straddles the kinks of
   :math:`\\max(0, 1 - yz)`, which adds an error that only a small step avoids.
2. **A planted bug.** A user-defined loss whose gradient misses a factor of
   2 is caught, and the report names the coordinates.
"""

# %%
# The relative error against the step h, for a smooth loss and the hinge.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from skgd import GDClassifier
from skgd.gradient_check import check_estimator_gradient
from skgd.losses import BinaryLoss

X, y = load_digits(n_class=3, return_X_y=True)
X = StandardScaler().fit_transform(X)[:200]
y = y[:200]

steps = np.logspace(-1, -12, 23)
curves = {}
for loss in ["log_loss", "hinge"]:
    model = GDClassifier(loss=loss, alpha=1e-3)
    errors = []
    for h in steps:
        # kinks="loose" keeps the straddled kinks in, to show their effect.
        result = check_estimator_gradient(
            model, X, y, eps=h, n_checks=40, random_state=0, kinks="loose"
        )
        # The raw relative error, without the round-off floor the verdict
        # uses, so that the round-off branch of the V shows.
        a, n = result.analytic, result.numeric
        raw = np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), 1e-300)
        errors.append(np.median(raw))
    curves[loss] = errors

fig, ax = plt.subplots(figsize=(6, 4))
for loss, errors in curves.items():
    ax.loglog(steps, errors, marker="o", label=loss)
ax.axhline(1e-7, color="gray", linestyle=":", label="smooth threshold 1e-7")
ax.invert_xaxis()
ax.set_xlabel("finite-difference step h")
ax.set_ylabel("median relative error")
ax.set_title("Truncation (left) against round-off (right)")
ax.legend()
fig.tight_layout()

# %%
# A user-defined squared hinge whose gradient forgets the factor 2 of the
# square. The check fails and the report shows where.


class BuggySquaredHinge(BinaryLoss):
    def loss(self, y, z):
        return np.maximum(0.0, 1.0 - y * z) ** 2

    def gradient(self, y, z):
        return -y * np.maximum(0.0, 1.0 - y * z)  # should be -2 y (1 - yz)_+


result = check_estimator_gradient(
    GDClassifier(loss=BuggySquaredHinge()), X, y, n_checks=30, random_state=0
)
print(result)
plt.show()
