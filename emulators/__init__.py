"""Local HubSpot and QuickBooks Online servers: the embedded default for demo, tests and benchmarks."""
