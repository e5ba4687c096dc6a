"""The operator's console: pages under /console in `paybot web`, for operators who sign in.

- `pages.register(app, store=..., clock=..., service=...)`: the pages and the actions (a Flask blueprint): the views
  in `views`, the actions in `confirming` (their single-use tokens in `actions`), what both share in `context`.
- `operators`: accounts (`paybot operator add`), sign-in, sessions.
- `read`: transfers a page at a time, and the charts' series; the rest is bot.admin's, as the CLI prints it.
- `charts`: the charts as inline SVG.

It is a package of its own, beside the people's pages (bot.web, which move no money): the console moves money,
through the use cases the CLI calls.
"""
