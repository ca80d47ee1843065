"""Re-engagement campaigns: find leads worth a message, and send it once, politely.

Three campaigns (`campaigns.CampaignType`): a lead who went quiet (`inactive_48h`), a car that
arrived matching what they asked for (`new_cars`), a car they were shown that got cheaper
(`price_drop`). A scan (`scan.find_candidates`) lists who qualifies; each candidate becomes one
`send_reengagement` message, whose run (`sending.send_campaign`) re-checks the rules under the
conversation's lock and sends through the outbound ledger. The rules themselves are pure
functions (`rules.decide`, `quiet_hours`), tested with an injected clock.

The actors are in `actors/reengagement.py`; the manual is docs/operations.md#re-engagement-campaigns.
"""
