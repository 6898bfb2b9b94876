"""Built-in technique plugin ``semisup``: semi-supervised learning from a few labels.

``python -m tfexp +experiment=semisup technique.method=pseudo_label|fixmatch|autoencoder``;
see docs/semisup.md.
"""

from tfexp import hookimpl
from tfexp.components import TechniqueSpec
from tfexp_semisup.technique import SemiSupervised


@hookimpl
def tfexp_register_techniques():
    return [
        TechniqueSpec(
            "semisup",
            SemiSupervised,
            "few labels + an unlabeled pool: pseudo_label, fixmatch or autoencoder (technique.method)",
        )
    ]
