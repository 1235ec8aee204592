"""Transport security of the main gRPC port: certificates from files, reloaded on rotation."""
