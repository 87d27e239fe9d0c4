"""
=========================================
Descent modes: from one sample to all
=========================================

The same softmax classifier trained on scikit-learn's digits with four
batch sizes: stochastic gradient descent (``batch_size=1``), mini-batches of
32 and 256, and full-batch gradient descent (``batch_size="full"``). The plot
shows the training objective of each epoch (``loss_curve_``): the small
batches make many cheap, noisy steps per epoch and fall fastest per epoch;
the full batch makes one exact step per epoch and falls smoothly.
"""

# %%
# Train one model per batch size, with the same constant step size: the
# objective is a weighted mean, so ``eta0`` means the same at every size.
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from skgd import GDClassifier

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)

curves = {}
for batch_size in [1, 32, 256, "full"]:
    model = GDClassifier(
        loss="softmax",
        alpha=1e-4,
        batch_size=batch_size,
        learning_rate="constant",
        eta0=0.05,
        max_iter=30,
        tol=None,
        random_state=0,
    ).fit(X, y)
    curves[batch_size] = model.loss_curve_
    print(
        f"batch_size={batch_size!s:>4}: final objective {model.loss_curve_[-1]:.4f}, "
        f"{int(model.t_) - 1} updates, training accuracy {model.score(X, y):.3f}"
    )

# %%
# Plot the objective per epoch on a log scale.
fig, ax = plt.subplots(figsize=(6, 4))
for batch_size, curve in curves.items():
    ax.plot(range(1, len(curve) + 1), curve, label=f"batch_size={batch_size}")
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("training objective")
ax.set_title("Softmax regression on digits, eta0=0.05")
ax.legend()
fig.tight_layout()
plt.show()
