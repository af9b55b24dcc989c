"""Shard model, dataset layout, Parquet files and the Redis ledger: what a backfill stores."""
