"""``/awareness/``: each product's pages."""

from awareness.urls import lessons, reviews, sitreps, warnings

app_name = "awareness"

urlpatterns = [*sitreps.urlpatterns, *warnings.urlpatterns, *reviews.urlpatterns, *lessons.urlpatterns]
