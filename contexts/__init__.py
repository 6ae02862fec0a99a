"""The bounded contexts of StreamFlow, one package each."""
