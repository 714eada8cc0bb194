"""The integration tier: the CLI as a subprocess, real training (`slow`), real terminals."""
