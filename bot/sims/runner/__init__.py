"""`paybot simulate`: the real worker driven through a scenario on a virtual clock.

Real tweepy talks HTTP over loopback to the X simulator; the store is a real
SQLite file in a temporary folder; the provider is the sandbox, or with
`provider="stripe"` the real Stripe adapter (stripe-python over loopback to
the Stripe emulator), or with `provider="mangopay"` the real Mangopay adapter
(the official SDK over loopback to the Mangopay emulator). After every step
the bot works until idle. Format: see docs/DESIGN.md ("paybot simulate").

On Mangopay the people type their scenario card on the card page as soon as
it is opened and pass the hosted identity verification as soon as it is;
an "approve" step passes their 3DS pages, then approves the transfers that
wait for their SCA.

On Stripe the people complete Stripe's hosted pages as the sandbox's would:
a card-setup page as soon as the bot sends its link (with the card the
scenario gives them, "ok" by default), an onboarding page as soon as its link
is minted. The bank's approval page ("needs_auth") is only completed by an
"approve" step, on either provider.

{"pause": true} and {"resume": true} do what `paybot pause` and `paybot resume` do. {"x_fault": ROUTE,
"status": 503, "times": 1} has X answer the next `times` requests to ROUTE (as X's reference writes it,
"POST /2/dm_conversations/with/:participant_id/messages", "POST /2/tweets", ...; see ROUTES in bot/sims/x/facts.py)
with that status, a 5xx or 429: nothing is done for a refused request. Like a crash step, it changes
nothing the bot could see, so the bot does not work after it; it may also stand in a "together" step.

{"together": [step, ...]} applies its inner steps (tweets, edits, DMs, waits,
reposts, quotes, renames) one after the other without letting the bot look in
between; a wait there only moves the clock. The bot then works until idle.

Beyond the contract, a step's DM text may say "{code:t1}": it is replaced by
the confirmation code of the command posted as t1 (codes are random, seeded
by the scenario's "seed", default 0, so output is reproducible). A scenario may
also set "limits": "pay_per_use" to have the simulator enforce X's rate limits
(default: no limits, since a scenario's steps share one virtual instant), and
"settings": {"paybot_confirm_ttl": "5m", ...} to override settings. A step
{"operator": "wind-down"} runs what `paybot wind-down` does.

Crash mode: a step {"crash": "before_pay", "hit": 2} arms a named fault point
(bot/faults.py): at its 2nd passage from then on (default 1st), the bot "dies
there": every in-memory object is dropped and the bot is built again on the
same database and simulators, exactly as a "restart" step does, and its work
goes on. {"crash": ["before_send@1", "mention_committed@2"]} plans several
deaths in a row, each counted from the restart before it (a crash during
recovery). {"disarm": true} forgets a point armed and not yet reached. These
two steps change nothing the bot could see, so the bot does not work after
them; the crash strikes during a later step. Each crash is listed in the
outcome's "crashes" (the point, and the step during which it struck). A
crash-mode run is deterministic: the same scenario crashes at the same places
and ends the same way.

The runner is in three parts: wiring.py (the scenario's settings and the bot built on the simulators), people.py
(what the people do on the providers' pages) and run.py (`Run`: the steps, the bot's work after each, the outcome;
and `run_scenario`).
"""

from __future__ import annotations

from bot.sims.runner.run import Run as Run
from bot.sims.runner.run import run_scenario as run_scenario
from bot.sims.runner.wiring import MANGOPAY_CARDS as MANGOPAY_CARDS
from bot.sims.runner.wiring import NO_PAGES as NO_PAGES
from bot.sims.runner.wiring import STRIPE_CARDS as STRIPE_CARDS
from bot.sims.runner.wiring import ScenarioSettings as ScenarioSettings
from bot.sims.runner.wiring import build_on_sim as build_on_sim
