"""The bot's sentences (English, French) about outcomes: what became of a payment, said to its payer,
its recipient and in public.

Part of bot.messages' CATALOG."""

SENTENCES: dict[str, tuple[str, str]] = {
    # -- outcomes
    "sent": (
        "@{sender} sent @{recipient} {amount} ✅ [{code}]",
        "@{sender} a envoyé {amount} à @{recipient} ✅ [{code}]",
    ),
    "sent.private": (
        "@{sender} sent @{recipient} a payment ✅ [{code}]",
        "@{sender} a envoyé un paiement à @{recipient} ✅ [{code}]",
    ),
    "paid_request": (
        "@{sender} paid @{recipient} {amount} ✅ [{code}]",
        "@{sender} a payé {amount} à @{recipient} ✅ [{code}]",
    ),
    "held": (
        "@{sender} sent @{recipient} {amount}. @{recipient}, it's held for you: "
        "DM me CLAIM by {until} to receive it. [{code}]",
        "@{sender} a envoyé {amount} à @{recipient}. @{recipient}, ils vous attendent : "
        "écrivez-moi RÉCLAMER en DM avant le {until} pour les recevoir. [{code}]",
    ),
    "held.private": (
        "@{sender} sent @{recipient} a payment. @{recipient}, it's held for you: "
        "DM me CLAIM by {until} to receive it. [{code}]",
        "@{sender} a envoyé un paiement à @{recipient}. @{recipient}, il vous attend : "
        "écrivez-moi RÉCLAMER en DM avant le {until} pour le recevoir. [{code}]",
    ),
    "receipt": ("Sent: {amount} to @{recipient}. [{code}]", "Envoyé : {amount} à @{recipient}. [{code}]"),
    "receipt.many": (
        "Sent: {amount} each to {recipients}. [{code}]",
        "Envoyé : {amount} chacun à {recipients}. [{code}]",
    ),
    # one public reply per command: several recipients paid, held, or both
    "sent.many": (
        "@{sender} sent {amount} each to {recipients} ✅ [{code}]",
        "@{sender} a envoyé {amount} chacun à {recipients} ✅ [{code}]",
    ),
    "sent.many.private": (
        "@{sender} sent a payment each to {recipients} ✅ [{code}]",
        "@{sender} a envoyé un paiement à chacun de {recipients} ✅ [{code}]",
    ),
    "held.many": (
        "@{sender} sent {amount} each to {recipients}. It's held for each of you: "
        "DM me CLAIM by {until} to receive it. [{code}]",
        "@{sender} a envoyé {amount} chacun à {recipients}. Ils vous attendent : "
        "écrivez-moi RÉCLAMER en DM avant le {until} pour les recevoir. [{code}]",
    ),
    "held.many.private": (
        "@{sender} sent a payment each to {recipients}. It's held for each of you: "
        "DM me CLAIM by {until} to receive it. [{code}]",
        "@{sender} a envoyé un paiement à chacun de {recipients}. Il vous attend : "
        "écrivez-moi RÉCLAMER en DM avant le {until} pour le recevoir. [{code}]",
    ),
    "sent_held": (
        "@{sender} sent {amount} each to {paid} ✅ and to {held}. {held}, yours is held: "
        "DM me CLAIM by {until} to receive it. [{code}]",
        "@{sender} a envoyé {amount} chacun à {paid} ✅ et à {held}. {held}, le vôtre vous attend : "
        "écrivez-moi RÉCLAMER en DM avant le {until} pour le recevoir. [{code}]",
    ),
    "sent_held.private": (
        "@{sender} sent a payment each to {paid} ✅ and to {held}. {held}, yours is held: "
        "DM me CLAIM by {until} to receive it. [{code}]",
        "@{sender} a envoyé un paiement à chacun de {paid} ✅ et à {held}. {held}, le vôtre "
        "vous attend : écrivez-moi RÉCLAMER en DM avant le {until} pour le recevoir. [{code}]",
    ),
    "request_payer_left": (
        "Your request to @{payer} for {amount} is cancelled: they do not take part in payments through me. [{code}]",
        "Votre demande de {amount} à @{payer} est annulée : cette personne ne participe pas aux "
        "paiements par mon intermédiaire. [{code}]",
    ),
    "declined": (
        "Your card was declined ({reason}), so {amount} was not sent to @{recipient}. Nothing was charged. [{code}]",
        "Votre carte a été refusée ({reason}) : {amount} n'a pas été envoyé à @{recipient}. "
        "Rien n'a été débité. [{code}]",
    ),
    "needs_auth": (
        "Your bank wants you to approve the payment of {amount} to @{recipient}, and I could not "
        "ask you in time, so it was not sent. Nothing was charged. [{code}]",
        "Votre banque veut que vous approuviez le paiement de {amount} à @{recipient}, et je n'ai "
        "pas pu vous le demander à temps : il n'a pas été envoyé. Rien n'a été débité. [{code}]",
    ),
    "needs_auth.link": (
        "Your bank wants you to approve the payment of {amount} to @{recipient}. Approve it "
        "here within {within}: {url} Nothing is charged until you do. [{code}]",
        "Votre banque veut que vous approuviez le paiement de {amount} à @{recipient}. "
        "Approuvez-le ici sous {within} : {url} Rien n'est débité avant. [{code}]",
    ),
    "needs_auth.link_charged": (
        "Your payment provider wants you to approve sending {amount} to @{recipient}. "
        "Approve it here within {within}: {url} Your card has been charged; if you don't "
        "approve in time, the charge is refunded. [{code}]",
        "Votre prestataire de paiement veut que vous approuviez l'envoi de {amount} à "
        "@{recipient}. Approuvez-le ici sous {within} : {url} Votre carte a été débitée ; "
        "sans accord à temps, le débit est remboursé. [{code}]",
    ),
    "auth_lapsed.refunded": (
        "The payment of {amount} to @{recipient} was not approved in time, so it was not "
        "sent. The charge on your card was refunded. [{code}]",
        "Le paiement de {amount} à @{recipient} n'a pas été approuvé à temps : il n'a pas été "
        "envoyé. Le débit sur votre carte a été remboursé. [{code}]",
    ),
    "auth_lapsed": (
        "The payment of {amount} to @{recipient} was not approved in time, so it was not sent. "
        "Nothing was charged. [{code}]",
        "Le paiement de {amount} à @{recipient} n'a pas été approuvé à temps : il n'a pas été "
        "envoyé. Rien n'a été débité. [{code}]",
    ),
    "too_small": (
        "The payment of {amount} to @{recipient} is below the smallest charge the card network "
        "takes, so it was not made and nothing was charged. Send a larger amount. [{code}]",
        "Le paiement de {amount} à @{recipient} est en dessous du plus petit débit accepté par le "
        "réseau des cartes : il n'a pas été fait et rien n'a été débité. Envoyez un montant plus "
        "élevé. [{code}]",
    ),
    "declined.account": (
        "The payment of {amount} to @{recipient} was not made ({reason}). Nothing was charged. [{code}]",
        "Le paiement de {amount} à @{recipient} n'a pas été fait ({reason}). Rien n'a été débité. [{code}]",
    ),
    "not_charged": (
        "The payment of {amount} to @{recipient} could not be made, and nothing was charged. "
        "Post the command again to retry. [{code}]",
        "Le paiement de {amount} à @{recipient} n'a pas pu être fait, et rien n'a été débité. "
        "Publiez la commande à nouveau pour réessayer. [{code}]",
    ),
    "card_saved": (
        "Your card is saved. You can now confirm payments with YES.",
        "Votre carte est enregistrée. Vous pouvez maintenant confirmer vos paiements avec OUI.",
    ),
    "recipient_left": (
        "@{recipient} no longer takes payments through me, so {amount} was not sent. Nothing was charged. [{code}]",
        "@{recipient} ne reçoit plus de paiements par mon intermédiaire : {amount} n'a pas été "
        "envoyé. Rien n'a été débité. [{code}]",
    ),
    "returned": (
        "@{recipient} did not claim your {amount} within {within}, so it went back to you. [{code}]",
        "@{recipient} n'a pas réclamé vos {amount} sous {within} : ils vous ont été rendus. [{code}]",
    ),
    "returned.undeliverable": (
        "@{recipient} claimed your {amount}, but your payment provider will not send it "
        "without your own approval, which I cannot ask for here, so it went back to you. "
        "[{code}]",
        "@{recipient} a réclamé vos {amount}, mais votre prestataire de paiement ne l'envoie "
        "pas sans votre accord, que je ne peux pas demander ici : ils vous ont été rendus. "
        "[{code}]",
    ),
    "returned.many": (
        "{handles} did not claim your {amount} each within {within}, so {total} went back to you. [{code}]",
        "{handles} n'ont pas réclamé vos {amount} chacun sous {within} : {total} vous ont été rendus. [{code}]",
    ),
    "request_declined": (
        "@{payer} declined your request for {amount}. [{code}]",
        "@{payer} a refusé votre demande de {amount}. [{code}]",
    ),
    "request_expired": (
        "@{payer} did not answer your request for {amount} within {within}. [{code}]",
        "@{payer} n'a pas répondu à votre demande de {amount} sous {within}. [{code}]",
    ),
    "refund.part": (
        "{amount} of your {total} to @{recipient} was refunded to you ({back} refunded in all). [{code}]",
        "{amount} sur vos {total} à @{recipient} vous ont été remboursés ({back} remboursés en tout). [{code}]",
    ),
    "operator_refund": (
        "Your {amount} to @{recipient} was refunded to you. [{code}]",
        "Vos {amount} à @{recipient} vous ont été remboursés. [{code}]",
    ),
    "closing": (
        "paybot is closing down and takes no new payments. Nothing was charged.",
        "paybot ferme et ne prend plus de nouveaux paiements. Rien n'a été débité.",
    ),
    "closing.cancelled": (
        "paybot is closing down: your payment of {amount} to {handles} was cancelled before it "
        "was sent. Nothing was charged. [{code}]",
        "paybot ferme : votre paiement de {amount} à {handles} a été annulé avant son envoi. "
        "Rien n'a été débité. [{code}]",
    ),
    "closing.request_cancelled": (
        "paybot is closing down: your request of {amount} from {handles} was cancelled; nobody paid it. [{code}]",
        "paybot ferme : votre demande de {amount} à {handles} a été annulée ; personne ne l'a payée. [{code}]",
    ),
    "closing.returned": (
        "paybot is closing down: the {amount} you sent @{recipient}, not claimed yet, went back to you. [{code}]",
        "paybot ferme : les {amount} envoyés à @{recipient}, pas encore réclamés, vous ont été rendus. [{code}]",
    ),
    "closing.returned.many": (
        "paybot is closing down: the {amount} each you sent {handles}, not claimed yet, went "
        "back to you ({total} in all). [{code}]",
        "paybot ferme : les {amount} envoyés à chacun de {handles}, pas encore réclamés, "
        "vous ont été rendus ({total} au total). [{code}]",
    ),
    "closing.cashout": (
        "paybot is closing down: your account with the payment provider holds {amounts}. DM "
        "CASHOUT to send it to your bank account.",
        "paybot ferme : votre compte chez le prestataire de paiement contient {amounts}. Écrivez "
        "RETRAIT en message privé pour le virer sur votre compte bancaire.",
    ),
    "maintenance": (
        "Payments are paused for maintenance; please try again later. Nothing was charged.",
        "Les paiements sont suspendus pour maintenance ; réessayez plus tard. Rien n'a été débité.",
    ),
    "claimed": ("Done: you received {items}.", "C'est fait : vous avez reçu {items}."),
    "claimed.item": ("{amount} from @{sender}", "{amount} de @{sender}"),
    "claim_nothing": (
        "You're set up to receive payments. Nothing is waiting for you right now.",
        "Vous pouvez recevoir des paiements. Rien ne vous attend pour l'instant.",
    ),
    "onboarding": (
        "To receive payments, finish setting up your account here: {url}",
        "Pour recevoir des paiements, terminez l'ouverture de votre compte ici : {url}",
    ),
    "onboarding.enrol": (
        "To receive payments, first secure your account with the payment provider here (the link "
        "works {within}): {url} I'll then send you the identity check.",
        "Pour recevoir des paiements, sécurisez d'abord votre compte auprès du prestataire de "
        "paiement ici (lien valable {within}) : {url} Je vous enverrai ensuite la vérification "
        "d'identité.",
    ),
    "request_payer_unreachable": (
        "I couldn't reach @{payer} by DM to ask for your {amount}, so their part of your "
        "request is cancelled; nobody paid it. [{code}]",
        "Je n'ai pas pu joindre @{payer} en DM pour demander vos {amount} : sa part de "
        "votre demande est annulée ; personne ne l'a payée. [{code}]",
    ),
    "request_unposted": (
        "X refused my reply asking {handles} for your {amount}, so that part of your request is "
        "cancelled; nobody paid it. Post the request again later. [{code}]",
        "X a refusé ma réponse demandant vos {amount} à {handles} : cette part de votre demande est "
        "annulée ; personne ne l'a payée. Publiez à nouveau la demande plus tard. [{code}]",
    ),
    "request_unposted.mastodon": (
        "Mastodon refused my reply asking {handles} for your {amount}, so that part of your "
        "request is cancelled; nobody paid it. Post the request again later. [{code}]",
        "Mastodon a refusé ma réponse demandant vos {amount} à {handles} : cette part de "
        "votre demande est annulée ; personne ne l'a payée. Publiez à nouveau la demande "
        "plus tard. [{code}]",
    ),
    "cant_dm": (
        "I couldn't send you the confirmation by DM. Allow DMs from me (or DM me HELP first), "
        "then post the command again.",
        "Je n'ai pas pu vous envoyer la confirmation en DM. Autorisez mes DM (ou écrivez-moi AIDE), "
        "puis publiez à nouveau la commande.",
    ),
    "tweet_help": (
        "Send money with: @{bot} send 5 to @… for pizza. I'll DM you to confirm before anything moves.",
        "Envoyez de l'argent avec : @{bot} envoie 5 à @… pour la pizza. Je vous demanderai "
        "confirmation en DM avant que rien ne bouge.",
    ),
    "request_reply": (
        "{payers}: @{requester} asks you for {amount}{memo}. DM me {codes} to pay.",
        "{payers} : @{requester} vous demande {amount}{memo}. Écrivez-moi {codes} en DM pour payer.",
    ),
    "request_reply.by_dm": (
        "{payers}: @{requester} asks you for a payment; I've sent you the details by DM.",
        "{payers} : @{requester} vous demande un paiement ; je vous en ai envoyé le détail en DM.",
    ),
    "request_reply.code": ("YES {code}", "OUI {code}"),
    "request_reply.code_for": ("YES {code} (@{handle})", "OUI {code} (@{handle})"),
}
