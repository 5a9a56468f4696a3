"""Business actions. Views, admin, tasks and flows call these and nothing else.

``dossiers``: the dossier's own actions (filing, reception, appraisal, decision...).
``work``: the officers' work on the flow's tasks (claim, release, assign, complete),
which calls the dossier actions inside the flow's lock.
"""

from .dossiers import (
    dossier_approve,
    dossier_attach_component,
    dossier_create,
    dossier_issue,
    dossier_note,
    dossier_propose,
    dossier_rate,
    dossier_receive,
    dossier_record_opinion,
    dossier_refuse,
    dossier_reject_at_reception,
    dossier_remove_component,
    dossier_request_supplement,
    dossier_reschedule,
    dossier_resubmit,
    dossier_reuse_paper,
    dossier_save_draft,
    dossier_send_back,
    dossier_sign,
    dossier_start_review,
    dossier_submit,
    dossier_withdraw,
)

__all__ = [
    "dossier_approve",
    "dossier_attach_component",
    "dossier_create",
    "dossier_issue",
    "dossier_note",
    "dossier_propose",
    "dossier_rate",
    "dossier_receive",
    "dossier_record_opinion",
    "dossier_refuse",
    "dossier_reject_at_reception",
    "dossier_remove_component",
    "dossier_request_supplement",
    "dossier_reschedule",
    "dossier_resubmit",
    "dossier_reuse_paper",
    "dossier_save_draft",
    "dossier_send_back",
    "dossier_sign",
    "dossier_start_review",
    "dossier_submit",
    "dossier_withdraw",
]
