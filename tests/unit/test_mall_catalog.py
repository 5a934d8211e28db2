"""The Mall's cart and catalogue: the cookie's text round-trips, prices come only from the
catalogue, nonsense reads as an empty cart, descriptions fit the gateway's limit."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from huoqi.mall import catalog
from huoqi.mall.i18n import CATALOG

SKUS = [product.sku for product in catalog.PRODUCTS]
carts = st.dictionaries(
    st.sampled_from(SKUS), st.integers(1, catalog.MAX_QUANTITY), max_size=len(SKUS)
)


def test_a_dozen_products_with_unique_skus_and_positive_prices() -> None:
    assert len(catalog.PRODUCTS) == 12
    assert len(set(SKUS)) == 12
    assert all(product.price_fen > 0 for product in catalog.PRODUCTS)
    assert all(product.name("zh") != product.name("en") for product in catalog.PRODUCTS)


@given(carts)
def test_the_cookie_text_round_trips(cart: catalog.Cart) -> None:
    assert catalog.parse_cart(catalog.format_cart(cart)) == cart


@given(st.text(max_size=200))
def test_any_cookie_text_reads_as_a_valid_cart(text: str) -> None:
    cart = catalog.parse_cart(text)
    assert set(cart) <= set(SKUS)
    assert all(1 <= quantity <= catalog.MAX_QUANTITY for quantity in cart.values())


def test_nonsense_and_unknown_products_are_dropped() -> None:
    assert catalog.parse_cart("T01x2-Z99x1-C02x0-C02x100-garbage-E04x3") == {"T01": 2, "E04": 3}
    assert catalog.parse_cart(None) == {}


@given(carts, st.sampled_from([*SKUS, "Z99", ""]), st.integers(-3, 120))
def test_adding_never_leaves_the_limits(cart: catalog.Cart, sku: str, quantity: int) -> None:
    after = catalog.add_to_cart(cart, sku, quantity)
    assert set(after) <= set(SKUS)
    assert all(1 <= count <= catalog.MAX_QUANTITY for count in after.values())
    if sku in SKUS and quantity >= 1:
        assert after[sku] == min(cart.get(sku, 0) + quantity, catalog.MAX_QUANTITY)
    else:
        assert after == cart


def test_setting_a_quantity_to_zero_removes_the_line() -> None:
    cart = {"T01": 2, "C02": 1}
    assert catalog.set_quantity(cart, "T01", 0) == {"C02": 1}
    assert catalog.set_quantity(cart, "T01", 500) == {"T01": 99, "C02": 1}
    assert catalog.set_quantity(cart, "E04", 3) == cart  # not in the cart: nothing changes


@given(carts)
def test_the_total_is_the_catalogue_prices_times_quantities(cart: catalog.Cart) -> None:
    lines = catalog.cart_lines(cart)
    expected = sum(catalog.BY_SKU[sku].price_fen * count for sku, count in cart.items())
    assert catalog.total_fen(lines) == expected


@given(carts, st.sampled_from(["zh", "en"]))
def test_the_description_fits_the_gateway(cart: catalog.Cart, language: str) -> None:
    text = catalog.describe(catalog.cart_lines(cart), language)
    assert len(text) <= catalog.DESCRIPTION_LIMIT


def test_the_description_names_the_products() -> None:
    lines = catalog.cart_lines({"T01": 2, "C02": 1})
    assert catalog.describe(lines, "en") == "Longjing green tea 250 g ×2, White porcelain mug"
    assert catalog.amount_text(catalog.total_fen(lines)) == "175.00"


def test_both_languages_have_every_text() -> None:
    assert set(CATALOG["zh"]) == set(CATALOG["en"])
