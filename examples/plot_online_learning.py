"""
==========================================================
Online learning: progressive validation over a data stream
==========================================================

A stream of 40,000 rows arrives in chunks of 500. Each chunk is first used
to test the current model, then to train it with one ``partial_fit`` call:
the running mean of those test scores, *progressive validation*, measures
the model on data it has not yet seen, without holding any data out. It is
plotted against the number of rows seen, for several batch sizes and update
rules.

The second part holds out a fixed validation set and passes it to every
``partial_fit`` call (``validation_data``): the estimator keeps the scores,
the best weights, and raises ``stopped_improving_`` when the scores stall,
so that the stream can be cut there.
"""

# %%
# The stream: a synthetic 4-class problem, read chunk by chunk.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification

from skgd import GDClassifier

X, y = make_classification(
    n_samples=45_000,
    n_features=40,
    n_informative=20,
    n_classes=4,
    n_clusters_per_class=1,
    class_sep=1.0,
    random_state=0,
)
X_stream, y_stream = X[:40_000], y[:40_000]
X_held, y_held = X[40_000:], y[40_000:]
chunk = 500
classes = np.unique(y)


def progressive_accuracy(model):
    """Test on each chunk, then train on it; the running mean of the tests."""
    correct = []
    for start in range(0, len(y_stream), chunk):
        Xc, yc = X_stream[start : start + chunk], y_stream[start : start + chunk]
        if start:  # the first chunk has no model to test yet
            correct.append(model.score(Xc, yc))
        model.partial_fit(Xc, yc, classes=classes)
    return np.cumsum(correct) / np.arange(1, len(correct) + 1)


configurations = {
    "batch 1, sgd": dict(batch_size=1, optimizer="sgd", eta0=0.01),
    "batch 32, sgd": dict(batch_size=32, optimizer="sgd", eta0=0.1),
    "batch 32, adam": dict(batch_size=32, optimizer="adam", eta0=0.01),
    "batch 500 (one step per chunk), adam": dict(
        batch_size="full", optimizer="adam", eta0=0.05
    ),
}
curves = {}
for name, params in configurations.items():
    model = GDClassifier(
        loss="softmax", learning_rate="constant", alpha=1e-4, random_state=0, **params
    )
    curves[name] = progressive_accuracy(model)
    print(f"{name:>38}: progressive accuracy {curves[name][-1]:.3f}")

# %%
# Mini-batches of 32 learn from the first chunks on, Adam a little faster
# than plain SGD. One full-batch step per chunk starts lowest, since the
# stream gives it only 80 steps in all, and catches up late. Single-row SGD
# at a constant step keeps the noise of its last rows and levels off lowest.
fig, ax = plt.subplots(figsize=(7, 4))
seen = chunk * np.arange(2, len(y_stream) // chunk + 1)
for name, curve in curves.items():
    ax.plot(seen, curve, label=name)
ax.set_xlabel("rows seen")
ax.set_ylabel("progressive validation accuracy")
ax.legend()
fig.tight_layout()

# %%
# Held-out monitoring: stop the stream when ``n_iter_no_change`` calls in a
# row do not beat the best held-out score by ``tol``, then go back to the
# best weights.
model = GDClassifier(
    loss="softmax",
    batch_size=32,
    optimizer="adam",
    learning_rate="constant",
    eta0=0.01,
    tol=1e-3,
    n_iter_no_change=10,
    random_state=0,
)
for start in range(0, len(y_stream), chunk):
    model.partial_fit(
        X_stream[start : start + chunk],
        y_stream[start : start + chunk],
        classes=classes,
        validation_data=(X_held, y_held),
    )
    if model.stopped_improving_:
        break
print(
    f"stopped after {start + chunk} rows; best held-out accuracy "
    f"{model.best_validation_score_:.3f}, last {model.validation_scores_[-1]:.3f}"
)
model.coef_, model.intercept_ = model.best_coef_, model.best_intercept_
curves["held-out (monitored)"] = np.asarray(model.validation_scores_)

fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(
    chunk * np.arange(1, len(model.validation_scores_) + 1), model.validation_scores_
)
ax.axhline(model.best_validation_score_, linestyle="--", color="gray")
ax.set_xlabel("rows seen")
ax.set_ylabel("held-out accuracy")
fig.tight_layout()
plt.show()
