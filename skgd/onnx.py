"""ONNX export of skgd's classifiers, through skl2onnx.

Importing this module registers a converter for :class:`~skgd.GDClassifier`
and its presets with skl2onnx; then ``skl2onnx.to_onnx`` converts a fitted
model, alone or as the last step of a Pipeline whose other steps skl2onnx
converts::

    import skgd.onnx  # noqa: F401 (registers the converters)
    from skl2onnx import to_onnx

    onx = to_onnx(pipeline, X[:1], options={"zipmap": False})

It needs the ``onnx`` extra: ``pip install skgd[onnx]`` (skl2onnx, onnx,
onnxruntime). The graph computes what the model's methods do:

* ``label`` as :meth:`~skgd.GDClassifier.predict`: the class of the largest
  score, or for two classes ``classes_[1]`` where the score is positive;
* ``probabilities`` as :meth:`~skgd.GDClassifier.predict_proba` for the
  probabilistic losses: ``softmax`` (the multinomial model), ``log_loss``
  and ``modified_huber`` (one-vs-rest probabilities normalised to sum to
  one, uniform where every class says zero);
* for the other losses, which have no probabilities, ``probabilities``
  holds the scores of :meth:`~skgd.GDClassifier.decision_function` (for two
  classes, ``[-score, score]``), as skl2onnx does for SGDClassifier.

Every built-in loss converts, on dense float32 or float64 input (the graph
computes in the input's type); a loss of your own does not: the converter
cannot know what your ``proba`` computes, and says so. ONNX opset 13 or
later.
"""

import numpy as np
from onnx import TensorProto
from skl2onnx import update_registered_converter
from skl2onnx.common.data_types import guess_proto_type
from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

from skgd._classifier import GDClassifier
from skgd._contracts import own_component
from skgd._presets import MulticlassSVMClassifier, SoftmaxClassifier
from skgd.losses import get_loss

__all__ = ["register"]

#: The smallest opset the graph's operators (ReduceSum's axes as an input,
#: Softmax over one axis) need.
MIN_OPSET = 13


class _Graph:
    """Adds nodes and constants of one converter call, named uniquely."""

    def __init__(self, scope, container, dtype, proto):
        self.scope, self.container = scope, container
        self.dtype, self.proto = dtype, proto

    def constant(self, value, name="constant", proto=None, dtype=None):
        array = np.asarray(value, dtype=dtype or self.dtype)
        unique = self.scope.get_unique_variable_name(name)
        if proto == TensorProto.STRING:
            values = [str(v).encode("utf-8") for v in array.ravel()]
        else:
            values = array.ravel().tolist()
        self.container.add_initializer(
            unique, proto or self.proto, list(array.shape), values
        )
        return unique

    def node(self, op_type, inputs, output=None, **attributes):
        output = output or self.scope.get_unique_variable_name(op_type.lower())
        self.container.add_node(
            op_type,
            inputs,
            output,
            name=self.scope.get_unique_operator_name(op_type),
            **attributes,
        )
        return output


def _check(model, opset):
    """The model's loss, if the converter knows what its scores mean."""
    loss = get_loss(model.loss, model.epsilon)
    if not own_component(loss):
        raise ValueError(
            f"ONNX export supports skgd's built-in losses only; loss={model.loss!r} "
            f"is {type(loss).__name__}, a loss of your own, whose probabilities "
            "the converter cannot know. Built-in losses: 'hinge', "
            "'squared_hinge', 'perceptron', 'log_loss', 'modified_huber', "
            "'squared_error', 'huber', 'epsilon_insensitive', "
            "'squared_epsilon_insensitive', 'softmax', 'multiclass_hinge'."
        )
    if opset is not None and opset < MIN_OPSET:
        raise ValueError(
            f"ONNX export of {type(model).__name__} needs opset {MIN_OPSET} or "
            f"later, not target_opset={opset}."
        )
    return loss


def _normalised(g, P, n_classes):
    """One-vs-rest probabilities divided by their row's sum; a row of
    zeros becomes uniform (``skgd._objective.Objective.proba``)."""
    axes = g.constant([1], "axes", TensorProto.INT64, np.int64)
    total = g.node("ReduceSum", [P, axes], keepdims=1)
    empty = g.node("Equal", [total, g.constant(0.0, "zero")])
    P = g.node("Where", [empty, g.constant(1.0, "one"), P])
    total = g.node("Where", [empty, g.constant(float(n_classes), "k"), total])
    return g.node("Div", [P, total])


