"""The national public service portal's status code for each motcua status.

The portal knows a dossier by ten codes (domain.md, "National status codes"). motcua's
own statuses are finer; this table is the one place that maps them (the API shows both on
every status, the portal sync sends the code). A pure module: no database, no settings.

====================  ====  =============================  ===================================
motcua status         code  national label (vi)            why
====================  ====  =============================  ===================================
draft                 —     —                              not filed: the portal never sees it
submitted             1     Mới đăng ký                    filed, waiting for the desk
received              2     Được tiếp nhận                 the desk accepted it; clock runs
rejected_at_reception 3     Không được tiếp nhận           refused at the desk (final)
in_review             4     Đang xử lý                     appraisal under way
approved              4     Đang xử lý                     decided, but no signed result yet:
                                                           still being processed
supplement_requested  5     Yêu cầu bổ sung giấy tờ        at the desk or after appraisal
fee_requested         6     Yêu cầu thực hiện nghĩa vụ     appraised; waits for the applicant
                            tài chính                      to pay the procedure's fee
(event, not a state)  7     Công dân yêu cầu rút hồ sơ     a withdrawal takes effect at once
                                                           here: 7 is the event of the request,
                                                           reported just before 8
withdrawn             8     Dừng xử lý                     processing stopped at the
                                                           applicant's request (final)
signed                9     Đã xử lý xong                  result signed, about to be issued
refused               9     Đã xử lý xong                  processing finished with a refusal
                                                           (a decision, with a written notice):
                                                           the outcome is the refusal; 10 is
                                                           kept for a result delivered
issued                10    Đã trả kết quả                 the signed result is out (final)
discarded             —     —                              an abandoned draft, never filed
====================  ====  =============================  ===================================
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import translation


@dataclass(frozen=True)
class NationalStatus:
    code: int
    vi: str
    en: str

    @property
    def label(self) -> str:
        """In the active language (Vietnamese unless English is chosen)."""
        language = (translation.get_language() or "vi").split("-")[0]
        return self.en if language == "en" else self.vi


NEWLY_REGISTERED = NationalStatus(1, "Mới đăng ký", "Newly registered")
ACCEPTED = NationalStatus(2, "Được tiếp nhận", "Accepted")
NOT_ACCEPTED = NationalStatus(3, "Không được tiếp nhận", "Not accepted")
PROCESSING = NationalStatus(4, "Đang xử lý", "Processing")
SUPPLEMENT_REQUESTED = NationalStatus(5, "Yêu cầu bổ sung giấy tờ", "Supplement requested")
FINANCIAL_OBLIGATION = NationalStatus(
    6, "Yêu cầu thực hiện nghĩa vụ tài chính", "Financial obligation"
)
WITHDRAWAL_REQUESTED = NationalStatus(7, "Công dân yêu cầu rút hồ sơ", "Withdrawal requested")
PROCESSING_STOPPED = NationalStatus(8, "Dừng xử lý", "Processing stopped")
PROCESSED = NationalStatus(9, "Đã xử lý xong", "Processed")
RESULT_RETURNED = NationalStatus(10, "Đã trả kết quả", "Result returned")

CODES: dict[int, NationalStatus] = {
    s.code: s
    for s in (
        NEWLY_REGISTERED,
        ACCEPTED,
        NOT_ACCEPTED,
        PROCESSING,
        SUPPLEMENT_REQUESTED,
        FINANCIAL_OBLIGATION,
        WITHDRAWAL_REQUESTED,
        PROCESSING_STOPPED,
        PROCESSED,
        RESULT_RETURNED,
    )
}

# Keyed by the status value (workflows.models.Status), so this module needs no model.
BY_STATUS: dict[str, NationalStatus | None] = {
    "draft": None,
    "submitted": NEWLY_REGISTERED,
    "received": ACCEPTED,
    "rejected_at_reception": NOT_ACCEPTED,
    "in_review": PROCESSING,
    "approved": PROCESSING,
    "supplement_requested": SUPPLEMENT_REQUESTED,
    "fee_requested": FINANCIAL_OBLIGATION,
    "withdrawn": PROCESSING_STOPPED,
    "signed": PROCESSED,
    "refused": PROCESSED,
    "issued": RESULT_RETURNED,
    "discarded": None,
}

# Events the portal is told of with a code of their own before the status they lead to.
BY_EVENT: dict[str, NationalStatus] = {"withdraw": WITHDRAWAL_REQUESTED}


def national_status(status: str) -> NationalStatus | None:
    """The portal's status for a motcua status; None for what the portal never sees
    (drafts). An unknown status is an error, not a silent gap."""
    return BY_STATUS[str(status)]


def statuses_for(code: int) -> list[str]:
    """The motcua statuses the portal's ``code`` stands for (none for 7)."""
    return [status for status, national in BY_STATUS.items() if national and national.code == code]
