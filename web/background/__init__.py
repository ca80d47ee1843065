"""The background-task service's HTTP API, mounted at `/api/background` (docs/http-api.md)."""
