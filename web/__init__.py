"""The HTTP edge: webhooks and APIs in, ordinary Dramatiq messages out."""
