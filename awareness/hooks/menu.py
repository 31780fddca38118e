"""One main-menu entry for the whole app: the products a person may use, gathered behind it.

Four product links (situation reports, public warnings, reviews, lessons) would push the top
bar past one line for the most crowded bars (tests/e2e/test_layout.py); each product registers
here with the same signature as ``liaison.menu.register_menu``, and the main menu gets one link,
"Crisis products", to ``/awareness/``, which lists them.
"""

from django.urls import reverse

from liaison import menu as main_menu

_PRODUCTS = main_menu.LinkRegistry()
register_menu = _PRODUCTS.register
product_links = _PRODUCTS.links


def _entry(user) -> list[main_menu.MenuLink]:
    links = product_links(user)
    if not links:
        return []
    return [main_menu.MenuLink("Crisis products", reverse("awareness:index"), ", ".join(link.label for link in links))]


def register() -> None:
    main_menu.register_menu("awareness", _entry, order=40)
