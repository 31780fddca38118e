"""Pages of the reviews product."""

from django.urls import path

from awareness.views import reviews as views

urlpatterns: list = [
    path("reviews/", views.review_list, name="review_list"),
    path("reviews/request/<int:incident_pk>/", views.review_new, name="review_new"),
    path("reviews/<int:pk>/", views.review_detail, name="review_detail"),
    path("reviews/<int:pk>/answer/", views.review_answer, name="review_answer"),
    path("reviews/<int:pk>/sections/", views.review_section_add, name="review_section_add"),
    path("reviews/<int:pk>/circulate/", views.review_circulate, name="review_circulate"),
    path("reviews/<int:pk>/comment/", views.review_comment, name="review_comment"),
    path("reviews/<int:pk>/deliver/", views.review_deliver, name="review_deliver"),
    path("reviews/<int:pk>/pdf/", views.review_pdf, name="review_pdf"),
]
