"""paybot's own web pages and the Stripe webhook, in one WSGI app (`paybot web`, `paybot run --web`).

- `app.create_app(settings, store, clock, webhook=...)`: the Flask app (its routes are listed in `app.ROUTES`).
- `page_links`: the links the bot DMs to the pages, made and checked (no Flask: the worker makes them).
- `security`: the headers every response carries, and the CSRF token of every form.
- `i18n`: the pages' languages (Babel catalogs in translations/).
- `identity_form`: the identity-and-terms page's fields and their checks.
- `card_page`: the card page (the card tokenized in the browser, straight to the provider), on `card_port.CardPort`.
- `recipient_pages`: Mangopay's pages: the cash-out account page and the SCA return pages (on PAYBOT_PROVIDER=
  mangopay, or when `create_app` is given the adapter).

This package's __init__ imports nothing, so the worker can make links without loading Flask.
"""
