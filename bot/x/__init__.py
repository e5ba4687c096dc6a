"""X: the tweepy adapter (real X) and the X API simulator."""
