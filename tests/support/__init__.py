"""What the tests use but are not: the test servers, their provisioning, and shared helpers."""
