"""The notification centre and each person's preferences."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from config.bounds import query_ids

from .forms import PreferenceForm
from .models import Preference
from .phones import mobile_or_none
from .services import inbox, notifications_mark_read

MAX_IDS = 500


@never_cache
@login_required
def centre(request):
    page = Paginator(inbox(request.user).order_by("-created_at"), 20).get_page(
        request.GET.get("page")
    )
    return render(request, "notifications_pages/centre.html", {"page": page})


@never_cache
@login_required
@require_POST
def mark_read(request):
    # No id at all is "mark all read"; ids that are all invalid (or out of range) mark none.
    posted = "id" in request.POST
    ids = query_ids(request.POST, "id", limit=MAX_IDS)
    if ids or not posted:
        notifications_mark_read(user=request.user, ids=ids or None)
    return redirect("notifications:centre")


@never_cache
@login_required
def preferences(request):
    instance = Preference.objects.filter(user=request.user).first() or Preference(user=request.user)
    initial = {}
    if not instance.phone:
        # A citizen's profile may hold a phone already: offer it (the portal's profile is
        # reached through the user, as the account pages do, without importing the portal).
        profile = getattr(request.user, "citizen_profile", None)
        # Only a mobile number: a landline would be refused on a field never touched.
        if profile is not None and profile.phone and mobile_or_none(profile.phone):
            initial["phone"] = profile.phone
    form = PreferenceForm(request.POST or None, instance=instance, initial=initial)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your preferences are saved."))
        return redirect("notifications:preferences")
    return render(
        request,
        "notifications_pages/preferences.html",
        {"form": form},
        status=400 if form.errors else 200,
    )
