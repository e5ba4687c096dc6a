"""Stripe's form-encoded parameters: decoding the bracketed keys, the parameters each endpoint accepts, integers
and booleans as Stripe reads them."""

from __future__ import annotations

import re
from typing import Any

from bot.sims.stripe.errors import _invalid

# Allowed parameters per endpoint: dotted paths, "*" for any key, "#" for a list index.
_COMMON = {"expand.#"}


PARAMS: dict[str, set[str]] = {
    "customers.create": {"metadata.*", "email", "name", "description", "invoice_settings.default_payment_method"},
    "customers.update": {"metadata.*", "email", "name", "description", "invoice_settings.default_payment_method"},
    "payment_methods.attach": {"customer"},
    "payment_methods.list": {"customer", "type", "limit", "starting_after", "ending_before"},
    "checkout.sessions.create": {
        "mode",
        "customer",
        "currency",
        "success_url",
        "cancel_url",
        "metadata.*",
        "expires_at",
        "client_reference_id",
        "payment_method_types.#",
        "line_items.#.quantity",
        "line_items.#.price_data.currency",
        "line_items.#.price_data.unit_amount",
        "line_items.#.price_data.product_data.name",
        "line_items.#.price_data.product_data.description",
        "payment_intent_data.metadata.*",
        "payment_intent_data.transfer_data.destination",
        "payment_intent_data.transfer_group",
        "payment_intent_data.application_fee_amount",
        "payment_intent_data.description",
        "setup_intent_data.metadata.*",
    },
    "checkout.sessions.expire": set(),
    "checkout.sessions.list": {"customer", "limit", "starting_after", "ending_before", "created.gte"},
    "payment_intents.create": {
        "amount",
        "currency",
        "customer",
        "payment_method",
        "off_session",
        "confirm",
        "metadata.*",
        "transfer_data.destination",
        "transfer_group",
        "application_fee_amount",
        "description",
        "payment_method_types.#",
        "error_on_requires_action",
    },
    "payment_intents.cancel": {"cancellation_reason"},
    "payment_intents.list": {"customer", "limit", "starting_after", "ending_before", "created.gte", "created.lte"},
    "accounts.create": {
        "country",
        "email",
        "metadata.*",
        "business_type",
        "capabilities.transfers.requested",
        "capabilities.card_payments.requested",
        "controller.stripe_dashboard.type",
        "controller.fees.payer",
        "controller.losses.payments",
        "controller.requirement_collection",
    },
    "account_links.create": {"account", "refresh_url", "return_url", "type", "collect"},
    "transfers.create": {
        "amount",
        "currency",
        "destination",
        "source_transaction",
        "transfer_group",
        "metadata.*",
        "description",
    },
    "transfers.list": {
        "destination",
        "transfer_group",
        "limit",
        "starting_after",
        "ending_before",
        "created.gte",
        "created.lte",
    },
    "transfers.reverse": {"amount", "metadata.*", "refund_application_fee"},
    "refunds.create": {
        "payment_intent",
        "charge",
        "amount",
        "metadata.*",
        "reason",
        "reverse_transfer",
        "refund_application_fee",
    },
    "refunds.list": {
        "payment_intent",
        "charge",
        "limit",
        "starting_after",
        "ending_before",
        "created.gte",
        "created.lte",
    },
    "events.list": {"limit", "starting_after", "ending_before", "type", "types.#", "created.gte"},
    "retrieve": set(),
}


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (a[b][0]=v) back into nested dicts; list indexes become dict keys."""
    out: dict[str, Any] = {}
    for raw, value in pairs:
        head, _, rest = raw.partition("[")
        parts = [head] + (re.findall(r"([^\[\]]*)\]", "[" + rest) if rest else [])
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise _invalid(f"Invalid parameter: {raw}", raw)
        node[parts[-1] or str(len(node))] = value
    return out


def _paths(params: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in params.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out += _paths(value, path + ".")
        else:
            out.append(path)
    return out


def _allowed(path: str, allowed: set[str]) -> bool:
    parts = path.split(".")
    for pattern in allowed | _COMMON:
        pat = pattern.split(".")
        if pat[-1] == "*" and len(parts) >= len(pat) and _match(parts[: len(pat) - 1], pat[:-1]):
            return True
        if len(pat) == len(parts) and _match(parts, pat):
            return True
    return False


def _match(parts: list[str], pat: list[str]) -> bool:
    return all(p == q or (q == "#" and p.isdigit()) for p, q in zip(parts, pat, strict=True))


def _int(params: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    raw = params.get(name)
    if raw is None:
        if required:
            raise _invalid(f"Missing required param: {name}.", name)
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise _invalid(f"Invalid integer: {raw}", name) from None


def _bool(params: dict[str, Any], name: str) -> bool:
    raw = params.get(name)
    if raw in (None, "false"):
        return False
    if raw == "true":
        return True
    raise _invalid(f"Invalid boolean: {raw}", name)
