"""The domain of order-based circuit consultations: plain Python, standard library only."""
