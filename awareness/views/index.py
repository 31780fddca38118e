"""``/awareness/``: the crisis products this person may use, behind the main menu's one entry."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from awareness.hooks.menu import product_links


@login_required
def index(request):
    return render(request, "awareness/index.html", {"links": product_links(request.user)})
