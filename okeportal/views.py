from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from members.permissions import clusters_for_user, member_for_user


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each kind of user where they work: staff to a cluster, members to the portal."""
    clusters = list(clusters_for_user(request.user))
    if len(clusters) == 1:
        return redirect("members:dashboard", cluster_slug=clusters[0].slug)
    if clusters:
        return render(request, "cluster_picker.html", {"clusters": clusters})
    if member_for_user(request.user) is not None:
        return redirect("portal:home")
    return render(request, "no_access.html", status=403)
