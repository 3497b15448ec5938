"""What datashark.conf and a use case's conf mean: reading, validating, secrets."""
