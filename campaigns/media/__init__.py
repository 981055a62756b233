"""Campaign images: re-encoded uploads (images.py), kept with the campaign
(services.py) and served with their own URLs (views.py)."""
