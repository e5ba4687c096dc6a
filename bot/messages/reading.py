"""The bot's sentences (English, French) about reading a post or a DM, amounts, people, and the limits
a command meets.

Part of bot.messages' CATALOG."""

SENTENCES: dict[str, tuple[str, str]] = {
    # -- reading a post or a DM
    "text.too_long": (
        "That message is too long for me (over {max} characters).",
        "Ce message est trop long pour moi (plus de {max} caractères).",
    ),
    "text.invisible": (
        "Your message contains invisible formatting characters; type it again without them.",
        "Votre message contient des caractères de mise en forme invisibles ; retapez-le sans eux.",
    ),
    "text.repost": ("A repost is not a command.", "Un repost n'est pas une commande."),
    "text.not_for_bot": ("This is not a command for @{bot}.", "Ce n'est pas une commande pour @{bot}."),
    "text.chatter": ("I didn't understand that. {usage}", "Je n'ai pas compris. {usage}"),
    "cmd.unreadable": ("I couldn't read that command. {usage}", "Je n'ai pas pu lire cette commande. {usage}"),
    "usage": ("Try: @{bot} send 5 to @… for pizza", "Essayez : @{bot} envoie 5 à @… pour la pizza"),
    # -- amounts
    "recipients.missing": (
        "Name who to pay: @ followed by their X handle.",
        "Nommez qui payer : @ suivi de son compte X.",
    ),
    "recipients.missing.mastodon": (
        "Name who to pay: @ followed by their Mastodon handle.",
        "Nommez qui payer : @ suivi de son compte Mastodon.",
    ),
    "amount.missing": ("Tell me an amount, like 5 or 5.50.", "Indiquez un montant, comme 5 ou 5,50."),
    "amount.negative": ("The amount must be positive.", "Le montant doit être positif."),
    "amount.sign": ("Write the amount without a sign, like 5.", "Écrivez le montant sans signe, comme 5."),
    "amount.zero": ("The amount must be more than zero.", "Le montant doit être supérieur à zéro."),
    "amount.decimals": (
        "Amounts can have at most two decimals, like 5.50.",
        "Un montant a au plus deux décimales, comme 5,50.",
    ),
    "amount.too_large": (
        "That amount is too large: at most 7 digits before the decimals.",
        "Ce montant est trop grand : 7 chiffres au plus avant les décimales.",
    ),
    "amount.ambiguous": (
        "That amount is ambiguous: write {a} or {b} instead.",
        "Ce montant est ambigu : écrivez {a} ou {b}.",
    ),
    "amount.exponent": (
        "That amount uses an exponent; write it in full, like 1000.",
        "Ce montant utilise un exposant ; écrivez-le en entier, comme 1000.",
    ),
    "amount.hex": (
        "That amount looks like hexadecimal; write it in decimal digits, like 16.",
        "Ce montant ressemble à de l'hexadécimal ; écrivez-le en chiffres décimaux, comme 16.",
    ),
    "amount.nan": (
        "That amount is not a number; write an amount like 5 or 5.50.",
        "Ce montant n'est pas un nombre ; écrivez un montant comme 5 ou 5,50.",
    ),
    "amount.underscore": (
        "Write the amount without underscores, like 1000 or 1,000.00.",
        "Écrivez le montant sans tiret bas, comme 1000 ou 1.000,00.",
    ),
    "amount.digits": ("Write the amount with the digits 0-9.", "Écrivez le montant avec les chiffres 0-9."),
    "amount.unreadable": (
        "I can't read that amount; write it like 5 or 5.50.",
        "Je ne sais pas lire ce montant ; écrivez-le comme 5 ou 5,50.",
    ),
    "amount.no_decimals": ("{code} amounts have no decimals.", "Les montants en {code} n'ont pas de décimales."),
    "currency.unknown": ("I don't know the currency {code}.", "Je ne connais pas la devise {code}."),
    "currency.disabled": (
        "I don't take {code} here; use {enabled}.",
        "Je n'accepte pas {code} ici ; utilisez {enabled}.",
    ),
    "currency.two": (
        "That amount names two currencies ({a} and {b}); write just one.",
        "Ce montant indique deux devises ({a} et {b}) ; n'en écrivez qu'une.",
    ),
    # -- people
    "handle.bad": (
        "A name after @ is not an X handle: handles use only letters A-Z, digits and _, at most 15.",
        "Un nom après @ n'est pas un compte X : lettres A-Z, chiffres et _ seulement, 15 au plus.",
    ),
    # On Mastodon no example may be written out either: "@" followed by letters would name someone.
    "handle.bad.mastodon": (
        "A name after @ is not a Mastodon handle: a user name of letters A-Z, digits and _ "
        "(at most 15, or 30 followed by @ and their instance's domain).",
        "Un nom après @ n'est pas un compte Mastodon : un nom de lettres A-Z, chiffres et _ "
        "(15 au plus, ou 30 suivi de @ et du domaine de son instance).",
    ),
    "recipients.too_many": (
        "I can pay at most {max} people in one command.",
        "Je peux payer au plus {max} personnes par commande.",
    ),
    "recipients.twice": (
        "{handle} is named twice; name each person once.",
        "{handle} est nommé deux fois ; nommez chaque personne une seule fois.",
    ),
    "recipients.bot": (
        "@{bot} can't receive payments; name the person to pay.",
        "@{bot} ne peut pas recevoir de paiement ; nommez la personne à payer.",
    ),
    "memo.too_long": (
        "The note after 'for' can be at most {max} characters.",
        "La note après « pour » fait au plus {max} caractères.",
    ),
    "recipient.unknown": ("I can't find {handle} on X.", "Je ne trouve pas {handle} sur X."),
    "recipient.unknown.mastodon": (
        "I can't find {handle} on this Mastodon instance.",
        "Je ne trouve pas {handle} sur cette instance Mastodon.",
    ),
    "recipient.unknown.remote": (
        "I can't find {handle}: its instance does not know that account, or did not answer. Nothing was sent.",
        "Je ne trouve pas {handle} : son instance ne connaît pas ce compte, ou n'a pas répondu. Rien n'a été envoyé.",
    ),
    "recipient.self": ("You can't send money to yourself.", "Vous ne pouvez pas vous envoyer de l'argent."),
    "request.self": ("You can't ask yourself for money.", "Vous ne pouvez pas vous demander de l'argent."),
    "recipient.opted_out": (
        "{handle} does not take payments through me.",
        "{handle} ne reçoit pas de paiements par mon intermédiaire.",
    ),
    "payer.opted_out": (
        "{handle} does not take requests through me.",
        "{handle} ne reçoit pas de demandes par mon intermédiaire.",
    ),
    "edit.too_late": (
        "This edit names someone an earlier edit removed; post a new command instead.",
        "Cette modification nomme quelqu'un qu'une modification précédente a retiré ; publiez une nouvelle commande.",
    ),
    "edit.new_post": (
        "An edit cannot change who pays (a payment into a request or back, or a request's payers); "
        "I cancelled it. Post a new command.",
        "Une modification ne peut pas changer qui paie (un paiement en demande ou l'inverse, ou les "
        "payeurs d'une demande) ; je l'ai annulée. Publiez une nouvelle commande.",
    ),
    "edit.too_many": (
        "This command was edited more than {n} times; I cancelled it. Post a new command.",
        "Cette commande a été modifiée plus de {n} fois ; je l'ai annulée. Publiez une nouvelle commande.",
    ),
    # -- limits
    "limit.min": ("The smallest payment I can send is {amount}.", "Le plus petit paiement possible est de {amount}."),
    "limit.max": (
        "The largest payment I can send is {amount} per person.",
        "Le plus gros paiement possible est de {amount} par personne.",
    ),
    "limit.requests": (
        "You've asked for money {n} times in the last hour; ask again later.",
        "Vous avez demandé de l'argent {n} fois dans la dernière heure ; réessayez plus tard.",
    ),
    "limit.payer": (
        "Someone you named has been asked for money {n} times today already; ask them tomorrow.",
        "Une personne nommée a déjà reçu {n} demandes d'argent aujourd'hui ; demandez-lui demain.",
    ),
    "limit.sends": (
        "You've posted {n} payments in the last hour; post again later.",
        "Vous avez publié {n} paiements dans la dernière heure ; réessayez plus tard.",
    ),
    "limit.pending": (
        "You have {n} payments waiting for your answer: answer them (or let them expire) first.",
        "Vous avez {n} paiements qui attendent votre réponse : répondez-y (ou laissez-les expirer) d'abord.",
    ),
    "limit.pending_no_card": (
        "You have a payment waiting and no saved card yet: DM me REGISTER to save one, then answer it.",
        "Vous avez un paiement en attente et pas encore de carte enregistrée : envoyez-moi "
        "INSCRIPTION en DM, puis répondez-y.",
    ),
    "limit.strangers": (
        "You can pay at most {n} people in 24 hours who have never used me; try again "
        "tomorrow, or ask them to write to me first.",
        "Vous pouvez payer au plus {n} personnes en 24 heures qui ne m'ont jamais utilisé ; "
        "réessayez demain, ou demandez-leur de m'écrire d'abord.",
    ),
    "limit.daily": (
        "That would take you over your limit of {cap} in 24 hours; you can send {left} more for now.",
        "Cela dépasserait votre limite de {cap} sur 24 heures ; vous pouvez encore envoyer {left} pour l'instant.",
    ),
}
