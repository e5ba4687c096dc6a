"""Every sentence the bot says on X and Mastodon, in English and French, in one place.

`text(key, lang, **params)` renders one; Money and datetime parameters are
formatted for the language. A command written in French (its verb, or a
French DM word) is answered in French.

Public replies never contain a link (a post with a URL costs $0.20 and reads
like spam); links go by DM. Replies carry the request's code so that two
equal payments on one day are not refused by X as duplicate content.

Only placeholders bring @handles into a sentence (the bot, the people it is
about): an example names nobody who could exist on X, since anyone can own
@alice, or have told the bot STOP. An example recipient is written `@…`,
which X makes no mention of (a mention is @ followed by [A-Za-z0-9_]).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

LANGS = ("en", "fr")
_FR_MONTHS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")

CATALOG: dict[str, tuple[str, str]] = {
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
    # -- CASHOUT: the balance at the provider paid out to the user's bank account
    "cashout.started": (
        "{amount} is on its way to your bank account. I'll DM you when it has been sent.",
        "{amount} part vers votre compte bancaire. Je vous écris quand le virement est effectué.",
    ),
    "cashout.started_last4": (
        "{amount} is on its way to your bank account ending {last4}. I'll DM you when it has been sent.",
        "{amount} part vers votre compte bancaire se terminant par {last4}. Je vous écris quand "
        "le virement est effectué.",
    ),
    "cashout.sent": (
        "Done: your cash-out of {amount} was sent to your bank account.",
        "C'est fait : votre retrait de {amount} a été viré sur votre compte bancaire.",
    ),
    "cashout.returned": (
        "Your bank sent back your cash-out of {amount} ({reason}); the money is back in your "
        "account. DM CASHOUT to try again.",
        "Votre banque a renvoyé votre retrait de {amount} ({reason}) ; l'argent est de retour sur "
        "votre compte. Écrivez RETRAIT pour réessayer.",
    ),
    "cashout.bounced": (
        "Your cash-out of {amount} did not go through ({reason}); the money is back in your "
        "account. DM CASHOUT to try again.",
        "Votre retrait de {amount} n'a pas abouti ({reason}) ; l'argent est de retour sur votre "
        "compte. Écrivez RETRAIT pour réessayer.",
    ),
    "cashout.nothing": (
        "You have nothing to cash out in {currency} right now.",
        "Vous n'avez rien à retirer en {currency} pour l'instant.",
    ),
    "cashout.nothing_kept": (
        "You have nothing to cash out in {currency} right now: what your account holds is "
        "money you sent that is still on its way or held for its recipient.",
        "Vous n'avez rien à retirer en {currency} pour l'instant : votre compte ne contient que "
        "de l'argent envoyé, encore en route ou mis de côté pour son destinataire.",
    ),
    "cashout.bank": (
        "To cash out, add your bank account on this secure page: {url} The link works for {within}. "
        "Then DM CASHOUT again.",
        "Pour retirer votre argent, ajoutez votre compte bancaire sur cette page sécurisée : {url} "
        "Le lien est valable {within}. Écrivez ensuite RETRAIT à nouveau.",
    ),
    "cashout.unavailable": (
        "Cash-outs to a bank account aren't available here yet; your money stays in your "
        "account. The operator has been told.",
        "Les retraits vers un compte bancaire ne sont pas encore disponibles ici ; votre argent "
        "reste sur votre compte. L'opérateur est prévenu.",
    ),
    "cashout.kyc": (
        "To cash out, first verify your identity with the payment provider here: {url} Then DM CASHOUT again.",
        "Pour retirer votre argent, vérifiez d'abord votre identité auprès du prestataire de paiement "
        "ici : {url} Écrivez ensuite RETRAIT à nouveau.",
    ),
    "cashout.sca": (
        "To cash out, first confirm it's you with the payment provider here (the link works {within}): "
        "{url} Then DM CASHOUT again.",
        "Pour retirer votre argent, confirmez d'abord votre identité auprès du prestataire de paiement "
        "ici (lien valable {within}) : {url} Écrivez ensuite RETRAIT à nouveau.",
    ),
    "cashout.automatic": (
        "Your payment provider pays what you receive out to your bank account by itself, on its "
        "own schedule: there is nothing to do here.",
        "Votre prestataire de paiement vire de lui-même ce que vous recevez sur votre compte "
        "bancaire, à son rythme : il n'y a rien à faire ici.",
    ),
    "cashout.refused": (
        "The payment provider refused your cash-out ({reason}); your money stays in your account.",
        "Le prestataire de paiement a refusé votre retrait ({reason}) ; votre argent reste sur votre compte.",
    ),
    "cashout.failed": (
        "I couldn't start your cash-out just now; your money stays in your account. Please try CASHOUT again later.",
        "Je n'ai pas pu lancer votre retrait ; votre argent reste sur votre compte. Réessayez RETRAIT plus tard.",
    ),
    "cashout.young": (
        "You have nothing to cash out in {currency} right now: money you received waits {hold} "
        "before it can leave (payments by card can still be disputed).",
        "Vous n'avez rien à retirer en {currency} pour l'instant : l'argent reçu attend {hold} avant "
        "de pouvoir partir (un paiement par carte peut encore être contesté).",
    ),
    "cashout.limit": (
        "You've cashed out {n} times in the last 24 hours; please try again tomorrow.",
        "Vous avez fait {n} retraits ces dernières 24 heures ; réessayez demain.",
    ),
    "cashout.new_account_last4": (
        "Your cash-out would go to a bank account ending {last4} that you have not "
        "confirmed before, so nothing was paid out yet. If this account is yours, reply "
        "YES {code} within {within}. If it is not, reply NO {code} and tell the operator: "
        "someone else may have added it.",
        "Votre retrait irait vers un compte bancaire se terminant par {last4} que vous "
        "n'avez pas encore confirmé : rien n'a été versé. Si ce compte est le vôtre, "
        "répondez OUI {code} dans les {within}. Sinon, répondez NON {code} et prévenez "
        "l'opérateur : quelqu'un d'autre a pu l'ajouter.",
    ),
    "cashout.new_account": (
        "Your cash-out would go to a bank account you have not confirmed before, so nothing "
        "was paid out yet. If you added it, reply YES {code} within "
        "{within}. If not, reply NO {code} and tell the operator: someone else may have added it.",
        "Votre retrait irait vers un compte bancaire que vous n'avez pas encore confirmé : rien "
        "n'a été versé. Si vous l'avez ajouté, répondez OUI {code} dans "
        "les {within}. Sinon, répondez NON {code} et prévenez l'opérateur : quelqu'un d'autre a "
        "pu l'ajouter.",
    ),
    "cashout.account_refused": (
        "Nothing was paid out, and the account [{code}] will not be paid. If you did not add it, tell the operator.",
        "Rien n'a été versé, et le compte [{code}] ne sera pas payé. Si vous ne l'avez pas "
        "ajouté, prévenez l'opérateur.",
    ),
    "cashout.account_late": (
        "Your yes for the account [{code}] came too late; nothing was paid out. DM CASHOUT again.",
        "Votre oui pour le compte [{code}] est arrivé trop tard ; rien n'a été versé. Écrivez RETRAIT à nouveau.",
    ),
    "cashout.already": (
        "Your cash-out is already on its way; I'll DM you when it's done.",
        "Votre retrait est déjà en cours ; je vous écris quand il est terminé.",
    ),
    "cashout.usage": (
        "CASHOUT sends all you hold to your bank account, in the default currency; for another one, "
        "add its code, like CASHOUT EUR.",
        "RETRAIT vire tout votre solde sur votre compte bancaire, dans la devise par défaut ; pour une "
        "autre, ajoutez son code, comme RETRAIT EUR.",
    ),
    "cashout.paused": (
        "Cash-outs are paused for maintenance; your money stays in your account. Please try again later.",
        "Les retraits sont suspendus pour maintenance ; votre argent reste sur votre compte. Réessayez plus tard.",
    ),
}

STATUS_WORDS = {
    "pending": ("pending", "en attente"),
    "executing": ("in progress", "en cours"),
    "completed": ("completed", "effectué"),
    "held": ("held", "en attente de réclamation"),
    "failed": ("failed", "échoué"),
    "cancelled": ("cancelled", "annulé"),
    "expired": ("expired", "expiré"),
    "returned": ("returned", "rendu"),
    "needs_auth": ("awaiting the bank's approval", "en attente de l'accord de la banque"),
    # What a recipient is told of a payment to them that did not go through: declined cards (and every other
    # reason a payer's payment failed) are nobody else's business.
    "not_paid": ("not paid", "non payé"),
}


LINK = re.compile(r"https?://\S+")


def without_links(words: str) -> str:
    """A message with its links (approval, card and bank pages: bearer credentials for their user) written as
    "<link>": what is kept of a DM once sent, and what operator reports show."""
    return LINK.sub("<link>", words)


def _fmt(value: Any, lang: str) -> Any:
    """Amounts (anything with `localized`, as Money) are written the way `lang` writes them."""
    localized = getattr(value, "localized", None)
    return localized(lang) if callable(localized) else value


# Sentences that name X or its handles, and have a Mastodon wording under KEY.mastodon.
NAMES_THE_TIMELINE = frozenset({"recipients.missing", "handle.bad", "recipient.unknown", "request_unposted"})


def on_timeline(key: str, *, mastodon: bool) -> str:
    """The key of sentence `key` as said on the bot's timeline: its `.mastodon` wording there when it has one."""
    return f"{key}.mastodon" if mastodon and key in NAMES_THE_TIMELINE else key


