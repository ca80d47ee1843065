"""The operator console: `/console`, a page of static assets, and its JSON API under `/api/console`."""
