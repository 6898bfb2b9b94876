"""The distillation model: Keras 3's own ``Distiller`` and ``LogitsDistillation``.

Loss (``alpha`` weighs the hard labels, ``T`` is the temperature)::

    alpha * CE(y, student) + (1 - alpha) * T^2 * KL(softmax(teacher / T) || softmax(student / T))

Two things are added around Keras's classes, both documented in docs/distill.md:

- ``LogitsDistillation`` gets a ``keras.losses.KLDivergence()`` *instance*: with its default
  ``loss="kl_divergence"`` (a string, turned into a plain function) Keras 3.15 skips the
  softmax and the ``T^2`` factor and compares the raw logits.
- cached teacher logits: ``Distiller`` runs the teacher on every step. When inputs are
  not randomly augmented the teacher's logits can be computed once per example and fed
  beside the inputs (:mod:`tfexp_distill.logits_cache` stores them with their examples);
  a one-layer "teacher" returns them, so the Distiller is unchanged.
"""

from __future__ import annotations

INPUTS, TEACHER_LOGITS = "inputs", "teacher_logits"


def make_distiller(student, teacher, temperature: float, alpha: float):
    """A ``keras.distillation.Distiller`` training ``student`` against ``teacher`` (frozen,
    called with ``training=False``)."""
    import keras

    return keras.distillation.Distiller(
        teacher=teacher,
        student=student,
        distillation_losses=keras.distillation.LogitsDistillation(temperature=float(temperature), loss=keras.losses.KLDivergence()),
        student_loss_weight=float(alpha),
        name="distiller",
    )


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

