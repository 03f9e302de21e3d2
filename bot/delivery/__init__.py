"""Outbound delivery: the channels (one per platform) and the outbox sender that drives them."""
