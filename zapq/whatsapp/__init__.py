"""WhatsApp Cloud API: webhook decoding, signatures, and sending messages."""
