"""Online payment's pages: the citizen's "pay" button (a POST from their dossier's page),
the page they come back to from the platform, the receipt; and the platform's callback.

A citizen reaches only their own fees and payments: anything else is a 404. The callback
is exempt from CSRF (the platform has no session) but bounded in size, rate-limited per
address and accepted only with a valid integrity code (services.payment_callback).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.core import is_ratelimited

from config.network import client_address
from workflows.exceptions import ActionNotAllowed
from workflows.models import Dossier
from workflows.presentation import money
from workflows.services.fees import fee_for_dossier

from . import receipt, services
from .models import OPEN, State

MAX_CALLBACK_BODY = 16_384
CALLBACK_RATE = "120/m"


@never_cache
@login_required
@require_POST
def start(request, pk):
    dossier = Dossier.objects.filter(pk=pk, applicant_user=request.user).first()
    fee = fee_for_dossier(dossier=dossier) if dossier is not None else None
    if fee is None:
        raise Http404
    try:
        url = services.payment_start(fee=fee, by=request.user)
    except PermissionDenied:
        raise Http404 from None
    except (services.PaymentUnavailable, ActionNotAllowed) as exc:
        messages.error(request, str(exc))
        return redirect("portal:dossier", pk=dossier.pk)
    # The platform's page, on another site: the adapter checked its address.
    return HttpResponseRedirect(url)


@never_cache
@login_required
@require_GET
def payment_return(request, reference):
    """Where the platform sends the citizen back. What it says in the address is not proof
    of payment: the page says what motcua knows, after asking the platform once if the
    attempt is still open."""
    payment = services.payment_for_citizen(user=request.user, reference=reference)
    if payment is None:
        raise Http404
    if request.GET:
        # Only read, never applied: a return that does not carry the platform's code is
        # someone's hand-made address, worth a line in the security log.
        services.payment_return_check(params=request.GET.dict(), payment=payment)
    if payment.state in OPEN:
        payment = services.payment_refresh(payment=payment)
    return render(
        request,
        "payment/return.html",
        {
            "payment": payment,
            "dossier": payment.fee.dossier,
            "open": payment.state in OPEN,
            "amount": money(payment.amount),
        },
    )


@never_cache
@login_required
@require_GET
def payment_receipt(request, reference):
    payment = services.payment_for_citizen(user=request.user, reference=reference)
    if payment is None or payment.state != State.PAID:
        raise Http404
    response = HttpResponse(receipt.receipt_pdf(payment=payment), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{receipt.receipt_filename(payment)}"'
    response["Cache-Control"] = "private, no-store"
    return response


@csrf_exempt
@require_POST
def callback(request):
    provider = services.payment_provider()
    if provider is None:
        raise Http404
    client = client_address(request) or ""
    length = request.META.get("CONTENT_LENGTH") or "0"
    # Announced too large: refused unread; a body without a length is measured once read.
    if (
        not length.isdigit()
        or int(length) > MAX_CALLBACK_BODY
        or len(request.body) > MAX_CALLBACK_BODY
    ):
        services.security.warning("payment callback refused reason=too-large client=%s", client)
        return JsonResponse({"code": "99", "message": "Request too large"}, status=413)
    if is_ratelimited(
        request, group="payment.callback", key="ip", rate=CALLBACK_RATE, increment=True
    ):
        services.security.warning("payment callback refused reason=rate client=%s", client)
        response = JsonResponse({"code": "99", "message": "Too many requests"}, status=429)
        response["Retry-After"] = "60"
        return response
    result = services.payment_callback(
        payload=request.body, content_type=request.content_type or "", client=client
    )
    status, body = provider.callback_answer("forged" if result.code == "off" else result.code)
    response = JsonResponse(body, status=status)
    if status == 503:
        response["Retry-After"] = "30"
    return response
