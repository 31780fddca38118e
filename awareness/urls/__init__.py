"""``/awareness/``: each product's pages."""

from django.urls import path

from awareness.urls import lessons, reviews, sitreps, warnings
from awareness.views.index import index

app_name = "awareness"

urlpatterns = [path("", index, name="index"), *sitreps.urlpatterns, *warnings.urlpatterns, *reviews.urlpatterns, *lessons.urlpatterns]
