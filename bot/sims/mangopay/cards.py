"""Cards: registrations, the tokenization server, the operator's card page (through paybot's signed link)."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot import links
from bot.sims.mangopay.errors import MangopayError, _param
from bot.sims.mangopay.facts import BAD_REGISTRATION_DATA, CARD_OK, CARDS, CURRENCIES, OK_CODE, TOKENIZER_ERRORS, _luhn
from bot.sims.mangopay.state import MangopayState


class Cards(MangopayState):
    """Card registrations, tokenization and the card page."""

    def complete_card_page(self, registration_id: str, card_number: str = CARD_OK) -> dict[str, Any]:
        """The user types a card on the operator's card page: the page tokenizes it and sends the answer back
        (PUT RegistrationData): the registration is VALIDATED with its card, or ERROR."""
        with self.lock:
            reg = self._get("cardregistration", registration_id)
            if reg["Status"] != "CREATED":
                raise _param(f"This card registration is {reg['Status']}")
            expiry = (self.clock.now() + timedelta(days=730)).strftime("%m%y")
            reg["RegistrationData"] = self.tokenize(
                registration_id,
                {
                    "accessKeyRef": reg["AccessKey"],
                    "data": reg["PreregistrationData"],
                    "cardNumber": card_number,
                    "cardExpirationDate": expiry,
                    "cardCvx": "123",
                },
            )
            self._finish_registration(reg)
            return self._public(reg)

    def tokenize(self, registration_id: str, form: dict[str, str]) -> str:
        """The tokenization server: the card page's form (accessKeyRef, data, cardNumber, cardExpirationDate
        MMYY, cardCvx) for a registration, answered `data=<token>` or `errorCode=<code>`. Only Mangopay's
        CB/Visa/Mastercard test cards (testing/payment-methods.mdx) and the emulator's declined card tokenize;
        another number is 02625 as a malformed one is. A wrong accessKeyRef or data (not this registration's,
        or the registration no longer CREATED) is the emulator's `errorCode=09101`, which Mangopay does not
        document: its PUT then fails 105206."""
        with self.lock:
            reg = self.objects.get(registration_id)
            if (
                reg is None
                or reg["_kind"] != "cardregistration"
                or reg["Status"] != "CREATED"
                or form.get("accessKeyRef") != reg["AccessKey"]
                or form.get("data") != reg["PreregistrationData"]
            ):
                return "errorCode=09101"
            number = re.sub(r"[ -]", "", form.get("cardNumber", ""))
            if not number.isdigit() or not 12 <= len(number) <= 19 or not _luhn(number) or number not in CARDS:
                return "errorCode=02625"
            expiry = form.get("cardExpirationDate", "")
            now = self.clock.now()
            if not re.fullmatch(r"(0[1-9]|1[0-2])[0-9]{2}", expiry) or (2000 + int(expiry[2:]), int(expiry[:2])) < (
                now.year,
                now.month,
            ):
                return "errorCode=02626"
            if not re.fullmatch(r"[0-9]{3,4}", form.get("cardCvx", "")):
                return "errorCode=02627"
            token = secrets.token_urlsafe(48)
            reg["_token"] = {"token": token, "number": number, "expiry": expiry}
            return f"data={token}"

    def _link_ok(self, purpose: str, subject: str, token: str) -> bool:
        """The operator's page checking a link's token (bot.links.verify), its nonce recorded once accepted."""

        def use(nonce: str, expires: int) -> bool:
            with self.lock:
                now = self._now()
                for old in [n for n, end in self.used_nonces.items() if end <= now]:
                    del self.used_nonces[old]  # past its end a link is refused anyway
                if nonce in self.used_nonces:
                    return False
                self.used_nonces[nonce] = expires
                return True

        return links.verify(links.link_key(self.link_secret), purpose, subject, token, self.clock.now(), use)

    def follow_card_link(self, url: str, card_number: str = CARD_OK) -> dict[str, Any]:
        """The user opens paybot's link to the card page (`.../card-page/<id>?user=...&token=...`) and types a
        card: refused (403) unless the link is signed for that registration's user, unexpired and unused."""
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        registration = parts.path.rsplit("/", 1)[1]
        user, token = query.get("user", ""), query.get("token", "")
        with self.lock:
            reg = self.objects.get(registration)
        if reg is None or reg.get("UserId") != user or not self._link_ok("card", f"{user}:{registration}", token):
            raise MangopayError(403, "forbidden", "This link is not valid (expired, used, or not yours)")
        return self.complete_card_page(registration, card_number)

    def open_card_pages(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Card registrations waiting for their card, oldest first."""
        with self.lock:
            return [
                self._public(o)
                for o in self._all("cardregistration")
                if o["Status"] == "CREATED" and user_id in (None, o["UserId"])
            ]

    def _cardreg_create(self, body: dict[str, Any]) -> dict[str, Any]:
        self._required(body, "UserId", "Currency")
        self._get("user", body["UserId"])
        if body["Currency"] not in CURRENCIES:
            raise _param("One or several required parameters are missing or incorrect", Currency="ISO code")
        reg = self._new(
            "cardregistration",
            Tag=self._tag(body),
            UserId=str(body["UserId"]),
            Currency=body["Currency"],
            CardType=body.get("CardType") or "CB_VISA_MASTERCARD",
            AccessKey=secrets.token_urlsafe(15),
            PreregistrationData=secrets.token_urlsafe(48),
            RegistrationData=None,
            CardId=None,
            Status="CREATED",
            ResultCode=None,
            ResultMessage=None,
            CardHolderName=body.get("CardHolderName"),
        )
        reg["CardRegistrationURL"] = f"{self.base}/_sim/tokenize/{reg['Id']}"
        return self._public(reg)

    def _cardreg_update(self, body: dict[str, Any], oid: str) -> dict[str, Any]:
        """The platform sends the tokenization server's RegistrationData back: the Card is created."""
        reg = self._get("cardregistration", oid)
        if reg["Status"] != "CREATED":
            raise _param(f"This card registration is {reg['Status']}")
        self._required(body, "RegistrationData")
        holder = body.get("CardHolderName")
        if holder is not None and (not isinstance(holder, str) or not 2 <= len(holder) <= 255):
            raise _param(
                "One or several required parameters are missing or incorrect",
                CardHolderName="The field CardHolderName must be between 2 and 255 characters long.",
            )
        reg["RegistrationData"] = body["RegistrationData"]
        if holder:
            reg["CardHolderName"] = holder
        self._finish_registration(reg)
        return self._public(reg)

    def _finish_registration(self, reg: dict[str, Any]) -> None:
        """The tokenization server's answer, sent back: a Card for the token it gave this registration."""
        data = str(reg["RegistrationData"])
        token = reg.get("_token") or {}
        if data.startswith("errorCode="):
            code = TOKENIZER_ERRORS.get(data.removeprefix("errorCode="), BAD_REGISTRATION_DATA)
            reg.update(Status="ERROR", ResultCode=code[0], ResultMessage=code[1])
            return
        if not token or data != f"data={token['token']}":
            reg.update(Status="ERROR", ResultCode=BAD_REGISTRATION_DATA[0], ResultMessage=BAD_REGISTRATION_DATA[1])
            return
        number = token["number"]
        card = self._new(
            "card",
            Tag=reg["Tag"],
            UserId=reg["UserId"],
            Currency=reg["Currency"],
            CardType=reg["CardType"],
            CardProvider="VISA",
            Alias=f"{number[:6]}XXXXXX{number[-4:]}",
            ExpirationDate=token["expiry"],
            Country="FRA",
            Product="I",
            BankCode="00152",
            Active=True,
            Validity="UNKNOWN",
            Fingerprint=hashlib.sha256(number.encode()).hexdigest()[:32],
            CardHolderName=reg["CardHolderName"],
            _behaviour=CARDS[number],
        )
        reg.update(Status="VALIDATED", CardId=card["Id"], ResultCode=OK_CODE[0], ResultMessage=OK_CODE[1])
