"""Server interceptors: small classes in an ordered chain, each doing one thing."""
