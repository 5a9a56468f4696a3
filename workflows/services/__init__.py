"""Business actions. Views, admin, tasks and flows call these and nothing else.

The dossier's flow-bound transitions (receiving, appraising, deciding, signing, issuing,
filing and answering a supplement, withdrawing) are not here: they are private to the
service layer, and reached only through ``work`` (a stage's task completed, the
applicant's steps), which moves the flow with them in one transaction (issue #13).

``dossiers``: the dossier's own actions (filing, reception, appraisal, decision...).
``work``: the officers' work on the flow's tasks (claim, release, assign, complete),
which calls the dossier actions inside the flow's lock.
"""

from .dossiers import (
    dossier_attach_component,
    dossier_create,
    dossier_note,
    dossier_rate,
    dossier_remove_component,
    dossier_reschedule,
    dossier_reuse_paper,
    dossier_save_draft,
)

__all__ = [
    "dossier_attach_component",
    "dossier_create",
    "dossier_note",
    "dossier_rate",
    "dossier_remove_component",
    "dossier_reschedule",
    "dossier_reuse_paper",
    "dossier_save_draft",
]
