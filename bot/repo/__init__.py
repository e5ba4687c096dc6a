"""The repository port (`port`) and its two stores: SQL (`sql`) and in memory (`memory`)."""
