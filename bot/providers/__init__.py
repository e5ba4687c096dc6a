"""Payment providers: the sandbox (embedded default). Stripe Connect is its own piece of work."""
