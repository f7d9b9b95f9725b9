"""WhatsApp Cloud API (Graph) client and the classification of its errors."""
