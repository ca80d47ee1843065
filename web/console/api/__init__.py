"""The console's JSON API, one module per page; each exports its `ROUTES`."""
