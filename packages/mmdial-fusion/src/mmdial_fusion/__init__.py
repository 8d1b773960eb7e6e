"""mmdial-fusion."""
