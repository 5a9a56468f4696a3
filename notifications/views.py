"""The notification centre and each person's preferences."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .forms import PreferenceForm
from .models import Preference
from .services import inbox, notifications_mark_read


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
    ids = []
    for value in request.POST.getlist("id"):
        try:
            ids.append(int(value))
        except ValueError:
            continue
    notifications_mark_read(user=request.user, ids=ids or None)
    return redirect("notifications:centre")


@never_cache
@login_required
def preferences(request):
    instance = Preference.objects.filter(user=request.user).first() or Preference(user=request.user)
    form = PreferenceForm(request.POST or None, instance=instance)
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
