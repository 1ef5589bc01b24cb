"""Local HubSpot and QuickBooks Online servers: the default for demo, tests and benchmarks."""
