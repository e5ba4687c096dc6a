"""The Mastodon timeline: bot/mastodon/client.py is the Timeline port on Mastodon.py, made of
the parts beside it (transport, reading, people, posting, streaming, content)."""
