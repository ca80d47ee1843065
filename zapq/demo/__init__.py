"""`make run`'s local demo: a Cloud API stand-in in place of Meta's, and `make chat` to talk to the bot.

With neither `WHATSAPP_ACCESS_TOKEN` nor `WHATSAPP_API_URL` set, nothing could reach a customer, so
`make run` answers through `cloud_api.CloudApiStandIn` instead: it prints what the bot sends, answers
as Graph does, and reports `sent`/`delivered` back like Meta. `zapq.chat` plays the customer.
"""
