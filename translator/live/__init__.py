"""Live delivery: receive Canvas's HTTPS and SQS deliveries, persist before acknowledging, convert,
and deliver to files or a Caliper endpoint, losing nothing across crashes and restarts.

One module per job: `spool` (durable, append-only, group commit), `checkpoint` (the delivery
worker's fsynced progress), `jwks_cache` (Instructure's keys, fetched and cached), `dedup` (the
duplicate window), `sinks` (rotating JSON Lines files, a Caliper endpoint), `worker` (spool ->
conversion -> sinks), `app` (the HTTP receiver), `sqs` (the queue consumer), `metrics`, `config`,
`logs`, `service` (everything assembled) and `commands` (`translator serve` / `consume`).

Needs the `serve` extra (`pip install 'canvas-caliper-translator[serve]'`); the rest of the
library never imports this package.
"""
