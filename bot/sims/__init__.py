"""Stand-ins for the outside world, on 127.0.0.1: the X and Mastodon simulators, the Stripe and Mangopay
emulators, the pieces they share (kit: the loopback server, faults, idempotency keys), and the scenario
runner that plugs paybot into them (`paybot simulate`, `paybot demo`).

The simulators import no production adapter: they stand for X and Stripe, not for paybot. Only the
runner wires paybot to them, through `bot.bootstrap.build` as `paybot run` does."""
