// Deterministic simulator and real-process fixtures for tests.
import Transport
