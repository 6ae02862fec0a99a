"""The public routes, one module per resource."""
