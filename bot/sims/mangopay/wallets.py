"""Wallets, an Owner's wallet access under SCA, a user's lists, and the transactions of a user or a wallet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.sims.mangopay.errors import MangopayError, _param
from bot.sims.mangopay.facts import CURRENCIES, WALLET_SCA_EVERY
from bot.sims.mangopay.lists import Lists


class Wallets(Lists):
    """Wallets, their access under SCA, and the lists read per user or wallet."""

    def _wallet_create(self, body: dict[str, Any]) -> dict[str, Any]:
        self._required(body, "Owners", "Description", "Currency")
        owners = body["Owners"]
        if not isinstance(owners, list) or len(owners) != 1:
            raise _param("A wallet has exactly one owner", Owners="one user id")
        self._get("user", owners[0])
        if body["Currency"] not in CURRENCIES:
            raise _param("One or several required parameters are missing or incorrect", Currency="ISO code")
        wallet = self._new(
            "wallet",
            Tag=self._tag(body),
            Owners=[str(owners[0])],
            Description=body["Description"],
            Currency=body["Currency"],
            Balance={"Currency": body["Currency"], "Amount": 0},
            FundsType="DEFAULT",
        )
        return self._public(wallet)

    def _wallet_access(self, user_id: str, args: Any) -> None:
        """Mangopay's SCA on an Owner's wallet access (guides/sca/wallets.mdx). `ScaContext` USER_PRESENT: passes
        when the Owner completed a wallet-access SCA session in the last 180 days, else 401 with a new session's
        link in `WWW-Authenticate: PendingUserAction RedirectUrl=...`; USER_NOT_PRESENT: 403 (paybot holds no proxy
        consent). A PAYER's access is never stopped. The documentation calls ScaContext mandatory for Owners and
        says nothing of a request without it: the emulator takes it as USER_PRESENT (its choice; Mangopay's sandbox
        does not trigger SCA then). The 401's body is the error report (its Type the emulator's choice)."""
        user = self._get("user", user_id)
        if user["UserCategory"] != "OWNER":
            return
        context = args.get("ScaContext") or "USER_PRESENT"
        if context not in ("USER_PRESENT", "USER_NOT_PRESENT"):
            raise _param(
                "One or several required parameters are missing or incorrect",
                ScaContext="USER_PRESENT or USER_NOT_PRESENT",
            )
        if context == "USER_NOT_PRESENT":
            raise MangopayError(
                403,
                "forbidden_ressource",
                "The user has not given consent to act on their behalf",
                {"ScaContext": "USER_NOT_PRESENT needs the user's consent to the proxy"},
            )
        last = user.get("_wallet_sca_at")
        if last is not None and self._now() - last < int(WALLET_SCA_EVERY.total_seconds()):
            return
        link = self._sca_session("WALLET", user["Id"], user["Id"])
        raise MangopayError(
            401,
            "sca_required",
            "Strong customer authentication is required to access this account",
            headers={"WWW-Authenticate": f"PendingUserAction RedirectUrl={link}"},
        )

    def _wallet_view(self, args: Any, oid: str) -> dict[str, Any]:
        wallet = self._get("wallet", oid)
        self._wallet_access(wallet["Owners"][0], args)
        return self._public(wallet)

    def _user_list(self, kind: str, owner_field: str) -> Callable[..., Any]:
        def view(args: Any, oid: str) -> Any:
            self._get("user", oid)
            if kind == "wallet":
                self._wallet_access(oid, args)
            rows = [o for o in self._all(kind) if oid == o[owner_field] or oid in (o[owner_field] or [])]
            return self._page(rows, args)

        return view

    def _transactions(self, owner: str) -> Callable[..., Any]:
        """A user's (as author or credited user) or a wallet's transactions: pay-ins, transfers, refunds, payouts."""

        def view(args: Any, oid: str) -> Any:
            self._sweep()
            found = self._get(owner, oid)
            self._wallet_access(oid if owner == "user" else found["Owners"][0], args)
            rows = [o for o in self.objects.values() if o["_kind"] in ("payin", "transfer", "refund", "payout")]
            if owner == "user":
                rows = [o for o in rows if oid in (o["AuthorId"], o.get("CreditedUserId"))]
            else:
                rows = [o for o in rows if oid in (o.get("DebitedWalletId"), o.get("CreditedWalletId"))]
            for name in ("Status", "Type", "Nature"):
                wanted = set(args.getlist(name)) if hasattr(args, "getlist") else set()
                wanted = {w.upper() for v in wanted for w in v.split(",") if w}
                if wanted:
                    rows = [o for o in rows if o[name] in wanted]
            if args.get("AfterDate"):
                rows = [o for o in rows if o["CreationDate"] > int(args["AfterDate"])]
            if args.get("BeforeDate"):
                rows = [o for o in rows if o["CreationDate"] < int(args["BeforeDate"])]
            page, headers = self._page(rows, args)
            keep = (
                "Id",
                "Tag",
                "CreationDate",
                "AuthorId",
                "CreditedUserId",
                "DebitedFunds",
                "CreditedFunds",
                "Fees",
                "Status",
                "ResultCode",
                "ResultMessage",
                "ExecutionDate",
                "Type",
                "Nature",
                "CreditedWalletId",
                "DebitedWalletId",
            )
            return [{k: o.get(k) for k in keep} for o in page], headers

        return view
