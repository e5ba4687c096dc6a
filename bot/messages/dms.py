"""The bot's sentences (English, French) answering the DM commands: help, history, privacy, STOP and
START, CLAIM, REGISTER.

Part of bot.messages' CATALOG."""

SENTENCES: dict[str, tuple[str, str]] = {
    # -- DM commands
    "dm_help": (
        "Reply YES to confirm a payment (YES CODE when you have several), NO to cancel, "
        "CLAIM to receive money held for you, HISTORY for your last payments, REGISTER to save a card, "
        "CASHOUT to send what you received to your bank account, "
        "PRIVACY PUBLIC|PRIVATE|QUIET for your public replies, STOP or START to refuse or accept "
        "payments, HELP for this message.",
        "Répondez OUI pour confirmer un paiement (OUI CODE si vous en avez plusieurs), NON pour annuler, "
        "RÉCLAMER pour recevoir l'argent qui vous attend, HISTORIQUE pour vos derniers paiements, "
        "INSCRIPTION pour enregistrer une carte, RETRAIT pour virer ce que vous avez reçu sur votre compte "
        "bancaire, CONFIDENTIALITÉ PUBLIC|PRIVÉ|SILENCIEUX pour vos "
        "réponses publiques, STOP ou REPRENDRE pour refuser ou accepter les paiements, AIDE pour ce message.",
    ),
    "dm.unknown": ("I didn't understand that. {help}", "Je n'ai pas compris. {help}"),
    "history.empty": ("You have no payments yet.", "Vous n'avez encore aucun paiement."),
    "history.head": ("Your last {n} payments:", "Vos {n} derniers paiements :"),
    "history.head_one": ("Your last payment:", "Votre dernier paiement :"),
    "history.out": ("{when} {amount} to @{other}: {status}", "{when} {amount} à @{other} : {status}"),
    "history.in": ("{when} {amount} from @{other}: {status}", "{when} {amount} de @{other} : {status}"),
    "privacy.public": (
        "Done: my public replies will show your amounts.",
        "C'est noté : mes réponses publiques montreront vos montants.",
    ),
    "privacy.private": (
        "Done: my public replies will hide your amounts; you get a receipt by DM.",
        "C'est noté : mes réponses publiques cacheront vos montants ; vous recevrez un reçu en DM.",
    ),
    "privacy.quiet": (
        "Done: no public reply for your payments; you get a receipt by DM.",
        "C'est noté : aucune réponse publique pour vos paiements ; vous recevrez un reçu en DM.",
    ),
    "stopped": (
        "Done: nobody can pay you or ask you for money through me, and I won't mention you. Reply START to undo.",
        "C'est noté : personne ne peut vous payer ni vous demander d'argent par mon intermédiaire, "
        "et je ne vous mentionnerai plus. Répondez REPRENDRE pour annuler.",
    ),
    "started": (
        "Done: people can pay you through me again.",
        "C'est noté : on peut de nouveau vous payer par mon intermédiaire.",
    ),
    "claim.retry": (
        "I couldn't reach the payment provider just now; anything held for you stays held. "
        "DM CLAIM again in a few minutes.",
        "Je n'ai pas pu joindre le prestataire de paiement ; ce qui vous attend reste de côté. "
        "Renvoyez RÉCLAMER dans quelques minutes.",
    ),
    "claim.delayed": (
        "{items}: the payout to you is delayed on our side. It is yours and stays safe; I'll DM you "
        "as soon as it arrives. No need to CLAIM again.",
        "{items} : le versement est retardé de notre côté. Cet argent est à vous et reste de côté ; "
        "je vous écris dès qu'il arrive. Inutile de renvoyer RÉCLAMER.",
    ),
    "claim.undeliverable": (
        "{items}: the sender's payment provider will not send it without the sender's own "
        "approval, which I cannot ask for here, so it goes back to them.",
        "{items} : le prestataire de paiement de l'expéditeur ne l'envoie pas sans son "
        "accord, que je ne peux pas demander ici : l'argent lui est rendu.",
    ),
    "claim.wait": (
        "Payments you sent are still waiting for their recipients, so DM CLAIM again once they are "
        "claimed or returned; what is held for you stays held until then.",
        "Des paiements que vous avez envoyés attendent encore leurs destinataires : renvoyez RÉCLAMER "
        "une fois qu'ils sont réclamés ou revenus ; ce qui vous attend reste de côté d'ici là.",
    ),
    "claim.failed": (
        "Receiving payments isn't available right now; the operator has been told. Anything held "
        "for you stays held until its claim window ends, then goes back to its sender.",
        "La réception de paiements n'est pas disponible pour l'instant ; l'opérateur est prévenu. "
        "Ce qui vous attend reste de côté jusqu'à la fin du délai, puis retourne à l'expéditeur.",
    ),
    "register.already": (
        "You already have a saved card. Confirm payments with YES.",
        "Vous avez déjà une carte enregistrée. Confirmez les paiements avec OUI.",
    ),
    "register.link": (
        "Save your card on the secure card page: {url} The link works for {within}. "
        "I'll tell you when the card is saved; then confirm payments with YES.",
        "Enregistrez votre carte sur la page sécurisée : {url} Le lien est valable "
        "{within}. Je vous préviendrai quand la carte sera enregistrée ; confirmez ensuite les "
        "paiements avec OUI.",
    ),
    "register.identity": (
        "Before your card, Mangopay needs your name and e-mail: give them on this page: {url} "
        "The link works for {within}. Then send REGISTER again.",
        "Avant votre carte, Mangopay a besoin de vos nom et e-mail : donnez-les sur cette page : "
        "{url} Le lien est valable {within}. Envoyez ensuite INSCRIPTION à nouveau.",
    ),
    "register.card_page": (
        "Save your card on the secure card page: {url} The link works for {within}. The page "
        "tells you when the card is saved; then confirm payments with YES.",
        "Enregistrez votre carte sur la page sécurisée : {url} Le lien est valable {within}. "
        "La page vous dira quand la carte est enregistrée ; confirmez ensuite les paiements "
        "avec OUI.",
    ),
    "register.link_open": (
        "Save your card on the secure card page: {url} "
        "I'll tell you when the card is saved; then confirm payments with YES.",
        "Enregistrez votre carte sur la page sécurisée : {url} "
        "Je vous préviendrai quand la carte sera enregistrée ; confirmez ensuite les "
        "paiements avec OUI.",
    ),
    "register.saved": (
        "Card saved: the sandbox test card ending 4242. You can now confirm payments with YES.",
        "Carte enregistrée : la carte de test du bac à sable, terminée par 4242. Vous pouvez "
        "maintenant confirmer les paiements avec OUI.",
    ),
    "register.failed": (
        "I couldn't start the card setup just now; please try REGISTER again later.",
        "Je n'ai pas pu lancer l'enregistrement de carte ; réessayez INSCRIPTION plus tard.",
    ),
}
