"""The conversation engine: what zapq answers a customer, and the stock it answers from.

`engine` holds the interface; `rules` (the default) and `llm` implement it; `factory`
picks one by name. See `engine.ConversationEngine`.
"""
