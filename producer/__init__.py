"""The `producer` command: plan a window into shards, check it with the exchange, enqueue, watch."""
