"""Personal data protection: keys, authenticated encryption, keyed fingerprints."""
