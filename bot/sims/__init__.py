"""Stand-ins for the outside world, on 127.0.0.1: the X API simulator, the Stripe emulator, the loopback
server they run on, and the scenario runner that plugs paybot into them (`paybot simulate`, `paybot demo`).

The simulators import no production adapter: they stand for X and Stripe, not for paybot. Only the
runner wires paybot to them, through `bot.bootstrap.build` as `paybot run` does."""
