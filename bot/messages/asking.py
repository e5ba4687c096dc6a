"""The bot's sentences (English, French) of the confirmation conversation: asking the payer, and
answering their yes, no or code.

Part of bot.messages' CATALOG."""

SENTENCES: dict[str, tuple[str, str]] = {
    # -- the confirmation conversation
    "confirm.one": ("Send {amount} to {names}", "Envoyer {amount} à {names}"),
    "confirm.many": (
        "Send {amount} each to {names} ({total} in all)",
        "Envoyer {amount} chacun à {names} ({total} au total)",
    ),
    "confirm.pay": ("Pay {amount} to {names}", "Payer {amount} à {names}"),
    "confirm.memo": (' for "{memo}"', " pour « {memo} »"),
    "confirm.ask": (
        "{what}? Reply YES to confirm, NO to cancel. Expires in {ttl}. [{code}]",
        "{what} ? Répondez OUI pour confirmer, NON pour annuler. Expire dans {ttl}. [{code}]",
    ),
    "confirm.ask_request": (
        "{what}? Reply YES {code} to pay, NO {code} to refuse. Expires in {ttl}. [{code}]",
        "{what} ? Répondez OUI {code} pour payer, NON {code} pour refuser. Expire dans {ttl}. [{code}]",
    ),
    "confirm.no_card": (
        " You have no saved card yet: reply REGISTER first, then YES.",
        " Vous n'avez pas encore de carte enregistrée : répondez INSCRIPTION, puis OUI.",
    ),
    "choose": (
        "You have {n} payments waiting. Reply {options}.",
        "Vous avez {n} paiements en attente. Répondez {options}.",
    ),
    "choose.request": (
        "A request is answered with its code: reply {options}.",
        "Une demande se répond avec son code : répondez {options}.",
    ),
    "choose.option": ("YES {code} for {amount} to {handles}", "OUI {code} pour {amount} à {handles}"),
    "choose.option_no": ("NO {code} for {amount} to {handles}", "NON {code} pour {amount} à {handles}"),
    "choose.or": (", or ", ", ou "),
    "dm.slow_down": (
        "You've sent me many messages; I'll answer the next ones after an hour. Payments you confirm still go through.",
        "Vous m'avez envoyé beaucoup de messages ; je répondrai aux suivants dans une heure. Les "
        "paiements que vous confirmez passent toujours.",
    ),
    "answer.too_early": (
        "Your answer was sent before I asked about your latest command, so it counts for nothing; "
        "nothing moved. Answer my newest confirmation message.",
        "Votre réponse a été envoyée avant ma question sur votre dernière commande : elle ne compte "
        "pas et rien n'a bougé. Répondez à mon dernier message de confirmation.",
    ),
    "nothing": (
        "You have no payment waiting for confirmation. Post a command to start one.",
        "Vous n'avez aucun paiement à confirmer. Publiez une commande pour en commencer un.",
    ),
    "nothing.code": (
        "I have no payment waiting with the code {code}. Check the code in my last message.",
        "Je n'ai aucun paiement en attente avec le code {code}. Vérifiez le code de mon dernier message.",
    ),
    "expired": (
        "Your payment of {amount} to {handles} expired at {at} UTC and was not sent. "
        "Post the command again to start over. [{code}]",
        "Votre paiement de {amount} à {handles} a expiré à {at} UTC et n'a pas été envoyé. "
        "Publiez à nouveau la commande pour recommencer. [{code}]",
    ),
    "expired.bare": (
        "Your payment of {amount} to {handles} expired at {at} UTC and was not sent; nothing else "
        "moved. To answer another payment, reply with its code (YES CODE or NO CODE). [{code}]",
        "Votre paiement de {amount} à {handles} a expiré à {at} UTC et n'a pas été envoyé ; rien d'autre "
        "n'a bougé. Pour répondre à un autre paiement, répondez avec son code (OUI CODE ou NON CODE). "
        "[{code}]",
    ),
    "cancelled.bare": (
        "Your payment of {amount} to {handles} was cancelled by an edit of its post and was not "
        "sent; nothing else moved. To answer another payment, reply with its code (YES CODE or NO "
        "CODE). [{code}]",
        "Votre paiement de {amount} à {handles} a été annulé par une modification de son post et n'a "
        "pas été envoyé ; rien d'autre n'a bougé. Pour répondre à un autre paiement, répondez avec son "
        "code (OUI CODE ou NON CODE). [{code}]",
    ),
    "several.bare": (
        "You had several payments waiting when you sent that answer, and I read another answer of "
        "yours, sent after it, first; so it counts for nothing and nothing else moved. Answer each "
        "payment with its code (YES CODE or NO CODE).",
        "Vous aviez plusieurs paiements en attente quand vous avez envoyé cette réponse, et j'ai lu "
        "d'abord une autre réponse, envoyée après : elle ne compte pas et rien d'autre n'a bougé. "
        "Répondez à chaque paiement avec son code (OUI CODE ou NON CODE).",
    ),
    "edited.bare": (
        "Your payment to {handles} was changed by an edit of its post after your answer, so your "
        "answer counts for nothing; nothing moved. Answer each payment with its code (YES CODE or NO "
        "CODE), as my newest messages show it.",
        "Votre paiement à {handles} a changé (son post a été modifié) après votre réponse : elle ne "
        "compte pas et rien n'a bougé. Répondez à chaque paiement avec son code (OUI CODE ou NON CODE), "
        "tel que mes derniers messages le donnent.",
    ),
    "edited.bare_request": (
        "The request from {handles} was changed by an edit of its post after your answer, so "
        "your answer counts for nothing; nothing moved. Answer each payment with its code (YES "
        "CODE or NO CODE), as my newest messages show it.",
        "La demande de {handles} a changé (son post a été modifié) après votre réponse : elle ne "
        "compte pas et rien n'a bougé. Répondez à chaque paiement avec son code (OUI CODE ou NON "
        "CODE), tel que mes derniers messages le donnent.",
    ),
    "already": (
        "The payment [{code}] is already {status}; nothing changed.",
        "Le paiement [{code}] est déjà {status} ; rien n'a changé.",
    ),
    "no_card": (
        "You have no saved card yet. Reply REGISTER to save one, then YES {code}.",
        "Vous n'avez pas encore de carte enregistrée. Répondez INSCRIPTION, puis OUI {code}.",
    ),
    "cancelled": ("Cancelled. No money moved. [{code}]", "Annulé. Aucun argent n'a bougé. [{code}]"),
}
