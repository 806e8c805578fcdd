"""First-order and quasi-Newton methods: one candidate per batch, with its gradient."""
