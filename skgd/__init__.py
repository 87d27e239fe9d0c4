"""skgd: linear classifiers trained by gradient descent, with the descent mode
(stochastic, mini-batch or full batch), the update rule and the loss as
hyperparameters, in a scikit-learn compatible estimator."""

from skgd import gradient_check, losses, optimizers, penalties, schedules
from skgd._classifier import GDClassifier
from skgd._presets import MulticlassSVMClassifier, SoftmaxClassifier

__version__ = "0.1.0"

__all__ = [
    "GDClassifier",
    "gradient_check",
    "SoftmaxClassifier",
    "MulticlassSVMClassifier",
    "losses",
    "optimizers",
    "penalties",
    "schedules",
    "__version__",
]
