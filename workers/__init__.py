"""Celery workers: the app, routing, the fetch_shard task, exchange adapters, HTTP and limiter.

`celery -A workers worker -Q binance` finds the app in `workers.celery`.
"""