def _one_vs_rest(g, link, scores):
    """Each column's probability of its class (``Loss.proba``)."""
    if link == "logistic":
        # 1 / (1 + e^-z) from Exp: onnxruntime's Sigmoid approximates, and
        # its relative error in the tails (4e-4 at z = -9 in float32) grows
        # by the one-vs-rest normalisation.
        exp = g.node("Exp", [g.node("Neg", [scores])])
        return g.node("Reciprocal", [g.node("Add", [exp, g.constant(1.0, "one")])])
    low, high = g.constant(-1.0, "low"), g.constant(1.0, "high")  # clipped_linear
    clipped = g.node("Clip", [scores, low, high])
    return g.node("Div", [g.node("Add", [clipped, g.constant(1.0)]), g.constant(2.0)])


def _binary_proba(g, link, s):
    """Both columns of a one-output model's probabilities, or its scores."""
    if link == "softmax":
        # The multinomial model of two classes: scores [0, s].
        zero = g.node("Mul", [s, g.constant(0.0, "zero")])
        return g.node("Softmax", [g.node("Concat", [zero, s], axis=1)], axis=1)
    if link is None:  # no probabilities: the scores, as for SGDClassifier
        return g.node("Concat", [g.node("Neg", [s]), s], axis=1)
    p = _one_vs_rest(g, link, s)
    return g.node("Concat", [g.node("Sub", [g.constant(1.0, "one"), p]), p], axis=1)


def _multiclass_proba(g, link, scores, n_classes):
    if link == "softmax":
        return g.node("Softmax", [scores], axis=1)
    if link is None:
        return g.node("Identity", [scores])
    return _normalised(g, _one_vs_rest(g, link, scores), n_classes)


def _convert(scope, operator, container):
    """skl2onnx's converter: the label and probabilities of the model."""
    model = operator.raw_operator
    loss = _check(model, container.target_opset)
    proto = guess_proto_type(operator.inputs[0].type)
    dtype = np.float64 if proto == TensorProto.DOUBLE else np.float32
    g = _Graph(scope, container, dtype, proto)
    coef = np.asarray(
        model.coef_.toarray() if hasattr(model.coef_, "toarray") else model.coef_
    )
    scores = g.node(
        "Add",
        [
            g.node(
                "MatMul", [operator.inputs[0].full_name, g.constant(coef.T, "coef")]
            ),
            g.constant(model.intercept_, "intercept"),
        ],
    )
    classes = np.asarray(model.classes_)
    n_classes = len(classes)
    if coef.shape[0] == 1:
        # predict: classes_[1] where the score is positive.
        positive = g.node("Greater", [scores, g.constant(0.0, "zero")])
        index = g.node("Cast", [positive], to=TensorProto.INT64)
        index = g.node(
            "Reshape", [index, g.constant([-1], "flat", TensorProto.INT64, np.int64)]
        )
        proba = _binary_proba(g, loss.proba_link, scores)
    else:
        index = g.node("ArgMax", [scores], axis=1, keepdims=0)
        proba = _multiclass_proba(g, loss.proba_link, scores, n_classes)
    g.node(
        "Gather",
        [_labels(g, model, classes), index],
        operator.outputs[0].full_name,
        axis=0,
    )
    g.node("Identity", [proba], operator.outputs[1].full_name)


def _labels(g, model, classes):
    """The table of labels the predicted index picks from: ``classes_``
    (strings, or integers), or with the option ``nocl`` the indices."""
    if g.container.get_options(model, dict(nocl=False))["nocl"]:
        classes = np.arange(len(classes))
    if classes.dtype.kind in "OUS":
        return g.constant(classes.astype(str), "classes", TensorProto.STRING, object)
    # Numbers are integers here (scikit-learn refuses other float labels);
    # ONNX classifiers give int64 labels.
    return g.constant(classes.astype(np.int64), "classes", TensorProto.INT64, np.int64)


def register():
    """Register the converter of every skgd classifier with skl2onnx (done
    once when this module is imported; calling it again is harmless)."""
    for cls in (GDClassifier, SoftmaxClassifier, MulticlassSVMClassifier):
        update_registered_converter(
            cls,
            f"Skgd{cls.__name__}",
            calculate_linear_classifier_output_shapes,
            _convert,
            overwrite=True,
            options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
        )


register()
