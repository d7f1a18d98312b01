"""fit: make a file satisfy its role's limits (image.py, voice.py, video.py)."""
