"""
=========================================
Descent modes: from one sample to all
=========================================

The same softmax classifier trained on scikit-learn's digits with four
batch sizes: stochastic gradient descent (``batch_size=1``), mini-batches of
32 and 256, and full-batch gradient descent (``batch_size="full"``). The
plots show the training objective of each epoch (``loss_curve_``) against
the epoch, which flatters the small batches (an epoch of batch 1 makes as
many steps as there are rows, an epoch of the full batch one), and against
the seconds of training (``time_curve_``), the fair comparison.
:class:`skgd.LossCurveDisplay` draws both.
"""

# %%
# Train one model per batch size, with the same constant step size: the
# objective is a weighted mean, so ``eta0`` means the same at every size.
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from skgd import GDClassifier, LossCurveDisplay

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)

models = []
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
    models.append(model)
    print(
        f"batch_size={batch_size!s:>4}: final objective {model.loss_curve_[-1]:.4f}, "
        f"{int(model.t_) - 1} updates, training accuracy {model.score(X, y):.3f}"
    )

# %%
# The objective per epoch and per second of training, on a log scale.
fig, (by_epoch, by_time) = plt.subplots(1, 2, figsize=(10, 4))
names = [f"batch_size={m.batch_size}" for m in models]
curves = {name: m.loss_curve_ for name, m in zip(names, models)}
LossCurveDisplay.from_estimator(models, x="epochs", names=names, ax=by_epoch)
LossCurveDisplay.from_estimator(models, x="seconds", names=names, ax=by_time)
fig.suptitle("Softmax regression on digits, eta0=0.05")
fig.tight_layout()
plt.show()
