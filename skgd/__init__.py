"""skgd: linear classifiers trained by gradient descent, with the descent mode
(stochastic, mini-batch or full batch), the update rule and the loss as
hyperparameters, in a scikit-learn compatible estimator."""

__version__ = "0.1.0"  # before the imports: saved models record it

from skgd import gradient_check, losses, optimizers, penalties, schedules
from skgd._classifier import GDClassifier
from skgd._displays import LearningRateFinderDisplay, LossCurveDisplay
from skgd._persistence import InconsistentVersionWarning
from skgd._presets import MulticlassSVMClassifier, SoftmaxClassifier
from skgd._progress import TrainingProgress

# The public classes under their public name, where pickle, joblib and skops
# record them: a saved model names skgd.GDClassifier, and a skops loader is
# asked to trust that, not a private module's path.
for _public in (
    GDClassifier,
    SoftmaxClassifier,
    MulticlassSVMClassifier,
    InconsistentVersionWarning,
    LossCurveDisplay,
    LearningRateFinderDisplay,
    TrainingProgress,
):
    _public.__module__ = "skgd"
del _public

__all__ = [
    "GDClassifier",
    "InconsistentVersionWarning",
    "LearningRateFinderDisplay",
    "LossCurveDisplay",
    "gradient_check",
    "SoftmaxClassifier",
    "MulticlassSVMClassifier",
    "losses",
    "optimizers",
    "penalties",
    "schedules",
    "TrainingProgress",
    "__version__",
]
