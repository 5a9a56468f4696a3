"""The receipt of an online payment ("Biên lai thu phí, lệ phí"), a PDF rendered through
the documents app's WeasyPrint pipeline (documents.pdf), on request: it is made from the
payment's record, which does not change once paid, so nothing is stored."""

from __future__ import annotations

from django.utils import timezone

from documents.pdf import render_template

from .models import Payment, State

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
GROUPS = ("", "nghìn", "triệu", "tỷ", "nghìn tỷ", "triệu tỷ")


def _three(number: int, full: bool) -> list[str]:
    """Words for 0-999; ``full``: a group after a higher one ("không trăm linh năm")."""
    hundreds, tens, units = number // 100, number // 10 % 10, number % 10
    words = []
    if full or hundreds:
        words += [DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units and (full or hundreds):
            words.append("linh")
    elif tens == 1:
        words.append("mười")
    else:
        words += [DIGITS[tens], "mươi"]
    if units:
        if units == 1 and tens >= 2:
            words.append("mốt")
        elif units == 5 and tens >= 1:
            words.append("lăm")
        else:
            words.append(DIGITS[units])
    return words


def amount_in_words(amount: int) -> str:
    """50000 → 'Năm mươi nghìn đồng', as a receipt writes the amount in words."""
    amount = int(amount)
    if amount == 0:
        return "Không đồng"
    groups = []
    while amount:
        groups.append(amount % 1000)
        amount //= 1000
    if len(groups) > len(GROUPS):
        raise ValueError("amount too large")
    words: list[str] = []
    for index in reversed(range(len(groups))):
        if groups[index] == 0:
            continue
        words += _three(groups[index], full=index < len(groups) - 1)
        if GROUPS[index]:
            words.append(GROUPS[index])
    text = " ".join([*words, "đồng"])
    return text[:1].upper() + text[1:]


def amount_in_figures(amount) -> str:
    """50000 → '50.000'"""
    return f"{int(amount):,}".replace(",", ".")


def receipt_filename(payment: Payment) -> str:
    return f"bien-lai-{payment.reference}.pdf"


def receipt_pdf(*, payment: Payment) -> bytes:
    if payment.state != State.PAID:
        raise ValueError("only a paid payment has a receipt")
    fee = payment.fee
    dossier = fee.dossier
    version = dossier.procedure_version
    return render_template(
        "payment/receipt_pdf.html",
        {
            "payment": payment,
            "dossier": dossier,
            "procedure": version.procedure,
            "agency": dossier.handling_agency,
            "amount": amount_in_figures(payment.amount),
            "amount_words": amount_in_words(payment.amount),
            "paid_at": timezone.localtime(payment.paid_at),
            "issued_at": timezone.localtime(payment.paid_at).isoformat(),
        },
    ).pdf
