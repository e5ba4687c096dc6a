"""The bot's sentences (English, French) about CASHOUT: a balance paid out to a bank account.

Part of bot.messages' CATALOG."""

SENTENCES: dict[str, tuple[str, str]] = {
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
