"""Strategies composed of other strategies: restarts, memetic search, presets."""