def text(key: str, lang: str = "en", **params: Any) -> str:
    """The sentence `key` in `lang` (English when the language is unknown)."""
    en, fr = CATALOG[key]
    template = fr if lang == "fr" else en
    return template.format(**{k: _fmt(v, lang) for k, v in params.items()})


# The providers' decline reasons (plain English, no card data), in French.
REASONS_FR = {
    "the bank account you confirmed is no longer active; DM CASHOUT again": (
        "le compte bancaire que vous avez confirmé n'est plus actif ; écrivez RETRAIT à nouveau"
    ),
    "payments you sent are still waiting for their recipients; cash out once they are claimed or returned": (
        "des paiements que vous avez envoyés attendent encore leurs destinataires ; retirez une fois qu'ils "
        "sont réclamés ou revenus"
    ),
    "card declined by the bank": "carte refusée par la banque",
    "declined by the bank": "refusée par la banque",
    "insufficient funds": "provision insuffisante",
    "the card has expired": "la carte a expiré",
    "the card's spending limit was reached": "le plafond de la carte est atteint",
    "the card's security code was refused": "le code de sécurité de la carte a été refusé",
    "the bank had a processing error; try again later": "erreur de traitement à la banque ; réessayez plus tard",
    "the card does not take this currency": "la carte n'accepte pas cette devise",
    # cash-outs (Mangopay's payout ResultCodes, in plain words)
    "a limit of your verified account was reached": "une limite de votre compte vérifié est atteinte",
    "your balance changed meanwhile": "votre solde a changé entre-temps",
    "the bank account must be registered again": "le compte bancaire doit être enregistré à nouveau",
    "the bank refused the transfer": "la banque a refusé le virement",
    "the payment provider refused it": "le prestataire de paiement l'a refusé",
    "not approved": "non approuvé",
    "the bank account is closed": "le compte bancaire est clôturé",
    "the bank account cannot take it": "le compte bancaire ne peut pas le recevoir",
    "the account details are wrong": "les coordonnées du compte sont erronées",
    "the bank sent it back": "la banque l'a renvoyé",
    "not approved in time": "non approuvé à temps",
    "your identity check is not finished yet: DM CLAIM for the link": (
        "votre vérification d'identité n'est pas terminée : écrivez RÉCLAMER pour recevoir le lien"
    ),
    "your payment account is not secured yet: DM CLAIM for the link": (
        "votre compte de paiement n'est pas encore sécurisé : écrivez RÉCLAMER pour recevoir le lien"
    ),
}


