// Test kit: the deterministic simulator (Simulation/) and fixtures for real processes (Fixtures/).
