"""The Mastodon timeline: bot/mastodon/client.py is the Timeline port on Mastodon.py."""
