"""The unit tier: no training, no CLI run through the xtui fixture, no screen (`make test-fast`)."""
