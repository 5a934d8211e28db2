"""The Mall's products and the customer's cart: plain data and pure functions.

Prices are integer fen. The cart lives in a cookie as text such as ``T01x2-P03x1`` (SKU
``x`` quantity, joined by ``-``: characters a cookie carries unquoted). The cookie is the
customer's to edit, so it only ever says *which* products and *how many*; prices always
come from `PRODUCTS`, and text that is not a cart reads as an empty one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from huoqi.money import format_amount

MAX_QUANTITY = 99
MAX_LINES = 20
DESCRIPTION_LIMIT = 128  # the gateway's limit on an order's description


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name_zh: str
    name_en: str
    price_fen: int
    colour: str  # the picture's background, a CSS colour
    shape: str  # which drawing the picture shows (templates/art.html)

    def name(self, language: str) -> str:
        return self.name_zh if language == "zh" else self.name_en


PRODUCTS: tuple[Product, ...] = (
    Product("T01", "西湖龙井 250 克", "Longjing green tea 250 g", 6800, "#d3f9d8", "tea"),
    Product("C02", "白瓷马克杯", "White porcelain mug", 3900, "#e7f5ff", "cup"),
    Product("P03", "手机保护壳", "Phone case", 4900, "#fff0f6", "phone"),
    Product("E04", "无线耳机", "Wireless earbuds", 19900, "#f3f0ff", "buds"),
    Product("B05", "充电宝 10000 毫安", "Power bank 10,000 mAh", 9900, "#fff9db", "battery"),
    Product("N06", "方格笔记本", "Squared notebook", 1500, "#ffe8cc", "book"),
    Product("U07", "折叠雨伞", "Folding umbrella", 5900, "#e3fafc", "umbrella"),
    Product("K08", "双肩背包", "Backpack", 16900, "#f1f3f5", "bag"),
    Product("L09", "护眼台灯", "Desk lamp", 12900, "#fff3bf", "lamp"),
    Product("W10", "保温水杯", "Insulated bottle", 7900, "#ebfbee", "bottle"),
    Product("S11", "智能手环", "Fitness band", 22900, "#edf2ff", "watch"),
    Product("A12", "蓝牙音箱", "Bluetooth speaker", 15900, "#ffe3e3", "speaker"),
)
BY_SKU = {product.sku: product for product in PRODUCTS}

_CART_ITEM = re.compile(r"^([A-Z][0-9]{2})x([0-9]{1,2})$")


@dataclass(frozen=True, slots=True)
class Line:
    product: Product
    quantity: int

    @property
    def amount_fen(self) -> int:
        return self.product.price_fen * self.quantity


Cart = dict[str, int]  # SKU → quantity, in the order the customer added them


def parse_cart(text: str | None) -> Cart:
    """The cart a cookie's text describes; unknown products and nonsense are dropped."""
    cart: Cart = {}
    for item in (text or "").split("-")[:MAX_LINES]:
        match = _CART_ITEM.match(item)
        if match is None or match[1] not in BY_SKU:
            continue
        quantity = int(match[2])
        if 1 <= quantity <= MAX_QUANTITY:
            cart[match[1]] = quantity
    return cart


def format_cart(cart: Cart) -> str:
    return "-".join(f"{sku}x{quantity}" for sku, quantity in cart.items())


def add_to_cart(cart: Cart, sku: str, quantity: int = 1) -> Cart:
    """One more of a product (at most `MAX_QUANTITY`); an unknown SKU changes nothing."""
    if sku not in BY_SKU or quantity < 1:
        return dict(cart)
    if sku not in cart and len(cart) >= MAX_LINES:
        return dict(cart)
    return {**cart, sku: min(cart.get(sku, 0) + quantity, MAX_QUANTITY)}


def set_quantity(cart: Cart, sku: str, quantity: int) -> Cart:
    """The cart with ``sku`` at ``quantity`` (0 removes it; capped at `MAX_QUANTITY`)."""
    if sku not in cart:
        return dict(cart)
    if quantity <= 0:
        return {key: value for key, value in cart.items() if key != sku}
    return {**cart, sku: min(quantity, MAX_QUANTITY)}


def cart_lines(cart: Cart) -> list[Line]:
    return [Line(BY_SKU[sku], quantity) for sku, quantity in cart.items() if sku in BY_SKU]


def total_fen(lines: list[Line]) -> int:
    return sum(line.amount_fen for line in lines)


def amount_text(fen: int) -> str:
    """The gateway's amount form: decimal CNY text such as ``"19.99"``."""
    return format_amount(fen)


def describe(lines: list[Line], language: str = "zh") -> str:
    """The order's description for the gateway (and the customer's checkout page):
    the products and quantities, cut to `DESCRIPTION_LIMIT` characters."""
    text = ", ".join(
        line.product.name(language) + (f" ×{line.quantity}" if line.quantity > 1 else "")
        for line in lines
    )
    if len(text) <= DESCRIPTION_LIMIT:
        return text
    return text[: DESCRIPTION_LIMIT - 1] + "…"
