"""The lifecycle's flow shape on bare viewflow: the baseline motcua is compared with.

Four human tasks (reception, review, approval, signing), an If gateway after approval,
and the end; the decision lives in ``Process.data``. No dossier model, no history, no
time limits, no outbox: what viewflow itself costs for the same walk.
"""

from viewflow import this
from viewflow.workflow import flow
from viewflow.workflow.lock import SelectForUpdateLock


def approved(activation) -> bool:
    return bool(activation.process.data.get("approved"))


class BareFlow(flow.Flow):
    process_title = "Bare lifecycle"
    lock_impl = SelectForUpdateLock(nowait=True, attempts=5)

    start = flow.StartHandle(this.start_process).Next(this.reception)
    reception = flow.View(None).Next(this.review)
    review = flow.View(None).Next(this.approval)
    approval = flow.View(None).Next(this.decided)
    decided = flow.If(approved).Then(this.signing).Else(this.end)
    signing = flow.View(None).Next(this.end)
    end = flow.End()

    def start_process(self, activation, applicant: str = ""):
        activation.process.data = {"applicant": applicant}
        return activation.process
