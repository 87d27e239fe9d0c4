"""Epochs as tasks of scikit-learn's callback API (``sklearn.callback``).

scikit-learn 1.9 describes a fit as a tree of tasks that callbacks such as
``ProgressBar`` and ``ScoringMonitor`` observe. A skgd fit (or one
``partial_fit`` call) is the root task and each epoch a leaf under it; at the
end of an epoch the callbacks may ask for a model "as if fit stopped here",
which is the estimator with that epoch's weights, and may ask training to
stop. With an older scikit-learn, or without callbacks set, nothing here
runs.
"""

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9 has no callback API

    class CallbackSupportMixin:
        """Stand-in for scikit-learn < 1.9: no ``set_callbacks``."""


class EpochTasks:
    """The callback task tree of one fit: a root task with an epoch per child.

    Parameters
    ----------
    root : callback context or None
        The root task of the fit (``"fit"`` or ``"partial_fit"``, with the
        most epochs it may run as its number of sub-tasks), made by the
        estimator; None when no callbacks are set, and nothing happens.
    estimator : GDClassifier
        The estimator being fitted; its ``classes_`` and ``n_features_in_``
        are set, so that a copy with an epoch's weights can predict.
    X, y, metadata :
        What the callbacks receive with each task: the training data, its
        labels and ``{"sample_weight": ...}`` (or None).
    """

    def __init__(self, root, estimator, X, y, metadata):
        self._estimator = estimator
        self._data = dict(X=X, y=y, metadata=metadata)
        self._root = root
        self._epoch = None
        if root is not None:
            root.call_on_fit_task_begin(estimator=estimator, **self._data)

    def __bool__(self):
        return self._root is not None

    def begin_epoch(self):
        self._epoch = self._root.subcontext(task_name="epoch")
        self._epoch.call_on_fit_task_begin(estimator=self._estimator, **self._data)

    def end_epoch(self, coef, intercept, progress):
        """End the current epoch's task; True if a callback asks to stop.

        ``progress`` (``skgd._engine.EpochProgress``: the epoch, the
        objective, the stopping rule's count) rides on the epoch's context
        as ``skgd_progress``, for callbacks that show it.
        """
        self._epoch.skgd_progress = progress

        def weights():
            # Copies: the callbacks may keep the model, training goes on.
            return {"coef_": coef.copy(), "intercept_": intercept.copy()}

        return self._epoch.call_on_fit_task_end(
            estimator=self._estimator, reconstruction_attributes=weights, **self._data
        )

    def end(self):
        self._root.call_on_fit_task_end(
            estimator=self._estimator, reconstruction_attributes={}, **self._data
        )
