"""The distillation model: Keras 3's own ``Distiller`` and ``LogitsDistillation``.

Loss (``alpha`` weighs the hard labels, ``T`` is the temperature)::

    alpha * CE(y, student) + (1 - alpha) * T^2 * KL(softmax(teacher / T) || softmax(student / T))

Three things are added around Keras's classes, all documented in docs/distill.md:

- ``LogitsDistillation`` gets a ``keras.losses.KLDivergence()`` *instance*: with its default
  ``loss="kl_divergence"`` (a string, turned into a plain function) Keras 3.15 skips the
  softmax and the ``T^2`` factor and compares the raw logits.
- cached teacher logits: ``Distiller`` runs the teacher on every step. When inputs are
  not randomly augmented the teacher's logits can be computed once per example and fed
  beside the inputs (:mod:`tfexp_distill.logits_cache` stores them with their examples);
  a one-layer "teacher" returns them, so the Distiller is unchanged.
- its ``student_loss``, ``distillation_loss`` and ``total_loss`` trackers become
  :class:`tfexp.losses.LossMean`: Keras records each replica's share of the loss (half of
  it on two replicas), tfexp the batch's loss, the same on one device and on N.
"""

from __future__ import annotations

INPUTS, TEACHER_LOGITS = "inputs", "teacher_logits"


def make_distiller(student, teacher, temperature: float, alpha: float):
    """A ``keras.distillation.Distiller`` training ``student`` against ``teacher`` (frozen,
    called with ``training=False``)."""
    import keras

    from tfexp.losses import LossMean

    distiller = keras.distillation.Distiller(
        teacher=teacher,
        student=student,
        distillation_losses=keras.distillation.LogitsDistillation(temperature=float(temperature), loss=keras.losses.KLDivergence()),
        student_loss_weight=float(alpha),
        name="distiller",
    )
    for name in ("student_loss", "distillation_loss", "total_loss"):  # the same on one device and on N replicas
        distiller._tracker.untrack(getattr(distiller, f"{name}_tracker"))
        setattr(distiller, f"{name}_tracker", LossMean(name=name))
    return distiller


def make_cached_distiller(student, input_shape: tuple[int, ...], num_classes: int, temperature: float, alpha: float):
    """A Distiller whose inputs are ``{"inputs": x, "teacher_logits": logits}``: the student
    reads ``inputs`` (and shares its weights with ``student``), the teacher is a lookup."""
    import keras

    inputs = {
        INPUTS: keras.Input(shape=input_shape, name=INPUTS),
        TEACHER_LOGITS: keras.Input(shape=(num_classes,), name=TEACHER_LOGITS),
    }
    student_view = keras.Model(inputs, student(inputs[INPUTS]), name="student")
    cached_teacher = keras.Model(inputs, keras.layers.Identity(dtype="float32")(inputs[TEACHER_LOGITS]), name="cached_teacher")
    return make_distiller(student_view, cached_teacher, temperature, alpha)

