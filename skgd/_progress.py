"""One line of progress for a fit, or for a whole ``partial_fit`` stream.

A callback of scikit-learn's callback API (``set_callbacks``, scikit-learn
>= 1.9) that knows what skgd's epoch tasks carry (``skgd_progress``, see
``skgd._engine.EpochProgress``): the stopping rule's count, not only the
epochs out of ``max_iter``. scikit-learn's ``ProgressBar`` cannot show that:
a task fixes its total when it begins, and every ``partial_fit`` call is a
task tree of its own.
"""

import os
import sys
import time
import weakref
from numbers import Integral, Real

from skgd._engine import STOP_REASONS


class TrainingProgress:
    """Progress of training on one line: epochs against the stopping rule,
    or the calls of a ``partial_fit`` stream.

    A callback for scikit-learn's callback API (scikit-learn >= 1.9): set it
    with ``estimator.set_callbacks(TrainingProgress())``. The line is
    redrawn in place (a carriage return) and ends when training does.

    **In a fit** the line shows what ends it:

    * with ``tol=None`` only ``max_iter`` does, and the line is a bar over
      the epochs with the time left;
    * otherwise the stopping rule usually ends it long before ``max_iter``,
      and the line shows the epoch, the objective (or validation score) and
      the rule's count, "no improvement 2/5", which stops the fit at 5/5
      (with ``learning_rate="adaptive"``, a full count lowers the rate and
      starts again, and stops the fit once the rate is at its floor; with a
      certifying method, the certified gap against ``tol``). No time left
      is guessed.

    The last line says after how many epochs and why training stopped
    (``stop_reason_``), or that the call failed.

    **In a partial_fit stream** the calls on one model share one line: the
    calls, the rows seen, the last objective, the held-out score and its
    count when ``validation_data`` is passed, and with ``total_calls`` a bar
    and the time left. The line ends after ``total_calls`` calls, at a call
    on another model (whose own count goes on from where it was), at a
    ``fit``, or at :meth:`close` (the callback is also a context manager
    that closes on exit). A call that fails says so and ends the line; the
    model is rolled back, and so is not the count.

    **Where to set it:** on the skgd estimator, also when it is the last
    step of a ``Pipeline`` or the estimator of a search, whose clones share
    it: a line per fit. Set on the ``Pipeline`` or the search itself, it
    raises ``TypeError``. The lines of fits that run in parallel processes
    would mix: for those, set scikit-learn's ``ProgressBar`` on the search.

    Parameters
    ----------
    total_calls : int, default=None
        The number of ``partial_fit`` calls of each model's stream, if known.
    file : writable text stream, default=None
        Where to write; None writes to ``sys.stderr`` (looked up at each
        write, so that the callback pickles with its estimator).
    min_interval : float, default=0.1
        Seconds between two redraws of the line. The last state of a line
        is drawn when the line ends: at the end of a fit, after the last of
        ``total_calls``, at another model's call, at :meth:`close`.
    width : int, default=20
        Characters of the bar.

    Examples
    --------
    >>> import io
    >>> from sklearn.datasets import load_iris
    >>> from skgd import GDClassifier, TrainingProgress
    >>> X, y = load_iris(return_X_y=True)
    >>> out = io.StringIO()
    >>> clf = GDClassifier(loss="log_loss", random_state=0)
    >>> clf = clf.set_callbacks(TrainingProgress(file=out)).fit(X, y)
    >>> print(out.getvalue().split("\\r")[-1].strip())  # doctest: +ELLIPSIS
    GDClassifier fit: stopped after ... epochs (tol: ...), objective ..., ... s
    """

    def __init__(self, total_calls=None, *, file=None, min_interval=0.1, width=20):
        if total_calls is not None and (
            not isinstance(total_calls, Integral) or total_calls < 1
        ):
            raise ValueError(
                f"total_calls must be a positive integer or None, got {total_calls!r}."
            )
        if not isinstance(min_interval, Real) or not min_interval >= 0:
            raise ValueError(
                f"min_interval must be a number of seconds >= 0, got {min_interval!r}."
            )
        if not isinstance(width, Integral) or width < 1:
            raise ValueError(f"width must be a positive integer, got {width!r}.")

        self.total_calls = total_calls
        self.file = file
        self.min_interval = min_interval
        self.width = width
        self._forget()

    def _forget(self):
        """No line on screen, no stream, no call under way."""
        self._line_length = 0  # characters of the line on screen, 0: none open
        self._drawn_at = -float("inf")
        self._pending = None  # the line's latest state, not drawn yet
        # Each model's stream, by id: a weak reference to the model (an id
        # can be reused), its calls so far and when its first call began.
        self._streams = {}
        self._stream = None  # the stream of the call under way; None: a fit
        self._on_screen = None  # whose stream the open line shows
        self._running = None  # the skgd model whose call began and has not ended
        self._began = 0.0

    # The callback protocol (sklearn.callback.FitCallback). A line follows a
    # skgd call from its root task's beginning to its end, which skgd
    # reaches once the whole call has succeeded.

    def setup(self, estimator, context):
        from skgd._classifier import GDClassifier

        if not isinstance(estimator, GDClassifier):
            raise TypeError(
                "TrainingProgress follows skgd models: set it on the skgd "
                f"estimator, not on the {type(estimator).__name__} around it "
                "(pipeline[-1].set_callbacks(TrainingProgress()); the clones a "
                "search makes share it). For a search whose fits run in "
                "parallel, set sklearn.callback.ProgressBar on the search."
            )

    def on_fit_task_begin(self, estimator, context):
        if not _is_skgd_call(estimator, context):
            return False
        self._fail_running()  # a call that never ended (a search went on)
        self._running = estimator
        self._began = time.perf_counter()
        key = id(estimator)
        if context.task_name != "partial_fit":
            self._streams.pop(key, None)  # a fit starts the model afresh
            self._stream = None
            self._end_line()
            return False
        stream = self._streams.get(key)
        if (
            stream is None
            or stream["model"]() is not estimator
            or not hasattr(estimator, "coef_")
        ):
            # The model's first call (or first after a fit): a new stream.
            stream = {"model": weakref.ref(estimator), "calls": 0, "start": self._began}
            self._streams[key] = stream
        if self._on_screen != key:
            self._end_line()  # another model's line, or a fit's
        self._on_screen = key
        self._stream = stream
        return False

    def on_fit_task_end(self, estimator, context):
        if context.task_name == "epoch":
            progress = getattr(context, "skgd_progress", None)
            if progress is not None and self._stream is None:
                self._draw(self._fit_line(estimator, progress))
        elif _is_skgd_call(estimator, context) and estimator is self._running:
            self._running = None
            self._end_call(estimator)
        return False

    def teardown(self, estimator, context):
        self._fail_running()

    def _end_call(self, estimator):
        """The call succeeded: its last line, or the stream's next state."""
        stream = self._stream
        if stream is None:
            self._draw(self._fit_end_line(estimator), force=True, last=True)
            self._end_line()
            return
        stream["calls"] += 1
        self._draw(self._stream_line(estimator, stream))
        if self.total_calls is not None and stream["calls"] >= self.total_calls:
            del self._streams[id(estimator)]
            self._end_line()

    def _fail_running(self):
        """The call under way raised: say so and end its line. The model is
        rolled back, and so is its stream's count."""
        estimator, self._running = self._running, None
        if estimator is None:
            return
        name = type(estimator).__name__
        if self._stream is None:
            line = f"{name} fit: failed after {time.perf_counter() - self._began:.2f} s"
        else:
            line = f"{name} partial_fit: call {self._stream['calls'] + 1} failed"
        self._draw(line, force=True, last=True)
        self._end_line()

    # Lines.

    def _fit_line(self, estimator, progress):
        name = type(estimator).__name__
        seconds = f"{progress.seconds:.2f} s"
        if progress.rule is None:
            # Only max_iter ends the fit: a true bar and a time left.
            done = progress.epoch / progress.max_epochs
            left = progress.seconds * (1 - done) / done
            return (
                f"{name} fit {self._bar(done)} {progress.epoch}/"
                f"{progress.max_epochs} epochs, objective {progress.objective:.6g}, "
                f"{seconds}, ~{left:.1f} s left"
            )
        line = (
            f"{name} fit: epoch {progress.epoch} (max_iter {progress.max_epochs}), "
            f"objective {progress.objective:.6g}"
        )
        if progress.rule == "converged":
            gap = "-" if progress.gap is None else f"{progress.gap:.3g}"
            line += f", certified gap {gap} (stops below tol={progress.tol:g})"
        else:
            if progress.rule == "validation":
                line += f", validation score {progress.validation_score:.6g}"
            # Stops (or, "adaptive", lowers the rate) when the count is full.
            count, full = progress.no_improvement, progress.n_iter_no_change
            line += (
                f", no improvement {count}/{full} "
                f"[{'#' * min(count, full)}{'-' * max(full - count, 0)}]"
            )
        return f"{line}, {seconds}"

    def _fit_end_line(self, estimator):
        name = type(estimator).__name__
        n, reason = estimator.n_iter_, estimator.stop_reason_
        return (
            f"{name} fit: stopped after {n} epoch{'s' if n != 1 else ''} "
            f"({reason}: {STOP_REASONS[reason]}), objective "
            f"{estimator.loss_curve_[-1]:.6g}, {estimator.time_curve_[-1]:.2f} s"
        )

    def _stream_line(self, estimator, stream):
        calls = stream["calls"]
        seconds = time.perf_counter() - stream["start"]
        if self.total_calls is None:
            line = f"{type(estimator).__name__} partial_fit: call {calls}"
        else:
            done = min(calls / self.total_calls, 1.0)
            line = (
                f"{type(estimator).__name__} partial_fit {self._bar(done)} "
                f"{calls}/{self.total_calls} calls"
            )
        line += (
            f", {estimator.samples_curve_[-1]:,} rows, "
            f"objective {estimator.loss_curve_[-1]:.6g}"
        )
        if hasattr(estimator, "n_calls_no_improvement_"):
            # The stream's held-out record (partial_fit's validation_data),
            # not the validation scores a fit with early_stopping left.
            line += (
                f", validation score {estimator.validation_scores_[-1]:.6g}, "
                f"no improvement {estimator.n_calls_no_improvement_}/"
                f"{estimator.n_iter_no_change}"
            )
            if estimator.stopped_improving_:
                line += " (stopped improving)"
        line += f", {seconds:.2f} s"
        if self.total_calls is not None and calls < self.total_calls:
            line += f", ~{seconds * (self.total_calls - calls) / calls:.1f} s left"
        return line

    def _bar(self, done):
        filled = int(round(done * self.width))
        return f"[{'#' * filled}{'-' * (self.width - filled)}] {done:4.0%}"

    # Output.

    def _out(self):
        return sys.stderr if self.file is None else self.file

    def _draw(self, line, *, force=False, last=False):
        """Redraw the line (at most every ``min_interval`` unless forced).
        ``last``: the line's final state, which a newline follows, whole."""
        now = time.perf_counter()
        if not force and now - self._drawn_at < self.min_interval:
            self._pending = line  # drawn when the line ends, if nothing else is
            return
        self._drawn_at, self._pending = now, None
        out = self._out()
        columns = None if last else _terminal_columns(out)
        if columns:
            # A line longer than the terminal wraps, and a carriage return
            # would redraw only its last row.
            line = line[: columns - 1]
        # Pad over what the previous, longer line left on screen.
        padding = " " * max(self._line_length - len(line), 0)
        out.write(f"\r{line}{padding}")
        self._line_length = len(line)
        out.flush()

    def _end_line(self):
        """Draw the line's latest state, then end it."""
        if self._pending is not None:
            self._draw(self._pending, force=True)
        if self._line_length:
            out = self._out()
            out.write("\n")
            out.flush()
        self._line_length = 0
        self._drawn_at = -float("inf")
        self._on_screen = None

    def close(self):
        """End the line, and every stream: the next call starts afresh."""
        self._end_line()
        self._streams.clear()
        self._stream = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __getstate__(self):
        # The streams refer to models: a pickled callback starts afresh.
        state = self.__dict__.copy()
        for name in list(state):
            if name.startswith("_"):
                del state[name]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._forget()


def _terminal_columns(out):
    """The width of the terminal ``out`` writes to, or None if it is not one."""
    try:
        if out.isatty():
            return os.get_terminal_size(out.fileno()).columns
    except (AttributeError, ValueError, OSError):  # no tty, or a closed stream
        pass
    return None


def _is_skgd_call(estimator, context):
    """True for the root task of a skgd model's fit or partial_fit call."""
    from skgd._classifier import GDClassifier

    return isinstance(estimator, GDClassifier) and context.task_name in (
        "fit",
        "partial_fit",
    )
