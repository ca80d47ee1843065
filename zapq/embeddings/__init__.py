"""Embeddings and semantic search: what a text is about, beside the words it uses.

`texts` says what gets embedded and under which content hash, `providers` turns texts into vectors
(the local model or an OpenAI-compatible API), `store` keeps them in PostgreSQL, `index` holds them
in memory for search, `keyword` is the keyword ranking, `search` is what the rest of zapq calls.
Importing this package loads no model and connects to nothing.
"""
