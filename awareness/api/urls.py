"""The products' endpoints under ``/api/v1/``."""

from awareness.api import lessons, reviews, sitreps, warnings

urlpatterns = [*sitreps.urlpatterns, *warnings.urlpatterns, *reviews.urlpatterns, *lessons.urlpatterns]