def reason(words: str, lang: str) -> str:
    """A provider's decline reason in `lang` (as given when there is no translation)."""
    return REASONS_FR.get(words, words) if lang == "fr" else words


def status_word(status: str, lang: str) -> str:
    en, fr = STATUS_WORDS.get(status, (status, status))
    return fr if lang == "fr" else en


def day(when: datetime, lang: str) -> str:
    """A calendar day: "Dec 12" or "12 déc."."""
    if lang == "fr":
        return f"{when.day} {_FR_MONTHS[when.month - 1]}"
    return f"{when:%b} {when.day}"


def duration(ttl: timedelta, lang: str) -> str:
    minutes = int(ttl.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} {'jours' if lang == 'fr' else 'days'}"


def span(ttl: timedelta, lang: str) -> str:
    """How long something lasts, in words: "15 minutes", "24 hours", "3 days" (whole units, rounded down; seconds
    under a minute, as a test's short settings make it)."""
    if ttl < timedelta(minutes=1):
        seconds = int(ttl.total_seconds())
        return (
            f"{seconds} {'secondes' if lang == 'fr' else 'seconds'}"
            if seconds != 1
            else ("1 seconde" if lang == "fr" else "1 second")
        )
    minutes = int(ttl.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minutes" if minutes != 1 else "1 minute"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} {'heures' if lang == 'fr' else 'hours'}"
    return f"{hours // 24} {'jours' if lang == 'fr' else 'days'}"


NAME_MAX = 30  # characters of a display name a confirmation shows
NAME_WORDS = 3  # and words: a name, not a sentence


def who(handle: str, name: str = "") -> str:
    """@handle, with the person's display name as plain words (see `plain_name`) when it says more."""
    shown = plain_name(name)
    says_more = shown and name.lower() != handle.lower() and shown.lower() != plain_name(handle).lower()
    return f"@{handle} ({shown})" if says_more else f"@{handle}"


def plain_name(name: str | None) -> str:
    """A display name as a confirmation may show it: letters and spaces only (an apostrophe or hyphen inside a
    word kept), at most NAME_WORDS words and NAME_MAX characters, cut between words. A name is chosen by its
    owner, a stranger to the payer: no link, domain, amount, @-mention or sentence of theirs may stand in the
    bot's confirmation
    ("Refund desk - details at evil.com" -> "Refund desk details"; "Café. NB: the real amount is $2.50" ->
    "Café NB the")."""
    words = [
        "".join(ch for ch in word if ch.isalpha() or ch in "'-").strip("'-")
        for word in "".join(ch if ch.isalpha() or ch in "'-" else " " for ch in name or "").split()
    ]
    out = ""
    for word in list(filter(None, words))[:NAME_WORDS]:
        if len(out) + len(word) + (1 if out else 0) > NAME_MAX:
            break
        out = f"{out} {word}" if out else word
    return out


def handles(names: list[str]) -> str:
    return ", ".join(f"@{h}" for h in names)


def listing(amounts: list[Any], lang: str = "en") -> str:
    """Amounts in one phrase: "$5.00", "$5.00 and €3.00", "$5.00, €3.00 and £1.00" (French: "et")."""
    shown = [str(_fmt(a, lang)) for a in amounts]
    if len(shown) < 2:
        return "".join(shown)
    return ", ".join(shown[:-1]) + (" et " if lang == "fr" else " and ") + shown[-1]


PUBLIC_MEMO_MAX = 40


def public_memo(memo: str | None) -> str:
    """A memo as a public reply may show it: plain words only, at most 40 characters.

    Everything but letters, digits and spaces becomes a space, so no link, domain,
    @-mention, hashtag or new line survives ("see evil.com @bob" -> "see evil com bob");
    the cut falls between words. Empty when nothing is left."""
    words = "".join(ch if ch.isalnum() else " " for ch in memo or "").split()
    out = ""
    for word in words:
        if len(out) + len(word) + (1 if out else 0) > PUBLIC_MEMO_MAX:
            break
        out = f"{out} {word}" if out else word
    return out


POST_MAX = 280  # X's limit, in its weighted characters


def weighted_length(text: str) -> int:
    """A post's length as X counts it (twitter-text: most CJK characters and emoji count 2, a link 23)."""
    from twitter_text import parse_tweet

    return int(parse_tweet(text).weightedLength)


def fits(text: str) -> bool:
    """Whether X takes `text` as one post."""
    return weighted_length(text) <= POST_MAX
